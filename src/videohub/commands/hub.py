"""``videohub hub serve``: a local Hugging Face Hub-compatible server (see docs/hub.md)."""

from __future__ import annotations

import argparse
import errno
import os
import socket

from ..errors import UsageError

NAME = "hub"
HELP = "run a local Hugging Face Hub-compatible server"
# Errors of binding the listening socket: the address is taken, not local, or needs privileges.
BIND_ERRNOS = (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES)


def _port(text: str) -> int:
    """argparse ``type``: a TCP port number in [0, 65535]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number in [0, 65535], got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Local Hugging Face Hub-compatible server for huggingface_hub and transformers."
    commands = parser.add_subparsers(dest="hub_command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve", help="serve a hub directory over HTTP",
        description="Serve the hub stored in --root. Point clients at it with HF_ENDPOINT=http://HOST:PORT and "
                    "HF_HUB_DISABLE_XET=1. Writes need a token (--token, repeatable, or comma-separated in "
                    "$VIDEOHUB_HUB_TOKENS); reads are anonymous.")
    serve.add_argument("--root", required=True, help="directory holding repos and objects (created if missing)")
    serve.add_argument("--port", type=_port, default=8000, help="TCP port; 0 picks a free one (default: 8000)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="interface to bind (default: 127.0.0.1; use 0.0.0.0 for the LAN)")
    serve.add_argument("--token", dest="tokens", action="append", default=[], metavar="TOKEN",
                       help="bearer token accepted for writes (repeatable)")


def _check_root(root: str) -> None:
    """Create ``root`` if needed; raise ``UsageError`` when it is not a writable directory."""
    if os.path.exists(root) and not os.path.isdir(root):
        raise UsageError(f"--root {root} is a file; expected a directory for the hub's repos and objects")
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--root {root}: cannot create the directory ({exc.strerror})") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise UsageError(f"--root {root}: the directory is not writable")


def run(args: argparse.Namespace) -> int:
    from ..hub.server import run_serve

    _check_root(args.root)
    try:
        return run_serve(args)
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on --host {args.host}: {exc.strerror}") from None
    except OSError as exc:
        if exc.errno not in BIND_ERRNOS:
            raise
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}"
                         + (" (another server uses it; pick another --port, or 0 for a free one)"
                            if exc.errno == errno.EADDRINUSE else "")) from None

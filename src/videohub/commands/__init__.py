"""The subcommands of the ``videohub`` CLI, one module each, and the helpers they share.

``videohub.cli`` discovers every module here whose name does not start with an underscore. A
command module defines::

    NAME: str                                  # the subcommand, e.g. "predict"
    HELP: str                                  # one line for `videohub --help`
    def add_arguments(parser) -> None          # may add its own sub-subparsers
    def run(args) -> int                       # the exit code

and imports only the standard library at its top (heavy imports go inside ``run``) so that
``videohub --help`` stays fast. User mistakes raise ``videohub.errors.UsageError`` (or another
``VideohubError``), which the CLI prints as one line.

Shared helpers (heavy imports inside them):

- ``positive_int``: an argparse ``type`` for counts (``--top-k 0`` is an argparse error);
- ``resolve_model``: a local model folder or a Hub id → a local folder holding ``config.json`` and
  safetensors weights, with clear errors for a missing folder, an unknown id, an unreachable Hub
  (found out in seconds, not after retries) and pickled weights;
- ``select_device``: a torch device, falling back to the CPU with a warning when the accelerator
  is missing;
- ``unreachable``: why a server cannot be reached, or ``None``.
"""

from __future__ import annotations

import argparse
import os
import socket
from typing import Optional
from urllib.parse import urlsplit

from ..errors import UsageError

# Files of a model repo that videohub loads; anything else (pickled weights, logs) is not downloaded.
MODEL_FILES = ["config.json", "preprocessor_config.json", "*.safetensors", "*.safetensors.index.json"]
PICKLED_WEIGHT_SUFFIXES = (".bin", ".pth", ".pt", ".ckpt", ".pkl", ".pickle")
PROBE_TIMEOUT_S = 3.0


def positive_int(text: str) -> int:
    """argparse ``type`` accepting integers >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def unreachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> Optional[str]:
    """Why the server of ``url`` (or the proxy the environment sets for it) refuses a TCP connection.

    Args:
        url: An ``http(s)://`` URL.
        timeout: Seconds to wait for the connection. Default 3.

    Returns:
        ``None`` when a connection opens, else ``"HOST:PORT: REASON"`` (e.g. name resolution
        failed, connection refused, timed out).
    """
    from urllib.request import getproxies, proxy_bypass

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxy = getproxies().get(parts.scheme)
    if proxy and not proxy_bypass(host):
        proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host = proxy_parts.hostname or ""
        port = proxy_parts.port or (443 if proxy_parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


def check_model_folder(folder: str, name: str) -> str:
    """Return ``folder`` if it holds ``config.json`` and safetensors weights, else raise ``UsageError``.

    Args:
        folder: The local folder (a model folder or a Hub snapshot).
        name: How the user named the model, for the message.
    """
    if not os.path.isfile(os.path.join(folder, "config.json")):
        raise UsageError(f"{name} is not a model folder: it has no config.json "
                         "(a model folder holds config.json and model.safetensors, as save_pretrained writes them)")
    files = os.listdir(folder)
    if any(f.endswith((".safetensors", ".safetensors.index.json")) for f in files):
        return folder
    pickled = sorted(f for f in files if f.endswith(PICKLED_WEIGHT_SUFFIXES))
    if pickled:
        raise UsageError(f"{name} holds {', '.join(pickled)}: pickled weights, which videohub refuses to load "
                         "(unpickling a file can run code); it loads safetensors weights (model.safetensors) only. "
                         "Re-save the model with save_pretrained() where it was trained (safetensors is the default), "
                         "or convert an mmaction2 .pth with 'videohub convert'")
    raise UsageError(f"{name} has no weights: expected model.safetensors (or model.safetensors.index.json); "
                     "videohub does not load pickled .bin/.pth weights")


def _looks_like_path(name: str) -> bool:
    """A name that can only be a path, never a Hub id (``org/name`` or ``name``)."""
    return (name.startswith((".", "/", "~")) or name.endswith(("/", os.sep)) or name.count("/") > 1
            or os.sep != "/" and os.sep in name or os.path.exists(name))


def _download(repo_id: str, revision: Optional[str]) -> str:
    """Snapshot the model files of Hub repo ``repo_id`` into the huggingface_hub cache; return the folder."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from ..utils.logging import get_logger

    endpoint = constants.ENDPOINT
    offline = "HF_HUB_OFFLINE is set" if constants.HF_HUB_OFFLINE else unreachable(endpoint)
    try:
        if offline is None:
            return snapshot_download(repo_id, revision=revision, allow_patterns=MODEL_FILES)
        try:
            folder = snapshot_download(repo_id, revision=revision, allow_patterns=MODEL_FILES, local_files_only=True)
        except LocalEntryNotFoundError:
            raise UsageError(
                f"cannot reach the Hub at {endpoint} ({offline}) and {repo_id!r} (revision {revision or 'main'}) "
                "is not in the local cache; check the network or HF_ENDPOINT, or pass a local model folder") from None
        get_logger(__name__).warning("cannot reach the Hub at %s (%s): using the cached copy of %s", endpoint, offline,
                                     repo_id)
        return folder
    except HFValidationError:
        raise UsageError(f"{repo_id!r} is neither a model folder nor a Hub id (org/name)") from None
    except GatedRepoError:
        raise UsageError(f"{repo_id!r} on {endpoint} is gated: accept its conditions on the Hub and log in "
                         "(HF_TOKEN or 'hf auth login')") from None
    except RevisionNotFoundError:
        raise UsageError(f"{repo_id!r} on {endpoint} has no revision {revision!r}") from None
    except RepositoryNotFoundError:
        raise UsageError(f"no model folder {repo_id!r} here and no model {repo_id!r} on {endpoint} "
                         "(a private model needs a token: HF_TOKEN or 'hf auth login')") from None
    except (LocalEntryNotFoundError, HfHubHTTPError) as exc:  # the connection broke after the probe, or a 5xx
        raise UsageError(f"cannot download {repo_id!r} from {endpoint}: {exc}") from None


def resolve_model(name: str, revision: Optional[str] = None) -> str:
    """The local folder of the model ``name``: a folder, or a Hub id downloaded into the cache.

    Only ``config.json``, ``preprocessor_config.json`` and safetensors files are downloaded. When
    the Hub cannot be reached (checked with a 3-second TCP probe, so an offline machine is told at
    once instead of after huggingface_hub's retries) a cached copy is used with a warning.

    Args:
        name: A local model folder or a Hub id (``org/name``).
        revision: Hub branch, tag or commit. Default ``None`` (main); not allowed with a folder.

    Raises:
        UsageError: The folder is missing or holds no config/safetensors weights (pickled weights
            are refused), the id is unknown, or the Hub is unreachable and nothing is cached.
    """
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        if revision is not None:
            raise UsageError(f"--revision applies to Hub ids, but {name} is a local folder")
        return check_model_folder(path, name)
    if _looks_like_path(name):
        if os.path.exists(path):
            raise UsageError(f"{name} is a file; expected a model folder (config.json + model.safetensors) or a Hub id")
        raise UsageError(f"model folder {name} does not exist")
    return check_model_folder(_download(name, revision), f"{name} (Hub)")


def select_device(name: str):
    """``torch.device(name)``, or the CPU with a warning when that accelerator is not available.

    Args:
        name: A torch device string (``cpu``, ``cuda``, ``cuda:1``, ``mps``, ...).

    Raises:
        UsageError: ``name`` is not a device, or names an accelerator index that does not exist.
    """
    import torch

    from ..utils.logging import get_logger

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise UsageError(f"--device {name!r} is not a torch device (e.g. cpu, cuda, cuda:1, mps): {exc}") from None
    if device.type in ("cpu", "meta"):
        return device
    backend = getattr(torch, device.type, None)
    is_available = getattr(backend, "is_available", None) or getattr(
        getattr(torch.backends, device.type, None), "is_available", None)
    if is_available is not None and not is_available():
        get_logger(__name__).warning("device %s requested but %s is not available; using the CPU",
                                     name, device.type.upper())
        return torch.device("cpu")
    count = getattr(backend, "device_count", None)
    if device.index is not None and count is not None and device.index >= count():
        raise UsageError(f"--device {name}: this machine has {count()} {device.type} device(s), numbered from 0")
    return device

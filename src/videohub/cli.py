"""The videohub command line: a thin dispatcher over the modules of videohub.commands.

Every module in ``videohub/commands/`` whose name does not start with an underscore is a
subcommand. It defines ``NAME`` (the subcommand), ``HELP`` (one line for ``videohub --help``),
``add_arguments(parser)`` and ``run(args) -> int`` (the exit code). This file and the top level of
every command module import only the standard library, so ``videohub --help`` never loads torch.

Exit codes: what ``run`` returns; 2 for a usage error (argparse's, or a ``VideohubError`` the
command raised, printed as ``videohub CMD: error: MESSAGE``); 130 after Ctrl-C; 141 when stdout
was closed early (``videohub predict ... | head -1``), without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from types import ModuleType
from typing import List, Optional, Sequence

from .errors import VideohubError

COMMAND_ATTRIBUTES = ("NAME", "HELP", "add_arguments", "run")
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe


def command_modules() -> List[ModuleType]:
    """Import the command modules of ``videohub.commands``, sorted by ``NAME``.

    Raises:
        TypeError: A public module there lacks one of ``NAME``, ``HELP``, ``add_arguments``, ``run``,
            or two modules share a ``NAME``.
    """
    from . import commands

    modules = []
    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        missing = [name for name in COMMAND_ATTRIBUTES if not hasattr(module, name)]
        if missing:
            raise TypeError(f"{module.__name__} lacks {', '.join(missing)}: a command module defines NAME, HELP, "
                            "add_arguments(parser) and run(args) (prefix helper modules with '_')")
        modules.append(module)
    names = [module.NAME for module in modules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise TypeError(f"several modules of videohub.commands define the command(s) {duplicates}")
    return sorted(modules, key=lambda module: module.NAME)


def build_parser() -> argparse.ArgumentParser:
    """The ``videohub`` argument parser with one subparser per command module."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="videohub",
        description="videohub: mmaction2's video models as Hugging Face models, from the command line.",
        epilog="Run 'videohub COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"videohub {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in command_modules():
        description = module.HELP[:1].upper() + module.HELP[1:] + "."
        sub = commands.add_parser(module.NAME, help=module.HELP, description=description)
        module.add_arguments(sub)
        sub.set_defaults(command_run=module.run)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (an embedding or a test capture)
        pass


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``videohub`` console script.

    Args:
        argv: The arguments after ``videohub``. Default ``None``: ``sys.argv[1:]``.

    Returns:
        The exit code (see the module docstring). A bare ``videohub`` prints the help and returns 0.
    """
    command = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        if command is None:
            parser.print_help()
            return 0
        code = args.command_run(args)
        sys.stdout.flush()
        return int(code or 0)
    except VideohubError as err:
        prog = f"videohub {command}" if command else "videohub"
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())

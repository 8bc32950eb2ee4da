"""Exceptions raised by videohub.

Every error message names what was wrong (file, line, key or shape) and what was expected.
:func:`run_script` turns them into one-line messages and exit status 2 for the example scripts.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional, Sequence


class VideohubError(Exception):
    """Base class of all videohub errors."""


class ConfigError(VideohubError, ValueError):
    """A configuration field or layer argument has an unknown name, a wrong type or a bad value."""


class ShapeError(VideohubError, ValueError):
    """A tensor has the wrong rank or size."""


class VideoDecodeError(VideohubError, RuntimeError):
    """A video file is missing, unreadable, corrupt or has no frames."""


class AnnotationError(VideohubError, ValueError):
    """An annotation file has a malformed line."""


class CheckpointError(VideohubError, ValueError):
    """A checkpoint does not match the model it is loaded into (missing or leftover keys)."""


class UsageError(VideohubError):
    """A user asked for something that cannot be done as given: a missing file or folder, an unknown
    model id, an unreachable server, or options that contradict each other or the model."""


def run_script(main: Callable[[Optional[Sequence[str]]], object], argv: Optional[Sequence[str]] = None,
               prog: str = "videohub") -> int:
    """Run a script's ``main(argv)``: a videohub error (a user mistake: bad option, missing file,
    damaged checkpoint, full disk) is printed as one line ``<prog>: error: <message>`` and the status
    is 2; any other exception propagates. Returns ``main``'s status when it returns an int, else 0.

    Args:
        main: The script's entry point, called with ``argv``.
        argv: Its command line. Default ``None`` (``main`` reads ``sys.argv``).
        prog: The name in the message. Default ``"videohub"``.
    """
    try:
        result = main(argv)
    except VideohubError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) and not isinstance(result, bool) else 0

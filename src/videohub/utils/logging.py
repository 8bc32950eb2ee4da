"""videohub's loggers, in the style of ``transformers.utils.logging``.

The level comes from ``VIDEOHUB_VERBOSITY`` (debug/info/warning/error; default warning).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Optional

_ROOT = "videohub"
_configured = False


def _configure() -> None:
    global _configured
    if _configured:
        return
    root = logging.getLogger(_ROOT)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(levelname)s|%(name)s] %(message)s"))
    root.addHandler(handler)
    root.setLevel(os.environ.get("VIDEOHUB_VERBOSITY", "warning").upper())
    root.propagate = False
    _configured = True


def get_logger(name: Optional[str] = None) -> logging.Logger:
    """Return the logger ``name`` (default: the ``videohub`` root logger)."""
    _configure()
    return logging.getLogger(name or _ROOT)


def set_verbosity(level: int) -> None:
    """Set the level of every videohub logger (e.g. ``logging.INFO``)."""
    get_logger().setLevel(level)

"""Small helpers with mmaction2's names (``mmaction.utils``)."""

from __future__ import annotations

import logging
import os
import random
import string
import tempfile
import threading
from typing import Callable, Optional

from . import logging as vh_logging


def get_random_string(length: int = 15) -> str:
    """A random string of ``length`` (default 15) ASCII letters and digits."""
    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(length))


def get_thread_id() -> int:
    """The id of the calling thread, as the OS knows it (``gettid`` on Linux)."""
    return threading.get_native_id()


def get_shm_dir() -> str:
    """A directory in shared memory for temporary files: ``/dev/shm``, or the temp dir where absent."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def get_root_logger(log_file: Optional[str] = None, log_level: int = logging.INFO) -> logging.Logger:
    """The ``videohub`` root logger at ``log_level`` (default INFO), also writing to ``log_file`` if given.

    Processes other than rank 0 (``RANK`` env var) log errors only, as in mmaction2.
    """
    logger = vh_logging.get_logger()
    rank = int(os.environ.get("RANK", "0"))
    logger.setLevel(log_level if rank == 0 else logging.ERROR)
    if log_file and rank == 0 and not any(getattr(h, "baseFilename", None) == os.path.abspath(log_file)
                                          for h in logger.handlers):
        handler = logging.FileHandler(log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
        logger.addHandler(handler)
    return logger


def import_module_error_func(module_name: str) -> Callable[[Callable], Callable]:
    """Decorator for a function whose optional dependency ``module_name`` is missing: calling it raises ImportError."""

    def decorate(func: Callable) -> Callable:
        def raise_error(*args, **kwargs):
            raise ImportError(f"Please install {module_name} to use {func.__name__}.")

        raise_error.__name__ = func.__name__
        raise_error.__doc__ = func.__doc__
        return raise_error

    return decorate


def import_module_error_class(module_name: str) -> Callable[[type], type]:
    """Class decorator: instantiating the class raises ImportError naming the missing ``module_name``."""

    def decorate(cls: type) -> type:
        def init(self, *args, **kwargs):
            raise ImportError(f"Please install {module_name} to use {cls.__name__}.")

        cls.__init__ = init
        return cls

    return decorate

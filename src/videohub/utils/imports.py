"""Importing every module of a package, so that their registrations run."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Iterable, List


def import_submodules(package: str, path: Iterable[str]) -> List[str]:
    """Import each direct submodule of ``package`` (whose ``__path__`` is ``path``); return their names."""
    names = []
    for info in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{info.name}")
        names.append(info.name)
    return names

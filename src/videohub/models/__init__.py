"""One package per architecture: ``configuration_<arch>.py``, ``modeling_<arch>.py`` and the parts
that belong to that architecture alone (its backbone wrapper, head, neck or whole mmaction2 model).

:func:`import_all` imports every architecture package; :mod:`videohub.auto` and the part
registries call it, so adding a folder here is all it takes to add an architecture.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import List


def import_all() -> List[ModuleType]:
    """Import every architecture package under ``videohub.models`` and return them."""
    return [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__) if info.ispkg]

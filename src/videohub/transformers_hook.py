"""Make transformers' ``AutoConfig`` know videohub's model types without importing them.

``import videohub`` must stay light (no torch, no transformers). Yet once videohub is imported,
``transformers.AutoModelForVideoClassification.from_pretrained`` must load videohub checkpoints.
So each videohub model type (``"videohub-<folder>"`` for every folder of ``videohub/models``) is
put into transformers' config mapping as a stand-in that imports :mod:`videohub.auto` (which
registers the real config and model classes) the first time transformers uses it. If transformers'
config mapping is not imported yet, an import hook adds the stand-ins right after it is.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from typing import Any, List

_TARGET = "transformers.models.auto.configuration_auto"


def model_types() -> List[str]:
    """``videohub-<arch>`` for every architecture folder under ``videohub/models`` (no import)."""
    root = os.path.join(os.path.dirname(__file__), "models")
    return sorted(f"videohub-{name}" for name in os.listdir(root)
                  if os.path.isfile(os.path.join(root, name, "__init__.py")))


class _ConfigStandIn:
    """Looks like a videohub config class to transformers' ``AutoConfig``; resolves on first use."""

    def __init__(self, model_type: str):
        self.model_type = model_type

    def _real(self) -> type:
        from .auto import CONFIG_CLASSES  # registers every videohub class with transformers

        return CONFIG_CLASSES[self.model_type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._real()(*args, **kwargs)


def _add_stand_ins(configuration_auto: Any) -> None:
    extra = configuration_auto.CONFIG_MAPPING._extra_content
    for model_type in model_types():
        extra.setdefault(model_type, _ConfigStandIn(model_type))


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs :func:`_add_stand_ins` right after transformers' config mapping module is executed."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if fullname != _TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec: Any):
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        _add_stand_ins(module)


def install() -> None:
    """Make videohub's model types known to transformers now, or as soon as it loads its mapping."""
    module = sys.modules.get(_TARGET)
    if module is not None and hasattr(module, "CONFIG_MAPPING"):
        _add_stand_ins(module)
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())

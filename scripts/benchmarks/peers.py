"""Import mmaction2 0.24.1 and pytorchvideo 0.1.5 next to videohub, for side-by-side benchmarks.

Both live in their own folders (``shared/perf/README.md`` says how to install them): mmaction2 in a
virtual environment whose ``site-packages`` is appended to ``sys.path`` *after* videohub and
transformers are imported, so ``torch`` and ``numpy`` stay the project's own; pytorchvideo in a
``pip install --target`` folder. mmcv imports ``torchvision`` (not installable here), so an empty
stand-in module is registered, also after transformers has been imported (transformers inspects
torchvision's spec and must not see the stand-in).
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
import types
from typing import Any, Optional

DEFAULT_MMACTION2_SITE = "/opt/mmref/lib/python3.11/site-packages"
DEFAULT_PYTORCHVIDEO_PATH = "/opt/ptvlib"


def _stub_module(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__path__ = []
    for key, value in attributes.items():
        setattr(module, key, value)
    sys.modules[name] = module
    return module


def _prepare() -> None:
    """numpy aliases removed in numpy 2 (used by mmaction2) and the torchvision stand-in."""
    import numpy as np
    import transformers  # noqa: F401  (must be imported before the torchvision stand-in exists)

    import videohub  # noqa: F401

    for name, value in (("int", int), ("float", float), ("bool", bool), ("Inf", np.inf)):
        if not hasattr(np, name):
            setattr(np, name, value)
    if "torchvision" not in sys.modules:
        tv = _stub_module("torchvision")
        tv.models = _stub_module("torchvision.models")
        tv.ops = _stub_module("torchvision.ops", RoIAlign=None)
        tv.transforms = _stub_module("torchvision.transforms")


def _append(path: str) -> bool:
    if not os.path.isdir(path):
        return False
    if path not in sys.path:
        sys.path.append(path)
    return True


def import_mmaction2(site: str = DEFAULT_MMACTION2_SITE) -> Optional[str]:
    """Make ``mmaction`` importable from ``site``; return ``None``, or why it is not available."""
    if not _append(site):
        return f"mmaction2 not found ({site!r} does not exist; see shared/perf/README.md)"
    _prepare()
    try:
        import mmaction  # noqa: F401
        import mmcv  # noqa: F401
    except ImportError as err:
        return f"mmaction2 could not be imported from {site!r}: {err}"
    return None


def import_pytorchvideo(path: str = DEFAULT_PYTORCHVIDEO_PATH) -> Optional[str]:
    """Make ``pytorchvideo`` importable from ``path``; return ``None``, or why it is not available."""
    if not _append(path):
        return f"pytorchvideo not found ({path!r} does not exist; see shared/perf/README.md)"
    _prepare()
    try:
        import pytorchvideo.models.hub  # noqa: F401
    except ImportError as err:
        return f"pytorchvideo could not be imported from {path!r}: {err}"
    return None


def mmaction2_config(name: str, site: str = DEFAULT_MMACTION2_SITE):
    """The ``mmcv.Config`` of zoo config ``name`` (``"tsn/tsn_r50_1x1x3_100e_kinetics400_rgb"``), with
    every ``pretrained`` initialization switched off."""
    import mmcv

    cfg = mmcv.Config.fromfile(os.path.join(site, "mmaction", ".mim", "configs", "recognition", name + ".py"))
    backbone = cfg.model.backbone
    for key in ("pretrained", "pretrained2d"):
        if key in backbone:
            backbone[key] = None if key == "pretrained" else False
    for pathway in ("slow_pathway", "fast_pathway"):
        if pathway in backbone:
            backbone[pathway]["pretrained"] = None
    return cfg


def build_mmaction2(cfg) -> Any:
    """The mmaction2 recognizer of ``cfg`` (random weights), in eval mode."""
    from mmaction.models import build_model

    return build_model(cfg.model).eval()


def build_pytorchvideo(name: str) -> Any:
    """``pytorchvideo.models.hub.<name>(pretrained=False)`` in eval mode."""
    import pytorchvideo.models.hub as hub

    return getattr(hub, name)(pretrained=False).eval()

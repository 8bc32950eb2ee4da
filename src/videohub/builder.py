"""mmaction2's ``build_*`` functions: parts from ``dict(type=...)``, whole models from a model config.

Parts are plain ``torch.nn.Module``s from the registries; ``build_model`` / ``build_recognizer``
return a randomly initialized videohub task model whose config is derived from the mmaction2 model
dict by :func:`videohub.conversion.mmaction2.config_from_mmaction2`.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional

from torch import nn

from .configuration_utils import RECOGNIZERS
from .errors import ConfigError
from .registry import BACKBONES, HEADS, LOCALIZERS, LOSSES, NECKS


def build_backbone(cfg: Dict[str, Any]) -> nn.Module:
    """Build a backbone, e.g. ``dict(type="ResNet", depth=50)``."""
    return BACKBONES.build(cfg)


def build_head(cfg: Dict[str, Any]) -> nn.Module:
    """Build a head, e.g. ``dict(type="TSNHead", num_classes=400, in_channels=2048)``."""
    return HEADS.build(cfg)


def build_neck(cfg: Dict[str, Any]) -> nn.Module:
    """Build a neck, e.g. ``dict(type="TPN", ...)``."""
    return NECKS.build(cfg)


def build_loss(cfg: Dict[str, Any]) -> nn.Module:
    """Build a loss, e.g. ``dict(type="CrossEntropyLoss", loss_weight=1.0)``."""
    return LOSSES.build(cfg)


def build_localizer(cfg: Dict[str, Any]) -> nn.Module:
    """Build an mmaction2 localizer module (``TEM``, ``PEM``, ``BMN``, ``SSN``) from ``dict(type=..., **kwargs)``."""
    return LOCALIZERS.build(cfg)


def _with_train_test_cfg(cfg: Dict[str, Any], train_cfg: Optional[Dict], test_cfg: Optional[Dict]) -> Dict[str, Any]:
    """``cfg`` (a copy) with ``train_cfg``/``test_cfg`` merged in; each may be given in only one place."""
    cfg = copy.deepcopy(dict(cfg))
    for key, value in (("train_cfg", train_cfg), ("test_cfg", test_cfg)):
        if value is not None:
            if cfg.get(key) is not None:
                raise ConfigError(f"{key} is given both in the model config and as an argument")
            cfg[key] = value
    return cfg


def build_model(cfg: Dict[str, Any], train_cfg: Optional[Dict] = None, test_cfg: Optional[Dict] = None):
    """A randomly initialized videohub task model from any mmaction2 model dict.

    Recognizers give a ``...ForVideoClassification``, localizers (``BMN``, ``TEM``, ``PEM``, ``SSN``)
    a ``...ForTemporalActionLocalization``, detectors (``FastRCNN``) a
    ``...ForSpatioTemporalActionDetection``; the config is
    :func:`~videohub.conversion.mmaction2.config_from_mmaction2` of ``cfg``.

    Args:
        cfg: The mmaction2 model dict.
        train_cfg: Merged into ``cfg`` (it must not hold one too). Default ``None``.
        test_cfg: Merged into ``cfg`` (it must not hold one too). Default ``None``.
    """
    from .auto import AutoVideoModel
    from .conversion.mmaction2 import config_from_mmaction2

    return AutoVideoModel.from_config(config_from_mmaction2(_with_train_test_cfg(cfg, train_cfg, test_cfg)))


def build_recognizer(cfg: Dict[str, Any], train_cfg: Optional[Dict] = None, test_cfg: Optional[Dict] = None):
    """:func:`build_model` of an mmaction2 recognizer dict (``Recognizer2D``, ``Recognizer3D``, ...).

    Args:
        cfg: The recognizer dict; another model type is a :class:`~videohub.errors.ConfigError`.
        train_cfg: Merged into ``cfg``. Default ``None``.
        test_cfg: Merged into ``cfg``. Default ``None``.
    """
    if cfg.get("type") not in RECOGNIZERS:
        raise ConfigError(f"build_recognizer: model type {cfg.get('type')!r} is not one of {RECOGNIZERS}")
    return build_model(cfg, train_cfg, test_cfg)

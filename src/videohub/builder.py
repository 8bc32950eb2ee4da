"""mmaction2's ``build_*`` functions: parts from ``dict(type=...)``, whole models from a model config.

Parts are plain ``torch.nn.Module``s from the registries; ``build_model`` / ``build_recognizer``
return a randomly initialized videohub ``...ForVideoClassification`` model whose config is derived
from the mmaction2 model dict by :func:`videohub.conversion.mmaction2.config_from_mmaction2`.
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


def build_recognizer(cfg: Dict[str, Any], train_cfg: Optional[Dict] = None, test_cfg: Optional[Dict] = None):
    """A videohub classifier from an mmaction2 recognizer dict (``train_cfg``/``test_cfg`` merged in)."""
    from .auto import AutoVideoModel
    from .conversion.mmaction2 import config_from_mmaction2

    cfg = copy.deepcopy(dict(cfg))
    for key, value in (("train_cfg", train_cfg), ("test_cfg", test_cfg)):
        if value is not None:
            if cfg.get(key) is not None:
                raise ConfigError(f"{key} is given both in the model config and as an argument")
            cfg[key] = value
    if cfg.get("type") not in RECOGNIZERS:
        raise ConfigError(f"build_recognizer: model type {cfg.get('type')!r} is not one of {RECOGNIZERS}")
    return AutoVideoModel.from_config(config_from_mmaction2(cfg))


LOCALIZER_TYPES = ("BMN", "TEM", "PEM", "SSN")


def build_localization_model(cfg: Dict[str, Any], train_cfg: Optional[Dict] = None, test_cfg: Optional[Dict] = None):
    """A videohub ``...ForTemporalActionLocalization`` from an mmaction2 localizer dict (``BMN``, ``TEM``, ``PEM``, ``SSN``)."""
    from .auto import CONFIG_CLASSES, AutoModelForTemporalActionLocalization
    from .configuration_utils import LocalizerConfig

    kwargs = copy.deepcopy({k: v for k, v in cfg.items() if k != "type"})
    for key, value in (("train_cfg", train_cfg), ("test_cfg", test_cfg)):
        if value is not None:
            if kwargs.get(key) is not None:
                raise ConfigError(f"{key} is given both in the model config and as an argument")
            kwargs[key] = value
    for config_class in CONFIG_CLASSES.values():
        if issubclass(config_class, LocalizerConfig) and config_class.localizer_type == cfg.get("type"):
            return AutoModelForTemporalActionLocalization.from_config(config_class(**kwargs))
    raise ConfigError(f"build_model: no videohub localizer for mmaction2 type {cfg.get('type')!r}")


def build_model(cfg: Dict[str, Any], train_cfg: Optional[Dict] = None, test_cfg: Optional[Dict] = None):
    """Build any supported mmaction2 model dict (recognizers, localizers; detectors as they are added)."""
    if cfg.get("type") in RECOGNIZERS:
        return build_recognizer(cfg, train_cfg, test_cfg)
    if cfg.get("type") in LOCALIZER_TYPES:
        return build_localization_model(cfg, train_cfg, test_cfg)
    raise ConfigError(f"build_model: mmaction2 model type {cfg.get('type')!r} is not supported yet; "
                      f"supported: {RECOGNIZERS + LOCALIZER_TYPES}")

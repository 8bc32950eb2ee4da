"""mmaction2 ``FastRCNN`` (AVA detector) configs as videohub ``AVAConfig``, and their key table.

Separate from :mod:`.detection` (the parity handlers) so that :mod:`.mmaction2` can send detector
configs here without importing the parity machinery.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping, Optional, Sequence

from ..errors import ConfigError
from .state_dict import KeyTable, register_key_table

DETECTOR_MODEL_TYPE = "videohub-ava"
# mmaction2/mmdet detector keys are videohub keys unchanged (same submodule names)
DETECTOR_TABLE = KeyTable(
    name="ava_detector",
    prefixes=(("backbone.", "backbone."), ("roi_head.", "roi_head.")),
)


def detector_config_from_mmaction2(model_cfg: Mapping[str, Any],
                                   test_pipeline: Optional[Sequence[Mapping[str, Any]]] = None,
                                   id2label: Optional[Mapping[int, str]] = None):
    """The ``AVAConfig`` of an mmaction2 ``FastRCNN`` model dict.

    Args:
        model_cfg: ``dict(type="FastRCNN", backbone=..., roi_head=..., train_cfg=..., test_cfg=...)``;
            ``pretrained`` paths are dropped (the checkpoint holds every weight).
        test_pipeline: mmaction2 test pipeline; its ``SampleAVAFrames.clip_len`` sets ``num_frames``.
            Default ``None`` (the architecture's default).
        id2label: Class names by output index (class 0 included). Default ``None``.
    """
    from ..models.ava import AVAConfig

    # registered when a detector config is converted, not on import: until the preset store marks
    # detectors ready, importing this module must not turn the AVA presets from pending to ready
    register_key_table(DETECTOR_MODEL_TYPE, DETECTOR_TABLE)
    cfg = copy.deepcopy(dict(model_cfg))
    if cfg.pop("type", None) != "FastRCNN":
        raise ConfigError(f"expected an mmaction2 FastRCNN model config, got type {model_cfg.get('type')!r}")
    unknown = sorted(set(cfg) - {"backbone", "roi_head", "train_cfg", "test_cfg", "neck", "pretrained", "init_cfg"})
    if unknown or cfg.get("neck") is not None:
        raise ConfigError(f"mmaction2 FastRCNN config has unsupported key(s) {unknown or ['neck']}")
    backbone = cfg["backbone"]
    _drop_pretrained(backbone)
    roi_head = cfg["roi_head"]
    num_classes = int(((roi_head.get("bbox_head") or {}).get("num_classes", 81)))
    kwargs: Dict[str, Any] = dict(backbone=backbone, roi_head=roi_head, train_cfg=cfg.get("train_cfg"),
                                  test_cfg=cfg.get("test_cfg"), num_labels=num_classes)
    sampler = next((s for s in test_pipeline or () if s.get("type") == "SampleAVAFrames"), None)
    if sampler is not None:
        kwargs["num_frames"] = int(sampler["clip_len"])
    if id2label is not None:
        if len(id2label) != num_classes:
            raise ConfigError(f"{len(id2label)} class names for a bbox head with num_classes={num_classes}")
        kwargs.update(id2label=dict(id2label), label2id={v: k for k, v in id2label.items()})
        kwargs.pop("num_labels")
    return AVAConfig(**kwargs)


def _drop_pretrained(cfg: Any) -> None:
    """Set every ``pretrained`` entry of a (nested) backbone dict to ``None``, in place."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == "pretrained":
                cfg[key] = None
            else:
                _drop_pretrained(value)

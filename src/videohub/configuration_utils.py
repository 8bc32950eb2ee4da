"""``VideoConfig``: the ``PretrainedConfig`` base of every videohub architecture.

A videohub config carries mmaction2's model description unchanged: the ``backbone``, ``neck`` and
``cls_head`` dicts (``dict(type=..., **kwargs)``) plus the recognizer's test settings. Every
dict is validated against the constructor of the layer it names when the config is created, so
a typo fails early with a message naming the key.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, ClassVar, Dict, Optional

from huggingface_hub.dataclasses import strict
from transformers import PretrainedConfig

from .errors import ConfigError
from .registry import BACKBONES, HEADS, NECKS, check_arguments

RECOGNIZERS = ("Recognizer2D", "Recognizer3D", "AudioRecognizer")
AVERAGE_CLIPS = ("score", "prob", None)

# Keys transformers itself passes through ``__post_init__`` (serialization and backward compatibility).
_TRANSFORMERS_KWARGS = {
    "num_labels", "torch_dtype", "name_or_path", "_commit_hash", "output_attentions",
    "attn_implementation", "experts_implementation", "per_layer_config", "model_type",
    "_attn_implementation_internal", "_experts_implementation_internal", "transformers_version",
}


def _as_json(value: Any) -> Any:
    """Tuples become lists (recursively), so a fresh config equals one read back from ``config.json``."""
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    return value


@strict(accept_kwargs=True)
class VideoConfig(PretrainedConfig):
    r"""Configuration of a videohub video model.

    Args:
        backbone (`dict`, defaults to the architecture's backbone):
            mmaction2 backbone config, e.g. ``dict(type="ResNet", depth=50)``.
        neck (`dict`, *optional*, defaults to `None`):
            mmaction2 neck config (TPN), or ``None``.
        cls_head (`dict`, defaults to the architecture's head):
            mmaction2 head config without ``num_classes`` (that is ``num_labels``).
        recognizer (`str`, defaults to `"Recognizer2D"`):
            How clips reach the backbone: ``"Recognizer2D"`` (frames folded into the batch),
            ``"Recognizer3D"`` (``NCTHW`` clips) or ``"AudioRecognizer"``.
        average_clips (`str`, *optional*, defaults to `"score"`):
            How the scores of several views are averaged: ``"score"``, ``"prob"`` (softmax first)
            or ``None`` (summed raw scores are returned as mmaction2 does).
        max_testing_views (`int`, *optional*, defaults to `None`):
            Run at most this many views of a 3D model through the backbone at once.
        feature_extraction (`bool`, defaults to `False`):
            Test-time output is the pooled backbone feature instead of class scores.
        fcn_test (`bool`, defaults to `False`):
            Fully-convolutional testing (heads that support it).
        train_cfg (`dict`, *optional*, defaults to `None`):
            mmaction2 ``train_cfg`` (``blending``, ``aux_info``).
        num_frames (`int`, defaults to 8):
            Frames the video processor samples per clip (used by the transformers pipeline).
        num_labels / id2label / label2id:
            The classes, as in every transformers classifier; the head gets ``num_classes=num_labels``.
    """

    model_type = "videohub"

    backbone: Optional[Dict[str, Any]] = None
    neck: Optional[Dict[str, Any]] = None
    cls_head: Optional[Dict[str, Any]] = None
    recognizer: str = "Recognizer2D"
    average_clips: Optional[str] = "score"
    max_testing_views: Optional[int] = None
    feature_extraction: bool = False
    fcn_test: bool = False
    train_cfg: Optional[Dict[str, Any]] = None
    num_frames: int = 8

    # The architecture's defaults, used where the field is None.
    default_backbone: ClassVar[Optional[Dict[str, Any]]] = None
    default_cls_head: ClassVar[Optional[Dict[str, Any]]] = None
    default_neck: ClassVar[Optional[Dict[str, Any]]] = None

    def __post_init__(self, **kwargs: Any) -> None:
        if "_name_or_path" in kwargs:
            kwargs["name_or_path"] = kwargs.pop("_name_or_path")
        unknown = sorted(set(kwargs) - _TRANSFORMERS_KWARGS)
        if unknown:
            raise ConfigError(
                f"{type(self).__name__}: unknown config key(s) {unknown}; "
                f"allowed keys are the fields of {type(self).__name__} and transformers' common ones"
            )
        cls = type(self)
        if self.backbone is None:
            self.backbone = copy.deepcopy(cls.default_backbone)
        if self.cls_head is None:
            self.cls_head = copy.deepcopy(cls.default_cls_head)
        if self.neck is None and cls.default_neck is not None:
            self.neck = copy.deepcopy(cls.default_neck)
        for name in ("backbone", "neck", "cls_head", "train_cfg"):
            setattr(self, name, _as_json(getattr(self, name)))
        if isinstance(self.cls_head, dict) and "num_classes" in self.cls_head:
            self.cls_head = dict(self.cls_head)
            head_classes = self.cls_head.pop("num_classes")
            if kwargs.get("num_labels") is None and self.id2label is None:
                kwargs["num_labels"] = head_classes
        super().__post_init__(**kwargs)
        self._validate()

    def _validate(self) -> None:
        """Check the recognizer settings and every layer dict against its constructor."""
        name = type(self).__name__
        if self.recognizer not in RECOGNIZERS:
            raise ConfigError(f"{name}.recognizer is {self.recognizer!r}; expected one of {RECOGNIZERS}")
        if self.average_clips not in AVERAGE_CLIPS:
            raise ConfigError(f"{name}.average_clips is {self.average_clips!r}; expected one of {AVERAGE_CLIPS}")
        if self.max_testing_views is not None and self.max_testing_views < 1:
            raise ConfigError(f"{name}.max_testing_views must be a positive int or None, got {self.max_testing_views}")
        if self.num_frames < 1:
            raise ConfigError(f"{name}.num_frames must be >= 1, got {self.num_frames}")
        from . import layers  # noqa: F401  (fills the registries)

        for field_name, registry, cfg in (
            ("backbone", BACKBONES, self.backbone),
            ("neck", NECKS, self.neck),
            ("cls_head", HEADS, self.cls_head),
        ):
            if cfg is None:
                if field_name == "neck":
                    continue
                raise ConfigError(f"{name}.{field_name} is required (a dict with a 'type' key)")
            if not isinstance(cfg, dict) or "type" not in cfg:
                raise ConfigError(f"{name}.{field_name} must be a dict with a 'type' key, got {cfg!r}")
            target = registry.get(cfg["type"])
            kwargs = {k: v for k, v in cfg.items() if k != "type"}
            if field_name == "cls_head":
                kwargs["num_classes"] = self.num_labels
            check_arguments(target, kwargs, f"{name}.{field_name} ({cfg['type']})")
        head = HEADS.get(self.cls_head["type"])
        if self.fcn_test and "fcn_test" not in inspect.signature(head.forward).parameters:
            raise ConfigError(f"{name}.fcn_test is True but {self.cls_head['type']} has no fully-convolutional test "
                              "mode (in mmaction2 only TPNHead has one)")

    def head_config(self) -> Dict[str, Any]:
        """The ``cls_head`` dict with ``num_classes`` filled from ``num_labels``."""
        return {**self.cls_head, "num_classes": self.num_labels}

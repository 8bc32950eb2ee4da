"""The configs of videohub: one common base and one base per task.

``VideoConfig`` is what every architecture shares, whatever its task: mmaction2 part dicts
(``dict(type=..., **kwargs)``) validated against their constructors when the config is made,
architecture defaults that a partial dict merges into, strict unknown-key checks, and the
mmaction2 types the architecture converts. Under it:

- :class:`RecognizerConfig`: action recognition (``backbone``, ``neck``, ``cls_head``, test protocol);
- :class:`LocalizerConfig`: temporal action localization (the localizer's constructor arguments);
- :class:`DetectorConfig`: spatio-temporal action detection (``backbone``, ``roi_head``, train/test cfg).

An architecture's config subclasses one of them and sets its ``model_type`` and defaults.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple

import torch
from huggingface_hub.dataclasses import strict
from transformers import PretrainedConfig

from .errors import ConfigError
from .registry import BACKBONES, HEADS, LOCALIZERS, NECKS, Registry, accepted_arguments, check_arguments

RECOGNIZERS = ("Recognizer2D", "Recognizer3D", "AudioRecognizer", "SkeletonGCN")
AVERAGE_CLIPS = ("score", "prob", None)

# Keys transformers itself passes through ``__post_init__`` (serialization and backward compatibility).
_TRANSFORMERS_KWARGS = {
    "num_labels", "torch_dtype", "name_or_path", "_commit_hash", "output_attentions",
    "attn_implementation", "experts_implementation", "per_layer_config", "model_type",
    "_attn_implementation_internal", "_experts_implementation_internal", "transformers_version",
}


def as_json(value: Any) -> Any:
    """Tuples become lists (recursively), so a fresh config equals one read back from ``config.json``."""
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


def describe_part(cfg: Optional[dict]) -> str:
    """``Type(arg=value, ...)`` of an mmaction2 part dict, ``"none"`` for ``None``."""
    if not cfg:
        return "none"
    args = ", ".join(f"{k}={v!r}" for k, v in cfg.items() if k != "type")
    return f"{cfg['type']}({args})"


def field_default(config_class: type, name: str) -> Any:
    """The class default of dataclass field ``name`` of ``config_class``."""
    return next(f.default for f in dataclasses.fields(config_class) if f.name == name)


def merge_part(default: Optional[Dict[str, Any]], given: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The part dict a config holds, from the architecture's ``default`` and the user's ``given``.

    ``None`` keeps the default. A dict with a ``"type"`` key is a complete mmaction2 spec and
    replaces the default (mmaction2 semantics: missing keys take the constructor's defaults). A
    dict without ``"type"`` is a partial override merged into the default, nested dicts included:
    ``backbone=dict(depth=18)`` is the default backbone with ``depth=18``.
    """
    if given is None:
        return copy.deepcopy(default)
    if not isinstance(given, Mapping) or "type" in given or default is None:
        return copy.deepcopy(given)

    def merge(base: Dict[str, Any], update: Mapping[str, Any]) -> Dict[str, Any]:
        out = copy.deepcopy(base)
        for key, value in update.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), dict) and "type" not in value:
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out

    return merge(default, given)


@strict(accept_kwargs=True)
class VideoConfig(PretrainedConfig):
    r"""Common base of every videohub config.

    Subclasses declare their mmaction2 part fields in ``part_fields`` (field name → registry) and
    an architecture's defaults as ``default_<field>`` class attributes. When the config is made,
    each part dict is merged with its default (see :func:`merge_part`), stored JSON-ready, and
    checked against the constructor of the class its ``type`` names, so a typo fails at once with
    a :class:`~videohub.errors.ConfigError` naming the field and the argument.

    Args:
        train_cfg (`dict`, *optional*, defaults to `None`):
            mmaction2 ``train_cfg`` of the model.

    Class attributes an architecture sets:
        model_type: ``"videohub-<arch>"``.
        mmaction2_types: The mmaction2 part types that identify this architecture when an mmaction2
            config is converted, e.g. ``{"backbone": ("ResNetTSM",)}``; a config matches when any
            listed part type matches. ``conversion_priority`` breaks ties (higher wins).
    """

    model_type = "videohub"

    train_cfg: Optional[Dict[str, Any]] = None

    task: ClassVar[str] = ""
    part_fields: ClassVar[Dict[str, Registry]] = {}
    required_parts: ClassVar[Tuple[str, ...]] = ()
    mmaction2_types: ClassVar[Dict[str, Tuple[str, ...]]] = {}
    conversion_priority: ClassVar[int] = 0

    def __post_init__(self, **kwargs: Any) -> None:
        if "_name_or_path" in kwargs:
            kwargs["name_or_path"] = kwargs.pop("_name_or_path")
        unknown = sorted(set(kwargs) - _TRANSFORMERS_KWARGS)
        if unknown:
            raise ConfigError(
                f"{type(self).__name__}: unknown config key(s) {unknown}; "
                f"allowed keys are the fields of {type(self).__name__} and transformers' common ones"
            )
        self._given_parts = {name: copy.deepcopy(getattr(self, name)) for name in self.part_fields}
        for name in self.part_fields:
            setattr(self, name, as_json(merge_part(getattr(type(self), f"default_{name}", None), getattr(self, name))))
        self.train_cfg = as_json(self.train_cfg)
        self.derive(kwargs)
        super().__post_init__(**kwargs)
        del self._given_parts
        self._validate()

    def given_part(self, name: str) -> Optional[Dict[str, Any]]:
        """The part dict ``name`` as the caller passed it (``None`` if not); only during ``derive``."""
        return self._given_parts.get(name)

    def derive(self, kwargs: Dict[str, Any]) -> None:
        """Fill fields that depend on others (before transformers' own init). Default: nothing."""

    def part_kwargs(self, name: str) -> Dict[str, Any]:
        """Constructor arguments of part ``name`` beyond its dict (e.g. a head's ``num_classes``)."""
        return {}

    def _validate(self) -> None:
        """Check every part dict against the constructor of the class its ``type`` names."""
        name = type(self).__name__
        for field_name, registry in self.part_fields.items():
            cfg = getattr(self, field_name)
            if cfg is None:
                if field_name in self.required_parts:
                    raise ConfigError(f"{name}.{field_name} is required (a dict with a 'type' key)")
                continue
            if not isinstance(cfg, dict) or "type" not in cfg:
                raise ConfigError(f"{name}.{field_name} must be a dict with a 'type' key, got {cfg!r}")
            kwargs = {k: v for k, v in cfg.items() if k != "type"}
            kwargs.update(self.part_kwargs(field_name))
            check_arguments(registry.get(cfg["type"]), kwargs, f"{name}.{field_name} ({cfg['type']})")

    def card_lines(self) -> List[str]:
        """Lines describing the architecture in the model card: every part dict, then the classes."""
        lines = [f"{name}: `{describe_part(getattr(self, name))}`" for name in self.part_fields
                 if getattr(self, name) is not None]
        if self.id2label:
            labels = [str(self.id2label[i]) for i in sorted(self.id2label)]
            shown = ", ".join(f"`{label}`" for label in labels[:20]) + (" ..." if len(labels) > 20 else "")
            lines.append(f"classes ({len(labels)}): {shown}")
        return lines

    def build_part(self, name: str):
        """Build part ``name`` (an ``nn.Module``) from its dict, or return ``None`` if it is unset."""
        cfg = getattr(self, name)
        if cfg is None:
            return None
        return self.part_fields[name].build({**cfg, **self.part_kwargs(name)})


def backbone_channels(backbone: Dict[str, Any]) -> Optional[int]:
    """Channels of the feature ``backbone`` returns (its ``feat_dim``), or ``None`` if it has none.

    The backbone is built on the meta device, so this costs no memory and no initialization.
    """
    try:
        with torch.device("meta"):
            module = BACKBONES.build(backbone)
    except (ConfigError, TypeError, ValueError, NotImplementedError, RuntimeError):
        return None
    channels = getattr(module, "feat_dim", None)
    return int(channels) if isinstance(channels, int) else None


@strict(accept_kwargs=True)
class RecognizerConfig(VideoConfig):
    r"""Configuration of an action recognizer (mmaction2 ``Recognizer2D``/``3D``/``AudioRecognizer``).

    A partial part dict (no ``"type"``) merges into the architecture's default; dependent fields
    follow the others unless given: a 2D model's ``num_segments`` (backbone and head) follows
    ``num_frames`` and the other way round, and the head's ``in_channels`` follows the backbone's
    feature channels (ResNet-18 → 512).

    Args:
        backbone (`dict`, defaults to the architecture's backbone):
            mmaction2 backbone config, e.g. ``dict(type="ResNet", depth=50)``.
        neck (`dict`, *optional*, defaults to the architecture's neck or `None`):
            mmaction2 neck config (TPN).
        cls_head (`dict`, defaults to the architecture's head):
            mmaction2 head config without ``num_classes`` (that is ``num_labels``).
        recognizer (`str`, defaults to `"Recognizer2D"`):
            How clips reach the backbone: ``"Recognizer2D"`` (frames folded into the batch),
            ``"Recognizer3D"`` (``NCTHW`` clips), ``"AudioRecognizer"`` or ``"SkeletonGCN"`` (keypoints).
        average_clips (`str`, *optional*, defaults to `"score"`):
            How the scores of several views are averaged, as mmaction2's ``test_cfg.average_clips``:
            ``"score"``, ``"prob"`` (softmax first) or ``None`` (no averaging).
        max_testing_views (`int`, *optional*, defaults to `None`):
            Run at most this many views of a 3D model through the backbone at once.
        feature_extraction (`bool`, defaults to `False`):
            Test-time output is the pooled backbone feature instead of class scores.
        fcn_test (`bool`, defaults to `False`):
            Fully-convolutional testing (heads that support it).
        train_cfg (`dict`, *optional*, defaults to `None`):
            mmaction2 ``train_cfg`` (``blending``, ``aux_info``).
        num_frames (`int`, defaults to 8):
            Time steps per clip: frames the video processor samples (2D models: the segments).
        num_labels / id2label / label2id:
            The classes, as in every transformers classifier; the head gets ``num_classes=num_labels``.
    """

    backbone: Optional[Dict[str, Any]] = None
    neck: Optional[Dict[str, Any]] = None
    cls_head: Optional[Dict[str, Any]] = None
    recognizer: str = "Recognizer2D"
    average_clips: Optional[str] = "score"
    max_testing_views: Optional[int] = None
    feature_extraction: bool = False
    fcn_test: bool = False
    num_frames: int = 8

    task: ClassVar[str] = "video-classification"
    # transformers.Trainer drops these output fields from its predictions: they are the logits alone.
    keys_to_ignore_at_inference: ClassVar[List[str]] = ["scores", "clip_logits", "losses", "hidden_states"]
    part_fields: ClassVar[Dict[str, Registry]] = {"backbone": BACKBONES, "neck": NECKS, "cls_head": HEADS}
    required_parts: ClassVar[Tuple[str, ...]] = ("backbone", "cls_head")
    default_backbone: ClassVar[Optional[Dict[str, Any]]] = None
    default_neck: ClassVar[Optional[Dict[str, Any]]] = None
    default_cls_head: ClassVar[Optional[Dict[str, Any]]] = None

    def derive(self, kwargs: Dict[str, Any]) -> None:
        if isinstance(self.cls_head, dict) and "num_classes" in self.cls_head:
            head_classes = self.cls_head.pop("num_classes")
            if kwargs.get("num_labels") is None and self.id2label is None:
                kwargs["num_labels"] = head_classes
        if self.recognizer == "Recognizer2D":
            self._derive_segments()
        self._derive_head_channels()

    def _derive_segments(self) -> None:
        """Tie ``num_segments`` of a 2D backbone/head (TSM, TIN, TANet, TRN) to ``num_frames``."""
        holders = [part for part in ("backbone", "cls_head")
                   if isinstance(getattr(self, part), dict) and "type" in getattr(self, part)
                   and "num_segments" in accepted_arguments(self.part_fields[part].get(getattr(self, part)["type"]))]
        if not holders:
            return
        for part in holders:
            params = accepted_arguments(self.part_fields[part].get(getattr(self, part)["type"]))
            getattr(self, part).setdefault("num_segments", params["num_segments"].default)
        given = {part: (self.given_part(part) or {}).get("num_segments") for part in holders}
        explicit = {v for v in given.values() if v is not None}
        frames_given = self.num_frames != field_default(type(self), "num_frames")
        if len(explicit) > 1:
            raise ConfigError(f"{type(self).__name__}: backbone and cls_head disagree on num_segments {given}")
        if explicit:
            segments = explicit.pop()
            if frames_given and self.num_frames != segments:
                raise ConfigError(f"{type(self).__name__}: num_frames={self.num_frames} but num_segments={segments}; "
                                  "a 2D model with num_segments needs num_frames == num_segments")
            self.num_frames = segments
        elif frames_given or any(getattr(self, p)["num_segments"] != self.num_frames for p in holders):
            segments = self.num_frames
        else:
            return
        for part in holders:
            getattr(self, part)["num_segments"] = segments

    def _derive_head_channels(self) -> None:
        """The head's ``in_channels`` follows the backbone unless given (only without a neck)."""
        if self.neck is not None or not isinstance(self.cls_head, dict) or "in_channels" not in self.cls_head:
            return
        if "in_channels" in (self.given_part("cls_head") or {}) or self.given_part("backbone") is None:
            return
        channels = backbone_channels(self.backbone)
        if channels is not None:
            self.cls_head["in_channels"] = channels

    def part_kwargs(self, name: str) -> Dict[str, Any]:
        return {"num_classes": self.num_labels} if name == "cls_head" else {}

    def _validate(self) -> None:
        name = type(self).__name__
        if self.recognizer not in RECOGNIZERS:
            raise ConfigError(f"{name}.recognizer is {self.recognizer!r}; expected one of {RECOGNIZERS}")
        if self.average_clips not in AVERAGE_CLIPS:
            raise ConfigError(f"{name}.average_clips is {self.average_clips!r}; expected one of {AVERAGE_CLIPS}")
        if self.max_testing_views is not None and self.max_testing_views < 1:
            raise ConfigError(f"{name}.max_testing_views must be a positive int or None, got {self.max_testing_views}")
        if self.num_frames < 1:
            raise ConfigError(f"{name}.num_frames must be >= 1, got {self.num_frames}")
        super()._validate()
        head = HEADS.get(self.cls_head["type"])
        if self.fcn_test and "fcn_test" not in inspect.signature(head.forward).parameters:
            raise ConfigError(f"{name}.fcn_test is True but {self.cls_head['type']} has no fully-convolutional test "
                              "mode (in mmaction2 only TPNHead has one)")

    def card_lines(self) -> List[str]:
        return super().card_lines() + [f"test-time view averaging: `average_clips={self.average_clips}`"]

    def head_config(self) -> Dict[str, Any]:
        """The ``cls_head`` dict with ``num_classes`` filled from ``num_labels``."""
        return {**self.cls_head, **self.part_kwargs("cls_head")}


@strict(accept_kwargs=True)
class LocalizerConfig(VideoConfig):
    r"""Configuration of a temporal action localizer (mmaction2 ``TEM``, ``PEM``, ``BMN``, ``SSN``).

    The fields of an architecture's config are the constructor arguments of its mmaction2
    localizer class (``localizer_type``), with the same names; :meth:`localizer_kwargs` returns
    them, checked against that constructor.

    Args:
        train_cfg / test_cfg (`dict`, *optional*, defaults to `None`):
            mmaction2 ``train_cfg`` / ``test_cfg`` of the localizer (SSN uses them).
    """

    test_cfg: Optional[Dict[str, Any]] = None

    task: ClassVar[str] = "temporal-action-localization"
    localizer_type: ClassVar[str] = ""

    def card_lines(self) -> List[str]:
        args = ", ".join(f"{k}={v!r}" for k, v in self.localizer_kwargs().items())
        return [f"localizer: `{self.localizer_type}({args})`"]

    def localizer_kwargs(self) -> Dict[str, Any]:
        """The mmaction2 localizer's constructor arguments, from this config's fields."""
        params = accepted_arguments(LOCALIZERS.get(self.localizer_type))
        return {name: copy.deepcopy(getattr(self, name)) for name in params if hasattr(self, name)}

    def _validate(self) -> None:
        super()._validate()
        if self.localizer_type:
            check_arguments(LOCALIZERS.get(self.localizer_type), self.localizer_kwargs(),
                            f"{type(self).__name__} ({self.localizer_type})")


@strict(accept_kwargs=True)
class DetectorConfig(VideoConfig):
    r"""Configuration of a spatio-temporal action detector (mmdet ``FastRCNN`` + mmaction2 ``AVARoIHead``).

    Args:
        backbone (`dict`, defaults to the architecture's backbone):
            mmaction2 backbone config (``ResNet3dSlowOnly``, ``ResNet3dSlowFast``).
        roi_head (`dict`, defaults to the architecture's RoI head):
            mmaction2 ``AVARoIHead`` config: ``bbox_roi_extractor``, ``bbox_head``, optional ``shared_head``.
        train_cfg / test_cfg (`dict`, *optional*):
            mmdet ``train_cfg.rcnn`` (assigner, sampler, ``pos_weight``) and ``test_cfg.rcnn``
            (``action_thr``).
        num_frames (`int`, defaults to 8):
            Frames per clip the processor samples.
    """

    backbone: Optional[Dict[str, Any]] = None
    roi_head: Optional[Dict[str, Any]] = None
    test_cfg: Optional[Dict[str, Any]] = None
    num_frames: int = 8

    task: ClassVar[str] = "spatio-temporal-action-detection"
    part_fields: ClassVar[Dict[str, Registry]] = {"backbone": BACKBONES}
    required_parts: ClassVar[Tuple[str, ...]] = ("backbone",)
    default_backbone: ClassVar[Optional[Dict[str, Any]]] = None
    default_roi_head: ClassVar[Optional[Dict[str, Any]]] = None
    default_train_cfg: ClassVar[Optional[Dict[str, Any]]] = None
    default_test_cfg: ClassVar[Optional[Dict[str, Any]]] = None

    def derive(self, kwargs: Dict[str, Any]) -> None:
        for name in ("roi_head", "train_cfg", "test_cfg"):
            setattr(self, name, as_json(merge_part(getattr(type(self), f"default_{name}"), getattr(self, name))))
        head = (self.roi_head or {}).get("bbox_head") or {}
        if "num_classes" in head and kwargs.get("num_labels") is None and self.id2label is None:
            kwargs["num_labels"] = head["num_classes"]

    def card_lines(self) -> List[str]:
        return super().card_lines()[:1] + [f"roi_head: `{describe_part(self.roi_head)}`",
                                           f"classes: {self.num_labels} (class 0 reserved, as in mmaction2)"]

    def roi_head_config(self) -> Dict[str, Any]:
        """``roi_head`` with the bbox head's ``num_classes`` set to ``num_labels``."""
        roi_head = copy.deepcopy(self.roi_head)
        roi_head["bbox_head"] = {**roi_head["bbox_head"], "num_classes": self.num_labels}
        return roi_head

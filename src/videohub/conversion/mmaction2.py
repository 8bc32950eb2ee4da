"""mmaction2 v0.x models → videohub configs and models.

The pieces, each usable alone:

* :func:`config_class_for` decides which videohub config class (architecture) an mmaction2 model
  dict is, from the ``mmaction2_types`` every config class declares; :func:`arch_for_model_cfg`
  gives its short name;
* :func:`config_from_mmaction2` turns the model dict (and test pipeline) into that config:
  recognizers, localizers and detectors alike;
* :func:`read_checkpoint` reads a ``.pth`` with ``torch.load(weights_only=True)``;
* :func:`build_model` builds the videohub model and loads the weights through
  :func:`~videohub.conversion.state_dict.convert_state_dict` (strict key renaming).

:func:`~videohub.conversion.config_reader.load_config` reads an mmaction2 ``.py`` config without
executing it; :mod:`~videohub.conversion.converter` writes Hugging Face folders.
"""

from __future__ import annotations

import copy
import hashlib
import os
import pickle
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

import numpy as np
import torch

from ..auto import CONFIG_CLASSES, AutoVideoConfig, AutoVideoModel
from ..configuration_utils import RECOGNIZERS, DetectorConfig, LocalizerConfig, RecognizerConfig, VideoConfig
from ..errors import CheckpointError, ConfigError
from ..modeling_utils import VideoPreTrainedModel
from ..registry import HEADS, accepted_arguments
from ..utils import logging
from .config_reader import load_config
from .state_dict import convert_state_dict, skip_init

logger = logging.get_logger(__name__)

# mmaction2 test_cfg keys and the videohub config field each one sets.
TEST_CFG_FIELDS = {
    "average_clips": "average_clips",
    "max_testing_views": "max_testing_views",
    "feature_extraction": "feature_extraction",
    "fcn_test": "fcn_test",
}
# Test-pipeline steps that sample a clip's frames (the first one found sets ``num_frames``).
SAMPLING_STEPS = ("SampleFrames", "DenseSampleFrames", "UntrimmedSampleFrames", "SampleAVAFrames")
RECOGNIZER_KEYS = ("type", "backbone", "neck", "cls_head", "train_cfg", "test_cfg")
# mmdet FastRCNN keys; ``neck`` must be None, ``pretrained``/``init_cfg`` are dropped (the checkpoint
# holds every weight)
DETECTOR_KEYS = ("type", "backbone", "roi_head", "train_cfg", "test_cfg", "neck", "pretrained", "init_cfg")


def _part_type(model_cfg: Mapping[str, Any], part: str) -> Optional[str]:
    if part == "type":
        return model_cfg.get("type")
    value = model_cfg.get(part)
    return value.get("type") if isinstance(value, Mapping) else None


def config_class_for(model_cfg: Mapping[str, Any]) -> Type[VideoConfig]:
    """The videohub config class of an mmaction2 model dict.

    The model's ``type`` selects the candidates: a recognizer wrapper (``Recognizer2D``,
    ``Recognizer3D``, ``AudioRecognizer``) is matched against every recognizer config; any other
    type (``BMN``, ``FastRCNN``, ...) only against the configs that list it under
    ``mmaction2_types["type"]``. A candidate matches when any part type it declares in
    ``mmaction2_types`` is the model's; the highest ``conversion_priority`` wins.

    Raises:
        ConfigError: ``model_cfg`` is not a dict, or no videohub architecture covers it.
    """
    if not isinstance(model_cfg, Mapping):
        raise ConfigError(f"an mmaction2 model config must be a dict, got {type(model_cfg).__name__}")
    model_type = model_cfg.get("type")
    if model_type in RECOGNIZERS:
        candidates = [c for c in CONFIG_CLASSES.values() if issubclass(c, RecognizerConfig)]
    else:
        candidates = [c for c in CONFIG_CLASSES.values() if model_type in c.mmaction2_types.get("type", ())]
        if not candidates:
            covered = sorted({t for c in CONFIG_CLASSES.values() for t in c.mmaction2_types.get("type", ())}
                             | set(RECOGNIZERS))
            raise ConfigError(f"no videohub architecture covers the mmaction2 model type {model_type!r} "
                              f"(covered model types: {covered})")
    for config_class in sorted(candidates, key=lambda c: -c.conversion_priority):
        if any(_part_type(model_cfg, part) in types for part, types in config_class.mmaction2_types.items()):
            return config_class
    parts = {p: _part_type(model_cfg, p) for p in ("type", "backbone", "neck", "cls_head")}
    raise ConfigError(f"no videohub architecture covers the mmaction2 model {parts}")


def arch_for_model_cfg(model_cfg: Mapping[str, Any]) -> str:
    """The videohub architecture (``"tsn"``, ``"i3d"``, ``"bmn"``, ...) of an mmaction2 model dict.

    Raises:
        ConfigError: as :func:`config_class_for`.
    """
    return config_class_for(model_cfg).model_type[len("videohub-"):]


def _strip_pretrained(cfg: Any) -> Any:
    """Set every ``pretrained=<path or URL>`` (or torchvision's ``pretrained=True``) in a backbone dict to ``None``.

    mmaction2's ``tools/test.py`` does the same before loading a checkpoint: the checkpoint holds
    every weight, so the ImageNet/Kinetics initialization is neither needed nor fetched.
    """
    if isinstance(cfg, dict):
        return {k: (None if k == "pretrained" and isinstance(v, (str, bool)) else _strip_pretrained(v))
                for k, v in cfg.items()}
    if isinstance(cfg, list):
        return [_strip_pretrained(v) for v in cfg]
    return cfg


def _sampling_step(test_pipeline: Optional[Sequence[Mapping[str, Any]]]) -> Optional[Mapping[str, Any]]:
    for step in test_pipeline or ():
        if isinstance(step, Mapping) and step.get("type") in SAMPLING_STEPS:
            return step
    return None


def num_frames_from_pipeline(model_type: str, test_pipeline: Optional[Sequence[Mapping[str, Any]]]) -> Optional[int]:
    """Time steps per clip the model sees from the test pipeline.

    ``clip_len * num_clips`` for 2D models (``model_type`` ``"Recognizer2D"``; ``num_clips`` when
    ``FormatShape(input_format="NCHW_Flow")`` stacks each clip's flow frames into channels),
    ``clip_len`` for the others (3D, audio, detectors). Returns ``None`` when the pipeline has no
    sampling step.
    """
    step = _sampling_step(test_pipeline)
    if step is None:
        return None
    clip_len = int(step.get("clip_len", 1))
    if model_type == "Recognizer2D":
        flow_stacked = any(isinstance(s, Mapping) and s.get("type") == "FormatShape"
                           and s.get("input_format") == "NCHW_Flow" for s in test_pipeline or ())
        return int(step.get("num_clips", 1)) * (1 if flow_stacked else clip_len)
    return clip_len


def takes_rgb_video(model_cfg: Mapping[str, Any]) -> bool:
    """Whether the model's input is RGB frames (not audio features, not stacked optical flow)."""
    backbone = model_cfg.get("backbone") or {}
    return model_cfg.get("type") != "AudioRecognizer" and backbone.get("in_channels", 3) == 3


def split_model_cfg(cfg: Mapping[str, Any]) -> Tuple[Dict[str, Any], Optional[List[Dict[str, Any]]]]:
    """``(model dict, test pipeline)`` of a model dict (no pipeline) or a whole config (``load_config`` output).

    A whole config's test pipeline is its ``test_pipeline``, else ``data.test.pipeline``.
    """
    if "model" in cfg and "type" not in cfg:
        pipeline = cfg.get("test_pipeline")
        if pipeline is None:
            pipeline = ((cfg.get("data") or {}).get("test") or {}).get("pipeline")
        return dict(cfg["model"]), pipeline
    return dict(cfg), None


def _normalize_id2label(id2label: Any, num_classes: int) -> Dict[int, str]:
    if isinstance(id2label, (list, tuple)):
        id2label = dict(enumerate(id2label))
    if not isinstance(id2label, Mapping):
        raise ConfigError(f"id2label must be a dict or a list of class names, got {type(id2label).__name__}")
    out = {int(k): str(v) for k, v in id2label.items()}
    if sorted(out) != list(range(num_classes)):
        raise ConfigError(
            f"id2label has {len(out)} entries (ids {sorted(out)[:5]}...), but the mmaction2 head has "
            f"num_classes={num_classes}; expected ids 0..{num_classes - 1}"
        )
    return out


def _check_keys(model_cfg: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(model_cfg) - set(allowed))
    if unknown:
        raise ConfigError(f"mmaction2 {model_cfg.get('type')} model config has unknown key(s) {unknown}; "
                          f"expected {list(allowed)}")


def _recognizer_fields(model_cfg: Dict[str, Any], test_pipeline: Optional[Sequence[Mapping[str, Any]]]
                       ) -> Tuple[Dict[str, Any], int]:
    """Config fields of an mmaction2 recognizer, and its number of classes."""
    _check_keys(model_cfg, RECOGNIZER_KEYS)
    head = copy.deepcopy(model_cfg.get("cls_head"))
    if not isinstance(head, dict) or "num_classes" not in head:
        raise ConfigError(f"mmaction2 model config needs a cls_head dict with num_classes, got {head!r}")
    fields: Dict[str, Any] = dict(
        backbone=_strip_pretrained(copy.deepcopy(model_cfg["backbone"])),
        neck=copy.deepcopy(model_cfg.get("neck")),
        cls_head=head,
        recognizer=model_cfg["type"],
        train_cfg=copy.deepcopy(model_cfg.get("train_cfg")),
    )
    test_cfg = model_cfg.get("test_cfg") or {}
    unknown = sorted(set(test_cfg) - set(TEST_CFG_FIELDS))
    if unknown:
        raise ConfigError(f"mmaction2 test_cfg has unknown key(s) {unknown}; videohub knows {sorted(TEST_CFG_FIELDS)}")
    for key, field_name in TEST_CFG_FIELDS.items():
        if key in test_cfg:
            fields[field_name] = test_cfg[key]
    if "average_clips" not in test_cfg:
        if model_cfg["type"] != "SkeletonGCN":  # SkeletonGCN tests one clip and never averages
            logger.warning("mmaction2 test_cfg has no average_clips (mmaction2 would refuse to test); using 'score'")
        fields["average_clips"] = "score"
    num_frames = num_frames_from_pipeline(model_cfg["type"], test_pipeline)
    if num_frames is not None:
        fields["num_frames"] = num_frames
    return fields, int(head["num_classes"])


def _detector_fields(model_cfg: Dict[str, Any], test_pipeline: Optional[Sequence[Mapping[str, Any]]]
                     ) -> Tuple[Dict[str, Any], int]:
    """Config fields of an mmaction2/mmdet detector (``FastRCNN``), and its number of classes (class 0 included)."""
    _check_keys(model_cfg, DETECTOR_KEYS)
    if model_cfg.get("neck") is not None:
        raise ConfigError(f"mmaction2 {model_cfg['type']} config has a neck {model_cfg['neck']!r}; "
                          "the AVA detectors have none")
    roi_head = copy.deepcopy(model_cfg.get("roi_head"))
    bbox_head = roi_head.get("bbox_head") if isinstance(roi_head, dict) else None
    if not isinstance(bbox_head, dict) or "type" not in bbox_head:
        raise ConfigError(f"mmaction2 detector config needs a roi_head.bbox_head dict with a type, got {roi_head!r}")
    bbox_head.setdefault("num_classes", accepted_arguments(HEADS.get(bbox_head["type"]))["num_classes"].default)
    num_classes = bbox_head["num_classes"]
    fields: Dict[str, Any] = dict(
        backbone=_strip_pretrained(copy.deepcopy(model_cfg["backbone"])),
        roi_head=roi_head,
        train_cfg=copy.deepcopy(model_cfg.get("train_cfg")),
        test_cfg=copy.deepcopy(model_cfg.get("test_cfg")),
    )
    num_frames = num_frames_from_pipeline(model_cfg["type"], test_pipeline)
    if num_frames is not None:
        fields["num_frames"] = num_frames
    return fields, int(num_classes)


def _localizer_fields(model_cfg: Dict[str, Any], test_pipeline: Optional[Sequence[Mapping[str, Any]]]
                      ) -> Tuple[Dict[str, Any], Optional[int]]:
    """Config fields of an mmaction2 localizer: its constructor arguments, which are the config's fields."""
    return _strip_pretrained({k: copy.deepcopy(v) for k, v in model_cfg.items() if k != "type"}), None


# task base -> the function giving (config fields, number of classes or None) of an mmaction2 model dict
TASK_FIELDS: Tuple[Tuple[type, Callable[..., Tuple[Dict[str, Any], Optional[int]]]], ...] = (
    (RecognizerConfig, _recognizer_fields),
    (LocalizerConfig, _localizer_fields),
    (DetectorConfig, _detector_fields),
)


def config_from_mmaction2(
    model_cfg: Mapping[str, Any],
    test_pipeline: Optional[Sequence[Mapping[str, Any]]] = None,
    id2label: Optional[Union[Mapping[int, str], Sequence[str]]] = None,
    config_class: Optional[Type[VideoConfig]] = None,
    **overrides: Any,
) -> VideoConfig:
    """The videohub config of an mmaction2 model.

    Recognizers: ``backbone``/``neck``/``cls_head`` go in unchanged (``pretrained`` URLs become
    ``None``), ``test_cfg`` keys become config fields, ``num_labels`` is ``cls_head.num_classes``.
    Localizers: the constructor arguments are the config's fields. Detectors: ``backbone``,
    ``roi_head``, ``train_cfg`` and ``test_cfg``; ``num_labels`` is the bbox head's ``num_classes``.

    Args:
        model_cfg: mmaction2's ``model`` dict; a whole config as returned by ``load_config`` works
            too (its test pipeline is then used when ``test_pipeline`` is ``None``).
        test_pipeline: mmaction2 test pipeline; its sampling step sets ``num_frames``. Default
            ``None`` (keep the architecture's default).
        id2label: Class names (dict or list of ``num_classes`` names). Default ``None``
            (``LABEL_0`` ...).
        config_class: The videohub config class to make. Default ``None``: the one
            :func:`config_class_for` picks (an architecture that shares another's mmaction2 layout,
            such as PoseC3D's SlowOnly on heatmaps, is chosen this way).
        **overrides: Further config fields, set when the config is made (e.g. ``num_labels=10``).

    Returns:
        An instance of ``config_class`` or of the class :func:`config_class_for` picks (``TSNConfig``,
        ``BMNConfig``, ...).
    """
    model_cfg, pipeline_from_cfg = split_model_cfg(model_cfg)
    test_pipeline = test_pipeline if test_pipeline is not None else pipeline_from_cfg
    config_class = config_class or config_class_for(model_cfg)
    fields_of = next(fn for base, fn in TASK_FIELDS if issubclass(config_class, base))
    fields, num_classes = fields_of(model_cfg, test_pipeline)
    if id2label is not None:
        if num_classes is None:
            raise ConfigError(f"id2label was given, but the mmaction2 {model_cfg['type']} model has no classes")
        labels = _normalize_id2label(id2label, num_classes)
        fields["id2label"] = labels
        fields["label2id"] = {v: k for k, v in labels.items()}
    fields.update(overrides)
    return AutoVideoConfig.for_model_type(config_class.model_type, **fields)


# ---------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """An mmaction2 checkpoint as read from disk.

    Attributes:
        state_dict: The model weights (mmaction2 key names, ``module.`` prefixes removed).
        meta: mmcv's ``meta`` dict (``mmcv_version``, ``time``, ``config`` text, ...) or ``{}``.
        sha256: Hex sha256 of the file.
        path: The file read.
    """

    state_dict: Dict[str, torch.Tensor]
    meta: Dict[str, Any]
    sha256: str
    path: str


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _numpy_safe_globals() -> List[Any]:
    """numpy scalar/dtype reconstructors that mmcv meta dicts may contain (data only, no code)."""
    names = []
    core = getattr(np, "_core", None) or np.core
    names.append(core.multiarray.scalar)
    names.append(np.dtype)
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        names.extend(getattr(dtypes, n) for n in ("Float64DType", "Float32DType", "Int64DType", "Int32DType", "BoolDType") if hasattr(dtypes, n))
    return names


def _torch_load(path: str) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as first:
        try:
            with torch.serialization.safe_globals(_numpy_safe_globals()):
                return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            raise CheckpointError(
                f"{path}: cannot be read with torch.load(weights_only=True) (it holds Python objects other "
                f"than tensors and plain data; videohub never unpickles arbitrary objects): {first}"
            ) from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint: {exc}") from None


def read_checkpoint(path: str) -> Checkpoint:
    """Read an mmaction2 ``.pth`` checkpoint with ``torch.load(weights_only=True)``.

    Accepts mmcv's layout (``{"meta": ..., "state_dict": ..., "optimizer": ...}``) and a bare state
    dict; the ``module.`` prefix of DataParallel checkpoints is removed as mmcv's
    ``load_checkpoint`` does.

    Raises:
        CheckpointError: missing file, unreadable file, or no state dict in it.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    obj = _torch_load(path)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, expected a dict (state_dict or mmcv checkpoint)")
    if "state_dict" in obj:
        state_dict, meta = obj["state_dict"], obj.get("meta") or {}
    else:
        state_dict, meta = obj, {}
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f"{path}: 'state_dict' must map names to tensors")
    if state_dict and all(k.startswith("module.") for k in state_dict):
        state_dict = {k[len("module."):]: v for k, v in state_dict.items()}
    return Checkpoint(state_dict=dict(state_dict), meta=dict(meta), sha256=_file_sha256(path), path=path)


def read_label_map(path: str) -> Dict[int, str]:
    """Read an mmaction2 label map: one class name per line, the line number is the class id.

    Trailing empty lines are ignored; an empty line between names is an error.
    """
    if not os.path.isfile(path):
        raise ConfigError(f"label map {path!r} does not exist")
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\r\n") for line in f]
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise ConfigError(f"{path}:{number}: empty line in label map (expected one class name per line)")
    return {i: line.strip() for i, line in enumerate(lines)}


def load_mmaction2_weights(model: VideoPreTrainedModel, state_dict: Mapping[str, torch.Tensor],
                           source: str = "checkpoint") -> VideoPreTrainedModel:
    """Load an mmaction2 ``state_dict`` into the videohub ``model`` through its task's key table, strictly.

    ``source`` names the checkpoint in error messages (default ``"checkpoint"``). Returns the model
    in eval mode.
    """
    expected = {k: v.shape for k, v in model.state_dict().items()}
    model.load_state_dict(convert_state_dict(state_dict, model.config, expected=expected, source=source), strict=True)
    return model.eval()


def build_model(config: VideoConfig, state_dict: Mapping[str, torch.Tensor],
                source: str = "checkpoint") -> VideoPreTrainedModel:
    """Build the videohub model of ``config`` and load the mmaction2 ``state_dict`` into it, strictly.

    The random initialization is skipped: the strict load overwrites every parameter and buffer.
    ``source`` names the checkpoint in error messages (default ``"checkpoint"``). Returns the model
    in eval mode.
    """
    with skip_init():
        model = AutoVideoModel.from_config(config)
    return load_mmaction2_weights(model, state_dict, source)


def init_recognizer(config: Union[str, Mapping[str, Any]], checkpoint: Optional[str] = None,
                    device: str = "cpu") -> VideoPreTrainedModel:
    """Build a videohub recognizer from an mmaction2 config, optionally with its checkpoint.

    The counterpart of ``mmaction.apis.init_recognizer``.

    Args:
        config: Path of an mmaction2 config file, or the loaded config dict.
        checkpoint: Path of an mmaction2 ``.pth``. Default ``None`` (mmaction2 initialization).
        device: Torch device. Default ``"cpu"``.
    """
    cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else config
    vh_config = config_from_mmaction2(cfg)
    if checkpoint is None:
        return AutoVideoModel.from_config(vh_config).eval().to(device)
    ckpt = read_checkpoint(checkpoint)
    return build_model(vh_config, ckpt.state_dict, source=ckpt.path).to(device)

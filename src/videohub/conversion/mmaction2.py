"""mmaction2 v0.x checkpoints → videohub models.

The pieces, each usable alone:

* :func:`~videohub.conversion.config_reader.load_config` reads an mmaction2 ``.py`` config without
  executing it;
* :func:`arch_for_model_cfg` decides which videohub architecture an mmaction2 model dict is;
* :func:`config_from_mmaction2` turns the model dict (and test pipeline) into a videohub config;
* :func:`read_checkpoint` reads a ``.pth`` with ``torch.load(weights_only=True)``;
* :func:`~videohub.conversion.state_dict.convert_state_dict` renames the keys, strictly;
* :func:`convert` does all of it and writes a Hugging Face folder; :func:`main` is the command line
  of ``scripts/convert_mmaction2_checkpoint.py`` and ``videohub convert``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import pickle
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from ..configuration_utils import RECOGNIZERS, RecognizerConfig
from ..errors import CheckpointError, ConfigError
from ..utils import logging
from .config_reader import load_config, load_config_text
from .state_dict import convert_state_dict

logger = logging.get_logger(__name__)

# mmaction2 test_cfg keys and the videohub config field each one sets.
TEST_CFG_FIELDS = {
    "average_clips": "average_clips",
    "max_testing_views": "max_testing_views",
    "feature_extraction": "feature_extraction",
    "fcn_test": "fcn_test",
}

def _part_type(model_cfg: Mapping[str, Any], part: str) -> Optional[str]:
    if part == "type":
        return model_cfg.get("type")
    value = model_cfg.get(part)
    return value.get("type") if isinstance(value, Mapping) else None


def arch_for_model_cfg(model_cfg: Mapping[str, Any]) -> str:
    """The videohub architecture (``"tsn"``, ``"i3d"``, ...) of an mmaction2 recognizer model dict.

    Raises:
        ConfigError: the model is not a recognizer, or no videohub architecture covers its parts.
    """
    if not isinstance(model_cfg, Mapping):
        raise ConfigError(f"an mmaction2 model config must be a dict, got {type(model_cfg).__name__}")
    model_type = model_cfg.get("type")
    if model_type not in RECOGNIZERS:
        raise ConfigError(
            f"mmaction2 model type {model_type!r} is not supported by the recognizer conversion "
            f"(expected one of {RECOGNIZERS}); localizers and detectors have their own tables"
        )
    from ..auto import CONFIG_CLASSES

    recognizers = [c for c in CONFIG_CLASSES.values() if issubclass(c, RecognizerConfig) and c.mmaction2_types]
    for config_class in sorted(recognizers, key=lambda c: -c.conversion_priority):
        if any(_part_type(model_cfg, part) in types for part, types in config_class.mmaction2_types.items()):
            return config_class.model_type[len("videohub-"):]
    parts = {p: _part_type(model_cfg, p) for p in ("type", "backbone", "neck", "cls_head")}
    raise ConfigError(f"no videohub architecture covers the mmaction2 model {parts}")


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
        if isinstance(step, Mapping) and step.get("type") in ("SampleFrames", "DenseSampleFrames", "SampleAVAFrames"):
            return step
    return None


def num_frames_from_pipeline(recognizer: str, test_pipeline: Optional[Sequence[Mapping[str, Any]]]) -> Optional[int]:
    """Time steps per clip the model sees from the test pipeline.

    ``clip_len * num_clips`` for 2D models (``num_clips`` when ``FormatShape(input_format=
    "NCHW_Flow")`` stacks each clip's flow frames into channels), ``clip_len`` for 3D and audio
    models. Returns ``None`` when the pipeline has no sampling step.
    """
    step = _sampling_step(test_pipeline)
    if step is None:
        return None
    clip_len = int(step.get("clip_len", 1))
    if recognizer == "Recognizer2D":
        flow_stacked = any(isinstance(s, Mapping) and s.get("type") == "FormatShape"
                           and s.get("input_format") == "NCHW_Flow" for s in test_pipeline or ())
        return int(step.get("num_clips", 1)) * (1 if flow_stacked else clip_len)
    return clip_len


def takes_rgb_video(model_cfg: Mapping[str, Any]) -> bool:
    """Whether the model's input is RGB frames (not audio features, not stacked optical flow)."""
    backbone = model_cfg.get("backbone") or {}
    return model_cfg.get("type") != "AudioRecognizer" and backbone.get("in_channels", 3) == 3


def _split_model_cfg(cfg: Mapping[str, Any]) -> Tuple[Dict[str, Any], Optional[List[Dict[str, Any]]]]:
    """Accept either a model dict or a whole config (``load_config`` output)."""
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


def config_from_mmaction2(
    model_cfg: Mapping[str, Any],
    test_pipeline: Optional[Sequence[Mapping[str, Any]]] = None,
    id2label: Optional[Union[Mapping[int, str], Sequence[str]]] = None,
):
    """The videohub config of an mmaction2 recognizer.

    Args:
        model_cfg: mmaction2's ``model`` dict (``type``, ``backbone``, ``neck``, ``cls_head``,
            ``train_cfg``, ``test_cfg``); a whole config as returned by ``load_config`` works too
            (its ``test_pipeline`` is then used when ``test_pipeline`` is ``None``).
        test_pipeline: mmaction2 test pipeline; sets ``num_frames``. Default ``None`` (keep the
            architecture's default).
        id2label: Class names (dict or list of ``num_classes`` names). Default ``None``
            (``LABEL_0`` ...).

    Returns:
        A ``VideoConfig`` subclass instance (``TSNConfig``, ``I3DConfig``, ...).
    """
    model_cfg, pipeline_from_cfg = _split_model_cfg(model_cfg)
    test_pipeline = test_pipeline if test_pipeline is not None else pipeline_from_cfg
    if model_cfg.get("type") == "FastRCNN":  # an AVA detector
        from .ava_config import detector_config_from_mmaction2

        return detector_config_from_mmaction2(model_cfg, test_pipeline, id2label)
    arch = arch_for_model_cfg(model_cfg)
    unknown = sorted(set(model_cfg) - {"type", "backbone", "neck", "cls_head", "train_cfg", "test_cfg"})
    if unknown:
        raise ConfigError(f"mmaction2 model config has unknown key(s) {unknown}")
    head = copy.deepcopy(model_cfg.get("cls_head"))
    if not isinstance(head, dict) or "num_classes" not in head:
        raise ConfigError(f"mmaction2 model config needs a cls_head dict with num_classes, got {head!r}")
    recognizer = model_cfg["type"]
    kwargs: Dict[str, Any] = dict(
        backbone=_strip_pretrained(copy.deepcopy(model_cfg["backbone"])),
        neck=copy.deepcopy(model_cfg.get("neck")),
        cls_head=head,
        recognizer=recognizer,
        train_cfg=copy.deepcopy(model_cfg.get("train_cfg")),
    )
    test_cfg = model_cfg.get("test_cfg") or {}
    unknown = sorted(set(test_cfg) - set(TEST_CFG_FIELDS))
    if unknown:
        raise ConfigError(f"mmaction2 test_cfg has unknown key(s) {unknown}; videohub knows {sorted(TEST_CFG_FIELDS)}")
    for key, field_name in TEST_CFG_FIELDS.items():
        if key in test_cfg:
            kwargs[field_name] = test_cfg[key]
    if "average_clips" not in test_cfg:
        if recognizer != "SkeletonGCN":  # SkeletonGCN tests one clip and never averages
            logger.warning("mmaction2 test_cfg has no average_clips (mmaction2 would refuse to test); using 'score'")
        kwargs["average_clips"] = "score"
    num_frames = num_frames_from_pipeline(recognizer, test_pipeline)
    if num_frames is not None:
        kwargs["num_frames"] = num_frames
    if id2label is not None:
        labels = _normalize_id2label(id2label, int(head["num_classes"]))
        kwargs["id2label"] = labels
        kwargs["label2id"] = {v: k for k, v in labels.items()}

    from ..auto import AutoVideoConfig

    return AutoVideoConfig.for_model_type(f"videohub-{arch}", **kwargs)


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
    import numpy as np

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


def build_model(config, state_dict: Mapping[str, torch.Tensor], source: str = "checkpoint"):
    """Build the videohub model of ``config`` and load the mmaction2 ``state_dict`` into it, strictly.

    The random initialization is skipped: the strict load overwrites every parameter and buffer.
    ``source`` names the checkpoint in error messages (default ``"checkpoint"``). Returns the model
    in eval mode.
    """
    from ..auto import AutoVideoModel
    from .state_dict import skip_init

    with skip_init():
        model = AutoVideoModel.from_config(config)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    converted = convert_state_dict(state_dict, config, expected=expected, source=source)
    model.load_state_dict(converted, strict=True)
    return model.eval()


def init_recognizer(config: Union[str, Mapping[str, Any]], checkpoint: Optional[str] = None, device: str = "cpu"):
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
        from ..auto import AutoVideoModel

        return AutoVideoModel.from_config(vh_config).eval().to(device)
    ckpt = read_checkpoint(checkpoint)
    return build_model(vh_config, ckpt.state_dict, source=ckpt.path).to(device)


# ---------------------------------------------------------------------------------------------
# the conversion command
# ---------------------------------------------------------------------------------------------


def download_checkpoint(url: str, cache_dir: str) -> str:
    """Download ``url`` into ``cache_dir`` once and return the local path.

    OpenMMLab names published checkpoints ``<name>-<first 8 hex digits of sha256>.pth``; that
    prefix is checked (a mismatch raises :class:`CheckpointError` and keeps nothing).
    """
    import re

    os.makedirs(cache_dir, exist_ok=True)
    filename = os.path.basename(url)
    target = os.path.join(cache_dir, filename)
    if not os.path.isfile(target):
        match = re.search(r"-([a-f0-9]{8,})\.pth$", filename)
        logger.warning("downloading %s", url)
        try:
            torch.hub.download_url_to_file(url, target, hash_prefix=match.group(1) if match else None)
        except RuntimeError as exc:  # torch.hub's sha256 prefix check
            raise CheckpointError(f"{url}: {exc}") from None
    return target


def convert(
    output: str,
    checkpoint: Optional[str] = None,
    config: Optional[str] = None,
    preset: Optional[str] = None,
    label_map: Optional[str] = None,
    push_to_hub: Optional[str] = None,
    cache_dir: Optional[str] = None,
):
    """Convert an mmaction2 checkpoint into a Hugging Face folder.

    Writes ``model.safetensors``, ``config.json``, ``preprocessor_config.json`` (from the test
    pipeline; models fed audio features or optical flow have none) and ``README.md`` (the model
    card) into ``output``.

    Args:
        output: Output folder.
        checkpoint: mmaction2 ``.pth``. Default ``None``: with ``preset``, the published checkpoint is
            downloaded (its sha256 prefix is checked).
        config: mmaction2 config file. Default ``None``: the preset's config, else the config text
            mmcv stored in the checkpoint's ``meta``.
        preset: A preset name (see :mod:`videohub.conversion.presets`). Default ``None``.
        label_map: Class-name file, one per line. Default ``None``.
        push_to_hub: Hub repo id to upload the folder to. Default ``None``.
        cache_dir: Download folder for preset checkpoints. Default ``~/.cache/videohub/mmaction2``.

    Returns:
        The converted model (in eval mode).
    """
    from ..localization.conversion import LOCALIZER_TYPES, localizer_from_mmaction2
    from . import cards, presets

    entry = presets.get_preset(preset) if preset else None
    if checkpoint is None:
        if entry is None:
            raise ConfigError("--checkpoint is required unless --preset names a published checkpoint")
        cache_dir = cache_dir or os.path.join(os.path.expanduser("~"), ".cache", "videohub", "mmaction2")
        checkpoint = download_checkpoint(entry["checkpoint_url"], cache_dir)
    ckpt = read_checkpoint(checkpoint)

    if config is not None:
        cfg = load_config(config)
        model_cfg, test_pipeline = _split_model_cfg(cfg)
    elif entry is not None:
        model_cfg, test_pipeline = entry["model"], entry["test_pipeline"]
    elif isinstance(ckpt.meta.get("config"), str):
        cfg = load_config_text(ckpt.meta["config"], filename=f"{ckpt.path}[meta.config]")
        model_cfg, test_pipeline = _split_model_cfg(cfg)
    else:
        raise ConfigError(f"{ckpt.path}: no --config or --preset given and the checkpoint's meta holds no config text")

    id2label = read_label_map(label_map) if label_map else None
    if model_cfg.get("type") in LOCALIZER_TYPES:  # localizers: feature sequences in, no video processor
        model = localizer_from_mmaction2(model_cfg, ckpt.state_dict, source=ckpt.path)
        vh_config, test_pipeline = model.config, None
    else:
        vh_config = config_from_mmaction2(model_cfg, test_pipeline, id2label)
        model = build_model(vh_config, ckpt.state_dict, source=ckpt.path)

    os.makedirs(output, exist_ok=True)
    model.save_pretrained(output)
    if test_pipeline and model_cfg.get("type") == "FastRCNN":
        logger.info("an AVA detector takes key-frame clips and person boxes (SampleAVAFrames): no video processor "
                    "is written; see docs/detection.md for its pipeline")
    elif test_pipeline:
        from ..processing import VideoProcessor

        if takes_rgb_video(model_cfg):
            VideoProcessor.from_mmaction2_pipeline(test_pipeline).save_pretrained(output)
        else:
            logger.warning("the model does not take RGB frames (audio features or optical flow): "
                           "no video processor is written")

    repo_id = push_to_hub or (cards.repo_id_for(entry) if entry else os.path.basename(os.path.abspath(output)))
    if entry is not None:
        card = cards.preset_card(entry, repo_id=repo_id, sha256=ckpt.sha256)
    else:
        card = cards.conversion_card(vh_config, repo_id=repo_id, source=ckpt.path, sha256=ckpt.sha256)
    card.save(os.path.join(output, "README.md"))

    if push_to_hub:
        from huggingface_hub import create_repo, upload_folder

        create_repo(push_to_hub, exist_ok=True)
        upload_folder(repo_id=push_to_hub, folder_path=output,
                      commit_message=f"Convert mmaction2 checkpoint {os.path.basename(ckpt.path)}")
    return model


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of the converter."""
    parser = argparse.ArgumentParser(
        prog="convert_mmaction2_checkpoint",
        description="Convert an mmaction2 v0.x recognizer checkpoint into a videohub (Hugging Face) model folder.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", help="mmaction2 config file (.py); read without executing it")
    source.add_argument("--preset", help="name of a published mmaction2 checkpoint (see --list-presets)")
    parser.add_argument("--checkpoint", help="mmaction2 .pth file (default with --preset: download the published one)")
    parser.add_argument("--output", help="output folder")
    parser.add_argument("--push-to-hub", metavar="ORG/NAME", help="upload the folder to this Hub repo")
    parser.add_argument("--label-map", metavar="LABELS.TXT", help="class names, one per line")
    parser.add_argument("--cache-dir", help="download folder for preset checkpoints")
    parser.add_argument("--list-presets", action="store_true", help="print the preset names and exit")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the converter with command-line arguments ``argv`` (default ``sys.argv[1:]``)."""
    args = build_parser().parse_args(argv)
    if args.list_presets:
        from .presets import list_presets

        for entry in list_presets():
            print(f"{entry['name']}\t{entry['arch']}\t{entry['dataset']}")
        return 0
    if not args.output:
        build_parser().error("--output is required")
    convert(
        output=args.output,
        checkpoint=args.checkpoint,
        config=args.config,
        preset=args.preset,
        label_map=args.label_map,
        push_to_hub=args.push_to_hub,
        cache_dir=args.cache_dir,
    )
    print(f"wrote {args.output}")
    return 0

"""Strict mapping of mmaction2 state-dict keys onto videohub modules.

videohub keeps mmaction2's submodule names, so the map of a task is a short prefix table, chosen
by the task base of the config (:func:`key_table_for`):

* recognizers (:class:`~videohub.RecognizerConfig`): ``backbone.*`` becomes ``model.backbone.*``,
  ``neck.*`` becomes ``model.neck.*`` and ``cls_head.*`` stays ``cls_head.*``;
* localizers (:class:`~videohub.LocalizerConfig`): the mmaction2 localizer is the model's
  ``localizer`` submodule, so every key gains the ``localizer.`` prefix;
* detectors (:class:`~videohub.DetectorConfig`): ``backbone.*`` and ``roi_head.*`` are kept, as in
  mmdet's ``FastRCNN``.

A bare mmaction2 part (a head, a backbone) loads with :data:`PART_TABLE`, which keeps every key.

The map is strict. :func:`rename_state_dict` raises :class:`~videohub.errors.CheckpointError`,
listing the keys, when

* a checkpoint key matches no prefix of the table (and no ``ignore`` pattern),
* a mapped key does not exist in the videohub model (unexpected) or a model key has no source
  (missing), or
* a tensor's shape differs from the model's.

BatchNorm ``num_batches_tracked`` buffers are handled explicitly: videohub's norm layers have them,
so a checkpoint's counters are kept as they are; a checkpoint saved without them (older PyTorch) gets
a zero counter, which has no effect on inference with ``momentum`` set, and the count of filled
buffers is logged.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from ..auto import AutoVideoModel
from ..configuration_utils import DetectorConfig, LocalizerConfig, RecognizerConfig, VideoConfig
from ..errors import CheckpointError
from ..utils import logging

logger = logging.get_logger(__name__)

NUM_BATCHES_TRACKED = "num_batches_tracked"
_MAX_LISTED = 25


@dataclass(frozen=True)
class KeyTable:
    """How one model family's mmaction2 keys map onto videohub keys.

    Args:
        name: Family name used in messages (e.g. ``"recognizer"``).
        prefixes: ``(mmaction2_prefix, videohub_prefix)`` pairs; the first matching prefix is used.
        ignore: Regular expressions of mmaction2 keys that are deliberately not loaded (for example
            buffers that videohub recomputes). Default ``()``.
    """

    name: str
    prefixes: Tuple[Tuple[str, str], ...]
    ignore: Tuple[str, ...] = field(default=())

    def to_videohub(self, key: str) -> Optional[str]:
        """The videohub key of mmaction2 ``key``, or ``None`` if no prefix matches."""
        for src, dst in self.prefixes:
            if key.startswith(src):
                return dst + key[len(src):]
        return None

    def to_mmaction2(self, key: str) -> Optional[str]:
        """The mmaction2 key of videohub ``key`` (the inverse map), or ``None``."""
        for src, dst in self.prefixes:
            if key.startswith(dst):
                return src + key[len(dst):]
        return None

    def ignored(self, key: str) -> bool:
        return any(re.search(pattern, key) for pattern in self.ignore)


RECOGNIZER_TABLE = KeyTable(
    name="recognizer",
    prefixes=(("backbone.", "model.backbone."), ("neck.", "model.neck."), ("cls_head.", "cls_head.")),
)
LOCALIZER_TABLE = KeyTable(name="localizer", prefixes=(("", "localizer."),))
DETECTOR_TABLE = KeyTable(name="detector", prefixes=(("backbone.", "backbone."), ("roi_head.", "roi_head.")))
PART_TABLE = KeyTable(name="part", prefixes=(("", ""),))

# task base of a config -> the key table of its models (a new task adds one row).
TASK_TABLES: Tuple[Tuple[type, KeyTable], ...] = (
    (RecognizerConfig, RECOGNIZER_TABLE),
    (LocalizerConfig, LOCALIZER_TABLE),
    (DetectorConfig, DETECTOR_TABLE),
)


def key_table_for(config: VideoConfig) -> KeyTable:
    """The key table of a videohub config, chosen by its task base class."""
    for base, table in TASK_TABLES:
        if isinstance(config, base):
            return table
    raise CheckpointError(
        f"no state-dict key table for {type(config).__name__} (model type {getattr(config, 'model_type', None)!r}); "
        f"known task bases: {[base.__name__ for base, _ in TASK_TABLES]}"
    )


def _listing(keys: Sequence[str]) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:_MAX_LISTED])
    more = f" ... and {len(keys) - _MAX_LISTED} more" if len(keys) > _MAX_LISTED else ""
    return f"{len(keys)} key(s): {shown}{more}"


@contextlib.contextmanager
def skip_init():
    """Make the ``torch.nn.init`` functions no-ops (only shapes are wanted, not values)."""
    names = [n for n in dir(nn.init) if n.endswith("_") and not n.startswith("_")]
    saved = {n: getattr(nn.init, n) for n in names}
    try:
        for name in names:
            setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for name, fn in saved.items():
            setattr(nn.init, name, fn)


def model_state_shapes(config: VideoConfig) -> Dict[str, torch.Size]:
    """Shapes of the state dict of the videohub model ``config`` describes.

    The model is built on the ``meta`` device with the ``torch.nn.init`` functions disabled, so it
    costs neither memory nor initialization time; should a layer not support that, it is built
    normally on the CPU instead.
    """
    try:
        with torch.device("meta"), skip_init():
            model = AutoVideoModel.from_config(config)
    except (NotImplementedError, RuntimeError, TypeError, ValueError):
        model = AutoVideoModel.from_config(config)
    return {k: v.shape for k, v in model.state_dict().items()}


def rename_state_dict(
    mm_state_dict: Mapping[str, torch.Tensor],
    table: KeyTable,
    expected: Mapping[str, Sequence[int]],
    source: str = "checkpoint",
    target: str = "the videohub model",
) -> Dict[str, torch.Tensor]:
    """Rename an mmaction2 state dict through ``table``, strictly.

    Args:
        mm_state_dict: The mmaction2 ``state_dict``.
        table: The key table.
        expected: ``{videohub key: shape}`` of the target module.
        source: Name of the checkpoint, used in messages. Default ``"checkpoint"``.
        target: Name of the target module, used in messages. Default ``"the videohub model"``.

    Returns:
        The state dict with videohub keys in the order of ``expected``, ready for
        ``load_state_dict(..., strict=True)``.

    Raises:
        CheckpointError: leftover, missing or unexpected keys, or shape mismatches (all listed).
    """
    converted: Dict[str, torch.Tensor] = {}
    leftover: List[str] = []
    for key, value in mm_state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{source}: entry {key!r} is a {type(value).__name__}, expected a tensor")
        new_key = table.to_videohub(key)
        if new_key is None:
            if not table.ignored(key):
                leftover.append(key)
            continue
        converted[new_key] = value

    problems: List[str] = []
    if leftover:
        prefixes = [src for src, _ in table.prefixes]
        problems.append(f"keys outside the {table.name} prefixes {prefixes}: {_listing(leftover)}")

    unexpected = [k for k in converted if k not in expected]
    if unexpected:
        problems.append(
            "keys the videohub model does not have (mmaction2 names shown): "
            + _listing([table.to_mmaction2(k) or k for k in unexpected])
        )

    filled: List[str] = []
    missing: List[str] = []
    for key in expected:
        if key in converted:
            continue
        if key.rsplit(".", 1)[-1] == NUM_BATCHES_TRACKED:
            converted[key] = torch.zeros((), dtype=torch.long)
            filled.append(key)
        else:
            missing.append(key)
    if missing:
        problems.append(
            "keys of the videohub model missing from the checkpoint (mmaction2 names shown): "
            + _listing([table.to_mmaction2(k) or k for k in missing])
        )

    mismatched = [
        f"{table.to_mmaction2(k) or k}: checkpoint {tuple(v.shape)} vs model {tuple(expected[k])}"
        for k, v in converted.items()
        if k in expected and tuple(v.shape) != tuple(expected[k])
    ]
    if mismatched:
        shown = "; ".join(mismatched[:_MAX_LISTED])
        more = f" ... and {len(mismatched) - _MAX_LISTED} more" if len(mismatched) > _MAX_LISTED else ""
        problems.append(f"{len(mismatched)} shape mismatch(es): {shown}{more}")

    if problems:
        raise CheckpointError(f"{source} does not match {target}: " + " | ".join(problems))
    if filled:
        logger.info("%s: %d BatchNorm num_batches_tracked buffer(s) absent, set to 0", source, len(filled))
    return {k: converted[k] for k in expected}


def convert_state_dict(
    mm_state_dict: Mapping[str, torch.Tensor],
    config: VideoConfig,
    expected: Optional[Mapping[str, Sequence[int]]] = None,
    source: str = "checkpoint",
) -> Dict[str, torch.Tensor]:
    """Rename an mmaction2 state dict to the keys of the videohub model of ``config``, strictly.

    Args:
        mm_state_dict: The mmaction2 ``state_dict`` (``backbone.*``, ``neck.*``, ``cls_head.*``, ...).
        config: The videohub config the weights are for (its task selects the key table).
        expected: ``{videohub key: shape}`` of the target model. Default ``None``: computed from
            ``config`` with :func:`model_state_shapes`.
        source: Name of the checkpoint, used in messages. Default ``"checkpoint"``.

    Returns:
        The state dict with videohub keys, ready for ``model.load_state_dict(..., strict=True)``.

    Raises:
        CheckpointError: leftover, missing or unexpected keys, or shape mismatches (all listed).
    """
    table = key_table_for(config)
    if expected is None:
        expected = model_state_shapes(config)
    return rename_state_dict(mm_state_dict, table, expected, source, f"{type(config).__name__} ({config.model_type})")


def load_part_weights(module: nn.Module, mm_state_dict: Mapping[str, torch.Tensor],
                      source: str = "checkpoint") -> nn.Module:
    """Load the state dict of a bare mmaction2 part (head, backbone, localizer module) into ``module``.

    videohub's parts keep mmaction2's names, so the keys are used as they are (:data:`PART_TABLE`),
    strictly. ``source`` names the weights in messages (default ``"checkpoint"``). Returns ``module``
    in eval mode.
    """
    expected = {k: v.shape for k, v in module.state_dict().items()}
    module.load_state_dict(rename_state_dict(mm_state_dict, PART_TABLE, expected, source, type(module).__name__),
                           strict=True)
    return module.eval()


def mmaction2_keys(videohub_keys: Iterable[str], config: VideoConfig) -> List[str]:
    """The mmaction2 names of videohub state-dict keys (inverse of the key table)."""
    table = key_table_for(config)
    out = []
    for key in videohub_keys:
        mm = table.to_mmaction2(key)
        if mm is None:
            raise CheckpointError(f"videohub key {key!r} has no mmaction2 name in the {table.name} table")
        out.append(mm)
    return out

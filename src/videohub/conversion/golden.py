"""Reading mmaction2 parity golden files (the format of ``shared/parity/README.md``).

A golden file is a ``torch.load(weights_only=True)`` dict whose large state-dict tensors may be
stored as regeneration recipes: ``np.random.RandomState(seed).uniform(low, high, shape)`` with a
sha256 of the float32 bytes, which is checked.

:func:`golden_model` builds the converted videohub model of a golden file; inside
:func:`pretrained_round_trip` it also goes through the Hub round trip (``save_pretrained`` and
``AutoVideoModel.from_pretrained``), so the checks see the model a user downloads.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import tempfile
from typing import Any, Dict, Iterator, Mapping

import numpy as np
import torch

from ..auto import AutoVideoModel
from ..configuration_utils import VideoConfig
from ..errors import CheckpointError
from ..modeling_utils import VideoPreTrainedModel
from .mmaction2 import build_model

DEFAULT_GOLDEN_DIR = os.path.join("..", "shared", "parity", "golden")
_ROUND_TRIP: contextvars.ContextVar[bool] = contextvars.ContextVar("videohub_golden_round_trip", default=False)


def golden_dir() -> str:
    """The golden directory: ``$VIDEOHUB_GOLDEN_DIR``, default ``../shared/parity/golden``."""
    return os.environ.get("VIDEOHUB_GOLDEN_DIR", DEFAULT_GOLDEN_DIR)


def golden_zoo_dir() -> str:
    """The golden files of the rest of the 0.24.1 zoo (README §3b): ``$VIDEOHUB_GOLDEN_ZOO_DIR``,
    default the ``golden_zoo`` folder next to :func:`golden_dir`."""
    default = os.path.join(os.path.dirname(os.path.normpath(golden_dir())), "golden_zoo")
    return os.environ.get("VIDEOHUB_GOLDEN_ZOO_DIR", default)


def _regenerate(recipe: Dict[str, Any], key: str) -> torch.Tensor:
    rng = np.random.RandomState(recipe["seed"])
    array = rng.uniform(recipe["low"], recipe["high"], size=recipe["shape"]).astype(np.float32)
    digest = hashlib.sha256(array.tobytes()).hexdigest()
    if recipe.get("sha256") and digest != recipe["sha256"]:
        raise CheckpointError(f"regenerated tensor {key!r} has sha256 {digest}, expected {recipe['sha256']}")
    return torch.from_numpy(array)


def materialize_state_dict(state_dict: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    """Replace every ``{"__regen__": ...}`` entry by the tensor it describes."""
    return {
        key: _regenerate(value, key) if isinstance(value, dict) and "__regen__" in value else value
        for key, value in state_dict.items()
    }


def load_golden(path: str) -> Dict[str, Any]:
    """Load a golden model file with its state dict materialized."""
    data = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(data, dict) and "state_dict" in data:
        data["state_dict"] = materialize_state_dict(data["state_dict"])
    return data


@contextlib.contextmanager
def pretrained_round_trip(enabled: bool = True) -> Iterator[None]:
    """Within the block, :func:`golden_model` returns models reloaded from ``save_pretrained``.

    Args:
        enabled: Whether to go through the round trip. Default ``True``.
    """
    token = _ROUND_TRIP.set(enabled)
    try:
        yield
    finally:
        _ROUND_TRIP.reset(token)


def golden_model(config: VideoConfig, state_dict: Mapping[str, torch.Tensor],
                 source: str = "golden file") -> VideoPreTrainedModel:
    """The videohub model of ``config`` with the mmaction2 ``state_dict`` converted into it, in eval mode.

    Inside :func:`pretrained_round_trip` the converted model is saved with ``save_pretrained`` and the
    model returned is the one ``AutoVideoModel.from_pretrained`` reads back. ``source`` names the
    weights in error messages (default ``"golden file"``).
    """
    model = build_model(config, state_dict, source)
    if not _ROUND_TRIP.get():
        return model
    with tempfile.TemporaryDirectory(prefix="videohub-golden-") as directory:
        model.save_pretrained(directory)
        return AutoVideoModel.from_pretrained(directory).eval()

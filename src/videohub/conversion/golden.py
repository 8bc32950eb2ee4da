"""Reading mmaction2 parity golden files (the format of ``shared/parity/README.md``).

A golden file is a ``torch.load(weights_only=True)`` dict whose large state-dict tensors may be
stored as regeneration recipes: ``np.random.RandomState(seed).uniform(low, high, shape)`` with a
sha256 of the float32 bytes, which is checked.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Dict

import numpy as np
import torch

from ..errors import CheckpointError

DEFAULT_GOLDEN_DIR = os.path.join("..", "shared", "parity", "golden")


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

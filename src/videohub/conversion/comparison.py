"""Comparison of videohub outputs with reference values, leaf by leaf.

:func:`compare` walks nested dicts, lists and tuples; numeric leaves pass when
``|a - b| <= RTOL * max|ref| + ATOL`` holds for every element (NaN must match NaN), other leaves
must be equal. The result is a :class:`Comparison`: the worst error and every mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

import numpy as np
import torch

RTOL = 1e-4
ATOL = 1e-5


@dataclass
class Comparison:
    """Worst error over the compared values of one check.

    Attributes:
        max_abs: Largest ``|a - b|``.
        max_ref: Largest ``|ref|`` of the leaf where ``max_abs`` occurred (for the relative error).
        failures: Human-readable descriptions of every mismatch.
    """

    max_abs: float = 0.0
    max_ref: float = 0.0
    failures: List[str] = field(default_factory=list)

    @property
    def rel(self) -> float:
        return self.max_abs / self.max_ref if self.max_ref > 0 else self.max_abs

    @property
    def ok(self) -> bool:
        return not self.failures

    def merge(self, other: "Comparison") -> None:
        if other.rel > self.rel or (self.max_abs == 0 and other.max_abs > 0):
            self.max_abs, self.max_ref = other.max_abs, other.max_ref
        self.failures.extend(other.failures)


def _to_numpy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def _numeric(value: Any) -> Optional[np.ndarray]:
    """``value`` as a numeric array, or ``None`` if it is not a (rectangular) numeric value."""
    value = _to_numpy(value)
    if isinstance(value, (str, bytes, dict)) or value is None:
        return None
    if isinstance(value, (list, tuple)) and any(isinstance(v, (torch.Tensor, np.ndarray)) for v in value):
        return None
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        return None
    if array.dtype.kind not in "biuf":
        return None
    return array


def compare(ref: Any, out: Any, path: str = "output", uint8_atol: float = 0.0) -> Comparison:
    """Compare a reference value with videohub's, recursively through dicts, lists and tuples.

    Args:
        ref: The reference value.
        out: videohub's value.
        path: Name of the value in messages. Default ``"output"``.
        uint8_atol: Extra absolute tolerance for uint8 arrays (interpolated images). Default 0.
    """
    result = Comparison()
    ref_arr, out_arr = _numeric(ref), _numeric(out)
    if ref_arr is not None:
        if out_arr is None:
            result.failures.append(f"{path}: expected a numeric value, got {type(out).__name__}")
            return result
        if ref_arr.shape != out_arr.shape:
            result.failures.append(f"{path}: shape {tuple(out_arr.shape)}, expected {tuple(ref_arr.shape)}")
            return result
        if ref_arr.dtype.kind == "b" or out_arr.dtype.kind == "b":
            ref_arr, out_arr = ref_arr.astype(np.float64), out_arr.astype(np.float64)
        a, b = ref_arr.astype(np.float64), out_arr.astype(np.float64)
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        if (nan_a != nan_b).any():
            result.failures.append(f"{path}: NaN at different positions")
            return result
        finite = ~nan_a
        if not finite.any():
            return result
        diff = np.abs(a[finite] - b[finite])
        max_ref = float(np.abs(a[finite]).max())
        max_abs = float(diff.max()) if diff.size else 0.0
        result.max_abs, result.max_ref = max_abs, max_ref
        atol = ATOL + (uint8_atol if ref_arr.dtype == np.uint8 else 0.0)
        if max_abs > RTOL * max_ref + atol:
            result.failures.append(f"{path}: max |a-b| = {max_abs:.3e} > {RTOL:g} * {max_ref:.3e} + {atol:g}")
        return result
    ref, out = _to_numpy(ref), _to_numpy(out)
    if isinstance(ref, dict):
        if not isinstance(out, dict):
            result.failures.append(f"{path}: expected a dict, got {type(out).__name__}")
            return result
        missing = [k for k in ref if k not in out]
        if missing:
            result.failures.append(f"{path}: missing keys {missing}")
        for key in ref:
            if key in out:
                result.merge(compare(ref[key], out[key], f"{path}[{key!r}]", uint8_atol))
        return result
    if isinstance(ref, (list, tuple)):
        if not isinstance(out, (list, tuple, np.ndarray)) or len(out) != len(ref):
            got = len(out) if hasattr(out, "__len__") else type(out).__name__
            result.failures.append(f"{path}: expected {len(ref)} items, got {got}")
            return result
        for i, (r, o) in enumerate(zip(ref, out)):
            result.merge(compare(r, o, f"{path}[{i}]", uint8_atol))
        return result
    if ref != out:
        result.failures.append(f"{path}: {out!r} != expected {ref!r}")
    return result

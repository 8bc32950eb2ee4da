"""Input checks shared by the metric functions: every failure names the argument, its shape or dtype
and what was expected."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import ShapeError, VideohubError


class MetricInputTypeError(VideohubError, TypeError):
    """A metric input has the wrong Python type or numpy dtype (also a ``TypeError``, as in mmaction2)."""


def as_score_matrix(scores: Any, name: str = "scores") -> np.ndarray:
    """``scores`` (list of 1-D arrays or a 2-D array) as a 2-D numpy array ``[num_samples, num_classes]``."""
    try:
        array = np.asarray(scores)
    except ValueError as err:  # ragged rows
        raise ShapeError(f"{name}: rows have different lengths ({err}); expected [num_samples, num_classes]") from err
    if array.dtype == object:
        raise ShapeError(f"{name}: rows have different lengths; expected [num_samples, num_classes]")
    if array.ndim != 2:
        raise ShapeError(f"{name} has shape {array.shape}; expected [num_samples, num_classes]")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise MetricInputTypeError(f"{name} has dtype {array.dtype}; expected numbers")
    return array


def as_label_vector(labels: Any, name: str = "labels") -> np.ndarray:
    """``labels`` (list or array of integers) as a 1-D int64 array; floats, bools and strings are refused."""
    if isinstance(labels, np.ndarray):
        array = labels
    elif isinstance(labels, (list, tuple)):
        array = np.asarray(labels) if len(labels) else np.zeros(0, dtype=np.int64)
    else:
        raise MetricInputTypeError(f"{name} must be a list or np.ndarray, but got {type(labels).__name__}")
    if array.dtype == object or not np.issubdtype(array.dtype, np.integer):
        raise MetricInputTypeError(f"{name} must hold integer class indices, but has dtype {array.dtype}")
    if array.ndim != 1:
        raise ShapeError(f"{name} has shape {array.shape}; expected a 1-D sequence of class indices")
    if array.size and array.min() < 0:
        bad = int(np.flatnonzero(array < 0)[0])
        raise ShapeError(f"{name}[{bad}] = {int(array[bad])}; class indices must be >= 0")
    return array.astype(np.int64, copy=False)


def check_same_length(a: Sequence, b: Sequence, name_a: str, name_b: str) -> None:
    """Raise ``ShapeError`` unless ``len(a) == len(b)``."""
    if len(a) != len(b):
        raise ShapeError(f"{name_a} has {len(a)} entries but {name_b} has {len(b)}; they must match")


def as_segments(segments: Any, name: str, allow_1d: bool = False) -> np.ndarray:
    """Temporal segments as an array ``[n, >=2]`` (or ``[2]`` when ``allow_1d``) keeping its dtype."""
    array = np.asarray(segments)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise MetricInputTypeError(f"{name} has dtype {array.dtype}; expected numeric [init, end] segments")
    if allow_1d and array.ndim == 1:
        if array.shape[0] < 2:
            raise ShapeError(f"{name} has shape {array.shape}; expected [init, end]")
        return array
    if array.ndim != 2 or array.shape[1] < 2:
        expected = "[init, end] or [m, 2]" if allow_1d else "[n, 2]"
        raise ShapeError(f"{name} has shape {array.shape}; expected {expected}")
    return array

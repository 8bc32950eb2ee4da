"""Recognition metrics of ``mmaction.core.evaluation.accuracy`` (mmaction2 v0.24 semantics), vectorized.

Inputs follow mmaction2: ``scores`` is a list of per-sample score arrays (or a ``[N, C]`` array),
``labels`` a list of class indices (or of many-hot vectors for the multi-label metrics).
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import ConfigError, ShapeError
from ._validation import MetricInputTypeError, as_label_vector, as_score_matrix, check_same_length

__all__ = [
    "binary_precision_recall_curve",
    "confusion_matrix",
    "get_weighted_score",
    "mean_average_precision",
    "mean_class_accuracy",
    "mmit_mean_average_precision",
    "softmax",
    "top_k_accuracy",
    "top_k_classes",
]

_NORMALIZE_OPTIONS = ("true", "pred", "all", None)
# Rows processed at once by the row-wise kernels (bounds the temporary [rows, classes] arrays).
_CHUNK_ROWS = 16384
# Rows per block in top-k: small enough for the score block to stay in cache between its two passes.
_TOPK_ROWS = 1024
# Largest (max label + 1) ** 2 counted densely by the confusion matrix before switching to np.unique.
_DENSE_CELLS = 1 << 24


def _count_matrix(pred: np.ndarray, real: np.ndarray) -> np.ndarray:
    """``[L, L]`` counts of (real, pred) pairs over the ``L`` labels present, in sorted label order."""
    size = int(max(pred.max(), real.max())) + 1
    if size * size <= _DENSE_CELLS:
        full = np.bincount(real * size + pred, minlength=size * size).reshape(size, size)
        present = np.flatnonzero(np.bincount(pred, minlength=size) + np.bincount(real, minlength=size))
        return full if present.size == size else full[np.ix_(present, present)]
    uniques, inverse = np.unique(np.concatenate((pred, real)), return_inverse=True)
    inverse = inverse.reshape(-1)
    num_labels = uniques.size
    counts = np.bincount(inverse[pred.size:] * num_labels + inverse[: pred.size], minlength=num_labels * num_labels)
    return counts.reshape(num_labels, num_labels)


def confusion_matrix(y_pred: Union[Sequence[int], np.ndarray], y_real: Union[Sequence[int], np.ndarray],
                     normalize: Optional[str] = None) -> np.ndarray:
    """Confusion matrix over the labels that occur in ``y_pred`` or ``y_real`` (rows: true, columns: predicted).

    Args:
        y_pred: Predicted class indices (list or integer array).
        y_real: Ground-truth class indices (list or integer array).
        normalize: ``"true"`` (rows sum to 1), ``"pred"`` (columns), ``"all"`` or ``None`` (counts).
            Default ``None``. Empty rows/columns give 0 instead of NaN.

    Returns:
        ``[L, L]`` int64 counts (float64 when normalized), ``L`` = number of distinct labels seen.
        mmaction2 requires int64 inputs; any integer dtype is accepted here.
    """
    pred = as_label_vector(y_pred, "y_pred")
    real = as_label_vector(y_real, "y_real")
    check_same_length(pred, real, "y_pred", "y_real")
    if pred.size == 0:
        raise ShapeError("y_pred and y_real are empty; a confusion matrix needs at least one sample")
    matrix = _count_matrix(pred, real)
    return normalize_matrix(matrix, normalize)


def normalize_matrix(matrix: np.ndarray, normalize: Optional[str]) -> np.ndarray:
    """Divide a confusion matrix by its row sums (``"true"``), column sums (``"pred"``) or total
    (``"all"``); ``None`` returns it unchanged. Empty rows/columns give 0."""
    if normalize not in _NORMALIZE_OPTIONS:
        raise ConfigError(f"normalize must be one of {{'true', 'pred', 'all', None}}, got {normalize!r}")
    if normalize is None:
        return matrix
    with np.errstate(all="ignore"):
        if normalize == "true":
            matrix = matrix / matrix.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            matrix = matrix / matrix.sum(axis=0, keepdims=True)
        else:
            matrix = matrix / matrix.sum()
    return np.nan_to_num(matrix)


def _class_hit_ratio(scores: Any, labels: Any) -> np.ndarray:
    """Per-class recall over the compacted label set of ``argmax(scores)`` and ``labels``."""
    score_matrix = as_score_matrix(scores)
    label_vector = as_label_vector(labels)
    check_same_length(score_matrix, label_vector, "scores", "labels")
    matrix = confusion_matrix(np.argmax(score_matrix, axis=1), label_vector).astype(float)
    counts = matrix.sum(axis=1)
    hits = np.diag(matrix)
    return np.divide(hits, counts, out=np.zeros_like(hits), where=counts > 0)


def mean_class_accuracy(scores: Any, labels: Any) -> np.float64:
    """Mean over classes of per-class accuracy.

    Args:
        scores: Per-sample class scores, list of ``[C]`` arrays or ``[N, C]``.
        labels: Ground-truth class index of each sample.

    Returns:
        The mean, as ``np.float64``. As in mmaction2 the classes are those seen in the labels or the
        predictions; a predicted class without samples counts with accuracy 0.
    """
    return np.mean(_class_hit_ratio(scores, labels))


def top_k_classes(scores: Any, labels: Any, k: int = 10, mode: str = "accurate") -> List[Tuple[np.int64, np.float64]]:
    """The ``k`` most (``mode="accurate"``) or least (``"inaccurate"``) accurate classes.

    Args:
        scores: Per-sample class scores, list of ``[C]`` arrays or ``[N, C]``.
        labels: Ground-truth class index of each sample.
        k: Number of classes returned. Default 10.
        mode: ``"accurate"`` (highest accuracy first) or ``"inaccurate"`` (lowest first). Default ``"accurate"``.

    Returns:
        ``[(index, accuracy), ...]``; like mmaction2 the index is the position in the sorted set of
        labels seen in predictions and ground truth.
    """
    if mode not in ("accurate", "inaccurate"):
        raise ConfigError(f"mode must be 'accurate' or 'inaccurate', got {mode!r}")
    hit_ratio = _class_hit_ratio(scores, labels)
    order = np.argsort(hit_ratio)
    chosen = order[-k:][::-1] if mode == "accurate" else order[:k]
    return list(zip(chosen, hit_ratio[chosen]))


def _normalize_topk(topk: Union[int, Sequence[int]]) -> Tuple[int, ...]:
    if isinstance(topk, (int, np.integer)):
        topk = (int(topk),)
    if not isinstance(topk, (tuple, list)) or not all(isinstance(k, (int, np.integer)) for k in topk):
        raise MetricInputTypeError(f"topk must be int or tuple of int, but got {topk!r}")
    for k in topk:
        if k < 1:
            raise ConfigError(f"topk values must be >= 1, got {k}")
    return tuple(int(k) for k in topk)


def _top_k_hits(scores: np.ndarray, labels: np.ndarray, topk: Tuple[int, ...]) -> np.ndarray:
    """``hits[i, n]``: label ``n`` is among the ``topk[i]`` last entries of ``np.argsort(scores[n])``.

    The label is in the top k when fewer than k scores sort after it (NaN sorts last) and its whole
    tie group fits; only rows where a tie group straddles the cut, or whose labelled score is NaN,
    are argsorted, exactly as mmaction2 does.
    """
    num_samples, num_classes = scores.shape
    count_dtype = np.uint16 if num_classes < (1 << 16) else np.int64
    hits = np.zeros((len(topk), num_samples), dtype=bool)
    floating = np.issubdtype(scores.dtype, np.floating)
    for start in range(0, num_samples, _TOPK_ROWS):
        block = scores[start:start + _TOPK_ROWS]
        block_labels = labels[start:start + _TOPK_ROWS]
        target = block[np.arange(block.shape[0]), block_labels][:, None]
        not_after = np.add.reduce((block <= target).view(np.uint8), axis=1, dtype=count_dtype)
        ties = np.add.reduce((block == target).view(np.uint8), axis=1, dtype=count_dtype)
        after = num_classes - not_after.astype(np.int64)
        nan_target = np.isnan(target[:, 0]) if floating else np.zeros(block.shape[0], dtype=bool)
        for i, k in enumerate(topk):
            surely_in = after + ties <= k
            unsure = ~(surely_in | (after >= k)) | nan_target
            row_hits = surely_in & ~nan_target
            if unsure.any():
                ranked = np.argsort(block[unsure], axis=1)[:, -k:]
                row_hits[unsure] = (ranked == block_labels[unsure, None]).any(axis=1)
            hits[i, start:start + block.shape[0]] = row_hits
    return hits


def top_k_accuracy(scores: Any, labels: Any, topk: Union[int, Sequence[int]] = (1,)) -> List[np.float64]:
    """Top-k accuracy for each k.

    Args:
        scores: Per-sample class scores, list of ``[C]`` arrays or ``[N, C]``.
        labels: Ground-truth class index of each sample.
        topk: The k values, default ``(1,)``. An int is taken as ``(k,)``.

    Returns:
        One ``np.float64`` per k. Ties are broken as mmaction2's ``np.argsort(scores, axis=1)[:, -k:]``.
    """
    ks = _normalize_topk(topk)
    score_matrix = as_score_matrix(scores)
    label_vector = as_label_vector(labels)
    check_same_length(score_matrix, label_vector, "scores", "labels")
    if score_matrix.shape[0] == 0:
        raise ShapeError("scores is empty; top_k_accuracy needs at least one sample")
    if label_vector.max() >= score_matrix.shape[1]:
        bad = int(np.argmax(label_vector))
        raise ShapeError(f"labels[{bad}] = {int(label_vector[bad])} but scores have only "
                         f"{score_matrix.shape[1]} classes")
    hits = _top_k_hits(score_matrix, label_vector, ks)
    return [np.float64(row.sum() / row.size) for row in hits]


def binary_precision_recall_curve(y_score: np.ndarray, y_true: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision/recall at each distinct score threshold, highest threshold last (sklearn-style curve).

    Args:
        y_score: ``[n]`` scores.
        y_true: ``[n]`` many-hot truth (``1`` marks a positive).

    Returns:
        ``(precision, recall, thresholds)``; the curve stops at full recall and ends with
        precision 1 / recall 0 (recall is NaN when there is no positive, as in mmaction2).
    """
    if not isinstance(y_score, np.ndarray) or not isinstance(y_true, np.ndarray):
        raise MetricInputTypeError(f"y_score and y_true must be np.ndarray, got {type(y_score).__name__} "
                                   f"and {type(y_true).__name__}")
    if y_score.shape != y_true.shape or y_score.ndim != 1 or y_score.size == 0:
        raise ShapeError(f"y_score {y_score.shape} and y_true {y_true.shape} must be the same non-empty 1-D shape")
    order = np.argsort(y_score, kind="mergesort")[::-1]
    sorted_scores = y_score[order]
    positives = (y_true == 1)[order]
    threshold_idx = np.append(np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1)
    tps = np.cumsum(positives)[threshold_idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = tps / (threshold_idx + 1)
        recall = tps / tps[-1]
    precision[np.isnan(precision)] = 0
    last = tps.searchsorted(tps[-1])
    reverse = slice(last, None, -1)
    return (np.concatenate((precision[reverse], [1])), np.concatenate((recall[reverse], [0])),
            sorted_scores[threshold_idx][reverse])


def _average_precision_rows(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """AP of every row (``-sum(diff(recall) * precision[:-1])`` of its binary PR curve), vectorized.

    Each positive contributes the precision at the end of its tie group of scores, over the number
    of positives; a row without positives gives NaN.
    """
    out = np.empty(scores.shape[0], dtype=np.float64)
    width = scores.shape[1]
    positions = np.arange(width)
    for start in range(0, scores.shape[0], _CHUNK_ROWS):
        block = scores[start:start + _CHUNK_ROWS]
        order = np.argsort(block, axis=1, kind="mergesort")[:, ::-1]
        sorted_scores = np.take_along_axis(block, order, axis=1)
        positives = np.take_along_axis(truth[start:start + _CHUNK_ROWS] == 1, order, axis=1)
        tps = np.cumsum(positives, axis=1)
        group_end = np.full(sorted_scores.shape, width - 1)
        group_end[:, :-1] = np.where(np.diff(sorted_scores, axis=1) != 0, positions[:-1], width)
        group_end = np.minimum.accumulate(group_end[:, ::-1], axis=1)[:, ::-1]
        precision = np.take_along_axis(tps, group_end, axis=1) / (group_end + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[start:start + block.shape[0]] = (positives * precision).sum(axis=1) / tps[:, -1]
    return out


def _multilabel_inputs(scores: Any, labels: Any) -> Tuple[np.ndarray, np.ndarray]:
    score_matrix = as_score_matrix(scores)
    label_matrix = as_score_matrix(labels, "labels")
    if score_matrix.shape != label_matrix.shape:
        raise ShapeError(f"scores {score_matrix.shape} and many-hot labels {label_matrix.shape} must have the "
                         "same shape")
    if score_matrix.size == 0:
        raise ShapeError("scores is empty; average precision needs at least one sample and one class")
    return score_matrix, label_matrix


def mmit_mean_average_precision(scores: Any, labels: Any) -> np.float64:
    """MMIT-style mAP: average precision of each sample over its classes, averaged over samples.

    Args:
        scores: Per-sample class scores, list of ``[C]`` arrays or ``[N, C]``.
        labels: Per-sample many-hot ground truth, list of ``[C]`` arrays or ``[N, C]``.

    Returns:
        ``np.float64``; NaN when a sample has no positive label (as in mmaction2).
    """
    score_matrix, label_matrix = _multilabel_inputs(scores, labels)
    return np.mean(_average_precision_rows(score_matrix, label_matrix))


def mean_average_precision(scores: Any, labels: Any) -> Union[np.float64, float]:
    """Mean over classes of the average precision of each class (classes without positives skipped).

    Args:
        scores: Per-sample class scores, list of ``[C]`` arrays or ``[N, C]``.
        labels: Per-sample many-hot ground truth, list of ``[C]`` arrays or ``[N, C]``.

    Returns:
        ``np.float64``; ``np.nan`` when no class has a positive sample.
    """
    score_matrix, label_matrix = _multilabel_inputs(scores, labels)
    per_class = _average_precision_rows(np.ascontiguousarray(score_matrix.T), np.ascontiguousarray(label_matrix.T))
    per_class = per_class[~np.isnan(per_class)]
    if per_class.size == 0:
        return np.nan
    return np.mean(per_class)


def softmax(x: np.ndarray, dim: int = 1) -> np.ndarray:
    """Numerically stable softmax of ``x`` along ``dim`` (default 1)."""
    shifted = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return shifted / shifted.sum(axis=dim, keepdims=True)


def get_weighted_score(score_list: Sequence[Any], coeff_list: Sequence[float]) -> List[np.ndarray]:
    """``sum_i coeff_list[i] * score_list[i]``, returned as a list of per-sample arrays.

    Args:
        score_list: ``n`` score sets, each ``num_samples x num_classes`` (lists of arrays or arrays).
        coeff_list: ``n`` coefficients.
    """
    check_same_length(score_list, coeff_list, "score_list", "coeff_list")
    if not len(score_list):
        raise ShapeError("score_list is empty; expected at least one set of scores")
    matrices = [as_score_matrix(scores, f"score_list[{i}]") for i, scores in enumerate(score_list)]
    for i, matrix in enumerate(matrices):
        if matrix.shape != matrices[0].shape:
            raise ShapeError(f"score_list[{i}] has shape {matrix.shape} but score_list[0] has {matrices[0].shape}")
    stacked = np.stack(matrices)
    weighted = np.tensordot(np.asarray(coeff_list), stacked, axes=1)
    return list(weighted)

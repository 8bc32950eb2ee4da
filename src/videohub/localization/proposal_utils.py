"""Temporal overlap scores and proposal suppression of ``mmaction.localization`` (mmaction2 v0.24)."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple, Union

import numpy as np

from ..errors import ConfigError, ShapeError

__all__ = ["soft_nms", "temporal_iop", "temporal_iou", "temporal_nms"]

Number = Union[float, np.ndarray]


def _array_if_sequence(value: Any) -> Any:
    """Lists become arrays; scalars stay scalars so numpy's scalar promotion matches mmaction2's."""
    return np.asarray(value) if isinstance(value, (list, tuple)) else value


def _intersection(proposal_min: Any, proposal_max: Any, gt_min: Any, gt_max: Any) -> Any:
    overlap = np.minimum(proposal_max, gt_max) - np.maximum(proposal_min, gt_min)
    return np.maximum(overlap, 0.0)


def temporal_iou(proposal_min: Number, proposal_max: Number, gt_min: Number, gt_max: Number) -> Number:
    """IoU of proposals ``[proposal_min, proposal_max]`` with a ground truth ``[gt_min, gt_max]``.

    Every argument may be a scalar, list or array (broadcast together).
    """
    proposal_min, proposal_max, gt_min, gt_max = map(_array_if_sequence, (proposal_min, proposal_max, gt_min, gt_max))
    intersection = _intersection(proposal_min, proposal_max, gt_min, gt_max)
    union = (proposal_max - proposal_min) - intersection + gt_max - gt_min
    return np.divide(intersection, union)


def temporal_iop(proposal_min: Number, proposal_max: Number, gt_min: Number, gt_max: Number) -> Number:
    """Intersection with ``[gt_min, gt_max]`` over the proposal length (IoP)."""
    proposal_min, proposal_max, gt_min, gt_max = map(_array_if_sequence, (proposal_min, proposal_max, gt_min, gt_max))
    lengths = np.array(proposal_max - proposal_min)
    return np.divide(_intersection(proposal_min, proposal_max, gt_min, gt_max), lengths)


def _check_rows(proposals: Any, name: str, min_columns: int) -> np.ndarray:
    array = np.asarray(proposals)
    if array.ndim != 2 or array.shape[1] < min_columns:
        raise ShapeError(f"{name} has shape {array.shape}; expected [num_proposals, >={min_columns}]")
    return array


def soft_nms(proposals: np.ndarray, alpha: float, low_threshold: float, high_threshold: float,
             top_k: int) -> np.ndarray:
    """Gaussian soft-NMS of temporal proposals.

    The highest-scored proposal is kept and the scores of the others that overlap it by more than
    ``low_threshold + (high_threshold - low_threshold) * width`` are multiplied by
    ``exp(-iou**2 / alpha)``; repeated while proposals remain and at most ``top_k`` were kept
    (so up to ``top_k + 1`` rows, as in mmaction2).

    Args:
        proposals: ``[N, >=3]`` rows ``(t_start, t_end, ..., score)`` (score in the last column).
        alpha: Gaussian decay parameter.
        low_threshold: IoU threshold for a zero-length kept proposal.
        high_threshold: IoU threshold for a unit-length kept proposal.
        top_k: Number of proposals kept (plus one).

    Returns:
        ``[K, 3]`` rows ``(t_start, t_end, decayed score)`` in the order they were kept.
    """
    proposals = _check_rows(proposals, "proposals", 3)
    ranked = proposals[proposals[:, -1].argsort()[::-1]]
    starts, ends = ranked[:, 0], ranked[:, 1]
    scores = ranked[:, -1].copy()
    alive = np.ones(ranked.shape[0], dtype=bool)
    kept, kept_scores = [], []
    while alive.any() and len(kept) <= top_k:
        candidates = np.flatnonzero(alive)
        best = candidates[np.argmax(scores[candidates])]
        width = ends[best] - starts[best]
        iou = temporal_iou(starts[best], ends[best], starts[candidates], ends[candidates])
        decayed = (iou > low_threshold + (high_threshold - low_threshold) * width) & (candidates != best)
        targets = candidates[decayed]
        scores[targets] = scores[targets] * np.exp(-np.square(iou[decayed]) / alpha)
        kept.append(best)
        kept_scores.append(scores[best])
        alive[best] = False
    if not kept:
        return np.zeros((0, 3))
    return np.stack((starts[kept], ends[kept], np.asarray(kept_scores)), axis=1)


def temporal_nms(detections: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS: keep the best-scored detection, drop those with IoU > ``threshold`` with it, repeat.

    Args:
        detections: ``[N, >=3]`` rows ``(t_start, t_end, score, ...)``.
        threshold: IoU above which a detection is suppressed.

    Returns:
        The kept rows, by decreasing score.
    """
    detections = _check_rows(detections, "detections", 3)
    starts, ends = detections[:, 0], detections[:, 1]
    remaining = detections[:, 2].argsort()[::-1]
    keep = []
    while remaining.size:
        best, rest = remaining[0], remaining[1:]
        keep.append(best)
        overlaps = temporal_iou(starts[rest], ends[rest], starts[best], ends[best])
        remaining = rest[overlaps <= threshold]
    return detections[keep, :]


def temporal_anchors(temporal_dim: int, tmin_offset: float = 0.0, tmax_offset: float = 1.0) -> Tuple[List[float], List[float]]:
    """Anchor starts ``(i + tmin_offset) / T`` and ends ``(i + tmax_offset) / T`` (defaults 0 and 1)."""
    gap = 1.0 / temporal_dim
    return ([gap * (i + tmin_offset) for i in range(temporal_dim)],
            [gap * (i + tmax_offset) for i in range(temporal_dim)])


def post_processing(result: np.ndarray, video_info: Mapping[str, Any], soft_nms_alpha: float,
                    soft_nms_low_threshold: float, soft_nms_high_threshold: float, post_process_top_k: int,
                    feature_extraction_interval: int) -> List[Dict[str, Any]]:
    """Soft-NMS the proposals ``[n, k]`` (tmin, tmax, ..., score) and scale them to seconds.

    The video length used is ``duration_frame // feature_extraction_interval *
    feature_extraction_interval / duration_frame * duration_second``; at most ``post_process_top_k``
    ``{'score', 'segment': [t0, t1]}`` dicts are returned, best first.
    """
    for key in ("duration_frame", "duration_second"):
        if key not in video_info:
            raise ConfigError(f"post_processing: video_meta lacks {key!r} (have {sorted(video_info)})")
    if len(result) > 1:
        result = soft_nms(result, soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold,
                          post_process_top_k)
    result = result[result[:, -1].argsort()[::-1]]
    frames = video_info["duration_frame"]
    video_duration = float(frames // feature_extraction_interval * feature_extraction_interval) / frames \
        * video_info["duration_second"]
    proposals = []
    for j in range(min(post_process_top_k, len(result))):
        proposals.append(dict(score=float(result[j, -1]),
                              segment=[max(0, result[j, 0]) * video_duration,
                                       min(1, result[j, 1]) * video_duration]))
    return proposals

"""Temporal localization metrics of mmaction2 v0.24 (``mmaction.core.evaluation``), vectorized.

- ``pairwise_temporal_iou``: IoU (and overlap over the candidate length) of segment sets.
- ``average_recall_at_avg_proposals``: the ActivityNet proposal metric (AR@AN curve and its AUC).
- ``average_precision_at_temporal_iou`` / ``compute_average_precision_detection``: detection AP with
  greedy matching in decreasing score order (Pascal VOC style, interpolated AP).
- ``ActivityNetLocalization``: per-class detection mAP of an ActivityNet prediction JSON.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Hashable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import AnnotationError, ConfigError, ShapeError
from ..utils.logging import get_logger
from ._validation import as_segments

__all__ = [
    "ActivityNetLocalization",
    "average_precision_at_temporal_iou",
    "average_recall_at_avg_proposals",
    "compute_average_precision_detection",
    "interpolated_precision_recall",
    "pairwise_temporal_iou",
]

logger = get_logger(__name__)

DEFAULT_TIOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
# Upper bound on the elements of one padded [videos, gts, proposals] IoU block in AR@AN.
_ARAN_BLOCK_ELEMENTS = 1 << 22


def _segment_overlaps(candidates: np.ndarray, targets: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Intersections ``[n, m]`` and unions of ``targets [n, 2]`` with ``candidates [m, 2]``.

    The arithmetic is mmaction2's element for element (same operand order and dtypes), so the
    float32 IoUs derived from it equal the reference bit for bit.
    """
    start = np.maximum(candidates[None, :, 0], targets[:, None, 0])
    end = np.minimum(candidates[None, :, 1], targets[:, None, 1])
    intersection = (end - start).clip(0)
    union = ((targets[:, None, 1] - targets[:, None, 0]) + (candidates[None, :, 1] - candidates[None, :, 0])
             - intersection)
    return intersection, union


def pairwise_temporal_iou(candidate_segments: np.ndarray, target_segments: np.ndarray,
                          calculate_overlap_self: bool = False
                          ) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """IoU between candidate and target segments.

    Args:
        candidate_segments: ``[init, end]`` or ``[m, 2]``.
        target_segments: ``[n, 2]``.
        calculate_overlap_self: Also return intersection / candidate length. Default False.

    Returns:
        float32 IoU ``[n, m]`` (``[n]`` for a single candidate); with ``calculate_overlap_self``
        the tuple ``(iou, overlap_self)``.
    """
    candidates = as_segments(candidate_segments, "candidate_segments", allow_1d=True)
    targets = as_segments(target_segments, "target_segments")
    single = candidates.ndim == 1
    if single:
        candidates = candidates[None, :]
    intersection, union = _segment_overlaps(candidates, targets)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_iou = (intersection.astype(float) / union).astype(np.float32)
        if calculate_overlap_self:
            length = candidates[:, 1] - candidates[:, 0]
            overlap_self = (intersection.astype(float) / length[None, :]).astype(np.float32)
    if single:
        t_iou = t_iou[:, 0]
    if not calculate_overlap_self:
        return t_iou
    return t_iou, overlap_self[:, 0] if single else overlap_self


def _sorted_video_proposals(video_id: Hashable, video_proposals: Any) -> np.ndarray:
    """Proposal segments of a video as float32 ``[P, 2]`` in mmaction2's decreasing-score order."""
    array = np.asarray(video_proposals)
    if array.size == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if array.ndim != 2 or array.shape[1] < 3:
        raise ShapeError(f"proposals[{video_id!r}] has shape {array.shape}; expected [num_proposals, 3] "
                         "rows of (t_start, t_end, score)")
    order = array[:, 2].argsort()[::-1]
    return array[:, :2][order, :].astype(np.float32)


def _video_ground_truth(video_id: Hashable, segments: Any) -> np.ndarray:
    array = np.asarray(segments)
    if array.size == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if array.ndim != 2 or array.shape[1] < 2:
        raise ShapeError(f"ground_truth[{video_id!r}] has shape {array.shape}; expected [num_instances, >=2]")
    return array[:, :2].astype(np.float32)


def _best_iou_within(ground_truths: List[np.ndarray], proposals: List[np.ndarray],
                     retrieved: np.ndarray) -> np.ndarray:
    """For each ground-truth instance, the best IoU among the first ``retrieved[v, j]`` proposals.

    Videos are padded (NaN) into ``[videos, gts, proposals]`` blocks; NaN never reaches a threshold.
    Returns ``[total_gts, num_steps]`` float32, NaN where no proposal is retrieved.
    """
    num_steps = retrieved.shape[1]
    rows = []
    max_gts = max((len(g) for g in ground_truths), default=0)
    max_props = max((len(p) for p in proposals), default=0)
    if max_gts == 0:
        return np.zeros((0, num_steps), dtype=np.float32)
    max_props = max(max_props, 1)
    per_block = max(1, _ARAN_BLOCK_ELEMENTS // (max_gts * max_props))
    for first in range(0, len(ground_truths), per_block):
        videos = range(first, min(first + per_block, len(ground_truths)))
        gts = np.full((len(videos), max_gts, 2), np.nan, dtype=np.float32)
        props = np.full((len(videos), max_props, 2), np.nan, dtype=np.float32)
        for row, v in enumerate(videos):
            gts[row, : len(ground_truths[v])] = ground_truths[v]
            props[row, : len(proposals[v])] = proposals[v]
        start = np.maximum(props[:, None, :, 0], gts[:, :, None, 0])
        end = np.minimum(props[:, None, :, 1], gts[:, :, None, 1])
        intersection = (end - start).clip(0)
        union = (gts[:, :, None, 1] - gts[:, :, None, 0]) + (props[:, None, :, 1] - props[:, None, :, 0]) - intersection
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = (intersection.astype(float) / union).astype(np.float32)
        running_best = np.fmax.accumulate(iou, axis=2)
        counts = retrieved[first:first + len(videos)]
        best = np.take_along_axis(running_best, np.maximum(counts - 1, 0)[:, None, :], axis=2)
        best[np.broadcast_to((counts == 0)[:, None, :], best.shape)] = np.nan
        for row, v in enumerate(videos):
            rows.append(best[row, : len(ground_truths[v])])
    return np.concatenate(rows, axis=0)


def average_recall_at_avg_proposals(ground_truth: Mapping[Hashable, Any], proposals: Mapping[Hashable, Any],
                                    total_num_proposals: int, max_avg_proposals: Optional[float] = None,
                                    temporal_iou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS
                                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Average recall at an average number of proposals per video (AR@AN) and the AUC of that curve.

    Args:
        ground_truth: ``{video_id: [num_instances, >=2] (t_start, t_end, ...)}``.
        proposals: ``{video_id: [num_proposals, 3] (t_start, t_end, score)}``; every ground-truth video
            needs an entry.
        total_num_proposals: Number of proposals in ``proposals``.
        max_avg_proposals: Largest average number of proposals per video. Default ``None``:
            ``total_num_proposals / num_videos``.
        temporal_iou_thresholds: tIoU thresholds. Default ``np.linspace(0.5, 0.95, 10)``.

    Returns:
        ``(recall [num_thresholds, 100], average_recall [100], proposals_per_video [100], auc)``;
        column ``j`` uses the best-scored ``(j + 1)`` % of the retrieved proposals of each video.
    """
    thresholds = np.asarray(temporal_iou_thresholds, dtype=float).reshape(-1)
    num_videos = len(ground_truth)
    if num_videos == 0:
        raise ShapeError("ground_truth is empty; AR@AN needs at least one video")
    if not max_avg_proposals:
        max_avg_proposals = float(total_num_proposals) / num_videos
    ratio = max_avg_proposals * float(num_videos) / total_num_proposals

    video_gts: List[np.ndarray] = []
    video_props: List[np.ndarray] = []
    num_columns = np.zeros(num_videos, dtype=np.int64)
    total_retrieved = 0
    for v, video_id in enumerate(ground_truth):
        if video_id not in proposals:
            raise AnnotationError(f"proposals has no entry for video {video_id!r} of ground_truth")
        gts = _video_ground_truth(video_id, ground_truth[video_id])
        ranked = _sorted_video_proposals(video_id, proposals[video_id])
        if ranked.shape[0] == 0:
            # mmaction2 scores such a video with one IoU-0 column.
            ranked = np.zeros((1, 2), dtype=np.float32)
            keep = 1
        else:
            keep = min(int(ranked.shape[0] * ratio), ranked.shape[0])
            total_retrieved += keep
        video_gts.append(gts)
        video_props.append(ranked[:keep])
        num_columns[v] = keep
    if total_retrieved == 0:
        raise ShapeError("no proposal is retrieved for any video (all proposal lists are empty "
                         "or max_avg_proposals is too small)")

    pcn_list = np.arange(1, 101) / 100.0 * (max_avg_proposals * float(num_videos) / total_retrieved)
    retrieved = np.minimum((num_columns[:, None] * pcn_list[None, :]).astype(int), num_columns[:, None])
    best = _best_iou_within(video_gts, video_props, retrieved)
    positives = float(sum(len(g) for g in video_gts))
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.stack([np.count_nonzero(best >= t, axis=0) for t in thresholds]) / positives
    avg_recall = recall.mean(axis=0)
    proposals_per_video = pcn_list * (float(total_retrieved) / num_videos)
    area_under_curve = np.trapezoid(avg_recall, proposals_per_video)
    auc = 100.0 * float(area_under_curve) / proposals_per_video[-1]
    return recall, avg_recall, proposals_per_video, auc


def interpolated_precision_recall(precision: np.ndarray, recall: np.ndarray) -> np.float64:
    """Interpolated AP (VOCdevkit 2011): area under the monotone envelope of the PR curve.

    Args:
        precision: Precision at each rank.
        recall: Recall at each rank.
    """
    precision = np.asarray(precision)
    recall = np.asarray(recall)
    if precision.shape != recall.shape or precision.ndim != 1:
        raise ShapeError(f"precision {precision.shape} and recall {recall.shape} must be 1-D of the same length")
    envelope = np.concatenate(([0.0], precision, [0.0]))
    envelope = np.maximum.accumulate(envelope[::-1])[::-1]
    steps = np.concatenate(([0.0], recall, [1.0]))
    changed = np.flatnonzero(steps[1:] != steps[:-1]) + 1
    return np.sum((steps[changed] - steps[changed - 1]) * envelope[changed])


def _greedy_temporal_matching(video_ids: Sequence[Hashable], segments: np.ndarray, order: np.ndarray,
                              ground_truth: Mapping[Hashable, np.ndarray], thresholds: np.ndarray
                              ) -> Tuple[np.ndarray, np.ndarray]:
    """True/false positives ``[num_thresholds, N]`` of predictions visited in ``order``.

    A prediction takes, per threshold, the unclaimed ground truth of its video with the highest IoU,
    looking at the instances by decreasing IoU until one falls below the threshold (mmaction2's
    order, ties included); otherwise it is a false positive. IoUs of a video are computed at once.
    """
    num_thresholds = thresholds.shape[0]
    tp = np.zeros((num_thresholds, order.size), dtype=bool)
    by_video: Dict[Hashable, List[int]] = {}
    for rank, idx in enumerate(order):
        by_video.setdefault(video_ids[idx], []).append(rank)
    for video_id, ranks in by_video.items():
        gts = ground_truth.get(video_id)
        if gts is None or len(gts) == 0:
            continue
        ranks_array = np.asarray(ranks)
        iou = pairwise_temporal_iou(segments[order[ranks_array]], gts).T  # [predictions, gts]
        ranked_gts = np.argsort(iou, axis=1)[:, ::-1]
        ranked_iou = np.take_along_axis(iou, ranked_gts, axis=1)
        claimed = np.zeros((num_thresholds, gts.shape[0]), dtype=bool)
        threshold_rows = np.arange(num_thresholds)
        for row, rank in enumerate(ranks):
            open_ = ~np.logical_or.accumulate(ranked_iou[row][None, :] < thresholds[:, None], axis=1)
            free = open_ & ~claimed[:, ranked_gts[row]]
            hit = free.any(axis=1)
            if hit.any():
                chosen = ranked_gts[row][free.argmax(axis=1)]
                claimed[threshold_rows[hit], chosen[hit]] = True
                tp[hit, rank] = True
    return tp, ~tp


def _prediction_columns(prediction: Sequence[Sequence[Any]]) -> Tuple[List[Hashable], np.ndarray, np.ndarray]:
    rows = np.empty((len(prediction), 5), dtype=object)
    for i, row in enumerate(prediction):
        if len(row) < 5:
            raise ShapeError(f"prediction[{i}] has {len(row)} fields; expected (video_id, class_id, t_start, "
                             "t_end, score)")
        rows[i] = list(row[:5])
    try:
        segments = rows[:, 2:4].astype(float)
        scores = rows[:, 4].astype(float)
    except (TypeError, ValueError) as err:
        raise ShapeError(f"prediction has a non-numeric t_start, t_end or score ({err})") from err
    return list(rows[:, 0]), segments, scores


def average_precision_at_temporal_iou(ground_truth: Mapping[Hashable, Any], prediction: Sequence[Sequence[Any]],
                                      temporal_iou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS
                                      ) -> np.ndarray:
    """Detection AP at each tIoU threshold (predictions of all classes pooled, as in mmaction2).

    Args:
        ground_truth: ``{video_id: [[t_start, t_end], ...]}``.
        prediction: Rows ``(video_id, class_id, t_start, t_end, score)``; a prediction in a video
            without ground truth is a false positive.
        temporal_iou_thresholds: tIoU thresholds. Default ``np.linspace(0.5, 0.95, 10)``.

    Returns:
        float32 AP per threshold (zeros when there is no prediction).
    """
    thresholds = np.asarray(temporal_iou_thresholds, dtype=float).reshape(-1)
    ap = np.zeros(thresholds.shape[0], dtype=np.float32)
    if len(prediction) < 1:
        return ap
    gt_segments = {key: np.atleast_2d(np.asarray(value, dtype=float))[:, :2] if len(value) else np.zeros((0, 2))
                   for key, value in ground_truth.items()}
    num_gts = float(sum(len(value) for value in gt_segments.values()))
    video_ids, segments, scores = _prediction_columns(prediction)
    order = np.argsort(scores)[::-1]
    tp, fp = _greedy_temporal_matching(video_ids, segments, order, gt_segments, thresholds)
    tp_cumsum = np.cumsum(tp, axis=1).astype(np.float32)
    fp_cumsum = np.cumsum(fp, axis=1).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp_cumsum / num_gts
        precision = tp_cumsum / (tp_cumsum + fp_cumsum)
    for t in range(thresholds.shape[0]):
        ap[t] = interpolated_precision_recall(precision[t], recall[t])
    return ap


def compute_average_precision_detection(ground_truth: Sequence[Mapping[str, Any]],
                                        prediction: Sequence[Mapping[str, Any]],
                                        tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS) -> np.ndarray:
    """ActivityNet detection AP of one class at each tIoU threshold.

    Args:
        ground_truth: Dicts with ``'video-id'``, ``'t-start'``, ``'t-end'``.
        prediction: Dicts with ``'video-id'``, ``'t-start'``, ``'t-end'``, ``'score'``; visited by
            decreasing score (stable for ties).
        tiou_thresholds: tIoU thresholds. Default ``np.linspace(0.5, 0.95, 10)``.

    Returns:
        float64 AP per threshold (zeros when there is no prediction).
    """
    thresholds = np.asarray(tiou_thresholds, dtype=float).reshape(-1)
    ap = np.zeros(thresholds.shape[0])
    if len(prediction) == 0:
        return ap
    gt_by_video: Dict[Hashable, List[List[float]]] = {}
    for item in ground_truth:
        gt_by_video.setdefault(item["video-id"], []).append([item["t-start"], item["t-end"]])
    gt_segments = {key: np.asarray(value, dtype=float) for key, value in gt_by_video.items()}
    scores = np.asarray([item["score"] for item in prediction], dtype=float)
    segments = np.asarray([[item["t-start"], item["t-end"]] for item in prediction], dtype=float)
    order = np.argsort(-scores, kind="stable")
    tp, fp = _greedy_temporal_matching([item["video-id"] for item in prediction], segments, order,
                                       gt_segments, thresholds)
    tp_cumsum = np.cumsum(tp, axis=1).astype(np.float64)
    fp_cumsum = np.cumsum(fp, axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp_cumsum / float(len(ground_truth))
        precision = tp_cumsum / (tp_cumsum + fp_cumsum)
    for t in range(thresholds.shape[0]):
        ap[t] = interpolated_precision_recall(precision[t], recall[t])
    return ap


def average_precision_per_class(ground_truth: Sequence[Mapping[str, Any]], prediction: Sequence[Mapping[str, Any]],
                                num_classes: int,
                                tiou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS) -> np.ndarray:
    """``[num_thresholds, num_classes]`` AP of items carrying an integer ``'label'`` in ``0..num_classes-1``.

    Args:
        ground_truth: Dicts with ``'video-id'``, ``'t-start'``, ``'t-end'``, ``'label'``.
        prediction: Dicts with the same keys plus ``'score'``.
        num_classes: Number of classes.
        tiou_thresholds: tIoU thresholds. Default ``np.linspace(0.5, 0.95, 10)``.
    """
    thresholds = np.asarray(tiou_thresholds, dtype=float).reshape(-1)
    gt_by_label: List[List[Mapping[str, Any]]] = [[] for _ in range(num_classes)]
    pred_by_label: List[List[Mapping[str, Any]]] = [[] for _ in range(num_classes)]
    for item in ground_truth:
        gt_by_label[item["label"]].append(item)
    for item in prediction:
        pred_by_label[item["label"]].append(item)
    ap = np.zeros((thresholds.shape[0], num_classes))
    for label in range(num_classes):
        ap[:, label] = compute_average_precision_detection(gt_by_label[label], pred_by_label[label], thresholds)
    return ap


def _load_json(path: str, what: str) -> Any:
    with open(path, "r", encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            raise AnnotationError(f"{what} {path!r} is not valid JSON: line {err.lineno}: {err.msg}") from err


class ActivityNetLocalization:
    """Evaluate ActivityNet detection results (interpolated mAP per tIoU and its average).

    Args:
        ground_truth_filename: ActivityNet annotation JSON ``{"v_<id>": {"annotations": [{"segment":
            [s, e], "label": name}, ...]}, ...}``. Default ``None`` (required).
        prediction_filename: Result JSON ``{"results": {"<id>": [{"label", "segment", "score"}, ...]}}``
            (video ids without the ``v_`` prefix). Default ``None`` (required).
        tiou_thresholds: tIoU thresholds. Default ``np.linspace(0.5, 0.95, 10)``.
        verbose: Log the number of instances. Default False.
    """

    def __init__(self, ground_truth_filename: Optional[str] = None, prediction_filename: Optional[str] = None,
                 tiou_thresholds: np.ndarray = DEFAULT_TIOU_THRESHOLDS, verbose: bool = False):
        if not ground_truth_filename:
            raise ConfigError("Please input a valid ground truth file (ground_truth_filename is empty).")
        if not prediction_filename:
            raise ConfigError("Please input a valid prediction file (prediction_filename is empty).")
        self.ground_truth_filename = ground_truth_filename
        self.prediction_filename = prediction_filename
        self.tiou_thresholds = tiou_thresholds
        self.verbose = verbose
        self.ap: Optional[np.ndarray] = None
        self.ground_truth, self.activity_index = self._import_ground_truth(ground_truth_filename)
        self.prediction = self._import_prediction(prediction_filename)
        if self.verbose:
            logger.info("[INIT] Loaded ground_truth from %s, prediction from %s.\nNumber of ground truth "
                        "instances: %d\nNumber of predictions: %d\nFixed threshold for tiou score: %s",
                        ground_truth_filename, prediction_filename, len(self.ground_truth),
                        len(self.prediction), self.tiou_thresholds)

    @staticmethod
    def _import_ground_truth(ground_truth_filename: str) -> Tuple[List[Dict[str, Any]], Dict[str, int]]:
        """Ground-truth instances (video ids without their 2-character prefix) and ``{label name: index}``
        in order of first appearance."""
        data = _load_json(ground_truth_filename, "ground truth file")
        activity_index: Dict[str, int] = {}
        ground_truth = []
        for video_id, video_info in data.items():
            try:
                annotations = video_info["annotations"]
                for anno in annotations:
                    label = activity_index.setdefault(anno["label"], len(activity_index))
                    ground_truth.append({"video-id": video_id[2:], "t-start": float(anno["segment"][0]),
                                         "t-end": float(anno["segment"][1]), "label": label})
            except (KeyError, IndexError, TypeError) as err:
                raise AnnotationError(f"{ground_truth_filename!r}: video {video_id!r} has a malformed annotation "
                                      f"({err!r}); expected annotations: [{{'segment': [s, e], 'label': name}}]"
                                      ) from err
        return ground_truth, activity_index

    def _import_prediction(self, prediction_filename: str) -> List[Dict[str, Any]]:
        """Prediction instances with labels mapped through ``activity_index``."""
        data = _load_json(prediction_filename, "prediction file")
        if "results" not in data:
            raise AnnotationError(f"{prediction_filename!r} has no 'results' key")
        prediction = []
        for video_id, video_info in data["results"].items():
            for result in video_info:
                try:
                    label = self.activity_index[result["label"]]
                except KeyError as err:
                    raise AnnotationError(f"{prediction_filename!r}: video {video_id!r} predicts label {err} "
                                          "which is not a ground-truth class") from err
                prediction.append({"video-id": video_id, "label": label, "t-start": float(result["segment"][0]),
                                   "t-end": float(result["segment"][1]), "score": result["score"]})
        return prediction

    def wrapper_compute_average_precision(self) -> np.ndarray:
        """AP ``[num_thresholds, num_classes]``."""
        return average_precision_per_class(self.ground_truth, self.prediction, len(self.activity_index),
                                           self.tiou_thresholds)

    def evaluate(self) -> Tuple[np.ndarray, np.float64]:
        """Return ``(mAP per threshold, average mAP)`` (also stored as ``self.mAP``, ``self.average_mAP``)."""
        self.ap = self.wrapper_compute_average_precision()
        self.mAP = self.ap.mean(axis=1)
        self.average_mAP = self.mAP.mean()
        return self.mAP, self.average_mAP

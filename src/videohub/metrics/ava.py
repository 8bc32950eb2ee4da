"""AVA spatio-temporal action detection: frame-level mAP at IoU 0.5 (the official AVA protocol).

Every (video, second) key frame is an image. Detections of each class are matched to the person
boxes of that class in Pascal VOC fashion: visited by decreasing score inside an image, a detection
is a true positive when its best-overlapping ground-truth box has IoU >= 0.5 and was not claimed
before; otherwise it is a false positive. The per-class AP is the VOC area under the monotone PR
envelope; the mAP averages the classes that have ground truth. Timestamps of the exclusion file are
dropped from both sides.

Inputs use the AVA CSV format (``video_id, timestamp, x1, y1, x2, y2, action_id[, score or
person_id]``, coordinates normalized) and the label map ``.pbtxt`` (``name:`` / ``id:`` or
``label_id:`` lines), like mmaction2's ``ava_eval``. The matching is vectorized over all images.
"""

from __future__ import annotations

import csv
import heapq
import io
import os
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple, Union

import numpy as np

from ..errors import AnnotationError, ConfigError, ShapeError
from ..utils.logging import get_logger
from .localization import interpolated_precision_recall

__all__ = [
    "ava_eval",
    "det2csv",
    "frame_map",
    "frame_map_of_rows",
    "make_image_key",
    "read_csv",
    "read_exclusions",
    "read_labelmap",
    "results2csv",
]

logger = get_logger(__name__)

PathOrFile = Union[str, os.PathLike, io.IOBase, Iterable]
BoxTable = Dict[str, List[List[float]]]


def make_image_key(video_id: str, timestamp: Union[str, int]) -> str:
    """The key ``'<video_id>,<timestamp:04d>'`` of a key frame."""
    return "%s,%04d" % (video_id, int(timestamp))


@contextmanager
def _rows(source: PathOrFile) -> Iterator[Tuple[str, Iterator[Tuple[int, Sequence[Any]]]]]:
    """``(name, iterator of (line number, fields))`` of a CSV path, text file object or list of rows."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "r", encoding="utf-8", newline="") as f:
            yield str(source), enumerate(csv.reader(f), start=1)
    elif hasattr(source, "read"):
        yield getattr(source, "name", "<file>"), enumerate(csv.reader(source), start=1)
    else:
        yield "<rows>", enumerate(source, start=1)


def read_csv(csv_file: PathOrFile, class_whitelist: Optional[Iterable[int]] = None,
             capacity: int = 0) -> Tuple[BoxTable, Dict[str, List[int]], Dict[str, List[float]]]:
    """Load AVA boxes grouped by key frame, each frame's boxes by decreasing score.

    Args:
        csv_file: Path, open text file or iterable of rows ``video_id, timestamp, x1, y1, x2, y2,
            action_id[, score]`` (an 8th column is read as the score; ground-truth files hold the
            person id there, which only orders the boxes).
        class_whitelist: Action ids to keep; ``None`` or empty keeps all. Default ``None``.
        capacity: Keep at most this many highest-scored boxes per frame; 0 keeps all. Default 0.

    Returns:
        ``(boxes, labels, scores)`` dicts keyed by image key; boxes are ``[y1, x1, y2, x2]``.
    """
    whitelist = set(class_whitelist) if class_whitelist else None
    entries: Dict[str, list] = defaultdict(list)
    with _rows(csv_file) as (name, rows):
        for number, row in rows:
            if len(row) not in (7, 8):
                raise AnnotationError(f"{name}:{number}: expected 7 or 8 columns (video_id, timestamp, x1, y1, "
                                      f"x2, y2, action_id[, score]), got {len(row)}: {list(row)!r}")
            try:
                image_key = make_image_key(row[0], row[1])
                x1, y1, x2, y2 = (float(v) for v in row[2:6])
                action_id = int(row[6])
                score = float(row[7]) if len(row) == 8 else 1.0
            except ValueError as err:
                raise AnnotationError(f"{name}:{number}: malformed AVA row {list(row)!r}: {err}") from err
            if whitelist is not None and action_id not in whitelist:
                continue
            heap = entries[image_key]
            item = (score, action_id, y1, x1, y2, x2)
            if capacity < 1 or len(heap) < capacity:
                heapq.heappush(heap, item)
            elif score > heap[0][0]:
                heapq.heapreplace(heap, item)
    boxes: BoxTable = defaultdict(list)
    labels: Dict[str, List[int]] = defaultdict(list)
    scores: Dict[str, List[float]] = defaultdict(list)
    for image_key, heap in entries.items():
        for score, action_id, y1, x1, y2, x2 in sorted(heap, key=lambda item: -item[0]):
            boxes[image_key].append([y1, x1, y2, x2])
            labels[image_key].append(action_id)
            scores[image_key].append(score)
    return boxes, labels, scores


def read_exclusions(exclusions_file: Optional[PathOrFile]) -> Set[str]:
    """Image keys of an exclusion CSV (``video_id, timestamp`` rows); empty for ``None``."""
    excluded: Set[str] = set()
    if not exclusions_file:
        return excluded
    with _rows(exclusions_file) as (name, rows):
        for number, row in rows:
            if len(row) != 2:
                raise AnnotationError(f"{name}:{number}: expected 2 columns (video_id, timestamp), got {list(row)!r}")
            try:
                excluded.add(make_image_key(row[0], row[1]))
            except ValueError as err:
                raise AnnotationError(f"{name}:{number}: timestamp {row[1]!r} is not an integer") from err
    return excluded


def read_labelmap(labelmap_file: Union[str, os.PathLike, Iterable[str]]) -> Tuple[List[Dict[str, Any]], Set[int]]:
    """Parse an AVA label map ``.pbtxt`` without protobuf.

    Args:
        labelmap_file: Path, open file or iterable of lines.

    Returns:
        ``([{"id": int, "name": str}, ...], {ids})``; an entry is closed by its ``id:``/``label_id:`` line.
    """
    if isinstance(labelmap_file, (str, os.PathLike)):
        with open(labelmap_file, "r", encoding="utf-8") as f:
            lines = f.readlines()
        name_of_file = str(labelmap_file)
    else:
        lines = list(labelmap_file)
        name_of_file = getattr(labelmap_file, "name", "<label map>")
    labelmap: List[Dict[str, Any]] = []
    class_ids: Set[int] = set()
    name = ""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text.startswith("name:"):
            parts = text.split('"')
            if len(parts) < 3:
                raise AnnotationError(f"{name_of_file}:{number}: expected name: \"...\", got {text!r}")
            name = parts[1]
        elif text.startswith("id:") or text.startswith("label_id:"):
            try:
                class_id = int(text.split()[-1])
            except ValueError as err:
                raise AnnotationError(f"{name_of_file}:{number}: expected an integer id, got {text!r}") from err
            labelmap.append({"id": class_id, "name": name})
            class_ids.add(class_id)
    return labelmap, class_ids


def _float_field(item: Any) -> str:
    """mmaction2's CSV writer: Python floats with 3 decimals, everything else with ``str``."""
    return "%.3f" % item if isinstance(item, float) else str(item)


def det2csv(video_infos: Sequence[Mapping[str, Any]], results: Sequence[Sequence[np.ndarray]],
            custom_classes: Optional[Sequence[int]] = None) -> List[Tuple[Any, ...]]:
    """Per-frame detections to AVA rows ``(video_id, timestamp, x1, y1, x2, y2, action_id, score)``.

    Args:
        video_infos: One dict per frame with ``video_id`` and ``timestamp``.
        results: Per frame, per class ``i`` (action id ``i + 1``), an array ``[n, 5]`` of
            ``(x1, y1, x2, y2, score)``.
        custom_classes: Dataset class ids with the background ``0`` first, so class ``i`` is
            ``custom_classes[i + 1]``. Default ``None`` (action id ``i + 1``).
    """
    if len(results) != len(video_infos):
        raise ShapeError(f"results has {len(results)} frames but video_infos has {len(video_infos)}")
    rows = []
    for info, frame_result in zip(video_infos, results):
        for label, class_boxes in enumerate(frame_result):
            action_id = custom_classes[label + 1] if custom_classes is not None else label + 1
            for box in np.asarray(class_boxes).reshape(-1, 5).tolist():
                rows.append((info["video_id"], info["timestamp"], *box[:4], action_id, *box[4:]))
    return rows


def results2csv(video_infos: Sequence[Mapping[str, Any]], results: Sequence[Any], out_file: str,
                custom_classes: Optional[Sequence[int]] = None) -> None:
    """Write detections (per-frame class lists, or rows as from ``det2csv``) to an AVA CSV file.

    Args:
        video_infos: One dict per frame with ``video_id`` and ``timestamp`` (unused for rows).
        results: ``det2csv`` input or its output rows.
        out_file: Output path.
        custom_classes: See ``det2csv``. Default ``None``.
    """
    rows = results
    if len(results) and isinstance(results[0], list):
        rows = det2csv(video_infos, results, custom_classes)
    with open(out_file, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(",".join(_float_field(item) for item in row))
            f.write("\n")


def _table_arrays(keys: Sequence[str], frame_ids: Sequence[int], boxes: Mapping[str, List[List[float]]],
                  labels: Mapping[str, List[int]], scores: Optional[Mapping[str, List[float]]] = None
                  ) -> Tuple[np.ndarray, ...]:
    """Concatenate the per-frame lists of ``keys`` into flat arrays plus the frame id of every row."""
    counts = np.asarray([len(boxes[key]) for key in keys], dtype=np.int64)
    frame = np.repeat(np.asarray(frame_ids, dtype=np.int64), counts)
    total = int(counts.sum())
    box_array = np.asarray([b for key in keys for b in boxes[key]], dtype=float).reshape(total, 4)
    label_array = np.asarray([lab for key in keys for lab in labels[key]], dtype=np.int64).reshape(total)
    if scores is None:
        return frame, box_array, label_array
    score_array = np.asarray([s for key in keys for s in scores[key]], dtype=float).reshape(total)
    return frame, box_array, label_array, score_array


def _pairwise_box_iou(det: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of row-aligned ``[y1, x1, y2, x2]`` boxes (areas without the +1 of pixel boxes)."""
    heights = np.maximum(0.0, np.minimum(det[:, 2], gt[:, 2]) - np.maximum(det[:, 0], gt[:, 0]))
    widths = np.maximum(0.0, np.minimum(det[:, 3], gt[:, 3]) - np.maximum(det[:, 1], gt[:, 1]))
    intersection = heights * widths
    det_area = (det[:, 2] - det[:, 0]) * (det[:, 3] - det[:, 1])
    gt_area = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return intersection / (det_area + gt_area - intersection)


def _true_positives(det_group: np.ndarray, det_boxes: np.ndarray, gt_group: np.ndarray, gt_boxes: np.ndarray,
                    iou_threshold: float) -> np.ndarray:
    """Pascal VOC matching of every detection against the ground truth of its (frame, class) group.

    A detection looks only at its best-IoU box (first on ties); it is a true positive when that IoU
    reaches the threshold and no earlier detection of the group claimed the box.
    """
    num_dets = det_group.shape[0]
    tp = np.zeros(num_dets, dtype=bool)
    if num_dets == 0 or gt_group.shape[0] == 0:
        return tp
    gt_order = np.argsort(gt_group, kind="stable")
    sorted_groups = gt_group[gt_order]
    first = np.searchsorted(sorted_groups, det_group, side="left")
    counts = np.searchsorted(sorted_groups, det_group, side="right") - first
    with_gt = np.flatnonzero(counts > 0)
    if with_gt.size == 0:
        return tp
    counts = counts[with_gt]
    pair_det = np.repeat(with_gt, counts)
    segment_start = np.cumsum(counts) - counts
    within = np.arange(pair_det.size) - np.repeat(segment_start, counts)
    pair_gt = gt_order[np.repeat(first[with_gt], counts) + within]
    iou = _pairwise_box_iou(det_boxes[pair_det], gt_boxes[pair_gt])
    has_nan = np.logical_or.reduceat(np.isnan(iou), segment_start)
    best = np.maximum.reduceat(np.nan_to_num(iou, nan=-np.inf), segment_start)
    positions = np.where(iou == np.repeat(best, counts), np.arange(pair_det.size), pair_det.size)
    best_pair = np.minimum.reduceat(positions, segment_start)
    matched = (best >= iou_threshold) & ~has_nan
    claimants = with_gt[matched]
    claimed_gt = pair_gt[best_pair[matched]]
    _, first_claim = np.unique(claimed_gt, return_index=True)
    tp[claimants[first_claim]] = True
    return tp


def frame_map(gt: Tuple[BoxTable, Mapping[str, List[int]]],
              detections: Tuple[BoxTable, Mapping[str, List[int]], Mapping[str, List[float]]],
              categories: Sequence[Mapping[str, Any]], excluded_keys: Iterable[str] = (),
              iou_threshold: float = 0.5) -> Dict[str, float]:
    """Frame-level Pascal VOC mAP of AVA detections.

    Args:
        gt: ``(boxes, labels)`` as returned by ``read_csv``.
        detections: ``(boxes, labels, scores)`` as returned by ``read_csv`` (boxes by decreasing score).
        categories: ``[{"id": int >= 1, "name": str}, ...]`` evaluated classes.
        excluded_keys: Image keys ignored on both sides. Default ``()``.
        iou_threshold: Matching IoU. Default 0.5.

    Returns:
        ``{"mAP@0.5IOU": mean, "PerformanceByCategory/AP@0.5IOU/<name>": ap, ...}``; classes
        without ground truth are NaN and left out of the mean.
    """
    if not categories:
        raise ConfigError("categories is empty; the label map defines no class to evaluate")
    if min(cat["id"] for cat in categories) < 1:
        raise ConfigError("Classes should be 1-indexed: every category id must be >= 1")
    num_classes = max(cat["id"] for cat in categories)
    excluded = set(excluded_keys)
    gt_boxes, gt_labels = gt
    det_boxes, det_labels, det_scores = detections

    gt_keys = [key for key in gt_boxes if key not in excluded]
    frame_index = {key: i for i, key in enumerate(gt_keys)}
    det_keys = [key for key in det_boxes if key not in excluded]
    for key in det_keys:
        frame_index.setdefault(key, len(frame_index))

    gt_frame, gt_box, gt_label = _table_arrays(gt_keys, range(len(gt_keys)), gt_boxes, gt_labels)
    gt_class = gt_label - 1
    in_range = (gt_class >= 0) & (gt_class < num_classes)
    num_gt = np.bincount(gt_class[in_range], minlength=num_classes)

    det_frame, det_box, det_label, det_score = _table_arrays(det_keys, [frame_index[k] for k in det_keys],
                                                             det_boxes, det_labels, det_scores)
    det_class = det_label - 1
    keep = (det_box[:, 0] < det_box[:, 2]) & (det_box[:, 1] < det_box[:, 3]) & (det_class >= 0) & \
        (det_class < num_classes)
    det_frame, det_box, det_class, det_score = det_frame[keep], det_box[keep], det_class[keep], det_score[keep]

    tp = _true_positives(det_frame * num_classes + det_class, det_box,
                         gt_frame[in_range] * num_classes + gt_class[in_range], gt_box[in_range], iou_threshold)

    average_precision = np.full(num_classes, np.nan)
    for class_index in np.flatnonzero(num_gt):
        selected = det_class == class_index
        scores = det_score[selected]
        if scores.size == 0:
            average_precision[class_index] = 0.0
            continue
        ranked_tp = tp[selected][np.argsort(scores)[::-1]]
        cum_tp = np.cumsum(ranked_tp)
        precision = cum_tp / np.arange(1, cum_tp.size + 1)
        recall = cum_tp / num_gt[class_index]
        average_precision[class_index] = interpolated_precision_recall(precision, recall)

    if np.isnan(average_precision).all():
        mean_ap = np.nan
    else:
        mean_ap = np.nanmean(average_precision)
    metrics = {f"mAP@{iou_threshold}IOU": mean_ap}
    for cat in categories:
        metrics[f"PerformanceByCategory/AP@{iou_threshold}IOU/{cat['name']}"] = average_precision[cat["id"] - 1]
    return metrics


def _custom_categories(categories: List[Dict[str, Any]], class_whitelist: Set[int],
                       custom_classes: Optional[Sequence[int]]) -> Tuple[List[Dict[str, Any]], Set[int]]:
    if custom_classes is None:
        return categories, class_whitelist
    chosen = list(custom_classes)
    if chosen and chosen[0] == 0:  # mmaction2's dataset form: background 0 first
        chosen = chosen[1:]
    unknown = sorted(set(chosen) - class_whitelist)
    if unknown:
        raise ConfigError(f"custom_classes {unknown} are not in the label map (ids {sorted(class_whitelist)})")
    return [cat for cat in categories if cat["id"] in chosen], set(chosen)


def ava_eval(result_file: PathOrFile, result_type: str, label_file: PathOrFile, ann_file: PathOrFile,
             exclude_file: Optional[PathOrFile], verbose: bool = True,
             custom_classes: Optional[Sequence[int]] = None) -> Dict[str, float]:
    """mmaction2's ``ava_eval``: frame mAP@0.5IOU of a detection CSV.

    Args:
        result_file: Detection CSV (path, file or rows) ``video_id, timestamp, x1, y1, x2, y2, action_id, score``.
        result_type: ``'mAP'`` (the only type).
        label_file: Label map ``.pbtxt``.
        ann_file: Ground-truth CSV.
        exclude_file: Excluded timestamps CSV, or ``None``.
        verbose: Log the mAP and per-class AP. Default True.
        custom_classes: Evaluated subset of class ids (a leading background ``0`` is dropped).
            Default ``None`` (all classes of the label map).

    Returns:
        ``{"mAP@0.5IOU": value}``.
    """
    if result_type != "mAP":
        raise ConfigError(f"result_type must be 'mAP', got {result_type!r}")
    categories, class_whitelist = read_labelmap(label_file)
    categories, class_whitelist = _custom_categories(categories, class_whitelist, custom_classes)
    gt_boxes, gt_labels, _ = read_csv(ann_file, class_whitelist, 0)
    excluded = read_exclusions(exclude_file)
    detections = read_csv(result_file, class_whitelist, 0)
    metrics = frame_map((gt_boxes, gt_labels), detections, categories, excluded)
    if verbose:
        for name, value in metrics.items():
            logger.info("%s=\t%s", name, value)
    return {name: value for name, value in metrics.items() if "ByCategory" not in name}


def frame_map_of_rows(rows: Iterable[Sequence[Any]], ann_file: PathOrFile, categories: Sequence[Mapping[str, Any]],
                      exclude_file: Optional[PathOrFile] = None, iou_threshold: float = 0.5) -> Dict[str, float]:
    """Frame mAP of in-memory detection rows against an AVA ground-truth CSV (for training loops).

    Args:
        rows: ``(video_id, timestamp, x1, y1, x2, y2, action_id, score)`` rows, e.g. ``det2csv``'s.
        ann_file: Ground-truth CSV (path, file or rows).
        categories: ``[{"id": action id >= 1, "name": str}, ...]`` to evaluate (the label map's
            items, or the model's ``id2label`` without class 0); other actions are ignored.
        exclude_file: Excluded timestamps CSV. Default ``None``.
        iou_threshold: Matching IoU. Default 0.5.

    Returns:
        ``{"mAP@0.5IOU": ..., "PerformanceByCategory/AP@0.5IOU/<name>": ...}`` as :func:`frame_map`.
    """
    whitelist = {int(cat["id"]) for cat in categories}
    gt_boxes, gt_labels, _ = read_csv(ann_file, whitelist, 0)
    detections = read_csv(list(rows), whitelist, 0)
    return frame_map((gt_boxes, gt_labels), detections, categories, read_exclusions(exclude_file), iou_threshold)

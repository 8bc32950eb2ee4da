"""SSN helpers of ``mmaction.localization`` (mmaction2 v0.24): proposal files, regression, THUMOS AP."""

from __future__ import annotations

from typing import Any, Dict, Hashable, List, Mapping, Sequence, Tuple, Union

import numpy as np

from ..errors import AnnotationError, ShapeError
from ..metrics.localization import average_precision_at_temporal_iou

__all__ = ["SSN_THUMOS_TEST_CFG", "SSN_THUMOS_TRAIN_CFG", "eval_ap", "load_localize_proposal_file",
           "perform_regression"]

#: ``train_cfg`` of mmaction2's ``ssn_r50_450e_thumos14_rgb_train`` (proposal assignment, sampling, loss weights).
SSN_THUMOS_TRAIN_CFG: Dict[str, Any] = {"ssn": {
    "assigner": {"positive_iou_threshold": 0.7, "background_iou_threshold": 0.01, "incomplete_iou_threshold": 0.3,
                 "background_coverage_threshold": 0.02, "incomplete_overlap_threshold": 0.01},
    "sampler": {"num_per_video": 8, "positive_ratio": 1, "background_ratio": 1, "incomplete_ratio": 6,
                "add_gt_as_proposals": True},
    "loss_weight": {"comp_loss_weight": 0.1, "reg_loss_weight": 0.1},
    "debug": False}}
#: ``test_cfg`` of mmaction2's ``ssn_r50_450e_thumos14_rgb_test`` (tick sampling, evaluation).
SSN_THUMOS_TEST_CFG: Dict[str, Any] = {"ssn": {
    "sampler": {"test_interval": 6, "batch_size": 16},
    "evaluater": {"top_k": 2000, "nms": 0.2, "softmax_before_filter": True, "cls_top_k": 2}}}

VideoProposals = Tuple[str, int, List[List[str]], List[List[str]]]


def _split_groups(lines: List[str]) -> List[List[Tuple[int, str]]]:
    """Consecutive non-``#`` lines as groups of ``(line number, stripped text)``."""
    groups: List[List[Tuple[int, str]]] = []
    current: List[Tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("#"):
            if current:
                groups.append(current)
            current = []
        else:
            current.append((number, line.strip()))
    if current:
        groups.append(current)
    return [group for group in groups if any(text for _, text in group)]


def _parse_group(filename: str, group: List[Tuple[int, str]]) -> VideoProposals:
    def line(offset: int) -> Tuple[int, str]:
        if offset >= len(group):
            last = group[-1][0]
            raise AnnotationError(f"{filename}:{last}: video block of {group[0][1]!r} ends early; expected "
                                  f"line {offset + 1} of the block (video_id, num_frames, fps, num_gts, gts..., "
                                  "num_proposals, proposals...)")
        return group[offset]

    def integer(offset: int, what: str) -> int:
        number, text = line(offset)
        try:
            return int(text)
        except ValueError as err:
            raise AnnotationError(f"{filename}:{number}: expected {what} (an integer), got {text!r}") from err

    video_id = line(0)[1]
    (frames_line, frames_text), (fps_line, fps_text) = line(1), line(2)
    try:
        num_frames = int(float(frames_text) * float(fps_text))
    except ValueError as err:
        raise AnnotationError(f"{filename}:{frames_line}-{fps_line}: expected num_frames and fps numbers, got "
                              f"{frames_text!r} and {fps_text!r}") from err
    num_gts = integer(3, "the number of ground truths")
    gt_boxes = [line(4 + i)[1].split() for i in range(num_gts)]
    num_proposals = integer(4 + num_gts, "the number of proposals")
    proposal_boxes = [line(5 + num_gts + i)[1].split() for i in range(num_proposals)]
    return video_id, num_frames, gt_boxes, proposal_boxes


def load_localize_proposal_file(filename: str) -> List[VideoProposals]:
    """Read an SSN/TAG proposal file.

    Each video block (after a ``# index`` line) is ``video_id``, ``num_frames``, ``fps``,
    ``num_gts``, ``num_gts`` lines ``label start_frame end_frame``, ``num_proposals`` and that many
    lines ``label best_iou overlap_self start_frame end_frame``.

    Args:
        filename: Path to the proposal file.

    Returns:
        ``[(video_id, num_frames * fps, gt_boxes, proposal_boxes), ...]`` with the boxes as lists of
        strings, as mmaction2 returns them.
    """
    with open(filename, "r", encoding="utf-8") as f:
        lines = f.readlines()
    return [_parse_group(filename, group) for group in _split_groups(lines)]


def perform_regression(detections: np.ndarray) -> np.ndarray:
    """Apply the regressed center shift (column 3) and log-scale (column 4) to ``(start, end)``.

    Args:
        detections: ``[N, 5]`` rows ``(start, end, score, center_reg, duration_reg)`` in [0, 1] units.

    Returns:
        ``[N, 5]`` with the new boundaries clipped to [0, 1] and the other columns unchanged.
    """
    detections = np.asarray(detections)
    if detections.ndim != 2 or detections.shape[1] < 5:
        raise ShapeError(f"detections has shape {detections.shape}; expected [N, 5] (start, end, score, "
                         "center_reg, duration_reg)")
    starts, ends = detections[:, 0], detections[:, 1]
    durations = ends - starts
    centers = (starts + ends) / 2 + durations * detections[:, 3]
    half = durations * np.exp(detections[:, 4]) / 2
    bounds = np.clip(np.stack((centers - half, centers + half), axis=1), 0, 1)
    return np.concatenate((bounds, detections[:, 2:]), axis=1)


def eval_ap(detections: Union[Mapping[int, Sequence[Sequence[Any]]], Sequence[Sequence[Sequence[Any]]]],
            gt_by_cls: Mapping[int, Mapping[Hashable, Sequence[Sequence[float]]]],
            iou_range: Sequence[float]) -> np.ndarray:
    """THUMOS-style AP of every class at every tIoU of ``iou_range``.

    Args:
        detections: Per class index ``0..C-1``, rows ``(video_id, class_idx, t_start, t_end, score)``.
        gt_by_cls: Per class index, ``{video_id: [[t_start, t_end], ...]}`` (a missing class has none).
        iou_range: tIoU thresholds.

    Returns:
        ``[C, len(iou_range)]`` float64 AP (NaN for a class without ground truth but with detections).
    """
    thresholds = np.asarray(iou_range, dtype=float).reshape(-1)
    ap_values = np.zeros((len(detections), thresholds.shape[0]))
    empty: Dict[Hashable, Sequence[Sequence[float]]] = {}
    for class_idx in range(len(detections)):
        ap_values[class_idx] = average_precision_at_temporal_iou(gt_by_cls.get(class_idx, empty),
                                                                 detections[class_idx], thresholds)
    return ap_values

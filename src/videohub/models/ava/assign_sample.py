"""Proposal / ground-truth assignment and sampling of the AVA detectors' training (plain PyTorch).

The mmdet parts mmaction2's AVA configs train with, as ``train_cfg.rcnn`` names them:

- :func:`bbox_overlaps`: mmdet ``BboxOverlaps2D`` (pairwise IoU, areas without the +1 of pixel boxes).
- :class:`MaxIoUAssignerAVA`: mmaction2's multi-label ``MaxIoUAssigner`` (negative below
  ``neg_iou_thr``, positive at ``pos_iou_thr``, then every ground truth claims its best proposals
  when their IoU reaches ``min_pos_iou``; the labels of a positive are its ground truth's multi-hot
  row). Vectorized: the per-ground-truth loop of the reference becomes "the last ground truth that
  claims a proposal wins", which is what the loop's successive overwrites amount to.
- :class:`RandomSampler`: mmdet ``RandomSampler`` (ground truths prepended as proposals, at most
  ``num * pos_fraction`` positives and ``num`` samples drawn uniformly, ``neg_pos_ub`` negatives per
  positive).
- :func:`bbox_target`: mmaction2's classification targets of the sampled boxes.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from ...errors import ConfigError, ShapeError

__all__ = [
    "AssignResult", "MaxIoUAssignerAVA", "RandomSampler", "SamplingResult", "bbox_overlaps", "bbox_target",
    "build_assigner", "build_sampler",
]


def _check_boxes(boxes: torch.Tensor, what: str) -> torch.Tensor:
    if boxes.dim() != 2 or boxes.shape[-1] not in (4, 5):
        raise ShapeError(f"{what} has shape {tuple(boxes.shape)}; expected [num_boxes, 4] (x1, y1, x2, y2)")
    return boxes[:, :4]


def bbox_overlaps(boxes1: torch.Tensor, boxes2: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """IoU ``[n1, n2]`` of every pair of ``(x1, y1, x2, y2)`` boxes (mmdet ``bbox_overlaps``, mode ``iou``).

    Args:
        boxes1: ``[n1, 4]`` (a 5th score column is ignored).
        boxes2: ``[n2, 4]`` (a 5th score column is ignored).
        eps: Lower bound of the union. Default 1e-6.
    """
    boxes1 = _check_boxes(boxes1, "boxes1")
    boxes2 = _check_boxes(boxes2, "boxes2")
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    top_left = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = (area1[:, None] + area2[None, :] - overlap).clamp(min=eps)
    return overlap / union


@dataclasses.dataclass
class AssignResult:
    """What :class:`MaxIoUAssignerAVA` decided for each proposal.

    Args:
        num_gts: Number of ground-truth boxes.
        gt_inds: ``[n]`` long: 0 = negative, ``-1`` = ignored, ``i >= 1`` = positive of ground truth ``i - 1``.
        max_overlaps: ``[n]`` best IoU of each proposal with any ground truth.
        labels: ``[n, num_classes]`` multi-hot labels (all zero unless positive), or ``None``.
    """

    num_gts: int
    gt_inds: torch.Tensor
    max_overlaps: torch.Tensor
    labels: Optional[torch.Tensor] = None

    def add_gt_(self, gt_labels: torch.Tensor) -> None:
        """Prepend the ground truths as proposals assigned to themselves (IoU 1)."""
        own = torch.arange(1, len(gt_labels) + 1, dtype=torch.long, device=self.gt_inds.device)
        self.gt_inds = torch.cat([own, self.gt_inds])
        self.max_overlaps = torch.cat([self.max_overlaps.new_ones(len(gt_labels)), self.max_overlaps])
        if self.labels is not None:
            self.labels = torch.cat([gt_labels.to(self.labels), self.labels])


def _threshold(value: Any, name: str) -> Union[float, Tuple[float, float]]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"MaxIoUAssignerAVA {name} must be a number or a (low, high) pair, got {value!r}")
        return float(value[0]), float(value[1])
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ConfigError(f"MaxIoUAssignerAVA {name} must be a number, got {value!r}")
    return float(value)


class MaxIoUAssignerAVA:
    """Assign each proposal a ground-truth box (positive), background (negative) or nothing (ignored).

    Args:
        pos_iou_thr: A proposal whose best IoU reaches this is a positive of that ground truth.
        neg_iou_thr: Best IoU in ``[0, neg_iou_thr)`` (or in ``[low, high)`` for a pair) is a negative.
        min_pos_iou: A ground truth claims its best proposals (low-quality matches) only when their
            IoU reaches this. Default 0.0.
        gt_max_assign_all: A ground truth claims every proposal tied at its best IoU (else only the
            first). Default ``True``.
        match_low_quality: Do the low-quality matching at all. Default ``True``.
        ignore_iof_thr: Ignoring proposals inside "ignore" boxes is not used by AVA; only the
            default -1 (off) is accepted.
        gpu_assign_thr: Assign on the CPU when there are more ground truths than this (saves
            accelerator memory); -1 never. Default -1.
        iou_calculator: Only ``dict(type="BboxOverlaps2D")`` (the default).
    """

    def __init__(
        self,
        pos_iou_thr: float,
        neg_iou_thr: Union[float, Sequence[float]],
        min_pos_iou: float = 0.0,
        gt_max_assign_all: bool = True,
        match_low_quality: bool = True,
        ignore_iof_thr: float = -1,
        gpu_assign_thr: int = -1,
        iou_calculator: Optional[Mapping[str, Any]] = None,
    ):
        self.pos_iou_thr = _threshold(pos_iou_thr, "pos_iou_thr")
        if isinstance(self.pos_iou_thr, tuple):
            raise ConfigError(f"MaxIoUAssignerAVA pos_iou_thr must be a number, got {pos_iou_thr!r}")
        self.neg_iou_thr = _threshold(neg_iou_thr, "neg_iou_thr")
        self.min_pos_iou = float(_threshold(min_pos_iou, "min_pos_iou"))
        self.gt_max_assign_all = bool(gt_max_assign_all)
        self.match_low_quality = bool(match_low_quality)
        if ignore_iof_thr > 0:
            raise ConfigError("MaxIoUAssignerAVA: ignore_iof_thr > 0 needs ignored boxes, which AVA training "
                              f"does not have; use -1 (got {ignore_iof_thr})")
        self.gpu_assign_thr = int(gpu_assign_thr)
        if iou_calculator is not None and dict(iou_calculator).get("type", "BboxOverlaps2D") != "BboxOverlaps2D":
            raise ConfigError(f"MaxIoUAssignerAVA iou_calculator must be BboxOverlaps2D, got {iou_calculator!r}")

    def assign(self, bboxes: torch.Tensor, gt_bboxes: torch.Tensor,
               gt_labels: Optional[torch.Tensor] = None) -> AssignResult:
        """Assign proposals ``bboxes [n, 4]`` to ``gt_bboxes [k, 4]`` with multi-hot ``gt_labels [k, C]``."""
        bboxes = _check_boxes(bboxes, "proposals")
        gt_bboxes = _check_boxes(gt_bboxes, "gt_bboxes")
        if gt_labels is not None and (gt_labels.dim() != 2 or gt_labels.shape[0] != gt_bboxes.shape[0]):
            raise ShapeError(f"gt_labels has shape {tuple(gt_labels.shape)}; expected [{gt_bboxes.shape[0]}, "
                             "num_classes] multi-hot rows, one per ground-truth box")
        device = bboxes.device
        if 0 < self.gpu_assign_thr < gt_bboxes.shape[0]:
            bboxes, gt_bboxes = bboxes.cpu(), gt_bboxes.cpu()
            gt_labels = gt_labels.cpu() if gt_labels is not None else None
        result = self.assign_wrt_overlaps(bbox_overlaps(gt_bboxes, bboxes), gt_labels)
        if result.gt_inds.device != device:
            result = AssignResult(result.num_gts, result.gt_inds.to(device), result.max_overlaps.to(device),
                                  None if result.labels is None else result.labels.to(device))
        return result

    def assign_wrt_overlaps(self, overlaps: torch.Tensor, gt_labels: Optional[torch.Tensor] = None) -> AssignResult:
        """Assignment from the IoU matrix ``overlaps [k ground truths, n proposals]``."""
        num_gts, num_bboxes = overlaps.shape
        num_classes = gt_labels.shape[1] if gt_labels is not None else 0
        labels = overlaps.new_zeros((num_bboxes, num_classes)) if gt_labels is not None else None
        if num_gts == 0 or num_bboxes == 0:
            # no ground truth: every proposal is background (mmaction2 then gives no label rows; all-zero
            # rows say the same and keep the [n, num_classes] shape)
            gt_inds = overlaps.new_full((num_bboxes,), 0 if num_gts == 0 else -1, dtype=torch.long)
            return AssignResult(num_gts, gt_inds, overlaps.new_zeros((num_bboxes,)), labels)
        gt_inds = overlaps.new_full((num_bboxes,), -1, dtype=torch.long)
        max_overlaps, argmax_overlaps = overlaps.max(dim=0)
        if isinstance(self.neg_iou_thr, tuple):
            negative = (max_overlaps >= self.neg_iou_thr[0]) & (max_overlaps < self.neg_iou_thr[1])
        else:
            negative = (max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)
        gt_inds[negative] = 0
        positive = max_overlaps >= self.pos_iou_thr
        gt_inds[positive] = argmax_overlaps[positive] + 1
        if self.match_low_quality:
            gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)
            if self.gt_max_assign_all:
                claims = overlaps == gt_max_overlaps[:, None]
            else:
                claims = torch.zeros_like(overlaps, dtype=torch.bool)
                claims[torch.arange(num_gts, device=overlaps.device), gt_argmax_overlaps] = True
            claims &= (gt_max_overlaps >= self.min_pos_iou)[:, None]
            # the reference loops over the ground truths in order, so the last claimant wins
            order = torch.arange(1, num_gts + 1, device=overlaps.device)[:, None]
            last = torch.where(claims, order, torch.zeros_like(order)).max(dim=0).values
            gt_inds = torch.where(last > 0, last, gt_inds)
        if labels is not None:
            assigned = gt_inds > 0
            labels[assigned] = gt_labels[gt_inds[assigned] - 1].to(labels)
        return AssignResult(num_gts, gt_inds, max_overlaps, labels)


@dataclasses.dataclass
class SamplingResult:
    """The boxes :class:`RandomSampler` kept: positives first, then negatives.

    Args:
        pos_inds, neg_inds: Indices into the (ground truths + proposals) boxes.
        pos_bboxes, neg_bboxes: ``[p, 4]`` and ``[q, 4]`` boxes.
        pos_is_gt: ``[p]`` bool: the positive is a ground truth added as a proposal.
        pos_assigned_gt_inds: ``[p]`` index of each positive's ground truth.
        pos_gt_labels: ``[p, num_classes]`` multi-hot labels of the positives (or ``None``).
    """

    pos_inds: torch.Tensor
    neg_inds: torch.Tensor
    pos_bboxes: torch.Tensor
    neg_bboxes: torch.Tensor
    pos_is_gt: torch.Tensor
    pos_assigned_gt_inds: torch.Tensor
    pos_gt_labels: Optional[torch.Tensor]

    @property
    def bboxes(self) -> torch.Tensor:
        """``[p + q, 4]``: positives then negatives."""
        return torch.cat([self.pos_bboxes, self.neg_bboxes])


class RandomSampler:
    """Sample at most ``num`` proposals, ``pos_fraction`` of them positives, uniformly at random.

    Args:
        num: Samples per clip.
        pos_fraction: Largest share of positives (``int(num * pos_fraction)`` at most).
        neg_pos_ub: At most this many negatives per positive (counting at least one positive);
            -1 means no bound. Default -1.
        add_gt_as_proposals: Prepend the ground-truth boxes to the proposals. Default ``True``.
        generator: ``torch.Generator`` of the draws. Default ``None`` (torch's global generator, as
            mmdet; seeded training is then reproducible through ``torch.manual_seed``).
    """

    def __init__(self, num: int, pos_fraction: float, neg_pos_ub: float = -1, add_gt_as_proposals: bool = True,
                 generator: Optional[torch.Generator] = None):
        if not isinstance(num, int) or isinstance(num, bool) or num < 1:
            raise ConfigError(f"RandomSampler num must be a positive integer, got {num!r}")
        if not 0 <= float(pos_fraction) <= 1:
            raise ConfigError(f"RandomSampler pos_fraction must be in [0, 1], got {pos_fraction!r}")
        self.num = num
        self.pos_fraction = float(pos_fraction)
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = bool(add_gt_as_proposals)
        self.generator = generator

    def _choose(self, candidates: torch.Tensor, count: int) -> torch.Tensor:
        """``count`` of ``candidates`` drawn without replacement (all of them when there are not more)."""
        if candidates.numel() <= count:
            return candidates
        perm = torch.randperm(candidates.numel(), generator=self.generator)[:count].to(candidates.device)
        return candidates[perm]

    def sample(self, assign_result: AssignResult, bboxes: torch.Tensor, gt_bboxes: torch.Tensor,
               gt_labels: Optional[torch.Tensor] = None) -> SamplingResult:
        """Sample positives and negatives among ``bboxes`` (after prepending ``gt_bboxes`` when asked).

        ``assign_result`` is extended in place with the ground truths (as mmdet does).
        """
        bboxes = _check_boxes(bboxes, "proposals")
        gt_bboxes = _check_boxes(gt_bboxes, "gt_bboxes")
        gt_flags = torch.zeros(bboxes.shape[0], dtype=torch.bool, device=bboxes.device)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            if gt_labels is None:
                raise ConfigError("RandomSampler with add_gt_as_proposals=True needs gt_labels")
            bboxes = torch.cat([gt_bboxes.to(bboxes), bboxes])
            assign_result.add_gt_(gt_labels)
            gt_flags = torch.cat([torch.ones(len(gt_bboxes), dtype=torch.bool, device=bboxes.device), gt_flags])
        positives = torch.nonzero(assign_result.gt_inds > 0).flatten()
        pos_inds = self._choose(positives, int(self.num * self.pos_fraction)).unique()
        num_neg = self.num - pos_inds.numel()
        if self.neg_pos_ub >= 0:
            num_neg = min(num_neg, int(self.neg_pos_ub * max(1, pos_inds.numel())))
        negatives = torch.nonzero(assign_result.gt_inds == 0).flatten()
        neg_inds = self._choose(negatives, num_neg).unique()
        labels = assign_result.labels[pos_inds] if assign_result.labels is not None else None
        return SamplingResult(pos_inds, neg_inds, bboxes[pos_inds], bboxes[neg_inds], gt_flags[pos_inds],
                              assign_result.gt_inds[pos_inds] - 1, labels)


def bbox_target(sampling_results: Sequence[SamplingResult], num_classes: int,
                pos_weight: float = 1.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(labels [sum p+q, num_classes], label_weights [sum p+q])`` of sampled boxes, clip by clip.

    Positives take their ground truth's multi-hot row and weight ``pos_weight`` (1 when <= 0);
    negatives all-zero rows and weight 1 (mmaction2 ``bbox_target``).
    """
    weight = 1.0 if pos_weight <= 0 else float(pos_weight)
    labels: List[torch.Tensor] = []
    weights: List[torch.Tensor] = []
    for res in sampling_results:
        num_pos, num_neg = res.pos_bboxes.shape[0], res.neg_bboxes.shape[0]
        pos_labels = res.pos_gt_labels if res.pos_gt_labels is not None else res.pos_bboxes.new_zeros((0, num_classes))
        labels.append(torch.cat([pos_labels.to(res.pos_bboxes), res.pos_bboxes.new_zeros((num_neg, num_classes))]))
        weights.append(torch.cat([res.pos_bboxes.new_full((num_pos,), weight), res.pos_bboxes.new_ones(num_neg)]))
    return torch.cat(labels), torch.cat(weights)


_ASSIGNERS = {"MaxIoUAssignerAVA": MaxIoUAssignerAVA}
_SAMPLERS = {"RandomSampler": RandomSampler}


def _build(cfg: Optional[Mapping[str, Any]], table: Dict[str, type], what: str) -> Any:
    if cfg is None:
        raise ConfigError(f"train_cfg.rcnn.{what} is missing; the AVA configs use "
                          f"dict(type={next(iter(table))!r}, ...)")
    kwargs = dict(cfg)
    kind = kwargs.pop("type", None)
    if kind not in table:
        raise ConfigError(f"train_cfg.rcnn.{what} type {kind!r} is not supported; use one of {sorted(table)}")
    try:
        return table[kind](**kwargs)
    except TypeError as err:
        raise ConfigError(f"train_cfg.rcnn.{what} ({kind}): {err}") from None


def build_assigner(cfg: Optional[Mapping[str, Any]]) -> MaxIoUAssignerAVA:
    """The assigner of ``train_cfg.rcnn.assigner`` (``dict(type="MaxIoUAssignerAVA", ...)``)."""
    return _build(cfg, _ASSIGNERS, "assigner")


def build_sampler(cfg: Optional[Mapping[str, Any]]) -> RandomSampler:
    """The sampler of ``train_cfg.rcnn.sampler`` (``dict(type="RandomSampler", ...)``)."""
    return _build(cfg, _SAMPLERS, "sampler")

"""Localization losses of mmaction2 v0.24 (BSN/BMN/SSN) and the HVU multi-label loss.

Every class keeps mmaction2's name, arguments, defaults and return values:

- :class:`BinaryLogisticRegressionLoss` (BSN TEM, BMN start/end): class-balanced log loss.
- :class:`BMNLoss`: ``(loss, tem_loss, pem_reg_loss, pem_cls_loss)``.
- :class:`OHEMHingeLoss`: the autograd function behind SSN's completeness loss (hinge + OHEM).
- :class:`SSNLoss`: ``{loss_activity, loss_completeness[, loss_reg]}``.
- :class:`HVULoss`: per-category or global binary cross entropy for HVU tags.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ShapeError
from ..registry import LOSSES
from .losses import BaseWeightedLoss


def _get(cfg: Any, key: str, where: str) -> Any:
    """``cfg.key`` for an attribute-style config (mmcv ``ConfigDict``) or ``cfg[key]`` for a dict."""
    if isinstance(cfg, dict):
        if key not in cfg:
            raise ConfigError(f"{where}: missing key {key!r} (have {sorted(cfg)})")
        return cfg[key]
    if not hasattr(cfg, key):
        raise ConfigError(f"{where}: missing attribute {key!r}")
    return getattr(cfg, key)


def binary_logistic_regression_loss(reg_score: torch.Tensor, label: torch.Tensor, threshold: float = 0.5,
                                    ratio_range: Sequence[float] = (1.05, 21), eps: float = 1e-5) -> torch.Tensor:
    """Class-balanced binary log loss (mmaction2 ``binary_logistic_regression_loss``).

    Labels above ``threshold`` (default 0.5) are positives. With ``ratio = clamp(N / max(P, 1),
    *ratio_range)`` (default ``(1.05, 21)``) positives are weighted ``0.5 * ratio`` and negatives
    ``0.5 * ratio / (ratio - 1)``; the result is ``-mean(w * log(p + eps))`` with ``eps`` default 1e-5.
    """
    label = label.reshape(-1).to(reg_score.device)
    reg_score = reg_score.contiguous().view(-1)
    if label.numel() != reg_score.numel():
        raise ShapeError(f"binary_logistic_regression_loss: {reg_score.numel()} scores but {label.numel()} labels")
    pmask = (label > threshold).float()
    num_positive = torch.clamp(pmask.sum(), min=1)
    ratio = torch.clamp(label.numel() / num_positive, ratio_range[0], ratio_range[1])
    coef_0 = 0.5 * ratio / (ratio - 1)
    coef_1 = 0.5 * ratio
    loss = coef_1 * pmask * torch.log(reg_score + eps) + coef_0 * (1.0 - pmask) * torch.log(1.0 - reg_score + eps)
    return -torch.mean(loss)


@LOSSES.register()
class BinaryLogisticRegressionLoss(nn.Module):
    """Binary logistic regression loss (BSN/BMN). ``forward(reg_score, label, threshold=0.5,
    ratio_range=(1.05, 21), eps=1e-5)``; see :func:`binary_logistic_regression_loss`."""

    def forward(self, reg_score: torch.Tensor, label: torch.Tensor, threshold: float = 0.5,
                ratio_range: Sequence[float] = (1.05, 21), eps: float = 1e-5) -> torch.Tensor:
        return binary_logistic_regression_loss(reg_score, label, threshold, ratio_range, eps)


@LOSSES.register()
class BMNLoss(nn.Module):
    """Boundary-Matching Network loss: start/end log loss + BM-map regression and classification."""

    @staticmethod
    def tem_loss(pred_start: torch.Tensor, pred_end: torch.Tensor, gt_start: torch.Tensor,
                 gt_end: torch.Tensor) -> torch.Tensor:
        """Sum of the binary logistic regression losses of start and end."""
        return binary_logistic_regression_loss(pred_start, gt_start) + binary_logistic_regression_loss(pred_end, gt_end)

    @staticmethod
    def pem_reg_loss(pred_score: torch.Tensor, gt_iou_map: torch.Tensor, mask: torch.Tensor,
                     high_temporal_iou_threshold: float = 0.7, low_temporal_iou_threshold: float = 0.3) -> torch.Tensor:
        """Weighted MSE of the BM map; medium/low IoU entries are subsampled with ``torch.rand_like``
        (two draws, medium first) to the count of high ones. Thresholds default 0.7 / 0.3."""
        u_hmask = (gt_iou_map > high_temporal_iou_threshold).float()
        u_mmask = ((gt_iou_map <= high_temporal_iou_threshold) & (gt_iou_map > low_temporal_iou_threshold)).float()
        u_lmask = ((gt_iou_map <= low_temporal_iou_threshold) & (gt_iou_map > 0.0)).float() * mask
        num_h, num_m, num_l = u_hmask.sum(), u_mmask.sum(), u_lmask.sum()
        u_smmask = (u_mmask * torch.rand_like(gt_iou_map) > (1.0 - num_h / num_m)).float()
        u_slmask = (u_lmask * torch.rand_like(gt_iou_map) > (1.0 - num_h / num_l)).float()
        weights = u_hmask + u_smmask + u_slmask
        mse = F.mse_loss(pred_score * weights, gt_iou_map * weights)
        return 0.5 * torch.sum(mse * torch.ones_like(weights)) / torch.sum(weights)

    @staticmethod
    def pem_cls_loss(pred_score: torch.Tensor, gt_iou_map: torch.Tensor, mask: torch.Tensor, threshold: float = 0.9,
                     ratio_range: Sequence[float] = (1.05, 21), eps: float = 1e-5) -> torch.Tensor:
        """Class-balanced log loss of the BM map (positives: IoU > ``threshold``, default 0.9;
        ``ratio_range`` default ``(1.05, 21)``, ``eps`` default 1e-5)."""
        pmask = (gt_iou_map > threshold).float()
        nmask = (gt_iou_map <= threshold).float() * mask
        num_positive = torch.clamp(pmask.sum(), min=1)
        num_entries = num_positive + nmask.sum()
        ratio = torch.clamp(num_entries / num_positive, ratio_range[0], ratio_range[1])
        coef_0 = 0.5 * ratio / (ratio - 1)
        coef_1 = 0.5 * ratio
        loss_pos = coef_1 * torch.log(pred_score + eps) * pmask
        loss_neg = coef_0 * torch.log(1.0 - pred_score + eps) * nmask
        return -1 * torch.sum(loss_pos + loss_neg) / num_entries

    def forward(self, pred_bm: torch.Tensor, pred_start: torch.Tensor, pred_end: torch.Tensor,
                gt_iou_map: torch.Tensor, gt_start: torch.Tensor, gt_end: torch.Tensor, bm_mask: torch.Tensor,
                weight_tem: float = 1.0, weight_pem_reg: float = 10.0,
                weight_pem_cls: float = 1.0) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(loss, tem_loss, pem_reg_loss, pem_cls_loss)``; weights default 1.0 / 10.0 / 1.0.

        ``pred_bm`` is ``[N, 2, T, T]`` (channel 0 regression, 1 classification)."""
        if pred_bm.dim() != 4 or pred_bm.size(1) != 2:
            raise ShapeError(f"BMNLoss: pred_bm must be [N, 2, T, T], got {tuple(pred_bm.shape)}")
        pred_bm_reg = pred_bm[:, 0].contiguous()
        pred_bm_cls = pred_bm[:, 1].contiguous()
        gt_iou_map = gt_iou_map * bm_mask
        pem_reg_loss = self.pem_reg_loss(pred_bm_reg, gt_iou_map, bm_mask)
        pem_cls_loss = self.pem_cls_loss(pred_bm_cls, gt_iou_map, bm_mask)
        tem_loss = self.tem_loss(pred_start, pred_end, gt_start, gt_end)
        loss = weight_tem * tem_loss + weight_pem_reg * pem_reg_loss + weight_pem_cls * pem_cls_loss
        return loss, tem_loss, pem_reg_loss, pem_cls_loss


class OHEMHingeLoss(torch.autograd.Function):
    """Class-wise hinge loss with online hard example mining (SSN completeness loss).

    ``OHEMHingeLoss.apply(pred, labels, is_positive, ohem_ratio, group_size)``: for sample ``i``
    the loss is ``max(0, 1 - is_positive * pred[i, labels[i] - 1])``; within each group of
    ``group_size`` consecutive samples the ``int(group_size * ohem_ratio)`` largest losses are summed.
    Returns a ``[1]`` tensor. The gradient flows only to the kept entries, with slope ``-is_positive``.
    """

    @staticmethod
    def forward(ctx, pred: torch.Tensor, labels: torch.Tensor, is_positive: int, ohem_ratio: float,
                group_size: int) -> torch.Tensor:
        num_samples = pred.size(0)
        if num_samples != len(labels):
            raise ShapeError(f"OHEMHingeLoss: {num_samples} samples but {len(labels)} labels")
        if num_samples % group_size:
            raise ShapeError(f"OHEMHingeLoss: {num_samples} samples are not a multiple of group_size={group_size}")
        rows = torch.arange(num_samples, device=pred.device)
        picked = pred[rows, labels.long() - 1]
        losses = torch.clamp(1 - is_positive * picked, min=0).to(torch.float32)
        slopes = torch.where(losses != 0, torch.full_like(losses, -is_positive), torch.zeros_like(losses))
        grouped = losses.view(-1, group_size)
        sorted_losses, indices = torch.sort(grouped, dim=1, descending=True)
        keep_length = int(group_size * ohem_ratio)
        loss = torch.zeros(1, device=pred.device)
        loss += sorted_losses[:, :keep_length].sum()
        ctx.loss_index = indices[:, :keep_length]
        ctx.labels = labels
        ctx.slopes = slopes
        ctx.shape = pred.size()
        ctx.group_size = group_size
        ctx.num_groups = grouped.size(0)
        return loss

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        grad_in = torch.zeros(ctx.shape, device=ctx.slopes.device)
        offsets = torch.arange(ctx.num_groups, device=ctx.slopes.device).view(-1, 1) * ctx.group_size
        locs = (ctx.loss_index + offsets).reshape(-1)
        grad_in[locs, ctx.labels[locs].long() - 1] = ctx.slopes[locs] * grad_output.reshape(-1)[0]
        return grad_in, None, None, None, None


@LOSSES.register()
class SSNLoss(nn.Module):
    """SSN loss: activity cross entropy, OHEM completeness hinge loss and class-wise regression.

    ``forward(activity_score, completeness_score, bbox_pred, proposal_type, labels, bbox_targets,
    train_cfg)`` reads ``train_cfg.ssn.sampler`` (``num_per_video``, ``positive_ratio``,
    ``background_ratio``, ``incomplete_ratio``) and ``train_cfg.ssn.loss_weight``
    (``comp_loss_weight``, ``reg_loss_weight``); dicts and attribute configs both work.
    Proposal types: 0 positive, 1 incomplete, 2 background.
    """

    def activity_loss(self, activity_score: torch.Tensor, labels: torch.Tensor,
                      activity_indexer: torch.Tensor) -> torch.Tensor:
        """Cross entropy of the positive and background proposals."""
        return F.cross_entropy(activity_score[activity_indexer, :], labels[activity_indexer])

    def completeness_loss(self, completeness_score: torch.Tensor, labels: torch.Tensor,
                          completeness_indexer: torch.Tensor, positive_per_video: int, incomplete_per_video: int,
                          ohem_ratio: float = 0.17) -> torch.Tensor:
        """OHEM hinge loss over positives (all kept) and incompletes (``ohem_ratio``, default 0.17, kept)."""
        pred = completeness_score[completeness_indexer, :]
        gt = labels[completeness_indexer]
        pred_dim = pred.size(1)
        group = positive_per_video + incomplete_per_video
        pred = pred.view(-1, group, pred_dim)
        gt = gt.view(-1, group)
        positive_pred = pred[:, :positive_per_video, :].contiguous().view(-1, pred_dim)
        incomplete_pred = pred[:, positive_per_video:, :].contiguous().view(-1, pred_dim)
        positive_loss = OHEMHingeLoss.apply(positive_pred, gt[:, :positive_per_video].contiguous().view(-1), 1,
                                            1.0, positive_per_video)
        incomplete_loss = OHEMHingeLoss.apply(incomplete_pred, gt[:, positive_per_video:].contiguous().view(-1),
                                              -1, ohem_ratio, incomplete_per_video)
        num_positives = positive_pred.size(0)
        num_incompletes = int(incomplete_pred.size(0) * ohem_ratio)
        return (positive_loss + incomplete_loss) / float(num_positives + num_incompletes)

    def classwise_regression_loss(self, bbox_pred: torch.Tensor, labels: torch.Tensor, bbox_targets: torch.Tensor,
                                  regression_indexer: torch.Tensor) -> torch.Tensor:
        """Smooth-L1 (times 2) of the regression of each positive's own class (``label - 1``)."""
        pred = bbox_pred[regression_indexer, :, :]
        gt = labels[regression_indexer]
        reg_target = bbox_targets[regression_indexer, :]
        rows = torch.arange(pred.size(0), device=pred.device)
        classwise_reg_pred = pred[rows, gt.data - 1, :]
        return F.smooth_l1_loss(classwise_reg_pred.reshape(-1), reg_target.reshape(-1)) * 2

    def forward(self, activity_score: torch.Tensor, completeness_score: torch.Tensor,
                bbox_pred: Optional[torch.Tensor], proposal_type: torch.Tensor, labels: torch.Tensor,
                bbox_targets: torch.Tensor, train_cfg: Any) -> Dict[str, torch.Tensor]:
        ssn_cfg = _get(train_cfg, "ssn", "SSNLoss train_cfg")
        sampler = _get(ssn_cfg, "sampler", "SSNLoss train_cfg.ssn")
        loss_weight = _get(ssn_cfg, "loss_weight", "SSNLoss train_cfg.ssn")
        proposal_type = proposal_type.view(-1)
        labels = labels.view(-1)
        activity_indexer = ((proposal_type == 0) | (proposal_type == 2)).nonzero().squeeze(1)
        completeness_indexer = ((proposal_type == 0) | (proposal_type == 1)).nonzero().squeeze(1)

        where = "SSNLoss train_cfg.ssn.sampler"
        positive_ratio = _get(sampler, "positive_ratio", where)
        background_ratio = _get(sampler, "background_ratio", where)
        incomplete_ratio = _get(sampler, "incomplete_ratio", where)
        num_per_video = _get(sampler, "num_per_video", where)
        total_ratio = positive_ratio + background_ratio + incomplete_ratio
        positive_per_video = int(num_per_video * (positive_ratio / total_ratio))
        background_per_video = int(num_per_video * (background_ratio / total_ratio))
        incomplete_per_video = num_per_video - positive_per_video - background_per_video

        losses = {"loss_activity": self.activity_loss(activity_score, labels, activity_indexer)}
        losses["loss_completeness"] = self.completeness_loss(
            completeness_score, labels, completeness_indexer, positive_per_video, incomplete_per_video,
            ohem_ratio=positive_per_video / incomplete_per_video)
        losses["loss_completeness"] = losses["loss_completeness"] * _get(
            loss_weight, "comp_loss_weight", "SSNLoss train_cfg.ssn.loss_weight")
        if bbox_pred is not None:
            regression_indexer = (proposal_type == 0).nonzero().squeeze(1)
            losses["loss_reg"] = self.classwise_regression_loss(
                bbox_pred, labels, bbox_targets.view(-1, 2), regression_indexer)
            losses["loss_reg"] = losses["loss_reg"] * _get(
                loss_weight, "reg_loss_weight", "SSNLoss train_cfg.ssn.loss_weight")
        return losses


@LOSSES.register()
class HVULoss(BaseWeightedLoss):
    """Binary cross entropy for HVU tags (mmaction2 ``HVULoss``).

    Args:
        categories: Tag category names in label order. Default
            ``("action", "attribute", "concept", "event", "object", "scene")``.
        category_nums: Tags per category. Default ``(739, 117, 291, 69, 1678, 248)``.
        category_loss_weights: Per-category weights for ``loss_type="individual"``, normalized to sum 1.
            Default ``(1, 1, 1, 1, 1, 1)``.
        loss_type: ``"all"`` (default) or ``"individual"``.
        with_mask: Ignore tags of categories missing for a video. Default ``False``.
        reduction: ``"mean"`` (default) or ``"sum"``.
        loss_weight: Multiplier of the ``loss_cls`` output. Default 1.0.
    """

    def __init__(self, categories: Sequence[str] = ("action", "attribute", "concept", "event", "object", "scene"),
                 category_nums: Sequence[int] = (739, 117, 291, 69, 1678, 248),
                 category_loss_weights: Sequence[float] = (1, 1, 1, 1, 1, 1), loss_type: str = "all",
                 with_mask: bool = False, reduction: str = "mean", loss_weight: float = 1.0):
        super().__init__(loss_weight)
        if len(category_nums) != len(category_loss_weights):
            raise ConfigError(f"HVULoss: {len(category_nums)} category_nums but "
                              f"{len(category_loss_weights)} category_loss_weights")
        if any(w < 0 for w in category_loss_weights):
            raise ConfigError(f"HVULoss: category_loss_weights must be >= 0, got {tuple(category_loss_weights)}")
        if loss_type not in ("individual", "all"):
            raise ConfigError(f"HVULoss: loss_type must be 'individual' or 'all', got {loss_type!r}")
        if reduction not in ("mean", "sum"):
            raise ConfigError(f"HVULoss: reduction must be 'mean' or 'sum', got {reduction!r}")
        self.categories = tuple(categories)
        self.category_nums = tuple(category_nums)
        self.category_loss_weights = tuple(category_loss_weights)
        self.loss_type = loss_type
        self.with_mask = with_mask
        self.reduction = reduction
        self.category_startidx = [0]
        for num in self.category_nums[:-1]:
            self.category_startidx.append(self.category_startidx[-1] + num)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor, mask: torch.Tensor,
                 category_mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self.loss_type == "all":
            loss_cls = F.binary_cross_entropy_with_logits(cls_score, label, reduction="none")
            if self.with_mask:
                w_loss_cls = torch.sum(mask * loss_cls, dim=1)
                if self.reduction == "mean":
                    w_loss_cls = w_loss_cls / torch.sum(mask, dim=1)
                return dict(loss_cls=torch.mean(w_loss_cls))
            if self.reduction == "sum":
                loss_cls = torch.sum(loss_cls, dim=-1)
            return dict(loss_cls=torch.mean(loss_cls))

        losses: Dict[str, torch.Tensor] = {}
        loss_weights: Dict[str, float] = {}
        for idx, (name, num, start) in enumerate(zip(self.categories, self.category_nums, self.category_startidx)):
            category_loss = F.binary_cross_entropy_with_logits(
                cls_score[:, start:start + num], label[:, start:start + num], reduction="none")
            category_loss = category_loss.mean(dim=1) if self.reduction == "mean" else category_loss.sum(dim=1)
            if self.with_mask:
                category_mask_i = category_mask[:, idx].reshape(-1)
                if torch.sum(category_mask_i) < 0.5:
                    losses[f"{name}_LOSS"] = torch.tensor(0.0, device=cls_score.device)
                    loss_weights[f"{name}_LOSS"] = 0.0
                    continue
                category_loss = torch.sum(category_loss * category_mask_i) / torch.sum(category_mask_i)
            else:
                category_loss = torch.mean(category_loss)
            losses[f"{name}_LOSS"] = category_loss
            loss_weights[f"{name}_LOSS"] = self.category_loss_weights[idx]
        weight_sum = sum(loss_weights.values())
        loss_weights = {k: v / weight_sum for k, v in loss_weights.items()}
        losses["loss_cls"] = sum(losses[k] * loss_weights[k] for k in list(losses))
        losses.update({k + "_weight": torch.tensor(v).to(losses[k].device) for k, v in loss_weights.items()})
        return losses

"""``BBoxHeadAVA`` (mmaction2 0.24.1): the classification-only RoI head of the AVA detectors."""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import HEADS


def _pool(kind: str, size: Tuple[Optional[int], Optional[int], Optional[int]], what: str) -> nn.Module:
    if kind == "avg":
        return nn.AdaptiveAvgPool3d(size)
    if kind == "max":
        return nn.AdaptiveMaxPool3d(size)
    raise ConfigError(f"{what} must be 'avg' or 'max', got {kind!r}")


@HEADS.register()
class BBoxHeadAVA(nn.Module):
    """Pool RoI features over time and space, then one ``fc_cls`` (no box regression).

    Args:
        temporal_pool_type: ``"avg"`` (default) or ``"max"``.
        spatial_pool_type: ``"avg"`` or ``"max"`` (default).
        in_channels: Channels of the RoI features. Default 2048.
        focal_gamma: Focal-loss gamma (0 = plain BCE / cross entropy). Default 0.0.
        focal_alpha: Focal-loss alpha. Default 1.0.
        num_classes: Classes including the reserved class 0. Default 81.
        dropout_ratio: Dropout probability (0 = none). Default 0.
        dropout_before_pool: Apply dropout before pooling (else after). Default ``True``.
        topk: ``int`` or tuple of ints for the recall/precision@k training metrics. Default ``(3, 5)``.
        multilabel: Sigmoid scores and BCE loss (``True``, default) or softmax and cross entropy.
    """

    def __init__(
        self,
        temporal_pool_type: str = "avg",
        spatial_pool_type: str = "max",
        in_channels: int = 2048,
        focal_gamma: float = 0.0,
        focal_alpha: float = 1.0,
        num_classes: int = 81,
        dropout_ratio: float = 0.0,
        dropout_before_pool: bool = True,
        topk: Union[int, Sequence[int], None] = (3, 5),
        multilabel: bool = True,
    ):
        super().__init__()
        self.temporal_pool_type = temporal_pool_type
        self.spatial_pool_type = spatial_pool_type
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.dropout_ratio = dropout_ratio
        self.dropout_before_pool = dropout_before_pool
        self.multilabel = multilabel
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        if topk is None:
            self.topk: Tuple[int, ...] = ()
        elif isinstance(topk, int) and not isinstance(topk, bool):
            self.topk = (topk,)
        elif isinstance(topk, (tuple, list)) and all(isinstance(k, int) for k in topk):
            self.topk = tuple(topk)
        else:
            raise ConfigError(f"BBoxHeadAVA topk must be an int or a tuple of ints, got {topk!r}")
        if any(k >= num_classes for k in self.topk):
            raise ConfigError(f"BBoxHeadAVA topk {self.topk} must be < num_classes ({num_classes}); class 0 is ignored")
        self.temporal_pool = _pool(temporal_pool_type, (1, None, None), "BBoxHeadAVA temporal_pool_type")
        self.spatial_pool = _pool(spatial_pool_type, (None, 1, 1), "BBoxHeadAVA spatial_pool_type")
        if dropout_ratio > 0:
            self.dropout = nn.Dropout(dropout_ratio)
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """``fc_cls``: weight N(0, 0.01), bias 0 (mmaction2)."""
        nn.init.normal_(self.fc_cls.weight, 0, 0.01)
        nn.init.constant_(self.fc_cls.bias, 0)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, None]:
        """``x [K, C, T, H, W]`` → ``(cls_score [K, num_classes], None)`` (no box prediction)."""
        if x.dim() != 5 or x.size(1) != self.in_channels:
            raise ShapeError(f"BBoxHeadAVA expects RoI features [K, {self.in_channels}, T, H, W], got {tuple(x.shape)}")
        if self.dropout_before_pool and self.dropout_ratio > 0:
            x = self.dropout(x)
        x = self.spatial_pool(self.temporal_pool(x))
        if not self.dropout_before_pool and self.dropout_ratio > 0:
            x = self.dropout(x)
        return self.fc_cls(x.view(x.size(0), -1)), None

    @staticmethod
    def get_recall_prec(pred_vec: torch.Tensor, target_vec: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mean per-sample recall and precision of boolean ``[N, C]`` predictions vs targets."""
        correct = pred_vec & target_vec
        recall = correct.sum(1) / target_vec.sum(1).float()
        prec = correct.sum(1) / (pred_vec.sum(1) + 1e-6)
        return recall.mean(), prec.mean()

    @staticmethod
    def topk_to_matrix(probs: torch.Tensor, k: int) -> torch.Tensor:
        """Boolean ``[N, C]`` matrix marking each row's top-``k`` entries."""
        labels = probs.topk(k, 1, True, True)[1]
        matrix = torch.zeros_like(probs, dtype=torch.bool)
        matrix.scatter_(1, labels, True)
        return matrix

    def topk_accuracy(self, pred: torch.Tensor, target: torch.Tensor, thr: float = 0.5):
        """Recall/precision at ``thr`` (multilabel) or top-1 (single label), and at every ``topk``."""
        target_bool = target > 0.5
        pred = pred.sigmoid() if self.multilabel else pred.softmax(dim=1)
        pred_bool = pred > thr if self.multilabel else self.topk_to_matrix(pred, 1)
        recall_thr, prec_thr = self.get_recall_prec(pred_bool, target_bool)
        recalls, precs = [], []
        for k in self.topk:
            recall, prec = self.get_recall_prec(self.topk_to_matrix(pred, k), target_bool)
            recalls.append(recall)
            precs.append(prec)
        return recall_thr, prec_thr, recalls, precs

    def loss(
        self,
        cls_score: Optional[torch.Tensor],
        bbox_pred: Optional[torch.Tensor],
        rois: Optional[torch.Tensor],
        labels: torch.Tensor,
        label_weights: Optional[torch.Tensor],
        bbox_targets: Optional[torch.Tensor] = None,
        bbox_weights: Optional[torch.Tensor] = None,
        reduce: bool = True,
    ) -> Dict[str, torch.Tensor]:
        """Focal BCE (multilabel) or focal cross entropy over the positive RoIs, class 0 dropped.

        ``labels [K, num_classes]`` are multi-hot; rows without a positive class (besides 0) are
        skipped (with no row left, the loss is 0 and no recall/precision is reported). ``loss = mean(focal_alpha * (1 - exp(-l)) ** focal_gamma * l)`` with the
        element-wise BCE (or per-row cross entropy with labels normalized to sum 1) ``l``.
        Also returns ``recall@thr=0.5``, ``prec@thr=0.5`` and ``recall@top{k}``/``prec@top{k}``.
        """
        losses: Dict[str, torch.Tensor] = {}
        if cls_score is None:
            return losses
        if labels.shape != cls_score.shape:
            raise ShapeError(f"BBoxHeadAVA.loss: labels {tuple(labels.shape)} must match cls_score {tuple(cls_score.shape)}")
        labels = labels[:, 1:]
        pos_inds = torch.sum(labels, dim=-1) > 0
        if not bool(pos_inds.any()):
            # nothing to learn from (mmaction2 would average over no element and give NaN): a zero
            # loss that keeps the graph, so a training step over such a batch changes nothing
            losses["loss_action_cls"] = cls_score.sum() * 0.0
            return losses
        cls_score = cls_score[pos_inds, 1:]
        labels = labels[pos_inds]
        recall_thr, prec_thr, recall_k, prec_k = self.topk_accuracy(cls_score, labels, thr=0.5)
        losses["recall@thr=0.5"] = recall_thr
        losses["prec@thr=0.5"] = prec_thr
        for i, k in enumerate(self.topk):
            losses[f"recall@top{k}"] = recall_k[i]
            losses[f"prec@top{k}"] = prec_k[i]
        if self.multilabel:
            loss = F.binary_cross_entropy_with_logits(cls_score, labels.to(cls_score), reduction="none")
        else:
            labels = labels / labels.sum(dim=1, keepdim=True)
            loss = F.cross_entropy(cls_score, labels.to(cls_score), reduction="none")
        pt = torch.exp(-loss)
        losses["loss_action_cls"] = torch.mean(self.focal_alpha * (1 - pt) ** self.focal_gamma * loss)
        return losses

    def get_det_bboxes(
        self,
        rois: torch.Tensor,
        cls_score: Union[torch.Tensor, Sequence[torch.Tensor], None],
        img_shape: Sequence[int],
        flip: bool = False,
        crop_quadruple: Optional[Sequence[float]] = None,
        cfg: Optional[Dict] = None,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Boxes normalized to ``[0, 1]`` of the original frame, and sigmoid/softmax scores.

        Args:
            rois: ``[K, 5]`` RoIs in pixels of ``img_shape``.
            cls_score: ``[K, num_classes]`` raw scores (a list is averaged), or ``None``.
            img_shape: ``(H, W)`` of the network input.
            flip: Undo a horizontal flip first (``x1' = W - 1 - x2``). Default ``False``.
            crop_quadruple: ``(x, y, w, h)`` normalized crop to undo. Default ``None``.
            cfg: Unused (mmaction2 signature). Default ``None``.
        """
        if isinstance(cls_score, (list, tuple)):
            cls_score = sum(cls_score) / float(len(cls_score))
        scores = None
        if cls_score is not None:
            scores = cls_score.sigmoid() if self.multilabel else cls_score.softmax(dim=-1)
        bboxes = rois[:, 1:].clone()
        if bboxes.shape[-1] != 4:
            raise ShapeError(f"get_det_bboxes: rois must be [K, 5], got {tuple(rois.shape)}")
        img_h, img_w = img_shape
        if flip:
            flipped = bboxes.clone()
            flipped[:, 0] = img_w - 1 - bboxes[:, 2]
            flipped[:, 2] = img_w - 1 - bboxes[:, 0]
            bboxes = flipped
        bboxes[:, 0::2] /= img_w
        bboxes[:, 1::2] /= img_h
        if crop_quadruple is not None:
            x1, y1, tw, th = (float(v) for v in crop_quadruple)
            decropped = bboxes.clone()
            decropped[:, 0::2] = bboxes[:, 0::2] * tw + x1
            decropped[:, 1::2] = bboxes[:, 1::2] * th + y1
            bboxes = decropped
        return bboxes, scores

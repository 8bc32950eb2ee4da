"""``BaseHead``: the loss and accuracy bookkeeping every classification head shares, and its classifier."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
from torch import nn

from .init import normal_init
from .losses import build_loss

from ..errors import ConfigError


class AvgConsensus(nn.Module):
    """Average over segments: ``x.mean(dim, keepdim=True)``. ``dim`` defaults to 1."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.dim, keepdim=True)


def build_consensus(cfg: Dict) -> nn.Module:
    """Build a consensus module; ``AvgConsensus`` is the only type in mmaction2's 2D heads."""
    kwargs = {k: v for k, v in cfg.items() if k != "type"}
    if cfg.get("type") != "AvgConsensus":
        raise ConfigError(f"unknown consensus type {cfg.get('type')!r}; expected 'AvgConsensus'")
    return AvgConsensus(**kwargs)


def top_k_hits(cls_score: torch.Tensor, labels: torch.Tensor, topk: Sequence[int]) -> Dict[int, torch.Tensor]:
    """Fraction of rows whose label is among the ``k`` highest scores, for each ``k`` in ``topk``."""
    max_k = min(max(topk), cls_score.size(1))
    ranked = cls_score.topk(max_k, dim=1).indices
    hits = ranked == labels.view(-1, 1)
    return {k: hits[:, :k].any(dim=1).float().mean() for k in topk}


class BaseHead(nn.Module):
    """Base class of classification heads (mmaction2 ``BaseHead``).

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the input feature.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss", loss_weight=1.0)``.
        multi_class: Multi-label targets (use with ``BCELossWithLogits``). Default ``False``.
        label_smooth_eps: Label smoothing of multi-label targets. Default 0.0.
        topk: Accuracies reported by :meth:`loss`. Default ``(1, 5)``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss_cls: Dict = dict(type="CrossEntropyLoss", loss_weight=1.0),
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
        topk: Sequence[int] = (1, 5),
    ):
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.loss_cls = build_loss(loss_cls)
        self.multi_class = multi_class
        self.label_smooth_eps = label_smooth_eps
        self.topk = tuple(topk)

    def add_classifier(self, dropout_ratio: float, init_std: float, out_features: Optional[int] = None) -> None:
        """The dropout and linear ``fc_cls`` most heads end with (mmaction2's layout).

        Args:
            dropout_ratio: Dropout before ``fc_cls``; 0 means no dropout module (``self.dropout`` is ``None``).
            init_std: Std of ``fc_cls``'s normal init in :meth:`init_weights`.
            out_features: Outputs of ``fc_cls``. Default ``None``: ``num_classes``.
        """
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(self.in_channels, self.num_classes if out_features is None else out_features)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """``fc_cls`` of ``x`` (after the dropout, if any)."""
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x)

    def init_weights(self) -> None:
        """``N(0, init_std)`` weight and zero bias for the classifier of :meth:`add_classifier`."""
        normal_init(self.fc_cls, std=self.init_std)

    def loss(self, cls_score: torch.Tensor, labels: torch.Tensor, **kwargs) -> Dict[str, torch.Tensor]:
        """Return ``{"loss_cls": ..., "top1_acc": ..., "top5_acc": ...}`` as mmaction2 reports them."""
        losses: Dict[str, torch.Tensor] = {}
        if labels.dim() == 0:
            labels = labels.unsqueeze(0)
        elif labels.dim() == 1 and labels.size(0) == self.num_classes and cls_score.size(0) == 1:
            labels = labels.unsqueeze(0)
        if not self.multi_class and cls_score.size() != labels.size():
            for k, acc in top_k_hits(cls_score.detach(), labels, self.topk).items():
                losses[f"top{k}_acc"] = acc
        elif self.multi_class and self.label_smooth_eps != 0:
            labels = (1 - self.label_smooth_eps) * labels + self.label_smooth_eps / self.num_classes
        loss_cls = self.loss_cls(cls_score, labels, **kwargs)
        if isinstance(loss_cls, dict):
            losses.update(loss_cls)
        else:
            losses["loss_cls"] = loss_cls
        return losses

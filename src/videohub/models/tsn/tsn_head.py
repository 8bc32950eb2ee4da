"""``TSNHead``: spatial pooling, segmental consensus, dropout and a linear classifier."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
from torch import nn

from ...errors import ConfigError
from ...registry import HEADS
from ...layers.heads import BaseHead, build_consensus


@HEADS.register()
class TSNHead(BaseHead):
    """Class head of TSN.

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the backbone feature.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        spatial_type: ``"avg"`` (default), ``"max"`` or ``None`` (input already pooled).
        consensus: Segment consensus. Default ``dict(type="AvgConsensus", dim=1)``.
        dropout_ratio: Dropout before the classifier. Default 0.4.
        init_std: Std of the classifier's normal init. Default 0.01.
        multi_class, label_smooth_eps, topk: See :class:`BaseHead` (defaults ``False``, 0.0, ``(1, 5)``).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss_cls: Dict = dict(type="CrossEntropyLoss"),
        spatial_type: Optional[str] = "avg",
        consensus: Dict = dict(type="AvgConsensus", dim=1),
        dropout_ratio: float = 0.4,
        init_std: float = 0.01,
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
        topk: Sequence[int] = (1, 5),
    ):
        super().__init__(num_classes, in_channels, loss_cls, multi_class, label_smooth_eps, topk)
        if spatial_type not in ("avg", "max", None):
            raise ConfigError(f"TSNHead spatial_type must be 'avg', 'max' or None, got {spatial_type!r}")
        self.spatial_type = spatial_type
        self.consensus = build_consensus(consensus)
        if spatial_type == "avg":
            self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        elif spatial_type == "max":
            self.avg_pool = nn.AdaptiveMaxPool2d((1, 1))
        else:
            self.avg_pool = None
        self.add_classifier(dropout_ratio, init_std)
        self.init_weights()

    def forward(self, x: torch.Tensor, num_segs: int) -> torch.Tensor:
        """``x``: ``[N * num_segs, C, H, W]`` → class scores ``[N, num_classes]``."""
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        x = x.reshape((-1, num_segs) + x.shape[1:])
        x = self.consensus(x).squeeze(1)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x.view(x.size(0), -1))

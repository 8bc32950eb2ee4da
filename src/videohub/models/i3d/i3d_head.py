"""``I3DHead``: global average pooling, dropout and a linear classifier on a 3D feature map."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import HEADS
from ...layers.heads import BaseHead


@HEADS.register()
class I3DHead(BaseHead):
    """Classification head of I3D, SlowOnly, R(2+1)D and CSN.

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the backbone feature.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        spatial_type: ``"avg"`` (default): ``AdaptiveAvgPool3d(1)`` over T, H, W; ``None``: the
            input is already pooled. (mmaction2 treats any other string like ``None``; videohub
            rejects it.)
        dropout_ratio: Dropout before the classifier. Default 0.5.
        init_std: Std of the classifier's normal init. Default 0.01.
        multi_class, label_smooth_eps, topk: See :class:`BaseHead` (defaults ``False``, 0.0, ``(1, 5)``).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss_cls: Dict = dict(type="CrossEntropyLoss"),
        spatial_type: Optional[str] = "avg",
        dropout_ratio: float = 0.5,
        init_std: float = 0.01,
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
        topk: Sequence[int] = (1, 5),
    ):
        super().__init__(num_classes, in_channels, loss_cls, multi_class, label_smooth_eps, topk)
        if spatial_type not in ("avg", None):
            raise ConfigError(f"{type(self).__name__}: spatial_type must be 'avg' or None, got {spatial_type!r}")
        self.spatial_type = spatial_type
        self.add_classifier(dropout_ratio, init_std)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1)) if spatial_type == "avg" else None
        self.init_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, in_channels, T, H, W]`` → class scores ``[N, num_classes]``."""
        if self.avg_pool is not None:
            if x.dim() != 5:
                raise ShapeError(f"I3DHead expects a feature [N, {self.in_channels}, T, H, W], got {tuple(x.shape)}")
            x = self.avg_pool(x)
        if self.dropout is not None:
            x = self.dropout(x)
        x = x.view(x.shape[0], -1)
        if x.shape[1] != self.in_channels:
            raise ShapeError(f"I3DHead: pooled feature has {x.shape[1]} values per sample, expected "
                             f"in_channels={self.in_channels}")
        return self.fc_cls(x)

"""``X3DHead``: spatio-temporal pooling, a 2048-d hidden fc layer with ReLU, dropout and the classifier."""

from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import HEADS
from ...layers.init import normal_init
from ...layers.heads import BaseHead


@HEADS.register()
class X3DHead(BaseHead):
    """Classification head of X3D (mmaction2 ``X3DHead``).

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the backbone feature.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        spatial_type: Global pooling over ``T, H, W``: ``"avg"`` (default) or ``"max"``.
        dropout_ratio: Dropout after the hidden layer. Default 0.5.
        init_std: Std of the normal init of both fc layers. Default 0.01.
        fc1_bias: Whether the hidden fc layer ``fc1`` has a bias. Default ``False``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss_cls: Dict = dict(type="CrossEntropyLoss"),
        spatial_type: str = "avg",
        dropout_ratio: float = 0.5,
        init_std: float = 0.01,
        fc1_bias: bool = False,
    ):
        super().__init__(num_classes, in_channels, loss_cls)
        if spatial_type not in ("avg", "max"):
            raise ConfigError(f"X3DHead spatial_type must be 'avg' or 'max', got {spatial_type!r}")
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.mid_channels = 2048
        self.fc1_bias = fc1_bias
        self.fc1 = nn.Linear(in_channels, self.mid_channels, bias=fc1_bias)
        self.fc2 = nn.Linear(self.mid_channels, num_classes)
        self.relu = nn.ReLU()
        if spatial_type == "avg":
            self.pool = nn.AdaptiveAvgPool3d((1, 1, 1))
        else:
            self.pool = nn.AdaptiveMaxPool3d((1, 1, 1))
        self.init_weights()

    def init_weights(self) -> None:
        """N(0, ``init_std``) weights and zero biases for ``fc1`` and ``fc2``."""
        normal_init(self.fc1, std=self.init_std)
        normal_init(self.fc2, std=self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_channels, T, H, W]`` → class scores ``[N, num_classes]``."""
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ShapeError(f"X3DHead expects [N, {self.in_channels}, T, H, W], got {tuple(x.shape)}")
        x = self.pool(x).view(x.shape[0], -1)
        x = self.relu(self.fc1(x))
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc2(x)

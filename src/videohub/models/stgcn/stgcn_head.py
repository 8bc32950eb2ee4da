"""``STGCNHead``: pooling over time and joints, the mean over persons, and a 1x1-conv classifier."""

from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...layers.heads import BaseHead
from ...layers.init import normal_init
from ...registry import HEADS


@HEADS.register()
class STGCNHead(BaseHead):
    """Classification head of ST-GCN and 2s-AGCN (mmaction2 ``STGCNHead``).

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the backbone feature.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        spatial_type: Pooling over ``T, V``: ``"avg"`` (default) or ``"max"``.
        num_person: Persons ``M`` per sample; their pooled features are averaged. Default 2.
        init_std: Std of the classifier's normal init. Default 0.01.
    """

    def __init__(self, num_classes: int, in_channels: int, loss_cls: Dict = dict(type="CrossEntropyLoss"),
                 spatial_type: str = "avg", num_person: int = 2, init_std: float = 0.01):
        super().__init__(num_classes, in_channels, loss_cls)
        if spatial_type not in ("avg", "max"):
            raise ConfigError(f"STGCNHead spatial_type must be 'avg' or 'max', got {spatial_type!r}")
        if num_person < 1:
            raise ConfigError(f"STGCNHead num_person must be >= 1, got {num_person}")
        self.spatial_type = spatial_type
        self.num_person = num_person
        self.init_std = init_std
        self.pool = nn.AdaptiveAvgPool2d((1, 1)) if spatial_type == "avg" else nn.AdaptiveMaxPool2d((1, 1))
        self.fc = nn.Conv2d(in_channels, num_classes, kernel_size=1)
        self.init_weights()

    def init_weights(self) -> None:
        """N(0, ``init_std``) classifier weights, zero bias."""
        normal_init(self.fc, std=self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N*M, in_channels, T, V]`` → class scores ``[N, num_classes]``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[0] % self.num_person:
            raise ShapeError(f"STGCNHead expects [N*{self.num_person}, {self.in_channels}, T, V] "
                             f"(num_person={self.num_person}), got {tuple(x.shape)}")
        x = self.pool(x)
        x = x.view(x.shape[0] // self.num_person, self.num_person, -1, 1, 1).mean(dim=1)
        return self.fc(x).flatten(1)

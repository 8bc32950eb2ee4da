"""``TimeSformerHead``: one linear classifier on the class token."""

from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from ...errors import ShapeError
from ...layers.heads import BaseHead
from ...registry import HEADS


@HEADS.register()
class TimeSformerHead(BaseHead):
    """Classification head of TimeSformer (mmaction2 ``TimeSformerHead``).

    Args:
        num_classes: Number of classes.
        in_channels: Width of the class token.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        init_std: Std of the truncated-normal init of ``fc_cls`` (cut at ±2). Default 0.02.
        **kwargs: ``multi_class``, ``label_smooth_eps``, ``topk`` of :class:`~videohub.layers.heads.BaseHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, loss_cls: Dict = dict(type="CrossEntropyLoss"),
                 init_std: float = 0.02, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls, **kwargs)
        self.init_std = init_std
        self.fc_cls = nn.Linear(in_channels, num_classes)
        self.init_weights()

    def init_weights(self) -> None:
        """Truncated normal ``N(0, init_std)`` in ``[-2, 2]`` for the weight, zero bias (mmcv ``trunc_normal_init``)."""
        nn.init.trunc_normal_(self.fc_cls.weight, mean=0.0, std=self.init_std, a=-2.0, b=2.0)
        nn.init.zeros_(self.fc_cls.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_channels]`` → class scores ``[N, num_classes]``."""
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ShapeError(f"TimeSformerHead expects [N, {self.in_channels}], got {tuple(x.shape)}")
        return self.fc_cls(x)

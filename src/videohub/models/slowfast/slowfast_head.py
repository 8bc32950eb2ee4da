"""``SlowFastHead``: pools both pathways, concatenates them (fast first) and classifies."""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import HEADS
from ...layers.heads import BaseHead


@HEADS.register()
class SlowFastHead(BaseHead):
    """Classification head of SlowFast.

    The input is the backbone's ``(slow, fast)`` tuple. As in mmaction2, the pooled features are
    concatenated as ``[fast, slow]`` (mmaction2 unpacks the tuple as ``x_fast, x_slow`` and
    concatenates ``(x_slow, x_fast)``), which fixes the column order of ``fc_cls.weight``.

    Args:
        num_classes: Number of classes.
        in_channels: Slow plus fast channels.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        spatial_type: Only ``"avg"`` (default) works in mmaction2; videohub rejects anything else.
        dropout_ratio: Dropout before the classifier. Default 0.8.
        init_std: Std of the classifier's normal init. Default 0.01.
        multi_class, label_smooth_eps, topk: See :class:`BaseHead` (defaults ``False``, 0.0, ``(1, 5)``).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss_cls: Dict = dict(type="CrossEntropyLoss"),
        spatial_type: str = "avg",
        dropout_ratio: float = 0.8,
        init_std: float = 0.01,
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
        topk: Sequence[int] = (1, 5),
    ):
        super().__init__(num_classes, in_channels, loss_cls, multi_class, label_smooth_eps, topk)
        if spatial_type != "avg":
            raise ConfigError(f"SlowFastHead: spatial_type must be 'avg', got {spatial_type!r}")
        self.spatial_type = spatial_type
        self.add_classifier(dropout_ratio, init_std)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.init_weights()

    def forward(self, x: Tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """``(slow [N, Cs, Ts, H, W], fast [N, Cf, Tf, H, W])`` → class scores ``[N, num_classes]``."""
        if not isinstance(x, (tuple, list)) or len(x) != 2:
            raise ShapeError(f"SlowFastHead expects the (slow, fast) feature tuple, got {type(x).__name__}")
        first, second = x
        pooled = torch.cat((self.avg_pool(second), self.avg_pool(first)), dim=1)
        if pooled.shape[1] != self.in_channels:
            raise ShapeError(f"SlowFastHead: slow + fast features have {pooled.shape[1]} channels, expected "
                             f"in_channels={self.in_channels}")
        return self.classify(pooled.view(pooled.size(0), -1))

"""``AudioTSNHead``: global average pooling of a spectrogram feature, dropout and a linear classifier."""

from __future__ import annotations

from typing import Dict, Sequence

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import HEADS
from ...layers.heads import BaseHead


@HEADS.register()
class AudioTSNHead(BaseHead):
    """Classification head of the audio recognizers (mmaction2 ``AudioTSNHead``).

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the backbone feature.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        spatial_type: Pooling over ``T, F``; only ``"avg"`` (default) works, as in mmaction2, whose
            forward fails for any other value. Anything else raises ``ConfigError`` here.
        dropout_ratio: Dropout before the classifier. Default 0.4.
        init_std: Std of the classifier's normal init. Default 0.01.
        multi_class, label_smooth_eps, topk: :class:`BaseHead` arguments that mmaction2 passes
            through ``**kwargs`` (defaults ``False``, 0.0, ``(1, 5)``).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        loss_cls: Dict = dict(type="CrossEntropyLoss"),
        spatial_type: str = "avg",
        dropout_ratio: float = 0.4,
        init_std: float = 0.01,
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
        topk: Sequence[int] = (1, 5),
    ):
        super().__init__(num_classes, in_channels, loss_cls, multi_class, label_smooth_eps, topk)
        if spatial_type != "avg":
            raise ConfigError(f"AudioTSNHead spatial_type must be 'avg', got {spatial_type!r}")
        self.spatial_type = spatial_type
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.add_classifier(dropout_ratio, init_std)
        self.init_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N * num_clips, in_channels, T, F]`` → class scores ``[N * num_clips, num_classes]``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"AudioTSNHead expects [N, {self.in_channels}, T, F], got {tuple(x.shape)}")
        return self.classify(self.avg_pool(x).view(x.size(0), -1))

"""``TSMHead``: per-segment classifier followed by the segmental consensus (mmaction2 ``TSMHead``)."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import HEADS
from ...layers.heads import BaseHead, build_consensus


@HEADS.register()
class TSMHead(BaseHead):
    """Class head for TSM, also used by TIN, TANet and MobileNetV2-TSM.

    Unlike :class:`TSNHead`, the classifier runs on every segment and the consensus averages the
    segment scores; the segment count is the head's ``num_segments`` (``num_segs`` is ignored).

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the backbone feature.
        num_segments: Frames per clip. Default 8.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        spatial_type: ``"avg"`` (default) or ``None`` (input already pooled).
        consensus: Segment consensus. Default ``dict(type="AvgConsensus", dim=1)``.
        dropout_ratio: Dropout before the classifier. Default 0.8.
        init_std: Std of the classifier's normal init. Default 0.001.
        is_shift: Whether the backbone shifts features; with ``temporal_pool`` the head then
            expects ``num_segments // 2`` segments. Default ``True``.
        temporal_pool: Whether the backbone pooled time by 2. Default ``False``.
        multi_class, label_smooth_eps, topk: See :class:`BaseHead` (defaults ``False``, 0.0, ``(1, 5)``).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        num_segments: int = 8,
        loss_cls: Dict = dict(type="CrossEntropyLoss"),
        spatial_type: Optional[str] = "avg",
        consensus: Dict = dict(type="AvgConsensus", dim=1),
        dropout_ratio: float = 0.8,
        init_std: float = 0.001,
        is_shift: bool = True,
        temporal_pool: bool = False,
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
        topk: Sequence[int] = (1, 5),
    ):
        super().__init__(num_classes, in_channels, loss_cls, multi_class, label_smooth_eps, topk)
        if spatial_type not in ("avg", None):
            raise ConfigError(f"TSMHead spatial_type must be 'avg' or None, got {spatial_type!r}")
        if not isinstance(num_segments, int) or num_segments <= 0:
            raise ConfigError(f"TSMHead num_segments must be a positive int, got {num_segments!r}")
        self.spatial_type = spatial_type
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.temporal_pool = temporal_pool
        self.consensus = build_consensus(consensus)
        self.add_classifier(dropout_ratio, init_std)
        self.avg_pool = nn.AdaptiveAvgPool2d(1) if spatial_type == "avg" else None
        self.init_weights()

    def forward(self, x: torch.Tensor, num_segs: Optional[int] = None) -> torch.Tensor:
        """``x``: ``[N * num_segments, C, H, W]`` → ``[N, num_classes]``. ``num_segs`` is unused."""
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        x = torch.flatten(x.contiguous(), 1)
        cls_score = self.classify(x)
        segments = self.num_segments // 2 if (self.is_shift and self.temporal_pool) else self.num_segments
        if cls_score.size(0) % segments != 0:
            raise ShapeError(
                f"TSMHead: {cls_score.size(0)} segment features are not a multiple of num_segments={segments}"
            )
        cls_score = cls_score.view((-1, segments) + cls_score.size()[1:])
        return self.consensus(cls_score).squeeze(1)

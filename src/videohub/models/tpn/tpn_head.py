"""``TPNHead``: the TSN head for the TPN neck's 5D output, with fully-convolutional testing."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import HEADS
from ..tsn.tsn_head import TSNHead


@HEADS.register()
class TPNHead(TSNHead):
    """Class head for TPN (mmaction2 ``TPNHead``, a ``TSNHead``).

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the neck output (2048 for mmaction2's TPN).
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        spatial_type: ``"avg"`` (default) pools ``[N, C, T, H, W]`` globally with an adaptive 3D
            average pool; other values leave 3D inputs unpooled (mmaction2 then fails, and this
            head raises ``ConfigError``) and keep ``fcn_test`` maps unpooled.
        consensus: Segment consensus for the 2D path. Default ``dict(type="AvgConsensus", dim=1)``.
        dropout_ratio: Dropout before the classifier. Default 0.4.
        init_std: Std of the classifier's normal init. Default 0.01.
        multi_class, label_smooth_eps, topk: :class:`BaseHead` arguments (defaults ``False``, 0.0, ``(1, 5)``).

    Unlike mmaction2, the 2D path's ``(1, H, W)`` average pool and the ``fcn_test`` 1x1x1 conv are
    computed on every call from the current input and ``fc_cls`` instead of being cached on the
    first call, so no ``new_cls`` parameters appear in the state dict and later calls with another
    feature size or updated weights stay correct; the scores are the same.
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
        super().__init__(num_classes, in_channels, loss_cls, spatial_type, consensus, dropout_ratio, init_std,
                         multi_class, label_smooth_eps, topk)
        self.avg_pool3d = nn.AdaptiveAvgPool3d((1, 1, 1)) if spatial_type == "avg" else None

    def forward(self, x: torch.Tensor, num_segs: Optional[int] = None, fcn_test: bool = False) -> torch.Tensor:
        """Class scores from the TPN feature.

        Args:
            x: ``[N, C, T, H, W]`` (3D recognizer, ``num_segs=None``), or ``[N * num_segs, C, H, W]``
                (2D recognizer; the neck output squeezed over its unit time axis).
            num_segs: Segments per video for the 2D path; ``None`` (default) selects the 3D path.
            fcn_test: Fully-convolutional testing: (pool, if ``spatial_type="avg"``, then) apply the
                classifier as a 1x1x1 conv to ``x`` ``[N, C, T, H, W]``; returns
                ``[N, num_classes, T', H', W']``. A 4D ``x`` is taken as a neck output whose unit time
                axis was squeezed (``[N, C, H, W]`` = ``[N, C, 1, H, W]``). Default ``False``.

        Returns:
            ``[N, num_classes]`` scores (or the score map with ``fcn_test``).
        """
        if x.shape[1] != self.in_channels:
            raise ShapeError(f"TPNHead expects {self.in_channels} channels in dim 1, got {tuple(x.shape)}")
        if fcn_test:
            if x.dim() == 4:
                x = x.unsqueeze(2)
            if x.dim() != 5:
                raise ShapeError(f"TPNHead fcn_test expects [N, C, T, H, W] or [N, C, H, W], got {tuple(x.shape)}")
            if self.avg_pool3d is not None:
                x = self.avg_pool3d(x)
            weight = self.fc_cls.weight[:, :, None, None, None]
            return F.conv3d(x, weight, self.fc_cls.bias)
        if num_segs is None:
            if x.dim() != 5:
                raise ShapeError(f"TPNHead without num_segs expects [N, C, T, H, W], got {tuple(x.shape)}")
            if self.avg_pool3d is None:
                raise ConfigError(
                    f"TPNHead spatial_type={self.spatial_type!r} cannot pool a 3D feature; use spatial_type='avg'")
            x = self.avg_pool3d(x)
        else:
            if x.dim() != 4:
                raise ShapeError(f"TPNHead with num_segs expects [N * num_segs, C, H, W], got {tuple(x.shape)}")
            x = F.avg_pool2d(x, kernel_size=(x.shape[-2], x.shape[-1]), stride=1)
            x = x.reshape((-1, num_segs) + x.shape[1:])
            x = self.consensus(x).squeeze(1)
        if self.dropout is not None:
            x = self.dropout(x)
        x = x.view(x.size(0), -1)
        return self.fc_cls(x)

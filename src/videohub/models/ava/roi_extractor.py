"""``SingleRoIExtractor3D`` (mmaction2 0.24): RoI features of a single-level 3D feature map."""

from __future__ import annotations

from typing import Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import HEADS
from ...layers.roi_align import RoIAlign, RoIPool

Features = Union[torch.Tensor, Tuple[torch.Tensor, ...]]


@HEADS.register()
class SingleRoIExtractor3D(nn.Module):
    """Extract RoI features from a single-level ``[N, C, T, H, W]`` feature map (or a pathway tuple).

    A tuple of feature maps (SlowFast's ``(slow, fast)``) is resized to the largest T with nearest
    interpolation, pooled over time (if ``with_temporal_pool``) and concatenated along channels.
    RoI pooling then runs frame by frame.

    Args:
        roi_layer_type: ``"RoIAlign"`` (default) or ``"RoIPool"``.
        featmap_stride: Stride of the feature map w.r.t. the image (``spatial_scale = 1/stride``). Default 16.
        output_size: ``int`` or ``(h, w)`` of the pooled RoI features. Default 16.
        sampling_ratio: RoIAlign samples per bin and axis, 0 = adaptive. Default 0.
        pool_mode: RoIAlign pooling in a bin, ``"avg"`` or ``"max"``. Default ``"avg"``.
        aligned: RoIAlign pixel alignment (``False`` = legacy). Default ``True``.
        with_temporal_pool: Pool the temporal dimension to 1 before the RoI layer. Default ``True``.
        temporal_pool_mode: ``"avg"`` (default) or ``"max"`` temporal pooling.
        with_global: Concatenate the global ``AdaptiveAvgPool2d(output_size)`` feature of the RoI's
            image after the RoI channels. Default ``False``.

    ``sampling_ratio``, ``pool_mode`` and ``aligned`` only apply to RoIAlign.
    """

    def __init__(
        self,
        roi_layer_type: str = "RoIAlign",
        featmap_stride: int = 16,
        output_size: Union[int, Sequence[int]] = 16,
        sampling_ratio: int = 0,
        pool_mode: str = "avg",
        aligned: bool = True,
        with_temporal_pool: bool = True,
        temporal_pool_mode: str = "avg",
        with_global: bool = False,
    ):
        super().__init__()
        if roi_layer_type not in ("RoIPool", "RoIAlign"):
            raise ConfigError(f"SingleRoIExtractor3D roi_layer_type must be 'RoIPool' or 'RoIAlign', got {roi_layer_type!r}")
        if temporal_pool_mode not in ("avg", "max"):
            raise ConfigError(f"SingleRoIExtractor3D temporal_pool_mode must be 'avg' or 'max', got {temporal_pool_mode!r}")
        self.roi_layer_type = roi_layer_type
        self.featmap_stride = featmap_stride
        self.spatial_scale = 1.0 / featmap_stride
        self.output_size = output_size
        self.sampling_ratio = sampling_ratio
        self.pool_mode = pool_mode
        self.aligned = aligned
        self.with_temporal_pool = with_temporal_pool
        self.temporal_pool_mode = temporal_pool_mode
        self.with_global = with_global
        if roi_layer_type == "RoIPool":
            self.roi_layer = RoIPool(output_size, self.spatial_scale)
        else:
            self.roi_layer = RoIAlign(output_size, self.spatial_scale, sampling_ratio=sampling_ratio,
                                      pool_mode=pool_mode, aligned=aligned)
        self.global_pool = nn.AdaptiveAvgPool2d(output_size if isinstance(output_size, int) else tuple(output_size))

    def init_weights(self) -> None:
        """No parameters to initialize."""

    def forward(self, feat: Features, rois: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(roi_feats [K, C', T_out, oh, ow], pooled feature map [N, C, T_out, H, W])``.

        Args:
            feat: ``[N, C, T, H, W]`` or a tuple of such maps (same N, H, W).
            rois: ``[K, 5]`` = ``(batch_idx, x1, y1, x2, y2)`` in image pixels.
        """
        feats = tuple(feat) if isinstance(feat, (tuple, list)) else (feat,)
        for i, x in enumerate(feats):
            if not isinstance(x, torch.Tensor) or x.dim() != 5:
                raise ShapeError(f"SingleRoIExtractor3D: feature {i} must be [N, C, T, H, W], got "
                                 f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        if len(feats) >= 2:
            max_t = max(x.shape[2] for x in feats)
            size = (max_t,) + tuple(feats[0].shape[3:])
            feats = tuple(F.interpolate(x, size).contiguous() for x in feats)
        if self.with_temporal_pool:
            if self.temporal_pool_mode == "avg":
                feats = tuple(torch.mean(x, 2, keepdim=True) for x in feats)
            else:
                feats = tuple(torch.max(x, 2, keepdim=True)[0] for x in feats)
        fmap = torch.cat(feats, dim=1).contiguous()
        roi_feats = []
        for t in range(fmap.size(2)):
            frame = fmap[:, :, t].contiguous()
            roi_feat = self.roi_layer(frame, rois)
            if self.with_global:
                global_feat = self.global_pool(frame)[rois[:, 0].long()]
                roi_feat = torch.cat([roi_feat, global_feat], dim=1).contiguous()
            roi_feats.append(roi_feat)
        return torch.stack(roi_feats, dim=2), fmap

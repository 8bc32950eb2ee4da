"""``ACRNHead`` (mmaction2 0.24.1): the actor-centric relation shared head of the ACRN AVA models."""

from __future__ import annotations

from typing import Any, Dict, Optional

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...errors import ConfigError, ShapeError
from ...layers.conv import ConvModule
from ...layers.init import constant_init, kaiming_init
from ...registry import HEADS


@HEADS.register()
class ACRNHead(nn.Module):
    """Relate each actor to its whole clip (Actor-Centric Relation Network, arXiv:1807.10982).

    The RoI feature is max-pooled to one vector, tiled over the clip's feature map, concatenated
    with that map, and mixed by a 1x1x1 convolution then ``num_convs`` 1x3x3 convolutions (each
    conv + norm + activation; the first 1x3x3 one has spatial ``stride``).

    Args:
        in_channels: Channels of the concatenation (RoI + context channels).
        out_channels: Output channels.
        stride: Spatial stride of the first 1x3x3 convolution. Default 1.
        num_convs: Number of 1x3x3 convolutions (>= 1). Default 1.
        conv_cfg: Convolution type. Default ``dict(type="Conv3d")``.
        norm_cfg: Norm layer. Default ``dict(type="BN3d", requires_grad=True)``.
        act_cfg: Activation. Default ``dict(type="ReLU", inplace=True)``.
        kwargs: Accepted for mmdet compatibility and ignored, as in mmaction2.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        num_convs: int = 1,
        conv_cfg: Optional[Dict[str, Any]] = None,
        norm_cfg: Optional[Dict[str, Any]] = None,
        act_cfg: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ):
        super().__init__()
        if num_convs < 1:
            raise ConfigError(f"ACRNHead num_convs must be >= 1, got {num_convs}")
        conv_cfg = dict(type="Conv3d") if conv_cfg is None else conv_cfg
        norm_cfg = dict(type="BN3d", requires_grad=True) if norm_cfg is None else norm_cfg
        act_cfg = dict(type="ReLU", inplace=True) if act_cfg is None else act_cfg
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.num_convs = num_convs
        self.max_pool = nn.AdaptiveMaxPool3d(1)
        block = dict(bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, out_channels, kernel_size=1, stride=1, padding=0, **block)
        self.conv2 = ConvModule(out_channels, out_channels, kernel_size=(1, 3, 3), stride=(1, stride, stride),
                                padding=(0, 1, 1), **block)
        self.convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, kernel_size=(1, 3, 3), padding=(0, 1, 1), **block)
            for _ in range(num_convs - 1))

    def init_weights(self) -> None:
        """Kaiming-normal convolutions, norm layers weight 1 and bias 0 (mmaction2)."""
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                kaiming_init(module)
            elif isinstance(module, _BatchNorm):
                constant_init(module, 1)

    def forward(self, x: torch.Tensor, feat: torch.Tensor, rois: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """``x`` RoI features ``[K, C1, T, h, w]``, ``feat`` clip features ``[N, C2, T', H, W]`` and
        ``rois [K, 5]`` → ``[K, out_channels, T', H / stride, W / stride]``."""
        if x.dim() != 5 or feat.dim() != 5 or x.shape[1] + feat.shape[1] != self.in_channels:
            raise ShapeError(f"ACRNHead(in_channels={self.in_channels}): RoI features {tuple(x.shape)} and context "
                             f"features {tuple(feat.shape)} must be 5-D with channels adding up to in_channels")
        height, width = feat.shape[-2:]
        tiled = self.max_pool(x).repeat(1, 1, 1, height, width)
        context = feat[rois[:, 0].long()]
        out = self.conv2(self.conv1(torch.cat([tiled, context], dim=1)))
        for conv in self.convs:
            out = conv(out)
        return out

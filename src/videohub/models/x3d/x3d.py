"""X3D backbone (mmaction2 ``X3D``): channel-wise 3D bottlenecks with squeeze-excitation.

Paper: Feichtenhofer, "X3D: Expanding Architectures for Efficient Video Recognition"
(https://arxiv.org/abs/2004.04730). Widths and depths follow mmaction2 0.24 exactly: a stem width
of 24 and stage depths ``(1, 2, 5, 3)``, expanded by ``gamma_w`` / ``gamma_d`` with SlowFast's
rounding rules, and bottleneck widths multiplied by ``gamma_b``.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import BACKBONES
from ...layers.backbone_base import BaseBackbone, checkpointed
from ...layers.conv import ConvModule, Swish, build_activation_layer


def round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
    """Scale ``width`` by ``multiplier`` and round to a multiple of ``divisor`` (defaults 8, 8).

    The result is at least ``min_width`` and never more than 10 % below the exact product.
    """
    width = width * multiplier
    min_width = min_width or divisor
    rounded = max(min_width, int(width + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * width:
        rounded += divisor
    return int(rounded)


class SEModule(nn.Module):
    """Squeeze-and-excitation on a 5D feature: ``x * sigmoid(fc2(relu(fc1(avgpool(x)))))``.

    Args:
        channels: Channels of the input.
        reduction: Ratio of the bottleneck width to ``channels``; the width is rounded with
            :func:`round_width` (a multiple of 8, at least 8).
    """

    def __init__(self, channels: int, reduction: float):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool3d(1)
        self.bottleneck = self._round_width(channels, reduction)
        self.fc1 = nn.Conv3d(channels, self.bottleneck, kernel_size=1, padding=0)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv3d(self.bottleneck, channels, kernel_size=1, padding=0)
        self.sigmoid = nn.Sigmoid()

    @staticmethod
    def _round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
        """See :func:`round_width` (defaults ``min_width=8``, ``divisor=8``)."""
        return round_width(width, multiplier, min_width, divisor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))
        return x * gate


class BlockX3D(nn.Module):
    """X3D residual block: 1x1x1 conv → channel-wise 3x3x3 conv (+ SE) → swish → 1x1x1 conv.

    Args:
        inplanes: Input channels of the first 1x1x1 conv.
        planes: Width of the bottleneck (the channel-wise conv).
        outplanes: Output channels of the last 1x1x1 conv.
        spatial_stride: Spatial stride of the channel-wise conv. Default 1.
        downsample: Module applied to the identity branch. Default ``None``.
        se_ratio: SE bottleneck ratio; ``None`` (default) means no SE unit.
        use_swish: Stored for API compatibility. mmaction2 0.24 applies swish after the
            channel-wise conv whatever its value, and so does this block. Default ``True``.
        conv_cfg: Conv config. Default ``dict(type="Conv3d")``.
        norm_cfg: Norm config. Default ``dict(type="BN3d")``.
        act_cfg: Activation of the first conv and of the block output. Default ``dict(type="ReLU")``.
        with_cp: Gradient checkpointing of the residual branch. Default ``False``.
    """

    def __init__(
        self,
        inplanes: int,
        planes: int,
        outplanes: int,
        spatial_stride: int = 1,
        downsample: Optional[nn.Module] = None,
        se_ratio: Optional[float] = None,
        use_swish: bool = True,
        conv_cfg: Dict = dict(type="Conv3d"),
        norm_cfg: Dict = dict(type="BN3d"),
        act_cfg: Dict = dict(type="ReLU"),
        with_cp: bool = False,
    ):
        super().__init__()
        self.inplanes = inplanes
        self.planes = planes
        self.outplanes = outplanes
        self.spatial_stride = spatial_stride
        self.downsample = downsample
        self.se_ratio = se_ratio
        self.use_swish = use_swish
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.act_cfg_swish = dict(type="Swish")
        self.with_cp = with_cp

        self.conv1 = ConvModule(inplanes, planes, 1, stride=1, padding=0, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(planes, planes, 3, stride=(1, spatial_stride, spatial_stride), padding=1,
                                groups=planes, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.swish = Swish()
        self.conv3 = ConvModule(planes, outplanes, 1, stride=1, padding=0, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        if se_ratio is not None:
            self.se_module = SEModule(planes, se_ratio)
        self.relu = build_activation_layer(act_cfg)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The block before its final activation: ``conv3(swish(se(conv2(conv1(x))))) + identity``."""
        out = self.conv2(self.conv1(x))
        if self.se_ratio is not None:
            out = self.se_module(out)
        out = self.conv3(self.swish(out))
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = checkpointed(self.residual, x, enabled=self.with_cp)
        return self.relu(out)


@BACKBONES.register()
class X3D(BaseBackbone):
    """X3D backbone (mmaction2 ``X3D``). 2D-pretrained inflation is not supported, as in mmaction2.

    Args:
        gamma_w: Global width expansion of the stem width 24. Default 1.0.
        gamma_b: Bottleneck width expansion. Default 1.0.
        gamma_d: Depth expansion of the stage depths ``(1, 2, 5, 3)``. Default 1.0.
        pretrained: Local checkpoint loaded by :meth:`init_weights`. Default ``None``.
        in_channels: Input channels. Default 3.
        num_stages: Number of stages, 1-4. Default 4.
        spatial_strides: Spatial stride of each stage. Default ``(2, 2, 2, 2)``.
        frozen_stages: Stages to freeze (``-1`` none, ``0`` the stem). Default -1.
        se_style: ``"half"`` (default: SE in every other block, from the first) or ``"all"``.
        se_ratio: SE bottleneck ratio; ``None`` disables SE. Default ``1 / 16``.
        use_swish: Kept for compatibility; swish is always used, as in mmaction2 0.24. Default ``True``.
        conv_cfg: Default ``dict(type="Conv3d")``.
        norm_cfg: Default ``dict(type="BN3d", requires_grad=True)``.
        act_cfg: Default ``dict(type="ReLU", inplace=True)``.
        norm_eval: Keep BN layers in eval mode while training. Default ``False``.
        with_cp: Gradient checkpointing of the blocks. Default ``False``.
        zero_init_residual: Zero the last BN of every block in :meth:`init_weights`. Default ``True``.

    mmaction2's ``**kwargs`` are forwarded to ``BlockX3D``, which takes no further argument, so
    none is accepted here. ``frozen_stages``, ``norm_eval`` and ``with_cp`` work as
    :class:`~videohub.layers.backbone_base.BaseBackbone` says (the stem is ``conv1_s`` and ``conv1_t``).
    """

    stem_names = ("conv1_s", "conv1_t")

    def __init__(
        self,
        gamma_w: float = 1.0,
        gamma_b: float = 1.0,
        gamma_d: float = 1.0,
        pretrained: Optional[str] = None,
        in_channels: int = 3,
        num_stages: int = 4,
        spatial_strides: Sequence[int] = (2, 2, 2, 2),
        frozen_stages: int = -1,
        se_style: str = "half",
        se_ratio: Optional[float] = 1 / 16,
        use_swish: bool = True,
        conv_cfg: Dict = dict(type="Conv3d"),
        norm_cfg: Dict = dict(type="BN3d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        norm_eval: bool = False,
        with_cp: bool = False,
        zero_init_residual: bool = True,
    ):
        super().__init__(pretrained=pretrained, frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp)
        if not 1 <= num_stages <= 4:
            raise ConfigError(f"X3D num_stages must be in 1..4, got {num_stages}")
        self.check_stage_settings(num_stages)
        if len(spatial_strides) != num_stages:
            raise ConfigError(
                f"X3D spatial_strides {tuple(spatial_strides)} must have num_stages={num_stages} entries")
        if se_style not in ("all", "half"):
            raise ConfigError(f"X3D se_style must be 'all' or 'half', got {se_style!r}")
        if se_ratio is not None and se_ratio <= 0:
            raise ConfigError(f"X3D se_ratio must be None or > 0, got {se_ratio!r}")
        self.gamma_w = gamma_w
        self.gamma_b = gamma_b
        self.gamma_d = gamma_d
        self.in_channels = in_channels
        self.base_channels = self._round_width(24, gamma_w)
        self.stage_blocks = [self._round_repeats(n, gamma_d) for n in (1, 2, 5, 3)][:num_stages]
        self.num_stages = num_stages
        self.spatial_strides = tuple(spatial_strides)
        self.se_style = se_style
        self.se_ratio = se_ratio
        self.use_swish = use_swish
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.zero_init_residual = zero_init_residual
        self.block = BlockX3D

        self.layer_inplanes = self.base_channels
        self._make_stem_layer()
        for i, num_blocks in enumerate(self.stage_blocks):
            inplanes = self.base_channels * 2**i
            planes = int(inplanes * gamma_b)
            res_layer = self.make_res_layer(
                self.block, self.layer_inplanes, inplanes, planes, num_blocks,
                spatial_stride=self.spatial_strides[i], se_style=se_style, se_ratio=se_ratio,
                use_swish=use_swish, norm_cfg=norm_cfg, conv_cfg=conv_cfg, act_cfg=act_cfg, with_cp=with_cp,
            )
            self.layer_inplanes = inplanes
            self.add_stage(res_layer)

        self.feat_dim = self.base_channels * 2 ** (len(self.stage_blocks) - 1)
        self.conv5 = ConvModule(self.feat_dim, int(self.feat_dim * gamma_b), 1, stride=1, padding=0, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.feat_dim = int(self.feat_dim * gamma_b)

    @staticmethod
    def _round_width(width: float, multiplier: float, min_depth: int = 8, divisor: int = 8) -> int:
        """Width rounding of :func:`round_width`; a zero/None ``multiplier`` keeps ``width``."""
        if not multiplier:
            return width
        return round_width(width, multiplier, min_depth, divisor)

    @staticmethod
    def _round_repeats(repeats: int, multiplier: float) -> int:
        """``ceil(multiplier * repeats)``; a zero/None ``multiplier`` keeps ``repeats``."""
        if not multiplier:
            return repeats
        return int(math.ceil(multiplier * repeats))

    def make_res_layer(
        self,
        block: type,
        layer_inplanes: int,
        inplanes: int,
        planes: int,
        blocks: int,
        spatial_stride: int = 1,
        se_style: str = "half",
        se_ratio: Optional[float] = None,
        use_swish: bool = True,
        norm_cfg: Optional[Dict] = None,
        act_cfg: Optional[Dict] = None,
        conv_cfg: Optional[Dict] = None,
        with_cp: bool = False,
    ) -> nn.Sequential:
        """One stage of ``blocks`` blocks mapping ``layer_inplanes`` to ``inplanes`` channels.

        The first block strides by ``spatial_stride`` (default 1) and gets a 1x1x1 projection when the
        stride or the width changes. SE units go in every block (``se_style="all"``) or in blocks
        0, 2, 4, ... (``"half"``, the default). ``se_ratio`` defaults to ``None``, ``use_swish`` to
        ``True``, the layer configs to ``None`` and ``with_cp`` to ``False``.
        """
        downsample = None
        if spatial_stride != 1 or layer_inplanes != inplanes:
            downsample = ConvModule(layer_inplanes, inplanes, 1, stride=(1, spatial_stride, spatial_stride),
                                    padding=0, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        if se_style == "all":
            use_se = [True] * blocks
        elif se_style == "half":
            use_se = [i % 2 == 0 for i in range(blocks)]
        else:
            raise ConfigError(f"X3D se_style must be 'all' or 'half', got {se_style!r}")
        layers = []
        for i in range(blocks):
            layers.append(block(
                layer_inplanes if i == 0 else inplanes, planes, inplanes,
                spatial_stride=spatial_stride if i == 0 else 1,
                downsample=downsample if i == 0 else None,
                se_ratio=se_ratio if use_se[i] else None, use_swish=use_swish,
                norm_cfg=norm_cfg, conv_cfg=conv_cfg, act_cfg=act_cfg, with_cp=with_cp,
            ))
        return nn.Sequential(*layers)

    def _make_stem_layer(self) -> None:
        """``conv1_s``: 1x3x3 conv, spatial stride 2, no norm/activation; ``conv1_t``: channel-wise 5x1x1."""
        self.conv1_s = ConvModule(self.in_channels, self.base_channels, (1, 3, 3), stride=(1, 2, 2),
                                  padding=(0, 1, 1), bias=False, conv_cfg=self.conv_cfg, norm_cfg=None, act_cfg=None)
        self.conv1_t = ConvModule(self.base_channels, self.base_channels, (5, 1, 1), stride=(1, 1, 1),
                                  padding=(2, 0, 0), groups=self.base_channels, bias=False,
                                  conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def init_from_scratch(self) -> None:
        """Kaiming ``Conv3d`` weights, unit BN weights and, if ``zero_init_residual``, zero last BNs."""
        self.kaiming_convs_and_unit_norms(nn.Conv3d)
        if self.zero_init_residual:
            self.zero_last_norms({BlockX3D: "conv3.bn"})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_channels, T, H, W]`` → ``[N, feat_dim, T, H/32, W/32]`` (default strides)."""
        if x.dim() != 5 or x.shape[1] != self.in_channels:
            raise ShapeError(f"X3D expects input [N, {self.in_channels}, T, H, W], got {tuple(x.shape)}")
        return self.conv5(self.forward_stages(self.conv1_t(self.conv1_s(x))))

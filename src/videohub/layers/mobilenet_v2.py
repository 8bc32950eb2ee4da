"""MobileNetV2 backbone (mmaction2 ``MobileNetV2``).

Module names are mmaction2's: ``conv1`` (stem), ``layer1`` ... ``layer7`` (stacks of
``InvertedResidual`` whose layers sit in ``.conv``), ``conv2`` (the final 1x1 conv). The eight
stages ``layer1`` ... ``layer7``, ``conv2`` are listed in ``res_layers`` (mmaction2's ``layers``).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import ConfigError
from ..registry import BACKBONES
from .backbone_base import BaseBackbone, checkpointed
from .conv import ConvModule


def make_divisible(value: float, divisor: int, min_value: Optional[int] = None, min_ratio: float = 0.9) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (at least ``min_value``, default ``divisor``),
    going up one step when rounding would lose more than ``1 - min_ratio`` (default 0.9)."""
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand (if ``expand_ratio != 1``), 3x3 depthwise, 1x1 project.

    Args:
        in_channels, out_channels: Block input/output channels.
        stride: Stride of the depthwise conv (1 or 2).
        expand_ratio: Hidden width = ``round(in_channels * expand_ratio)``.
        conv_cfg: Default ``None`` (Conv2d).
        norm_cfg: Default ``dict(type="BN")``.
        act_cfg: Default ``dict(type="ReLU6")``.
        with_cp: Gradient checkpointing. Default ``False``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expand_ratio: float,
        conv_cfg: Optional[Dict] = None,
        norm_cfg: Dict = dict(type="BN"),
        act_cfg: Dict = dict(type="ReLU6"),
        with_cp: bool = False,
    ):
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"InvertedResidual stride must be 1 or 2, got {stride!r}")
        self.stride = stride
        self.with_cp = with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden_dim = int(round(in_channels * expand_ratio))
        layers = []
        if expand_ratio != 1:
            layers.append(ConvModule(in_channels, hidden_dim, kernel_size=1, conv_cfg=conv_cfg,
                                     norm_cfg=norm_cfg, act_cfg=act_cfg))
        layers.append(ConvModule(hidden_dim, hidden_dim, kernel_size=3, stride=stride, padding=1,
                                 groups=hidden_dim, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg))
        layers.append(ConvModule(hidden_dim, out_channels, kernel_size=1, conv_cfg=conv_cfg,
                                 norm_cfg=norm_cfg, act_cfg=None))
        self.conv = nn.Sequential(*layers)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return checkpointed(self._inner_forward, x, enabled=self.with_cp)


@BACKBONES.register()
class MobileNetV2(BaseBackbone):
    """MobileNetV2 backbone.

    Args:
        pretrained: Local checkpoint loaded in :meth:`init_weights`. Default ``None``.
        widen_factor: Channel multiplier. Default 1.0 (the last conv keeps 1280 channels unless > 1).
        out_indices: Stages (0-6 = ``layer1``-``layer7``, 7 = ``conv2``) whose outputs are returned.
            Default ``(7,)``.
        frozen_stages: Freeze the stem (0) and the first ``frozen_stages`` stages (8 includes
            ``conv2``). Default -1 (none).
        conv_cfg: Default ``dict(type="Conv")``.
        norm_cfg: Default ``dict(type="BN2d", requires_grad=True)``.
        act_cfg: Default ``dict(type="ReLU6", inplace=True)``.
        norm_eval: Keep BN layers in eval mode while training. Default ``False``.
        with_cp: Gradient checkpointing of the blocks. Default ``False``.

    ``frozen_stages``, ``norm_eval``, ``out_indices`` and ``with_cp`` work as
    :class:`~videohub.layers.backbone_base.BaseBackbone` says.
    """

    # expand_ratio, channels, num_blocks, stride of the seven stages.
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                     [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(
        self,
        pretrained: Optional[str] = None,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (7,),
        frozen_stages: int = -1,
        conv_cfg: Dict = dict(type="Conv"),
        norm_cfg: Dict = dict(type="BN2d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU6", inplace=True),
        norm_eval: bool = False,
        with_cp: bool = False,
    ):
        super().__init__(pretrained=pretrained, frozen_stages=frozen_stages, norm_eval=norm_eval,
                         out_indices=out_indices, with_cp=with_cp)
        self.check_stage_settings(len(self.arch_settings) + 1)
        self.widen_factor = widen_factor
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg

        self.in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(3, self.in_channels, kernel_size=3, stride=2, padding=1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg)
        for expand_ratio, channel, num_blocks, stride in self.arch_settings:
            out_channels = make_divisible(channel * widen_factor, 8)
            self.add_stage(self.make_layer(out_channels=out_channels, num_blocks=num_blocks, stride=stride,
                                           expand_ratio=expand_ratio))
        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.add_stage(ConvModule(self.in_channels, self.out_channel, kernel_size=1, stride=1, padding=0,
                                  conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg), name="conv2")
        self.feat_dim = self.out_channel

    def make_layer(self, out_channels: int, num_blocks: int, stride: int, expand_ratio: float) -> nn.Sequential:
        """Stack ``num_blocks`` InvertedResidual blocks; only the first one strides."""
        layers = []
        for i in range(num_blocks):
            layers.append(InvertedResidual(self.in_channels, out_channels, stride if i == 0 else 1,
                                           expand_ratio=expand_ratio, conv_cfg=self.conv_cfg,
                                           norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, with_cp=self.with_cp))
            self.in_channels = out_channels
        return nn.Sequential(*layers)

    def init_from_scratch(self) -> None:
        """Kaiming ``Conv2d`` weights, unit BN and GroupNorm weights."""
        self.kaiming_convs_and_unit_norms(nn.Conv2d, (_BatchNorm, nn.GroupNorm))

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        return self.forward_stages(self.conv1(x))

"""ResNeXt in mmcls's layout: the ``mmcls.ResNeXt`` backbone of mmaction2's TSN custom-backbone configs.

mmaction2 0.24 builds ``type="mmcls.ResNeXt"`` with mmcls (no mmaction2 code involved), so the
checkpoint keys are mmcls's: ``conv1.weight``, ``bn1.*``, ``layer{i}.{j}.conv{1,2,3}.weight``,
``layer{i}.{j}.bn{1,2,3}.*`` and ``layer{i}.0.downsample.{0,1}.*``. The recognizer takes the single
stage of ``out_indices`` (mmaction2 requires exactly one). Paper: Xie et al., "Aggregated Residual
Transformations for Deep Neural Networks" (https://arxiv.org/abs/1611.05431).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...errors import ConfigError, ShapeError
from ...layers.backbone_base import BaseBackbone, checkpointed
from ...layers.conv import build_norm_layer
from ...registry import BACKBONES

STAGE_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


class ResNeXtBottleneck(nn.Module):
    """mmcls ResNeXt bottleneck: 1x1 → grouped 3x3 → 1x1 convs with BN, plus the identity.

    The middle width is ``groups * width_per_group * (out_channels / 4) / base_channels`` (with
    ``groups=1``: ``out_channels / 4``, a plain ResNet bottleneck).

    Args:
        in_channels, out_channels: Block input and output channels.
        base_channels: The network's base width, for the middle width. Default 64.
        groups: Groups of the 3x3 conv. Default 32.
        width_per_group: Channels per group at ``base_channels``. Default 4.
        stride: Stride of the block. Default 1.
        dilation: Dilation of the 3x3 conv. Default 1.
        downsample: Module applied to the identity branch. Default ``None``.
        style: ``"pytorch"`` (default: stride on the 3x3 conv) or ``"caffe"`` (on the first 1x1).
        norm_cfg: Default ``dict(type="BN", requires_grad=True)``.
        with_cp: Gradient checkpointing of the block. Default ``False``.
    """

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, base_channels: int = 64, groups: int = 32,
                 width_per_group: int = 4, stride: int = 1, dilation: int = 1,
                 downsample: Optional[nn.Module] = None, style: str = "pytorch",
                 norm_cfg: Dict = dict(type="BN", requires_grad=True), with_cp: bool = False):
        super().__init__()
        if style not in ("pytorch", "caffe"):
            raise ConfigError(f"ResNeXt style must be 'pytorch' or 'caffe', got {style!r}")
        mid = out_channels // self.expansion
        if groups != 1:
            if mid % base_channels:
                raise ConfigError(f"ResNeXt: block width {mid} is not a multiple of base_channels={base_channels}")
            mid = groups * width_per_group * mid // base_channels
        self.mid_channels = mid
        self.with_cp = with_cp
        conv1_stride, conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)
        self.conv1 = nn.Conv2d(in_channels, mid, 1, stride=conv1_stride, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, mid)[1]
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=conv2_stride, padding=dilation, dilation=dilation,
                               groups=groups, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, mid)[1]
        self.conv3 = nn.Conv2d(mid, out_channels, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The block before its last ReLU: ``bn3(conv3(...)) + identity``."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return out + (x if self.downsample is None else self.downsample(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(checkpointed(self.residual, x, enabled=self.with_cp))


@BACKBONES.register(name="mmcls.ResNeXt")
class ResNeXt(BaseBackbone):
    """ResNeXt (mmcls ``ResNeXt``, mmaction2 type ``"mmcls.ResNeXt"``); output ``[N, C, H/32, W/32]``.

    Args:
        depth: 50, 101 or 152.
        groups: Groups of the 3x3 convs. Default 32.
        width_per_group: Channels per group in the first stage. Default 4.
        in_channels: Input channels. Default 3.
        stem_channels: Channels of the 7x7 stem conv. Default 64.
        base_channels: Width of the first stage (times 4 at its output). Default 64.
        num_stages: Stages, 1-4. Default 4.
        strides: Stride of each stage. Default ``(1, 2, 2, 2)``.
        dilations: Dilation of each stage. Default ``(1, 1, 1, 1)``.
        out_indices: The stage whose output is returned; exactly one, as mmaction2's recognizer
            takes one. Default ``(3,)``.
        style: ``"pytorch"`` (default) or ``"caffe"``.
        frozen_stages: Stages to freeze (``-1`` none, ``0`` the stem). Default -1.
        norm_cfg: Default ``dict(type="BN", requires_grad=True)``.
        norm_eval: Keep BN layers in eval mode while training. Default ``False``.
        with_cp: Gradient checkpointing of the blocks. Default ``False``.
        zero_init_residual: Zero the last BN of every block in :meth:`init_weights`. Default ``True``.

    ``frozen_stages``, ``norm_eval`` and ``with_cp`` work as
    :class:`~videohub.layers.backbone_base.BaseBackbone` says (the stem is ``conv1`` and ``bn1``).
    """

    stem_names = ("conv1", "bn1")

    def __init__(
        self,
        depth: int,
        groups: int = 32,
        width_per_group: int = 4,
        in_channels: int = 3,
        stem_channels: int = 64,
        base_channels: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Sequence[int] = (3,),
        style: str = "pytorch",
        frozen_stages: int = -1,
        norm_cfg: Dict = dict(type="BN", requires_grad=True),
        norm_eval: bool = False,
        with_cp: bool = False,
        zero_init_residual: bool = True,
    ):
        super().__init__(frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp)
        if depth not in STAGE_BLOCKS:
            raise ConfigError(f"ResNeXt depth must be one of {sorted(STAGE_BLOCKS)}, got {depth}")
        if not 1 <= num_stages <= 4:
            raise ConfigError(f"ResNeXt num_stages must be in 1..4, got {num_stages}")
        self.check_stage_settings(num_stages)
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise ConfigError(f"ResNeXt strides {tuple(strides)} and dilations {tuple(dilations)} need "
                              f"num_stages={num_stages} entries")
        out_indices = tuple(out_indices)
        if len(out_indices) != 1:
            raise ConfigError(f"ResNeXt out_indices must name exactly one stage (mmaction2's recognizer "
                              f"takes one feature map), got {out_indices}")
        index = out_indices[0] + num_stages if out_indices[0] < 0 else out_indices[0]
        if not 0 <= index < num_stages:
            raise ConfigError(f"ResNeXt out_indices {out_indices} is outside the {num_stages} stages")
        self.depth = depth
        self.groups = groups
        self.width_per_group = width_per_group
        self.in_channels = in_channels
        self.num_stages = num_stages
        self.out_index = index
        self.zero_init_residual = zero_init_residual

        self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, stem_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        block_in = stem_channels
        block_out = base_channels * ResNeXtBottleneck.expansion
        for i, num_blocks in enumerate(STAGE_BLOCKS[depth][:num_stages]):
            stride = strides[i]
            downsample = None
            if stride != 1 or block_in != block_out:
                downsample = nn.Sequential(nn.Conv2d(block_in, block_out, 1, stride=stride, bias=False),
                                           build_norm_layer(norm_cfg, block_out)[1])
            blocks = [ResNeXtBottleneck(block_in if j == 0 else block_out, block_out, base_channels, groups,
                                        width_per_group, stride if j == 0 else 1, dilations[i],
                                        downsample if j == 0 else None, style, norm_cfg, with_cp)
                      for j in range(num_blocks)]
            self.add_stage(nn.Sequential(*blocks))
            if i == index:
                self.feat_dim = block_out
            block_in, block_out = block_out, block_out * 2

    def init_from_scratch(self) -> None:
        """Kaiming-normal convs (``fan_out``, ReLU), unit BNs, and zero last BNs (``zero_init_residual``)."""
        self.kaiming_convs_and_unit_norms(nn.Conv2d, (_BatchNorm, nn.GroupNorm))
        if self.zero_init_residual:
            self.zero_last_norms({ResNeXtBottleneck: "bn3"})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_channels, H, W]`` → the feature map of stage ``out_indices[0]``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"ResNeXt expects input [N, {self.in_channels}, H, W], got {tuple(x.shape)}")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for name in self.res_layers[:self.out_index + 1]:  # later stages exist (mmcls builds them) but are unused
            x = getattr(self, name)(x)
        return x

"""2D ResNet backbone (mmaction2 ``ResNet``), shared by TSN, TSM, TIN, TANet and TRN."""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..errors import ConfigError
from ..registry import BACKBONES
from .backbone_base import BaseBackbone, checkpointed
from .conv import ConvModule


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (expansion 1).

    Args:
        inplanes, planes: Input channels and block width.
        stride: Stride of the first conv. Default 1.
        dilation: Dilation of the first conv. Default 1.
        downsample: Module applied to the identity branch. Default ``None``.
        style: ``"pytorch"`` (default) or ``"caffe"``; the same for this block.
        conv_cfg, norm_cfg, act_cfg: Layer configs (defaults Conv, BN, ReLU).
        with_cp: Gradient checkpointing of the block. Default ``False``.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: Optional[nn.Module] = None,
        style: str = "pytorch",
        conv_cfg: Dict = dict(type="Conv"),
        norm_cfg: Dict = dict(type="BN"),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        with_cp: bool = False,
    ):
        super().__init__()
        if style not in ("pytorch", "caffe"):
            raise ConfigError(f"ResNet style must be 'pytorch' or 'caffe', got {style!r}")
        self.conv1 = ConvModule(inplanes, planes, 3, stride=stride, padding=dilation, dilation=dilation,
                                bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(planes, planes, 3, stride=1, padding=1, dilation=1, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The block without the final activation: ``conv2(conv1(x)) + identity``."""
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv2(self.conv1(x)) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = checkpointed(self.residual, x, enabled=self.with_cp)
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 → 3x3 → 1x1 bottleneck (expansion 4). Arguments as :class:`BasicBlock`.

    ``style="pytorch"`` puts the stride on the 3x3 conv, ``"caffe"`` on the first 1x1 conv.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        dilation: int = 1,
        downsample: Optional[nn.Module] = None,
        style: str = "pytorch",
        conv_cfg: Dict = dict(type="Conv"),
        norm_cfg: Dict = dict(type="BN"),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        with_cp: bool = False,
    ):
        super().__init__()
        if style not in ("pytorch", "caffe"):
            raise ConfigError(f"ResNet style must be 'pytorch' or 'caffe', got {style!r}")
        conv1_stride, conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)
        self.conv1 = ConvModule(inplanes, planes, 1, stride=conv1_stride, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(planes, planes, 3, stride=conv2_stride, padding=dilation, dilation=dilation,
                                bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv3 = ConvModule(planes, planes * self.expansion, 1, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.inplanes = inplanes
        self.planes = planes
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.with_cp = with_cp

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The block without the final activation: ``conv3(conv2(conv1(x))) + identity``."""
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv3(self.conv2(self.conv1(x))) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = checkpointed(self.residual, x, enabled=self.with_cp)
        return self.relu(out)


def make_res_layer(
    block: type,
    inplanes: int,
    planes: int,
    blocks: int,
    stride: int = 1,
    dilation: int = 1,
    style: str = "pytorch",
    conv_cfg: Optional[Dict] = None,
    norm_cfg: Optional[Dict] = None,
    act_cfg: Optional[Dict] = None,
    with_cp: bool = False,
) -> nn.Sequential:
    """One ResNet stage of ``blocks`` blocks; the first one strides and projects the identity."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = ConvModule(inplanes, planes * block.expansion, 1, stride=stride, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
    layers = [block(inplanes, planes, stride, dilation, downsample, style=style, conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp)]
    inplanes = planes * block.expansion
    for _ in range(1, blocks):
        layers.append(block(inplanes, planes, 1, dilation, style=style, conv_cfg=conv_cfg,
                            norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp))
    return nn.Sequential(*layers)


@BACKBONES.register()
class ResNet(BaseBackbone):
    """2D ResNet (mmaction2 ``ResNet``).

    Args:
        depth: 18, 34, 50, 101 or 152.
        pretrained: Local path of a checkpoint to load in :meth:`init_weights`. Default ``None``.
        torchvision_pretrain: Whether ``pretrained`` uses torchvision key names. Default ``True``.
        in_channels: Input channels. Default 3.
        num_stages: Number of stages (1-4). Default 4.
        out_indices: Stages whose output is returned. Default ``(3,)``.
        strides: Stride of each stage. Default ``(1, 2, 2, 2)``.
        dilations: Dilation of each stage. Default ``(1, 1, 1, 1)``.
        style: ``"pytorch"`` (default) or ``"caffe"``.
        frozen_stages: Stages to freeze (``-1`` none, ``0`` the stem). Default -1.
        conv_cfg: Default ``dict(type="Conv")``.
        norm_cfg: Default ``dict(type="BN2d", requires_grad=True)``.
        act_cfg: Default ``dict(type="ReLU", inplace=True)``.
        norm_eval: Keep BN layers in eval mode while training. Default ``False``.
        partial_bn: Freeze every BN but the first while training. Default ``False``.
        with_cp: Gradient checkpointing of the blocks. Default ``False``.

    ``frozen_stages``, ``norm_eval``, ``partial_bn``, ``out_indices`` and ``with_cp`` work as
    :class:`~videohub.layers.backbone_base.BaseBackbone` says.
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int,
        pretrained: Optional[str] = None,
        torchvision_pretrain: bool = True,
        in_channels: int = 3,
        num_stages: int = 4,
        out_indices: Sequence[int] = (3,),
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        style: str = "pytorch",
        frozen_stages: int = -1,
        conv_cfg: Dict = dict(type="Conv"),
        norm_cfg: Dict = dict(type="BN2d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        norm_eval: bool = False,
        partial_bn: bool = False,
        with_cp: bool = False,
    ):
        super().__init__(pretrained=pretrained, frozen_stages=frozen_stages, norm_eval=norm_eval,
                         partial_bn=partial_bn, out_indices=out_indices, with_cp=with_cp)
        if depth not in self.arch_settings:
            raise ConfigError(f"invalid ResNet depth {depth}; expected one of {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 4:
            raise ConfigError(f"ResNet num_stages must be in 1..4, got {num_stages}")
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ConfigError(f"ResNet strides {strides} and dilations {dilations} need {num_stages} entries")
        self.check_stage_settings(num_stages)
        self.depth = depth
        self.torchvision_pretrain = torchvision_pretrain
        self.in_channels = in_channels
        self.num_stages = num_stages
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.style = style
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg

        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.inplanes = 64
        self._make_stem_layer()
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = 64 * 2**i
            self.add_stage(make_res_layer(self.block, self.inplanes, planes, num_blocks, stride=strides[i],
                                          dilation=dilations[i], style=style, conv_cfg=conv_cfg,
                                          norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp))
            self.inplanes = planes * self.block.expansion
        self.feat_dim = self.block.expansion * 64 * 2 ** (len(self.stage_blocks) - 1)

    def _make_stem_layer(self) -> None:
        self.conv1 = ConvModule(self.in_channels, 64, 7, stride=2, padding=3, bias=False,
                                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def init_from_scratch(self) -> None:
        """Kaiming ``Conv2d`` weights and unit ``BatchNorm2d`` weights."""
        self.kaiming_convs_and_unit_norms(nn.Conv2d, nn.BatchNorm2d)

    def load_weights(self) -> None:
        """Initialize from scratch, then load ``pretrained`` over it (non-strictly)."""
        self.init_from_scratch()
        super().load_weights()

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        return self.forward_stages(self.maxpool(self.conv1(x)))

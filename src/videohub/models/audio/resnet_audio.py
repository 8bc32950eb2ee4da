"""ResNet backbone for audio spectrograms (mmaction2 ``ResNetAudio``).

Paper: Xiao et al., "Audiovisual SlowFast Networks for Video Recognition"
(https://arxiv.org/abs/2001.08740). The stem is a summed time/frequency :class:`ConvAudio`; the
3x3 conv of the blocks in the stages marked by ``factorize`` is a concatenating ``ConvAudio``.
The input is a log-mel spectrogram ``[N, 1, T, F]``.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import BACKBONES
from ...layers import conv_audio  # noqa: F401  (registers the "ConvAudio" conv type)
from ...layers.backbone_base import BaseBackbone, checkpointed
from ...layers.conv import ConvModule


class Bottleneck2dAudio(nn.Module):
    """1x1 → (factorized) 3x3 → 1x1 bottleneck of ``ResNetAudio`` (expansion 4).

    Args:
        inplanes: Input channels.
        planes: Bottleneck width.
        stride: Stride of the 3x3 conv. Default 2.
        dilation: Dilation (and padding) of the 1x1 and 3x3 convs. Default 1.
        downsample: Module applied to the identity branch. Default ``None``.
        factorize: Use a concatenating :class:`ConvAudio` as the 3x3 conv (``2 * planes`` outputs,
            each branch with BN + ReLU); otherwise a plain 3x3 conv without norm/activation.
            Default ``True``.
        norm_cfg: Norm config of the 1x1 convs. Default ``None``.
        with_cp: Gradient checkpointing of the residual branch. Default ``False``.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 2,
        dilation: int = 1,
        downsample: Optional[nn.Module] = None,
        factorize: bool = True,
        norm_cfg: Optional[Dict] = None,
        with_cp: bool = False,
    ):
        super().__init__()
        self.inplanes = inplanes
        self.planes = planes
        self.stride = stride
        self.dilation = dilation
        self.factorize = factorize
        self.norm_cfg = norm_cfg
        self.with_cp = with_cp
        self.conv1_stride = 1
        self.conv2_stride = stride

        self.conv1 = ConvModule(inplanes, planes, kernel_size=(1, 1), padding=0, dilation=dilation,
                                norm_cfg=norm_cfg, bias=False)
        self.conv2 = ConvModule(planes, planes, kernel_size=(3, 3), stride=stride, padding=(dilation, dilation),
                                dilation=dilation, bias=False,
                                conv_cfg=dict(type="ConvAudio") if factorize else dict(type="Conv"),
                                norm_cfg=None, act_cfg=None)
        self.conv3 = ConvModule(2 * planes if factorize else planes, planes * self.expansion, kernel_size=1,
                                bias=False, norm_cfg=norm_cfg, act_cfg=None)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The block before its final ReLU: ``conv3(conv2(conv1(x))) + identity``."""
        out = self.conv3(self.conv2(self.conv1(x)))
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = checkpointed(self.residual, x, enabled=self.with_cp)
        return self.relu(out)


@BACKBONES.register()
class ResNetAudio(BaseBackbone):
    """ResNet-2D audio backbone (mmaction2 ``ResNetAudio``); only bottleneck depths exist.

    Args:
        depth: 50, 101 or 152.
        pretrained: Local checkpoint loaded by :meth:`init_weights`, or ``None`` (required, no default,
            as in mmaction2).
        in_channels: Input channels. Default 1.
        num_stages: Number of stages, 1-4. Default 4.
        base_channels: Stem width (stage ``i`` has width ``base_channels * 2**i``). Default 32.
        strides: Stride of each stage. Default ``(1, 2, 2, 2)``.
        dilations: Dilation of each stage. Default ``(1, 1, 1, 1)``.
        conv1_kernel: Kernel of the stem ``ConvAudio`` (``k x 1`` and ``1 x k``). Default 9.
        conv1_stride: Stride of the stem. Default 1.
        frozen_stages: Stages to freeze (``-1`` none, ``0`` the stem). Default -1.
        factorize: Per stage (an int applies to every block of the stage), whether the blocks use a
            factorized 3x3 conv. Default ``(1, 1, 0, 0)``.
        norm_eval: Keep BN layers in eval mode while training. Default ``False``.
        with_cp: Gradient checkpointing of the blocks. Default ``False``.
        conv_cfg: Stored only (mmaction2 builds the convs itself). Default ``dict(type="Conv")``.
        norm_cfg: Norm config of the stem and the blocks. Default ``dict(type="BN2d", requires_grad=True)``.
        act_cfg: Activation of the stem. Default ``dict(type="ReLU", inplace=True)``.
        zero_init_residual: Zero the last BN of every block in :meth:`init_weights`. Default ``True``.

    ``frozen_stages``, ``norm_eval`` and ``with_cp`` work as
    :class:`~videohub.layers.backbone_base.BaseBackbone` says, except that a frozen stem keeps the
    BNs inside its ``ConvAudio`` in the backbone's mode (as mmaction2, which only puts the stem's
    outer BN in eval mode).
    """

    arch_settings = {
        50: (Bottleneck2dAudio, (3, 4, 6, 3)),
        101: (Bottleneck2dAudio, (3, 4, 23, 3)),
        152: (Bottleneck2dAudio, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int,
        pretrained: Optional[str],
        in_channels: int = 1,
        num_stages: int = 4,
        base_channels: int = 32,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        conv1_kernel: int = 9,
        conv1_stride: int = 1,
        frozen_stages: int = -1,
        factorize: Union[int, Sequence[Union[int, Sequence[int]]]] = (1, 1, 0, 0),
        norm_eval: bool = False,
        with_cp: bool = False,
        conv_cfg: Dict = dict(type="Conv"),
        norm_cfg: Dict = dict(type="BN2d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        zero_init_residual: bool = True,
    ):
        super().__init__(pretrained=pretrained, frozen_stages=frozen_stages, norm_eval=norm_eval, with_cp=with_cp)
        if depth not in self.arch_settings:
            raise ConfigError(f"invalid ResNetAudio depth {depth}; expected one of {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 4:
            raise ConfigError(f"ResNetAudio num_stages must be in 1..4, got {num_stages}")
        self.check_stage_settings(num_stages)
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise ConfigError(
                f"ResNetAudio strides {tuple(strides)} and dilations {tuple(dilations)} need "
                f"num_stages={num_stages} entries")
        if isinstance(factorize, int):
            factorize = (factorize,) * num_stages
        if len(factorize) < num_stages:
            raise ConfigError(
                f"ResNetAudio factorize {tuple(factorize)} must be an int or have num_stages={num_stages} entries")
        self.depth = depth
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.conv1_kernel = conv1_kernel
        self.conv1_stride = conv1_stride
        self.stage_factorization = tuple(factorize)
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.zero_init_residual = zero_init_residual

        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.inplanes = base_channels
        self._make_stem_layer()
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            res_layer = self.make_res_layer(self.block, self.inplanes, planes, num_blocks, stride=strides[i],
                                            dilation=dilations[i], factorize=self.stage_factorization[i],
                                            norm_cfg=norm_cfg, with_cp=with_cp)
            self.inplanes = planes * self.block.expansion
            self.add_stage(res_layer)
        self.feat_dim = self.block.expansion * base_channels * 2 ** (len(self.stage_blocks) - 1)

    @staticmethod
    def make_res_layer(
        block: type,
        inplanes: int,
        planes: int,
        blocks: int,
        stride: int = 1,
        dilation: int = 1,
        factorize: Union[int, Sequence[int]] = 1,
        norm_cfg: Optional[Dict] = None,
        with_cp: bool = False,
    ) -> nn.Sequential:
        """One stage of ``blocks`` blocks; the first strides (default 1) and projects the identity.

        ``factorize`` (default 1) is an int for every block or one flag per block; ``dilation``
        defaults to 1, ``norm_cfg`` to ``None`` and ``with_cp`` to ``False``.
        """
        flags = (factorize,) * blocks if isinstance(factorize, int) else tuple(factorize)
        if len(flags) != blocks:
            raise ConfigError(f"ResNetAudio factorize {flags} must have one entry per block ({blocks})")
        downsample = None
        if stride != 1 or inplanes != planes * block.expansion:
            downsample = ConvModule(inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False,
                                    norm_cfg=norm_cfg, act_cfg=None)
        layers = [block(inplanes, planes, stride, dilation, downsample, factorize=flags[0] == 1,
                        norm_cfg=norm_cfg, with_cp=with_cp)]
        inplanes = planes * block.expansion
        for i in range(1, blocks):
            layers.append(block(inplanes, planes, 1, dilation, factorize=flags[i] == 1,
                                norm_cfg=norm_cfg, with_cp=with_cp))
        return nn.Sequential(*layers)

    def _make_stem_layer(self) -> None:
        """``conv1``: a summed ``ConvAudio`` (``k x 1`` and ``1 x k``, each with BN + ReLU), then BN + act."""
        self.conv1 = ConvModule(self.in_channels, self.base_channels, kernel_size=self.conv1_kernel,
                                stride=self.conv1_stride, bias=False, conv_cfg=dict(type="ConvAudio", op="sum"),
                                norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def _freeze_stages(self) -> None:
        """Freeze as the base does, but of the stem only the outer BN stays in eval mode (mmaction2):
        the stem's ``ConvAudio`` and its BNs get the backbone's mode back."""
        super()._freeze_stages()
        if self.frozen_stages >= 0:
            self.conv1.train(self.training)
            self.conv1.bn.eval()

    def init_from_scratch(self) -> None:
        """Kaiming ``Conv2d`` weights, unit BN weights and, if ``zero_init_residual``, zero last BNs."""
        self.kaiming_convs_and_unit_norms(nn.Conv2d)
        if self.zero_init_residual:
            self.zero_last_norms({Bottleneck2dAudio: "conv3.bn"})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_channels, T, F]`` → ``[N, feat_dim, T / 8, F / 8]`` (default strides)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"ResNetAudio expects input [N, {self.in_channels}, T, F], got {tuple(x.shape)}")
        return self.forward_stages(self.conv1(x))

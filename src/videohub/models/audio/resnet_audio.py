"""ResNet backbone for audio spectrograms (mmaction2 ``ResNetAudio``).

Paper: Xiao et al., "Audiovisual SlowFast Networks for Video Recognition"
(https://arxiv.org/abs/2001.08740). The stem is a summed time/frequency :class:`ConvAudio`; the
3x3 conv of the blocks in the stages marked by ``factorize`` is a concatenating ``ConvAudio``.
The input is a log-mel spectrogram ``[N, 1, T, F]``.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.utils.checkpoint as cp
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...errors import ConfigError, ShapeError
from ...registry import BACKBONES
from ...layers import conv_audio  # noqa: F401  (registers the "ConvAudio" conv type)
from ...layers.conv import ConvModule
from ...layers.init import constant_init, kaiming_init
from ...layers.pretrained import load_pretrained


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
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self.residual, x, use_reentrant=False)
        else:
            out = self.residual(x)
        return self.relu(out)


@BACKBONES.register()
class ResNetAudio(nn.Module):
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
        super().__init__()
        if depth not in self.arch_settings:
            raise ConfigError(f"invalid ResNetAudio depth {depth}; expected one of {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 4:
            raise ConfigError(f"ResNetAudio num_stages must be in 1..4, got {num_stages}")
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
        self.pretrained = pretrained
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.conv1_kernel = conv1_kernel
        self.conv1_stride = conv1_stride
        self.frozen_stages = frozen_stages
        self.stage_factorization = tuple(factorize)
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.zero_init_residual = zero_init_residual

        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.inplanes = base_channels
        self._make_stem_layer()
        self.res_layers: List[str] = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            res_layer = self.make_res_layer(self.block, self.inplanes, planes, num_blocks, stride=strides[i],
                                            dilation=dilations[i], factorize=self.stage_factorization[i],
                                            norm_cfg=norm_cfg, with_cp=with_cp)
            self.inplanes = planes * self.block.expansion
            name = f"layer{i + 1}"
            self.add_module(name, res_layer)
            self.res_layers.append(name)
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
        """As mmaction2: the stem's outer BN goes to eval mode and every stem parameter is frozen;
        the BNs inside the stem's ``ConvAudio`` keep the module's mode."""
        if self.frozen_stages >= 0:
            self.conv1.bn.eval()
            for m in (self.conv1.conv, self.conv1.bn):
                for param in m.parameters():
                    param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            layer = getattr(self, f"layer{i}")
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        """Load ``pretrained`` (a local file), or Kaiming convs, unit BNs and zero last BNs."""
        if isinstance(self.pretrained, str):
            load_pretrained(self, self.pretrained)
        elif self.pretrained is None:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    kaiming_init(m)
                elif isinstance(m, _BatchNorm):
                    constant_init(m, 1)
            if self.zero_init_residual:
                for m in self.modules():
                    if isinstance(m, Bottleneck2dAudio):
                        constant_init(m.conv3.bn, 0)
        else:
            raise ConfigError(
                f"ResNetAudio pretrained must be a str or None, got {type(self.pretrained).__name__}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_channels, T, F]`` → ``[N, feat_dim, T / 8, F / 8]`` (default strides)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"ResNetAudio expects input [N, {self.in_channels}, T, F], got {tuple(x.shape)}")
        x = self.conv1(x)
        for name in self.res_layers:
            x = getattr(self, name)(x)
        return x

    def train(self, mode: bool = True) -> "ResNetAudio":
        """Set train mode, then re-apply ``frozen_stages`` and ``norm_eval``."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

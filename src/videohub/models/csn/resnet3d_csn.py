"""Channel-separated networks (mmaction2 ``ResNet3dCSN``): ip-CSN and ir-CSN.

"Video Classification with Channel-Separated Convolutional Networks" (https://arxiv.org/abs/1904.02811).
The 3x3x3 conv of every bottleneck becomes depthwise (``groups=planes``); the ``"ip"`` mode keeps a
1x1x1 conv in front of it (``conv2.0``), the ``"ir"`` mode drops it (the depthwise conv is ``conv2.0``).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

from torch import nn

from ...errors import ConfigError
from ...registry import BACKBONES
from ...layers.conv import ConvModule
from ...layers.resnet3d import Bottleneck3d, ResNet3d, _BatchNorm

BOTTLENECK_MODES = ("ip", "ir")


class CSNBottleneck3d(Bottleneck3d):
    """Channel-separated bottleneck: ``conv2`` is ``Sequential([1x1x1 conv (ip only), depthwise conv])``.

    Args:
        inplanes, planes, *args, **kwargs: As :class:`Bottleneck3d`.
        bottleneck_mode: ``"ir"`` (default) or ``"ip"``.
    """

    def __init__(self, inplanes: int, planes: int, *args: Any, bottleneck_mode: str = "ir", **kwargs: Any):
        super().__init__(inplanes, planes, *args, **kwargs)
        if bottleneck_mode not in BOTTLENECK_MODES:
            raise ConfigError(f"CSNBottleneck3d: bottleneck_mode must be 'ip' or 'ir', got {bottleneck_mode!r}")
        self.bottleneck_mode = bottleneck_mode
        dense = self.conv2.conv
        conv2 = []
        if bottleneck_mode == "ip":
            conv2.append(ConvModule(planes, planes, 1, stride=1, bias=False, conv_cfg=self.conv_cfg,
                                    norm_cfg=self.norm_cfg, act_cfg=None))
        conv2.append(ConvModule(
            planes, planes, dense.kernel_size, stride=dense.stride, padding=dense.padding,
            dilation=dense.dilation, bias=dense.bias is not None, conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, groups=planes,
        ))
        self.conv2 = nn.Sequential(*conv2)


@BACKBONES.register()
class ResNet3dCSN(ResNet3d):
    """ResNet backbone of CSN (depth 50, 101 or 152).

    Its own defaults differ from :class:`ResNet3d`: ``temporal_strides=(1, 2, 2, 2)``,
    ``conv1_kernel=(3, 7, 7)``, ``conv1_stride_t=1``, ``pool1_stride_t=1``,
    ``norm_cfg=dict(type="BN3d", requires_grad=True, eps=1e-3)`` and ``inflate_style="3x3x3"``.

    Args:
        bottleneck_mode: ``"ir"`` (default, interaction-reduced) or ``"ip"`` (interaction-preserved).
        bn_frozen: With ``norm_eval``, also stop the gradient of the BN parameters while training.
            Default ``False``.
        depth, pretrained, ...: As :class:`ResNet3d` (same defaults except the ones above).
    """

    def __init__(
        self,
        depth: int,
        pretrained: Optional[str] = None,
        temporal_strides: Sequence[int] = (1, 2, 2, 2),
        conv1_kernel: Sequence[int] = (3, 7, 7),
        conv1_stride_t: int = 1,
        pool1_stride_t: int = 1,
        norm_cfg: Dict = dict(type="BN3d", requires_grad=True, eps=1e-3),
        inflate_style: str = "3x3x3",
        bottleneck_mode: str = "ir",
        bn_frozen: bool = False,
        stage_blocks: Optional[Sequence[int]] = None,
        pretrained2d: bool = True,
        in_channels: int = 3,
        num_stages: int = 4,
        base_channels: int = 64,
        out_indices: Sequence[int] = (3,),
        spatial_strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        conv1_stride_s: int = 2,
        pool1_stride_s: int = 2,
        with_pool1: bool = True,
        with_pool2: bool = True,
        style: str = "pytorch",
        frozen_stages: int = -1,
        inflate: Sequence = (1, 1, 1, 1),
        conv_cfg: Dict = dict(type="Conv3d"),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        norm_eval: bool = False,
        with_cp: bool = False,
        non_local: Sequence = (0, 0, 0, 0),
        non_local_cfg: Dict = dict(),
        zero_init_residual: bool = True,
    ):
        self.arch_settings = {
            50: (CSNBottleneck3d, (3, 4, 6, 3)),
            101: (CSNBottleneck3d, (3, 4, 23, 3)),
            152: (CSNBottleneck3d, (3, 8, 36, 3)),
        }
        if bottleneck_mode not in BOTTLENECK_MODES:
            raise ConfigError(f"ResNet3dCSN: bottleneck_mode must be 'ip' or 'ir', got {bottleneck_mode!r}")
        self.bn_frozen = bn_frozen
        self.bottleneck_mode = bottleneck_mode
        super().__init__(
            depth, pretrained, stage_blocks=stage_blocks, pretrained2d=pretrained2d, in_channels=in_channels,
            num_stages=num_stages, base_channels=base_channels, out_indices=out_indices,
            spatial_strides=spatial_strides, temporal_strides=temporal_strides, dilations=dilations,
            conv1_kernel=conv1_kernel, conv1_stride_s=conv1_stride_s, conv1_stride_t=conv1_stride_t,
            pool1_stride_s=pool1_stride_s, pool1_stride_t=pool1_stride_t, with_pool1=with_pool1,
            with_pool2=with_pool2, style=style, frozen_stages=frozen_stages, inflate=inflate,
            inflate_style=inflate_style, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
            norm_eval=norm_eval, with_cp=with_cp, non_local=non_local, non_local_cfg=non_local_cfg,
            zero_init_residual=zero_init_residual,
        )

    def _block_kwargs(self) -> Dict[str, Any]:
        return {"bottleneck_mode": self.bottleneck_mode}

    def train(self, mode: bool = True) -> "ResNet3dCSN":
        """Set train mode, re-apply ``frozen_stages``; with ``norm_eval`` put BN in eval mode
        (and freeze its parameters if ``bn_frozen``)."""
        nn.Module.train(self, mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
                    if self.bn_frozen:
                        for param in m.parameters():
                            param.requires_grad = False
        return self

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
from ...layers.resnet3d import Bottleneck3d, ResNet3d

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

    Args:
        depth: 50, 101 or 152.
        pretrained: Local checkpoint loaded by :meth:`init_weights`. Default ``None``.
        temporal_strides: Default ``(1, 2, 2, 2)``.
        conv1_kernel: Default ``(3, 7, 7)``.
        conv1_stride_t: Default 1.
        pool1_stride_t: Default 1.
        norm_cfg: Default ``dict(type="BN3d", requires_grad=True, eps=1e-3)``.
        inflate_style: Default ``"3x3x3"``.
        bottleneck_mode: ``"ir"`` (default, interaction-reduced) or ``"ip"`` (interaction-preserved).
        bn_frozen: With ``norm_eval``, also stop the gradient of the BN parameters while training.
            Default ``False``.
        **kwargs: The other arguments of :class:`~videohub.layers.resnet3d.ResNet3d`, with its
            defaults (``frozen_stages=-1``, ``norm_eval=False``, ``with_cp=False``, ...).
    """

    arch_settings = {
        50: (CSNBottleneck3d, (3, 4, 6, 3)),
        101: (CSNBottleneck3d, (3, 4, 23, 3)),
        152: (CSNBottleneck3d, (3, 8, 36, 3)),
    }

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
        **kwargs: Any,
    ):
        if bottleneck_mode not in BOTTLENECK_MODES:
            raise ConfigError(f"ResNet3dCSN: bottleneck_mode must be 'ip' or 'ir', got {bottleneck_mode!r}")
        self.bottleneck_mode = bottleneck_mode
        super().__init__(
            depth, pretrained, temporal_strides=temporal_strides, conv1_kernel=conv1_kernel,
            conv1_stride_t=conv1_stride_t, pool1_stride_t=pool1_stride_t, norm_cfg=norm_cfg,
            inflate_style=inflate_style, **kwargs,
        )
        self.bn_frozen = bn_frozen

    def _block_kwargs(self) -> Dict[str, Any]:
        return {"bottleneck_mode": self.bottleneck_mode}

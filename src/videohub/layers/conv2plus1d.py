"""``Conv2plus1d``: a 3D convolution factorized into a spatial and a temporal one (R(2+1)D).

"A Closer Look at Spatiotemporal Convolutions for Action Recognition"
(https://arxiv.org/abs/1711.11248). Importing this module registers the layer as the conv type
``"Conv2plus1d"``, so ``ConvModule(..., conv_cfg=dict(type="Conv2plus1d"))`` builds it, as in mmcv.
"""

from __future__ import annotations

from typing import Dict, Tuple, Union

import torch
from torch import nn
from torch.nn.modules.utils import _triple

from ..errors import ConfigError
from .conv import CONV_LAYERS, build_norm_layer
from .init import constant_init, kaiming_init

IntOrTriple = Union[int, Tuple[int, int, int]]


def conv2plus1d_mid_channels(in_channels: int, out_channels: int, kernel_size: IntOrTriple) -> int:
    """Width of the intermediate map, chosen so the (2+1)D pair has about the 3D conv's parameters.

    ``int(3 * in * out * kh * kw / (in * kh * kw + 3 * out))``; the factor 3 is fixed, whatever the
    temporal kernel size is (as in mmaction2).
    """
    _, kh, kw = _triple(kernel_size)
    mid = 3 * (in_channels * out_channels * kh * kw)
    mid /= in_channels * kh * kw + 3 * out_channels
    return int(mid)


class Conv2plus1d(nn.Module):
    """(2+1)D convolution: ``conv_s`` (1 x kh x kw) → ``bn_s`` → ReLU → ``conv_t`` (kt x 1 x 1).

    Args:
        in_channels: Input channels (as ``nn.Conv3d``).
        out_channels: Output channels (as ``nn.Conv3d``).
        kernel_size: ``(kt, kh, kw)`` or an int.
        stride: ``(st, sh, sw)`` or an int. Default 1.
        padding: ``(pt, ph, pw)`` or an int. Default 0.
        dilation: Stored only; mmaction2 does not apply it. Default 1.
        groups: Stored only; mmaction2 does not apply it. Default 1.
        bias: Bias of both convolutions. Default ``True``.
        norm_cfg: Norm between the two convolutions. Default ``dict(type="BN3d")``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTriple,
        stride: IntOrTriple = 1,
        padding: IntOrTriple = 0,
        dilation: IntOrTriple = 1,
        groups: int = 1,
        bias: bool = True,
        norm_cfg: Dict = dict(type="BN3d"),
    ):
        super().__init__()
        kernel_size = _triple(kernel_size)
        stride = _triple(stride)
        padding = _triple(padding)
        if not len(kernel_size) == len(stride) == len(padding) == 3:
            raise ConfigError(
                f"Conv2plus1d needs 3-element kernel_size/stride/padding, got {kernel_size}, {stride}, {padding}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        # mmaction2 stores this as ``self.bias``; a bool there looks like a bias tensor to generic
        # code such as ``kaiming_init`` (``getattr(m, "bias", None) is not None``), so it is ``with_bias``.
        self.with_bias = bias
        self.norm_cfg = norm_cfg
        self.output_padding = (0, 0, 0)
        self.transposed = False

        mid_channels = conv2plus1d_mid_channels(in_channels, out_channels, kernel_size)
        self.mid_channels = mid_channels
        self.conv_s = nn.Conv3d(
            in_channels, mid_channels, kernel_size=(1, kernel_size[1], kernel_size[2]),
            stride=(1, stride[1], stride[2]), padding=(0, padding[1], padding[2]), bias=bias,
        )
        _, self.bn_s = build_norm_layer(norm_cfg, mid_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv_t = nn.Conv3d(
            mid_channels, out_channels, kernel_size=(kernel_size[0], 1, 1),
            stride=(stride[0], 1, 1), padding=(padding[0], 0, 0), bias=bias,
        )
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming (fan_out) convolutions, unit-weight zero-bias norm."""
        kaiming_init(self.conv_s)
        kaiming_init(self.conv_t)
        constant_init(self.bn_s, 1, bias=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, in_channels, T, H, W]`` → ``[N, out_channels, T', H', W']``."""
        return self.conv_t(self.relu(self.bn_s(self.conv_s(x))))


CONV_LAYERS["Conv2plus1d"] = Conv2plus1d

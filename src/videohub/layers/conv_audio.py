"""``ConvAudio``: a factorized 2D convolution for spectrograms (mmaction2 ``ConvAudio``).

Paper: Xiao et al., "Audiovisual SlowFast Networks for Video Recognition"
(https://arxiv.org/abs/2001.08740). A ``k_t x 1`` (time) and a ``1 x k_f`` (frequency) ConvModule
(conv + BN + ReLU each) run in parallel on the input; their outputs are concatenated (``op="concat"``,
``2 * out_channels`` channels) or summed (``op="sum"``). Importing this module registers the layer
as the conv type ``"ConvAudio"`` so ``ConvModule(conv_cfg=dict(type="ConvAudio"))`` builds it.
"""

from __future__ import annotations

from typing import Tuple, Union

import torch
from torch import nn

from ..errors import ConfigError
from .conv import CONV_LAYERS, ConvModule
from .init import constant_init, kaiming_init

IntOrPair = Union[int, Tuple[int, int]]


def _pair(value: IntOrPair, name: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return (int(value[0]), int(value[1]))
    raise ConfigError(f"ConvAudio {name} must be an int or a pair of ints, got {value!r}")


class ConvAudio(nn.Module):
    """Time/frequency factorized Conv2d for ``ResNetAudio``.

    Args:
        in_channels, out_channels: As ``nn.Conv2d``.
        kernel_size: ``(k_t, k_f)`` or an int; branch 1 is ``k_t x 1``, branch 2 ``1 x k_f``.
        op: ``"concat"`` (default; output has ``2 * out_channels`` channels) or ``"sum"``.
        stride: Stride of both branches. Default 1.
        padding: Stored only; each branch pads ``k // 2`` along its kernel axis (as mmaction2). Default 0.
        dilation: Stored only (as mmaction2). Default 1.
        groups: Stored only (as mmaction2). Default 1.
        bias: Whether the branch convs have a bias. Default ``False``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        op: str = "concat",
        stride: IntOrPair = 1,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        groups: int = 1,
        bias: bool = False,
    ):
        super().__init__()
        if op not in ("concat", "sum"):
            raise ConfigError(f"ConvAudio op must be 'concat' or 'sum', got {op!r}")
        kernel_size = _pair(kernel_size, "kernel_size")
        stride = _pair(stride, "stride")
        padding = _pair(padding, "padding")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.op = op
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        # mmaction2 names this attribute ``bias``; a bool there would be mistaken for a bias tensor
        # by the weight initializers, so it is kept as ``with_bias``.
        self.with_bias = bias
        self.output_padding = (0, 0)
        self.transposed = False

        self.conv_1 = ConvModule(in_channels, out_channels, kernel_size=(kernel_size[0], 1), stride=stride,
                                 padding=(kernel_size[0] // 2, 0), bias=bias, conv_cfg=dict(type="Conv"),
                                 norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"))
        self.conv_2 = ConvModule(in_channels, out_channels, kernel_size=(1, kernel_size[1]), stride=stride,
                                 padding=(0, kernel_size[1] // 2), bias=bias, conv_cfg=dict(type="Conv"),
                                 norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"))
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming (fan_out) branch convs, unit BN weights and zero BN biases."""
        kaiming_init(self.conv_1.conv)
        kaiming_init(self.conv_2.conv)
        constant_init(self.conv_1.bn, 1, bias=0)
        constant_init(self.conv_2.bn, 1, bias=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_channels, T, F]`` → ``[N, out_channels * (2 if concat else 1), T', F']``."""
        x_1 = self.conv_1(x)
        x_2 = self.conv_2(x)
        if self.op == "concat":
            return torch.cat([x_1, x_2], 1)
        return x_1 + x_2


CONV_LAYERS["ConvAudio"] = ConvAudio

"""Temporal Adaptive Module (TAM) of TANet (https://arxiv.org/abs/2005.06803), mmaction2 ``TAM``.

Submodules are mmaction2's ``G`` (global branch: Linear, BN1d, ReLU, Linear, Softmax → an
adaptive temporal kernel per channel) and ``L`` (local branch: Conv1d, BN1d, ReLU, Conv1d,
Sigmoid → a temporal excitation), so keys such as ``tam.G.0.weight`` and ``tam.L.1.running_mean``
load unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError, ShapeError
from ...layers.init import constant_init, kaiming_init, normal_init


class TAM(nn.Module):
    """Temporal Adaptive Module.

    Args:
        in_channels: Channels of the input feature.
        num_segments: Frames per clip.
        alpha: Hidden width of the global branch, ``num_segments * alpha``. Default 2.
        adaptive_kernel_size: Length K of the adaptive temporal kernel. Default 3.
        beta: Channel reduction of the local branch. Default 4.
        conv1d_kernel_size: Kernel of the local branch's first Conv1d. Default 3.
        adaptive_convolution_stride: Temporal stride of the adaptive convolution. Default 1.
        adaptive_convolution_padding: Temporal padding of the adaptive convolution. Default 1.
        init_std: Std of the Linear layers' normal init in :meth:`init_weights`. Default 0.001.
    """

    def __init__(
        self,
        in_channels: int,
        num_segments: int,
        alpha: int = 2,
        adaptive_kernel_size: int = 3,
        beta: int = 4,
        conv1d_kernel_size: int = 3,
        adaptive_convolution_stride: int = 1,
        adaptive_convolution_padding: int = 1,
        init_std: float = 0.001,
    ):
        super().__init__()
        if not (beta > 0 and alpha > 0):
            raise ConfigError(f"TAM alpha and beta must be positive, got alpha={alpha!r}, beta={beta!r}")
        if in_channels // beta == 0:
            raise ConfigError(f"TAM in_channels={in_channels} must be >= beta={beta}")
        self.in_channels = in_channels
        self.num_segments = num_segments
        self.alpha = alpha
        self.adaptive_kernel_size = adaptive_kernel_size
        self.beta = beta
        self.conv1d_kernel_size = conv1d_kernel_size
        self.adaptive_convolution_stride = adaptive_convolution_stride
        self.adaptive_convolution_padding = adaptive_convolution_padding
        self.init_std = init_std

        self.G = nn.Sequential(
            nn.Linear(num_segments, num_segments * alpha, bias=False),
            nn.BatchNorm1d(num_segments * alpha),
            nn.ReLU(inplace=True),
            nn.Linear(num_segments * alpha, adaptive_kernel_size, bias=False),
            nn.Softmax(-1),
        )
        self.L = nn.Sequential(
            nn.Conv1d(in_channels, in_channels // beta, conv1d_kernel_size, stride=1,
                      padding=conv1d_kernel_size // 2, bias=False),
            nn.BatchNorm1d(in_channels // beta),
            nn.ReLU(inplace=True),
            nn.Conv1d(in_channels // beta, in_channels, 1, bias=False),
            nn.Sigmoid(),
        )

    def init_weights(self) -> None:
        """Kaiming Conv1d, unit BN1d, Normal(0, ``init_std``) Linear weights."""
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                kaiming_init(m)
            elif isinstance(m, nn.BatchNorm1d):
                constant_init(m, 1)
            elif isinstance(m, nn.Linear):
                normal_init(m, std=self.init_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N * num_segments, C, H, W]`` → same shape."""
        n, c, h, w = x.size()
        num_segments = self.num_segments
        if c != self.in_channels or n % num_segments != 0:
            raise ShapeError(f"TAM expects [B * {num_segments}, {self.in_channels}, H, W], got {tuple(x.shape)}")
        num_batches = n // num_segments
        x = x.view(num_batches, num_segments, c, h, w).permute(0, 2, 1, 3, 4).contiguous()
        theta_out = F.adaptive_avg_pool2d(x.view(-1, num_segments, h, w), (1, 1))
        conv_kernel = self.G(theta_out.view(-1, num_segments)).view(num_batches * c, 1, -1, 1)
        local_activation = self.L(theta_out.view(-1, c, num_segments)).view(num_batches, c, num_segments, 1, 1)
        new_x = x * local_activation
        y = F.conv2d(new_x.view(1, num_batches * c, num_segments, h * w), conv_kernel, bias=None,
                     stride=(self.adaptive_convolution_stride, 1),
                     padding=(self.adaptive_convolution_padding, 0), groups=num_batches * c)
        y = y.view(num_batches, c, num_segments, h, w)
        return y.permute(0, 2, 1, 3, 4).contiguous().view(n, c, h, w)

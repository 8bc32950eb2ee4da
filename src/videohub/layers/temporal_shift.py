"""Temporal shift (TSM, https://arxiv.org/abs/1811.08383) as mmaction2's ``TemporalShift`` wrapper.

``TemporalShift(net)`` shifts part of the channels of its ``[N * T, C, H, W]`` input along time
and then runs ``net``; the wrapped module sits under ``.net`` (so mmaction2 keys such as
``layer1.0.conv1.conv.net.weight`` load unchanged).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError, ShapeError


def temporal_shift(x: torch.Tensor, num_segments: int, shift_div: int = 3) -> torch.Tensor:
    """Shift channels of ``x`` (``[N * num_segments, C, H, W]``) along time; ``shift_div`` defaults to 3.

    With ``fold = C // shift_div``: channels ``[0, fold)`` take the next frame's values (the last
    frame gets zeros), channels ``[fold, 2 * fold)`` take the previous frame's values (the first
    frame gets zeros), the other channels are unchanged.
    """
    if x.dim() != 4:
        raise ShapeError(f"temporal shift expects a 4-d input [N * num_segments, C, H, W], got {tuple(x.shape)}")
    n, c, h, w = x.shape
    if n % num_segments != 0:
        raise ShapeError(
            f"temporal shift: batch dimension {n} of input {tuple(x.shape)} is not a multiple of "
            f"num_segments={num_segments}"
        )
    x = x.reshape(-1, num_segments, c, h * w)
    fold = c // shift_div
    left = x[:, :, :fold]
    mid = x[:, :, fold:2 * fold]
    right = x[:, :, 2 * fold:]
    left = torch.cat((left[:, 1:], torch.zeros_like(left[:, :1])), dim=1)
    mid = torch.cat((torch.zeros_like(mid[:, :1]), mid[:, :-1]), dim=1)
    return torch.cat((left, mid, right), dim=2).view(n, c, h, w)


class TemporalShift(nn.Module):
    """Shift part of the channels along time, then apply ``net`` (mmaction2 ``TemporalShift``).

    Args:
        net: The wrapped module (a conv or a whole residual block).
        num_segments: Frames per clip. Default 3.
        shift_div: ``1/shift_div`` of the channels move backward and as many forward. Default 8.
    """

    def __init__(self, net: nn.Module, num_segments: int = 3, shift_div: int = 8):
        super().__init__()
        if not isinstance(num_segments, int) or num_segments <= 0:
            raise ConfigError(f"TemporalShift num_segments must be a positive int, got {num_segments!r}")
        if not isinstance(shift_div, int) or shift_div <= 0:
            raise ConfigError(f"TemporalShift shift_div must be a positive int, got {shift_div!r}")
        self.net = net
        self.num_segments = num_segments
        self.shift_div = shift_div

    @staticmethod
    def shift(x: torch.Tensor, num_segments: int, shift_div: int = 3) -> torch.Tensor:
        """See :func:`temporal_shift` (``shift_div`` default 3, as mmaction2's static method)."""
        return temporal_shift(x, num_segments, shift_div)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_shift(x, self.num_segments, self.shift_div))

"""ResNet backbone for TIN (Temporal Interlacing Network, https://arxiv.org/abs/2001.06499).

mmaction2 ``ResNetTIN``: each block's first conv becomes ``CombineNet(TemporalInterlace, conv)``
(keys ``layerX.Y.conv1.conv.net1.offset_net.*``, ``...net1.weight_net.*`` and
``layerX.Y.conv1.conv.net2.weight``). The interlace predicts a fractional temporal offset per
channel group and per clip and samples the features by linear interpolation between the two
neighbouring integer shifts (:func:`~videohub.models.tin.tin_shift.tin_shift`), all in plain PyTorch.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import BACKBONES
from .tin_shift import tin_shift
from ..tsm.resnet_tsm import ResNetTSM


def linear_sampler(data: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Differentiable temporal sampling of channel groups at fractional offsets.

    Args:
        data: ``[N, T, C, H, W]``; the channels are split into ``G`` equal groups.
        offset: ``[N, G]`` fractional shift of each group (positive moves features to later frames).

    Returns:
        ``[N, T, C, H, W]``: ``(1 - a) * shift(data, floor(offset)) + a * shift(data, floor(offset) + 1)``
        with ``a = offset - floor(offset)``; the gradient flows into ``data`` and ``offset``.
    """
    n, t, c, h, w = data.shape
    offset0 = torch.floor(offset).int()
    offset1 = offset0 + 1
    data = data.reshape(n, t, c, h * w)
    data0 = tin_shift(data, offset0)
    data1 = tin_shift(data, offset1)
    weight0 = 1 - (offset - offset0.to(offset.dtype))
    weight1 = 1 - weight0
    group_size = offset.shape[1]
    weight0 = weight0[:, :, None].repeat(1, 1, c // group_size).view(n, -1)[:, None, :, None]
    weight1 = weight1[:, :, None].repeat(1, 1, c // group_size).view(n, -1)[:, None, :, None]
    output = weight0 * data0 + weight1 * data1
    return output.view(n, t, c, h, w)


class CombineNet(nn.Module):
    """Run ``net1`` (the temporal interlace) then ``net2`` (the block's conv)."""

    def __init__(self, net1: nn.Module, net2: nn.Module):
        super().__init__()
        self.net1 = net1
        self.net2 = net2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net2(self.net1(x))


class WeightNet(nn.Module):
    """Per-frame, per-group weights in (0, 2): ``2 * sigmoid(conv1d(x))`` (bias zero-initialized).

    Args:
        in_channels: Channels of the pooled descriptor.
        groups: Number of channel groups.
    """

    def __init__(self, in_channels: int, groups: int):
        super().__init__()
        self.sigmoid = nn.Sigmoid()
        self.groups = groups
        self.conv = nn.Conv1d(in_channels, groups, 3, padding=1)
        self.init_weights()

    def init_weights(self) -> None:
        """Zero bias, so the initial weights are 1."""
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, C, T]`` → ``[N, T, groups]``."""
        n, _, t = x.shape
        x = self.conv(x).view(n, self.groups, t).permute(0, 2, 1)
        return 2 * self.sigmoid(x)


class OffsetNet(nn.Module):
    """Per-clip, per-group offsets in (-2, 2): ``4 * (sigmoid(fc2(relu(fc1(conv1d(x))))) - 0.5)``.

    Args:
        in_channels: Channels of the pooled descriptor.
        groups: Number of channel groups.
        num_segments: Frames per clip.
    """

    def __init__(self, in_channels: int, groups: int, num_segments: int):
        super().__init__()
        self.sigmoid = nn.Sigmoid()
        self.conv = nn.Conv1d(in_channels, 1, 3, padding=1)
        self.fc1 = nn.Linear(num_segments, num_segments)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(num_segments, groups)
        self.init_weights()

    def init_weights(self) -> None:
        """``fc2`` bias 0.5108, as mmaction2 (the original TIN repository's value)."""
        nn.init.constant_(self.fc2.bias, 0.5108)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, C, T]`` → ``[N, 1, groups]``."""
        n, _, t = x.shape
        x = self.conv(x).view(n, t)
        x = self.fc2(self.relu(self.fc1(x))).view(n, 1, -1)
        return 4 * (self.sigmoid(x) - 0.5)


class TemporalInterlace(nn.Module):
    """Temporal interlace module (mmaction2 ``TemporalInterlace``).

    The first ``C // shift_div`` channels are split into 4 groups, shifted by ``+offset`` (groups
    0, 1) and ``-offset`` (groups 2, 3) with linear interpolation, and scaled by per-frame
    weights; the other channels pass through.

    Args:
        in_channels: Input channels.
        num_segments: Frames per clip. Default 3.
        shift_div: ``1/shift_div`` of the channels are interlaced. Default 1.
    """

    def __init__(self, in_channels: int, num_segments: int = 3, shift_div: int = 1):
        super().__init__()
        self.num_segments = num_segments
        self.shift_div = shift_div
        self.in_channels = in_channels
        self.deform_groups = 2
        num_folds = in_channels // shift_div
        if num_folds % 4 != 0 or num_folds == 0:
            raise ConfigError(
                f"TemporalInterlace: in_channels // shift_div = {in_channels} // {shift_div} = {num_folds} "
                "must be a positive multiple of 4 (2 offset groups, each shifted both ways)"
            )
        self.offset_net = OffsetNet(num_folds, self.deform_groups, num_segments)
        self.weight_net = WeightNet(num_folds, self.deform_groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N * num_segments, C, H, W]`` → same shape."""
        n, c, h, w = x.size()
        if c != self.in_channels or n % self.num_segments != 0:
            raise ShapeError(
                f"TemporalInterlace expects [B * {self.num_segments}, {self.in_channels}, H, W], got {tuple(x.shape)}"
            )
        num_batches = n // self.num_segments
        num_folds = c // self.shift_div
        x_descriptor = x[:, :num_folds].reshape(num_batches, self.num_segments, num_folds, h, w)
        x_pooled = x_descriptor.mean(3).mean(3).permute(0, 2, 1).contiguous()
        x_offset = self.offset_net(x_pooled).view(num_batches, -1)
        x_weight = self.weight_net(x_pooled)
        x_offset = torch.cat([x_offset, -x_offset], 1)
        x_shift = linear_sampler(x_descriptor, x_offset)
        x_weight = x_weight[:, :, :, None].repeat(1, 1, 2, num_folds // 2 // 2)
        x_weight = x_weight.view(x_weight.size(0), x_weight.size(1), -1)[:, :, :, None, None]
        x_shift = (x_shift * x_weight).contiguous().view(n, num_folds, h, w)
        return torch.cat([x_shift, x[:, num_folds:]], dim=1)


@BACKBONES.register()
class ResNetTIN(ResNetTSM):
    """ResNet backbone for TIN (mmaction2 ``ResNetTIN``).

    Args:
        depth: 18, 34, 50, 101 or 152.
        num_segments: Frames per clip. Default 8.
        is_tin: Insert the temporal interlace modules. Default ``True``.
        shift_div: ``1/shift_div`` of each block's input channels are interlaced. Default 4.
        **kwargs: The other arguments of :class:`~videohub.models.tsm.resnet_tsm.ResNetTSM` and
            :class:`~videohub.layers.resnet.ResNet`, with their defaults (``non_local=(0, 0, 0, 0)``,
            ``non_local_cfg={}``, ``pretrained=None``, ``frozen_stages=-1``, ``norm_eval=False``,
            ``partial_bn=False``, ``with_cp=False``, ...). ``is_shift``, ``shift_place`` and
            ``temporal_pool`` are accepted, as mmaction2 forwards them, but TIN never shifts or
            pools time.
    """

    wrap_names = ("net2", "block")

    def __init__(self, depth: int, num_segments: int = 8, is_tin: bool = True, shift_div: int = 4, **kwargs: Any):
        self.is_tin = is_tin
        super().__init__(depth, num_segments=num_segments, shift_div=shift_div, **kwargs)

    def init_structure(self) -> None:
        """Insert the temporal interlace modules, then the non-local blocks (no shift, no pool)."""
        if self.is_tin:
            self.make_temporal_interlace()
        if len(self.non_local_cfg) != 0:
            self.make_non_local()

    def make_temporal_interlace(self) -> None:
        """Wrap each block's first conv as ``CombineNet(TemporalInterlace, conv)``."""
        for name in self.res_layers:
            blocks = list(getattr(self, name).children())
            for block in blocks:
                interlace = TemporalInterlace(block.conv1.conv.in_channels, num_segments=self.num_segments,
                                              shift_div=self.shift_div)
                block.conv1.conv = CombineNet(interlace, block.conv1.conv)
            setattr(self, name, nn.Sequential(*blocks))

"""ResNet backbone for TSM (mmaction2 ``ResNetTSM``): temporal shift, temporal pool, non-local.

mmaction2 0.x builds the TSM structure inside ``init_weights()`` (so calling it twice wraps the
blocks twice). videohub builds it once in the constructor and keeps ``init_weights()`` free of
side effects on the structure; the module tree and state-dict keys are mmaction2's:

- ``shift_place="blockres"``: ``layerX.Y.conv1.conv.net.*`` (the shift wraps each block's first conv);
- ``shift_place="block"``: ``layerX.Y.net.*`` (the shift wraps whole blocks);
- non-local: ``layerX.Y.block.*`` and ``layerX.Y.non_local_block.*``;
- ``temporal_pool``: ``layer2.net.*``.
"""

from __future__ import annotations

from typing import Any, Dict, Sequence

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import BACKBONES
from ...layers.non_local import NonLocal3d
from ...layers.temporal_shift import TemporalShift
from ...layers.resnet import Bottleneck, ResNet


class NL3DWrapper(nn.Module):
    """A residual block followed by a 3D non-local block over time (mmaction2 ``NL3DWrapper``).

    Args:
        block: The wrapped Bottleneck block (its ``conv3`` norm gives the channels).
        num_segments: Frames per clip.
        non_local_cfg: Keyword arguments of :class:`~videohub.layers.non_local.NonLocal3d`. Default ``{}``.
    """

    def __init__(self, block: nn.Module, num_segments: int, non_local_cfg: Dict = dict()):
        super().__init__()
        if not isinstance(block, Bottleneck):
            raise ConfigError(
                f"non-local blocks in ResNetTSM need Bottleneck blocks (depth >= 50), got {type(block).__name__}"
            )
        self.block = block
        self.non_local_cfg = dict(non_local_cfg)
        self.non_local_block = NonLocal3d(block.conv3.norm.num_features, **self.non_local_cfg)
        self.num_segments = num_segments

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(x)
        n, c, h, w = x.size()
        x = x.view(n // self.num_segments, self.num_segments, c, h, w).transpose(1, 2).contiguous()
        x = self.non_local_block(x)
        return x.transpose(1, 2).contiguous().view(n, c, h, w)


class TemporalPool(nn.Module):
    """Max-pool over time (kernel 3, stride 2, padding 1), halving the segments, then run ``net``.

    Args:
        net: The wrapped module (ResNetTSM's ``layer2``).
        num_segments: Frames per clip before pooling.
    """

    def __init__(self, net: nn.Module, num_segments: int):
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.max_pool3d = nn.MaxPool3d(kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.size()
        if n % self.num_segments != 0:
            raise ShapeError(f"TemporalPool: batch {n} of input {tuple(x.shape)} is not a multiple of "
                             f"num_segments={self.num_segments}")
        x = x.view(n // self.num_segments, self.num_segments, c, h, w).transpose(1, 2)
        x = self.max_pool3d(x)
        x = x.transpose(1, 2).contiguous().view(n // 2, c, h, w)
        return self.net(x)


def _non_local_stages(non_local: Sequence, stage_blocks: Sequence[int]) -> list:
    """Per-stage, per-block 0/1 flags; an int entry applies to every block of its stage."""
    if isinstance(non_local, int):
        non_local = (non_local,) * len(stage_blocks)
    if len(non_local) < len(stage_blocks):
        raise ConfigError(f"non_local={non_local!r} needs an entry for each of the {len(stage_blocks)} stages")
    stages = []
    for i, blocks in enumerate(stage_blocks):
        entry = non_local[i]
        flags = (entry,) * blocks if isinstance(entry, int) else tuple(entry)
        if len(flags) != blocks:
            raise ConfigError(f"non_local[{i}]={entry!r} has {len(flags)} flags, but stage {i + 1} has {blocks} blocks")
        stages.append(flags)
    return stages


@BACKBONES.register()
class ResNetTSM(ResNet):
    """ResNet backbone for TSM (mmaction2 ``ResNetTSM``).

    Args:
        depth: 18, 34, 50, 101 or 152.
        num_segments: Frames per clip. Default 8.
        is_shift: Insert temporal shifts. Default ``True``.
        non_local: Per stage, per block 0/1 flags for non-local blocks (used when ``non_local_cfg``
            is not empty). Default ``(0, 0, 0, 0)``.
        non_local_cfg: :class:`NonLocal3d` arguments; empty (default) means no non-local blocks.
        shift_div: ``1/shift_div`` of the channels shift each way. Default 8.
        shift_place: ``"blockres"`` (default; shift before each block's first conv) or ``"block"``
            (shift before each whole block).
        temporal_pool: Max-pool time by 2 between ``layer1`` and ``layer2``. Default ``False``.
        **kwargs: The other arguments of :class:`~videohub.layers.resnet.ResNet`, with its defaults
            (``pretrained=None``, ``out_indices=(3,)``, ``frozen_stages=-1``, ``norm_eval=False``,
            ``partial_bn=False``, ``with_cp=False``, ...).

    A plain ResNet checkpoint given as ``pretrained`` loads into the wrapped blocks (``wrap_names``).
    """

    wrap_names = ("net", "block")

    def __init__(
        self,
        depth: int,
        num_segments: int = 8,
        is_shift: bool = True,
        non_local: Sequence = (0, 0, 0, 0),
        non_local_cfg: Dict = dict(),
        shift_div: int = 8,
        shift_place: str = "blockres",
        temporal_pool: bool = False,
        **kwargs: Any,
    ):
        super().__init__(depth, **kwargs)
        if not isinstance(num_segments, int) or num_segments <= 0:
            raise ConfigError(f"ResNetTSM num_segments must be a positive int, got {num_segments!r}")
        if shift_place not in ("block", "blockres"):
            raise ConfigError(f"ResNetTSM shift_place must be 'block' or 'blockres', got {shift_place!r}")
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.shift_div = shift_div
        self.shift_place = shift_place
        self.temporal_pool = temporal_pool
        self.non_local = non_local
        self.non_local_cfg = dict(non_local_cfg)
        self.non_local_stages = _non_local_stages(non_local, self.stage_blocks)
        self.init_structure()

    def init_structure(self) -> None:
        """Insert the temporal shifts, non-local blocks and temporal pool (once, at construction)."""
        if self.is_shift:
            self.make_temporal_shift()
        if len(self.non_local_cfg) != 0:
            self.make_non_local()
        if self.temporal_pool:
            self.make_temporal_pool()

    def _segments_per_stage(self) -> list:
        if self.temporal_pool:
            segments = [self.num_segments] + [self.num_segments // 2] * 3
        else:
            segments = [self.num_segments] * 4
        if segments[-1] <= 0:
            raise ConfigError(f"ResNetTSM: num_segments={self.num_segments} leaves no segment after temporal_pool")
        return segments

    def make_temporal_shift(self) -> None:
        """Wrap each block (``"block"``) or each block's first conv (``"blockres"``) in a TemporalShift."""
        segments = self._segments_per_stage()
        n_round = 1
        if self.shift_place == "blockres" and len(self.stage_blocks) > 2 and self.stage_blocks[2] >= 23:
            n_round = 2
        for i, name in enumerate(self.res_layers):
            blocks = list(getattr(self, name).children())
            for j, block in enumerate(blocks):
                if self.shift_place == "block":
                    blocks[j] = TemporalShift(block, num_segments=segments[i], shift_div=self.shift_div)
                elif j % n_round == 0:
                    block.conv1.conv = TemporalShift(block.conv1.conv, num_segments=segments[i],
                                                     shift_div=self.shift_div)
            setattr(self, name, nn.Sequential(*blocks))

    def make_temporal_pool(self) -> None:
        """Wrap ``layer2`` in a :class:`TemporalPool`."""
        if self.num_stages < 2:
            raise ConfigError("ResNetTSM temporal_pool needs at least 2 stages")
        self.layer2 = TemporalPool(self.layer2, self.num_segments)

    def make_non_local(self) -> None:
        """Wrap the flagged blocks in :class:`NL3DWrapper`."""
        for i, flags in enumerate(self.non_local_stages):
            if sum(flags) == 0:
                continue
            res_layer = getattr(self, self.res_layers[i])
            for idx, flag in enumerate(flags):
                if flag:
                    res_layer[idx] = NL3DWrapper(res_layer[idx], self.num_segments, self.non_local_cfg)

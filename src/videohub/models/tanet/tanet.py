"""TANet backbone: ResNet with a Temporal Adaptive Module in every block (mmaction2 ``TANet``).

Each Bottleneck becomes a ``TABlock`` whose original block sits under ``.block`` and whose TAM,
applied after the first 1x1 conv, sits under ``.tam`` (keys ``layerX.Y.block.conv1.conv.weight``,
``layerX.Y.tam.G.0.weight``), as in mmaction2.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any, Dict

import torch
from torch import nn

from ...errors import ConfigError
from ...registry import BACKBONES
from .tam import TAM
from ...layers.backbone_base import checkpointed
from ...layers.resnet import Bottleneck, ResNet


class TABlock(nn.Module):
    """Temporal Adaptive Block: Bottleneck with a TAM after its first conv (mmaction2 ``TABlock``).

    Args:
        block: The Bottleneck block to extend.
        num_segments: Frames per clip.
        tam_cfg: Extra :class:`~videohub.models.tanet.tam.TAM` arguments. Default ``{}``.
    """

    def __init__(self, block: nn.Module, num_segments: int, tam_cfg: Dict = dict()):
        super().__init__()
        if not isinstance(block, Bottleneck):
            raise ConfigError(
                f"TA-Blocks are only implemented for Bottleneck blocks (TANet depth >= 50), got {type(block).__name__}"
            )
        self.tam_cfg = deepcopy(tam_cfg)
        self.block = block
        self.num_segments = num_segments
        self.tam = TAM(in_channels=block.conv1.conv.out_channels, num_segments=num_segments, **self.tam_cfg)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block.conv1(x)
        out = self.tam(out)
        out = self.block.conv2(out)
        out = self.block.conv3(out)
        identity = x if self.block.downsample is None else self.block.downsample(x)
        return out + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block.relu(checkpointed(self._inner_forward, x, enabled=self.block.with_cp))


@BACKBONES.register()
class TANet(ResNet):
    """Temporal Adaptive Network backbone (mmaction2 ``TANet``).

    Args:
        depth: 50, 101 or 152 (TA-Blocks need Bottleneck blocks).
        num_segments: Frames per clip (at least 3; required).
        tam_cfg: Extra :class:`~videohub.models.tanet.tam.TAM` arguments. Default ``{}``.
        **kwargs: The other arguments of :class:`~videohub.layers.resnet.ResNet`, with its defaults
            (``pretrained=None``, ``out_indices=(3,)``, ``frozen_stages=-1``, ``norm_eval=False``,
            ``partial_bn=False``, ``with_cp=False``, ...).

    A plain ResNet checkpoint given as ``pretrained`` loads into the TA-Blocks (``wrap_names``).
    """

    wrap_names = ("block",)

    def __init__(self, depth: int, num_segments: int, tam_cfg: Dict = dict(), **kwargs: Any):
        super().__init__(depth, **kwargs)
        if not isinstance(num_segments, int) or num_segments < 3:
            raise ConfigError(f"TANet num_segments must be an int >= 3, got {num_segments!r}")
        if self.block is not Bottleneck:
            raise ConfigError(f"TANet needs Bottleneck blocks (depth 50, 101 or 152), got depth {depth}")
        self.num_segments = num_segments
        self.tam_cfg = deepcopy(tam_cfg)
        self.make_tam_modeling()

    def make_tam_modeling(self) -> None:
        """Replace every ResNet block by a :class:`TABlock` (once, at construction)."""
        for name in self.res_layers:
            blocks = [TABlock(block, self.num_segments, deepcopy(self.tam_cfg))
                      for block in getattr(self, name).children()]
            setattr(self, name, nn.Sequential(*blocks))

"""TANet backbone: ResNet with a Temporal Adaptive Module in every block (mmaction2 ``TANet``).

Each Bottleneck becomes a ``TABlock`` whose original block sits under ``.block`` and whose TAM,
applied after the first 1x1 conv, sits under ``.tam`` (keys ``layerX.Y.block.conv1.conv.weight``,
``layerX.Y.tam.G.0.weight``), as in mmaction2.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Dict, Optional, Sequence

import torch
import torch.utils.checkpoint as cp
from torch import nn

from ...errors import ConfigError
from ...registry import BACKBONES
from .tam import TAM
from ...layers.resnet import Bottleneck, ResNet
from ..tsm.resnet_tsm import load_wrapped_pretrained


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
        if self.block.with_cp and x.requires_grad:
            out = cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        else:
            out = self._inner_forward(x)
        return self.block.relu(out)


@BACKBONES.register()
class TANet(ResNet):
    """Temporal Adaptive Network backbone (mmaction2 ``TANet``).

    Args:
        depth: 50, 101 or 152 (TA-Blocks need Bottleneck blocks).
        num_segments: Frames per clip (at least 3).
        tam_cfg: Extra :class:`~videohub.models.tanet.tam.TAM` arguments. Default ``{}``.
        pretrained, torchvision_pretrain, in_channels, num_stages, out_indices, strides, dilations,
        style, frozen_stages, conv_cfg, norm_cfg, act_cfg, norm_eval, partial_bn, with_cp:
            As :class:`~videohub.layers.resnet.ResNet` (defaults ``None``, ``True``, 3, 4,
            ``(3,)``, ``(1, 2, 2, 2)``, ``(1, 1, 1, 1)``, ``"pytorch"``, -1, ``dict(type="Conv")``,
            ``dict(type="BN2d", requires_grad=True)``, ``dict(type="ReLU", inplace=True)``,
            ``False``, ``False``, ``False``).
    """

    wrap_names = ("block",)

    def __init__(
        self,
        depth: int,
        num_segments: int,
        tam_cfg: Dict = dict(),
        pretrained: Optional[str] = None,
        torchvision_pretrain: bool = True,
        in_channels: int = 3,
        num_stages: int = 4,
        out_indices: Sequence[int] = (3,),
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        style: str = "pytorch",
        frozen_stages: int = -1,
        conv_cfg: Dict = dict(type="Conv"),
        norm_cfg: Dict = dict(type="BN2d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        norm_eval: bool = False,
        partial_bn: bool = False,
        with_cp: bool = False,
    ):
        super().__init__(depth, pretrained=pretrained, torchvision_pretrain=torchvision_pretrain,
                         in_channels=in_channels, num_stages=num_stages, out_indices=out_indices,
                         strides=strides, dilations=dilations, style=style, frozen_stages=frozen_stages,
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, norm_eval=norm_eval,
                         partial_bn=partial_bn, with_cp=with_cp)
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

    def init_weights(self) -> None:
        """ResNet init (Kaiming Conv2d, unit BN2d; the TAMs keep their own init); then ``pretrained``."""
        pretrained = self.pretrained
        self.pretrained = None
        try:
            super().init_weights()
        finally:
            self.pretrained = pretrained
        if pretrained:
            load_wrapped_pretrained(self, pretrained, self.wrap_names)

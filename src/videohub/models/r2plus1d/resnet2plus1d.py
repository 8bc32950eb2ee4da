"""R(2+1)D (mmaction2 ``ResNet2Plus1d``): a :class:`ResNet3d` whose convs are ``Conv2plus1d``.

"A Closer Look at Spatiotemporal Convolutions for Action Recognition" (https://arxiv.org/abs/1711.11248).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch

from ...errors import ConfigError
from ...registry import BACKBONES
from ...layers.conv2plus1d import Conv2plus1d  # noqa: F401  (registers the "Conv2plus1d" conv type)
from ...layers.resnet3d import ResNet3d, _check_input


@BACKBONES.register()
class ResNet2Plus1d(ResNet3d):
    """ResNet (2+1)D backbone.

    mmaction2 takes ``ResNet3d``'s arguments and asserts ``pretrained2d=False`` and
    ``conv_cfg=dict(type="Conv2plus1d")``; here these two are the defaults and any other value is
    rejected. Every other argument and default is :class:`ResNet3d`'s. The forward pass always
    applies the stem max-pool, never ``pool2``, and returns the last stage only.
    """

    def __init__(
        self,
        depth: int,
        pretrained: Optional[str] = None,
        stage_blocks: Optional[Sequence[int]] = None,
        pretrained2d: bool = False,
        in_channels: int = 3,
        num_stages: int = 4,
        base_channels: int = 64,
        out_indices: Sequence[int] = (3,),
        spatial_strides: Sequence[int] = (1, 2, 2, 2),
        temporal_strides: Sequence[int] = (1, 1, 1, 1),
        dilations: Sequence[int] = (1, 1, 1, 1),
        conv1_kernel: Sequence[int] = (3, 7, 7),
        conv1_stride_s: int = 2,
        conv1_stride_t: int = 1,
        pool1_stride_s: int = 2,
        pool1_stride_t: int = 1,
        with_pool1: bool = True,
        with_pool2: bool = True,
        style: str = "pytorch",
        frozen_stages: int = -1,
        inflate: Sequence = (1, 1, 1, 1),
        inflate_style: str = "3x1x1",
        conv_cfg: Dict = dict(type="Conv2plus1d"),
        norm_cfg: Dict = dict(type="BN3d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        norm_eval: bool = False,
        with_cp: bool = False,
        non_local: Sequence = (0, 0, 0, 0),
        non_local_cfg: Dict = dict(),
        zero_init_residual: bool = True,
    ):
        if pretrained2d:
            raise ConfigError("ResNet2Plus1d: pretrained2d must be False (2D weights cannot be inflated into "
                              "(2+1)D convolutions)")
        if not isinstance(conv_cfg, dict) or conv_cfg.get("type") != "Conv2plus1d":
            raise ConfigError(f"ResNet2Plus1d: conv_cfg must be dict(type='Conv2plus1d'), got {conv_cfg!r}")
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` → the last stage's feature (stem max-pool always on, no ``pool2``)."""
        _check_input(x, self.in_channels, "ResNet2Plus1d")
        x = self.maxpool(self.conv1(x))
        for layer_name in self.res_layers:
            x = getattr(self, layer_name)(x)
        return x

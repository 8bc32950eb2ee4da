"""SlowOnly (mmaction2 ``ResNet3dSlowOnly``): the slow pathway of SlowFast used alone."""

from __future__ import annotations

from typing import Dict, Optional, Sequence

from ...errors import ConfigError
from ...registry import BACKBONES
from .resnet3d_slowfast import ResNet3dPathway


@BACKBONES.register()
class ResNet3dSlowOnly(ResNet3dPathway):
    """SlowOnly backbone: a :class:`ResNet3dPathway` without lateral connections.

    Its own defaults differ from :class:`~videohub.layers.backbones.resnet3d.ResNet3d`:
    ``conv1_kernel=(1, 7, 7)``, ``conv1_stride_t=1``, ``pool1_stride_t=1``,
    ``inflate=(0, 0, 1, 1)`` (temporal kernels only in the last two stages), ``with_pool2=False``
    and ``lateral=False`` (``True`` is rejected). Every other argument and default is
    :class:`ResNet3dPathway`'s (``depth`` required, ``pretrained=None``, ``pretrained2d=True``,
    ``base_channels=64``, ``spatial_strides=(1, 2, 2, 2)``, ``temporal_strides=(1, 1, 1, 1)``,
    ``inflate_style="3x1x1"``, ``norm_eval=False``, ``with_cp=False``, ``zero_init_residual=True``, ...).
    """

    def __init__(
        self,
        depth: int,
        pretrained: Optional[str] = None,
        stage_blocks: Optional[Sequence[int]] = None,
        pretrained2d: bool = True,
        in_channels: int = 3,
        num_stages: int = 4,
        base_channels: int = 64,
        out_indices: Sequence[int] = (3,),
        spatial_strides: Sequence[int] = (1, 2, 2, 2),
        temporal_strides: Sequence[int] = (1, 1, 1, 1),
        dilations: Sequence[int] = (1, 1, 1, 1),
        conv1_kernel: Sequence[int] = (1, 7, 7),
        conv1_stride_s: int = 2,
        conv1_stride_t: int = 1,
        pool1_stride_s: int = 2,
        pool1_stride_t: int = 1,
        with_pool1: bool = True,
        with_pool2: bool = False,
        style: str = "pytorch",
        frozen_stages: int = -1,
        inflate: Sequence = (0, 0, 1, 1),
        inflate_style: str = "3x1x1",
        conv_cfg: Dict = dict(type="Conv3d"),
        norm_cfg: Dict = dict(type="BN3d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        norm_eval: bool = False,
        with_cp: bool = False,
        non_local: Sequence = (0, 0, 0, 0),
        non_local_cfg: Dict = dict(),
        zero_init_residual: bool = True,
        lateral: bool = False,
        lateral_norm: bool = False,
        speed_ratio: int = 8,
        channel_ratio: int = 8,
        fusion_kernel: int = 5,
    ):
        if lateral:
            raise ConfigError("ResNet3dSlowOnly: lateral must be False (SlowOnly has no second pathway)")
        super().__init__(
            depth, pretrained, stage_blocks=stage_blocks, pretrained2d=pretrained2d, in_channels=in_channels,
            num_stages=num_stages, base_channels=base_channels, out_indices=out_indices,
            spatial_strides=spatial_strides, temporal_strides=temporal_strides, dilations=dilations,
            conv1_kernel=conv1_kernel, conv1_stride_s=conv1_stride_s, conv1_stride_t=conv1_stride_t,
            pool1_stride_s=pool1_stride_s, pool1_stride_t=pool1_stride_t, with_pool1=with_pool1,
            with_pool2=with_pool2, style=style, frozen_stages=frozen_stages, inflate=inflate,
            inflate_style=inflate_style, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
            norm_eval=norm_eval, with_cp=with_cp, non_local=non_local, non_local_cfg=non_local_cfg,
            zero_init_residual=zero_init_residual, lateral=lateral, lateral_norm=lateral_norm,
            speed_ratio=speed_ratio, channel_ratio=channel_ratio, fusion_kernel=fusion_kernel,
        )

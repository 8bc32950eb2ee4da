"""SlowOnly (mmaction2 ``ResNet3dSlowOnly``): the slow pathway of SlowFast used alone."""

from __future__ import annotations

from typing import Any, Sequence

from ...errors import ConfigError
from ...registry import BACKBONES
from ..slowfast.resnet3d_slowfast import ResNet3dPathway


@BACKBONES.register()
class ResNet3dSlowOnly(ResNet3dPathway):
    """SlowOnly backbone: a :class:`ResNet3dPathway` without lateral connections.

    Its own defaults differ from :class:`~videohub.layers.resnet3d.ResNet3d`:
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
        conv1_kernel: Sequence[int] = (1, 7, 7),
        conv1_stride_t: int = 1,
        pool1_stride_t: int = 1,
        with_pool2: bool = False,
        inflate: Sequence = (0, 0, 1, 1),
        lateral: bool = False,
        **kwargs: Any,
    ):
        if lateral:
            raise ConfigError("ResNet3dSlowOnly: lateral must be False (SlowOnly has no second pathway)")
        super().__init__(
            depth, conv1_kernel=conv1_kernel, conv1_stride_t=conv1_stride_t, pool1_stride_t=pool1_stride_t,
            with_pool2=with_pool2, inflate=inflate, lateral=lateral, **kwargs,
        )

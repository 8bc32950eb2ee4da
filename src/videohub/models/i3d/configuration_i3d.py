"""I3D configuration: the mmaction2 model dict of the architecture's reference model."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class I3DConfig(RecognizerConfig):
    r"""I3D (mmaction2 ``Recognizer3D`` + ``ResNet3d`` + ``I3DHead``).

    Defaults are mmaction2's ``i3d_r50_32x2x1_100e_kinetics400_rgb``:

    - ``backbone=dict(type="ResNet3d", depth=50, pretrained=None, pretrained2d=True,
      conv1_kernel=(5, 7, 7), conv1_stride_t=2, pool1_stride_t=2, conv_cfg=dict(type="Conv3d"),
      norm_eval=False, inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
      zero_init_residual=False)``;
    - ``cls_head=dict(type="I3DHead", in_channels=2048, spatial_type="avg", dropout_ratio=0.5,
      init_std=0.01)``;
    - ``recognizer="Recognizer3D"``, ``average_clips="prob"``, ``num_frames=32``.

    The non-local variants add ``non_local``/``non_local_cfg`` to the backbone (see the
    ``i3d_nl_*`` presets of :mod:`videohub.conversion.presets`). Other fields: see
    :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-i3d"
    mmaction2_types = {"backbone": ("ResNet3d",)}
    conversion_priority = 10
    default_backbone = dict(
        type="ResNet3d", depth=50, pretrained=None, pretrained2d=True, conv1_kernel=(5, 7, 7), conv1_stride_t=2,
        pool1_stride_t=2, conv_cfg=dict(type="Conv3d"), norm_eval=False,
        inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)), zero_init_residual=False,
    )
    default_cls_head = dict(type="I3DHead", in_channels=2048, spatial_type="avg", dropout_ratio=0.5, init_std=0.01)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "prob"
    num_frames: int = 32

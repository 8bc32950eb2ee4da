"""R2Plus1D configuration: the mmaction2 model dict of the architecture's reference model."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class R2Plus1DConfig(RecognizerConfig):
    r"""R(2+1)D (mmaction2 ``Recognizer3D`` + ``ResNet2Plus1d`` + ``I3DHead``).

    Defaults are mmaction2's ``r2plus1d_r34_8x8x1_180e_kinetics400_rgb``, except ``SyncBN`` →
    ``BN3d`` with the same eps (identical at inference; ``SyncBN`` needs a process group to train):

    - ``backbone=dict(type="ResNet2Plus1d", depth=34, pretrained=None, pretrained2d=False,
      norm_eval=False, conv_cfg=dict(type="Conv2plus1d"), norm_cfg=dict(type="BN3d",
      requires_grad=True, eps=1e-3), conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
      inflate=(1, 1, 1, 1), spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 2, 2),
      zero_init_residual=False)``;
    - ``cls_head=dict(type="I3DHead", in_channels=512, spatial_type="avg", dropout_ratio=0.5,
      init_std=0.01)``;
    - ``recognizer="Recognizer3D"``, ``average_clips="prob"``, ``num_frames=8``.

    Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-r2plus1d"
    mmaction2_types = {"backbone": ("ResNet2Plus1d",)}
    conversion_priority = 50
    default_backbone = dict(
        type="ResNet2Plus1d", depth=34, pretrained=None, pretrained2d=False, norm_eval=False,
        conv_cfg=dict(type="Conv2plus1d"), norm_cfg=dict(type="BN3d", requires_grad=True, eps=1e-3),
        conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1, inflate=(1, 1, 1, 1),
        spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 2, 2), zero_init_residual=False,
    )
    default_cls_head = dict(type="I3DHead", in_channels=512, spatial_type="avg", dropout_ratio=0.5, init_std=0.01)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "prob"
    num_frames: int = 8

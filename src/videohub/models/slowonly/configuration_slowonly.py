"""SlowOnly configuration: the mmaction2 model dict of the architecture's reference model."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class SlowOnlyConfig(RecognizerConfig):
    r"""SlowOnly (mmaction2 ``Recognizer3D`` + ``ResNet3dSlowOnly`` + ``I3DHead``).

    Defaults are mmaction2's ``slowonly_r50_4x16x1_256e_kinetics400_rgb`` (the 8x8x1 model is the
    same network with ``num_frames=8``):

    - ``backbone=dict(type="ResNet3dSlowOnly", depth=50, pretrained=None, lateral=False,
      conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False)``;
    - ``cls_head=dict(type="I3DHead", in_channels=2048, spatial_type="avg", dropout_ratio=0.5)``;
    - ``recognizer="Recognizer3D"``, ``average_clips="prob"``, ``num_frames=4``.

    Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-slowonly"
    mmaction2_types = {"backbone": ("ResNet3dSlowOnly",)}
    conversion_priority = 50
    default_backbone = dict(
        type="ResNet3dSlowOnly", depth=50, pretrained=None, lateral=False, conv1_kernel=(1, 7, 7),
        conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False,
    )
    default_cls_head = dict(type="I3DHead", in_channels=2048, spatial_type="avg", dropout_ratio=0.5)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "prob"
    num_frames: int = 4

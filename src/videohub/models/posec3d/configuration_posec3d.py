"""PoseC3D configuration: the SlowOnly topology on stacked keypoint (or limb) heatmaps."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class PoseC3DConfig(RecognizerConfig):
    r"""PoseC3D (mmaction2 ``Recognizer3D`` + ``ResNet3dSlowOnly`` + ``I3DHead`` on pose heatmaps).

    The input is ``pixel_values`` ``(B, [V,] T, K, H, W)`` whose ``K`` channels are the
    ``GeneratePoseTarget`` heatmaps (17 COCO keypoints, or one channel per limb). Defaults are
    mmaction2's ``slowonly_r50_u48_240e_ntu60_xsub_keypoint``:

    - ``backbone=dict(type="ResNet3dSlowOnly", depth=50, pretrained=None, in_channels=17, base_channels=32,
      num_stages=3, out_indices=(2,), stage_blocks=(4, 6, 3), conv1_stride_s=1, pool1_stride_s=1,
      inflate=(0, 1, 1), spatial_strides=(2, 2, 2), temporal_strides=(1, 1, 2), dilations=(1, 1, 1))``
      (the limb models: ``in_channels`` = number of limbs);
    - ``cls_head=dict(type="I3DHead", in_channels=512, spatial_type="avg", dropout_ratio=0.5)``;
    - ``recognizer="Recognizer3D"``, ``average_clips="prob"``, ``num_frames=48``
      (``UniformSampleFrames(clip_len=48)``).

    mmaction2 checkpoints of PoseC3D are ``ResNet3dSlowOnly`` recognizers and convert as
    ``videohub-slowonly`` (same network, same weights); this config is the architecture's home for
    models built or trained on heatmaps in videohub. Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-posec3d"
    default_backbone = dict(
        type="ResNet3dSlowOnly", depth=50, pretrained=None, in_channels=17, base_channels=32, num_stages=3,
        out_indices=(2,), stage_blocks=(4, 6, 3), conv1_stride_s=1, pool1_stride_s=1, inflate=(0, 1, 1),
        spatial_strides=(2, 2, 2), temporal_strides=(1, 1, 2), dilations=(1, 1, 1),
    )
    default_cls_head = dict(type="I3DHead", in_channels=512, spatial_type="avg", dropout_ratio=0.5)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "prob"
    num_frames: int = 48

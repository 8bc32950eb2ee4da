"""CSN configuration: the mmaction2 model dict of the architecture's reference model."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class CSNConfig(RecognizerConfig):
    r"""CSN (mmaction2 ``Recognizer3D`` + ``ResNet3dCSN`` + ``I3DHead``).

    Defaults are mmaction2's ``ircsn_ig65m_pretrained_r152_32x2x1_58e_kinetics400_rgb`` (ir-CSN
    R152; ``bottleneck_mode="ip"`` gives ip-CSN):

    - ``backbone=dict(type="ResNet3dCSN", depth=152, pretrained=None, pretrained2d=False,
      with_pool2=False, bottleneck_mode="ir", norm_eval=False, zero_init_residual=False)``;
    - ``cls_head=dict(type="I3DHead", in_channels=2048, spatial_type="avg", dropout_ratio=0.5,
      init_std=0.01)``;
    - ``recognizer="Recognizer3D"``, ``average_clips="prob"``, ``max_testing_views=10``,
      ``num_frames=32``.

    Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-csn"
    mmaction2_types = {"backbone": ("ResNet3dCSN",)}
    conversion_priority = 50
    default_backbone = dict(
        type="ResNet3dCSN", depth=152, pretrained=None, pretrained2d=False, with_pool2=False,
        bottleneck_mode="ir", norm_eval=False, zero_init_residual=False,
    )
    default_cls_head = dict(type="I3DHead", in_channels=2048, spatial_type="avg", dropout_ratio=0.5, init_std=0.01)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "prob"
    max_testing_views: Optional[int] = 10
    num_frames: int = 32

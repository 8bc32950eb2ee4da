"""X3D configuration: ``X3D`` backbone + ``X3DHead`` in a ``Recognizer3D``."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class X3DConfig(RecognizerConfig):
    r"""X3D (mmaction2 ``Recognizer3D`` + ``X3D`` + ``X3DHead``).

    Defaults are mmaction2's X3D-S (``x3d_s_13x6x1_facebook_kinetics400_rgb``):
    ``backbone=dict(type="X3D", gamma_w=1, gamma_b=2.25, gamma_d=2.2)``,
    ``cls_head=dict(type="X3DHead", in_channels=432, spatial_type="avg", dropout_ratio=0.5, fc1_bias=False)``,
    ``recognizer="Recognizer3D"``, ``average_clips="prob"``, ``num_frames=13`` (X3D-M: 16 frames, same
    network). Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-x3d"
    mmaction2_types = {"backbone": ("X3D",)}
    conversion_priority = 50
    default_backbone = dict(type="X3D", gamma_w=1, gamma_b=2.25, gamma_d=2.2)
    default_cls_head = dict(type="X3DHead", in_channels=432, spatial_type="avg", dropout_ratio=0.5, fc1_bias=False)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "prob"
    num_frames: int = 13

"""C3D configuration: ``C3D`` backbone (with its fc6/fc7) + ``I3DHead`` in a ``Recognizer3D``."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class C3DConfig(RecognizerConfig):
    r"""C3D (mmaction2 ``Recognizer3D`` + ``C3D`` + ``I3DHead``).

    Defaults are mmaction2's ``c3d_sports1m_16x1x1_45e_ucf101_rgb``:
    ``backbone=dict(type="C3D", style="pytorch", conv_cfg=dict(type="Conv3d"), norm_cfg=None,
    act_cfg=dict(type="ReLU"), dropout_ratio=0.5, init_std=0.005)`` (``out_dim=8192``: 16x112x112 clips),
    ``cls_head=dict(type="I3DHead", in_channels=4096, spatial_type=None, dropout_ratio=0.5, init_std=0.01)``,
    ``recognizer="Recognizer3D"``, ``average_clips="score"``, ``num_frames=16``. Other inputs sizes need
    ``backbone["out_dim"]`` (see :func:`videohub.models.c3d.c3d.c3d_out_dim`). Other fields:
    see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-c3d"
    mmaction2_types = {"backbone": ("C3D",)}
    conversion_priority = 50
    default_backbone = dict(type="C3D", style="pytorch", conv_cfg=dict(type="Conv3d"), norm_cfg=None,
                            act_cfg=dict(type="ReLU"), dropout_ratio=0.5, init_std=0.005)
    default_cls_head = dict(type="I3DHead", in_channels=4096, spatial_type=None, dropout_ratio=0.5, init_std=0.01)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "score"
    num_frames: int = 16

"""TANet configuration."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class TANetConfig(RecognizerConfig):
    r"""Temporal Adaptive Network (mmaction2 ``Recognizer2D`` + ``TANet`` + ``TSMHead``).

    Defaults are mmaction2's TANet R50 1x1x8: ``backbone=dict(type="TANet", depth=50,
    num_segments=8, tam_cfg=dict())``, ``cls_head=dict(type="TSMHead", in_channels=2048,
    spatial_type="avg", consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.5,
    init_std=0.001)``, ``average_clips="prob"``, ``num_frames=8``.
    Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-tanet"
    mmaction2_types = {"backbone": ("TANet",)}
    conversion_priority = 50
    default_backbone = dict(type="TANet", depth=50, num_segments=8, tam_cfg=dict())
    default_cls_head = dict(
        type="TSMHead", in_channels=2048, spatial_type="avg", consensus=dict(type="AvgConsensus", dim=1),
        dropout_ratio=0.5, init_std=0.001,
    )
    average_clips: Optional[str] = "prob"
    num_frames: int = 8

"""TSM configuration."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class TSMConfig(RecognizerConfig):
    r"""Temporal Shift Module (mmaction2 ``Recognizer2D`` + ``ResNetTSM`` + ``TSMHead``).

    Defaults are mmaction2's TSM R50 1x1x8: ``backbone=dict(type="ResNetTSM", depth=50,
    norm_eval=False, shift_div=8)``, ``cls_head=dict(type="TSMHead", in_channels=2048,
    spatial_type="avg", consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.5,
    init_std=0.001, is_shift=True)``, ``average_clips="prob"``, ``num_frames=8``. ``MobileNetV2TSM``
    may replace the ResNet (then ``in_channels=1280``); ``num_segments`` of backbone and head must
    equal the frames per clip. Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-tsm"
    mmaction2_types = {"backbone": ("ResNetTSM", "MobileNetV2TSM")}
    conversion_priority = 50
    default_backbone = dict(type="ResNetTSM", depth=50, norm_eval=False, shift_div=8)
    default_cls_head = dict(
        type="TSMHead", in_channels=2048, spatial_type="avg", consensus=dict(type="AvgConsensus", dim=1),
        dropout_ratio=0.5, init_std=0.001, is_shift=True,
    )
    average_clips: Optional[str] = "prob"
    num_frames: int = 8

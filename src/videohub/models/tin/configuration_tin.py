"""TIN configuration."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class TINConfig(RecognizerConfig):
    r"""Temporal Interlacing Network (mmaction2 ``Recognizer2D`` + ``ResNetTIN`` + ``TSMHead``).

    Defaults are mmaction2's TIN R50 1x1x8: ``backbone=dict(type="ResNetTIN", depth=50,
    norm_eval=False, shift_div=4)``, ``cls_head=dict(type="TSMHead", in_channels=2048,
    spatial_type="avg", consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.5,
    init_std=0.001, is_shift=False)``, ``average_clips=None``, ``num_frames=8``.
    Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-tin"
    mmaction2_types = {"backbone": ("ResNetTIN",)}
    conversion_priority = 50
    default_backbone = dict(type="ResNetTIN", depth=50, norm_eval=False, shift_div=4)
    default_cls_head = dict(
        type="TSMHead", in_channels=2048, spatial_type="avg", consensus=dict(type="AvgConsensus", dim=1),
        dropout_ratio=0.5, init_std=0.001, is_shift=False,
    )
    average_clips: Optional[str] = None
    num_frames: int = 8

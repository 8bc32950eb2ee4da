"""TRN configuration."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class TRNConfig(RecognizerConfig):
    r"""Temporal Relation Network (mmaction2 ``Recognizer2D`` + ``ResNet`` + ``TRNHead``).

    Defaults are mmaction2's TRN R50 1x1x8: ``backbone=dict(type="ResNet", depth=50,
    norm_eval=False, partial_bn=True)``, ``cls_head=dict(type="TRNHead", in_channels=2048,
    num_segments=8, spatial_type="avg", relation_type="TRNMultiScale", hidden_dim=256,
    dropout_ratio=0.8, init_std=0.001)``, ``average_clips="prob"``, ``num_frames=8``.
    ``TRNMultiScale`` samples frame subsets from numpy's global RNG in every forward, as mmaction2.
    Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-trn"
    mmaction2_types = {"cls_head": ("TRNHead",)}
    conversion_priority = 80
    default_backbone = dict(type="ResNet", depth=50, norm_eval=False, partial_bn=True)
    default_cls_head = dict(
        type="TRNHead", in_channels=2048, num_segments=8, spatial_type="avg", relation_type="TRNMultiScale",
        hidden_dim=256, dropout_ratio=0.8, init_std=0.001,
    )
    average_clips: Optional[str] = "prob"
    num_frames: int = 8

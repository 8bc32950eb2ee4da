"""ST-GCN configuration: ``STGCN`` backbone + ``STGCNHead`` in a ``SkeletonGCN`` recognizer."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class STGCNConfig(RecognizerConfig):
    r"""ST-GCN (mmaction2 ``SkeletonGCN`` + ``STGCN`` + ``STGCNHead``) on keypoints ``(B, C, T, V, M)``.

    Defaults are mmaction2's ``stgcn_80e_ntu60_xsub_keypoint`` (2D COCO keypoints of 2 persons):

    - ``backbone=dict(type="STGCN", in_channels=3, edge_importance_weighting=True,
      graph_cfg=dict(layout="coco", strategy="spatial"))``;
    - ``cls_head=dict(type="STGCNHead", in_channels=256, loss_cls=dict(type="CrossEntropyLoss"))``
      (``num_person=2``, ``spatial_type="avg"``);
    - ``recognizer="SkeletonGCN"``, ``average_clips="score"`` (a single clip's scores are mmaction2's
      test output), ``num_frames=300`` (the ``PaddingWithLoop(clip_len=300)`` of the test pipeline).

    Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-stgcn"
    mmaction2_types = {"backbone": ("STGCN",)}
    conversion_priority = 50
    default_backbone = dict(type="STGCN", in_channels=3, edge_importance_weighting=True,
                            graph_cfg=dict(layout="coco", strategy="spatial"))
    default_cls_head = dict(type="STGCNHead", in_channels=256, loss_cls=dict(type="CrossEntropyLoss"))
    recognizer: str = "SkeletonGCN"
    average_clips: Optional[str] = "score"
    num_frames: int = 300

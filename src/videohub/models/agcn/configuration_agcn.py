"""2s-AGCN configuration: ``AGCN`` backbone + ``STGCNHead`` in a ``SkeletonGCN`` recognizer."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class AGCNConfig(RecognizerConfig):
    r"""2s-AGCN, one stream (mmaction2 ``SkeletonGCN`` + ``AGCN`` + ``STGCNHead``) on keypoints ``(B, C, T, V, M)``.

    Defaults are mmaction2's ``2sagcn_80e_ntu60_xsub_keypoint_3d`` (3D NTU joints of 2 persons; the
    ``bone_3d`` model is the same network fed ``JointToBone`` input):

    - ``backbone=dict(type="AGCN", in_channels=3, graph_cfg=dict(layout="ntu-rgb+d", strategy="agcn"))``;
    - ``cls_head=dict(type="STGCNHead", in_channels=256, loss_cls=dict(type="CrossEntropyLoss"))``
      (``num_person=2``, ``spatial_type="avg"``);
    - ``recognizer="SkeletonGCN"``, ``average_clips="score"``, ``num_frames=300``.

    Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-agcn"
    mmaction2_types = {"backbone": ("AGCN",)}
    conversion_priority = 50
    default_backbone = dict(type="AGCN", in_channels=3, graph_cfg=dict(layout="ntu-rgb+d", strategy="agcn"))
    default_cls_head = dict(type="STGCNHead", in_channels=256, loss_cls=dict(type="CrossEntropyLoss"))
    recognizer: str = "SkeletonGCN"
    average_clips: Optional[str] = "score"
    num_frames: int = 300

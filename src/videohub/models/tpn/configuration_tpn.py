"""TPN configuration: a multi-level backbone, the ``TPN`` neck and ``TPNHead``."""

from __future__ import annotations

import copy
from typing import Any, Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class TPNConfig(RecognizerConfig):
    r"""TPN (mmaction2 recognizer + ``TPN`` neck + ``TPNHead``).

    Defaults are mmaction2's ``tpn_slowonly_r50_8x8x1_150e_kinetics_rgb`` (``Recognizer3D``):
    ``backbone=dict(type="ResNet3dSlowOnly", depth=50, pretrained=None, lateral=False, out_indices=(2, 3),
    conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False)``,
    ``neck=dict(type="TPN", in_channels=(1024, 2048), out_channels=1024, ...)`` with spatial and temporal
    modulation, cascade flow and an auxiliary head (``aux_head_cfg.out_channels`` should equal
    ``num_labels``; with the default neck it is set to ``num_labels``),
    ``cls_head=dict(type="TPNHead", in_channels=2048, spatial_type="avg",
    consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.5, init_std=0.01)``,
    ``average_clips="prob"``, ``num_frames=8``. TPN-TSM sets ``recognizer="Recognizer2D"`` and a
    ``ResNetTSM`` backbone. When training with labels the model's ``losses`` hold the neck's
    ``loss_aux`` and the total ``loss`` includes it. Other fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-tpn"
    mmaction2_types = {"neck": ("TPN",)}
    conversion_priority = 90
    default_backbone = dict(
        type="ResNet3dSlowOnly", depth=50, pretrained=None, lateral=False, out_indices=(2, 3),
        conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False,
    )
    default_neck = dict(
        type="TPN", in_channels=(1024, 2048), out_channels=1024,
        spatial_modulation_cfg=dict(in_channels=(1024, 2048), out_channels=2048),
        temporal_modulation_cfg=dict(downsample_scales=(8, 8)),
        upsample_cfg=dict(scale_factor=(1, 1, 1)),
        downsample_cfg=dict(downsample_scale=(1, 1, 1)),
        level_fusion_cfg=dict(in_channels=(1024, 1024), mid_channels=(1024, 1024), out_channels=2048,
                              downsample_scales=((1, 1, 1), (1, 1, 1))),
        aux_head_cfg=dict(out_channels=400, loss_weight=0.5),
    )
    default_cls_head = dict(type="TPNHead", in_channels=2048, spatial_type="avg",
                            consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.5, init_std=0.01)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "prob"
    num_frames: int = 8

    def __post_init__(self, **kwargs: Any) -> None:
        neck_given = self.neck is not None
        super().__post_init__(**kwargs)
        aux = (self.neck or {}).get("aux_head_cfg")
        if not neck_given and isinstance(aux, dict) and aux.get("out_channels") != self.num_labels:
            self.neck = copy.deepcopy(self.neck)
            self.neck["aux_head_cfg"]["out_channels"] = self.num_labels

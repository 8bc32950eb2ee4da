"""TEM configuration: the constructor arguments of mmaction2's ``TEM`` plus its proposal generation."""

from __future__ import annotations

from typing import Any, Dict

from huggingface_hub.dataclasses import strict

from ...configuration_utils import LocalizerConfig
from ..bsn import tem  # noqa: F401  (registers TEM)


@strict(accept_kwargs=True)
class TEMConfig(LocalizerConfig):
    r"""BSN's Temporal Evaluation Module (mmaction2 ``TEM``). Defaults are ``bsn_400x100_1x16_20e_activitynet_feature``.

    Args:
        temporal_dim (`int`, defaults to 100): Snippets per video (T).
        boundary_ratio (`float`, defaults to 0.1): Fraction of a ground truth's length used as its boundary region.
        tem_feat_dim (`int`, defaults to 400): Channels of the input feature sequence.
        tem_hidden_dim (`int`, defaults to 512): Hidden channels.
        tem_match_threshold (`float`, defaults to 0.5): Label threshold of the loss.
        loss_cls (`dict`, defaults to `{"type": "BinaryLogisticRegressionLoss"}`): The loss.
        loss_weight (`float`, defaults to 2): Weight of the actionness loss.
        output_dim (`int`, defaults to 3): Output channels (action, start, end).
        conv1_ratio (`float`, defaults to 1), conv2_ratio (`float`, defaults to 1),
        conv3_ratio (`float`, defaults to 0.01): Scales of the conv outputs.
        peak_threshold (`float`, defaults to 0.5): BSN proposal generation (``pgm_proposals_cfg``):
            a position whose boundary score is above this fraction of the best is a candidate.
        soft_nms_alpha (`float`, defaults to 0.75), soft_nms_low_threshold (`float`, defaults to 0.65),
        soft_nms_high_threshold (`float`, defaults to 0.9): Soft-NMS of ``post_process`` (BSN's PEM values).
        post_process_top_k (`int`, defaults to 100): Proposals kept per video by ``post_process``.
        feature_extraction_interval (`int`, defaults to 16): Frames per feature snippet.
    """

    model_type = "videohub-tem"
    localizer_type = "TEM"
    mmaction2_types = {"type": ("TEM",)}

    temporal_dim: int = 100
    boundary_ratio: float = 0.1
    tem_feat_dim: int = 400
    tem_hidden_dim: int = 512
    tem_match_threshold: float = 0.5
    loss_cls: Dict[str, Any] = None
    loss_weight: float = 2
    output_dim: int = 3
    conv1_ratio: float = 1
    conv2_ratio: float = 1
    conv3_ratio: float = 0.01
    peak_threshold: float = 0.5
    soft_nms_alpha: float = 0.75
    soft_nms_low_threshold: float = 0.65
    soft_nms_high_threshold: float = 0.9
    post_process_top_k: int = 100
    feature_extraction_interval: int = 16

    def derive(self, kwargs: Dict[str, Any]) -> None:
        if self.loss_cls is None:
            self.loss_cls = {"type": "BinaryLogisticRegressionLoss"}

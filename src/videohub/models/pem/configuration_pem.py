"""PEM configuration: the constructor arguments of mmaction2's ``PEM``."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict

from ...configuration_utils import LocalizerConfig
from ..bsn import pem  # noqa: F401  (registers PEM)


@strict(accept_kwargs=True)
class PEMConfig(LocalizerConfig):
    r"""BSN's Proposal Evaluation Module (mmaction2 ``PEM``). Defaults are ``bsn_400x100_1x16_20e_activitynet_feature``.

    Args:
        pem_feat_dim (`int`, defaults to 32): Channels of a boundary-sensitive proposal (BSP) feature.
        pem_hidden_dim (`int`, defaults to 256): Hidden channels.
        pem_u_ratio_m (`float`, defaults to 1), pem_u_ratio_l (`float`, defaults to 2): Sampling ratios of
            medium / low IoU proposals in the loss.
        pem_high_temporal_iou_threshold (`float`, defaults to 0.6),
        pem_low_temporal_iou_threshold (`float`, defaults to 0.2): IoU thresholds of the loss.
        soft_nms_alpha (`float`, defaults to 0.75), soft_nms_low_threshold (`float`, defaults to 0.65),
        soft_nms_high_threshold (`float`, defaults to 0.9): Soft-NMS of the post-processing.
        post_process_top_k (`int`, defaults to 100): Proposals kept per video.
        feature_extraction_interval (`int`, defaults to 16): Frames per feature snippet.
        fc1_ratio (`float`, defaults to 0.1), fc2_ratio (`float`, defaults to 0.1): Scales of the fc outputs.
        output_dim (`int`, defaults to 1): Output channels.
    """

    model_type = "videohub-pem"
    localizer_type = "PEM"
    mmaction2_types = {"type": ("PEM",)}

    pem_feat_dim: int = 32
    pem_hidden_dim: int = 256
    pem_u_ratio_m: float = 1
    pem_u_ratio_l: float = 2
    pem_high_temporal_iou_threshold: float = 0.6
    pem_low_temporal_iou_threshold: float = 0.2
    soft_nms_alpha: float = 0.75
    soft_nms_low_threshold: float = 0.65
    soft_nms_high_threshold: float = 0.9
    post_process_top_k: int = 100
    feature_extraction_interval: int = 16
    fc1_ratio: float = 0.1
    fc2_ratio: float = 0.1
    output_dim: int = 1

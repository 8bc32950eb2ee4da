"""BMN configuration: the constructor arguments of mmaction2's ``BMN``."""

from __future__ import annotations

from typing import Any, Dict

from huggingface_hub.dataclasses import strict

from ...configuration_utils import LocalizerConfig


@strict(accept_kwargs=True)
class BMNConfig(LocalizerConfig):
    r"""Boundary-Matching Network (mmaction2 ``BMN``). Defaults are ``bmn_400x100_2x8_9e_activitynet_feature``.

    Args:
        temporal_dim (`int`, defaults to 100): Snippets per video (T).
        boundary_ratio (`float`, defaults to 0.5): Extension of each proposal on both sides when sampling.
        num_samples (`int`, defaults to 32): Samples per proposal.
        num_samples_per_bin (`int`, defaults to 3): Interpolation points per sample.
        feat_dim (`int`, defaults to 400): Channels of the input feature sequence.
        soft_nms_alpha (`float`, defaults to 0.4), soft_nms_low_threshold (`float`, defaults to 0.5),
        soft_nms_high_threshold (`float`, defaults to 0.9): Soft-NMS of the post-processing.
        post_process_top_k (`int`, defaults to 100): Proposals kept per video.
        feature_extraction_interval (`int`, defaults to 16): Frames per feature snippet.
        loss_cls (`dict`, defaults to `{"type": "BMNLoss"}`): The loss.
        hidden_dim_1d (`int`, defaults to 256), hidden_dim_2d (`int`, defaults to 128),
        hidden_dim_3d (`int`, defaults to 512): Hidden channels of the 1D, 2D and 3D stages.
    """

    model_type = "videohub-bmn"
    localizer_type = "BMN"
    mmaction2_types = {"type": ("BMN",)}

    temporal_dim: int = 100
    boundary_ratio: float = 0.5
    num_samples: int = 32
    num_samples_per_bin: int = 3
    feat_dim: int = 400
    soft_nms_alpha: float = 0.4
    soft_nms_low_threshold: float = 0.5
    soft_nms_high_threshold: float = 0.9
    post_process_top_k: int = 100
    feature_extraction_interval: int = 16
    loss_cls: Dict[str, Any] = None
    hidden_dim_1d: int = 256
    hidden_dim_2d: int = 128
    hidden_dim_3d: int = 512

    def derive(self, kwargs: Dict[str, Any]) -> None:
        if self.loss_cls is None:
            self.loss_cls = {"type": "BMNLoss"}

"""BSN's Proposal Evaluation Module (mmaction2 ``PEM``)."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ShapeError
from ...localization.proposal_utils import post_processing
from ...modeling_localizer import BaseLocalizer
from ...registry import LOCALIZERS


@LOCALIZERS.register()
class PEM(BaseLocalizer):
    """Proposal Evaluation Module of BSN: a confidence per BSP feature.

    Args:
        pem_feat_dim: BSP feature dimension.
        pem_hidden_dim: Hidden dimension.
        pem_u_ratio_m, pem_u_ratio_l: Sampling ratios of medium/low IoU proposals in the loss.
        pem_high_temporal_iou_threshold, pem_low_temporal_iou_threshold: IoU thresholds of the loss.
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold: Soft-NMS parameters.
        post_process_top_k: Proposals kept per video.
        feature_extraction_interval: Frames per feature. Default 16.
        fc1_ratio, fc2_ratio: Scales of the fc outputs. Default 0.1.
        output_dim: Output dimension. Default 1.
    """

    def __init__(self, pem_feat_dim: int, pem_hidden_dim: int, pem_u_ratio_m: float, pem_u_ratio_l: float,
                 pem_high_temporal_iou_threshold: float, pem_low_temporal_iou_threshold: float,
                 soft_nms_alpha: float, soft_nms_low_threshold: float, soft_nms_high_threshold: float,
                 post_process_top_k: int, feature_extraction_interval: int = 16, fc1_ratio: float = 0.1,
                 fc2_ratio: float = 0.1, output_dim: int = 1):
        nn.Module.__init__(self)
        self.feat_dim = pem_feat_dim
        self.hidden_dim = pem_hidden_dim
        self.u_ratio_m = pem_u_ratio_m
        self.u_ratio_l = pem_u_ratio_l
        self.pem_high_temporal_iou_threshold = pem_high_temporal_iou_threshold
        self.pem_low_temporal_iou_threshold = pem_low_temporal_iou_threshold
        self.soft_nms_alpha = soft_nms_alpha
        self.soft_nms_low_threshold = soft_nms_low_threshold
        self.soft_nms_high_threshold = soft_nms_high_threshold
        self.post_process_top_k = post_process_top_k
        self.feature_extraction_interval = feature_extraction_interval
        self.fc1_ratio = fc1_ratio
        self.fc2_ratio = fc2_ratio
        self.output_dim = output_dim
        self.fc1 = nn.Linear(self.feat_dim, self.hidden_dim, bias=True)
        self.fc2 = nn.Linear(self.hidden_dim, self.output_dim, bias=True)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, P, feat_dim]`` → ``[B * P, output_dim]`` sigmoid confidences."""
        if x.dim() != 3 or x.size(-1) != self.feat_dim:
            raise ShapeError(f"PEM expects [B, P, {self.feat_dim}] BSP features, got {tuple(x.shape)}")
        x = torch.cat(list(x))
        x = F.relu(self.fc1_ratio * self.fc1(x))
        return torch.sigmoid(self.fc2_ratio * self.fc2(x))

    def forward_train(self, bsp_feature: torch.Tensor, reference_temporal_iou: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Smooth-L1 IoU loss over high-IoU proposals plus randomly sampled medium/low ones."""
        return dict(temporal_iou_loss=self.loss(self._forward(bsp_feature), reference_temporal_iou))

    def loss(self, pem_output: torch.Tensor, reference_temporal_iou: torch.Tensor) -> torch.Tensor:
        """The loss of ``forward_train`` from ``_forward``'s output ``[B * P, 1]`` and the IoUs ``[B, P]``."""
        reference = torch.cat(list(reference_temporal_iou)).to(pem_output.device)
        device = pem_output.device
        anchors_iou = pem_output.view(-1)
        u_hmask = (reference > self.pem_high_temporal_iou_threshold).float()
        u_mmask = ((reference <= self.pem_high_temporal_iou_threshold)
                   & (reference > self.pem_low_temporal_iou_threshold)).float()
        u_lmask = (reference <= self.pem_low_temporal_iou_threshold).float()
        num_h, num_m, num_l = u_hmask.sum(), u_mmask.sum(), u_lmask.sum()
        r_m = torch.min(self.u_ratio_m * num_h / num_m, torch.tensor([1.0], device=device))[0]
        u_smmask = (torch.rand(u_hmask.size(0), device=device) * u_mmask > (1.0 - r_m)).float()
        r_l = torch.min(self.u_ratio_l * num_h / num_l, torch.tensor([1.0], device=device))[0]
        u_slmask = (torch.rand(u_hmask.size(0), device=device) * u_lmask > (1.0 - r_l)).float()
        weights = u_hmask + u_smmask + u_slmask
        loss = F.smooth_l1_loss(anchors_iou, reference)
        return torch.sum(loss * weights) / torch.sum(weights)

    def forward_test(self, bsp_feature: torch.Tensor, tmin: torch.Tensor, tmax: torch.Tensor,
                     tmin_score: torch.Tensor, tmax_score: torch.Tensor,
                     video_meta: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Score = confidence * tmin_score * tmax_score, then soft-NMS; ``[{video_name, proposal_list}]``."""
        video_info = dict(video_meta[0])
        proposal_list = self.proposals(self._forward(bsp_feature), tmin, tmax, tmin_score, tmax_score, video_info)
        return [dict(video_name=video_info["video_name"], proposal_list=proposal_list)]

    def proposals(self, pem_output: torch.Tensor, tmin: torch.Tensor, tmax: torch.Tensor, tmin_score: torch.Tensor,
                  tmax_score: torch.Tensor, video_info: Mapping[str, Any]) -> List[Dict[str, Any]]:
        """Proposals ``[{"score", "segment": [t0, t1]}]`` (seconds) of one video's PEM confidences, after soft-NMS.

        Every argument holds one value per proposal (any shape); the score is
        ``pem_output * tmin_score * tmax_score``.
        """
        columns = [t.detach().reshape(-1).cpu().numpy().reshape(-1, 1)
                   for t in (tmin, tmax, tmin_score, tmax_score, pem_output)]
        tmin, tmax, tmin_score, tmax_score, pem_output = columns
        score = np.array(pem_output * tmin_score * tmax_score).reshape(-1, 1)
        result = np.concatenate((tmin, tmax, tmin_score, tmax_score, pem_output, score), axis=1).reshape(-1, 6)
        return post_processing(result, video_info, self.soft_nms_alpha, self.soft_nms_low_threshold,
                               self.soft_nms_high_threshold, self.post_process_top_k,
                               self.feature_extraction_interval)

    def forward(self, bsp_feature: torch.Tensor, reference_temporal_iou: Optional[torch.Tensor] = None,
                tmin: Optional[torch.Tensor] = None, tmax: Optional[torch.Tensor] = None,
                tmin_score: Optional[torch.Tensor] = None, tmax_score: Optional[torch.Tensor] = None,
                video_meta: Optional[Sequence[Dict[str, Any]]] = None, return_loss: bool = True):
        """``forward_train`` when ``return_loss`` (default ``True``), else ``forward_test``."""
        if return_loss:
            return self.forward_train(bsp_feature, reference_temporal_iou)
        return self.forward_test(bsp_feature, tmin, tmax, tmin_score, tmax_score, video_meta)

"""BSN's Temporal Evaluation Module (mmaction2 ``TEM``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ShapeError
from ...localization import temporal_iop
from ...layers import losses_localization  # noqa: F401  (registers BinaryLogisticRegressionLoss)
from ...localization.proposal_utils import temporal_anchors
from ...modeling_localizer import BaseLocalizer
from ...registry import LOCALIZERS, LOSSES


@LOCALIZERS.register()
class TEM(BaseLocalizer):
    """Temporal Evaluation Module of BSN: per-snippet action/start/end probabilities.

    Args:
        temporal_dim: Number of snippets per video.
        boundary_ratio: Ratio of a ground truth's length used as its boundary region.
        tem_feat_dim: Input feature dimension.
        tem_hidden_dim: Hidden dimension.
        tem_match_threshold: Label threshold of the loss.
        loss_cls: Loss config. Default ``dict(type="BinaryLogisticRegressionLoss")``.
        loss_weight: Weight of the action loss. Default 2.
        output_dim: Output channels. Default 3.
        conv1_ratio, conv2_ratio: Scales of the conv1/conv2 outputs. Default 1.
        conv3_ratio: Scale of the conv3 output. Default 0.01.
    """

    def __init__(self, temporal_dim: int, boundary_ratio: float, tem_feat_dim: int, tem_hidden_dim: int,
                 tem_match_threshold: float, loss_cls: Dict[str, Any] = dict(type="BinaryLogisticRegressionLoss"),
                 loss_weight: float = 2, output_dim: int = 3, conv1_ratio: float = 1, conv2_ratio: float = 1,
                 conv3_ratio: float = 0.01):
        nn.Module.__init__(self)
        self.temporal_dim = temporal_dim
        self.boundary_ratio = boundary_ratio
        self.feat_dim = tem_feat_dim
        self.c_hidden = tem_hidden_dim
        self.match_threshold = tem_match_threshold
        self.output_dim = output_dim
        self.loss_cls = LOSSES.build(loss_cls)
        self.loss_weight = loss_weight
        self.conv1_ratio = conv1_ratio
        self.conv2_ratio = conv2_ratio
        self.conv3_ratio = conv3_ratio
        self.conv1 = nn.Conv1d(self.feat_dim, self.c_hidden, kernel_size=3, stride=1, padding=1, groups=1)
        self.conv2 = nn.Conv1d(self.c_hidden, self.c_hidden, kernel_size=3, stride=1, padding=1, groups=1)
        self.conv3 = nn.Conv1d(self.c_hidden, self.output_dim, kernel_size=1, stride=1, padding=0)
        self.anchors_tmins, self.anchors_tmaxs = temporal_anchors(temporal_dim)

    def _temporal_anchors(self, tmin_offset: float = 0.0, tmax_offset: float = 1.0) -> Tuple[List[float], List[float]]:
        """Anchor starts and ends (offsets default 0 and 1)."""
        return temporal_anchors(self.temporal_dim, tmin_offset, tmax_offset)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, feat_dim, T]`` features → ``[N, 3, T]`` sigmoid (action, start, end)."""
        if x.dim() != 3 or x.size(1) != self.feat_dim:
            raise ShapeError(f"TEM expects [N, {self.feat_dim}, T] features, got {tuple(x.shape)}")
        x = F.relu(self.conv1_ratio * self.conv1(x))
        x = F.relu(self.conv2_ratio * self.conv2(x))
        return torch.sigmoid(self.conv3_ratio * self.conv3(x))

    def forward_train(self, raw_feature: torch.Tensor, label_action: torch.Tensor, label_start: torch.Tensor,
                      label_end: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``{loss_action (times loss_weight), loss_start, loss_end}``."""
        out = self._forward(raw_feature)
        loss_action = self.loss_cls(out[:, 0, :], label_action, self.match_threshold)
        loss_start = self.loss_cls(out[:, 1, :], label_start, self.match_threshold)
        loss_end = self.loss_cls(out[:, 2, :], label_end, self.match_threshold)
        return {"loss_action": loss_action * self.loss_weight, "loss_start": loss_start, "loss_end": loss_end}

    def forward_test(self, raw_feature: torch.Tensor, video_meta: Sequence[Dict[str, Any]]) -> List[Tuple[str, np.ndarray]]:
        """Per video ``(video_name, [T, 5] array of action, start, end, anchor_tmin, anchor_tmax)``."""
        out = self._forward(raw_feature).cpu().numpy()
        metas = [dict(m) for m in video_meta]
        if len(metas) < out.shape[0]:
            raise ShapeError(f"TEM.forward_test: {out.shape[0]} videos but {len(metas)} video_meta entries")
        results = []
        for idx in range(out.shape[0]):
            video_result = np.stack((out[idx, 0], out[idx, 1], out[idx, 2], self.anchors_tmins, self.anchors_tmaxs),
                                    axis=1)
            results.append((metas[idx]["video_name"], video_result))
        return results

    def generate_labels(self, gt_bbox: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Action/start/end match scores ``[N, T]`` from ground-truth boxes ``[k, 2]`` (normalized)."""
        actions, starts, ends = [], [], []
        for boxes in gt_bbox:
            boxes = boxes.cpu().numpy() if isinstance(boxes, torch.Tensor) else np.asarray(boxes)
            gt_tmins, gt_tmaxs = boxes[:, 0], boxes[:, 1]
            gt_len_pad = np.maximum(1.0 / self.temporal_dim, self.boundary_ratio * (gt_tmaxs - gt_tmins))
            start_boxes = np.stack((gt_tmins - gt_len_pad / 2, gt_tmins + gt_len_pad / 2), axis=1)
            end_boxes = np.stack((gt_tmaxs - gt_len_pad / 2, gt_tmaxs + gt_len_pad / 2), axis=1)
            action, start, end = [], [], []
            for tmin, tmax in zip(self.anchors_tmins, self.anchors_tmaxs):
                action.append(np.max(temporal_iop(tmin, tmax, gt_tmins, gt_tmaxs)))
                start.append(np.max(temporal_iop(tmin, tmax, start_boxes[:, 0], start_boxes[:, 1])))
                end.append(np.max(temporal_iop(tmin, tmax, end_boxes[:, 0], end_boxes[:, 1])))
            actions.append(action)
            starts.append(start)
            ends.append(end)
        return (torch.tensor(np.array(actions), dtype=torch.float32), torch.tensor(np.array(starts), dtype=torch.float32),
                torch.tensor(np.array(ends), dtype=torch.float32))

    def forward(self, raw_feature: torch.Tensor, gt_bbox: Optional[Sequence[torch.Tensor]] = None,
                video_meta: Optional[Sequence[Dict[str, Any]]] = None, return_loss: bool = True):
        """Losses from ``gt_bbox`` when ``return_loss`` (default ``True``), else ``forward_test``."""
        if return_loss:
            labels = [t.to(raw_feature.device) for t in self.generate_labels(gt_bbox)]
            return self.forward_train(raw_feature, *labels)
        return self.forward_test(raw_feature, video_meta)

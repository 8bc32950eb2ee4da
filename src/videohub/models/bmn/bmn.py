"""Boundary-Matching Network (mmaction2 ``BMN``)."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ...errors import ShapeError
from ...localization import temporal_iop, temporal_iou
from ...layers import losses_localization  # noqa: F401  (registers BMNLoss)
from ...localization.proposal_utils import post_processing, temporal_anchors
from ...modeling_localizer import BaseLocalizer
from ...registry import LOCALIZERS, LOSSES


@LOCALIZERS.register()
class BMN(BaseLocalizer):
    """Boundary-Matching Network for temporal action proposal generation.

    Args:
        temporal_dim: Snippets per video (T).
        boundary_ratio: Extension of each proposal on both sides when sampling.
        num_samples: Samples per proposal (N).
        num_samples_per_bin: Interpolation points per sample.
        feat_dim: Input feature dimension.
        soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold: Soft-NMS parameters.
        post_process_top_k: Proposals kept per video.
        feature_extraction_interval: Frames per feature. Default 16.
        loss_cls: Loss config. Default ``dict(type="BMNLoss")``.
        hidden_dim_1d: Default 256. hidden_dim_2d: Default 128. hidden_dim_3d: Default 512.
    """

    def __init__(self, temporal_dim: int, boundary_ratio: float, num_samples: int, num_samples_per_bin: int,
                 feat_dim: int, soft_nms_alpha: float, soft_nms_low_threshold: float,
                 soft_nms_high_threshold: float, post_process_top_k: int, feature_extraction_interval: int = 16,
                 loss_cls: Dict[str, Any] = dict(type="BMNLoss"), hidden_dim_1d: int = 256,
                 hidden_dim_2d: int = 128, hidden_dim_3d: int = 512):
        nn.Module.__init__(self)
        self.tscale = temporal_dim
        self.boundary_ratio = boundary_ratio
        self.num_samples = num_samples
        self.num_samples_per_bin = num_samples_per_bin
        self.feat_dim = feat_dim
        self.soft_nms_alpha = soft_nms_alpha
        self.soft_nms_low_threshold = soft_nms_low_threshold
        self.soft_nms_high_threshold = soft_nms_high_threshold
        self.post_process_top_k = post_process_top_k
        self.feature_extraction_interval = feature_extraction_interval
        self.loss_cls = LOSSES.build(loss_cls)
        self.hidden_dim_1d = hidden_dim_1d
        self.hidden_dim_2d = hidden_dim_2d
        self.hidden_dim_3d = hidden_dim_3d
        self._get_interp1d_mask()
        h1, h2, h3 = hidden_dim_1d, hidden_dim_2d, hidden_dim_3d
        self.x_1d_b = nn.Sequential(
            nn.Conv1d(feat_dim, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(h1, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True))
        self.x_1d_s = nn.Sequential(
            nn.Conv1d(h1, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(h1, 1, kernel_size=1), nn.Sigmoid())
        self.x_1d_e = nn.Sequential(
            nn.Conv1d(h1, h1, kernel_size=3, padding=1, groups=4), nn.ReLU(inplace=True),
            nn.Conv1d(h1, 1, kernel_size=1), nn.Sigmoid())
        self.x_1d_p = nn.Sequential(nn.Conv1d(h1, h1, kernel_size=3, padding=1), nn.ReLU(inplace=True))
        self.x_3d_p = nn.Sequential(nn.Conv3d(h1, h3, kernel_size=(num_samples, 1, 1)), nn.ReLU(inplace=True))
        self.x_2d_p = nn.Sequential(
            nn.Conv2d(h3, h2, kernel_size=1), nn.ReLU(inplace=True),
            nn.Conv2d(h2, h2, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(h2, h2, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(h2, 2, kernel_size=1), nn.Sigmoid())
        self.anchors_tmins, self.anchors_tmaxs = temporal_anchors(temporal_dim, -0.5, 1.5)
        self.match_map = self._match_map()
        self.bm_mask = self._get_bm_mask()

    def _match_map(self) -> np.ndarray:
        """``[T * T, 2]`` (tmin, tmax) of every (duration, start) pair, duration-major."""
        gap = 1.0 / self.tscale
        match_map = np.array([[[gap * idx, gap * idx + gap * jdx] for jdx in range(1, self.tscale + 1)]
                              for idx in range(self.tscale)])
        return np.transpose(match_map, [1, 0, 2]).reshape(-1, 2)

    def _temporal_anchors(self, tmin_offset: float = 0.0, tmax_offset: float = 1.0) -> Tuple[List[float], List[float]]:
        """Anchor starts and ends (offsets default 0 and 1)."""
        return temporal_anchors(self.tscale, tmin_offset, tmax_offset)

    def _forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``[N, feat_dim, T]`` → (confidence map ``[N, 2, T, T]``, start ``[N, T]``, end ``[N, T]``)."""
        if x.dim() != 3 or x.size(1) != self.feat_dim or x.size(2) != self.tscale:
            raise ShapeError(f"BMN expects [N, {self.feat_dim}, {self.tscale}] features, got {tuple(x.shape)}")
        base = self.x_1d_b(x)
        start = self.x_1d_s(base).squeeze(1)
        end = self.x_1d_e(base).squeeze(1)
        confidence_map = self._boundary_matching_layer(self.x_1d_p(base))
        confidence_map = self.x_3d_p(confidence_map).squeeze(2)
        return self.x_2d_p(confidence_map), start, end

    def _boundary_matching_layer(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T]`` → ``[N, C, num_samples, T, T]`` sampled with ``sample_mask``."""
        n, c = x.shape[:2]
        return torch.matmul(x, self.sample_mask).reshape(n, c, self.num_samples, self.tscale, self.tscale)

    def forward_test(self, raw_feature: torch.Tensor, video_meta: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """Proposals of batch item 0 after soft-NMS: ``[{video_name, proposal_list}]``."""
        confidence_map, start, end = self._forward(raw_feature)
        video_info = dict(video_meta[0])
        proposal_list = self.proposals(confidence_map[0], start[0], end[0], video_info)
        return [dict(video_name=video_info["video_name"], proposal_list=proposal_list)]

    def proposals(self, confidence_map: torch.Tensor, start: torch.Tensor, end: torch.Tensor,
                  video_info: Mapping[str, Any]) -> List[Dict[str, Any]]:
        """Proposals ``[{"score", "segment": [t0, t1]}]`` (seconds) of one video's maps, after soft-NMS."""
        start_scores = start.detach().cpu().numpy()
        end_scores = end.detach().cpu().numpy()
        cls_confidence = confidence_map[1].detach().cpu().numpy()
        reg_confidence = confidence_map[0].detach().cpu().numpy()
        max_start, max_end = max(start_scores), max(end_scores)
        start_bins = np.zeros(len(start_scores))
        start_bins[0] = 1
        end_bins = np.zeros(len(end_scores))
        end_bins[-1] = 1
        for idx in range(1, self.tscale - 1):
            if start_scores[idx] > start_scores[idx + 1] and start_scores[idx] > start_scores[idx - 1]:
                start_bins[idx] = 1
            elif start_scores[idx] > 0.5 * max_start:
                start_bins[idx] = 1
            if end_scores[idx] > end_scores[idx + 1] and end_scores[idx] > end_scores[idx - 1]:
                end_bins[idx] = 1
            elif end_scores[idx] > 0.5 * max_end:
                end_bins[idx] = 1
        proposals = []
        for idx in range(self.tscale):
            for jdx in range(self.tscale):
                start_index, end_index = jdx, jdx + idx + 1
                if end_index < self.tscale and start_bins[start_index] == 1 and end_bins[end_index] == 1:
                    tmin_score, tmax_score = start_scores[start_index], end_scores[end_index]
                    cls_score, reg_score = cls_confidence[idx, jdx], reg_confidence[idx, jdx]
                    proposals.append([start_index / self.tscale, end_index / self.tscale, tmin_score, tmax_score,
                                      cls_score, reg_score, tmin_score * tmax_score * cls_score * reg_score])
        return post_processing(np.stack(proposals), video_info, self.soft_nms_alpha, self.soft_nms_low_threshold,
                               self.soft_nms_high_threshold, self.post_process_top_k, self.feature_extraction_interval)

    def forward_train(self, raw_feature: torch.Tensor, label_confidence: torch.Tensor, label_start: torch.Tensor,
                      label_end: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``dict(loss=...)``: the total :class:`BMNLoss`."""
        confidence_map, start, end = self._forward(raw_feature)
        loss = self.loss_cls(confidence_map, start, end, label_confidence, label_start, label_end,
                             self.bm_mask.to(raw_feature.device))
        return dict(loss=loss[0])

    def generate_labels(self, gt_bbox: Sequence[Any]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """IoU map ``[N, T, T]`` and start/end match scores ``[N, T]`` from normalized boxes ``[k, 2]``."""
        confidences, starts, ends = [], [], []
        for boxes in gt_bbox:
            boxes = boxes.cpu().numpy() if isinstance(boxes, torch.Tensor) else np.asarray(boxes)
            iou_maps = [np.reshape(temporal_iou(self.match_map[:, 0], self.match_map[:, 1], s, e),
                                   [self.tscale, self.tscale]) for s, e in boxes]
            gt_iou_map = np.max(np.array(iou_maps).astype(np.float32), axis=0)
            gt_tmins, gt_tmaxs = boxes[:, 0], boxes[:, 1]
            pad = 3 * (1.0 / self.tscale)
            start_boxes = np.stack((gt_tmins - pad / 2, gt_tmins + pad / 2), axis=1)
            end_boxes = np.stack((gt_tmaxs - pad / 2, gt_tmaxs + pad / 2), axis=1)
            start, end = [], []
            for tmin, tmax in zip(self.anchors_tmins, self.anchors_tmaxs):
                start.append(np.max(temporal_iop(tmin, tmax, start_boxes[:, 0], start_boxes[:, 1])))
                end.append(np.max(temporal_iop(tmin, tmax, end_boxes[:, 0], end_boxes[:, 1])))
            confidences.append(gt_iou_map)
            starts.append(start)
            ends.append(end)
        return (torch.tensor(np.array(confidences), dtype=torch.float32),
                torch.tensor(np.array(starts), dtype=torch.float32), torch.tensor(np.array(ends), dtype=torch.float32))

    def forward(self, raw_feature: torch.Tensor, gt_bbox: Optional[Sequence[Any]] = None,
                video_meta: Optional[Sequence[Dict[str, Any]]] = None, return_loss: bool = True):
        """Loss from ``gt_bbox`` when ``return_loss`` (default ``True``), else ``forward_test``."""
        if return_loss:
            labels = [t.to(raw_feature.device) for t in self.generate_labels(gt_bbox)]
            return self.forward_train(raw_feature, *labels)
        return self.forward_test(raw_feature, video_meta)

    @staticmethod
    def _get_interp1d_bin_mask(seg_tmin: float, seg_tmax: float, tscale: int, num_samples: int,
                               num_samples_per_bin: int) -> np.ndarray:
        """``[tscale, num_samples]`` linear-interpolation weights of one (extended) proposal."""
        plen = float(seg_tmax - seg_tmin)
        plen_sample = plen / (num_samples * num_samples_per_bin - 1.0)
        total = [seg_tmin + plen_sample * i for i in range(num_samples * num_samples_per_bin)]
        p_mask = []
        for idx in range(num_samples):
            bin_vector = np.zeros(tscale)
            for sample in total[idx * num_samples_per_bin:(idx + 1) * num_samples_per_bin]:
                upper = math.ceil(sample)
                decimal, down = math.modf(sample)
                if 0 <= int(down) <= tscale - 1:
                    bin_vector[int(down)] += 1 - decimal
                if 0 <= int(upper) <= tscale - 1:
                    bin_vector[int(upper)] += decimal
            p_mask.append(1.0 / num_samples_per_bin * bin_vector)
        return np.stack(p_mask, axis=1)

    def _get_interp1d_mask(self) -> None:
        """Build the fixed ``sample_mask`` parameter ``[T, num_samples * T * T]`` (not trained)."""
        mask_mat = []
        for start_index in range(self.tscale):
            vectors = []
            for duration_index in range(self.tscale):
                if start_index + duration_index < self.tscale:
                    p_tmin, p_tmax = start_index, start_index + duration_index
                    center_len = float(p_tmax - p_tmin) + 1
                    p_mask = self._get_interp1d_bin_mask(
                        p_tmin - center_len * self.boundary_ratio, p_tmax + center_len * self.boundary_ratio,
                        self.tscale, self.num_samples, self.num_samples_per_bin)
                else:
                    p_mask = np.zeros([self.tscale, self.num_samples])
                vectors.append(p_mask)
            mask_mat.append(np.stack(vectors, axis=2))
        mask = np.stack(mask_mat, axis=3).astype(np.float32)
        self.sample_mask = nn.Parameter(torch.tensor(mask).view(self.tscale, -1), requires_grad=False)

    def _get_bm_mask(self) -> torch.Tensor:
        """``[T, T]`` mask of valid (duration, start) pairs: row ``d`` has ``T - d`` ones."""
        return torch.tensor([[1] * (self.tscale - i) + [0] * i for i in range(self.tscale)], dtype=torch.float)

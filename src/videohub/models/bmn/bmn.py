"""Boundary-Matching Network (mmaction2 ``BMN``)."""

from __future__ import annotations

import warnings
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


class _FixedSparseMatmul(torch.autograd.Function):
    """``x @ M`` for a constant sparse ``M`` (no gradient), given as the CSR matrices ``M^T`` and ``M``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, mask_t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ctx.mask = mask
        return torch.sparse.mm(mask_t, x.t()).t()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Tuple[torch.Tensor, None, None]:
        return torch.sparse.mm(ctx.mask, grad.t()).t(), None, None


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
        confidence_map = self.x_3d_p[1](self._boundary_matching_conv(self.x_1d_p(base)))
        return self.x_2d_p(confidence_map), start, end

    def _boundary_matching_layer(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T]`` → ``[N, C, num_samples, T, T]`` sampled with ``sample_mask`` (mmaction2's layer;
        :meth:`_forward` uses :meth:`_boundary_matching_conv`, the same map followed by ``x_3d_p``'s conv)."""
        n, c = x.shape[:2]
        return torch.matmul(x, self.sample_mask).reshape(n, c, self.num_samples, self.tscale, self.tscale)

    def _boundary_matching_conv(self, x: torch.Tensor) -> torch.Tensor:
        """``x_3d_p``'s ``Conv3d`` (kernel ``(num_samples, 1, 1)``) of :meth:`_boundary_matching_layer`,
        ``[N, C, T]`` → ``[N, hidden_dim_3d, T, T]``, before the ReLU.

        ``conv(BM(x))[n, o, d, s] = b[o] + sum_{c, k} W[o, c, k] sum_t x[n, c, t] M[t, k, d, s]``
        is contracted over ``c`` first (``[N, O, T, K]``, small) and then over ``(t, k)`` with one
        matmul against ``sample_mask`` viewed ``[T * K, T * T]``: about 3x fewer multiply-adds than
        sampling then convolving (mmaction2's order) and a GEMM instead of a 32-deep Conv3d. On the
        CPU in float32 that matmul is sparse (the mask is ~1.5 % non-zero at 100 x 32). Same
        weights and the same values up to float rounding.
        """
        conv = self.x_3d_p[0]
        n = x.shape[0]
        weight = conv.weight.reshape(conv.out_channels, conv.in_channels, self.num_samples)
        projected = torch.einsum("ock,nct->notk", weight, x).reshape(n * conv.out_channels, -1)
        if projected.device.type == "cpu" and projected.dtype == torch.float32:
            out = _FixedSparseMatmul.apply(projected, *self._sparse_sample_mask())
        else:
            out = torch.matmul(projected, self.sample_mask.view(self.tscale * self.num_samples, -1))
        out = out.reshape(n, conv.out_channels, self.tscale, self.tscale)
        return out if conv.bias is None else out + conv.bias.view(1, -1, 1, 1)

    def _sparse_sample_mask(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """CSR ``M^T`` and ``M`` of ``sample_mask`` viewed ``[T * K, T * T]`` (cached until the mask changes,
        e.g. by ``load_state_dict``)."""
        mask = self.sample_mask
        key = (mask.data_ptr(), mask._version)
        cached = self.__dict__.get("_sparse_mask_cache")
        if cached is None or cached[0] != key:
            dense = mask.detach().view(self.tscale * self.num_samples, -1)
            with warnings.catch_warnings():  # torch's "sparse CSR support is in beta" notice
                warnings.simplefilter("ignore", UserWarning)
                cached = (key, dense.t().contiguous().to_sparse_csr(), dense.contiguous().to_sparse_csr())
            self.__dict__["_sparse_mask_cache"] = cached
        return cached[1], cached[2]

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
        start_bins = self._boundary_bins(start_scores, first=True)
        end_bins = self._boundary_bins(end_scores, first=False)
        # (duration idx, start idx) pairs with end = start + idx + 1 inside the video, duration-major.
        duration_idx, start_idx = np.nonzero(np.ones((self.tscale, self.tscale), dtype=bool))
        end_idx = start_idx + duration_idx + 1
        inside = end_idx < self.tscale
        duration_idx, start_idx, end_idx = duration_idx[inside], start_idx[inside], end_idx[inside]
        chosen = start_bins[start_idx] & end_bins[end_idx]
        duration_idx, start_idx, end_idx = duration_idx[chosen], start_idx[chosen], end_idx[chosen]
        tmin_score, tmax_score = start_scores[start_idx], end_scores[end_idx]
        cls_score = cls_confidence[duration_idx, start_idx]
        reg_score = reg_confidence[duration_idx, start_idx]
        proposals = np.stack((start_idx / self.tscale, end_idx / self.tscale, tmin_score, tmax_score, cls_score,
                              reg_score, tmin_score * tmax_score * cls_score * reg_score), axis=1)
        return post_processing(proposals, video_info, self.soft_nms_alpha, self.soft_nms_low_threshold,
                               self.soft_nms_high_threshold, self.post_process_top_k, self.feature_extraction_interval)

    def _boundary_bins(self, scores: np.ndarray, first: bool) -> np.ndarray:
        """Boundary candidates: local peaks or above half the maximum, plus the first (starts) or last (ends) snippet."""
        bins = np.zeros(scores.shape[0], dtype=bool)
        bins[0 if first else -1] = True
        inner = np.arange(1, self.tscale - 1)
        peak = (scores[inner] > scores[inner + 1]) & (scores[inner] > scores[inner - 1])
        bins[inner] |= peak | (scores[inner] > 0.5 * scores.max())
        return bins

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

    def _get_interp1d_mask(self) -> None:
        """Build the fixed ``sample_mask`` parameter ``[T, num_samples * T * T]`` (not trained).

        Entry ``[t, n, d, s]`` is the linear-interpolation weight of snippet ``t`` in sample ``n``
        of the proposal starting at ``s`` with duration index ``d`` (zero where ``s + d >= T``). The
        proposal is extended by ``boundary_ratio`` of its length on both sides and sampled at
        ``num_samples * num_samples_per_bin`` evenly spaced points; a point splits its weight
        between the snippets below and above it, with mmaction2's truncation toward zero
        (``math.modf``) for points left of the video. Vectorized over starts and points.
        """
        tscale, num, per_bin = self.tscale, self.num_samples, self.num_samples_per_bin
        mask = np.zeros((tscale, num, tscale, tscale), dtype=np.float32)
        starts = np.arange(tscale, dtype=np.float64)
        point = np.arange(num * per_bin, dtype=np.float64)
        bins = np.repeat(np.arange(num), per_bin)
        for duration in range(tscale):
            valid = starts[:tscale - duration]
            center_len = float(duration) + 1
            seg_tmin = valid - center_len * self.boundary_ratio
            seg_tmax = valid + duration + center_len * self.boundary_ratio
            step = (seg_tmax - seg_tmin) / (num * per_bin - 1.0)
            samples = seg_tmin[:, None] + step[:, None] * point[None, :]  # [starts, points]
            down = np.trunc(samples)
            decimal = samples - down
            upper = np.ceil(samples)
            # (snippet, weight) pairs in mmaction2's order: each point adds to "down", then to "upper".
            snippet = np.stack((down, upper), axis=-1).astype(np.int64)
            weight = np.stack((1 - decimal, decimal), axis=-1)
            start_idx = np.broadcast_to(np.arange(valid.shape[0])[:, None, None], snippet.shape)
            bin_idx = np.broadcast_to(bins[None, :, None], snippet.shape)
            keep = (snippet >= 0) & (snippet <= tscale - 1)
            block = np.zeros((tscale, num, valid.shape[0]))
            np.add.at(block, (snippet[keep], bin_idx[keep], start_idx[keep]), weight[keep])
            mask[:, :, duration, :valid.shape[0]] = block * (1.0 / per_bin)
        self.sample_mask = nn.Parameter(torch.from_numpy(mask).view(tscale, -1), requires_grad=False)

    def _get_bm_mask(self) -> torch.Tensor:
        """``[T, T]`` mask of valid (duration, start) pairs: row ``d`` has ``T - d`` ones."""
        return torch.tensor([[1] * (self.tscale - i) + [0] * i for i in range(self.tscale)], dtype=torch.float)

"""Pure-PyTorch RoIAlign and RoIPool with the exact sampling rules of mmcv 1.x's ops.

mmcv's compiled ``RoIAlign`` (CPU kernel, taken from Caffe2/Detectron) works as follows, and this
module restates it:

* box corners ``(x1, y1, x2, y2)`` (input-image pixels) are scaled by ``spatial_scale``; with
  ``aligned=True`` they are then shifted by ``-0.5``; with ``aligned=False`` (legacy) the RoI
  width/height are clamped to ``>= 1``;
* each of the ``out_h x out_w`` bins gets ``grid_h x grid_w`` sample points at the centres of a
  regular sub-grid (``grid = sampling_ratio`` if it is ``> 0``, else ``ceil(roi_size / out_size)``
  per axis, computed per RoI);
* a sample with ``y < -1 or y > H`` (or ``x < -1 or x > W``) contributes 0; other samples are
  clamped into ``[0, H - 1]`` / ``[0, W - 1]`` and bilinearly interpolated;
* ``pool_mode='avg'`` divides the sum of the samples by ``max(grid_h * grid_w, 1)``;
  ``'max'`` takes the largest sample, starting from ``-10000`` as the kernel does.

Bilinear interpolation with the out-of-range rule is separable (the weight of a sample is the
product of a row weight and a column weight, each 0 when its coordinate is out of range), so a bin
is computed as ``Wy @ F @ Wx^T`` with small interpolation matrices; the coordinates are computed in
float32 exactly like the kernel, so the clamping decisions are the same.

mmcv's ``RoIPool`` (CUDA kernel; mmcv 1.7 has no CPU kernel for it) is restated too: bins are
``[floor(p * bin + start), ceil((p + 1) * bin + start))`` with ``start = x1 * scale`` and
``end = (x2 + 1) * scale``, clipped to the map; an empty bin is 0, a RoI of non-positive size is 0.
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple, Union

import torch
from torch import nn

from ..errors import ConfigError, ShapeError

IntOrPair = Union[int, Sequence[int]]
_MAX_INIT = -10000.0  # mmcv's initial value of the running max in 'max' mode


def _pair(value: IntOrPair, name: str) -> Tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        pair = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ConfigError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    if min(pair) <= 0:
        raise ConfigError(f"{name} must be positive, got {value!r}")
    return pair


def _check_inputs(features: torch.Tensor, rois: torch.Tensor, op: str) -> None:
    if features.dim() != 4:
        raise ShapeError(f"{op}: features must be [N, C, H, W], got shape {tuple(features.shape)}")
    if rois.dim() != 2 or rois.size(1) != 5:
        raise ShapeError(f"{op}: rois must be [num_rois, 5] = (batch_idx, x1, y1, x2, y2), got shape {tuple(rois.shape)}")
    if rois.numel():
        inds = rois[:, 0]
        if (inds < 0).any() or (inds >= features.size(0)).any():
            raise ShapeError(
                f"{op}: rois[:, 0] (batch index) must lie in [0, {features.size(0) - 1}], "
                f"got values {sorted(set(inds.long().tolist()))}"
            )


def _axis_weights(start: torch.Tensor, bin_size: torch.Tensor, grid: int, pooled: int, size: int) -> torch.Tensor:
    """Interpolation weights ``[pooled, grid, size]`` of the sample coordinates along one axis.

    ``start`` and ``bin_size`` are float32 scalars; the coordinate of sample ``i`` of bin ``p`` is
    ``start + p * bin_size + (i + 0.5) * bin_size / grid`` (mmcv's order of operations).
    """
    p = torch.arange(pooled, dtype=torch.float32).view(pooled, 1)
    i = torch.arange(grid, dtype=torch.float32).view(1, grid)
    coord = (start + p * bin_size) + (i + 0.5) * bin_size / float(grid)
    valid = (coord >= -1.0) & (coord <= float(size))
    coord = coord.clamp(min=0.0)
    low = coord.to(torch.int64)  # truncation of a non-negative value
    at_end = low >= size - 1
    low = torch.where(at_end, torch.full_like(low, size - 1), low)
    high = torch.where(at_end, low, low + 1)
    coord = torch.where(at_end, low.to(torch.float32), coord)
    frac = coord - low.to(torch.float32)
    weights = torch.zeros(pooled, grid, size, dtype=torch.float32)
    weights.scatter_add_(2, low.unsqueeze(-1), (1.0 - frac).unsqueeze(-1))
    weights.scatter_add_(2, high.unsqueeze(-1), frac.unsqueeze(-1))
    return weights * valid.unsqueeze(-1).to(torch.float32)


def roi_align(
    features: torch.Tensor,
    rois: torch.Tensor,
    output_size: IntOrPair,
    spatial_scale: float = 1.0,
    sampling_ratio: int = 0,
    pool_mode: str = "avg",
    aligned: bool = True,
) -> torch.Tensor:
    """mmcv ``roi_align``: ``features [N, C, H, W]``, ``rois [K, 5]`` → ``[K, C, out_h, out_w]``.

    Args:
        features: The feature maps.
        rois: ``(batch_idx, x1, y1, x2, y2)`` per RoI, in input-image pixels.
        output_size: ``out`` or ``(out_h, out_w)``.
        spatial_scale: Factor from image pixels to feature-map cells. Default 1.0.
        sampling_ratio: Samples per bin along each axis; 0 (default) = adaptive ``ceil(roi/out)``.
        pool_mode: ``"avg"`` (default) or ``"max"`` over the samples of a bin.
        aligned: Shift the scaled corners by -0.5 (default ``True``); ``False`` = legacy mode with
            RoI sizes clamped to at least 1.
    """
    out_h, out_w = _pair(output_size, "output_size")
    if pool_mode not in ("avg", "max"):
        raise ConfigError(f"RoIAlign pool_mode must be 'avg' or 'max', got {pool_mode!r}")
    if not isinstance(sampling_ratio, int) or sampling_ratio < 0:
        raise ConfigError(f"RoIAlign sampling_ratio must be an int >= 0, got {sampling_ratio!r}")
    _check_inputs(features, rois, "roi_align")
    n, c, height, width = features.shape
    dtype = features.dtype
    feats = features.float()
    boxes = rois.detach().to(torch.float32).cpu()
    scale = torch.tensor(spatial_scale, dtype=torch.float32)
    offset = torch.tensor(0.5 if aligned else 0.0, dtype=torch.float32)
    out = feats.new_zeros(boxes.size(0), c, out_h, out_w)
    for k in range(boxes.size(0)):
        batch = int(boxes[k, 0])
        x1, y1, x2, y2 = (boxes[k, j] * scale - offset for j in range(1, 5))
        roi_w, roi_h = x2 - x1, y2 - y1
        if aligned:
            if roi_w < 0 or roi_h < 0:
                raise ShapeError(f"roi_align: RoI {k} {boxes[k].tolist()} has a negative width or height")
        else:
            roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
        bin_h, bin_w = roi_h / float(out_h), roi_w / float(out_w)
        grid_h = sampling_ratio if sampling_ratio > 0 else int(math.ceil(float(roi_h / float(out_h))))
        grid_w = sampling_ratio if sampling_ratio > 0 else int(math.ceil(float(roi_w / float(out_w))))
        count = max(grid_h * grid_w, 1)
        if grid_h == 0 or grid_w == 0:
            if pool_mode == "max":
                out[k].fill_(_MAX_INIT)
            continue
        wy = _axis_weights(y1, bin_h, grid_h, out_h, height).to(feats.device)
        wx = _axis_weights(x1, bin_w, grid_w, out_w, width).to(feats.device)
        fmap = feats[batch]
        if pool_mode == "avg":
            out[k] = torch.einsum("ph,chw,qw->cpq", wy.sum(1), fmap, wx.sum(1)) / count
        else:
            rows = torch.einsum("pih,chw->cpiw", wy, fmap)
            samples = torch.einsum("cpiw,qjw->cpiqj", rows, wx)
            out[k] = samples.amax(dim=(2, 4)).clamp(min=_MAX_INIT)
    return out.to(dtype)


def roi_pool(features: torch.Tensor, rois: torch.Tensor, output_size: IntOrPair, spatial_scale: float = 1.0) -> torch.Tensor:
    """mmcv ``roi_pool`` (max pooling over integer bins): ``[N, C, H, W]``, ``[K, 5]`` → ``[K, C, oh, ow]``.

    Args:
        features: The feature maps.
        rois: ``(batch_idx, x1, y1, x2, y2)`` per RoI, in input-image pixels.
        output_size: ``out`` or ``(out_h, out_w)``.
        spatial_scale: Factor from image pixels to feature-map cells. Default 1.0.
    """
    out_h, out_w = _pair(output_size, "output_size")
    _check_inputs(features, rois, "roi_pool")
    _, c, height, width = features.shape
    boxes = rois.detach().to(torch.float32).cpu()
    scale = torch.tensor(spatial_scale, dtype=torch.float32)
    out = features.new_zeros(boxes.size(0), c, out_h, out_w)
    for k in range(boxes.size(0)):
        batch = int(boxes[k, 0])
        x1, y1 = boxes[k, 1] * scale, boxes[k, 2] * scale
        x2, y2 = (boxes[k, 3] + 1) * scale, (boxes[k, 4] + 1) * scale
        roi_w, roi_h = x2 - x1, y2 - y1
        if roi_w <= 0 or roi_h <= 0:
            continue
        bin_w, bin_h = roi_w / float(out_w), roi_h / float(out_h)
        for ph in range(out_h):
            h0 = min(max(int(math.floor(float(ph * bin_h + y1))), 0), height)
            h1 = min(max(int(math.ceil(float((ph + 1) * bin_h + y1))), 0), height)
            for pw in range(out_w):
                w0 = min(max(int(math.floor(float(pw * bin_w + x1))), 0), width)
                w1 = min(max(int(math.ceil(float((pw + 1) * bin_w + x1))), 0), width)
                if h1 <= h0 or w1 <= w0:
                    continue
                out[k, :, ph, pw] = features[batch, :, h0:h1, w0:w1].amax(dim=(1, 2))
    return out


class RoIAlign(nn.Module):
    """mmcv ``RoIAlign`` as a module (no parameters).

    Args:
        output_size: ``out`` or ``(out_h, out_w)``.
        spatial_scale: Image-to-feature-map scale. Default 1.0.
        sampling_ratio: Samples per bin and axis, 0 = adaptive. Default 0.
        pool_mode: ``"avg"`` or ``"max"``. Default ``"avg"``.
        aligned: Pixel-aligned corners (-0.5 shift). Default ``True``.
        use_torchvision: Accepted for mmcv compatibility; must be ``False`` (default), torchvision is
            not used.
    """

    def __init__(
        self,
        output_size: IntOrPair,
        spatial_scale: float = 1.0,
        sampling_ratio: int = 0,
        pool_mode: str = "avg",
        aligned: bool = True,
        use_torchvision: bool = False,
    ):
        super().__init__()
        if use_torchvision:
            raise ConfigError("RoIAlign(use_torchvision=True) is not supported: videohub does not use torchvision")
        if pool_mode not in ("avg", "max"):
            raise ConfigError(f"RoIAlign pool_mode must be 'avg' or 'max', got {pool_mode!r}")
        self.output_size = _pair(output_size, "output_size")
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.pool_mode = pool_mode
        self.aligned = aligned

    def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        """``features [N, C, H, W]``, ``rois [K, 5]`` → ``[K, C, out_h, out_w]``."""
        return roi_align(features, rois, self.output_size, self.spatial_scale, self.sampling_ratio,
                         self.pool_mode, self.aligned)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
                f"sampling_ratio={self.sampling_ratio}, pool_mode={self.pool_mode!r}, aligned={self.aligned}")


class RoIPool(nn.Module):
    """mmcv ``RoIPool`` as a module (no parameters).

    Args:
        output_size: ``out`` or ``(out_h, out_w)``.
        spatial_scale: Image-to-feature-map scale. Default 1.0.
    """

    def __init__(self, output_size: IntOrPair, spatial_scale: float = 1.0):
        super().__init__()
        self.output_size = _pair(output_size, "output_size")
        self.spatial_scale = float(spatial_scale)

    def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        """``features [N, C, H, W]``, ``rois [K, 5]`` → ``[K, C, out_h, out_w]``."""
        return roi_pool(features, rois, self.output_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"

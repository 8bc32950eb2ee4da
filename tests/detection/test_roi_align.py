"""RoIAlign / RoIPool against brute-force loops that restate mmcv's kernels sample by sample."""

import math

import pytest
import torch

from videohub.errors import ConfigError, ShapeError
from videohub.layers.roi_align import RoIAlign, RoIPool, roi_align, roi_pool


def _bilinear(fmap, y, x):
    """One mmcv sample: 0 outside [-1, H] x [-1, W], clamped bilinear interpolation inside."""
    _, height, width = fmap.shape
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return torch.zeros(fmap.shape[0], dtype=torch.float64)
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= height - 1:
        y0 = y1 = height - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= width - 1:
        x0 = x1 = width - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    f = fmap.double()
    return ((1 - ly) * (1 - lx) * f[:, y0, x0] + (1 - ly) * lx * f[:, y0, x1]
            + ly * (1 - lx) * f[:, y1, x0] + ly * lx * f[:, y1, x1])


def brute_roi_align(feat, rois, out_hw, scale, ratio, mode, aligned):
    out_h, out_w = out_hw
    result = torch.zeros(rois.shape[0], feat.shape[1], out_h, out_w, dtype=torch.float64)
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        off = 0.5 if aligned else 0.0
        x1, y1, x2, y2 = x1 * scale - off, y1 * scale - off, x2 * scale - off, y2 * scale - off
        rw, rh = x2 - x1, y2 - y1
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / out_h, rw / out_w
        gh = ratio if ratio > 0 else math.ceil(rh / out_h)
        gw = ratio if ratio > 0 else math.ceil(rw / out_w)
        for ph in range(out_h):
            for pw in range(out_w):
                samples = [_bilinear(feat[int(b)], y1 + ph * bh + (iy + 0.5) * bh / gh, x1 + pw * bw + (ix + 0.5) * bw / gw)
                           for iy in range(gh) for ix in range(gw)]
                if mode == "avg":
                    result[k, :, ph, pw] = sum(samples) / max(gh * gw, 1)
                else:
                    result[k, :, ph, pw] = torch.stack(samples).max(0).values.clamp(min=-10000.0)
    return result


FEAT = torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
# image 56x40 at stride 8: a full box, boxes sticking out on every side, a sub-cell box, a tiny box
ROIS = torch.tensor([
    [0, 0.0, 0.0, 55.0, 39.0],
    [1, -9.3, -6.1, 20.7, 17.2],
    [0, 40.2, 25.9, 70.4, 52.3],
    [1, 13.3, 9.1, 17.9, 12.6],
    [0, 30.0, 11.0, 30.6, 11.4],
])


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("ratio", [0, 2])
@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("out_hw", [(3, 3), (2, 4)])
def test_roi_align_matches_brute_force(aligned, ratio, mode, out_hw):
    out = roi_align(FEAT, ROIS, out_hw, 1 / 8, ratio, mode, aligned)
    ref = brute_roi_align(FEAT, ROIS, out_hw, 1 / 8, ratio, mode, aligned)
    assert out.shape == (5, 3) + out_hw
    torch.testing.assert_close(out.double(), ref, rtol=0, atol=2e-5)


def test_out_of_image_samples_are_zero():
    # a box entirely right of the map (x > W after scaling): every sample contributes 0
    rois = torch.tensor([[0, 200.0, 0.0, 260.0, 30.0]])
    assert roi_align(FEAT, rois, 2, 1 / 8, 0, "avg", True).abs().max() == 0
    assert roi_align(FEAT, rois, 2, 1 / 8, 0, "max", True).abs().max() == 0


def test_roi_align_empty_grid_and_errors():
    # zero-size aligned box: adaptive grid of 0 samples -> 0 (avg) / -10000 (max), like mmcv
    rois = torch.tensor([[0, 8.0, 8.0, 8.0, 8.0]])
    assert torch.equal(roi_align(FEAT, rois, 2, 1 / 8, 0, "avg", True), torch.zeros(1, 3, 2, 2))
    assert torch.equal(roi_align(FEAT, rois, 2, 1 / 8, 0, "max", True), torch.full((1, 3, 2, 2), -10000.0))
    with pytest.raises(ShapeError, match="batch index"):
        roi_align(FEAT, torch.tensor([[2, 0.0, 0.0, 4.0, 4.0]]), 2)
    with pytest.raises(ShapeError, match=r"\[num_rois, 5\]"):
        roi_align(FEAT, torch.zeros(3, 4), 2)
    with pytest.raises(ConfigError, match="pool_mode"):
        RoIAlign(2, pool_mode="sum")


def brute_roi_pool(feat, rois, out_hw, scale):
    out_h, out_w = out_hw
    _, _, height, width = feat.shape
    result = torch.zeros(rois.shape[0], feat.shape[1], out_h, out_w)
    for k, (b, x1, y1, x2, y2) in enumerate(rois.tolist()):
        sx, sy, ex, ey = x1 * scale, y1 * scale, (x2 + 1) * scale, (y2 + 1) * scale
        if ex - sx <= 0 or ey - sy <= 0:
            continue
        bh, bw = (ey - sy) / out_h, (ex - sx) / out_w
        for ph in range(out_h):
            for pw in range(out_w):
                h0 = min(max(math.floor(ph * bh + sy), 0), height)
                h1 = min(max(math.ceil((ph + 1) * bh + sy), 0), height)
                w0 = min(max(math.floor(pw * bw + sx), 0), width)
                w1 = min(max(math.ceil((pw + 1) * bw + sx), 0), width)
                for c in range(feat.shape[1]):
                    best = 0.0
                    cells = [feat[int(b), c, h, w].item() for h in range(h0, h1) for w in range(w0, w1)]
                    if cells:
                        best = max(cells)
                    result[k, c, ph, pw] = best
    return result


def test_roi_pool_matches_brute_force():
    out = RoIPool((3, 2), 1 / 8)(FEAT, ROIS)
    torch.testing.assert_close(out, brute_roi_pool(FEAT, ROIS, (3, 2), 1 / 8), rtol=0, atol=0)
    # a box right of the map pools nothing: 0
    assert roi_pool(FEAT, torch.tensor([[0, 200.0, 0.0, 260.0, 30.0]]), 2, 1 / 8).abs().max() == 0

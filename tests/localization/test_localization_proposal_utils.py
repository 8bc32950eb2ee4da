"""temporal_iou / temporal_iop / soft_nms / temporal_nms against hand-worked values and brute-force loops."""

import math

import numpy as np
import pytest

from videohub.errors import ShapeError
from videohub.localization import soft_nms, temporal_iop, temporal_iou, temporal_nms


def _iou(a0, a1, b0, b1):
    inter = max(min(a1, b1) - max(a0, b0), 0.0)
    return inter / ((a1 - a0) - inter + b1 - b0)


def test_temporal_iou_iop_hand_worked():
    assert temporal_iou(0.1, 0.4, 0.2, 0.6) == pytest.approx(0.2 / 0.5)
    assert temporal_iop(0.1, 0.4, 0.2, 0.6) == pytest.approx(0.2 / 0.3)
    np.testing.assert_allclose(temporal_iou(np.array([0.0, 0.5]), np.array([1.0, 2.0]), [0.0, 0.0], [2.0, 1.0]),
                               [0.5, 0.5 / 2.0])
    np.testing.assert_allclose(temporal_iop(np.array([0.0, 3.0]), np.array([1.0, 4.0]), 0.5, 3.5), [0.5, 0.5])
    # python scalars do not promote float32 proposals (numpy's weak scalars, as in mmaction2)
    assert temporal_iou(np.array([0.1], np.float32), np.array([0.4], np.float32), 0.2, 0.6).dtype == np.float32


def test_temporal_iou_iop_against_loop():
    rng = np.random.default_rng(0)
    starts = rng.random(30)
    ends = starts + rng.random(30)
    iou = temporal_iou(starts, ends, 0.3, 0.9)
    iop = temporal_iop(starts, ends, 0.3, 0.9)
    for i in range(30):
        assert iou[i] == pytest.approx(_iou(starts[i], ends[i], 0.3, 0.9), rel=1e-12)
        assert iop[i] == pytest.approx(max(min(ends[i], 0.9) - max(starts[i], 0.3), 0) / (ends[i] - starts[i]))


def _soft_nms_loop(proposals, alpha, low, high, top_k):
    order = sorted(range(len(proposals)), key=lambda i: -proposals[i][-1])
    items = [[float(proposals[i][0]), float(proposals[i][1]), float(proposals[i][-1])] for i in order]
    kept = []
    while items and len(kept) <= top_k:
        best = max(range(len(items)), key=lambda i: (items[i][2], -i))
        b0, b1, _ = items[best]
        for i, item in enumerate(items):
            if i != best:
                overlap = _iou(b0, b1, item[0], item[1])
                if overlap > low + (high - low) * (b1 - b0):
                    item[2] *= math.exp(-overlap ** 2 / alpha)
        kept.append(items.pop(best))
    return np.array(kept).reshape(-1, 3)


@pytest.mark.parametrize("alpha,low,high,top_k", [(0.4, 0.5, 0.9, 10), (0.75, 0.65, 0.9, 100), (0.3, 0.0, 0.1, 3)])
def test_soft_nms_against_loop(alpha, low, high, top_k):
    rng = np.random.default_rng(1)
    starts = rng.random(40) * 0.8
    proposals = np.stack([starts, starts + rng.random(40) * 0.3, rng.random(40), rng.random(40), rng.random(40)], 1)
    got = soft_nms(proposals, alpha, low, high, top_k)
    expected = _soft_nms_loop(proposals, alpha, low, high, top_k)
    assert got.shape == (min(top_k + 1, 40), 3)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_soft_nms_edge_cases():
    assert soft_nms(np.zeros((0, 3)), 0.4, 0.5, 0.9, 5).shape == (0, 3)
    single = soft_nms(np.array([[0.1, 0.3, 0.7]]), 0.4, 0.5, 0.9, 5)
    np.testing.assert_array_equal(single, [[0.1, 0.3, 0.7]])
    with pytest.raises(ShapeError, match="proposals has shape \\(3,\\)"):
        soft_nms(np.array([0.1, 0.3, 0.7]), 0.4, 0.5, 0.9, 5)


def _nms_loop(detections, threshold):
    order = sorted(range(len(detections)), key=lambda i: -detections[i][2])
    keep = []
    for i in order:
        if all(_iou(detections[i][0], detections[i][1], detections[k][0], detections[k][1]) <= threshold
               for k in keep):
            keep.append(i)
    return detections[keep]


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.9])
def test_temporal_nms_against_loop(threshold):
    rng = np.random.default_rng(2)
    starts = rng.random(60)
    detections = np.stack([starts, starts + rng.random(60) * 0.5, rng.random(60), rng.random(60)], axis=1)
    np.testing.assert_array_equal(temporal_nms(detections, threshold), _nms_loop(detections, threshold))


def test_temporal_nms_hand_worked():
    detections = np.array([[0.0, 1.0, 0.5], [0.1, 1.0, 0.9], [2.0, 3.0, 0.1]])
    # the 0.9 segment suppresses the 0.5 one (IoU 0.9); the far one stays
    np.testing.assert_array_equal(temporal_nms(detections, 0.5), detections[[1, 2]])
    np.testing.assert_array_equal(temporal_nms(detections, 0.95), detections[[1, 0, 2]])

"""SSN helpers: proposal file parsing, regression and THUMOS AP."""

import math

import numpy as np
import pytest

from videohub.errors import AnnotationError, ShapeError
from videohub.localization import eval_ap, load_localize_proposal_file, perform_regression
from videohub.metrics import average_precision_at_temporal_iou

PROPOSALS = """# 0
video_validation_0000202
5666
1
3
8 130 185
8 832 1136
8 1303 1381
2
8 0.0620 0.0620 790 5671
8 0.1656 0.1656 790 2619
# 1
video_validation_0000203
100
2
0
1
0 0.0000 0.0000 10 20
"""


def test_load_localize_proposal_file(tmp_path):
    path = tmp_path / "proposals.txt"
    path.write_text(PROPOSALS)
    videos = load_localize_proposal_file(str(path))
    assert videos[0] == ("video_validation_0000202", 5666,
                         [["8", "130", "185"], ["8", "832", "1136"], ["8", "1303", "1381"]],
                         [["8", "0.0620", "0.0620", "790", "5671"], ["8", "0.1656", "0.1656", "790", "2619"]])
    assert videos[1] == ("video_validation_0000203", 200, [], [["0", "0.0000", "0.0000", "10", "20"]])


def test_load_localize_proposal_file_errors(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("# 0\nvid\n100\n1\nthree\n")
    with pytest.raises(AnnotationError, match="bad.txt:5: expected the number of ground truths"):
        load_localize_proposal_file(str(path))
    path.write_text("# 0\nvid\n100\n1\n1\n1 2 3\n")
    with pytest.raises(AnnotationError, match="bad.txt:6: video block of 'vid' ends early"):
        load_localize_proposal_file(str(path))


def test_perform_regression_hand_worked():
    detections = np.array([[0.2, 0.6, 0.9, 0.1, math.log(2)], [0.0, 0.5, 0.3, -0.5, 0.0]])
    out = perform_regression(detections)
    # row 0: center 0.4 + 0.4 * 0.1 = 0.44, duration 0.8 -> [0.04, 0.84]
    # row 1: center 0.25 - 0.25 = 0.0, duration 0.5 -> [-0.25, 0.25] clipped to [0, 0.25]
    np.testing.assert_allclose(out, [[0.04, 0.84, 0.9, 0.1, math.log(2)], [0.0, 0.25, 0.3, -0.5, 0.0]])
    with pytest.raises(ShapeError, match="expected \\[N, 5\\]"):
        perform_regression(detections[:, :4])


def test_eval_ap_per_class_and_threshold():
    rng = np.random.default_rng(3)
    detections, gts = {}, {}
    for c in range(3):
        gts[c] = {f"v{v}": [[s, s + 0.2] for s in rng.random(2) * 0.7] for v in range(3)}
        detections[c] = [[f"v{rng.integers(0, 4)}", c, s, s + 0.1 + 0.2 * rng.random(), rng.random()]
                         for s in rng.random(15) * 0.8]
    iou_range = np.arange(0.1, 1.0, 0.1)
    ap = eval_ap(detections, gts, iou_range)
    assert ap.shape == (3, 9)
    for c in range(3):  # mmaction2 calls once per (class, threshold)
        for i, t in enumerate(iou_range):
            assert ap[c, i] == average_precision_at_temporal_iou(gts[c], detections[c], [t])[0]
    assert ap[:, 0].max() > 0
    # a class with detections but no ground truth gives NaN, like mmaction2
    assert np.isnan(eval_ap({0: detections[0]}, {}, [0.5])).all()


def test_eval_ap_hand_worked():
    gts = {0: {"a": [[0.0, 0.5]]}}
    detections = {0: [["a", 0, 0.0, 0.5, 0.4], ["a", 0, 0.5, 1.0, 0.9]]}
    # ranked: miss (0.9) then hit (0.4) -> AP 0.5
    np.testing.assert_allclose(eval_ap(detections, gts, [0.5]), [[0.5]])

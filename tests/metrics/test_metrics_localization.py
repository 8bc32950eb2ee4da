"""Temporal localization metrics against hand-worked values and brute-force loops."""

import json

import numpy as np
import pytest

from videohub.errors import AnnotationError, ConfigError, ShapeError
from videohub.metrics import localization
from videohub.metrics.localization import (ActivityNetLocalization, average_precision_at_temporal_iou,
                                           average_recall_at_avg_proposals, compute_average_precision_detection,
                                           interpolated_precision_recall, pairwise_temporal_iou)

THRESHOLDS = np.linspace(0.5, 0.95, 10)


def _iou_scalar(candidate, target):
    """One IoU in the reference precision: intersection/union in the input dtype, ratio in float64."""
    intersection = max(min(candidate[1], target[1]) - max(candidate[0], target[0]), 0)
    union = (target[1] - target[0]) + (candidate[1] - candidate[0]) - intersection
    return np.float32(np.float64(intersection) / np.float64(union))


def test_pairwise_temporal_iou_hand_worked():
    iou, overlap = pairwise_temporal_iou(np.array([[0.0, 2.0], [1.0, 3.0], [5.0, 6.0]]), np.array([[1.0, 2.0]]),
                                         calculate_overlap_self=True)
    np.testing.assert_allclose(iou, [[0.5, 0.5, 0.0]])
    np.testing.assert_allclose(overlap, [[0.5, 0.5, 0.0]])
    assert iou.dtype == np.float32
    single = pairwise_temporal_iou(np.array([0.0, 4.0]), np.array([[1.0, 2.0], [2.0, 8.0]]))
    np.testing.assert_allclose(single, [0.25, 2 / 8])


def test_pairwise_temporal_iou_against_loop():
    rng = np.random.default_rng(0)
    candidates = np.sort(rng.random((7, 2)), axis=1).astype(np.float32)
    targets = np.sort(rng.random((5, 2)), axis=1).astype(np.float32)
    iou = pairwise_temporal_iou(candidates, targets)
    for i in range(5):
        for j in range(7):
            assert iou[i, j] == _iou_scalar(candidates[j], targets[i])


def test_pairwise_temporal_iou_errors():
    with pytest.raises(ShapeError, match="target_segments has shape \\(2,\\)"):
        pairwise_temporal_iou(np.array([[0, 1]]), np.array([0, 1]))
    with pytest.raises(ShapeError, match="candidate_segments"):
        pairwise_temporal_iou(np.zeros((2, 2, 2)), np.array([[0, 1]]))


def _aran_loop(ground_truth, proposals, total, max_avg, thresholds):
    """mmaction2's AR@AN with explicit loops over videos, instances, proposals and percentages."""
    num_videos = len(ground_truth)
    if not max_avg:
        max_avg = float(total) / num_videos
    ratio = max_avg * float(num_videos) / total
    scores, retrieved = [], 0
    for vid in ground_truth:
        gts = np.asarray(ground_truth[vid])[:, :2].astype(np.float32)
        props = np.asarray(proposals[vid])
        if props.shape[0] == 0:
            scores.append(np.zeros((len(gts), 1)))
            continue
        segs = props[props[:, 2].argsort()[::-1], :2].astype(np.float32)
        keep = min(int(len(segs) * ratio), len(segs))
        retrieved += keep
        scores.append(np.array([[_iou_scalar(segs[j], gts[i]) for j in range(keep)] for i in range(len(gts))],
                               dtype=np.float32).reshape(len(gts), keep))
    pcn = np.arange(1, 101) / 100.0 * (max_avg * float(num_videos) / retrieved)
    recall = np.zeros((len(thresholds), 100))
    for r, threshold in enumerate(thresholds):
        matched = np.zeros(100)
        positives = 0
        for score in scores:
            positives += score.shape[0]
            for j in range(100):
                n = min(int(score.shape[1] * pcn[j]), score.shape[1])
                for i in range(score.shape[0]):
                    matched[j] += any(score[i, m] >= threshold for m in range(n))
        recall[r] = matched / positives
    avg = recall.mean(axis=0)
    per_video = pcn * (float(retrieved) / num_videos)
    area = sum((per_video[i + 1] - per_video[i]) * (avg[i + 1] + avg[i]) / 2 for i in range(99))
    return recall, avg, per_video, 100.0 * area / per_video[-1]


def test_average_recall_hand_worked():
    gt = {"a": np.array([[0.0, 10.0]])}
    props = {"a": np.array([[0.0, 5.0, 0.8], [0.0, 10.0, 0.9]])}
    recall, avg, per_video, auc = average_recall_at_avg_proposals(gt, props, 2)
    # max_avg_proposals = 2: the best proposal (IoU 1) is retrieved from 50 % on, both from 100 %.
    np.testing.assert_array_equal(avg[:49], 0)
    np.testing.assert_array_equal(avg[49:], 1)
    np.testing.assert_allclose(per_video, np.arange(1, 101) / 50)
    assert auc == pytest.approx(100 * (0.01 + 1.0) / 2)
    assert recall.shape == (10, 100)


@pytest.mark.parametrize("max_avg", [None, 100, 7])
def test_average_recall_against_loop(max_avg, monkeypatch):
    monkeypatch.setattr(localization, "_ARAN_BLOCK_ELEMENTS", 200)  # several padded blocks
    rng = np.random.default_rng(3)
    gt, props, total = {}, {}, 0
    for v in range(9):
        starts = rng.random(rng.integers(1, 4)) * 50
        gt[f"v{v}"] = np.stack([starts, starts + rng.random(len(starts)) * 30 + 1, np.zeros(len(starts))], axis=1)
        n = 0 if v == 4 else int(rng.integers(1, 30))
        begin = rng.random(n) * 60
        scores = rng.integers(0, 5, n) / 4.0  # ties in the scores
        props[f"v{v}"] = np.stack([begin, begin + rng.random(n) * 30 + 0.5, scores], axis=1).reshape(n, 3)
        total += n
    thresholds = np.array([0.3, 0.5, 0.7])
    got = average_recall_at_avg_proposals(gt, props, total, max_avg, thresholds)
    want = _aran_loop(gt, props, total, max_avg, thresholds)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_allclose(got[2], want[2], rtol=1e-15)
    assert got[3] == pytest.approx(want[3], rel=1e-12)


def test_average_recall_errors():
    with pytest.raises(AnnotationError, match="no entry for video 'b'"):
        average_recall_at_avg_proposals({"b": np.array([[0, 1]])}, {}, 1)
    with pytest.raises(ShapeError, match="empty"):
        average_recall_at_avg_proposals({}, {}, 1)
    with pytest.raises(ShapeError, match="proposals\\['a'\\] has shape"):
        average_recall_at_avg_proposals({"a": np.array([[0, 1]])}, {"a": np.array([[0, 1]])}, 1)


def test_interpolated_precision_recall_hand_worked():
    precision = np.array([1.0, 0.5, 2 / 3])
    recall = np.array([1 / 3, 1 / 3, 2 / 3])
    # envelope 1, 2/3, 2/3 -> 1/3 * 1 + 1/3 * 2/3 + 1/3 * 0 (recall 2/3 -> 1 at precision 0)
    assert interpolated_precision_recall(precision, recall) == pytest.approx(1 / 3 + 2 / 9)
    with pytest.raises(ShapeError):
        interpolated_precision_recall(precision, recall[:2])


def test_average_precision_hand_worked():
    gt = {"a": [[0.0, 10.0]]}
    preds = [["a", 0, 0.0, 4.0, 0.9], ["a", 0, 0.0, 10.0, 0.8], ["b", 0, 0.0, 5.0, 0.95]]
    ap = average_precision_at_temporal_iou(gt, preds, [0.3, 0.5])
    # ranking: b (no ground truth, FP), a@0.4 IoU, a@1.0 IoU
    # tIoU 0.3: FP, TP, FP -> AP 0.5;  tIoU 0.5: FP, FP, TP -> AP 1/3
    np.testing.assert_allclose(ap, [0.5, 1 / 3], rtol=1e-6)
    assert ap.dtype == np.float32
    np.testing.assert_array_equal(average_precision_at_temporal_iou(gt, [], [0.5]), [0.0])


def _ap_loop(ground_truth, prediction, thresholds):
    """mmaction2's average_precision_at_temporal_iou with explicit loops."""
    locks = {key: -np.ones((len(thresholds), len(value))) for key, value in ground_truth.items()}
    num_gts = float(sum(len(value) for value in ground_truth.values()))
    order = np.argsort(np.array([float(p[4]) for p in prediction]))[::-1]
    tp = np.zeros((len(thresholds), len(prediction)))
    fp = np.zeros((len(thresholds), len(prediction)))
    for rank, idx in enumerate(order):
        pred = prediction[idx]
        if pred[0] not in ground_truth:
            fp[:, rank] = 1
            continue
        gts = np.array(ground_truth[pred[0]], dtype=float)
        iou = np.array([_iou_scalar([float(pred[2]), float(pred[3])], g) for g in gts], dtype=np.float32)
        ranked = iou.argsort()[::-1]
        for t, threshold in enumerate(thresholds):
            for j in ranked:
                if iou[j] < threshold:
                    break
                if locks[pred[0]][t, j] >= 0:
                    continue
                tp[t, rank] = 1
                locks[pred[0]][t, j] = rank
                break
            fp[t, rank] = 1 - tp[t, rank]
    tp_c = np.cumsum(tp, axis=1).astype(np.float32)
    fp_c = np.cumsum(fp, axis=1).astype(np.float32)
    recall, precision = tp_c / num_gts, tp_c / (tp_c + fp_c)
    out = []
    for t in range(len(thresholds)):
        prec = [0.0] + list(precision[t]) + [0.0]
        rec = [0.0] + list(recall[t]) + [1.0]
        for i in range(len(prec) - 2, -1, -1):
            prec[i] = max(prec[i], prec[i + 1])
        out.append(sum((rec[i] - rec[i - 1]) * prec[i] for i in range(1, len(rec)) if rec[i] != rec[i - 1]))
    return np.array(out, dtype=np.float32)


def _random_detection_data(rng, num_videos=6, num_preds=80):
    gt = {}
    for v in range(num_videos):
        starts = rng.random(rng.integers(1, 5)) * 80
        gt[f"v{v}"] = [[s, s + d] for s, d in zip(starts, rng.random(len(starts)) * 20 + 2)]
    preds = []
    for _ in range(num_preds):
        vid = f"v{rng.integers(0, num_videos + 1)}"  # v{num_videos} has no ground truth
        s = rng.random() * 85
        preds.append([vid, int(rng.integers(0, 3)), s, s + rng.random() * 20 + 1, float(rng.integers(0, 20)) / 19])
    return gt, preds


def test_average_precision_against_loop():
    rng = np.random.default_rng(11)
    gt, preds = _random_detection_data(rng)
    got = average_precision_at_temporal_iou(gt, preds, THRESHOLDS)
    np.testing.assert_allclose(got, _ap_loop(gt, preds, THRESHOLDS), rtol=1e-6, atol=1e-7)
    # the same rows as strings (mmaction2 turns mixed rows into a string array)
    as_strings = [[str(x) for x in row] for row in preds]
    np.testing.assert_allclose(average_precision_at_temporal_iou(gt, as_strings, THRESHOLDS), got)


def test_compute_average_precision_detection_matches_pooled_version():
    rng = np.random.default_rng(5)
    gt, preds = _random_detection_data(rng, num_preds=40)
    # distinct scores: the stable sort and argsort()[::-1] then visit predictions in the same order
    scores = rng.permutation(len(preds)) / len(preds)
    gt_items = [{"video-id": v, "t-start": s, "t-end": e} for v, segs in gt.items() for s, e in segs]
    pred_items = [{"video-id": p[0], "t-start": p[2], "t-end": p[3], "score": sc} for p, sc in zip(preds, scores)]
    rows = [[p[0], 0, p[2], p[3], sc] for p, sc in zip(preds, scores)]
    np.testing.assert_allclose(compute_average_precision_detection(gt_items, pred_items, THRESHOLDS),
                               average_precision_at_temporal_iou(gt, rows, THRESHOLDS), rtol=1e-6)
    assert compute_average_precision_detection(gt_items, [], THRESHOLDS).tolist() == [0.0] * 10


def _write_activitynet(tmp_path, gt, preds):
    gt_json = {f"v_{vid}": {"annotations": [{"segment": seg, "label": label} for seg, label in anns]}
               for vid, anns in gt.items()}
    pred_json = {"results": {vid: [{"label": label, "segment": seg, "score": score} for seg, label, score in rows]
                             for vid, rows in preds.items()}}
    gt_path, pred_path = tmp_path / "gt.json", tmp_path / "pred.json"
    gt_path.write_text(json.dumps(gt_json))
    pred_path.write_text(json.dumps(pred_json))
    return str(gt_path), str(pred_path)


def test_activitynet_localization_hand_worked(tmp_path):
    gt = {"a": [([0.0, 10.0], "run"), ([20.0, 30.0], "jump")], "b": [([5.0, 15.0], "run")]}
    preds = {"a": [([0.0, 10.0], "run", 0.9), ([21.0, 30.0], "jump", 0.8)],
             "b": [([0.0, 10.0], "run", 0.7)]}  # IoU 1/3 with b's run
    gt_path, pred_path = _write_activitynet(tmp_path, gt, preds)
    evaluator = ActivityNetLocalization(gt_path, pred_path, tiou_thresholds=np.array([0.3, 0.5, 0.95]))
    assert evaluator.activity_index == {"run": 0, "jump": 1}
    mean_ap, average = evaluator.evaluate()
    # run: TP (0.9), then b at IoU 1/3 -> TP only at 0.3: AP 1, 0.5, 0.5; jump: IoU 0.9 -> AP 1, 1, 0
    np.testing.assert_allclose(evaluator.ap, [[1.0, 1.0], [0.5, 1.0], [0.5, 0.0]])
    np.testing.assert_allclose(mean_ap, [1.0, 0.75, 0.25])
    assert average == pytest.approx(2 / 3)


def test_activitynet_localization_errors(tmp_path):
    gt_path, pred_path = _write_activitynet(tmp_path, {"a": [([0.0, 1.0], "run")]}, {"a": [([0.0, 1.0], "fly", 1)]})
    with pytest.raises(AnnotationError, match="predicts label 'fly'"):
        ActivityNetLocalization(gt_path, pred_path)
    with pytest.raises(ConfigError, match="ground truth"):
        ActivityNetLocalization(None, pred_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AnnotationError, match="bad.json.*line 1"):
        ActivityNetLocalization(str(bad), pred_path)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"v_a": {"annotations": [{"label": "run"}]}}))
    with pytest.raises(AnnotationError, match="video 'v_a' has a malformed annotation"):
        ActivityNetLocalization(str(broken), pred_path)

"""AVA frame mAP@0.5IOU: hand-worked files, a brute-force Pascal VOC evaluator and the CSV readers."""

from collections import defaultdict

import numpy as np
import pytest

from videohub.errors import AnnotationError, ConfigError
from videohub.metrics import evaluate_ava
from videohub.metrics.ava import (ava_eval, det2csv, frame_map, make_image_key, read_csv, read_exclusions,
                                  read_labelmap, results2csv)

LABEL_MAP = """item {
  name: "stand"
  id: 1
}
item {
  name: "sit"
  id: 2
}
label {
  name: "talk to (e.g., self, a person)"
  label_id: 3
  label_type: PERSON_INTERACTION
}
"""

A, A_SHIFTED, B, C = [0.0, 0.0, 0.5, 0.5], [0.0, 0.05, 0.5, 0.55], [0.5, 0.5, 1.0, 1.0], [0.2, 0.2, 0.6, 0.9]
GT_ROWS = [["f1", 902, *A, 1, 0], ["f1", 902, *B, 2, 1], ["f2", 903, *C, 1, 0], ["f3", 904, *B, 2, 0]]
DET_ROWS = [["f1", 902, *A, 1, 0.9], ["f1", 902, *A_SHIFTED, 1, 0.8], ["f1", 902, *A, 2, 0.7],
            ["f1", 902, *B, 2, 0.6], ["f2", 903, *C, 1, 0.85], ["f2", 903, *C, 3, 0.5],
            ["f3", 904, *A, 2, 0.95]]


def _write(path, rows):
    path.write_text("".join(",".join(str(x) for x in row) + "\n" for row in rows))
    return str(path)


@pytest.fixture()
def ava_files(tmp_path):
    label = tmp_path / "labels.pbtxt"
    label.write_text(LABEL_MAP)
    return {"label_file": str(label), "ann_file": _write(tmp_path / "gt.csv", GT_ROWS),
            "exclude_file": _write(tmp_path / "excluded.csv", [["f3", "0904"]]),
            "result": _write(tmp_path / "det.csv", DET_ROWS)}


def test_readers(ava_files, tmp_path):
    labelmap, ids = read_labelmap(ava_files["label_file"])
    assert labelmap == [{"id": 1, "name": "stand"}, {"id": 2, "name": "sit"},
                        {"id": 3, "name": "talk to (e.g., self, a person)"}]
    assert ids == {1, 2, 3}
    assert make_image_key("vid", "902") == "vid,0902"
    assert read_exclusions(ava_files["exclude_file"]) == {"f3,0904"}
    assert read_exclusions(None) == set()
    boxes, labels, scores = read_csv(ava_files["result"], class_whitelist={1, 2})
    assert list(boxes) == ["f1,0902", "f2,0903", "f3,0904"]
    assert scores["f1,0902"] == [0.9, 0.8, 0.7, 0.6]  # decreasing score inside a frame
    assert labels["f2,0903"] == [1]  # class 3 filtered by the whitelist
    assert boxes["f1,0902"][0] == [A[1], A[0], A[3], A[2]]  # stored as [y1, x1, y2, x2]
    top2 = read_csv(ava_files["result"], capacity=2)[2]
    assert top2["f1,0902"] == [0.9, 0.8]


def test_reader_errors(tmp_path):
    bad = _write(tmp_path / "bad.csv", [["f1", 902, 0, 0, 1, 1, 1], ["f1", 902, 0, 0, 1]])
    with pytest.raises(AnnotationError, match="bad.csv:2: expected 7 or 8 columns"):
        read_csv(bad)
    bad_value = _write(tmp_path / "bad_value.csv", [["f1", 902, 0, 0, "x", 1, 1]])
    with pytest.raises(AnnotationError, match="bad_value.csv:1: malformed"):
        read_csv(bad_value)
    label = tmp_path / "bad.pbtxt"
    label.write_text('item {\n  name: "a"\n  id: one\n}\n')
    with pytest.raises(AnnotationError, match="bad.pbtxt:3"):
        read_labelmap(str(label))


def test_ava_eval_hand_worked(ava_files):
    # class 1: 0.9 TP, 0.85 TP, 0.8 FP (duplicate of A) over 2 boxes -> AP 1.0
    # class 2: 0.7 FP (A vs B), 0.6 TP over 1 box -> AP 0.5 (f3 is excluded); class 3: no ground truth
    kwargs = dict(label_file=ava_files["label_file"], ann_file=ava_files["ann_file"])
    result = ava_eval(ava_files["result"], "mAP", exclude_file=ava_files["exclude_file"], **kwargs)
    assert result == {"mAP@0.5IOU": pytest.approx(0.75)}
    # without the exclusions, f3 adds a missed box and a top-scored false positive (0.95) to class 2:
    # FP, FP, TP over 2 boxes -> AP 1/2 * 1/3
    assert ava_eval(ava_files["result"], "mAP", exclude_file=None, **kwargs)["mAP@0.5IOU"] == pytest.approx(7 / 12)
    only_stand = ava_eval(ava_files["result"], "mAP", exclude_file=ava_files["exclude_file"],
                          custom_classes=[0, 1], **kwargs)
    assert only_stand["mAP@0.5IOU"] == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="result_type"):
        ava_eval(ava_files["result"], "proposal", exclude_file=None, **kwargs)
    with pytest.raises(ConfigError, match="custom_classes \\[7\\]"):
        ava_eval(ava_files["result"], "mAP", exclude_file=None, custom_classes=[0, 7], **kwargs)


def test_evaluate_ava_path_and_rows(ava_files):
    args = (ava_files["ann_file"], ava_files["exclude_file"], ava_files["label_file"])
    from_path = evaluate_ava(ava_files["result"], *args)
    from_rows = evaluate_ava(DET_ROWS, *args)
    assert from_path == from_rows == {"mAP@0.5IOU": pytest.approx(0.75)}


def test_frame_map_per_category_keys(ava_files):
    categories, ids = read_labelmap(ava_files["label_file"])
    gt_boxes, gt_labels, _ = read_csv(ava_files["ann_file"], ids)
    metrics = frame_map((gt_boxes, gt_labels), read_csv(ava_files["result"], ids), categories, {"f3,0904"})
    assert metrics["PerformanceByCategory/AP@0.5IOU/stand"] == pytest.approx(1.0)
    assert metrics["PerformanceByCategory/AP@0.5IOU/sit"] == pytest.approx(0.5)
    assert np.isnan(metrics["PerformanceByCategory/AP@0.5IOU/talk to (e.g., self, a person)"])
    with pytest.raises(ConfigError, match="1-indexed"):
        frame_map((gt_boxes, gt_labels), read_csv(ava_files["result"]), [{"id": 0, "name": "bg"}])


def _box_iou(a, b):
    h = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    w = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = h * w
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _voc_map_loop(gt, dets, categories, excluded, threshold=0.5):
    """Pascal VOC frame mAP with per-frame, per-class, per-detection loops."""
    gt_boxes, gt_labels = gt
    det_boxes, det_labels, det_scores = dets
    num_gt = defaultdict(int)
    for key in gt_boxes:
        if key not in excluded:
            for label in gt_labels[key]:
                num_gt[label] += 1
    scores, hits = defaultdict(list), defaultdict(list)
    for key in det_boxes:
        if key in excluded:
            continue
        for cat in categories:
            c = cat["id"]
            truth = [b for b, lab in zip(gt_boxes.get(key, []), gt_labels.get(key, [])) if lab == c]
            claimed = [False] * len(truth)
            for box, lab, score in zip(det_boxes[key], det_labels[key], det_scores[key]):
                if lab != c or not (box[0] < box[2] and box[1] < box[3]):
                    continue
                tp = False
                if truth:
                    ious = [_box_iou(box, t) for t in truth]
                    best = int(np.argmax(ious))
                    if ious[best] >= threshold and not claimed[best]:
                        claimed[best] = tp = True
                scores[c].append(score)
                hits[c].append(tp)
    aps = []
    for cat in categories:
        c = cat["id"]
        if num_gt[c] == 0:
            continue
        if not scores[c]:
            aps.append(0.0)
            continue
        order = np.argsort(np.array(scores[c]))[::-1]
        tp_count, precision, recall = 0, [], []
        for rank, i in enumerate(order, start=1):
            tp_count += hits[c][i]
            precision.append(tp_count / rank)
            recall.append(tp_count / num_gt[c])
        prec = [0.0] + precision + [0.0]
        rec = [0.0] + recall + [1.0]
        for i in range(len(prec) - 2, -1, -1):
            prec[i] = max(prec[i], prec[i + 1])
        aps.append(sum((rec[i] - rec[i - 1]) * prec[i] for i in range(1, len(rec)) if rec[i] != rec[i - 1]))
    return np.mean(aps)


def test_frame_map_against_loop():
    rng = np.random.default_rng(2)
    categories = [{"id": i, "name": f"c{i}"} for i in (1, 2, 4, 5)]
    gt_boxes, gt_labels = defaultdict(list), defaultdict(list)
    det_boxes, det_labels, det_scores = defaultdict(list), defaultdict(list), defaultdict(list)
    for frame in range(25):
        key = make_image_key(f"vid{frame % 4}", 900 + frame)
        people = [np.sort(rng.random(2)).tolist() + np.sort(rng.random(2)).tolist() for _ in range(rng.integers(0, 4))]
        people = [[p[0], p[2], p[1], p[3]] for p in people]  # [y1, x1, y2, x2]
        if frame != 7:  # frame 7: detections without any ground truth
            for box in people:
                for label in rng.choice([1, 2, 4, 5], rng.integers(1, 3), replace=False):
                    gt_boxes[key].append(box)
                    gt_labels[key].append(int(label))
        rows = []
        for box in people + [np.sort(rng.random(4)).tolist()]:
            for label in (1, 2, 4, 5):
                if rng.random() < 0.6:
                    jitter = (np.asarray(box) + rng.normal(0, 0.01, 4)).tolist()
                    rows.append((round(float(rng.random()), 2), label, jitter))
        rows.append((0.99, 1, [0.5, 0.5, 0.4, 0.6]))  # invalid box (y2 < y1): ignored
        for score, label, box in sorted(rows, key=lambda r: -r[0]):
            det_boxes[key].append(box)
            det_labels[key].append(label)
            det_scores[key].append(score)
    excluded = {make_image_key("vid1", 905)}
    got = frame_map((gt_boxes, gt_labels), (det_boxes, det_labels, det_scores), categories, excluded)
    expected = _voc_map_loop((gt_boxes, gt_labels), (det_boxes, det_labels, det_scores), categories, excluded)
    assert got["mAP@0.5IOU"] == pytest.approx(expected, rel=1e-12)


def test_det2csv_and_results2csv(tmp_path):
    infos = [{"video_id": "v", "timestamp": 902}, {"video_id": "w", "timestamp": 1000}]
    results = [[np.array([[0.1, 0.2, 0.3, 0.4, 0.55555]], np.float32), np.zeros((0, 5))],
               [np.zeros((0, 5)), np.array([[0.5, 0.5, 0.9, 0.9, 0.25]])]]
    rows = det2csv(infos, results, custom_classes=[0, 7, 9])
    assert [(r[0], r[1], r[6]) for r in rows] == [("v", 902, 7), ("w", 1000, 9)]
    out = tmp_path / "det.csv"
    results2csv(infos, results, str(out))
    assert out.read_text().splitlines() == ["v,902,0.100,0.200,0.300,0.400,1,0.556",
                                            "w,1000,0.500,0.500,0.900,0.900,2,0.250"]

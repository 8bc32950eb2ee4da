"""The bundled ``evaluate`` modules load offline from their folder and agree with the plain functions."""

import os
import re

import evaluate
import numpy as np
import pytest

import videohub.metrics as vh_metrics
from videohub.errors import ConfigError

REQUIRED = {"top_k_accuracy", "mean_class_accuracy", "mean_average_precision", "ar_an", "ava_map"}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")


def test_bundled_modules_and_one_import_per_line():
    assert REQUIRED <= set(vh_metrics.available_modules())
    for name in vh_metrics.available_modules():
        with open(os.path.join(vh_metrics.module_path(name), name + ".py"), encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if re.match(r"^(import|from)\s", line):
                    imported = line.split(" import ", 1)[-1] if line.startswith("from") else line[len("import"):]
                    assert "," not in imported, f"{name}.py:{number} imports several names on one line"
    with pytest.raises(ConfigError, match="no bundled evaluate module 'accuracy'"):
        vh_metrics.module_path("accuracy")


def test_classification_modules_match_functions():
    rng = np.random.default_rng(0)
    scores = rng.random((40, 5))
    labels = rng.integers(0, 5, 40)
    top_k = evaluate.load(vh_metrics.module_path("top_k_accuracy"))
    out = top_k.compute(predictions=scores.tolist(), references=labels.tolist(), topk=(1, 3))
    assert out == pytest.approx(dict(zip(["top1_acc", "top3_acc"], vh_metrics.top_k_accuracy(scores, labels, (1, 3)))))
    mca = vh_metrics.load("mean_class_accuracy")
    for start in range(0, 40, 10):  # incremental batches
        mca.add_batch(predictions=scores[start:start + 10].tolist(), references=labels[start:start + 10].tolist())
    assert mca.compute()["mean_class_accuracy"] == pytest.approx(vh_metrics.mean_class_accuracy(scores, labels))

    many_hot = (rng.random((40, 5)) < 0.4).astype(int)
    many_hot[:, 0] = 1
    mean_ap = vh_metrics.load("mean_average_precision")
    assert mean_ap.compute(predictions=scores.tolist(), references=many_hot.tolist())["mean_average_precision"] == \
        pytest.approx(vh_metrics.mean_average_precision(scores, many_hot))
    assert mean_ap.compute(predictions=scores.tolist(), references=many_hot.tolist(), mmit=True)[
        "mmit_mean_average_precision"] == pytest.approx(vh_metrics.mmit_mean_average_precision(scores, many_hot))


def test_ar_an_module_matches_evaluate_activitynet():
    rng = np.random.default_rng(1)
    predictions, references, results, infos = [], [], [], []
    for v in range(6):
        gts = [[s, s + 5 + 10 * rng.random()] for s in rng.random(2) * 40]
        props = [[s, s + 3 + 15 * rng.random()] for s in rng.random(12) * 50]
        scores = rng.random(12).tolist()
        predictions.append({"segments": props, "scores": scores})
        references.append({"segments": gts})
        infos.append({"video_name": f"v_{v}", "annotations": [{"segment": g, "label": "x"} for g in gts]})
        results.append({"video_name": f"v_{v}",
                        "proposal_list": [{"segment": p, "score": s} for p, s in zip(props, scores)]})
    module = vh_metrics.load("ar_an")
    out = module.compute(predictions=predictions, references=references, max_avg_proposals=10)
    expected = vh_metrics.evaluate_activitynet(results, infos, metric_options={"AR@AN": {"max_avg_proposals": 10}})
    assert out == pytest.approx({k: float(v) for k, v in expected.items()})
    assert 0 < out["AR@100"] < 1


def test_ava_map_module_matches_evaluate_ava(tmp_path):
    rng = np.random.default_rng(2)
    gt_rows, det_rows, predictions, references = [], [], [], []
    for frame in range(8):
        boxes = [sorted(np.round(rng.random(2), 3)) + sorted(np.round(rng.random(2), 3)) for _ in range(2)]
        boxes = [[b[0], b[2], b[1], b[3]] for b in boxes]  # x1, y1, x2, y2
        labels = rng.integers(1, 4, 2).tolist()
        det_boxes = boxes + [np.round(rng.random(4) * 0.5 + [0, 0, 0.5, 0.5], 3).tolist()]
        det_labels = labels[:1] + rng.integers(1, 4, 2).tolist()
        det_scores = np.round(rng.random(3), 3).tolist()
        ts = 902 + frame
        references.append({"video_id": "vid", "timestamp": ts, "bboxes": boxes, "labels": labels})
        predictions.append({"bboxes": det_boxes, "labels": det_labels, "scores": det_scores})
        gt_rows += [["vid", ts, *b, lab] for b, lab in zip(boxes, labels)]
        det_rows += [["vid", ts, *b, lab, s] for b, lab, s in zip(det_boxes, det_labels, det_scores)]
    label_file = tmp_path / "labels.pbtxt"
    label_file.write_text("".join(f'item {{\n  name: "a{i}"\n  id: {i}\n}}\n' for i in (1, 2, 3)))
    ann_file = tmp_path / "gt.csv"
    ann_file.write_text("".join(",".join(map(str, row)) + "\n" for row in gt_rows))
    exclude_file = tmp_path / "excluded.csv"
    exclude_file.write_text("vid,0903\n")
    expected = vh_metrics.evaluate_ava(det_rows, str(ann_file), str(exclude_file), str(label_file))
    module = vh_metrics.load("ava_map")
    out = module.compute(predictions=predictions, references=references, label_file=str(label_file),
                         exclude_file=str(exclude_file))
    assert out["mAP@0.5IOU"] == pytest.approx(float(expected["mAP@0.5IOU"]))
    assert 0 < out["mAP@0.5IOU"] < 1

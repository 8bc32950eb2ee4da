"""Dataset ``evaluate`` / ``dump_results`` functions (BaseDataset, ActivityNet, SSN, HVU semantics)."""

import csv
import json
import pickle

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from videohub.errors import AnnotationError, ConfigError, ShapeError
from videohub.localization import temporal_nms
from videohub.metrics import (ActivityNetLocalization, average_recall_at_avg_proposals, dump_activitynet_results,
                              dump_results, evaluate_activitynet, evaluate_hvu, evaluate_recognition, evaluate_ssn,
                              mean_class_accuracy, proposals2json, top_k_accuracy)
from videohub.metrics.dataset_evaluation import ssn_ground_truths, ssn_results_to_detections


def test_evaluate_recognition_single_label():
    rng = np.random.default_rng(0)
    results = list(rng.random((50, 6)))
    labels = rng.integers(0, 6, 50).tolist()
    out = evaluate_recognition(results, labels, ["top_k_accuracy", "mean_class_accuracy"])
    assert list(out) == ["top1_acc", "top5_acc", "mean_class_accuracy"]
    assert out["top5_acc"] == top_k_accuracy(results, labels, (5,))[0]
    assert out["mean_class_accuracy"] == mean_class_accuracy(results, labels)
    options = {"top_k_accuracy": {"topk": 3}}
    assert list(evaluate_recognition(results, labels, metric_options=options)) == ["top3_acc"]
    assert options == {"top_k_accuracy": {"topk": 3}}  # the caller's options are not modified
    one_hot_map = evaluate_recognition(results, labels, "mean_average_precision", num_classes=6)
    per_class = [average_precision_score(np.asarray(labels) == c, np.asarray(results)[:, c]) for c in range(6)]
    assert one_hot_map["mean_average_precision"] == pytest.approx(np.mean(per_class))


def test_evaluate_recognition_multi_label_and_errors():
    results = [np.array([0.9, 0.1, 0.8]), np.array([0.2, 0.7, 0.1])]
    labels = [[0, 2], [1]]
    out = evaluate_recognition(results, labels, ("mean_average_precision", "mmit_mean_average_precision"),
                               multi_class=True, num_classes=3)
    assert out == {"mean_average_precision": 1.0, "mmit_mean_average_precision": 1.0}
    with pytest.raises(ConfigError, match="multi_class"):
        evaluate_recognition(results, labels, "top_k_accuracy", multi_class=True, num_classes=3)
    with pytest.raises(ConfigError, match="num_classes"):
        evaluate_recognition(results, labels, "mean_average_precision", multi_class=True)
    with pytest.raises(ConfigError, match="metric 'top1' is not supported"):
        evaluate_recognition(results, [0, 1], "top1")
    with pytest.raises(ShapeError, match="2 != 3"):
        evaluate_recognition(results, [0, 1, 1])


def _anet_data():
    video_infos = [
        {"video_name": "v_a", "annotations": [{"segment": [0.0, 10.0], "label": "run"},
                                              {"segment": [20.0, 30.0], "label": "jump"}]},
        {"video_name": "v_b", "annotations": [{"segment": [5.0, 15.0], "label": "run"}]},
    ]
    results = [
        {"video_name": "v_a", "proposal_list": [{"segment": [0.0, 10.0], "score": 0.9, "label": "run"},
                                                {"segment": [21.0, 30.0], "score": 0.8, "label": "jump"},
                                                {"segment": [40.0, 50.0], "score": 0.1, "label": "run"}]},
        {"video_name": "v_b", "proposal_list": [{"segment": [0.0, 10.0], "score": 0.7, "label": "run"}]},
    ]
    return results, video_infos


def test_evaluate_activitynet_ar_an_and_auc():
    results, video_infos = _anet_data()
    out = evaluate_activitynet(results, video_infos)
    assert list(out) == ["auc", "AR@1", "AR@5", "AR@10", "AR@100"]
    gt = {"a": np.array([[0.0, 10.0], [20.0, 30.0]]), "b": np.array([[5.0, 15.0]])}
    props = {"a": np.array([[0.0, 10.0, 0.9], [21.0, 30.0, 0.8], [40.0, 50.0, 0.1]]), "b": np.array([[0, 10, 0.7]])}
    recall, _, _, auc = average_recall_at_avg_proposals(gt, props, 4, max_avg_proposals=100)
    assert out["auc"] == auc
    assert out["AR@100"] == np.mean(recall[:, 99])
    # 2 of the 3 instances are found (IoU 1 and 0.9); b's proposal has IoU 1/3 < 0.5. IoUs are float32
    # as in mmaction2, so 0.9 is just below the 0.9 threshold.
    iou = np.float32(0.9)
    assert out["AR@100"] == pytest.approx(np.mean([(1 + (iou >= t)) / 3 for t in np.linspace(0.5, 0.95, 10)]))
    assert evaluate_activitynet(results, video_infos, "AUC") == {"auc": auc}
    with pytest.raises(ShapeError, match="number of videos"):
        evaluate_activitynet(results[:1], video_infos)
    with pytest.raises(AnnotationError, match="results\\[1\\] is malformed"):
        evaluate_activitynet([results[0], {"video_name": "v_b", "proposals": []}], video_infos)


def test_evaluate_activitynet_map_matches_activitynet_localization(tmp_path):
    results, video_infos = _anet_data()
    thresholds = np.array([0.3, 0.5, 0.95])
    out = evaluate_activitynet(results, video_infos, "mAP", {"mAP": {"temporal_iou_thresholds": thresholds}})
    gt_path, pred_path = tmp_path / "gt.json", tmp_path / "pred.json"
    gt_path.write_text(json.dumps({info["video_name"]: info for info in video_infos}))
    dump_activitynet_results(results, str(pred_path), "json")
    mean_ap, average = ActivityNetLocalization(str(gt_path), str(pred_path), thresholds).evaluate()
    assert [out[f"mAP@{t:.2f}"] for t in thresholds] == pytest.approx(mean_ap.tolist())
    assert out["average_mAP"] == pytest.approx(average)
    # run: 0.9 TP, 0.7 (IoU 1/3) TP only at 0.3, 0.1 FP; jump: IoU 0.9
    assert out["mAP@0.50"] == pytest.approx((0.5 + 1.0) / 2)
    no_label = [{"video_name": "v_a", "proposal_list": [{"segment": [0, 1], "score": 1.0}]},
                {"video_name": "v_b", "proposal_list": []}]
    with pytest.raises(AnnotationError, match="needs a 'label'"):
        evaluate_activitynet(no_label, video_infos, "mAP")


def test_proposals2json_and_dumps(tmp_path):
    results, video_infos = _anet_data()
    converted = proposals2json(results, video_infos, show_progress=True)
    assert list(converted) == ["a", "b"] and converted["b"] == results[1]["proposal_list"]
    with pytest.raises(AnnotationError, match="'v_b' is not in video_infos"):
        proposals2json(results, video_infos[:1])

    out = tmp_path / "anet.json"
    dump_activitynet_results(results, str(out), "json")
    dumped = json.loads(out.read_text())
    assert dumped["version"] == "VERSION 1.3" and dumped["results"] == converted
    tem = [("v_a", np.arange(10, dtype=float).reshape(2, 5))]
    dump_activitynet_results(tem, str(tmp_path / "tem"), "csv")
    lines = (tmp_path / "tem" / "v_a.csv").read_text().splitlines()
    assert lines[0] == "action,start,end,tmin,tmax" and len(lines) == 3
    with pytest.raises(ConfigError, match="'xml'"):
        dump_activitynet_results(results, str(out), "xml")

    data = [np.array([0.5, 0.25]), np.array([1.0, 2.0])]
    dump_results(data, str(tmp_path / "r.json"))
    assert json.loads((tmp_path / "r.json").read_text()) == [[0.5, 0.25], [1.0, 2.0]]
    dump_results(data, str(tmp_path / "r.pkl"))
    with open(tmp_path / "r.pkl", "rb") as f:  # our own file, just written
        np.testing.assert_array_equal(pickle.load(f), data)
    dump_results(data, str(tmp_path / "r.csv"))
    with open(tmp_path / "r.csv", newline="") as f:
        assert [[float(x) for x in row] for row in csv.reader(f)] == [[0.5, 0.25], [1.0, 2.0]]
    with pytest.raises(ConfigError, match="extension"):
        dump_results(data, str(tmp_path / "r.txt"))
    with pytest.raises(ConfigError, match="results\\[0\\] is a dict"):
        dump_results([{"a": 1}], str(tmp_path / "d.csv"))


def test_evaluate_hvu():
    categories, nums = ["action", "scene"], [3, 2]
    results = [np.array([0.9, 0.1, 0.3, 0.2, 0.8]), np.array([0.2, 0.7, 0.6, 0.9, 0.1]),
               np.array([0.4, 0.3, 0.8, 0.5, 0.4])]
    gt = [{"action": [0], "scene": [1]}, {"action": [1, 2]}, {"scene": [0]}]
    out = evaluate_hvu(results, gt, categories, nums)
    action_truth = np.array([[1, 0, 0], [0, 1, 1]])
    action_scores = np.array([results[0][:3], results[1][:3]])
    expected_action = np.mean([average_precision_score(action_truth[:, c], action_scores[:, c])
                               for c in range(3)])
    assert out["action_mAP"] == pytest.approx(expected_action)
    # scene: videos 0 and 2; class 0 positive in video 2 (0.5 vs 0.2), class 1 in video 0 (0.8 vs 0.4)
    assert out["scene_mAP"] == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="mean_average_precision"):
        evaluate_hvu(results, gt, categories, nums, metrics="top_k_accuracy")
    with pytest.raises(ShapeError, match="expected \\[num_videos, 5\\]"):
        evaluate_hvu([r[:4] for r in results], gt, categories, nums)
    with pytest.raises(ShapeError, match="'scene' tag index is outside the 2 tags"):
        evaluate_hvu(results, [{"scene": [2]}, {}, {}], categories, nums)


class _Instance:
    def __init__(self, start_frame, end_frame, label):
        self.start_frame, self.end_frame, self.label = start_frame, end_frame, label


def _ssn_case(good_first):
    """One video of 100 frames, one class, ground truth frames 10..50."""
    proposals = np.array([[0.1, 0.5], [0.6, 0.9]], np.float32)
    completeness = np.array([[2.0], [1.0]] if good_first else [[1.0], [2.0]], np.float32)
    result = {"relative_proposal_list": proposals, "activity_scores": np.zeros((2, 2), np.float32),
              "completeness_scores": completeness, "bbox_preds": np.zeros((2, 1, 2), np.float32)}
    infos = [{"video_id": "video_1", "total_frames": 100, "gts": [_Instance(10, 50, 1)]}]
    return [result], infos


def test_evaluate_ssn_hand_worked():
    results, infos = _ssn_case(good_first=True)
    out = evaluate_ssn(results, infos)
    assert list(out) == [f"mAP@{t:.2f}" for t in np.arange(0.1, 1.0, 0.1)]
    assert all(v == pytest.approx(1.0) for v in out.values())
    # the wrong proposal ranked first: FP then TP -> AP 0.5 at every tIoU
    results, infos = _ssn_case(good_first=False)
    assert all(v == pytest.approx(0.5) for v in evaluate_ssn(results, infos).values())
    with pytest.raises(ConfigError, match="eval_dataset"):
        evaluate_ssn(results, infos, metric_options={"mAP": {"eval_dataset": "anet"}})


def test_ssn_results_to_detections_against_loop():
    rng = np.random.default_rng(4)
    results, infos = [], []
    for v in range(3):
        n = 6
        results.append({"relative_proposal_list": np.sort(rng.random((n, 2)), axis=1).astype(np.float32),
                        "activity_scores": rng.normal(size=(n, 4)).astype(np.float32),
                        "completeness_scores": rng.normal(size=(n, 3)).astype(np.float32),
                        "bbox_preds": rng.normal(size=(n, 3, 2)).astype(np.float32) * 0.1})
        infos.append({"video_id": f"vid{v}", "total_frames": 50, "gts": [{"start_frame": 5, "end_frame": 20,
                                                                            "label": v % 3 + 1}]})
    detections = ssn_results_to_detections(results, infos, top_k=7)
    for info, result in zip(infos, results):  # mmaction2's per-item loop
        act = result["activity_scores"][:, 1:]
        combined = np.exp(act) / np.exp(act).sum(1, keepdims=True) * np.exp(result["completeness_scores"])
        expected = {}
        for k in np.argsort(combined.ravel())[-7:]:
            p, c = k // 3, k % 3
            row = [*result["relative_proposal_list"][p], combined[p, c], *result["bbox_preds"][p, c]]
            expected.setdefault(c, []).append(row)
        for c in range(3):
            if c in expected:
                np.testing.assert_allclose(detections[c][info["video_id"]], expected[c], rtol=1e-6)
            else:
                assert info["video_id"] not in detections[c]
    all_kept = ssn_results_to_detections(results, infos, top_k=0)
    assert all(all_kept[c]["vid0"].shape == (6, 5) for c in range(3))
    assert ssn_ground_truths(infos)[1] == {"vid1": [[0.1, 0.4]]}
    # nms keeps at most as many rows as given
    assert temporal_nms(detections[0]["vid0"], 0.2).shape[1] == 5

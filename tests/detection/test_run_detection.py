"""examples/run_detection.py on a synthetic AVA-format set: training raises frame mAP well above the
untrained model; the results file, the saved model, resumption and 2-process evaluation counts."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

import videohub
from videohub.data.synthetic import AVA_ACTIONS, make_ava_dataset

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "run_detection.py")
# SlowOnly-18 with 8 base channels and spatial stride 8 (a 4 x 4 feature map of 32 x 32 frames)
TINY = json.dumps({"backbone": {"depth": 18, "base_channels": 8, "spatial_strides": [1, 2, 1, 1]},
                   "roi_head": {"bbox_head": {"in_channels": 64, "dropout_ratio": 0.0}}, "num_frames": 4})


@pytest.fixture(scope="module")
def ava_set(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("ava"))
    make_ava_dataset(root, videos=16, seconds=4, size=32, seed=0)
    return root


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("run_detection", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data(root, cache, *, train=True):
    args = ["--val_annotations", os.path.join(root, "val.csv"),
            "--val_proposals", os.path.join(root, "val_proposals.json"), "--data_root", os.path.join(root, "rawframes"),
            "--label_map", os.path.join(root, "labelmap.pbtxt"), "--timestamp_start", "0", "--timestamp_end", "4",
            "--cache_dir", str(cache), "--clip_len", "4", "--frame_interval", "4", "--short_side_size", "32",
            "--crop_size", "32", "--per_device_train_batch_size", "6", "--seed", "0"]
    if train:
        args += ["--train_annotations", os.path.join(root, "train.csv"),
                 "--proposals", os.path.join(root, "train_proposals.json")]
    return args


def test_help_lists_the_issue_arguments():
    proc = subprocess.run([sys.executable, EXAMPLE, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("--model_name_or_path", "--model_type", "--backbone", "--train_annotations", "--val_annotations",
                 "--proposals", "--data_root", "--label_map", "--output_dir", "--max_train_steps",
                 "--per_device_train_batch_size", "--learning_rate", "--seed", "--resume_from_checkpoint",
                 "--push_to_hub", "--custom_classes", "--person_det_score_thr", "--exclude_file"):
        assert name in proc.stdout, name


def test_synthetic_set_is_ava_format(ava_set):
    from videohub.data import load_dataset

    ds = load_dataset("ava", os.path.join(ava_set, "train.csv"), data_prefix=os.path.join(ava_set, "rawframes"),
                      proposal_file=os.path.join(ava_set, "train_proposals.json"), num_classes=len(AVA_ACTIONS) + 1,
                      label_file=os.path.join(ava_set, "labelmap.pbtxt"), timestamp_start=0, timestamp_end=4)
    assert len(ds) == 12 * 3  # 12 training videos, key frames at seconds 1..3
    row = ds[0]
    assert len(row["gt_bboxes"]) == 2 and len(row["proposals"]) == 3  # the 0.3-score proposal is dropped
    for labels in row["gt_labels"]:
        assert sum(labels[1:5]) == 1  # exactly one colour per actor


@pytest.fixture(scope="module")
def trained(ava_set, example, tmp_path_factory):
    """``(root, before, after)``: the untrained model's evaluation and a 30-step run (checkpoint at 15)."""
    import torch

    root = tmp_path_factory.mktemp("runs")
    untrained_dir = root / "untrained"
    args = example.parse_args(_data(ava_set, root / "cache") + ["--output_dir", str(untrained_dir),
                                                                 "--config_overrides", TINY])
    torch.manual_seed(0)
    example.build_model(args, example.class_table(args)[0]).save_pretrained(untrained_dir)
    before = example.main(_data(ava_set, root / "cache", train=False)
                          + ["--model_name_or_path", str(untrained_dir), "--output_dir", str(root / "eval0")])
    after = example.main(_data(ava_set, root / "cache") + [
        "--output_dir", str(root / "out"), "--config_overrides", TINY, "--max_train_steps", "30",
        "--learning_rate", "0.05", "--logging_steps", "5", "--checkpointing_steps", "15"])
    return root, before, after


@pytest.mark.slow
def test_training_raises_frame_map_well_above_the_untrained_model(trained):
    root, before, after = trained
    out = root / "out"
    # 12 validation key frames with 3 person boxes each (the 0.3-score proposal is below person_det_score_thr)
    assert before["eval_samples"] == 12 and before["eval_boxes"] == 36
    assert after["eval_samples"] == 12 and after["completed_steps"] == 30
    assert after["eval_mAP@0.5IOU"] > before["eval_mAP@0.5IOU"] + 0.2, (before, after)
    assert after["eval_mAP@0.5IOU"] > 0.6, after
    with open(out / "all_results.json", encoding="utf-8") as f:
        saved = json.load(f)
    assert {"eval_mAP@0.5IOU", "train_loss", "eval_samples", "train_recall@thr=0.5"} <= set(saved)
    assert saved["eval_mAP@0.5IOU"] == pytest.approx(after["eval_mAP@0.5IOU"])
    model = videohub.AutoVideoModel.from_pretrained(str(out))
    assert type(model).__name__ == "AVAForSpatioTemporalActionDetection"
    assert model.config.id2label[1] == "red" and model.config.num_labels == 6
    assert os.path.isdir(out / "step_15") and os.path.isdir(out / "step_30")


@pytest.mark.slow
def test_resuming_reaches_the_uninterrupted_weights(trained, ava_set, example):
    import shutil

    import torch

    root, _, after = trained
    resumed_out = root / "resumed"
    shutil.copytree(root / "out" / "step_15", resumed_out / "step_15")
    (resumed_out / "latest").write_text("step_15\n")
    resumed = example.main(_data(ava_set, root / "cache") + [
        "--output_dir", str(resumed_out), "--config_overrides", TINY, "--max_train_steps", "30",
        "--learning_rate", "0.05", "--logging_steps", "5", "--resume_from_checkpoint", "latest"])
    assert resumed["eval_mAP@0.5IOU"] == pytest.approx(after["eval_mAP@0.5IOU"], abs=1e-6)
    model = videohub.AutoVideoModel.from_pretrained(str(root / "out"))
    reloaded = videohub.AutoVideoModel.from_pretrained(str(resumed_out))
    for (name, a), b in zip(model.state_dict().items(), reloaded.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), name


@pytest.mark.slow
@pytest.mark.skipif(sys.platform.startswith("win"), reason="torchrun over gloo")
def test_two_processes_evaluate_every_key_frame_once(trained, ava_set):
    root, _, after = trained
    argv = [os.path.join(os.path.dirname(sys.executable), "torchrun"), "--standalone", "--nproc_per_node", "2", EXAMPLE,
            *_data(ava_set, root / "cache", train=False), "--model_name_or_path", str(root / "out"),
            "--output_dir", str(root / "eval2"), "--per_device_eval_batch_size", "2"]
    proc = subprocess.run(argv, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(root / "eval2" / "all_results.json", encoding="utf-8") as f:
        two = json.load(f)
    assert two["eval_samples"] == 12 and two["eval_boxes"] == 36
    assert two["eval_mAP@0.5IOU"] == pytest.approx(after["eval_mAP@0.5IOU"], abs=1e-6)

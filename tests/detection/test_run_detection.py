"""examples/run_detection.py on a synthetic AVA-format set: training raises frame mAP well above the
untrained model; the results file, best_model, the saved model, resumption, 2-process evaluation
counts, the long-term feature bank workflow (write, read back, FBO training) and the Hub push."""

from __future__ import annotations

import importlib.util
import json
import math
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
                 "--push_to_hub", "--custom_classes", "--person_det_score_thr", "--exclude_file", "--write_feature_bank",
                 "--lfb_dir", "--fbo_type", "--lfb_device", "--save_best"):
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
        "--learning_rate", "0.05", "--logging_steps", "5", "--checkpointing_steps", "15", "--eval_steps", "15"])
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
    # best_model/ + best.json: the better of the evaluations at steps 15 and 30 (the final one)
    best = json.loads((out / "best.json").read_text())
    assert best["metric"] == "eval_mAP@0.5IOU" and best["best_step"] in (15, 30)
    assert best["best_score"] >= after["eval_mAP@0.5IOU"] and after["best_score"] == best["best_score"]
    assert (best["best_step"] == 30) == (best["best_score"] == after["eval_mAP@0.5IOU"])
    import torch
    from safetensors.torch import load_file

    best_weights = load_file(str(out / "best_model" / "model.safetensors"))
    source = out if best["best_step"] == 30 else out / "step_15"
    for key, value in load_file(str(source / "model.safetensors")).items():
        assert torch.equal(best_weights[key], value), key


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
        "--learning_rate", "0.05", "--logging_steps", "5", "--eval_steps", "15", "--resume_from_checkpoint", "latest"])
    assert resumed["eval_mAP@0.5IOU"] == pytest.approx(after["eval_mAP@0.5IOU"], abs=1e-6)
    assert resumed["train_loss"] == pytest.approx(after["train_loss"], rel=1e-5)
    # the step-15 evaluation is in the checkpoint, so the resumed run picks the same best step
    assert (resumed["best_step"], resumed["best_score"]) == pytest.approx((after["best_step"], after["best_score"]))
    model = videohub.AutoVideoModel.from_pretrained(str(root / "out"))
    reloaded = videohub.AutoVideoModel.from_pretrained(str(resumed_out))
    for (name, a), b in zip(model.state_dict().items(), reloaded.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), name


@pytest.mark.slow
@pytest.mark.skipif(sys.platform.startswith("win"), reason="torchrun over gloo")
def test_two_processes_train_and_evaluate_like_one(trained, ava_set, example):
    """torchrun, 2 CPU processes over gloo (as tests/examples/test_run_recognition.py): 2 DDP steps from the
    trained model, then an evaluation whose key frames, boxes and mAP equal one process's on the saved model."""
    root = trained[0]
    argv = [os.path.join(os.path.dirname(sys.executable), "torchrun"), "--standalone", "--nproc_per_node", "2", EXAMPLE,
            *_data(ava_set, root / "cache"), "--model_name_or_path", str(root / "out"), "--max_train_steps", "2",
            "--per_device_train_batch_size", "3", "--learning_rate", "0.01", "--output_dir", str(root / "two"),
            "--per_device_eval_batch_size", "2"]
    proc = subprocess.run(argv, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "6 clips per step (2 processes)" in proc.stderr
    with open(root / "two" / "all_results.json", encoding="utf-8") as f:
        two = json.load(f)
    assert two["completed_steps"] == 2 and math.isfinite(two["train_loss"])
    assert two["eval_samples"] == 12 and two["eval_boxes"] == 36  # every key frame once, 6 per process
    assert json.loads((root / "two" / "best.json").read_text())["best_step"] == 2
    # one process on the weights (and BN statistics) the two processes saved
    one = example.main(_data(ava_set, root / "cache", train=False) + [
        "--model_name_or_path", str(root / "two"), "--output_dir", str(root / "two_eval1")])
    assert (one["eval_samples"], one["eval_boxes"]) == (two["eval_samples"], two["eval_boxes"])
    assert one["eval_mAP@0.5IOU"] == pytest.approx(two["eval_mAP@0.5IOU"], abs=1e-6)


# ---------------------------------------------------------------------------------- long-term feature bank
@pytest.fixture(scope="module")
def bank(trained, ava_set, example):
    """``(directory, results)``: the bank the trained detector writes with --write_feature_bank (1 process)."""
    root = trained[0]
    results = example.main(_data(ava_set, root / "cache") + ["--model_name_or_path", str(root / "out"),
                                                              "--write_feature_bank", str(root / "bank")])
    return root / "bank", results


def _val_batch(example, ava_set, cache):
    """The first 6 validation key frames as the example's evaluation feeds them to the model."""
    from videohub.data import make_transform
    from videohub.data.datasets.ava import AVACollator

    args = example.parse_args(_data(ava_set, cache, train=False)
                              + ["--model_name_or_path", "unused", "--output_dir", "unused"])
    raw = example.load_raw(args.val_annotations, args.val_proposals, None, 6, args, True)
    data = raw.with_transform(make_transform(example.pipelines(args, 4, 4)["val"]))
    return AVACollator()([data[i] for i in range(6)])


@pytest.mark.slow
def test_feature_bank_holds_the_pooled_roi_features_of_every_key_frame(trained, bank, ava_set, example):
    import torch

    from videohub.models.ava import load_lfb

    root = trained[0]
    bank_dir, results = bank
    # every key frame of both sets (the training set in test mode: no exclusion), 3 proposals each
    assert results == {"lfb_train_key_frames": 36, "lfb_train_boxes": 108, "lfb_val_key_frames": 12,
                       "lfb_val_boxes": 36, "lfb_channels": 64}
    assert sorted(os.listdir(bank_dir)) == ["lfb_train.safetensors", "lfb_val.safetensors"]
    for mode in ("train", "val"):
        stored = load_lfb(str(bank_dir / f"lfb_{mode}.safetensors"))
        with open(os.path.join(ava_set, f"{mode}.csv"), encoding="utf-8") as f:
            key_frames = {(line.split(",")[0], int(line.split(",")[1])) for line in f if line.strip()}
        assert {(video, sec) for video, secs in stored.items() for sec in secs} == key_frames
        assert all(len(feats) == 3 and feats[0].shape == (64,) and feats[0].dtype == torch.float16
                   for secs in stored.values() for feats in secs.values())
    # the stored values are the detector's RoI features, pooled by hand (mean over time, max over space)
    model = videohub.AutoVideoModel.from_pretrained(str(root / "out")).eval()
    batch = _val_batch(example, ava_set, root / "cache")
    rois = torch.cat([torch.cat([torch.full((len(b), 1), float(i)), b], 1) for i, b in enumerate(batch["boxes"])])
    with torch.no_grad():
        feat = model.backbone(batch["pixel_values"].transpose(1, 2))
        roi_feats, _ = model.roi_head.bbox_roi_extractor(feat, rois)
    pooled = roi_feats.mean(dim=2).amax(dim=(2, 3))
    val = load_lfb(str(bank_dir / "lfb_val.safetensors"))
    for row, index in zip(pooled, rois[:, 0].long().tolist()):
        video, second = batch["img_metas"][index]["img_key"].split(",")
        assert any(torch.allclose(row.half().float(), f.float(), rtol=2e-3, atol=2e-3) for f in val[video][int(second)])
    first = batch["img_metas"][0]["img_key"].split(",")
    torch.testing.assert_close(torch.stack(val[first[0]][int(first[1])]).float(), pooled[:3].half().float(),
                               rtol=2e-3, atol=2e-3)  # one key frame's boxes in proposal order


@pytest.fixture(scope="module")
def fbo_run(trained, bank, ava_set, example):
    """``(output_dir, results)``: a new non_local FBO model trained 4 steps on the bank (stops mid-epoch)."""
    root = trained[0]
    out = root / "fbo"
    results = example.main(_data(ava_set, root / "cache") + [
        "--output_dir", str(out), "--config_overrides", TINY, "--max_train_steps", "4", "--learning_rate", "0.05",
        "--lfb_dir", str(bank[0]), "--lfb_window_size", "3", "--lfb_max_num_sampled_feat", "3",
        "--fbo_latent_channels", "16"])
    return out, results


@pytest.mark.slow
def test_fbo_model_trains_and_evaluates_on_the_bank(fbo_run, bank, trained, ava_set, example):
    out, results = fbo_run
    assert results["completed_steps"] == 4 and results["eval_samples"] == 12 and results["eval_boxes"] == 36
    assert 0.0 < results["eval_mAP@0.5IOU"] <= 1.0 and math.isfinite(results["train_loss"])
    # the run stops inside an epoch (6 batches): its final evaluation is the best model
    assert json.loads((out / "best.json").read_text())["best_step"] == 4 and (out / "best_model").is_dir()
    config = json.loads((out / "config.json").read_text())
    shared = config["roi_head"]["shared_head"]
    assert shared["type"] == "FBOHead" and shared["fbo_cfg"]["type"] == "non_local"
    assert shared["fbo_cfg"]["num_lt_feat"] == 9 and shared["lfb_cfg"]["lfb_channels"] == 64
    assert config["roi_head"]["bbox_head"]["in_channels"] == 64 + 16
    # evaluating the saved model on the bank (--lfb_dir) reproduces the run's evaluation: with 3
    # features per second and K = 3 the sampling only permutes the bank, which non_local ignores
    again = example.main(_data(ava_set, trained[0] / "cache", train=False) + [
        "--model_name_or_path", str(out), "--lfb_dir", str(bank[0]), "--output_dir", str(trained[0] / "fbo_eval")])
    assert again["eval_mAP@0.5IOU"] == pytest.approx(results["eval_mAP@0.5IOU"], abs=1e-6)


@pytest.mark.slow
def test_fbo_outputs_follow_the_bank(fbo_run, bank, trained, ava_set, example, tmp_path):
    import numpy as np
    import torch
    from safetensors.torch import load_file, save_file

    out, _ = fbo_run
    edited, same = tmp_path / "edited", tmp_path / "same"
    for directory, scale in ((edited, -3.0), (same, 1.0)):
        directory.mkdir()
        for mode in ("train", "val"):
            tensors = load_file(str(bank[0] / f"lfb_{mode}.safetensors"))
            save_file({k: (v.float() * scale).half() for k, v in tensors.items()}, str(directory / f"lfb_{mode}.safetensors"))
    batch = _val_batch(example, ava_set, trained[0] / "cache")

    def logits(bank_dir):
        args = example.parse_args(_data(ava_set, trained[0] / "cache", train=False) + [
            "--model_name_or_path", str(out), "--lfb_dir", str(bank_dir), "--output_dir", "unused"])
        model = example.build_model(args, example.class_table(args)[0]).eval()
        assert model.roi_head.shared_head.lfb.lfb_prefix_path == str(bank_dir)
        np.random.seed(0)
        with torch.no_grad():
            return model(pixel_values=batch["pixel_values"], boxes=batch["boxes"], img_metas=batch["img_metas"]).logits

    reference = logits(bank[0])
    torch.testing.assert_close(logits(same), reference, rtol=0, atol=0)
    assert (logits(edited) - reference).abs().max() > 1e-3


@pytest.mark.slow
@pytest.mark.skipif(sys.platform.startswith("win"), reason="torchrun over gloo")
def test_two_processes_write_the_same_bank(trained, bank, ava_set):
    import torch

    from videohub.models.ava import load_lfb

    root = trained[0]
    argv = [os.path.join(os.path.dirname(sys.executable), "torchrun"), "--standalone", "--nproc_per_node", "2", EXAMPLE,
            *_data(ava_set, root / "cache"), "--model_name_or_path", str(root / "out"),
            "--write_feature_bank", str(root / "bank2"), "--per_device_eval_batch_size", "4"]
    proc = subprocess.run(argv, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(os.listdir(root / "bank2")) == ["lfb_train.safetensors", "lfb_val.safetensors"]  # parts merged
    for mode in ("train", "val"):
        one = load_lfb(str(bank[0] / f"lfb_{mode}.safetensors"))
        two = load_lfb(str(root / "bank2" / f"lfb_{mode}.safetensors"))
        assert {v: sorted(s) for v, s in one.items()} == {v: sorted(s) for v, s in two.items()}
        for video, seconds in one.items():
            for sec, feats in seconds.items():
                torch.testing.assert_close(torch.stack(two[video][sec]).float(), torch.stack(feats).float(),
                                           rtol=2e-3, atol=2e-3)


@pytest.mark.slow
def test_push_to_hub_uploads_the_model_and_a_card_with_the_map(trained, ava_set, example, tmp_path):
    import torch
    from huggingface_hub import HfApi
    from safetensors.torch import load_file

    from videohub.hub import local_hub

    root = trained[0]
    with local_hub(str(tmp_path / "hub"), token="test-token"):
        results = example.main(_data(ava_set, root / "cache", train=False) + [
            "--model_name_or_path", str(root / "out"), "--output_dir", str(tmp_path / "push"), "--push_to_hub",
            "--hub_model_id", "org/ava-synthetic", "--dataset_name", "synthetic-ava"])
        files = set(HfApi().list_repo_files("org/ava-synthetic"))
        pushed = videohub.AutoVideoModel.from_pretrained("org/ava-synthetic", cache_dir=str(tmp_path / "hf"))
        card = open(HfApi().hf_hub_download("org/ava-synthetic", "README.md", cache_dir=str(tmp_path / "hf"))).read()
    assert {"model.safetensors", "config.json", "README.md"} <= files
    local = load_file(str(tmp_path / "push" / "model.safetensors"))
    for key, value in pushed.state_dict().items():
        torch.testing.assert_close(value, local[key], rtol=0, atol=0)
    assert "synthetic-ava" in card and "mAP@0.5IOU" in card
    assert f"value: {results['eval_mAP@0.5IOU']}" in card


def test_lfb_mistakes_are_one_line_errors(ava_set, example, tmp_path, capsys):
    empty = tmp_path / "no_bank"
    empty.mkdir()
    code = example.cli(_data(ava_set, tmp_path / "cache") + ["--output_dir", str(tmp_path / "o"), "--config_overrides",
                                                              TINY, "--lfb_dir", str(empty), "--max_train_steps", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (f"run_detection.py: error: --lfb_dir {str(empty)!r} holds neither lfb_train.safetensors nor "
                       "lfb_val.safetensors; write them with --write_feature_bank")
    with pytest.raises(SystemExit):
        example.parse_args(["--write_feature_bank", str(empty), "--val_annotations", "v.csv", "--proposals", "p.json"])
    assert "--write_feature_bank needs --model_name_or_path" in capsys.readouterr().err

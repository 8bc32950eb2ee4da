"""examples/run_recognition.py --modality pose on synthetic skeletons ("wave" vs "still"): ST-GCN learns, 2 processes.

The skeleton sets come from :func:`videohub.data.synthetic.make_skeleton_dataset`: one COCO-17
person per sample; class "wave" swings the left arm, class "still" holds it. Chance is 0.5.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.torch import load_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "run_recognition.py")
FRAMES = 16
# an ST-GCN over one person (the synthetic samples have one), trained for a few dozen steps
STGCN_RUN = ["--modality", "pose", "--arch", "stgcn", "--config_overrides", '{"cls_head": {"num_person": 1}}',
             "--num_frames", str(FRAMES), "--optimizer", "AdamW", "--learning_rate", "0.001", "--seed", "0",
             "--save_best", "none"]


@pytest.fixture(scope="module")
def skeletons(tmp_path_factory):
    """48 training and 16 validation samples as .npz, the same as .pkl, and a 15-sample .pkl validation set."""
    from videohub.data.datasets.pose import read_pose_annotations, write_pose_annotations
    from videohub.data.synthetic import make_skeleton_dataset

    root = tmp_path_factory.mktemp("skeletons")
    make_skeleton_dataset(str(root), samples_per_class=32, num_frames=32, seed=0, file_format="npz")
    make_skeleton_dataset(str(root), samples_per_class=32, num_frames=32, seed=0, file_format="pkl")
    write_pose_annotations(read_pose_annotations(str(root / "val.pkl"))[:15], str(root / "val15.pkl"))
    return root


def _paths(root, train, val, out):
    return ["--train_annotations", str(root / train), "--val_annotations", str(root / val),
            "--label_file", str(root / "labels.txt"), "--output_dir", str(out), "--cache_dir", str(out.parent / "cache")]


def _training_inputs(path):
    """The ST-GCN inputs of the training set as the pose pipeline builds them: frames 0..15, PoseNormalize."""
    from videohub.data.datasets.pose import read_pose_annotations

    samples = read_pose_annotations(path)
    xy = np.stack([s["keypoint"][0, :FRAMES] for s in samples])  # (N, T, V, 2)
    score = np.stack([s["keypoint_score"][0, :FRAMES] for s in samples])[..., None]
    keypoints = np.concatenate([xy, score], axis=-1).astype(np.float64)
    return (keypoints - [960.0, 540.0, 0.5]) / [1920.0, 1080.0, 1.0]  # (N, T, V, C)


def test_precise_bn_default_covers_the_training_set(example):
    assert example.pose_precise_bn_iters(48, 8, 1) == 6
    assert example.pose_precise_bn_iters(48, 4, 2) == 6  # 24 samples per process
    assert example.pose_precise_bn_iters(49, 8, 2) == 4  # 25 per process: 3 full batches and one of 1
    assert example.pose_precise_bn_iters(5, 8, 2) == 1
    assert example.pose_precise_bn_iters(100000, 2, 1) == 200


def test_synthetic_files_hold_the_same_samples_and_the_wave_moves(skeletons):
    """The .npz (pickle-free) and .pkl files carry identical samples; only "wave" moves the left wrist."""
    from videohub.data.datasets.pose import read_pose_annotations

    npz, pkl = read_pose_annotations(str(skeletons / "train.npz")), read_pose_annotations(str(skeletons / "train.pkl"))
    assert len(npz) == len(pkl) == 48
    for a, b in zip(npz, pkl):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], np.ndarray):
                assert a[key].dtype == b[key].dtype == np.float32
                np.testing.assert_array_equal(a[key], b[key])
            else:
                assert a[key] == b[key], key
        assert a["keypoint"].shape == (1, 32, 17, 2) and a["keypoint_score"].shape == (1, 32, 17)
        # the left wrist relative to the left shoulder: swings by tens of pixels when waving, jitters otherwise
        spread = np.std(a["keypoint"][0, :, 9] - a["keypoint"][0, :, 5], axis=0).sum()
        assert (spread > 20) if a["label"] == 1 else (spread < 6), (a["frame_dir"], spread)


@pytest.mark.slow
def test_stgcn_learns_waving_vs_still(tmp_path, skeletons, example, fresh_accelerate):
    """24 AdamW steps (4 epochs of 6 batches of 8): ST-GCN separates the classes; BN statistics are precise."""
    out = tmp_path / "out"
    results = example.main(STGCN_RUN + _paths(skeletons, "train.npz", "val.npz", out)
                           + ["--per_device_train_batch_size", "8", "--num_train_epochs", "4",
                              "--precise_bn_interval", "4", "--eval_interval", "4"])
    assert results["completed_steps"] == 24
    assert results["eval_samples"] == 16
    assert results["eval_top1_acc"] >= 0.9, results  # chance is 0.5 (8 samples per class)
    # precise BN ran by default before the evaluation: the input BatchNorm's running mean is the plain mean
    # of the training inputs over 6 equal batches (a momentum average of 24 steps would differ)
    weights = load_file(str(out / "model.safetensors"))
    running_mean = weights["model.backbone.data_bn.running_mean"].double().numpy()
    expected = _training_inputs(skeletons / "train.npz").mean(axis=(0, 1)).reshape(-1)  # channel v * C + c
    np.testing.assert_allclose(running_mean, expected, rtol=1e-5, atol=1e-6)
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "still", "1": "wave"}


def test_a_run_ending_inside_an_epoch_evaluates_with_precise_bn(tmp_path, skeletons, example, fresh_accelerate):
    """3 steps of a 6-batch epoch: the final evaluation (and the saved model) still get precise BN statistics."""
    out = tmp_path / "out"
    results = example.main(STGCN_RUN + _paths(skeletons, "train.npz", "val.npz", out)
                           + ["--per_device_train_batch_size", "8", "--max_train_steps", "3"])
    assert results["completed_steps"] == 3 and results["eval_samples"] == 16
    weights = load_file(str(out / "model.safetensors"))
    running_mean = weights["model.backbone.data_bn.running_mean"].double().numpy()
    expected = _training_inputs(skeletons / "train.npz").mean(axis=(0, 1)).reshape(-1)
    np.testing.assert_allclose(running_mean, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_small_posec3d_learns_waving_vs_still_from_heatmaps(tmp_path, skeletons, example, fresh_accelerate):
    """PoseC3D (a 3-stage ResNet3dSlowOnly-18 of width 8) on 17 keypoint heatmaps of 32x32, 16 frames: 48 steps."""
    overrides = {"backbone": {"depth": 18, "base_channels": 8, "stage_blocks": [1, 1, 1], "in_channels": 17},
                 "cls_head": {"in_channels": 32, "dropout_ratio": 0.0}}
    out = tmp_path / "out"
    results = example.main(["--modality", "pose", "--arch", "posec3d", "--config_overrides", json.dumps(overrides),
                            "--num_frames", "16", "--crop_size", "32", "--optimizer", "AdamW", "--learning_rate", "0.003",
                            "--seed", "0", "--save_best", "none", *_paths(skeletons, "train.npz", "val.npz", out),
                            "--per_device_train_batch_size", "8", "--num_train_epochs", "8", "--precise_bn_interval", "8",
                            "--eval_interval", "8"])
    assert results["completed_steps"] == 48 and results["eval_samples"] == 16
    assert results["eval_top1_acc"] >= 0.9, results  # chance is 0.5
    weights = load_file(str(out / "model.safetensors"))
    assert weights["model.backbone.conv1.conv.weight"].shape[1] == 17  # one input channel per keypoint heatmap


@pytest.mark.slow
def test_two_processes_learn_and_evaluate_like_one(tmp_path, skeletons, example, fresh_accelerate):
    """torchrun, 2 CPU processes (4 clips each) on the pickle files: the gathered evaluation of an odd set
    counts every sample once and equals a 1-process evaluation of the saved model."""
    out = tmp_path / "out2"
    argv = [os.path.join(os.path.dirname(sys.executable), "torchrun"), "--standalone", "--nproc_per_node", "2",
            EXAMPLE, *STGCN_RUN, *_paths(skeletons, "train.pkl", "val15.pkl", out),
            "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "4", "--num_train_epochs", "4",
            "--precise_bn_interval", "4", "--eval_interval", "4", "--save_predictions"]
    proc = subprocess.run(argv, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "(2 processes)" in proc.stderr
    assert "precise BN: statistics recomputed over 6 batches per process" in proc.stderr
    two = json.loads((out / "all_results.json").read_text())
    assert two["completed_steps"] == 24
    assert two["eval_samples"] == 15  # 2 processes x 4 per batch = 16 slots, the padding sample dropped
    assert two["eval_top1_acc"] >= 0.9, two

    one = example.main(["--modality", "pose", "--model_name_or_path", str(out), "--num_frames", str(FRAMES),
                        "--val_annotations", str(skeletons / "val15.pkl"), "--label_file",
                        str(skeletons / "labels.txt"), "--output_dir", str(tmp_path / "one"), "--cache_dir",
                        str(tmp_path / "cache"), "--per_device_eval_batch_size", "3", "--save_predictions"])
    assert one["eval_samples"] == two["eval_samples"]
    assert one["eval_top1_acc"] == pytest.approx(two["eval_top1_acc"])
    gathered = json.loads((out / "eval_predictions.json").read_text())
    single = json.loads((tmp_path / "one" / "eval_predictions.json").read_text())
    assert gathered["labels"] == single["labels"] == [i % 2 for i in range(15)]  # dataset order, every sample once
    np.testing.assert_allclose(np.asarray(gathered["scores"]), np.asarray(single["scores"]), rtol=1e-4, atol=1e-5)

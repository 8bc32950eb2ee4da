"""Fixtures of the example tests: synthetic video sets, a tiny TSN recipe, the example as a module."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

EXAMPLE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "run_recognition.py"))
NORM = {"type": "Normalize", "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375], "to_bgr": False}
TAIL = [{"type": "FormatShape", "input_format": "NCHW"}, {"type": "Collect", "keys": ["imgs", "label"], "meta_keys": []}]

# A TSN with a 2-stage ResNet-18 on 32x32 frames: one random segment per training clip, three
# segments (averaged by the consensus) at evaluation. No flip: left/right are classes here.
TINY_RECIPE = {
    "model": {
        "model_type": "videohub-tsn",
        "backbone": {"type": "ResNet", "depth": 18, "num_stages": 2, "out_indices": [1], "strides": [1, 2],
                     "dilations": [1, 1], "norm_eval": False},
        "cls_head": {"type": "TSNHead", "in_channels": 128, "spatial_type": "avg",
                     "consensus": {"type": "AvgConsensus", "dim": 1}, "dropout_ratio": 0.4, "init_std": 0.01},
        "num_frames": 3,
    },
    "train_pipeline": [
        {"type": "PyAVInit"}, {"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": 1},
        {"type": "PyAVDecode"}, {"type": "RandomResizedCrop", "area_range": [0.7, 1.0]},
        {"type": "Resize", "scale": [32, 32], "keep_ratio": False}, NORM, *TAIL,
        {"type": "ToTensor", "keys": ["imgs", "label"]}],
    "val_pipeline": [
        {"type": "PyAVInit"}, {"type": "SampleFrames", "clip_len": 1, "frame_interval": 1, "num_clips": 3, "test_mode": True},
        {"type": "PyAVDecode"}, {"type": "Resize", "scale": [32, 32], "keep_ratio": False}, NORM, *TAIL,
        {"type": "ToTensor", "keys": ["imgs"]}],
    "optimizer": {"type": "AdamW", "lr": 0.003, "weight_decay": 0.0001},
}


@pytest.fixture(scope="session")
def tiny_recipe(tmp_path_factory):
    path = tmp_path_factory.mktemp("recipe") / "tiny_tsn.json"
    path.write_text(json.dumps(TINY_RECIPE))
    return str(path)


@pytest.fixture(scope="session")
def small_videos(tmp_path_factory):
    """16 videos (4 classes): train.txt 12, val.txt 4, val7.txt 7 (an odd evaluation set)."""
    from videohub.data.synthetic import make_dataset

    root = tmp_path_factory.mktemp("small_videos")
    split = make_dataset(str(root), videos_per_class=4, num_frames=16, height=40, width=40, seed=0)
    every = split["train"] + split["val"]
    with open(root / "val7.txt", "w") as f:
        f.writelines(f"{v.path} {v.label}\n" for v in every[::2][:7])
    return str(root)


@pytest.fixture(scope="session")
def learn_videos(tmp_path_factory):
    """128 videos: 96 to train, 32 to validate."""
    from videohub.data.synthetic import make_dataset

    root = tmp_path_factory.mktemp("learn_videos")
    make_dataset(str(root), videos_per_class=32, num_frames=16, height=40, width=40, seed=3)
    return str(root)


@pytest.fixture(scope="session")
def example():
    """``examples/run_recognition.py`` imported as a module (``example.main(argv)``)."""
    spec = importlib.util.spec_from_file_location("run_recognition", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

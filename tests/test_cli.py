"""The ``videohub`` command line: predict output (text and JSON) and --help of every command."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from videohub import TSNConfig, TSNForVideoClassification, VideoProcessor
from videohub.cli import main
from videohub.data.synthetic import render_frames, write_video

TRANSFORMS = [dict(type="Resize", scale=[-1, 32]), dict(type="CenterCrop", crop_size=32),
              dict(type="Normalize", mean=[0, 0, 0], std=[255, 255, 255], to_bgr=False)]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    config = TSNConfig(backbone=dict(type="ResNet", depth=18), cls_head=dict(type="TSNHead", in_channels=512),
                       id2label={0: "left", 1: "right", 2: "up"}, num_frames=3)
    torch.manual_seed(0)
    model = TSNForVideoClassification(config).eval()
    processor = VideoProcessor(transforms=TRANSFORMS)
    model.save_pretrained(root / "model")
    processor.save_pretrained(root / "model")
    video = str(root / "v.mp4")
    write_video(video, render_frames("up", 20, 40, 48, np.random.default_rng(0)))
    with torch.no_grad():
        probs = model(**processor(video)).logits.softmax(-1)[0]
    return str(root / "model"), video, probs


def test_predict_json(model_dir, capsys):
    path, video, probs = model_dir
    assert main(["predict", video, "--model", path, "--top-k", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    order = probs.argsort(descending=True)[:2]
    assert result[0]["video"] == video
    assert [p["label"] for p in result[0]["predictions"]] == [["left", "right", "up"][int(i)] for i in order]
    assert result[0]["predictions"][0]["score"] == pytest.approx(float(probs[order[0]]), abs=1e-6)


def test_predict_text(model_dir, capsys):
    path, video, probs = model_dir
    assert main(["predict", video, "--model", path, "--top-k", "3", "--dtype", "bfloat16"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == video and len(lines) == 4
    assert lines[1].split()[0] == "1." and lines[1].split()[1] in {"left", "right", "up"}


def test_predict_missing_video_is_a_clear_error(model_dir, capsys):
    path, _, _ = model_dir
    assert main(["predict", "nope.mp4", "--model", path]) == 2
    assert "nope.mp4" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["predict"], ["hub"], ["hub", "serve"], ["convert"]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage" in capsys.readouterr().out.lower()


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "videohub.cli", "predict", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--top-k" in out.stdout

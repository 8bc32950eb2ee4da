"""scripts/demo_spatiotemporal_det.py on a small generated video with a tiny detector."""

import importlib.util
import json
import os

import numpy as np
import pytest

from model_helpers import build
from videohub.data.synthetic import write_video
from videohub.data.video_reader import VideoReader

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "demo_spatiotemporal_det.py")


@pytest.fixture(scope="module")
def demo():
    spec = importlib.util.spec_from_file_location("demo_spatiotemporal_det", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    frames = np.full((40, 48, 64, 3), 30, dtype=np.uint8)
    for t in range(40):
        frames[t, 10:40, 10 + t // 4:30 + t // 4] = (220, 40, 40)
    write_video(str(root / "clip.mp4"), frames, fps=10)
    model, _ = build("ava")
    model.save_pretrained(root / "model")
    return root


def test_demo_draws_and_writes_detections_in_video_pixels(demo, inputs, tmp_path, capsys):
    proposals = {"8": [[10.0, 10.0, 30.0, 40.0]], "24": [[20.0, 5.0, 50.0, 45.0], [0.0, 0.0, 63.0, 47.0, 0.9]]}
    (tmp_path / "boxes.json").write_text(json.dumps(proposals))
    argv = [str(inputs / "clip.mp4"), "--model", str(inputs / "model"), "--proposals", str(tmp_path / "boxes.json"),
            "--output", str(tmp_path / "out.mp4"), "--frame_interval", "2", "--short_side_size", "32",
            "--action_thr", "0.0"]
    assert demo.main(argv) == 0
    with open(tmp_path / "out.json", encoding="utf-8") as f:
        result = json.load(f)
    dets = result["detections"]
    assert [d["frame"] for d in dets] == [8, 24, 24]
    # boxes come back in the video's pixels (the resize to a short side of 32 undone)
    expected = [proposals["8"][0], proposals["24"][0], proposals["24"][1][:4]]
    for det, box in zip(dets, expected):
        assert det["box"] == pytest.approx(box, abs=0.02)
        assert len(det["actions"]) == 5  # every action of the tiny model (class 0 excluded) at threshold 0
        assert [a["score"] for a in det["actions"]] == sorted((a["score"] for a in det["actions"]), reverse=True)
    assert dets[1]["time"] == pytest.approx(2.4)
    reader = VideoReader(str(tmp_path / "out.mp4"))
    assert reader.num_frames == 40 and (reader.width, reader.height) == (64, 48)
    # the top edge (y = 5) of the first box of key frame 24, green on a grey (30) background, is drawn
    # on the frames near 24 and not on those near 8
    assert reader.get_frame(24)[5, 24:46, 1].mean() > 100
    assert reader.get_frame(8)[5, 24:46, 1].mean() < 60
    assert "3 person detections on 2 key frames" in capsys.readouterr().out


def test_demo_reports_bad_inputs(demo, inputs, tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"x": [[1, 2, 3, 4]]}')
    (tmp_path / "good.json").write_text("[[1, 2, 30, 40]]")
    base = ["--model", str(inputs / "model"), "--output", str(tmp_path / "o.mp4")]
    assert demo.main([str(tmp_path / "missing.mp4"), "--proposals", str(tmp_path / "good.json"), *base]) == 2
    assert "video" in capsys.readouterr().err
    assert demo.main([str(inputs / "clip.mp4"), "--proposals", str(tmp_path / "bad.json"), *base]) == 2
    assert "key 'x' is not a frame index" in capsys.readouterr().err
    assert demo.main([str(inputs / "clip.mp4"), "--proposals", str(tmp_path / "none.json"), *base]) == 2
    assert "proposal file" in capsys.readouterr().err

"""``videohub demo``: sliding windows over a long video whose content changes class halfway, and a stream."""

import argparse
import json

import numpy as np
import pytest
import torch

from videohub import VideoProcessor
from videohub.commands import demo as demo_command
from videohub.data.video_reader import VideoReader, iter_frames
from videohub.errors import ConfigError, VideoDecodeError
from videohub.tools.demo import classify_long_video, classify_stream, sliding_windows
from videohub.tools.scores import class_probabilities, top_labels

FPS, HALF, SIZE = 10, 30, 64  # 6 s at 10 fps: 3 s "still", then 3 s "moving"; 64 x 64 frames


@pytest.fixture(scope="module")
def setup(tmp_path_factory, still_moving_tsn, scenes, make_video):
    """The long video, its frames, and a folder with the TSN and a processor resizing to its 16 x 16 input."""
    root = tmp_path_factory.mktemp("demo")
    still = scenes.render(np.random.default_rng(0), None, frames=HALF, size=SIZE)
    moving = scenes.render(np.random.default_rng(1), 1, frames=HALF, size=SIZE)
    video = str(root / "long.mp4")
    make_video(video, np.concatenate([still, moving]), fps=FPS)
    processor = VideoProcessor(
        sampler=dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=scenes.FRAMES, test_mode=True),
        transforms=[dict(type="Resize", scale=[scenes.SIZE, scenes.SIZE], keep_ratio=False), scenes.NORMALIZE])
    still_moving_tsn.save_pretrained(root / "model")
    processor.save_pretrained(root / "model")
    return root, video, still_moving_tsn, processor


def parse(argv):
    parser = argparse.ArgumentParser()
    demo_command.add_arguments(parser)
    return parser.parse_args(argv)


def test_sliding_windows():
    assert sliding_windows(25, 10, 5) == [(0, 10), (5, 15), (10, 20), (15, 25)]
    assert sliding_windows(27, 10, 5) == [(0, 10), (5, 15), (10, 20), (15, 25), (17, 27)]
    assert sliding_windows(7, 10, 5) == [(0, 7)]


def test_long_video_timeline_follows_the_content_and_the_video_is_labelled(setup, tmp_path):
    root, video, model, processor = setup
    out = str(tmp_path / "labelled.mp4")
    timeline = classify_long_video(model, processor, video, window=1.0, stride=0.5, top_k=2, output=out)
    assert (timeline["fps"], timeline["num_frames"]) == (FPS, 2 * HALF)
    assert timeline["window"] == {"seconds": 1.0, "frames": 10} and timeline["stride"] == {"seconds": 0.5, "frames": 5}
    windows = timeline["windows"]
    assert [(w["start_frame"], w["end_frame"]) for w in windows] == [(s, s + 10) for s in range(0, 51, 5)]
    assert [(w["start"], w["end"]) for w in windows[:2]] == [(0.0, 1.0), (0.5, 1.5)]
    assert all(len(w["labels"]) == 2 for w in windows)
    top = [(w["start_frame"], w["end_frame"], w["labels"][0]["label"]) for w in windows]
    assert all(label == "still" for start, end, label in top if end <= HALF), top
    assert all(label == "moving" for start, end, label in top if start >= HALF), top
    # the labelled video: every frame, same size, the label box drawn at the top left and nothing else changed
    reader = VideoReader(out)
    assert (reader.num_frames, reader.height, reader.width) == (2 * HALF, SIZE, SIZE)
    source, labelled = next(iter_frames(video)).astype(float), next(iter_frames(out)).astype(float)
    assert np.abs(labelled[:8, :16] - source[:8, :16]).mean() > 40
    assert np.abs(labelled[40:] - source[40:]).mean() < 12
    with pytest.raises(ConfigError, match=".mp4"):
        classify_long_video(model, processor, video, output=str(tmp_path / "x.gif"))


def test_long_video_command(setup, tmp_path, capsys):
    root, video, _, _ = setup
    timeline_path, out = tmp_path / "t.json", tmp_path / "o.mp4"
    assert demo_command.run(parse(["long-video", video, "--model", str(root / "model"), "--window", "1",
                                   "--stride", "0.5", "--timeline", str(timeline_path), "--output", str(out)])) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if line.startswith("[")]) == 11
    assert lines[0].startswith("[0.00 s - 1.00 s] still") and lines[10].startswith("[5.00 s - 6.00 s] moving")
    saved = json.loads(timeline_path.read_text())
    assert saved["num_frames"] == 60 and len(saved["windows"]) == 11 and VideoReader(str(out)).num_frames == 60
    # a window longer than the video: one window over all of it
    assert demo_command.run(parse(["long-video", video, "--model", str(root / "model"), "--window", "10",
                                   "--json"])) == 0
    assert [(w["start_frame"], w["end_frame"]) for w in json.loads(capsys.readouterr().out)["windows"]] == [(0, 60)]


def test_stream_reads_a_source_until_its_end_or_max_seconds(setup, capsys):
    root, video, model, processor = setup
    bounded = list(classify_stream(model, processor, video, window=1.0, stride=0.5, max_seconds=2.0))
    assert [(p.start, p.end) for p in bounded] == [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0)]
    assert all(p.labels[0]["label"] == "still" for p in bounded)
    assert demo_command.run(parse(["stream", video, "--model", str(root / "model"), "--window", "1", "--stride",
                                   "0.5", "--format", "mp4", "--json"])) == 0
    predictions = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(p["start_frame"], p["end_frame"]) for p in predictions] == [(s, s + 10) for s in range(0, 51, 5)]
    assert predictions[-1]["labels"][0]["label"] == "moving"
    with pytest.raises(VideoDecodeError, match="cannot open"):
        next(classify_stream(model, processor, str(root / "missing.mp4")))
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        demo_command.run(parse(["stream", video, "--model", str(root / "model"), "--option", "video_size"]))


def test_class_probabilities_are_the_softmax_of_the_logits():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    torch.testing.assert_close(class_probabilities(logits), logits.softmax(-1))
    probs = torch.tensor([[0.2, 0.5, 0.3]])
    torch.testing.assert_close(class_probabilities(probs.log()), probs)  # average_clips="prob" logits

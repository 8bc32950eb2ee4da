"""``videohub data ...``: file lists, rawframes, resized videos, audio tracks and log-mel features on tiny videos."""

import argparse
import os

import av
import numpy as np
import pytest
from PIL import Image

from videohub.commands import data as data_command
from videohub.data.pipelines.audio import decode_audio, mel_filterbank
from videohub.data.tools.audio import (build_audio_features, extract_audios, log_mel_spectrogram, lws_stft,
                                       lws_window)
from videohub.data.tools.file_list import build_file_list, parse_splits
from videohub.data.tools.rawframes import build_rawframes, resized_size
from videohub.data.tools.resize import resize_videos
from videohub.data.video_reader import VideoReader
from videohub.errors import ConfigError
from videohub.registry import PIPELINES

FRAMES = {"cat/c1.mp4": 8, "cat/c2.mp4": 5, "dog/d1.mp4": 6}


def frames_of(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 24, 32, 3), dtype=np.uint8)


@pytest.fixture
def tree(tmp_path, make_video):
    """src/cat/{c1,c2}.mp4, src/dog/d1.mp4 (with a 440 Hz tone), src/dog/bad.mp4 (garbage), src/dog/notes.txt."""
    src = tmp_path / "src"
    for i, (rel, n) in enumerate(FRAMES.items()):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        make_video(src / rel, frames_of(n, i), tone_hz=440.0 if rel.startswith("dog") else None)
    (src / "dog" / "bad.mp4").write_bytes(b"this is not a video" * 10)
    (src / "dog" / "notes.txt").write_text("ignored")
    return src


def parse(argv):
    parser = argparse.ArgumentParser()
    data_command.add_arguments(parser)
    return parser.parse_args(argv)


def listing(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


def test_build_rawframes_names_counts_failures_and_resume(tree, tmp_path):
    out = tmp_path / "rawframes"
    report = build_rawframes(str(tree), str(out), num_workers=2)
    assert report.done == sorted(FRAMES) and report.skipped == []
    assert [path for path, _ in report.failed] == ["dog/bad.mp4"]
    assert "bad.mp4" in report.failed[0][1]
    expected = sorted(f"{os.path.splitext(rel)[0]}/img_{i:05d}.jpg" for rel, n in FRAMES.items()
                      for i in range(1, n + 1))
    assert listing(out) == expected  # no folder for the bad video, no partial folders left
    decoded = VideoReader(str(tree / "cat" / "c2.mp4")).get_frames([4])[0]
    jpeg = np.asarray(Image.open(out / "cat" / "c2" / "img_00005.jpg"), dtype=np.float64)
    assert jpeg.shape == (24, 32, 3) and np.abs(jpeg - decoded).mean() < 12  # the 5th frame, JPEG-compressed

    # resume: complete folders are skipped, a missing one is redone, a stale partial folder is removed
    (out / "cat" / ".c1.partial").mkdir()
    for name in os.listdir(out / "dog" / "d1"):
        os.remove(out / "dog" / "d1" / name)
    os.rmdir(out / "dog" / "d1")
    report = build_rawframes(str(tree), str(out), resume=True)
    assert report.done == ["dog/d1.mp4"] and report.skipped == ["cat/c1.mp4", "cat/c2.mp4"]
    assert listing(out) == expected and not (out / "cat" / ".c1.partial").exists()


def test_build_rawframes_resizes_and_validates(tree, tmp_path):
    assert resized_size(24, 32, new_short=12) == (12, 16)
    assert resized_size(40, 20, new_short=10) == (20, 10)
    assert resized_size(24, 32, new_width=16) == (12, 16)
    assert resized_size(24, 32, new_width=10, new_height=7) == (7, 10)
    build_rawframes(str(tree), str(tmp_path / "small"), new_short=12, exts=["mp4"])
    assert Image.open(tmp_path / "small" / "dog" / "d1" / "img_00006.jpg").size == (16, 12)
    with pytest.raises(ConfigError, match="must not be inside"):
        build_rawframes(str(tree), str(tree / "out"))
    with pytest.raises(ConfigError, match="does not exist"):
        build_rawframes(str(tmp_path / "missing"), str(tmp_path / "x"))
    with pytest.raises(ConfigError, match=r"no input files .*<name> with extension\(s\) avi; check --level"):
        build_rawframes(str(tree), str(tmp_path / "y"), level=1, exts=["avi"])


def test_build_file_list_videos_and_rawframes(tree, tmp_path):
    written, report = build_file_list(str(tree), str(tmp_path / "lists"))
    assert written == {"all": str(tmp_path / "lists" / "src_list_videos.txt"),
                       "label_map": str(tmp_path / "lists" / "src_label_map.txt")}
    assert open(written["all"]).read().splitlines() == [
        "cat/c1.mp4 0", "cat/c2.mp4 0", "dog/bad.mp4 1", "dog/d1.mp4 1"]
    assert open(written["label_map"]).read().splitlines() == ["cat", "dog"]
    assert report.failed == []

    written, report = build_file_list(str(tree), str(tmp_path / "lists"), check_videos=True, name="pets")
    assert open(written["all"]).read().splitlines() == ["cat/c1.mp4 0", "cat/c2.mp4 0", "dog/d1.mp4 1"]
    assert [p for p, _ in report.failed] == ["dog/bad.mp4"] and written["all"].endswith("pets_list_videos.txt")

    build_rawframes(str(tree), str(tmp_path / "rawframes"))
    (tmp_path / "rawframes" / "dog" / "empty").mkdir()
    written, report = build_file_list(str(tmp_path / "rawframes"), str(tmp_path / "lists"), fmt="rawframes")
    assert open(written["all"]).read().splitlines() == ["cat/c1 8 0", "cat/c2 5 0", "dog/d1 6 1"]
    assert [p for p, _ in report.failed] == ["dog/empty"]


def test_build_file_list_stratified_splits(tmp_path):
    src = tmp_path / "frames"
    for cls, count in (("a", 5), ("b", 10)):
        for i in range(count):
            folder = src / cls / f"{cls}{i}"
            folder.mkdir(parents=True)
            for k in range(i + 1):
                (folder / f"img_{k + 1:05d}.jpg").write_bytes(b"")
    splits = parse_splits("train=0.6,val=0.4")
    written, _ = build_file_list(str(src), str(tmp_path / "l"), fmt="rawframes", splits=splits, seed=3)
    train = open(written["train"]).read().splitlines()
    val = open(written["val"]).read().splitlines()
    assert written["train"].endswith("frames_train_list_rawframes.txt")
    assert sum(line.endswith(" 0") for line in train) == 3 and sum(line.endswith(" 1") for line in train) == 6
    assert sum(line.endswith(" 0") for line in val) == 2 and sum(line.endswith(" 1") for line in val) == 4
    everything = sorted(train + val)
    assert everything == sorted([f"a/a{i} {i + 1} 0" for i in range(5)] + [f"b/b{i} {i + 1} 1" for i in range(10)])
    assert train == sorted(train)
    again, _ = build_file_list(str(src), str(tmp_path / "l2"), fmt="rawframes", splits=splits, seed=3)
    assert open(again["train"]).read().splitlines() == train
    shuffled, _ = build_file_list(str(src), str(tmp_path / "l3"), fmt="rawframes", splits=splits, seed=3,
                                  shuffle=True)
    lines = open(shuffled["train"]).read().splitlines()
    assert sorted(lines) == train and lines != train
    for bad in ("train=0.8,val", "train=0,val=1", "a=1,a=2"):
        with pytest.raises(ConfigError, match="split"):
            parse_splits(bad)


def test_resize_videos_keeps_frames_and_audio(tree, tmp_path):
    out = tmp_path / "resized"
    report = resize_videos(str(tree), str(out), short_side=12)
    assert report.done == sorted(FRAMES) and [p for p, _ in report.failed] == ["dog/bad.mp4"]
    assert listing(out) == sorted(FRAMES)
    for rel, n in FRAMES.items():
        reader = VideoReader(str(out / rel))
        assert (reader.num_frames, reader.height, reader.width) == (n, 12, 16)
    with av.open(str(out / "dog" / "d1.mp4")) as container:
        assert len(container.streams.audio) == 1 and container.streams.audio[0].codec_context.name == "aac"
    with pytest.raises(ConfigError, match="even"):
        resize_videos(str(tree), str(out), short_side=15)


def test_extract_audio_and_features_match_the_loaders(tree, tmp_path):
    wavs = tmp_path / "wav"
    report = extract_audios(str(tree), str(wavs), sample_rate=16000, channels=1)
    assert report.done == ["dog/d1.mp4"]
    reasons = dict(report.failed)
    assert sorted(reasons) == ["cat/c1.mp4", "cat/c2.mp4", "dog/bad.mp4"]
    assert "no audio stream" in reasons["cat/c1.mp4"]
    with av.open(str(wavs / "dog" / "d1.wav")) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.codec_context.sample_rate, stream.codec_context.channels) == (
            "pcm_s16le", 16000, 1)
    samples = decode_audio(str(wavs / "dog" / "d1.wav"), 16000)
    assert abs(len(samples) / 16000 - 0.6) < 0.1  # 6 frames at 10 fps (+ AAC priming)

    feats = tmp_path / "feats"
    report = build_audio_features(str(wavs), str(feats))
    assert report.done == ["dog/d1.wav"] and listing(feats) == ["dog/d1.npy"]
    feature = np.load(feats / "dog" / "d1.npy", allow_pickle=False)
    assert feature.dtype == np.float32 and feature.shape == (-(-len(samples) // 320) + 3, 80)
    assert feature.min() >= 0 and feature.max() <= 1
    # the 440 Hz tone's energy is in the mel band whose filter responds most at 440 Hz
    tone_bin = int(round(440 * 1280 / 16000))
    assert int(feature[5:-5].mean(0).argmax()) == int(mel_filterbank(16000, 1280, 80, 125, 7600)[:, tone_bin].argmax())

    results = dict(audio_path=str(feats / "dog" / "d1.npy"), total_frames=6, start_index=0)
    for step in (dict(type="LoadAudioFeature"), dict(type="SampleFrames", clip_len=2, frame_interval=1, num_clips=2,
                                                     test_mode=True),
                 dict(type="AudioFeatureSelector", fixed_length=16)):
        results = PIPELINES.build(step)(results)
    assert results["audios"].shape == (2, 16, 80)


def test_lws_window_and_stft_by_hand():
    window = lws_window(1280, 320)
    # the squared window overlap-adds to exactly one at every position (lws' perfect reconstruction)
    np.testing.assert_allclose((window ** 2).reshape(4, 320).sum(0), np.ones(320), rtol=1e-12)
    np.testing.assert_allclose(window, window[::-1], rtol=1e-12)
    # an impulse at sample j shows in frame m with a flat magnitude window[j + 1280 - 320 - 320 m]
    signal = np.zeros(1000)
    signal[700] = 1.0
    spec = lws_stft(signal, 1280, 320)
    assert spec.shape == (-(-1000 // 320) + 3, 641)
    for m in range(spec.shape[0]):
        pos = 700 + 960 - 320 * m
        expected = window[pos] if 0 <= pos < 1280 else 0.0
        np.testing.assert_allclose(np.abs(spec[m]), np.full(641, expected), atol=1e-12)
    silent = log_mel_spectrogram(np.zeros(3200))
    assert silent.shape == (13, 80) and float(silent.max()) == 0.0  # everything at the -100 dB floor
    with pytest.raises(ConfigError, match="Nyquist"):
        log_mel_spectrogram(np.zeros(100), sample_rate=8000)


def test_data_command(tree, tmp_path, capsys):
    code = data_command.run(parse(["build-rawframes", str(tree), str(tmp_path / "rf"), "--num-workers", "1"]))
    out = capsys.readouterr().out
    assert code == 1 and "3 done, 0 skipped (already there), 1 failed" in out and "dog/bad.mp4" in out
    code = data_command.run(parse(["build-file-list", str(tmp_path / "rf"), str(tmp_path / "lists"),
                                   "--format", "rawframes", "--split", "train=0.5,val=0.5"]))
    assert code == 0
    assert sorted(os.listdir(tmp_path / "lists")) == ["rf_label_map.txt", "rf_train_list_rawframes.txt",
                                                      "rf_val_list_rawframes.txt"]
    with pytest.raises(ConfigError, match="NAME=FRACTION"):
        data_command.run(parse(["build-file-list", str(tree), str(tmp_path / "l"), "--split", "train"]))
    code = data_command.run(parse(["build-rawframes", str(tree), str(tmp_path / "rf"), "--resume",
                                   "--num-workers", "1"]))
    assert code == 1 and "0 done, 3 skipped" in capsys.readouterr().out

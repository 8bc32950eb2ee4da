"""Snippet features of raw videos, scripts/extract_features.py and ``videohub localize``."""

import importlib.util
import json
import os

import numpy as np
import pytest
import torch

from videohub.cli import main as cli_main
from videohub.data.synthetic import write_video
from videohub.localization.features import rescale, snippet_features
from videohub.models.bmn import BMNConfig, BMNForTemporalActionLocalization
from videohub.models.tsn import TSNConfig, TSNModel
from videohub.processing import VideoProcessor

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NORM = {"type": "Normalize", "mean": [128.0, 128.0, 128.0], "std": [64.0, 64.0, 64.0], "to_bgr": False}


def test_rescale_interpolates_linearly():
    features = np.array([[0.0, 10.0], [2.0, 30.0]])
    np.testing.assert_allclose(rescale(features, 3), [[0, 10], [1, 20], [2, 30]])
    np.testing.assert_allclose(rescale(np.array([[5.0]]), 2), [[5.0], [5.0]])


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A 40-frame video (2 snippets of 16 frames), a tiny TSN (512-channel features) and a matching tiny BMN."""
    root = tmp_path_factory.mktemp("raw")
    frames = np.random.default_rng(0).integers(0, 255, size=(40, 32, 32, 3), dtype=np.uint8)
    video = str(root / "v_test.mp4")
    write_video(video, frames, fps=16)
    torch.manual_seed(0)
    recognizer = TSNModel(TSNConfig(backbone=dict(type="ResNet", depth=18, norm_eval=False),
                                    cls_head=dict(type="TSNHead", in_channels=512), num_labels=3, num_frames=2)).eval()
    processor = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=1, num_clips=2, test_mode=True),
                               transforms=[dict(type="Resize", scale=[32, 32], keep_ratio=False), NORM])
    recognizer.save_pretrained(root / "tsn")
    processor.save_pretrained(root / "tsn")
    bmn = BMNForTemporalActionLocalization(BMNConfig(temporal_dim=8, feat_dim=512, num_samples=4,
                                                     num_samples_per_bin=2, hidden_dim_1d=16, hidden_dim_2d=8,
                                                     hidden_dim_3d=16, post_process_top_k=5))
    bmn.save_pretrained(root / "bmn")
    return root, video, frames, recognizer, processor


def test_snippet_features_are_the_pooled_features_of_each_snippet(setup):
    root, video, _, recognizer, processor = setup
    features, meta = snippet_features(video, recognizer, processor, snippet_frames=16, batch_size=1)
    assert features.shape == (2, 512)
    assert meta["duration_frame"] == 40 and meta["feature_frame"] == 32
    assert meta["duration_second"] == pytest.approx(40 / 16)
    from videohub.data.video_reader import VideoReader

    decoded = VideoReader(video).get_frames(range(16, 32))  # the second snippet, decoded independently
    with torch.no_grad():
        expected = recognizer(pixel_values=processor(list(decoded))["pixel_values"]).pooler_output[0]
    np.testing.assert_allclose(features[1], expected.numpy(), rtol=1e-5, atol=1e-6)


def test_extract_features_script_writes_and_resumes(setup, tmp_path):
    root, video, _, _, _ = setup
    spec = importlib.util.spec_from_file_location("extract_features", os.path.join(REPO, "scripts", "extract_features.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "features"
    argv = ["--model", str(root / "tsn"), "--videos", str(root), "--output_dir", str(out), "--temporal_dim", "8"]
    assert script.main(argv) == 0
    table = np.loadtxt(out / "v_test.csv", delimiter=",", skiprows=1)
    assert table.shape == (8, 512)
    info = json.loads((out / "video_info.json").read_text())
    assert info["v_test"]["duration_frame"] == 40 and info["v_test"]["feature_frame"] == 32
    stamp = os.stat(out / "v_test.csv").st_mtime_ns
    assert script.main(argv) == 0  # resumed: the video is already written and is skipped
    assert os.stat(out / "v_test.csv").st_mtime_ns == stamp


def test_localize_command_prints_proposals(setup, capsys):
    root, video, _, _, _ = setup
    code = cli_main(["localize", video, "--model", str(root / "bmn"), "--features-model", str(root / "tsn"),
                     "--json", "--top-k", "3"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert 1 <= len(result["proposals"]) <= 3
    assert all(0 <= p["segment"][0] <= p["segment"][1] <= result["duration_second"] for p in result["proposals"])


def test_localize_rejects_mismatched_features(setup, tmp_path, capsys):
    root, video, _, _, _ = setup
    BMNForTemporalActionLocalization(BMNConfig(temporal_dim=8, feat_dim=64, num_samples=4, num_samples_per_bin=2,
                                               hidden_dim_1d=16, hidden_dim_2d=8, hidden_dim_3d=16)
                                     ).save_pretrained(tmp_path / "bmn64")
    code = cli_main(["localize", video, "--model", str(tmp_path / "bmn64"), "--features-model", str(root / "tsn")])
    assert code == 2
    assert "feat_dim=64" in capsys.readouterr().err

"""Fixtures of the CLI tests: a tiny TSN model folder, synthetic videos, captured videohub log records."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import List

import numpy as np
import pytest
import torch

from videohub import TSNConfig, TSNForVideoClassification, VideoProcessor
from videohub.data.synthetic import render_frames, write_video

LABELS = {0: "left", 1: "right", 2: "up"}
SAMPLER = dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=3, test_mode=True)
TRANSFORMS = [dict(type="Resize", scale=[-1, 32]), dict(type="CenterCrop", crop_size=32),
              dict(type="Normalize", mean=[0, 0, 0], std=[255, 255, 255], to_bgr=False)]


@dataclass
class TinyModel:
    folder: str
    videos: List[str]  # 48 x 40 synthetic videos: up, left, right
    model: TSNForVideoClassification
    processor: VideoProcessor

    def probs(self, video: str, processor: VideoProcessor = None) -> torch.Tensor:
        """Class probabilities computed here, independently of the CLI."""
        with torch.no_grad():
            return self.model(**(processor or self.processor)(video)).logits.softmax(-1)[0]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> TinyModel:
    root = tmp_path_factory.mktemp("cli")
    config = TSNConfig(backbone=dict(type="ResNet", depth=18, num_stages=2, out_indices=(1,), strides=(1, 2),
                                     dilations=(1, 1)),
                       cls_head=dict(type="TSNHead", in_channels=128), id2label=LABELS, num_frames=3)
    torch.manual_seed(0)
    model = TSNForVideoClassification(config).eval()
    with torch.no_grad():  # mmaction2's init (std 0.01) gives near-uniform scores; spread them so labels rank clearly
        model.cls_head.fc_cls.weight.normal_(0, 1.0)
    processor = VideoProcessor(sampler=SAMPLER, transforms=TRANSFORMS)
    folder = str(root / "model")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    videos = []
    for seed, direction in enumerate(("up", "left", "right")):
        path = str(root / "videos" / f"{direction}.mp4")
        write_video(path, render_frames(direction, 12, 40, 48, np.random.default_rng(seed)))
        videos.append(path)
    return TinyModel(folder, videos, model, processor)


@pytest.fixture
def log_records():
    """Records of the ``videohub`` loggers (they do not propagate to pytest's caplog)."""
    records: List[logging.LogRecord] = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    logger = logging.getLogger("videohub")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def closed_port() -> int:
    """A local TCP port with nothing listening (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hub_cache(monkeypatch, tmp_path):
    """An empty huggingface_hub cache for this test."""
    from huggingface_hub import constants

    cache = str(tmp_path / "hf-cache")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", cache)
    monkeypatch.setenv("HF_HUB_CACHE", cache)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return cache


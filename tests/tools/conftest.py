"""Shared by the tool tests: tiny synthetic videos (some with a sine tone), quadrant scenes and a tiny trained TSN."""

import types

import av
import numpy as np
import pytest
import torch

from videohub import TSNConfig, TSNForVideoClassification


def write_video(path, frames, fps=10, tone_hz=None, sample_rate=22050):
    """Encode ``(T, H, W, 3)`` uint8 frames as H.264 mp4; with ``tone_hz`` add a mono AAC sine of the same length."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.height, video.width = frames.shape[1:3]
        video.pix_fmt = "yuv420p"
        audio = None
        if tone_hz is not None:
            audio = container.add_stream("aac", rate=sample_rate)
            audio.layout = "mono"
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        if audio is not None:
            n = int(sample_rate * len(frames) / fps)
            samples = (0.5 * np.sin(2 * np.pi * tone_hz * np.arange(n) / sample_rate)).astype(np.float32)
            for start in range(0, n, 1024):
                chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="flt", layout="mono")
                chunk.sample_rate = sample_rate
                container.mux(audio.encode(chunk))
            container.mux(audio.encode())
        container.mux(video.encode())


@pytest.fixture(scope="session")
def make_video():
    """``make_video(path, frames, fps=10, tone_hz=None)``: see :func:`write_video`."""
    return write_video


SIZE, FRAMES = 16, 4
NORMALIZE = dict(type="Normalize", mean=[128.0] * 3, std=[64.0] * 3, to_bgr=False)


def render(rng, moving_quadrant=None, static_quadrant=None, frames=FRAMES, size=SIZE, noise=True):
    """Frames of static noise (or flat grey); a bright square bouncing left-right inside ``moving_quadrant``
    (0-3) and a still one inside ``static_quadrant``, both a quarter of the frame wide."""
    if noise:
        background = rng.integers(20, 110, (size, size, 3)).astype(np.uint8)
    else:
        background = np.full((size, size, 3), 128, np.uint8)
    video = np.repeat(background[None], frames, 0)
    half, square = size // 2, size // 4
    span = half - square
    for quadrant, moving in ((moving_quadrant, True), (static_quadrant, False)):
        if quadrant is None:
            continue
        qy, qx = divmod(quadrant, 2)
        y, x0 = qy * half + int(rng.integers(1, span)), int(rng.integers(0, span + 1))
        colour = rng.integers(180, 256, 3)
        for t in range(frames):
            x = qx * half + (abs((x0 + 2 * t) % (2 * span) - span) if moving else x0)
            video[t, y:y + square, x:x + square] = colour
    return video


def normalized(frames):
    return torch.from_numpy((frames.astype(np.float32) - 128) / 64).permute(0, 1, 4, 2, 3)


def train(model, steps, seed=0):
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        labels = rng.integers(0, 2, 8)
        clips = np.stack([render(rng, int(rng.integers(0, 4)) if label else None) for label in labels])
        loss = model(pixel_values=normalized(clips), labels=torch.from_numpy(labels)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="session")
def still_moving_tsn():
    """A tiny TSN (ResNet-18 stem + layer1, BN frozen so the short training has no train/eval gap) trained for
    a few seconds on two synthetic classes: "still" (static noise) and "moving" (a square moves somewhere)."""
    torch.manual_seed(0)
    model = TSNForVideoClassification(TSNConfig(
        backbone=dict(type="ResNet", depth=18, num_stages=1, out_indices=(0,), strides=(1,), dilations=(1,),
                      norm_eval=True),
        cls_head=dict(type="TSNHead", in_channels=64, dropout_ratio=0.0), num_labels=2, num_frames=FRAMES,
        id2label={0: "still", 1: "moving"}))
    return train(model, 30)


@pytest.fixture(scope="session")
def scenes():
    """The scene helpers: ``render``, ``normalized``, ``SIZE``, ``FRAMES``, ``NORMALIZE``."""
    return types.SimpleNamespace(render=render, normalized=normalized, SIZE=SIZE, FRAMES=FRAMES, NORMALIZE=NORMALIZE)

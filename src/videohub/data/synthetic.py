"""Small labelled synthetic videos, encoded as real H.264 files with PyAV.

Each video shows an arrow-shaped object moving in one of four directions over a noisy background;
the direction is the class. The object points where it moves (like a car or a fish), so the class
is visible both in single frames (2D models) and in the motion (3D models). Colours, sizes, speeds,
start positions and noise vary per video, all drawn from the seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import av
import numpy as np

DIRECTIONS = ("left", "right", "up", "down")
_STEP = {"left": (0, -1), "right": (0, 1), "up": (-1, 0), "down": (1, 0)}


@dataclass
class SyntheticVideo:
    """A generated video: its path (relative to the dataset root), class id and frame count."""

    path: str
    label: int
    num_frames: int


def _arrow_mask(size: int, direction: str) -> np.ndarray:
    """Boolean ``size x size`` mask of an arrow (shaft + triangular head) pointing ``direction``."""
    yy, xx = np.mgrid[0:size, 0:size]
    half = size / 2
    head = (xx >= half) & (np.abs(yy - half + 0.5) <= (size - 1 - xx))
    shaft = (xx < half) & (np.abs(yy - half + 0.5) <= size / 6)
    mask = head | shaft  # points right
    turns = {"right": 0, "up": 1, "left": 2, "down": 3}[direction]
    return np.rot90(mask, turns)


def render_frames(
    direction: str,
    num_frames: int = 32,
    height: int = 96,
    width: int = 128,
    rng: Optional[np.random.Generator] = None,
) -> np.ndarray:
    """Render ``(num_frames, height, width, 3)`` uint8 frames of an arrow moving in ``direction``.

    Args:
        direction: One of :data:`DIRECTIONS`.
        num_frames: Frames to render. Default 32.
        height, width: Frame size. Default 96 x 128.
        rng: Random generator (default: a fresh unseeded one).
    """
    if direction not in _STEP:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    rng = rng or np.random.default_rng()
    size = int(rng.integers(min(height, width) // 5, min(height, width) // 3))
    mask = _arrow_mask(size, direction)
    colour = rng.integers(120, 256, size=3)
    background = rng.integers(0, 90, size=3)
    dy, dx = _STEP[direction]
    speed = rng.uniform(1.0, 2.5)
    travel = speed * (num_frames - 1)
    # start so that the whole path stays inside the frame along the motion axis
    y0 = rng.uniform(0, height - size) if dy == 0 else (height - size - travel) / 2 + (0 if dy > 0 else travel)
    x0 = rng.uniform(0, width - size) if dx == 0 else (width - size - travel) / 2 + (0 if dx > 0 else travel)
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for t in range(num_frames):
        frame = np.broadcast_to(background, (height, width, 3)).astype(np.int16)
        frame = frame + rng.integers(-20, 21, size=(height, width, 1))
        y = int(np.clip(round(y0 + dy * speed * t), 0, height - size))
        x = int(np.clip(round(x0 + dx * speed * t), 0, width - size))
        region = frame[y:y + size, x:x + size]
        region[mask] = colour
        frames[t] = np.clip(frame, 0, 255).astype(np.uint8)
    return frames


def write_video(path: str, frames: np.ndarray, fps: int = 25, codec: str = "libx264", gop: int = 12,
                bframes: int = 2) -> None:
    """Encode ``(T, H, W, 3)`` uint8 RGB frames to ``path`` with PyAV.

    Args:
        codec: Encoder name. Default ``"libx264"`` (H.264, yuv420p).
        gop: Keyframe interval. Default 12.
        bframes: Maximum consecutive B-frames (H.264 only). Default 2.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with av.open(path, mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        stream.pix_fmt = "yuv420p"
        stream.gop_size = gop
        if codec == "libx264":
            stream.options = {"bf": str(bframes), "crf": "18", "preset": "veryfast"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_dataset(
    root: str,
    videos_per_class: int = 16,
    num_frames: int = 32,
    height: int = 96,
    width: int = 128,
    classes: Sequence[str] = DIRECTIONS,
    seed: int = 0,
    splits: Sequence[Tuple[str, float]] = (("train", 0.75), ("val", 0.25)),
) -> dict:
    """Write a labelled video set under ``root`` in mmaction2's ``VideoDataset`` format.

    Files: ``videos/<class>/<class>_<i>.mp4``, one annotation file per split (``<split>.txt`` with
    lines ``videos/<class>/<class>_<i>.mp4 <label>``) and ``labels.txt`` (one class name a line).

    Args:
        root: Output folder.
        videos_per_class: Videos per class. Default 16.
        num_frames, height, width: Video size. Defaults 32 frames of 96 x 128.
        classes: Directions used as classes. Default :data:`DIRECTIONS`.
        seed: Seed of everything random. Default 0.
        splits: ``(name, fraction)`` pairs splitting each class's videos. Default 75 % train / 25 % val.

    Returns:
        ``{split: [SyntheticVideo, ...]}``.
    """
    rng = np.random.default_rng(seed)
    out = {name: [] for name, _ in splits}
    for label, direction in enumerate(classes):
        bounds = np.cumsum([0.0] + [fraction for _, fraction in splits])
        cut = np.round(bounds / bounds[-1] * videos_per_class).astype(int)
        for i in range(videos_per_class):
            rel = f"videos/{direction}/{direction}_{i:03d}.mp4"
            write_video(os.path.join(root, rel), render_frames(direction, num_frames, height, width, rng))
            split = next(name for (name, _), hi in zip(splits, cut[1:]) if i < hi)
            out[split].append(SyntheticVideo(rel, label, num_frames))
    for split, items in out.items():
        with open(os.path.join(root, f"{split}.txt"), "w", encoding="utf-8") as f:
            f.writelines(f"{v.path} {v.label}\n" for v in items)
    with open(os.path.join(root, "labels.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{c}\n" for c in classes)
    return out


def read_labels(path: str) -> List[str]:
    """Read a label file (one class name a line)."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]

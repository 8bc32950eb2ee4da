"""Small labelled synthetic videos, encoded as real H.264 files with PyAV.

Each video shows an arrow-shaped object moving in one of four directions over a noisy background;
the direction is the class. The object points where it moves (like a car or a fish), so the class
is visible both in single frames (2D models) and in the motion (3D models). Colours, sizes, speeds,
start positions and noise vary per video, all drawn from the seed.

:func:`make_skeleton_dataset` writes skeleton sets for ``PoseDataset`` instead: one COCO-17
person per sample who waves the left arm or holds it still.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import av
import numpy as np

from .datasets.pose import write_pose_annotations

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


# ----------------------------------------------------------------------------- AVA-format detection set
AVA_COLOURS = {"red": (230, 40, 40), "green": (40, 210, 60), "blue": (50, 80, 240), "yellow": (235, 225, 40)}
AVA_ACTIONS = (*AVA_COLOURS, "moves right")
AVA_FPS = 30  # AVADataset's frame rate


def make_ava_dataset(
    root: str,
    videos: int = 16,
    seconds: int = 4,
    size: int = 32,
    seed: int = 0,
    splits: Sequence[Tuple[str, float]] = (("train", 0.75), ("val", 0.25)),
) -> dict:
    """Write a small AVA-format detection set under ``root``: frames, box CSVs, proposals, label map.

    Every video shows two coloured squares (one in the upper half, one in the lower half) sliding
    left or right over a noisy background. Each square is an "actor": its box at every key frame
    (seconds ``1 .. seconds - 1``) is annotated with its colour (actions 1-4: red, green, blue,
    yellow) and, when it moves right, action 5. Files (AVADataset's layout, ``timestamp_start=0``,
    ``timestamp_end=seconds``):

    - ``rawframes/<video>/img_00001.jpg ...`` (``AVA_FPS * seconds`` frames, ``size x size``);
    - ``<split>.csv``: ``video,timestamp,x1,y1,x2,y2,action,entity`` rows (coordinates in [0, 1]);
    - ``<split>_proposals.json``: per key frame the two actors' boxes (score 0.98), an empty
      background box (score 0.95) and a low-score box (0.3, dropped by ``person_det_score_thr=0.9``);
    - ``labelmap.pbtxt``: the five actions.

    Args:
        root: Output folder.
        videos: Number of videos, split by ``splits``. Default 16.
        seconds: Video length in seconds (key frames at 1 .. seconds - 1). Default 4.
        size: Frame side in pixels. Default 32.
        seed: Seed of everything random. Default 0.
        splits: ``(name, fraction)`` pairs. Default 75 % train / 25 % val.

    Returns:
        ``{split: [video ids]}``.
    """
    from PIL import Image

    if seconds < 2:
        raise ValueError(f"seconds must be >= 2 (key frames at 1 .. seconds - 1), got {seconds}")
    rng = np.random.default_rng(seed)
    num_frames = AVA_FPS * seconds
    side = max(size // 4, 4)
    bounds = np.cumsum([0.0] + [fraction for _, fraction in splits])
    cut = np.round(bounds / bounds[-1] * videos).astype(int)
    out = {name: [] for name, _ in splits}
    rows = {name: [] for name, _ in splits}
    proposals = {name: {} for name, _ in splits}
    names = list(AVA_COLOURS)
    for v in range(videos):
        split = next(name for (name, _), hi in zip(splits, cut[1:]) if v < hi)
        video_id = f"vid{v:03d}"
        out[split].append(video_id)
        colours = rng.choice(len(names), size=2, replace=False)
        actors = []
        for row in range(2):
            direction = int(rng.choice([-1, 1]))
            travel = rng.uniform(0.3, 0.6) * (size - side)
            x0 = rng.uniform(0, size - side - travel) + (travel if direction < 0 else 0.0)
            y = int(rng.integers(0, size // 2 - side + 1)) + row * (size // 2)
            actors.append((int(colours[row]), direction, x0, travel / (num_frames - 1), y))
        background = rng.integers(0, 70, size=3)
        folder = os.path.join(root, "rawframes", video_id)
        os.makedirs(folder, exist_ok=True)
        for f in range(1, num_frames + 1):
            frame = background + rng.integers(-15, 16, size=(size, size, 1))
            for colour, direction, x0, speed, y in actors:
                x = int(round(x0 + direction * speed * (f - 1)))
                frame[y:y + side, x:x + side] = AVA_COLOURS[names[colour]]
            Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8)).save(
                os.path.join(folder, f"img_{f:05d}.jpg"), quality=95)
        for t in range(1, seconds):
            key = f"{video_id},{t:04d}"
            keyframe = AVA_FPS * t + 2  # the file SampleAVAFrames centres on (start_index 1)
            boxes = []
            for entity, (colour, direction, x0, speed, y) in enumerate(actors):
                x = int(round(x0 + direction * speed * (keyframe - 1)))
                box = [x / size, y / size, (x + side) / size, (y + side) / size]
                boxes.append(box)
                for action in [colour + 1] + ([5] if direction > 0 else []):
                    rows[split].append(f"{video_id},{t},{box[0]:.4f},{box[1]:.4f},{box[2]:.4f},{box[3]:.4f},"
                                       f"{action},{entity}\n")
            # the distractor: a background box as far (horizontally) from both actors as the frame allows
            empty_x = max(range(size - side + 1), key=lambda c: min(abs(c / size - b[0]) for b in boxes)) / size
            proposals[split][key] = (
                [[round(c, 4) for c in b] + [0.98] for b in boxes]
                + [[empty_x, 0.4, empty_x + side / size, 0.4 + side / size, 0.95], [0.2, 0.2, 0.8, 0.8, 0.3]])
    for split in out:
        with open(os.path.join(root, f"{split}.csv"), "w", encoding="utf-8") as f:
            f.writelines(rows[split])
        with open(os.path.join(root, f"{split}_proposals.json"), "w", encoding="utf-8") as f:
            json.dump(proposals[split], f)
    with open(os.path.join(root, "labelmap.pbtxt"), "w", encoding="utf-8") as f:
        for i, name in enumerate(AVA_ACTIONS, start=1):
            f.write(f'item {{\n  name: "{name}"\n  id: {i}\n}}\n')
    return out


# ----------------------------------------------------------------------------- skeleton set (PoseDataset)
SKELETON_CLASSES = ("still", "wave")
# A standing person in COCO-17 order (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
# ankles; "left" is the person's left), in units of the body height, relative to the hip centre.
_COCO_BODY = np.array([
    [0.0, -0.78], [-0.03, -0.81], [0.03, -0.81], [-0.07, -0.79], [0.07, -0.79],
    [-0.16, -0.62], [0.16, -0.62], [-0.22, -0.42], [0.22, -0.42], [-0.24, -0.22], [0.24, -0.22],
    [-0.10, 0.0], [0.10, 0.0], [-0.11, 0.25], [0.11, 0.25], [-0.12, 0.50], [0.12, 0.50]], dtype=np.float64)
_LEFT_SHOULDER, _LEFT_ELBOW, _LEFT_WRIST = 5, 7, 9


def render_skeleton(
    label: int,
    num_frames: int = 32,
    img_shape: Tuple[int, int] = (480, 640),
    rng: Optional[np.random.Generator] = None,
    wave_amplitude: float = 0.8,
) -> Tuple[np.ndarray, np.ndarray]:
    """One person's COCO-17 keypoints ``(1, T, 17, 2)`` and scores ``(1, T, 17)`` (float32).

    The person stands near the frame centre (moved by up to 0.5 % of the frame, height 44-46 %
    of it) with the left arm at a slightly random angle. Class 1 ("wave") swings the left forearm about
    the elbow by ``± wave_amplitude`` radians (default 0.8) and the upper arm about the shoulder by
    half that, at a random period of 6-12 frames and phase; class 0 ("still") holds the arm. Every
    joint jitters by 0.5 % of the body height each frame; scores lie in [0.8, 1].

    Args:
        label: 0 (still) or 1 (wave).
        num_frames: Frames ``T``. Default 32.
        img_shape: ``(height, width)`` of the frame in pixels. Default ``(480, 640)``.
        rng: Random generator (default: a fresh unseeded one).
        wave_amplitude: Half the forearm's swing of class 1, in radians. Default 0.8.
    """
    if label not in (0, 1):
        raise ValueError(f"label must be 0 (still) or 1 (wave), got {label!r}")
    rng = rng or np.random.default_rng()
    h, w = img_shape
    height = rng.uniform(0.44, 0.46) * h  # body height in pixels
    centre = np.array([w / 2, h * 0.55]) + rng.uniform(-0.005, 0.005, size=2) * (w, h)
    joints = np.repeat((_COCO_BODY * height + centre)[None], num_frames, axis=0)
    upper = np.hypot(*(_COCO_BODY[_LEFT_ELBOW] - _COCO_BODY[_LEFT_SHOULDER])) * height
    forearm = np.hypot(*(_COCO_BODY[_LEFT_WRIST] - _COCO_BODY[_LEFT_ELBOW])) * height
    swing = np.zeros(num_frames)
    if label == 1:
        period, phase = rng.uniform(6, 12), rng.uniform(0, 2 * np.pi)
        swing = np.sin(2 * np.pi * np.arange(num_frames) / period + phase)
    # angles from straight down, towards the person's outside (image left)
    upper_angle = rng.uniform(0.25, 0.35) + 0.5 * wave_amplitude * swing
    fore_angle = upper_angle + rng.uniform(-0.05, 0.05) + wave_amplitude * swing

    def direction(angle: np.ndarray) -> np.ndarray:
        return np.stack([-np.sin(angle), np.cos(angle)], axis=-1)

    joints[:, _LEFT_ELBOW] = joints[:, _LEFT_SHOULDER] + upper * direction(upper_angle)
    joints[:, _LEFT_WRIST] = joints[:, _LEFT_ELBOW] + forearm * direction(fore_angle)
    joints += rng.normal(0, 0.005 * height, size=joints.shape)
    scores = rng.uniform(0.8, 1.0, size=(1, num_frames, len(_COCO_BODY)))
    return joints[None].astype(np.float32), scores.astype(np.float32)


def make_skeleton_dataset(
    root: str,
    samples_per_class: int = 16,
    num_frames: int = 32,
    img_shape: Tuple[int, int] = (480, 640),
    seed: int = 0,
    splits: Sequence[Tuple[str, float]] = (("train", 0.75), ("val", 0.25)),
    file_format: str = "pkl",
) -> dict:
    """Write a two-class skeleton set ("still", "wave"; see :func:`render_skeleton`) under ``root``.

    Files: ``<split>.<file_format>`` in mmaction2's ``PoseDataset`` layout (a list of dicts with
    ``frame_dir``, ``label``, ``img_shape``, ``original_shape``, ``total_frames``, ``keypoint``
    ``(1, T, 17, 2)``, ``keypoint_score`` ``(1, T, 17)``) and ``labels.txt``.

    Args:
        root: Output folder.
        samples_per_class: Samples per class. Default 16.
        num_frames: Frames per sample. Default 32.
        img_shape: Frame ``(height, width)``. Default ``(480, 640)``.
        seed: Seed of everything random. Default 0.
        splits: ``(name, fraction)`` pairs splitting each class's samples. Default 75 % train / 25 % val.
        file_format: ``"pkl"`` (mmaction2's pickle) or ``"npz"`` (videohub's pickle-free file). Default ``"pkl"``.

    Returns:
        ``{split: annotation file path}``.
    """
    if file_format not in ("pkl", "npz"):
        raise ValueError(f"file_format must be 'pkl' or 'npz', got {file_format!r}")
    rng = np.random.default_rng(seed)
    bounds = np.cumsum([0.0] + [fraction for _, fraction in splits])
    cut = np.round(bounds / bounds[-1] * samples_per_class).astype(int)
    samples = {name: [] for name, _ in splits}
    for i in range(samples_per_class):
        split = next(name for (name, _), hi in zip(splits, cut[1:]) if i < hi)
        for label, name in enumerate(SKELETON_CLASSES):
            keypoint, score = render_skeleton(label, num_frames, img_shape, rng)
            samples[split].append(dict(frame_dir=f"{name}_{i:03d}", label=label, img_shape=tuple(img_shape),
                                       original_shape=tuple(img_shape), total_frames=num_frames,
                                       keypoint=keypoint, keypoint_score=score))
    os.makedirs(root, exist_ok=True)
    out = {split: write_pose_annotations(items, os.path.join(root, f"{split}.{file_format}"))
           for split, items in samples.items()}
    with open(os.path.join(root, "labels.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{c}\n" for c in SKELETON_CLASSES)
    return out

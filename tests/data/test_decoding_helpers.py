"""Helpers shared by the data tests: small videos encoded with PyAV and frame folders.

(No tests here; other test modules import these functions.)
"""

from __future__ import annotations

import fractions
import os
from typing import List, Optional

import av
import numpy as np


def frame_pattern(i: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """A distinctive RGB frame for index ``i`` (moving bars plus a little noise)."""
    rng = np.random.default_rng(seed * 100003 + i)
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (i * 7) % 256
    img[: (i % h) + 1, :, 1] = 200
    img[:, : (i * 3) % w + 1, 2] = 150
    return img + rng.integers(0, 16, img.shape, dtype=np.uint8)


def encode_video(
    path: str,
    num_frames: int = 40,
    width: int = 64,
    height: int = 48,
    gop: int = 12,
    bframes: int = 2,
    fps: int = 25,
    vfr: bool = False,
    rotation: Optional[int] = None,
    pix_fmt: str = "yuv420p",
    faststart: bool = False,
    codec: str = "libx264",
    seed: int = 0,
) -> str:
    """Encode ``num_frames`` frames of :func:`frame_pattern` to ``path`` (H.264 with B-frames by default).

    ``vfr`` gives irregular timestamps (20-80 ms apart, time base 1/1000); ``rotation`` writes a
    display matrix; ``faststart`` moves the ``moov`` index to the front of the mp4.
    """
    options = {"movflags": "+faststart"} if faststart else {}
    out = av.open(path, "w", options=options)
    stream = out.add_stream(codec, rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    if codec == "libx264":
        stream.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}"}
    else:
        stream.options = {"g": str(gop), "bf": str(bframes)}
    tb = fractions.Fraction(1, 1000)
    if vfr:
        stream.codec_context.time_base = tb
        stream.time_base = tb
    if rotation is not None:
        stream.set_display_rotation(rotation)
    rng = np.random.default_rng(seed)
    t = 0
    for i in range(num_frames):
        frame = av.VideoFrame.from_ndarray(frame_pattern(i, height, width, seed), format="rgb24")
        if vfr:
            frame.pts = t
            frame.time_base = tb
            t += int(rng.integers(20, 80))
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def decode_all(path: str) -> List[np.ndarray]:
    """Every frame of ``path`` by a plain sequential PyAV decode (the reference for exactness)."""
    with av.open(path) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def write_frames(directory: str, num_frames: int, tmpl: str = "img_{:05}.jpg", start: int = 1, size=(24, 32), flow: bool = False) -> List[np.ndarray]:
    """Write ``num_frames`` PNG/JPEG frames (or x/y flow pairs) into ``directory``; return the arrays written."""
    import cv2

    os.makedirs(directory, exist_ok=True)
    h, w = size
    written = []
    for k in range(num_frames):
        idx = start + k
        img = frame_pattern(idx, h, w)
        if flow:
            for axis, channel in (("x", 0), ("y", 1)):
                cv2.imwrite(os.path.join(directory, tmpl.format(axis, idx)), img[..., channel])
            written.append(img[..., :2])
        else:
            cv2.imwrite(os.path.join(directory, tmpl.format(idx)), img[..., ::-1])
            written.append(img)
    return written

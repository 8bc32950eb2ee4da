"""Tiny synthetic videos (some with a sine-tone audio track) shared by the tool tests."""

import av
import numpy as np
import pytest


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


@pytest.fixture
def make_video():
    """``make_video(path, frames, fps=10, tone_hz=None)``: see :func:`write_video`."""
    return write_video

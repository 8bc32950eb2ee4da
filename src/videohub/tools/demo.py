"""Long-video and stream demos (mmaction2 ``demo/long_video_demo.py`` and ``demo/webcam_demo.py``).

* :func:`classify_long_video`: a window of ``window`` seconds slides over the video every
  ``stride`` seconds; each window's frames go through the model's processor (which samples the
  frames the model needs) and the model. Returns the timeline and, optionally, writes the video
  with each frame showing the top labels of the window whose centre is nearest to it. Frames are
  decoded once, in order, and only about one window of them is held in memory.
* :func:`classify_stream`: the same windows over any source PyAV opens (a file, an ``rtsp://`` or
  ``http://`` URL, a webcam such as ``/dev/video0`` with ``format="v4l2"``), yielding each window's
  prediction as soon as its last frame has arrived; it stops at the end of the stream or after
  ``max_seconds`` of video.
"""

from __future__ import annotations

import collections
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Deque, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, VideoDecodeError
from ..utils.logging import get_logger
from .scores import class_probabilities, top_labels

logger = get_logger(__name__)

#: Frame rate assumed for a stream that does not say its own.
DEFAULT_STREAM_FPS = 25.0


@dataclass
class WindowPrediction:
    """The top labels of one window: frames ``[start_frame, end_frame)``, i.e. ``[start, end)`` seconds."""

    start: float
    end: float
    start_frame: int
    end_frame: int
    labels: List[Dict[str, Any]] = field(default_factory=list)  # [{"label": str, "score": float}, ...]

    def describe(self) -> str:
        """``"[12.00 s - 14.00 s] cooking 0.912, eating 0.051"``."""
        text = ", ".join(f"{item['label']} {item['score']:.3f}" for item in self.labels)
        return f"[{self.start:.2f} s - {self.end:.2f} s] {text}"


def window_frames(window: float, stride: float, fps: float) -> Tuple[int, int]:
    """``(window, stride)`` in frames (at least 1 each) for durations in seconds at ``fps``."""
    if not window > 0 or not stride > 0:
        raise ConfigError(f"window and stride must be > 0 seconds, got window={window}, stride={stride}")
    return max(1, int(round(window * fps))), max(1, int(round(stride * fps)))


def sliding_windows(num_frames: int, window: int, stride: int) -> List[Tuple[int, int]]:
    """Windows ``[start, end)`` every ``stride`` frames; a last one ending at ``num_frames`` covers any tail.

    A video shorter than ``window`` gives the single window ``[0, num_frames)``.
    """
    if num_frames <= window:
        return [(0, num_frames)]
    spans = [(s, s + window) for s in range(0, num_frames - window + 1, stride)]
    if spans[-1][1] < num_frames:
        spans.append((num_frames - window, num_frames))
    return spans


def _predict(model: nn.Module, processor: Any, frames: Sequence[np.ndarray], top_k: int) -> List[Dict[str, Any]]:
    device = next(model.parameters()).device
    pixel_values = processor(np.stack(frames))["pixel_values"].to(device)
    with torch.no_grad():
        probs = class_probabilities(model(pixel_values=pixel_values).logits)[0]
    return [{"label": label, "score": round(score, 6)} for label, score in top_labels(probs, model.config.id2label,
                                                                                      top_k)]


def classify_long_video(model: nn.Module, processor: Any, video: str, window: float = 2.0, stride: float = 1.0,
                        top_k: int = 3, output: Optional[str] = None) -> Dict[str, Any]:
    """Sliding-window classification of a long video; optionally write it with the labels drawn.

    Args:
        model: A videohub classifier (eval mode is set).
        processor: Its :class:`~videohub.processing.VideoProcessor`.
        video: Video file.
        window: Window length in seconds. Default 2.0.
        stride: Seconds between window starts. Default 1.0.
        top_k: Labels kept per window. Default 3.
        output: ``.mp4`` to write, each frame with the labels of the window centred nearest to it.
            Default ``None`` (no video).

    Returns:
        The timeline: ``{"video", "fps", "num_frames", "window": {"seconds", "frames"}, "stride":
        {"seconds", "frames"}, "windows": [WindowPrediction as dict, ...]}``.
    """
    from tqdm.auto import tqdm

    from ..data.video_reader import VideoReader, iter_frames
    from .video_io import Mp4Writer, check_output_path, draw_lines

    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")
    if output is not None and check_output_path(output) != ".mp4":
        raise ConfigError(f"the labelled video is written as .mp4, got {output!r}")
    reader = VideoReader(video)
    fps = reader.fps or DEFAULT_STREAM_FPS
    total = reader.num_frames
    win, step = window_frames(window, stride, fps)
    spans = sliding_windows(total, win, step)
    centres = np.array([(s + e) / 2 for s, e in spans])
    nearest = np.abs(np.arange(total)[:, None] + 0.5 - centres[None, :]).argmin(axis=1)  # window of each frame
    model.eval()
    writer = Mp4Writer(output, fps) if output is not None else None
    buffer: Deque[Tuple[int, np.ndarray]] = collections.deque()  # consecutive frames, oldest first
    results: List[WindowPrediction] = []
    written = decoded = 0
    bar = tqdm(total=len(spans), desc="windows", unit="window")
    try:
        for index, frame in enumerate(iter_frames(video)):
            decoded = index + 1
            buffer.append((index, frame))
            while len(results) < len(spans) and spans[len(results)][1] == decoded:
                start, end = spans[len(results)]
                first = buffer[0][0]
                frames = [buffer[i - first][1] for i in range(start, end)]
                results.append(WindowPrediction(start / fps, end / fps, start, end,
                                                _predict(model, processor, frames, top_k)))
                bar.update(1)
            while writer is not None and written < decoded and nearest[written] < len(results):
                lines = [f"{item['label']} {item['score']:.2f}" for item in results[nearest[written]].labels]
                writer.write(draw_lines(buffer[written - buffer[0][0]][1], lines))
                written += 1
            needed = spans[len(results)][0] if len(results) < len(spans) else decoded
            if writer is not None:
                needed = min(needed, written)
            while buffer and buffer[0][0] < needed:
                buffer.popleft()
    except VideoDecodeError:
        raise
    except Exception as err:  # PyAV raises many error classes for corrupt data
        raise VideoDecodeError(f"{video!r}: decoding failed after {decoded} frames: {err}") from None
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if len(results) < len(spans):
        raise VideoDecodeError(f"{video!r}: decoded {decoded} frames, but its index lists {total}")
    return {"video": os.fspath(video), "fps": fps, "num_frames": total,
            "window": {"seconds": win / fps, "frames": win}, "stride": {"seconds": step / fps, "frames": step},
            "windows": [asdict(r) for r in results]}


def open_source(source: str, fmt: Optional[str] = None, options: Optional[Dict[str, str]] = None,
                timeout: Optional[float] = 10.0):
    """Open ``source`` with PyAV: a file, a URL (``rtsp://``, ``http://``, ...) or a capture device.

    Args:
        source: What to open. ``/dev/videoN`` gets ``format="v4l2"`` when no format is given.
        fmt: FFmpeg input format, e.g. ``"v4l2"`` (Linux webcams), ``"avfoundation"`` (macOS),
            ``"dshow"`` (Windows). Default ``None``: probed.
        options: FFmpeg input options, e.g. ``{"video_size": "640x480", "framerate": "30",
            "rtsp_transport": "tcp"}``. Default ``None``.
        timeout: Seconds to wait when opening and reading a network source. Default 10.

    Raises:
        VideoDecodeError: it cannot be opened or has no video stream.
    """
    import av

    if fmt is None and source.startswith("/dev/video"):
        fmt = "v4l2"
    try:
        container = av.open(source, format=fmt, options=dict(options or {}), timeout=timeout)
    except Exception as err:  # PyAV raises many error classes (FileNotFoundError, InvalidDataError, ...)
        how = f" with format {fmt!r}" if fmt else ""
        raise VideoDecodeError(f"cannot open {source!r}{how}: {err}") from None
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"{source!r} has no video stream")
    return container


def classify_stream(model: nn.Module, processor: Any, source: str, window: float = 2.0, stride: float = 1.0,
                    top_k: int = 3, max_seconds: Optional[float] = None, fmt: Optional[str] = None,
                    options: Optional[Dict[str, str]] = None, timeout: Optional[float] = 10.0
                    ) -> Iterator[WindowPrediction]:
    """Classify the last ``window`` seconds of a live source every ``stride`` seconds, as frames arrive.

    Args:
        model, processor: A videohub classifier and its processor.
        source, fmt, options, timeout: What to read, see :func:`open_source`.
        window: Window length in seconds. Default 2.0.
        stride: Seconds between predictions. Default 1.0.
        top_k: Labels per prediction. Default 3.
        max_seconds: Stop after this many seconds of video (counted in frames at the stream's
            frame rate). Default ``None``: run to the end of the stream.

    Yields:
        One :class:`WindowPrediction` per window; a source shorter than one window yields one
        prediction over all its frames.
    """
    import av

    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")
    if max_seconds is not None and not max_seconds > 0:
        raise ConfigError(f"max_seconds must be > 0, got {max_seconds}")
    container = open_source(source, fmt, options, timeout)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else DEFAULT_STREAM_FPS
        win, step = window_frames(window, stride, fps)
        limit = None if max_seconds is None else max(1, int(round(max_seconds * fps)))
        buffer: Deque[np.ndarray] = collections.deque(maxlen=win)
        model.eval()
        count, next_end = 0, win
        try:
            for frame in container.decode(stream):
                if limit is not None and count >= limit:
                    break
                buffer.append(frame.to_rgb().to_ndarray())
                count += 1
                if count == next_end:
                    yield WindowPrediction((count - win) / fps, count / fps, count - win, count,
                                           _predict(model, processor, list(buffer), top_k))
                    next_end += step
        except av.error.FFmpegError as err:
            raise VideoDecodeError(f"{source!r}: reading failed after {count} frames: {err}") from None
        if 0 < count < win:
            yield WindowPrediction(0.0, count / fps, 0, count, _predict(model, processor, list(buffer), top_k))
    finally:
        container.close()


def write_timeline(path: str, timeline: Dict[str, Any]) -> None:
    """Write ``timeline`` as indented JSON to ``path`` (folders created)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(timeline, f, indent=2)

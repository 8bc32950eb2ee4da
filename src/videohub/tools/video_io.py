"""Writing frames to ``.mp4`` (PyAV, H.264) or ``.gif`` (Pillow), and drawing text on frames (Pillow)."""

from __future__ import annotations

import os
from typing import Iterable, Sequence, Tuple

import numpy as np

from ..errors import ConfigError, ShapeError

OUTPUT_EXTS = (".mp4", ".gif")


def check_output_path(path: str) -> str:
    """The lower-case extension of ``path`` (``.mp4`` or ``.gif``); :class:`ConfigError` otherwise."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in OUTPUT_EXTS:
        raise ConfigError(f"output {path!r}: expected a .mp4 or .gif file name")
    return ext


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad the last row/column by repetition to even height and width (H.264 yuv420p needs them)."""
    pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
    return np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge") if pad_h or pad_w else frame


class Mp4Writer:
    """Encode RGB frames one by one into an H.264 ``.mp4`` with PyAV (a context manager).

    Args:
        path: Output file.
        fps: Frame rate. A float such as 29.97 is kept as a fraction.
    """

    def __init__(self, path: str, fps: float):
        import av
        from fractions import Fraction

        if not fps > 0:
            raise ConfigError(f"fps must be > 0, got {fps}")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._container = av.open(path, mode="w")
        self._stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        self._stream.pix_fmt = "yuv420p"
        self._size: Tuple[int, int] = (0, 0)
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` uint8 RGB frame (all frames must have the first frame's size)."""
        import av

        frame = _even(np.ascontiguousarray(frame, dtype=np.uint8))
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ShapeError(f"a video frame must be H x W x 3, got shape {frame.shape}")
        if self.frames == 0:
            self._stream.height, self._stream.width = frame.shape[:2]
            self._size = frame.shape[:2]
        elif frame.shape[:2] != self._size:
            raise ShapeError(f"frame {self.frames} is {frame.shape[:2]}, the video is {self._size}")
        self._container.mux(self._stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and close the file."""
        if self.frames:
            self._container.mux(self._stream.encode())
        self._container.close()

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_frames(path: str, frames: Iterable[np.ndarray], fps: float = 5.0) -> int:
    """Write ``(H, W, 3)`` uint8 RGB frames to ``path``: ``.mp4`` (PyAV) or ``.gif`` (Pillow); returns the count.

    Args:
        path: Output file, ``.mp4`` or ``.gif``.
        frames: The frames.
        fps: Frame rate. Default 5.
    """
    ext = check_output_path(path)
    if not fps > 0:
        raise ConfigError(f"fps must be > 0, got {fps}")
    if ext == ".mp4":
        with Mp4Writer(path, fps) as writer:
            for frame in frames:
                writer.write(frame)
        count = writer.frames
    else:
        from PIL import Image

        images = [Image.fromarray(np.ascontiguousarray(f, dtype=np.uint8)) for f in frames]
        count = len(images)
        if images:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            images[0].save(path, save_all=True, append_images=images[1:], duration=max(1, int(round(1000 / fps))),
                           loop=0)
    if count == 0:
        raise ShapeError(f"no frames to write to {path!r}")
    return count


def draw_lines(frame: np.ndarray, lines: Sequence[str], font_size: int = 0) -> np.ndarray:
    """A copy of ``frame`` with ``lines`` of text drawn at its top left, white on a dark box (Pillow).

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        lines: Text lines.
        font_size: Pixel size of Pillow's default font. Default 0: about 1/20 of the frame height, at least 10.
    """
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
    size = font_size or max(10, frame.shape[0] // 20)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(image)
    y = 2
    for line in lines:
        box = draw.textbbox((4, y), line, font=font)
        draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=(0, 0, 0))
        draw.text((4, y), line, fill=(255, 255, 255), font=font)
        y = box[3] + 3
    return np.asarray(image)

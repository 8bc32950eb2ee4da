"""Resize videos so their short side is ``N`` pixels (mmaction2 ``tools/data/resize_videos.py``), with PyAV.

``src_dir/<class>/<video>.<ext>`` becomes ``out_dir/<class>/<video>.mp4``: H.264 (yuv420p) at the
source's average frame rate with every decoded frame kept, and the first audio track re-encoded
to AAC (mmaction2 runs ``ffmpeg -vf scale=...`` with ``--to-mp4``). The long side keeps the aspect
ratio, rounded to an even number as ffmpeg's ``-2`` does. Frames are written with consecutive
timestamps, so a variable-frame-rate source becomes constant-rate.
"""

from __future__ import annotations

import functools
import os
from typing import Optional, Sequence, Tuple

from ...errors import ConfigError, VideoDecodeError
from .common import DONE, SKIPPED, JobReport, check_dirs, find_inputs, run_jobs


def short_side_size(height: int, width: int, short_side: int) -> Tuple[int, int]:
    """``(height, width)`` with the short side ``short_side`` and the long side scaled and rounded to even."""
    if height <= width:
        return short_side, max(2, 2 * int(round(width * short_side / height / 2)))
    return max(2, 2 * int(round(height * short_side / width / 2))), short_side


def resize_video(src: str, dst: str, short_side: int = 256, resume: bool = False) -> str:
    """Write ``src`` resized (short side ``short_side``, default 256) to ``dst`` (an ``.mp4``).

    Returns ``"done"``, or ``"skipped"`` when ``resume`` (default ``False``) and ``dst`` exists.
    The file appears under its name only once complete.

    Raises:
        VideoDecodeError: ``src`` is missing, corrupt or has no video stream.
    """
    import av

    if resume and os.path.isfile(dst):
        return SKIPPED
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    partial = os.path.join(os.path.dirname(os.path.abspath(dst)), f".{os.path.basename(dst)}.partial.mp4")
    try:
        source = av.open(src)
    except Exception as err:  # PyAV raises many error classes
        raise VideoDecodeError(f"cannot open {src!r} as a video: {err}") from None
    count = 0
    try:
        with source, av.open(partial, mode="w", format="mp4") as target:
            if not source.streams.video:
                raise VideoDecodeError(f"{src!r} has no video stream")
            in_video = source.streams.video[0]
            in_audio = source.streams.audio[0] if source.streams.audio else None
            height, width = short_side_size(in_video.codec_context.height, in_video.codec_context.width, short_side)
            rate = in_video.average_rate or in_video.guessed_rate or 25
            out_video = target.add_stream("libx264", rate=rate)
            out_video.width, out_video.height, out_video.pix_fmt = width, height, "yuv420p"
            out_audio = None
            if in_audio is not None and in_audio.codec_context.sample_rate:
                out_audio = target.add_stream("aac", rate=in_audio.codec_context.sample_rate)
                out_audio.layout = in_audio.codec_context.layout.name
            streams = [in_video] + ([in_audio] if out_audio is not None else [])
            try:
                for packet in source.demux(*streams):
                    for frame in packet.decode():
                        if packet.stream is in_video:
                            resized = frame.reformat(width=width, height=height, format="yuv420p",
                                                     interpolation="BICUBIC")
                            resized.pts = count
                            count += 1
                            target.mux(out_video.encode(resized))
                        else:
                            frame.pts = None
                            target.mux(out_audio.encode(frame))
            except av.error.FFmpegError as err:
                raise VideoDecodeError(f"{src!r}: decoding failed after {count} frames: {err}") from None
            if count == 0:
                raise VideoDecodeError(f"{src!r} has no video frames")
            target.mux(out_video.encode())
            if out_audio is not None:
                target.mux(out_audio.encode())
        os.replace(partial, dst)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return DONE


def _job(rel: str, src_dir: str, out_dir: str, **kwargs) -> str:
    return resize_video(os.path.join(src_dir, rel), os.path.join(out_dir, os.path.splitext(rel)[0] + ".mp4"), **kwargs)


def resize_videos(src_dir: str, out_dir: str, short_side: int = 256, level: int = 2,
                  exts: Optional[Sequence[str]] = None, num_workers: int = 1, resume: bool = False) -> JobReport:
    """Resize every video under ``src_dir`` into ``out_dir`` (same tree, ``.mp4`` files).

    Args:
        src_dir: Input tree, videos ``level`` folders deep.
        out_dir: Output tree.
        short_side: Short side in pixels, even. Default 256.
        level: 2 (default) for ``src_dir/<class>/<video>``, 1 for ``src_dir/<video>``.
        exts: Video extensions. Default ``None``: common video extensions.
        num_workers: Processes. Default 1.
        resume: Skip videos whose output exists. Default ``False``.
    """
    check_dirs(src_dir, out_dir)
    if short_side < 2 or short_side % 2:
        raise ConfigError(f"short side must be an even number >= 2 (H.264 yuv420p), got {short_side}")
    videos = find_inputs(src_dir, level, exts)
    job = functools.partial(_job, src_dir=src_dir, out_dir=out_dir, short_side=short_side, resume=resume)
    return run_jobs(job, videos, num_workers, desc="resize")

"""Extract the frames of every video as JPEG files (mmaction2 ``tools/data/build_rawframes.py``, RGB).

``src_dir/<class>/<video>.mp4`` becomes ``out_dir/<class>/<video>/img_00001.jpg, img_00002.jpg, ...``
(mmaction2's naming: 1-based, five digits; ``RawframeDataset`` reads it with ``start_index=1`` and
``filename_tmpl="img_{:05}.jpg"``). Every frame of a plain sequential decode is written, so the
count equals :class:`~videohub.data.video_reader.VideoReader`'s ``num_frames``.

Resumable: a video's frames are written into a hidden ``.<video>.partial`` folder that is renamed
when the video is complete, so a folder without that prefix is always complete. With
``resume=True`` complete folders are skipped; otherwise they are replaced. Optical flow
(``--task flow`` in mmaction2, computed by ``denseflow``) is not produced.
"""

from __future__ import annotations

import functools
import os
import shutil
from typing import Optional, Sequence, Tuple

import numpy as np

from ...errors import ConfigError
from .common import DONE, SKIPPED, JobReport, check_dirs, find_inputs, run_jobs

FILENAME_TMPL = "img_{:05d}.jpg"


def resized_size(height: int, width: int, new_short: int = 0, new_width: int = 0, new_height: int = 0
                 ) -> Tuple[int, int]:
    """``(height, width)`` after resizing: the short side to ``new_short``, else to ``new_width x new_height``.

    With ``new_short`` the long side keeps the aspect ratio (rounded to the nearest integer). With
    only one of ``new_width``/``new_height`` the other keeps the aspect ratio. All zero (default):
    unchanged.
    """
    if new_short:
        if height <= width:
            return new_short, max(1, int(round(width * new_short / height)))
        return max(1, int(round(height * new_short / width))), new_short
    if new_width and new_height:
        return new_height, new_width
    if new_width:
        return max(1, int(round(height * new_width / width))), new_width
    if new_height:
        return new_height, max(1, int(round(width * new_height / height)))
    return height, width


def extract_frames(video: str, out_dir: str, new_short: int = 0, new_width: int = 0, new_height: int = 0,
                   quality: int = 95, resume: bool = False) -> str:
    """Write every frame of ``video`` as ``out_dir/img_00001.jpg`` ...; returns ``"done"`` or ``"skipped"``.

    Args:
        video: Video file.
        out_dir: The video's frame folder (its parent is created).
        new_short, new_width, new_height: Resizing, see :func:`resized_size`. Default 0 (none).
        quality: JPEG quality. Default 95 (OpenCV's default, as mmaction2's ``--use-opencv``).
        resume: Skip a video whose folder already exists. Default ``False`` (replace it).

    Raises:
        VideoDecodeError: the video is missing, corrupt or has no frames (no folder is left behind).
    """
    from PIL import Image

    from ...errors import VideoDecodeError
    from ..video_reader import iter_frames

    parent, leaf = os.path.split(os.path.normpath(out_dir))
    partial = os.path.join(parent, f".{leaf}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted run
    if resume and os.path.isdir(out_dir):
        return SKIPPED
    os.makedirs(partial)
    try:
        count = 0
        try:
            for count, frame in enumerate(iter_frames(video), start=1):
                size = resized_size(frame.shape[0], frame.shape[1], new_short, new_width, new_height)
                image = Image.fromarray(np.ascontiguousarray(frame))
                if size != frame.shape[:2]:
                    image = image.resize((size[1], size[0]), Image.BILINEAR)
                image.save(os.path.join(partial, FILENAME_TMPL.format(count)), quality=quality)
        except VideoDecodeError:
            raise
        except Exception as err:  # PyAV raises many error classes for corrupt data
            raise VideoDecodeError(f"{video!r}: decoding failed after {count} frames: {err}") from None
        if count == 0:
            raise VideoDecodeError(f"{video!r} has no video frames")
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
        os.replace(partial, out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return DONE


def _job(rel: str, src_dir: str, out_dir: str, **kwargs) -> str:
    return extract_frames(os.path.join(src_dir, rel), os.path.join(out_dir, os.path.splitext(rel)[0]), **kwargs)


def build_rawframes(
    src_dir: str,
    out_dir: str,
    level: int = 2,
    exts: Optional[Sequence[str]] = None,
    num_workers: int = 1,
    resume: bool = False,
    new_short: int = 0,
    new_width: int = 0,
    new_height: int = 0,
    quality: int = 95,
) -> JobReport:
    """Extract the frames of every video under ``src_dir`` into ``out_dir`` (same tree, one folder a video).

    Args:
        src_dir: Input tree, videos ``level`` folders deep.
        out_dir: Output tree.
        level: 2 (default) for ``src_dir/<class>/<video>``, 1 for ``src_dir/<video>``.
        exts: Video extensions. Default ``None``: common video extensions.
        num_workers: Processes. Default 1.
        resume: Skip videos whose frame folder is complete. Default ``False``.
        new_short, new_width, new_height: Resizing, see :func:`resized_size`. Default 0 (none).
        quality: JPEG quality, 1-100. Default 95.
    """
    check_dirs(src_dir, out_dir)
    if not 1 <= quality <= 100:
        raise ConfigError(f"JPEG quality must be in 1..100, got {quality}")
    if min(new_short, new_width, new_height) < 0:
        raise ConfigError("new_short, new_width and new_height must be >= 0")
    videos = find_inputs(src_dir, level, exts)
    job = functools.partial(_job, src_dir=src_dir, out_dir=out_dir, new_short=new_short, new_width=new_width,
                            new_height=new_height, quality=quality, resume=resume)
    return run_jobs(job, videos, num_workers, desc="rawframes")

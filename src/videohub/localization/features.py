"""Snippet features of untrimmed videos with a videohub recognizer, in mmaction2's ActivityNet layout.

A video of ``n`` frames is cut into ``n // snippet_frames`` snippets; each snippet's frames go
through the recognizer's processor and its base model, whose pooled feature (``pooler_output``,
averaged over the processor's views) is the snippet's feature. ``rescale`` resamples a sequence to
the fixed ``temporal_dim`` of a localizer by linear interpolation, as mmaction2's feature
preparation does.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Tuple

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import ShapeError, VideoDecodeError


def snippet_features(video: str, model: Any, processor: Any, snippet_frames: int = 16, batch_size: int = 8,
                     device: Any = "cpu", progress: bool = False) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Features ``[num_snippets, C]`` of one video and its ActivityNet metadata.

    Args:
        video: Video file.
        model: A recognizer base model (``AutoModel`` of a videohub recognizer) returning ``pooler_output``.
        processor: Its ``VideoProcessor`` (samples and transforms each snippet's frames).
        snippet_frames: Frames per snippet. Default 16 (mmaction2's ``feature_extraction_interval``).
        batch_size: Snippets per forward pass. Default 8.
        device: Device of ``model``. Default ``"cpu"``.
        progress: Show a tqdm bar over the snippets. Default ``False``.

    Returns:
        ``(features, {"duration_frame", "duration_second", "feature_frame", "fps"})``.

    Raises:
        VideoDecodeError: The video cannot be read or is shorter than one snippet.
    """
    from ..data.video_reader import VideoReader

    reader = VideoReader(os.fspath(video))
    num_frames, fps = reader.num_frames, float(reader.fps)
    num_snippets = num_frames // snippet_frames
    if num_snippets == 0:
        raise VideoDecodeError(f"{video}: {num_frames} frames, fewer than one snippet of {snippet_frames}")
    rows = []
    for start in tqdm(range(0, num_snippets, batch_size), desc=os.path.basename(video), disable=not progress):
        clips = []
        for snippet in range(start, min(start + batch_size, num_snippets)):
            frames = reader.get_frames(range(snippet * snippet_frames, (snippet + 1) * snippet_frames))
            clips.append(processor(list(frames))["pixel_values"][0])
        with torch.no_grad():
            out = model(pixel_values=torch.stack(clips).to(device))
        rows.append(out.pooler_output.float().cpu().numpy())
    meta = {"duration_frame": num_frames, "duration_second": num_frames / fps if fps else float(num_frames),
            "feature_frame": num_snippets * snippet_frames, "fps": fps}
    return np.concatenate(rows), meta


def rescale(features: np.ndarray, temporal_dim: int) -> np.ndarray:
    """``[S, C]`` features linearly resampled to ``[temporal_dim, C]`` (the snippet centres spread evenly)."""
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[0] == 0:
        raise ShapeError(f"features have shape {features.shape}; expected [num_snippets, channels]")
    source = np.linspace(0.0, 1.0, features.shape[0]) if features.shape[0] > 1 else np.zeros(1)
    target = np.linspace(0.0, 1.0, temporal_dim)
    return np.stack([np.interp(target, source, features[:, c]) for c in range(features.shape[1])],
                    axis=1).astype(np.float32)


def write_feature_csv(path: str, features: np.ndarray) -> None:
    """Write ``[T, C]`` features as mmaction2's CSV (header ``f0,...``), atomically (a temporary file, then rename)."""
    features = np.asarray(features)
    tmp = f"{path}.tmp-{os.getpid()}"
    np.savetxt(tmp, features, delimiter=",", header=",".join(f"f{c}" for c in range(features.shape[1])),
               comments="", fmt="%.7g")
    os.replace(tmp, path)

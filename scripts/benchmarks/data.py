#!/usr/bin/env python
"""Benchmark video decoding in training pipelines: clips per second.

Generates H.264 videos (320x240 and 1280x720; a keyframe every ``--short-gop`` frames and every
``--long-gop`` frames), then runs two training pipelines on each with three decoders:

- ``baseline``: mmaction2's ``PyAVDecode`` strategy (decode every frame up to the last sampled
  index and convert each one to RGB; frame count from the container header);
- ``videohub``: ``PyAVInit`` + ``PyAVDecode`` (exact reader: seeks or decodes straight through per
  video, skips unreferenced frames, converts only the sampled frames);
- ``opencv``: ``OpenCVInit`` + ``OpenCVDecode``.

An extra 320x240 video of ``--long-video-frames`` frames (default 1500, 50 s) shows long videos.

Pipelines: TSN 1x1x8 (``SampleFrames(1, 1, 8)``) and a 3D 32x2x1 (``SampleFrames(32, 2, 1)``), each
followed by Resize / RandomResizedCrop / Resize(224) / Flip / Normalize / FormatShape / Collect /
ToTensor. Every decoder gets the same sampled indices (numpy is re-seeded before each clip), and
the reader's index cache is cleared before every clip so each clip pays for opening the video.
Decoders take turns clip by clip; the median CPU time per clip is reported (robust on a shared machine).
The videos carry a little per-frame noise, like camera footage, so B-frames cost real decoding.

Example::

    python scripts/benchmarks/data.py --frames 300 --clips 6 --output /tmp/data_bench.md  (the table in docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from typing import Any, Dict, List

import av
import numpy as np

from videohub.data.pipelines.compose import Compose
from videohub.data.video_reader import VideoReader, clear_index_cache


class BaselinePyAVInit:
    """mmaction2's PyAVInit: open the container, take the frame count from its header."""

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        container = av.open(results["filename"])
        results["video_reader"] = container
        results["total_frames"] = container.streams.video[0].frames
        return results


class BaselinePyAVDecode:
    """mmaction2's PyAVDecode ('accurate'): decode and convert every frame up to the last index."""

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        container = results["video_reader"]
        inds = np.asarray(results["frame_inds"]).reshape(-1)
        last = int(inds.max())
        imgs: List[np.ndarray] = []
        for i, frame in enumerate(container.decode(video=0)):
            if i > last + 1:
                break
            imgs.append(frame.to_rgb().to_ndarray())
        container.close()
        results["imgs"] = [imgs[i % len(imgs)] for i in inds]
        results["original_shape"] = results["img_shape"] = imgs[0].shape[:2]
        results["video_reader"] = None
        return results


def make_video(path: str, width: int, height: int, frames: int, gop: int, fps: int = 30) -> str:
    """Encode a moving-pattern H.264 video (libx264 veryfast, 3 B-frames, fixed GOP)."""
    out = av.open(path, "w")
    stream = out.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"preset": "veryfast", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=3"}
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width]
    texture = rng.integers(0, 40, (height, width, 1), dtype=np.uint8)
    for i in range(frames):
        img = np.empty((height, width, 3), np.uint8)
        img[..., 0] = ((xx + 3 * i) % 256).astype(np.uint8)
        img[..., 1] = ((yy * 2 + i) % 256).astype(np.uint8)
        img[..., 2] = (((xx + yy) // 4 + 5 * i) % 256).astype(np.uint8)
        x0 = (7 * i) % max(1, width - width // 4)
        img[height // 3 : height // 3 + height // 4, x0 : x0 + width // 4] = (255, 200, 30)
        img = img + np.roll(texture, i, axis=1) + rng.integers(0, 6, (height, width, 1), dtype=np.uint8)
        for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def tail_steps(input_format: str) -> List[Dict[str, Any]]:
    return [
        dict(type="Resize", scale=(-1, 256)),
        dict(type="RandomResizedCrop"),
        dict(type="Resize", scale=(224, 224), keep_ratio=False),
        dict(type="Flip", flip_ratio=0.5),
        dict(type="Normalize", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False),
        dict(type="FormatShape", input_format=input_format),
        dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
        dict(type="ToTensor", keys=["imgs", "label"]),
    ]


PIPELINES = {
    "TSN 1x1x8": (dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=8), "NCHW"),
    "3D 32x2x1": (dict(type="SampleFrames", clip_len=32, frame_interval=2, num_clips=1), "NCTHW"),
}


def build(decoder: str, sampler: Dict[str, Any], input_format: str) -> Compose:
    if decoder == "baseline":
        head = [BaselinePyAVInit(), sampler, BaselinePyAVDecode()]
    elif decoder == "videohub":
        head = [dict(type="PyAVInit"), sampler, dict(type="PyAVDecode")]
    elif decoder == "opencv":
        head = [dict(type="OpenCVInit"), sampler, dict(type="OpenCVDecode")]
    else:
        raise ValueError(decoder)
    return Compose(head + tail_steps(input_format))


def time_decoders(pipelines: Dict[str, Compose], path: str, clips: int, seed: int) -> Dict[str, float]:
    """Clips per CPU-second of each pipeline: the decoders take turns on every clip (same sampled
    indices) and each one's median clip time is reported. Time is the process's CPU time (all its
    threads), which other load on a shared machine does not inflate; the decoders run single-threaded,
    so on an idle machine CPU time and wall time agree."""
    times: Dict[str, List[float]] = {name: [] for name in pipelines}
    for k in range(clips):
        for name, pipeline in pipelines.items():
            clear_index_cache()
            np.random.seed(seed + k)
            start = time.process_time()
            pipeline(dict(filename=path, label=0, start_index=0, modality="RGB"))
            times[name].append(time.process_time() - start)
    return {name: 1.0 / float(np.median(t)) for name, t in times.items()}


def check_exact(path: str, sampler: Dict[str, Any], seed: int) -> bool:
    """videohub's frames equal the baseline's for the same sampled indices."""
    ours = Compose([dict(type="PyAVInit"), sampler, dict(type="PyAVDecode")])
    base = Compose([BaselinePyAVInit(), sampler, BaselinePyAVDecode()])
    np.random.seed(seed)
    a = ours(dict(filename=path, start_index=0, modality="RGB"))
    np.random.seed(seed)
    b = base(dict(filename=path, start_index=0, modality="RGB"))
    return all(np.array_equal(x, y) for x, y in zip(a["imgs"], b["imgs"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300, help="frames per generated video (default 300 = 10 s at 30 fps)")
    parser.add_argument("--clips", type=int, default=6, help="clips timed per video, pipeline and decoder (default 6)")
    parser.add_argument("--short-gop", type=int, default=12, help="keyframe interval of the short-GOP videos (default 12)")
    parser.add_argument("--long-gop", type=int, default=250, help="keyframe interval of the long-GOP videos (default 250)")
    parser.add_argument("--sizes", default="320x240,1280x720", help="comma-separated WxH (default 320x240,1280x720)")
    parser.add_argument("--long-video-frames", type=int, default=1500,
                        help="frames of an extra long video (default 1500 = 50 s at 30 fps; 0 leaves it out)")
    parser.add_argument("--long-video-size", default="320x240", help="size of the extra long video (default 320x240)")
    parser.add_argument("--decoders", default="baseline,videohub,opencv", help="decoders to time (default all three)")
    parser.add_argument("--workdir", default=None, help="where to write the videos (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the frame sampling (default 0)")
    parser.add_argument("--output", default=None, help="also write the markdown table to this file")
    args = parser.parse_args(argv)

    decoders = [d.strip() for d in args.decoders.split(",") if d.strip()]
    workdir = args.workdir or tempfile.mkdtemp(prefix="videohub_bench_")
    os.makedirs(workdir, exist_ok=True)
    rows = []
    videos = [(size, args.frames) for size in args.sizes.split(",") if size.strip()]
    if args.long_video_frames > 0:
        videos.append((args.long_video_size, args.long_video_frames))
    for size, frames in videos:
        w, h = (int(v) for v in size.lower().split("x"))
        for gop_name, gop in (("short", args.short_gop), ("long", args.long_gop)):
            path = os.path.join(workdir, f"{w}x{h}_gop{gop}_{frames}.mp4")
            if not os.path.exists(path):
                t = time.perf_counter()
                make_video(path, w, h, frames, gop)
                print(f"encoded {path} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
            reader = VideoReader(path)
            for name, (sampler, fmt) in PIPELINES.items():
                exact = check_exact(path, sampler, args.seed)
                speeds = time_decoders({d: build(d, sampler, fmt) for d in decoders}, path, args.clips, args.seed)
                row = dict(video=f"{w}x{h}", gop=f"{gop_name} ({gop})", frames=reader.num_frames, pipeline=name,
                           exact=exact, **speeds)
                rows.append(row)
                print(row, file=sys.stderr)

    header = ["video", "GOP", "frames", "pipeline"] + [f"{d} clips/s" for d in decoders]
    if "baseline" in decoders and "videohub" in decoders:
        header.append("videohub / baseline")
    if "videohub" in decoders:
        header.append("frames equal baseline")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["video"], r["gop"], str(r["frames"]), r["pipeline"]] + [f"{r[d]:.2f}" for d in decoders]
        if "baseline" in decoders and "videohub" in decoders:
            cells.append(f"{r['videohub'] / r['baseline']:.2f}x")
        if "videohub" in decoders:
            cells.append("yes" if r["exact"] else "NO")
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    env = (f"python {platform.python_version()}, PyAV {av.__version__}, libavcodec {av.library_versions.get('libavcodec')}, "
           f"{os.cpu_count()} CPUs, {args.clips} clips per cell, CPU time per clip (median)")
    print(table)
    print(env)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(table + "\n\n" + env + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

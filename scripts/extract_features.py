#!/usr/bin/env python
"""Write clip-level (snippet) features of untrimmed videos with a videohub recognizer, in mmaction2's
ActivityNet layout: ``<output_dir>/<video_name>.csv`` (a header, one row per snippet), plus
``<output_dir>/video_info.json`` with each video's ``duration_frame``, ``duration_second``,
``feature_frame`` and ``fps`` (the fields of the annotation JSON).

Sharded over processes with Accelerate (process i takes every N-th video) and resumable: a video
whose CSV exists is skipped, and each CSV is written atomically.

    accelerate launch scripts/extract_features.py --model org/tsn-r50-k400 --videos videos/ \\
        --output_dir features/ --temporal_dim 100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional, Sequence

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v")


def list_videos(source: str) -> List[str]:
    """Video files of a folder (recursively, sorted) or of a list file (one path a line)."""
    if os.path.isdir(source):
        return sorted(os.path.join(root, name) for root, _, names in os.walk(source) for name in names
                      if name.lower().endswith(VIDEO_EXTENSIONS))
    with open(source, encoding="utf-8") as f:
        base = os.path.dirname(os.path.abspath(source))
        return [line if os.path.isabs(line) else os.path.join(base, line)
                for line in (raw.strip() for raw in f) if line and not line.startswith("#")]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="videohub recognizer (Hub id or folder) with a preprocessor config")
    p.add_argument("--videos", required=True, help="folder of videos or a list file (one path a line)")
    p.add_argument("--output_dir", required=True, help="where <video_name>.csv and video_info.json go")
    p.add_argument("--snippet_frames", type=int, default=16, help="frames per snippet (default 16)")
    p.add_argument("--temporal_dim", type=int, default=None,
                   help="resample every video to this many rows (default: keep one row per snippet)")
    p.add_argument("--batch_size", type=int, default=8, help="snippets per forward pass (default 8)")
    args = p.parse_args(argv)

    from accelerate import Accelerator
    from accelerate.utils import gather_object
    from transformers import AutoModel

    import videohub  # noqa: F401  (registers the videohub classes with transformers)
    from videohub.auto import AutoVideoConfig
    from videohub.errors import VideohubError
    from videohub.localization.features import rescale, snippet_features, write_feature_csv
    from videohub.processing import VideoProcessor
    from videohub.utils.logging import get_logger

    logger = get_logger("videohub.scripts.extract_features")
    accelerator = Accelerator(cpu=int(os.environ.get("WORLD_SIZE", "1")) > 1 and not _has_gpu())
    AutoVideoConfig.from_pretrained(args.model)  # a clear error for a model that is not videohub's
    model = AutoModel.from_pretrained(args.model).to(accelerator.device).eval()
    processor = VideoProcessor.from_pretrained(args.model)
    os.makedirs(args.output_dir, exist_ok=True)
    videos = list_videos(args.videos)
    mine = videos[accelerator.process_index::accelerator.num_processes]
    infos, failed = {}, []
    for path in mine:
        name = os.path.splitext(os.path.basename(path))[0]
        out = os.path.join(args.output_dir, name + ".csv")
        meta_path = os.path.join(args.output_dir, ".meta", name + ".json")
        if os.path.isfile(out) and os.path.isfile(meta_path):
            with open(meta_path, encoding="utf-8") as f:
                infos[name] = json.load(f)
            continue
        try:
            features, meta = snippet_features(path, model, processor, args.snippet_frames, args.batch_size,
                                              device=accelerator.device, progress=accelerator.is_local_main_process)
        except VideohubError as err:
            failed.append(f"{path}: {err}")
            continue
        os.makedirs(os.path.dirname(meta_path), exist_ok=True)
        with open(meta_path, "w", encoding="utf-8") as f:
            json.dump(meta, f)
        write_feature_csv(out, rescale(features, args.temporal_dim) if args.temporal_dim else features)
        infos[name] = meta
    gathered = gather_object([(infos, failed)]) if accelerator.num_processes > 1 else [(infos, failed)]
    if accelerator.is_main_process:
        merged = {k: v for part, _ in gathered for k, v in part.items()}
        all_failed = [line for _, part in gathered for line in part]
        with open(os.path.join(args.output_dir, "video_info.json"), "w", encoding="utf-8") as f:
            json.dump(dict(sorted(merged.items())), f, indent=1)
        logger.warning("%d video(s) written or already present, %d failed", len(merged), len(all_failed))
        for line in all_failed:
            print(f"failed: {line}", file=sys.stderr)
    accelerator.wait_for_everyone()
    return 1 if any(part for _, part in gathered) else 0


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    sys.exit(main())

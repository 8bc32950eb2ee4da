#!/usr/bin/env python
"""Spatio-temporal action detection demo (mmaction2's ``demo/demo_spatiotemporal_det.py``).

    python scripts/demo_spatiotemporal_det.py VIDEO --model DIR_OR_HUB_ID --proposals boxes.json \\
        --output out.mp4 [--json detections.json]

At every frame with person boxes, the clip centred on that frame (``--clip_len`` frames,
``--frame_interval`` apart) is scored for the person boxes of that frame; the boxes and their
actions above ``--action_thr`` are drawn on the frames around it and written to an mp4, and every
detection goes to a JSON file. Person boxes come from ``--proposals``: a JSON object
``{"<frame index>": [[x1, y1, x2, y2(, score)], ...]}`` in pixels of the video (the key frames
without an entry have no person), or a single list of boxes used at every ``--predict_stepsize``-th frame.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="demo_spatiotemporal_det", description=__doc__.split("\n\n")[0])
    p.add_argument("video", help="input video file")
    p.add_argument("--model", required=True, help="videohub detector: folder or Hub id")
    p.add_argument("--proposals", required=True, help="person boxes: JSON {frame index: [[x1, y1, x2, y2], ...]} "
                                                      "or one list of boxes for every key frame")
    p.add_argument("--output", required=True, help="output mp4 with boxes and labels drawn")
    p.add_argument("--json", default=None, help="write the detections here (default: <output>.json)")
    p.add_argument("--clip_len", type=int, default=None, help="frames per clip (default: the model's num_frames)")
    p.add_argument("--frame_interval", type=int, default=16, help="frame stride inside a clip (default: 16)")
    p.add_argument("--predict_stepsize", type=int, default=8,
                   help="with one box list: predict every N frames (default: 8)")
    p.add_argument("--short_side_size", type=int, default=256, help="resize the short side to this (default: 256)")
    p.add_argument("--action_thr", type=float, default=0.4, help="draw actions scoring at least this (default: 0.4)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    return p.parse_args(argv)


def read_proposals(path: str) -> Any:
    """``{frame index: [[x1, y1, x2, y2], ...]}`` or one list of boxes, validated."""
    from videohub.errors import AnnotationError

    if not os.path.isfile(path):
        raise AnnotationError(f"proposal file {path!r} not found")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AnnotationError(f"{path}: not a JSON file ({err})") from None

    def boxes(value: Any, where: str) -> List[List[float]]:
        if not isinstance(value, list) or not all(
                isinstance(b, list) and len(b) in (4, 5) and all(isinstance(v, (int, float)) for v in b) for b in value):
            raise AnnotationError(f"{path}: {where} must be a list of [x1, y1, x2, y2(, score)] boxes, got {value!r:.80}")
        return [[float(v) for v in b[:4]] for b in value]

    if isinstance(data, list):
        return boxes(data, "the box list")
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if not str(key).isdigit():
                raise AnnotationError(f"{path}: key {key!r} is not a frame index")
            out[int(key)] = boxes(value, f"frame {key}")
        return out
    raise AnnotationError(f"{path}: expected a JSON object or list, got {type(data).__name__}")


def draw(frame: Any, detections: List[Dict[str, Any]]) -> Any:
    """``frame`` (RGB uint8) with each detection's box and its ``label score`` lines."""
    import cv2

    out = frame.copy()
    for det in detections:
        x1, y1, x2, y2 = (int(round(v)) for v in det["box"])
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 255, 0), 1)
        for row, action in enumerate(det["actions"]):
            text = f"{action['label']} {action['score']:.2f}"
            cv2.putText(out, text, (x1 + 2, y1 + 10 + 10 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (255, 255, 255), 1)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the demo; return the exit code (2 with a one-line message for a user error)."""
    from videohub.errors import run_script

    return run_script(lambda a: run(parse_args(a)), argv, "demo_spatiotemporal_det")


def run(args: argparse.Namespace) -> None:
    """The demo (see the module docstring)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from tqdm.auto import tqdm

    import videohub
    from videohub.data.synthetic import write_video
    from videohub.data.video_reader import VideoReader
    from videohub.errors import ConfigError, VideoDecodeError

    proposals = read_proposals(args.proposals)
    if not os.path.isfile(args.video):
        raise VideoDecodeError(f"video {args.video!r} not found")
    if args.predict_stepsize < 1 or args.frame_interval < 1:
        raise ConfigError("--predict_stepsize and --frame_interval must be >= 1")
    model = videohub.AutoVideoModel.from_pretrained(args.model).to(args.device).eval()
    if not hasattr(model, "post_process") or model.config.task != "spatio-temporal-action-detection":
        raise ConfigError(f"{args.model} is a {model.config.task} model, not a spatio-temporal action detector")
    clip_len = args.clip_len or model.config.num_frames
    reader = VideoReader(args.video)
    frames = reader.get_frames(range(reader.num_frames))
    height, width = frames[0].shape[:2]
    scale = args.short_side_size / min(height, width)
    size = (int(round(height * scale)), int(round(width * scale)))
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    half = clip_len // 2 * args.frame_interval
    if isinstance(proposals, dict):  # the frames that have person boxes
        outside = sorted(k for k in proposals if k >= reader.num_frames)
        if outside:
            raise ConfigError(f"{args.proposals}: frames {outside[:5]} are past the video's {reader.num_frames} frames")
        keys = sorted(proposals)
    else:
        keys = list(range(min(half, reader.num_frames - 1), reader.num_frames, args.predict_stepsize))
    results: List[Dict[str, Any]] = []
    for key in tqdm(keys, desc="detect"):
        person = proposals if isinstance(proposals, list) else proposals[key]
        if not person:
            continue
        inds = np.clip(key - half + np.arange(clip_len) * args.frame_interval, 0, reader.num_frames - 1)
        clip = torch.from_numpy(np.stack([frames[i] for i in inds])).permute(0, 3, 1, 2).float()
        clip = (F.interpolate(clip, size=size, mode="bilinear", align_corners=False) - mean) / std
        boxes = torch.tensor(person) * torch.tensor([size[1] / width, size[0] / height] * 2)  # the resize's factors
        with torch.no_grad():
            out = model(clip[None].to(args.device), boxes=[boxes.to(args.device)])
        detections = model.post_process(out, [{"img_shape": size}], action_thr=args.action_thr)[0]
        by_box: Dict[tuple, Dict[str, Any]] = {}
        for det in detections:
            box = tuple(round(v, 2) for v in (det["box"][0] * width, det["box"][1] * height,
                                               det["box"][2] * width, det["box"][3] * height))
            entry = by_box.setdefault(box, {"frame": key, "time": key / reader.fps, "box": list(box), "actions": []})
            entry["actions"].append({"label": model.config.id2label.get(det["label"], str(det["label"])),
                                     "score": det["score"]})
        for entry in by_box.values():
            entry["actions"].sort(key=lambda a: -a["score"])
        results.extend(by_box.values())
    drawn = []
    for index, frame in enumerate(frames):
        nearest = min(keys, key=lambda k: abs(k - index)) if keys else None
        drawn.append(draw(frame, [r for r in results if r["frame"] == nearest]))
    write_video(args.output, np.stack(drawn), fps=max(int(round(reader.fps)), 1))
    json_path = args.json or os.path.splitext(args.output)[0] + ".json"
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump({"video": args.video, "fps": reader.fps, "detections": results}, f, indent=2)
    print(f"{len(results)} person detections on {len(keys)} key frames -> {args.output}, {json_path}")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""int8 post-training static quantization (``videohub.deploy.quantize_int8``): speed and agreement.

1. Agreement: the quickstart model (``examples/quickstart.py``: a TSN with the first two stages of
   ResNet-18, 3 segments of 32x32) is fine-tuned on synthetic H.264 videos of
   ``videohub.data.synthetic``; int8 is calibrated on ``--calibration-clips`` training videos and
   the top-1 prediction of int8 and fp32 are compared on every video (train and held out).
2. Speed: fp32 (plain), fp32 ``optimize_for_inference`` and int8, timed interleaved (median of
   ``--repeats`` rounds of one forward each, 2 threads), on the quickstart model's clip and on
   TSN R50 with 8 segments of 224x224 (random weights, calibrated on random clips: speed only).

Example::

    python scripts/benchmarks/quantize.py --markdown quantize.md
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "src"))


def _quickstart():
    spec = importlib.util.spec_from_file_location("quickstart", os.path.join(ROOT, "examples", "quickstart.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_variants(fns: Dict[str, Callable[[], Any]], repeats: int) -> Dict[str, Dict[str, float]]:
    """Median wall and CPU ms per variant and median per-round ratio to ``fp32``."""
    rounds: List[Dict[str, tuple]] = []
    with torch.inference_mode():
        for fn in fns.values():
            fn()
        for _ in range(repeats):
            row = {}
            for name, fn in fns.items():
                wall, cpu = time.perf_counter(), time.process_time()
                fn()
                row[name] = (time.perf_counter() - wall, time.process_time() - cpu)
            rounds.append(row)
    out = {}
    for name in fns:
        out[name] = dict(
            ms_wall=1000 * statistics.median(r[name][0] for r in rounds),
            ms_cpu=1000 * statistics.median(r[name][1] for r in rounds),
            speedup_wall=statistics.median(r["fp32"][0] / r[name][0] for r in rounds),
            speedup_cpu=statistics.median(r["fp32"][1] / r[name][1] for r in rounds))
    return out


def agreement(args: argparse.Namespace) -> Dict[str, Any]:
    """Fine-tune the quickstart model, quantize it, compare top-1 on every synthetic video."""
    from videohub import TSNConfig, TSNForVideoClassification, VideoProcessor
    from videohub.data.synthetic import DIRECTIONS, make_dataset
    from videohub.deploy import optimize_for_inference
    from videohub.deploy.quantize import quantize_int8

    qs = _quickstart()
    qs.seed_everything(args.seed)
    root = os.path.join(args.workdir, "data")
    splits = make_dataset(root, videos_per_class=args.videos_per_class, num_frames=16, height=48, width=48,
                          seed=args.seed)
    config = TSNConfig(
        backbone=dict(type="ResNet", depth=18, num_stages=2, out_indices=[1], strides=[1, 2], dilations=[1, 1]),
        cls_head=dict(type="TSNHead", in_channels=128, dropout_ratio=0.2, init_std=0.01),
        id2label=dict(enumerate(DIRECTIONS)), num_frames=3)
    model = TSNForVideoClassification(config)
    # one thread for the tiny fine-tuning: with two, every small op waits for the other thread, which a
    # busy machine deschedules (measured: 7 s per step instead of a fraction of a second)
    torch.set_num_threads(1)
    qs.train(model, qs.decode_all(root, splits["train"]), args.train_steps, 8)
    torch.set_num_threads(args.threads)
    model.eval()
    processor = VideoProcessor(
        sampler=dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
        transforms=qs.TRANSFORMS)
    items = [("train", item) for item in splits["train"]] + [("val", item) for item in splits["val"]]
    inputs = [processor(os.path.join(root, item.path)) for _, item in items]
    calibration = [inputs[i] for i in range(min(args.calibration_clips, len(splits["train"])))]
    int8 = quantize_int8(model, calibration)
    agree = correct_fp32 = correct_int8 = 0
    with torch.no_grad():
        for (_, item), x in zip(items, inputs):
            a = int(model(**x).logits.argmax(-1))
            b = int(int8(**x).logits.argmax(-1))
            agree += a == b
            correct_fp32 += a == item.label
            correct_int8 += b == item.label
    n = len(items)
    clip = inputs[0]["pixel_values"]
    opt = optimize_for_inference(copy.deepcopy(model))
    speed = time_variants({"fp32": lambda: model(pixel_values=clip), "fp32 optimized": lambda: opt(pixel_values=clip),
                           "int8": lambda: int8(pixel_values=clip)}, args.repeats)
    return dict(videos=n, calibration_clips=len(calibration), agreement=agree / n, accuracy_fp32=correct_fp32 / n,
                accuracy_int8=correct_int8 / n, clip=list(clip.shape), speed=speed)


def large_speed(args: argparse.Namespace) -> Dict[str, Any]:
    """Speed of int8 vs fp32 on TSN R50, 8 segments of 224x224 (random weights)."""
    from videohub import TSNConfig, TSNForVideoClassification
    from videohub.deploy import optimize_for_inference
    from videohub.deploy.quantize import quantize_int8

    torch.manual_seed(0)
    model = TSNForVideoClassification(TSNConfig(backbone=dict(type="ResNet", depth=50),
                                                cls_head=dict(type="TSNHead", in_channels=2048),
                                                num_frames=8)).eval()
    clip = torch.randn(1, 8, 3, 224, 224)
    int8 = quantize_int8(model, [{"pixel_values": torch.randn(1, 8, 3, 224, 224)}])
    opt = optimize_for_inference(copy.deepcopy(model))
    speed = time_variants({"fp32": lambda: model(pixel_values=clip), "fp32 optimized": lambda: opt(pixel_values=clip),
                           "int8": lambda: int8(pixel_values=clip)}, args.repeats)
    return dict(clip=list(clip.shape), speed=speed)


def markdown(result: Dict[str, Any]) -> str:
    a, big = result["agreement"], result["large"]
    lines = [
        f"Agreement on {a['videos']} synthetic videos (int8 calibrated on {a['calibration_clips']} training clips): "
        f"top-1 int8 = fp32 on **{100 * a['agreement']:.1f}%**; accuracy fp32 {100 * a['accuracy_fp32']:.1f}%, "
        f"int8 {100 * a['accuracy_int8']:.1f}%.",
        "",
        "| model | clip | variant | ms (wall) | ms (CPU) | speed-up vs fp32 (wall) | (CPU) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for label, part in (("quickstart TSN (R18, 2 stages)", a), ("TSN R50", big)):
        for name, s in part["speed"].items():
            lines.append(f"| {label} | {tuple(part['clip'])} | {name} | {s['ms_wall']:.1f} | {s['ms_cpu']:.1f} "
                         f"| {s['speedup_wall']:.2f}x | {s['speedup_cpu']:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", default=None, help="folder for the synthetic videos (default: a temporary one)")
    parser.add_argument("--videos-per-class", type=int, default=32, help="videos per class (default: 32)")
    parser.add_argument("--train-steps", type=int, default=400, help="fine-tuning steps (default: 400)")
    parser.add_argument("--calibration-clips", type=int, default=8, help="calibration clips (default: 8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default: 5)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--markdown", help="write the tables (markdown) to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        args.workdir = args.workdir or tmp
        result = dict(agreement=agreement(args), large=large_speed(args))
    table = markdown(result)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

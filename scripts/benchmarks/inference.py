#!/usr/bin/env python
"""Inference speed of videohub recognizers on CPU (or another torch device).

For each model: forward time per clip (median of ``--repeats`` timed runs after ``--warmup`` runs,
``torch.inference_mode``, ``model.eval()``), the FLOPs of one forward counted with
``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix products, 2 FLOPs per
multiply-add), the achieved GFLOP/s, and that figure as a fraction of a large fp32 matrix
product's GFLOP/s (a practical peak) measured on the same threads right before and after each timed
forward, so that a drift of the machine's load affects both alike.

Models (random weights; speed does not depend on the values), at the standard single-view test
shapes, ``pixel_values`` ``(1, T, 3, H, W)``:

- ``i3d``: I3D R50 (``i3d_r50_32x2x1_100e_kinetics400_rgb``), 32 x 224 x 224.
- ``slowonly``: SlowOnly R50 8x8x1, 8 x 224 x 224.
- ``slowfast``: SlowFast R50 4x16x1, 32 x 224 x 224 (slow 4 frames, fast 32).
- ``x3d``: X3D-S (videohub's ``X3DConfig`` default), 13 x 192 x 192 (mmaction2's X3D-S test crop);
  skipped with a note if ``videohub.models.x3d`` is missing.
- ``tsn``: TSN R50, 8 segments x 224 x 224 (``Recognizer2D``: 8 frames through a 2D ResNet-50).

Example::

    python scripts/benchmarks/inference.py --threads 2 --repeats 3 --channels-last --fold-bn --json out.json

``--channels-last`` and ``--fold-bn`` time the same model again after converting its conv weights to
``channels_last(_3d)`` and after folding the BN layers into the convs (cumulative), and report the
largest change of the logits, so the speed-up is shown together with the parity it keeps.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src"))

MODELS = ("i3d", "slowonly", "slowfast", "x3d", "tsn")


def _preset(name: str):
    def make():
        from videohub.conversion.presets import preset_config

        return preset_config(name)

    return make


def _x3d():
    module = importlib.import_module("videohub.models.x3d")
    return module.X3DConfig()


def _tsn():
    from videohub.models.tsn import TSNConfig

    return TSNConfig(num_frames=8)


# name -> (description, config factory, input shape (B, T, C, H, W))
SPECS: Dict[str, Tuple[str, Callable[[], Any], Tuple[int, ...]]] = {
    "i3d": ("I3D R50 32x2x1", _preset("i3d_r50_32x2x1_100e_kinetics400_rgb"), (1, 32, 3, 224, 224)),
    "slowonly": ("SlowOnly R50 8x8x1", _preset("slowonly_r50_8x8x1_256e_kinetics400_rgb"), (1, 8, 3, 224, 224)),
    "slowfast": ("SlowFast R50 4x16x1", _preset("slowfast_r50_4x16x1_256e_kinetics400_rgb"), (1, 32, 3, 224, 224)),
    "x3d": ("X3D-S", _x3d, (1, 13, 3, 192, 192)),
    "tsn": ("TSN R50, 8 segments", _tsn, (1, 8, 3, 224, 224)),
}


def build_model(name: str, device: torch.device):
    """The task model of ``name`` with random weights, in eval mode, on ``device``."""
    from videohub.auto import TASK_CLASSES, register_all

    register_all()
    config = SPECS[name][1]()
    torch.manual_seed(0)
    model = TASK_CLASSES[config.model_type](config)
    # non-trivial norm statistics, so that the logit change of --fold-bn / --channels-last means something
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.2 - 0.1)
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return model.eval().to(device)


def to_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """Put every 5-d (4-d) conv weight in ``channels_last_3d`` (``channels_last``) layout."""
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, torch.nn.Parameter) and weight.dim() in (4, 5):
            fmt = torch.channels_last_3d if weight.dim() == 5 else torch.channels_last
            weight.data = weight.data.contiguous(memory_format=fmt)
    return model


def fold_batchnorm(model: torch.nn.Module) -> int:
    """Fold every eval-mode BN of a ``conv → norm → act`` ``ConvModule`` into its conv; return how many.

    ``w' = w * g / sqrt(v + eps)``, ``b' = (b - m) * g / sqrt(v + eps) + beta``; the BN becomes an
    identity. Only valid for inference (running statistics are frozen into the weights).
    """
    from videohub.layers.conv import ConvModule

    folded = 0
    for module in model.modules():
        if not (isinstance(module, ConvModule) and module.norm_name and module.order == ("conv", "norm", "act")):
            continue
        conv, bn = module.conv, module.norm
        if not isinstance(conv, (torch.nn.Conv2d, torch.nn.Conv3d)) or not isinstance(
                bn, torch.nn.modules.batchnorm._BatchNorm) or not bn.track_running_stats:
            continue
        with torch.no_grad():
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            conv.weight.mul_(scale.view((-1,) + (1,) * (conv.weight.dim() - 1)))
            conv.bias = torch.nn.Parameter((bias - bn.running_mean) * scale + bn.bias)
        setattr(module, module.norm_name, torch.nn.Identity())
        folded += 1
    return folded


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward (convolutions and matrix products; 2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(pixel_values=x)
    return int(counter.get_total_flops())


def time_forward(model: torch.nn.Module, x: torch.Tensor, warmup: int, repeats: int) -> List[float]:
    """Seconds of each timed forward."""
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(pixel_values=x)
        _sync(x.device)
        for _ in range(repeats):
            start = time.perf_counter()
            model(pixel_values=x)
            _sync(x.device)
            times.append(time.perf_counter() - start)
    return times


def matmul_seconds(a: torch.Tensor, b: torch.Tensor) -> float:
    """Seconds of one ``a @ b``."""
    with torch.inference_mode():
        start = time.perf_counter()
        a @ b
        _sync(a.device)
        return time.perf_counter() - start


def time_interleaved(model: torch.nn.Module, x: torch.Tensor, warmup: int, repeats: int,
                     size: int) -> Tuple[List[float], List[float]]:
    """Forward seconds and, around each forward, matmul GFLOP/s (mean of the one before and after).

    On a machine shared with other jobs the available compute drifts; pairing each forward with the
    matmuls run just before and after it keeps the ratio meaningful.
    """
    a = torch.randn(size, size, device=x.device)
    b = torch.randn(size, size, device=x.device)
    with torch.inference_mode():
        for _ in range(warmup):
            model(pixel_values=x)
        matmul_seconds(a, b)
    times, peaks = [], []
    before = matmul_seconds(a, b)
    for _ in range(repeats):
        times.append(time_forward(model, x, 0, 1)[0])
        after = matmul_seconds(a, b)
        peaks.append(2 * size**3 / ((before + after) / 2) / 1e9)
        before = after
    return times, peaks


def _row(label: str, name: str, shape, flops: int, times: List[float], peaks: List[float],
         layout: str) -> Dict[str, Any]:
    """One table row; ``ratio`` is the median over repeats of (model GFLOP/s / paired matmul GFLOP/s)."""
    ms = 1000 * statistics.median(times)
    gflops_per_s = flops / 1e9 / (ms / 1000)
    ratios = [flops / 1e9 / t / p for t, p in zip(times, peaks)]
    return dict(model=name, label=label, shape=list(shape), layout=layout, gflops=flops / 1e9, ms=ms,
                ms_min=1000 * min(times), gflops_per_s=gflops_per_s, matmul_gflops_per_s=statistics.median(peaks),
                ratio=statistics.median(ratios), times_s=times, matmul_gflops_per_s_paired=peaks)


def run(args: argparse.Namespace) -> Dict[str, Any]:
    """Time every model of ``args.models``; the matmul reference is measured right before each timing."""
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    rows, notes = [], []
    for name in args.models:
        label, _, shape = SPECS[name]
        try:
            model = build_model(name, device)
        except ImportError as err:
            notes.append(f"{label}: skipped ({err})")
            print(notes[-1], flush=True)
            continue
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(0)).to(device)
        flops = count_flops(model, x)
        row = _row(label, name, shape, flops, *time_interleaved(model, x, args.warmup, args.repeats, args.matmul_size),
                   "contiguous")
        rows.append(row)
        print(f"{label:<22} {row['ms']:9.1f} ms/clip  {row['gflops']:7.1f} GFLOP  {row['gflops_per_s']:7.1f} GFLOP/s "
              f" {100 * row['ratio']:5.1f}% of matmul ({row['matmul_gflops_per_s']:.1f} GFLOP/s)", flush=True)
        variants = []
        if args.channels_last:
            variants.append(("channels_last", to_channels_last))
        if args.fold_bn:
            variants.append(("channels_last + folded BN" if args.channels_last else "folded BN", fold_batchnorm))
        if variants:
            with torch.inference_mode():
                reference = model(pixel_values=x).clip_logits  # raw scores (logits may be averaged softmax)
        for layout, transform in variants:
            transform(model)
            cl = _row(label, name, shape, flops,
                      *time_interleaved(model, x, args.warmup, args.repeats, args.matmul_size), layout)
            with torch.inference_mode():
                cl["max_abs_logit_diff"] = (model(pixel_values=x).clip_logits - reference).abs().max().item()
                cl["max_abs_logit"] = reference.abs().max().item()
            rows.append(cl)
            print(f"{label + ' (' + layout + ')':<22} {cl['ms']:9.1f} ms/clip  {cl['gflops_per_s']:7.1f} GFLOP/s "
                  f" {100 * cl['ratio']:5.1f}% of matmul ({cl['matmul_gflops_per_s']:.1f} GFLOP/s), max |logit diff| "
                  f"{cl['max_abs_logit_diff']:.2e} of max |logit| {cl['max_abs_logit']:.2e}", flush=True)
        del model
    env = dict(torch=torch.__version__, python=platform.python_version(), machine=platform.machine(),
               processor=platform.processor() or "unknown", cpu_count=os.cpu_count(), threads=torch.get_num_threads(),
               device=str(device), load_average=os.getloadavg() if hasattr(os, "getloadavg") else None,
               mkldnn=torch.backends.mkldnn.is_available())
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return dict(env=env, matmul_size=args.matmul_size, rows=rows, notes=notes, warmup=args.warmup,
                repeats=args.repeats)


def markdown(result: Dict[str, Any]) -> str:
    """The result table in markdown."""
    env = result["env"]
    lines = [
        f"Device `{env['device']}`{' (' + env['gpu'] + ')' if 'gpu' in env else ''}, {env['threads']} threads "
        f"of {env['cpu_count']} CPUs, torch {env['torch']}, load average at the end {env['load_average']}.",
        f"Reference: one fp32 matmul {result['matmul_size']}^3 right before and after each timed forward; "
        f"'% of matmul' is the median over the {result['repeats']} timed forwards (after {result['warmup']} "
        "warm-up) of the forward's GFLOP/s over the mean GFLOP/s of its two neighbouring matmuls.",
        "",
        "| model | input (B, T, C, H, W) | variant | ms/clip (median) | ms/clip (min) | GFLOP/clip | GFLOP/s "
        "| matmul GFLOP/s (median) | % of matmul | max abs clip-score change |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["rows"]:
        change = f"{row['max_abs_logit_diff']:.1e} (of {row['max_abs_logit']:.2g})" if "max_abs_logit_diff" in row else "-"
        lines.append(
            f"| {row['label']} | {tuple(row['shape'])} | {row['layout']} | {row['ms']:.1f} | {row['ms_min']:.1f} | "
            f"{row['gflops']:.1f} | {row['gflops_per_s']:.1f} | {row['matmul_gflops_per_s']:.1f} | "
            f"{100 * row['ratio']:.1f}% | {change} |"
        )
    for note in result["notes"]:
        lines.append(f"\n{note}")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS),
                        help="models to time (default: all)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed forwards first (default: 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed forwards (default: 3)")
    parser.add_argument("--matmul-size", type=int, default=2048, help="size of the reference matmul (default: 2048)")
    parser.add_argument("--channels-last", action="store_true",
                        help="also time each model with channels_last(_3d) conv weights and report the logit change")
    parser.add_argument("--fold-bn", action="store_true",
                        help="then also fold each conv's BN into the conv (inference only) and time that")
    parser.add_argument("--markdown", help="write the table (markdown) to this file")
    parser.add_argument("--json", help="write the raw results to this JSON file")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    result = run(args)
    table = markdown(result)
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

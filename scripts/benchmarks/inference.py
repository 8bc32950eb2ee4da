#!/usr/bin/env python
"""Inference speed of videohub against mmaction2 0.24.1 and pytorchvideo 0.1.5, in one process.

For each case (a mmaction2 zoo config and its standard single-view test clip), the script builds:

- ``mmaction2``: the reference recognizer from the zoo config (random weights, BN statistics
  randomized so that parity checks mean something), timed through ``forward_dummy``;
- ``videohub``: the same config read by videohub, with the reference's state dict converted into
  it (so both compute the same function; the script checks it), timed as ``model(pixel_values=x)``;
- ``optimized``: the same videohub model after ``videohub.deploy.optimize_for_inference`` (BN
  folded, channels-last, oneDNN convolutions with fused ReLU/residual post-ops);
- ``pytorchvideo``: the hub model of the same architecture (``slow_r50``, ``slowfast_r50``,
  ``x3d_s``) where there is one, on the same clip.

Timing: fp32, ``--threads`` threads (default 2), ``torch.inference_mode``. Each round runs a 2048^3
fp32 matmul, then every variant once, then the matmul again (``--warmup`` untimed rounds first);
each cell is the median over ``--repeats`` rounds, and each ratio is the median of the per-round
ratios, so that a drift of the machine's load between rounds cancels. Wall time and process CPU
time are both recorded: on a machine shared with other jobs, wall time includes waiting for a core,
CPU time does not. "% of matmul" is the optimized model's GFLOP/s over the same round's matmul
GFLOP/s (mean of the matmul before and after the round), on the wall clock. FLOPs are counted with
``torch.utils.flop_counter.FlopCounterMode`` on the plain videohub model (convolutions and matrix
products, 2 FLOPs per multiply-add).

The peers are imported from their own folders where they are installed (``--mmaction2-site``,
``--pytorchvideo-path``; ``shared/perf/README.md`` says how to install them); a missing peer leaves
its columns empty, and without mmaction2 videohub builds the config from its zoo presets.

Example::

    python scripts/benchmarks/inference.py --repeats 5 --json inference.json \\
        --markdown inference.md --plot docs/images/inference_ratios.png --profile
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "src"))
sys.path.insert(0, HERE)

import peers  # noqa: E402  (needs the path set above)


@dataclass(frozen=True)
class Case:
    """One row: a mmaction2 zoo config, its test clip, the peer model and the targets."""

    key: str
    label: str
    config: str  # zoo config under configs/recognition/
    frames: int
    size: int
    target: float  # optimized / mmaction2 time must be at most this
    pytorchvideo: Optional[str] = None  # hub model name
    matmul_target: Optional[float] = None  # optimized GFLOP/s / matmul GFLOP/s must be at least this


CASES = (
    Case("tsn", "TSN R50", "tsn/tsn_r50_1x1x3_100e_kinetics400_rgb", 8, 224, 0.75),
    Case("tsm", "TSM R50", "tsm/tsm_r50_1x1x8_50e_kinetics400_rgb", 8, 224, 0.75),
    Case("slowonly", "SlowOnly R50 8x8", "slowonly/slowonly_r50_8x8x1_256e_kinetics400_rgb", 8, 224, 0.75,
         "slow_r50", 0.80),
    Case("i3d", "I3D R50 32x2", "i3d/i3d_r50_32x2x1_100e_kinetics400_rgb", 32, 224, 0.75, None, 0.80),
    Case("x3d", "X3D-S", "x3d/x3d_s_13x6x1_facebook_kinetics400_rgb", 13, 160, 0.75, "x3d_s"),
    Case("slowfast4x16", "SlowFast R50 4x16", "slowfast/slowfast_r50_4x16x1_256e_kinetics400_rgb", 32, 224, 0.85),
    Case("slowfast8x8", "SlowFast R50 8x8", "slowfast/slowfast_r50_8x8x1_256e_kinetics400_rgb", 32, 224, 0.85,
         "slowfast_r50"),
)
CASE_KEYS = tuple(case.key for case in CASES)
VARIANTS = ("mmaction2", "videohub", "optimized", "pytorchvideo")


# ---------------------------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------------------------


def randomize_norms(model: torch.nn.Module, seed: int = 1) -> None:
    """Give every BN non-trivial statistics and affine parameters (fixed seed)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.2 - 0.1)
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max() / b.float().abs().max())


def build_case(case: Case, args: argparse.Namespace, have_mm: bool, have_ptv: bool
               ) -> Tuple[Dict[str, Callable[[], Any]], Dict[str, Any]]:
    """The variants' forward callables and facts about the case (FLOPs, parity)."""
    from videohub.conversion.mmaction2 import build_model as build_videohub
    from videohub.conversion.mmaction2 import config_from_mmaction2
    from videohub.conversion.presets import get_preset
    from videohub.deploy import optimize_for_inference

    torch.manual_seed(0)
    x = torch.randn(1, case.frames, 3, case.size, case.size, generator=torch.Generator().manual_seed(0))
    fns: Dict[str, Callable[[], Any]] = {}
    info: Dict[str, Any] = {}
    if have_mm:
        cfg = peers.mmaction2_config(case.config, args.mmaction2_site)
        mm = peers.build_mmaction2(cfg)
        randomize_norms(mm)
        model_cfg, state_dict = cfg.model.to_dict(), mm.state_dict()
        three_d = cfg.model.type == "Recognizer3D"
        x_mm = x.permute(0, 2, 1, 3, 4).unsqueeze(1).contiguous() if three_d else x
        fns["mmaction2"] = lambda: mm.forward_dummy(x_mm)[0]
    else:
        model_cfg, state_dict = get_preset(case.config.split("/")[-1])["model"], None
    config = config_from_mmaction2(model_cfg)
    if state_dict is None:
        from videohub.auto import TASK_CLASSES, register_all

        register_all()
        vh = TASK_CLASSES[config.model_type](config).eval()
        randomize_norms(vh)
    else:
        vh = build_videohub(config, state_dict).eval()
    opt = optimize_for_inference(copy.deepcopy(vh))
    fns["videohub"] = lambda: vh(pixel_values=x).clip_logits
    fns["optimized"] = lambda: opt(pixel_values=x).clip_logits
    if have_ptv and case.pytorchvideo:
        ptv = peers.build_pytorchvideo(case.pytorchvideo)
        x_ptv = x.permute(0, 2, 1, 3, 4).contiguous()
        if "slowfast" in case.pytorchvideo:  # [slow, fast]; a new list per call (the model rewrites it in place)
            slow = x_ptv[:, :, ::4].contiguous()
            fns["pytorchvideo"] = lambda: ptv([slow, x_ptv])
        else:
            fns["pytorchvideo"] = lambda: ptv(x_ptv)
    with torch.inference_mode():
        outs = {name: fn() for name, fn in fns.items() if name != "pytorchvideo"}
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            fns["videohub"]()
    info["gflop"] = counter.get_total_flops() / 1e9
    info["optimized_vs_videohub_rel"] = _rel(outs["optimized"], outs["videohub"])
    if "mmaction2" in outs:
        info["videohub_vs_mmaction2_rel"] = _rel(outs["videohub"], outs["mmaction2"])
    return fns, info


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------


def _clocked(fn: Callable[[], Any]) -> Tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def time_case(fns: Dict[str, Callable[[], Any]], warmup: int, repeats: int, size: int) -> Dict[str, Any]:
    """Interleaved rounds: matmul, every variant, matmul. Per round: wall and CPU seconds."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    matmul = lambda: a @ b  # noqa: E731
    rounds: List[Dict[str, Any]] = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            before = _clocked(matmul)
            times = {name: _clocked(fn) for name, fn in fns.items()}
            after = _clocked(matmul)
            if i >= warmup:
                flops = 2 * size**3 / 1e9
                rounds.append(dict(times=times, matmul_gflops_wall=flops / ((before[0] + after[0]) / 2),
                                   matmul_gflops_cpu=flops / ((before[1] + after[1]) / 2)))
            print(f"    round {i + 1}/{warmup + repeats}: "
                  + ", ".join(f"{k} {v[0]:.2f}s" for k, v in times.items()), flush=True)
    return summarize(rounds)


def summarize(rounds: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Medians of times and of per-round ratios."""
    names = list(rounds[0]["times"])
    out: Dict[str, Any] = {"rounds": rounds}
    for clock, index in (("wall", 0), ("cpu", 1)):
        out[f"ms_{clock}"] = {n: 1000 * statistics.median(r["times"][n][index] for r in rounds) for n in names}
        for ref in ("mmaction2", "pytorchvideo", "videohub"):
            if ref in names:
                out[f"optimized_over_{ref}_{clock}"] = statistics.median(
                    r["times"]["optimized"][index] / r["times"][ref][index] for r in rounds)
        if "mmaction2" in names:
            out[f"videohub_over_mmaction2_{clock}"] = statistics.median(
                r["times"]["videohub"][index] / r["times"]["mmaction2"][index] for r in rounds)
        out[f"matmul_gflops_{clock}"] = statistics.median(r[f"matmul_gflops_{clock}"] for r in rounds)
    return out


def profile_ops(fn: Callable[[], Any], top: int = 8) -> List[Tuple[str, float]]:
    """The ``top`` ops by self CPU time of one forward, as (name, share of the total)."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        fn()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return [(e.key, e.self_cpu_time_total / total) for e in events[:top]]


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------


def _fmt(value: Optional[float], spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def markdown(result: Dict[str, Any]) -> str:
    """The results as markdown tables."""
    env = result["env"]
    lines = [
        f"torch {env['torch']}, {env['threads']} threads of {env['cpu_count']} CPUs ({env['capability']}), fp32, "
        f"median of {result['repeats']} interleaved rounds after {result['warmup']} warm-up; load average "
        f"{env['load_average_start']} at the start, {env['load_average_end']} at the end.",
        "",
        "| model | clip | GFLOP | mmaction2 ms | videohub ms | optimized ms | pytorchvideo ms "
        "| optimized / mmaction2 (wall) | (CPU time) | target | met | videohub / mmaction2 "
        "| optimized / pytorchvideo (wall) | (CPU time) | % of matmul | parity |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in result["rows"]:
        t = row["timing"]
        ms = t["ms_wall"]
        mm = t.get("optimized_over_mmaction2_wall")
        met = "—" if mm is None else ("yes" if mm <= row["target"] else "**no**")
        pct = 100 * row["gflop"] / (ms["optimized"] / 1000) / t["matmul_gflops_wall"]
        pct_text = f"{pct:.0f}%" + (f" (target {100 * row['matmul_target']:.0f}%)" if row["matmul_target"] else "")
        parity = f"{row['optimized_vs_videohub_rel']:.1e}"
        if "videohub_vs_mmaction2_rel" in row:
            parity += f" / {row['videohub_vs_mmaction2_rel']:.1e}"
        lines.append(
            f"| {row['label']} | {row['frames']}×{row['size']}² | {row['gflop']:.1f} | {_fmt(ms.get('mmaction2'), '.0f')} "
            f"| {ms['videohub']:.0f} | {ms['optimized']:.0f} | {_fmt(ms.get('pytorchvideo'), '.0f')} "
            f"| {_fmt(mm)} | {_fmt(t.get('optimized_over_mmaction2_cpu'))} | ≤ {row['target']:.2f} | {met} "
            f"| {_fmt(t.get('videohub_over_mmaction2_wall'))} | {_fmt(t.get('optimized_over_pytorchvideo_wall'))} "
            f"| {_fmt(t.get('optimized_over_pytorchvideo_cpu'))} | {pct_text} | {parity} |")
    lines += ["", "parity: largest |optimized − videohub| / max |videohub| of the raw clip scores, then "
              "|videohub − mmaction2| / max |mmaction2| (same weights)."]
    for note in result["notes"]:
        lines += ["", note]
    for row in result["rows"]:
        if "profile" in row:
            lines += ["", f"Per-op profile, {row['label']} (share of self CPU time of one forward):", "",
                      "| variant | top ops |", "| --- | --- |"]
            for variant, ops in row["profile"].items():
                lines.append(f"| {variant} | " + ", ".join(f"{name} {100 * share:.1f}%" for name, share in ops) + " |")
    return "\n".join(lines) + "\n"


def plot(result: Dict[str, Any], path: str) -> None:
    """Bar chart of optimized / peer time ratios with the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    labels = [row["label"] for row in rows]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    width = 0.27
    series = (("optimized_over_mmaction2_wall", "optimized / mmaction2 (wall)"),
              ("optimized_over_mmaction2_cpu", "optimized / mmaction2 (CPU time)"),
              ("optimized_over_pytorchvideo_wall", "optimized / pytorchvideo (wall)"))
    for i, (key, name) in enumerate(series):
        values = [row["timing"].get(key) for row in rows]
        xs = [j + (i - 1) * width for j, v in enumerate(values) if v is not None]
        ax.bar(xs, [v for v in values if v is not None], width, label=name)
    for j, row in enumerate(rows):
        ax.hlines(row["target"], j - 1.5 * width, j + 1.5 * width, colors="black", linestyles="dashed")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_ylabel("time ratio (lower is faster)")
    ax.set_title("videohub optimize_for_inference vs peers (2 threads, fp32; dashes: target)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def _environment(load_start: Optional[Tuple[float, ...]]) -> Dict[str, Any]:
    return dict(torch=torch.__version__, python=platform.python_version(), cpu_count=os.cpu_count(),
                threads=torch.get_num_threads(), capability=torch.backends.cpu.get_cpu_capability(),
                load_average_start=tuple(round(v, 1) for v in load_start) if load_start else None,
                load_average_end=tuple(round(v, 1) for v in os.getloadavg()) if load_start else None)


def write_outputs(result: Dict[str, Any], args: argparse.Namespace) -> None:
    """Write the markdown, JSON and plot files asked for (after every case, so a crash keeps the rest)."""
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    if args.plot and result["rows"]:
        plot(result, args.plot)


def run(args: argparse.Namespace) -> Dict[str, Any]:
    """Build and time every case of ``args.models``; write the outputs after each case."""
    torch.set_num_threads(args.threads)
    notes = []
    mm_problem = peers.import_mmaction2(args.mmaction2_site)
    ptv_problem = peers.import_pytorchvideo(args.pytorchvideo_path)
    notes += [p for p in (mm_problem, ptv_problem) if p]
    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    rows: List[Dict[str, Any]] = []
    result = dict(env=_environment(load_start), rows=rows, notes=notes, warmup=args.warmup, repeats=args.repeats,
                  matmul_size=args.matmul_size)
    for case in CASES:
        if case.key not in args.models:
            continue
        print(f"{case.label} ({case.config}, {case.frames}x{case.size}^2)", flush=True)
        fns, info = build_case(case, args, mm_problem is None, ptv_problem is None)
        row = dict(key=case.key, label=case.label, config=case.config, frames=case.frames, size=case.size,
                   target=case.target, matmul_target=case.matmul_target, pytorchvideo=case.pytorchvideo, **info)
        row["timing"] = time_case(fns, args.warmup, args.repeats, args.matmul_size)
        ratio = row["timing"].get("optimized_over_mmaction2_wall")
        if args.profile:
            row["profile"] = {name: profile_ops(fns[name]) for name in ("mmaction2", "optimized") if name in fns}
        print(f"  optimized/mmaction2 {_fmt(ratio)} (wall), "
              f"{_fmt(row['timing'].get('optimized_over_mmaction2_cpu'))} (CPU); "
              f"optimized/pytorchvideo {_fmt(row['timing'].get('optimized_over_pytorchvideo_wall'))}", flush=True)
        rows.append(row)
        del fns
        result["env"] = _environment(load_start)
        write_outputs(result, args)
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=CASE_KEYS, default=list(CASE_KEYS),
                        help="cases to run (default: all)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default: 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default: 5)")
    parser.add_argument("--matmul-size", type=int, default=2048, help="size of the reference matmul (default: 2048)")
    parser.add_argument("--mmaction2-site", default=peers.DEFAULT_MMACTION2_SITE,
                        help=f"site-packages of the mmaction2 0.24.1 environment (default: {peers.DEFAULT_MMACTION2_SITE})")
    parser.add_argument("--pytorchvideo-path", default=peers.DEFAULT_PYTORCHVIDEO_PATH,
                        help=f"folder holding pytorchvideo 0.1.5 (default: {peers.DEFAULT_PYTORCHVIDEO_PATH})")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one forward of mmaction2 and of the optimized model per case")
    parser.add_argument("--markdown", help="write the tables (markdown) to this file")
    parser.add_argument("--json", help="write the raw results to this JSON file")
    parser.add_argument("--plot", help="write a PNG bar chart of the ratios to this file")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    print(markdown(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""BMN side by side with mmaction2 0.24.1 on the ActivityNet shape (400 features x 100 snippets).

Measures in one process, interleaved (videohub, reference, videohub, ...) with the same weights,
input and thread count: model construction (the boundary-matching sample mask), a training step
(label generation + forward + backward) and the post-processing of one video (start/end candidates,
proposal scoring, soft-NMS; mmaction2's ``BMN.forward_test`` with its network output fixed to the
same tensors). Reports the medians and the ratios videohub / reference (below 1: videohub is faster),
and checks that both give the same loss and the same proposals.

The reference is imported from its own virtual environment (``--mmaction2-site``; see
shared/perf/README.md); without it only videohub is timed.

    PYTHONPATH=src python scripts/benchmarks/bench_localization.py [--batch_size 1] [--repeats 3] \
        [--threads 2] [--output bench_localization.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "src"))
sys.path.insert(0, HERE)

import peers  # noqa: E402  (needs the path set above)

BMN_CONFIG = "localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py"


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="BMN training step and post-processing: videohub vs mmaction2 0.24.1 "
                                            "(same process, same weights and input) on the 400 x 100 shape.")
    p.add_argument("--batch_size", type=int, default=1, help="videos per training step (default 1)")
    p.add_argument("--repeats", type=int, default=3, help="timed training steps per implementation (default 3)")
    p.add_argument("--post_repeats", type=int, default=20,
                   help="timed post-processings per implementation (default 20)")
    p.add_argument("--build_repeats", type=int, default=1, help="timed model constructions (default 1)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--mmaction2-site", default=peers.DEFAULT_MMACTION2_SITE,
                   help=f"site-packages of the mmaction2 0.24.1 environment (default {peers.DEFAULT_MMACTION2_SITE})")
    p.add_argument("--output", default=None, help="also write the results to this JSON file (default: none)")
    return p.parse_args(argv)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(fns: Dict[str, Callable[[], Any]], repeats: int) -> Dict[str, float]:
    """Median seconds of each function, run in turns (the order alternates every round)."""
    times: Dict[str, List[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(timed(fns[name]))
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    import numpy as np
    import torch

    from videohub.models.bmn import BMNConfig, BMNForTemporalActionLocalization

    torch.set_num_threads(args.threads)
    problem = peers.import_mmaction2(args.mmaction2_site)
    builders: Dict[str, Callable[[], Any]] = {"videohub": lambda: BMNForTemporalActionLocalization(BMNConfig())}
    if problem is None:
        import mmcv
        from mmaction.models import build_model

        cfg = mmcv.Config.fromfile(os.path.join(args.mmaction2_site, "mmaction", ".mim", "configs", BMN_CONFIG))
        builders["mmaction2"] = lambda: build_model(cfg.model)
    else:
        print(f"reference not timed: {problem}", file=sys.stderr)
    results: Dict[str, Any] = {"threads": torch.get_num_threads(), "batch_size": args.batch_size,
                               "torch": torch.__version__, "reference": problem or "mmaction2 0.24.1"}
    results["build_s"] = interleaved(builders, args.build_repeats)
    torch.manual_seed(0)
    models = {name: build() for name, build in builders.items()}
    vh = models["videohub"]
    if "mmaction2" in models:
        vh.localizer.load_state_dict(models["mmaction2"].state_dict(), strict=True)

    x = torch.randn(args.batch_size, 400, 100)
    gt = torch.tensor([[0.1, 0.3], [0.5, 0.9]])
    losses: Dict[str, float] = {}

    def vh_step() -> None:
        torch.manual_seed(0)  # the BMN loss samples proposals at random: the same draws on both sides
        out = vh(input_features=x, labels=[gt] * args.batch_size)
        out.loss.backward()
        losses["videohub"] = float(out.loss.detach())
        vh.zero_grad(set_to_none=True)

    steps = {"videohub": vh_step}
    if "mmaction2" in models:
        mm = models["mmaction2"]

        def mm_step() -> None:
            torch.manual_seed(0)
            loss = sum(v for v in mm(x, gt_bbox=gt[None].repeat(args.batch_size, 1, 1)).values())
            loss.backward()
            losses["mmaction2"] = float(loss.detach())
            mm.zero_grad(set_to_none=True)

        steps["mmaction2"] = mm_step
    for model in models.values():
        model.train()
    for step in steps.values():
        step()  # warm-up
    results["train_step_s"] = interleaved(steps, args.repeats)
    results["loss"] = dict(losses)

    for model in models.values():
        model.eval()
    with torch.no_grad():
        out = vh(input_features=x[:1])
    meta = {"video_name": "v", "duration_frame": 1600, "duration_second": 100.0, "feature_frame": 1600}
    proposals: Dict[str, Any] = {}
    posts = {"videohub": lambda: proposals.__setitem__("videohub", vh.post_process(out, [meta])[0])}
    if "mmaction2" in models:
        fixed = (out.confidence_map, out.start, out.end)
        mm._forward = lambda raw_feature: fixed  # the network's output, so only the post-processing is timed
        posts["mmaction2"] = lambda: proposals.__setitem__(
            "mmaction2", mm.forward_test(x[:1], [meta])[0]["proposal_list"])
    with torch.no_grad():
        results["post_process_s"] = interleaved(posts, args.post_repeats)
    if "mmaction2" in models:
        results["ratio"] = {key: results[key]["videohub"] / results[key]["mmaction2"]
                            for key in ("build_s", "train_step_s", "post_process_s")}
        a, b = proposals["videohub"], proposals["mmaction2"]
        results["same_proposals"] = len(a) == len(b) and all(
            np.allclose(p["segment"], q["segment"], rtol=1e-5) and np.isclose(p["score"], q["score"], rtol=1e-5)
            for p, q in zip(a, b))
        results["same_loss"] = abs(losses["videohub"] - losses["mmaction2"]) <= 1e-4 * abs(losses["mmaction2"])
    print(json.dumps(results, indent=2))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Time BMN on the standard ActivityNet shape (400 features x 100 snippets): model construction (the
boundary-matching sample mask), a training step (forward + backward + Adam) and the post-processing
(proposal generation + soft-NMS) of one video.

    PYTHONPATH=src python scripts/benchmark_localization.py [--batch_size 1] [--repeats 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch_size", type=int, default=1, help="videos per training step (default 1)")
    p.add_argument("--repeats", type=int, default=3, help="timed repetitions, the median is reported (default 3)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    args = p.parse_args()

    import numpy as np
    import torch

    from videohub.models.bmn import BMNConfig, BMNForTemporalActionLocalization

    torch.manual_seed(0)
    start = time.perf_counter()
    model = BMNForTemporalActionLocalization(BMNConfig()).to(args.device)
    build = time.perf_counter() - start
    optimizer = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=1e-3)
    x = torch.randn(args.batch_size, 400, 100, device=args.device)
    labels = [torch.tensor([[0.1, 0.3], [0.5, 0.9]])] * args.batch_size

    def step() -> None:
        out = model(input_features=x, labels=labels)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def timed(fn) -> float:
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return float(np.median(times))

    step()  # warm-up
    train_step = timed(step)
    model.eval()
    with torch.no_grad():
        out = model(input_features=x[:1])
    meta = [{"duration_frame": 1600, "duration_second": 100.0}]
    post = timed(lambda: model.post_process(out, meta))
    print(json.dumps({"device": args.device, "threads": torch.get_num_threads(), "batch_size": args.batch_size,
                      "build_s": round(build, 3), "train_step_s": round(train_step, 3),
                      "post_process_s": round(post, 4)}))


if __name__ == "__main__":
    main()

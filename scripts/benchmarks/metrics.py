#!/usr/bin/env python
"""Time videohub's vectorized metrics against straightforward loop baselines.

Cases (defaults match the numbers in docs/benchmarks.md):

- AR@AN on ``--videos`` videos x ``--proposals`` proposals (10 tIoU thresholds). The baseline is
  mmaction2's algorithm: a loop over candidate proposals for the IoUs of each video and a loop over
  thresholds, videos and the 100 proposal percentages for the recall.
- Confusion matrix on ``--samples`` predictions over ``--classes`` classes; the baseline increments
  one cell per sample in a Python loop.
- Top-1/top-5 accuracy on a ``--samples`` x ``--classes`` score matrix; the baseline argsorts each
  sample's scores in a loop. mmaction2's own formula (one argsort of the whole matrix per k) is
  timed too, for reference.

Every baseline result is checked to equal videohub's before the table is printed.

Example:  python scripts/benchmarks/metrics.py --videos 500 --samples 10000
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Callable, Dict, List, Tuple

import numpy as np

from videohub.metrics import average_recall_at_avg_proposals, confusion_matrix, top_k_accuracy

THRESHOLDS = np.linspace(0.5, 0.95, 10)


def best_time(fn: Callable[[], object], repeat: int) -> Tuple[float, object]:
    """Smallest wall time of ``repeat`` calls and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def make_localization_data(num_videos: int, num_proposals: int, seed: int):
    rng = np.random.default_rng(seed)
    ground_truth, proposals = {}, {}
    for v in range(num_videos):
        starts = rng.random(rng.integers(1, 6)) * 90.0
        ground_truth[f"video_{v}"] = np.stack([starts, starts + 2.0 + rng.random(starts.size) * 30.0], axis=1)
        begin = rng.random(num_proposals) * 95.0
        proposals[f"video_{v}"] = np.stack(
            [begin, begin + 1.0 + rng.random(num_proposals) * 40.0, rng.random(num_proposals)], axis=1)
    return ground_truth, proposals, num_videos * num_proposals


def aran_loop(ground_truth, proposals, total, max_avg=100, thresholds=THRESHOLDS):
    """mmaction2's AR@AN: per-candidate IoU loop per video, then thresholds x videos x percentages."""
    num_videos = len(ground_truth)
    ratio = max_avg * float(num_videos) / total
    scores, retrieved = [], 0
    for video_id in ground_truth:
        props = proposals[video_id]
        segments = props[props[:, 2].argsort()[::-1], :2].astype(np.float32)
        gts = ground_truth[video_id][:, :2].astype(np.float32)
        keep = min(int(segments.shape[0] * ratio), segments.shape[0])
        retrieved += keep
        segments = segments[:keep]
        iou = np.empty((gts.shape[0], keep), dtype=np.float32)
        for j in range(keep):
            inter = (np.minimum(segments[j, 1], gts[:, 1]) - np.maximum(segments[j, 0], gts[:, 0])).clip(0)
            union = (gts[:, 1] - gts[:, 0]) + (segments[j, 1] - segments[j, 0]) - inter
            iou[:, j] = inter.astype(float) / union
        scores.append(iou)
    pcn = np.arange(1, 101) / 100.0 * (max_avg * float(num_videos) / retrieved)
    recall = np.empty((thresholds.shape[0], 100))
    for r, threshold in enumerate(thresholds):
        matches = np.empty((num_videos, 100))
        positives = np.empty(num_videos)
        for i, score in enumerate(scores):
            positives[i] = score.shape[0]
            hits = score >= threshold
            counts = np.minimum((score.shape[1] * pcn).astype(int), score.shape[1])
            for j, n in enumerate(counts):
                matches[i, j] = np.count_nonzero(hits[:, :n].sum(axis=1))
        recall[r] = matches.sum(axis=0) / positives.sum()
    return recall


def confusion_loop(pred: np.ndarray, real: np.ndarray) -> np.ndarray:
    labels = sorted(set(pred.tolist()) | set(real.tolist()))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for p, r in zip(pred.tolist(), real.tolist()):
        matrix[index[r], index[p]] += 1
    return matrix


def topk_loop(scores: np.ndarray, labels: np.ndarray, topk=(1, 5)) -> List[float]:
    hits = np.zeros(len(topk))
    for row, label in zip(scores, labels):
        order = np.argsort(row)
        for i, k in enumerate(topk):
            hits[i] += label in order[-k:]
    return list(hits / len(labels))


def topk_mmaction2(scores: np.ndarray, labels: np.ndarray, topk=(1, 5)) -> List[float]:
    column = labels[:, None]
    return [np.logical_or.reduce(np.argsort(scores, axis=1)[:, -k:][:, ::-1] == column, axis=1).mean() for k in topk]


def run(args: argparse.Namespace) -> List[Dict[str, object]]:
    rows = []
    gt, props, total = make_localization_data(args.videos, args.proposals, args.seed)
    base_t, base = best_time(lambda: aran_loop(gt, props, total), 1)
    ours_t, ours = best_time(lambda: average_recall_at_avg_proposals(gt, props, total, 100, THRESHOLDS), args.repeat)
    assert np.array_equal(base, ours[0]), "AR@AN baseline and videohub disagree"
    rows.append({"case": "AR@AN (recall curve + AUC)", "size": f"{args.videos:,} videos x {args.proposals} proposals",
                 "baseline": base_t, "videohub": ours_t})

    rng = np.random.default_rng(args.seed)
    real = rng.integers(0, args.classes, args.samples)
    pred = np.where(rng.random(args.samples) < 0.6, real, rng.integers(0, args.classes, args.samples))
    base_t, base = best_time(lambda: confusion_loop(pred, real), 1)
    ours_t, ours = best_time(lambda: confusion_matrix(pred, real), args.repeat)
    assert np.array_equal(base, ours), "confusion matrix baseline and videohub disagree"
    rows.append({"case": "confusion matrix", "size": f"{args.samples:,} samples x {args.classes} classes",
                 "baseline": base_t, "videohub": ours_t})

    scores = rng.random((args.samples, args.classes))
    base_t, base = best_time(lambda: topk_loop(scores, real), 1)
    ours_t, ours = best_time(lambda: top_k_accuracy(scores, real, (1, 5)), args.repeat)
    assert np.allclose(base, ours), "top-k baseline and videohub disagree"
    rows.append({"case": "top-1/top-5 accuracy", "size": f"{args.samples:,} samples x {args.classes} classes",
                 "baseline": base_t, "videohub": ours_t})
    ref_t, ref = best_time(lambda: topk_mmaction2(scores, real), 1)
    assert np.allclose(ref, ours), "mmaction2 top-k formula and videohub disagree"
    rows.append({"case": "top-1/top-5 accuracy vs mmaction2's full argsort", "size": "same",
                 "baseline": ref_t, "videohub": ours_t})
    return rows


def table(rows: List[Dict[str, object]]) -> str:
    lines = ["| case | size | baseline (s) | videohub (s) | speed-up |", "| --- | --- | ---: | ---: | ---: |"]
    for row in rows:
        lines.append(f"| {row['case']} | {row['size']} | {row['baseline']:.3f} | {row['videohub']:.4f} | "
                     f"{row['baseline'] / row['videohub']:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--videos", type=int, default=5000, help="videos for AR@AN (default 5000)")
    parser.add_argument("--proposals", type=int, default=100, help="proposals per video (default 100)")
    parser.add_argument("--samples", type=int, default=100_000, help="samples for confusion/top-k (default 100000)")
    parser.add_argument("--classes", type=int, default=400, help="classes for confusion/top-k (default 400)")
    parser.add_argument("--repeat", type=int, default=3, help="videohub runs per case, best kept (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    args = parser.parse_args()
    rows = run(args)
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {platform.processor() or platform.machine()}")
    print(table(rows))


if __name__ == "__main__":
    main()

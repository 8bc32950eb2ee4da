"""Evaluation during training: when to evaluate, which checkpoint is the best, and the metrics.

:class:`EvalHook` keeps mmcv's rules: evaluate every ``interval`` epochs (or iterations) from
``start``; ``save_best="auto"`` tracks the first metric of the results; ``rule`` is inferred from
the metric name (``acc``, ``top``, ``AR@``, ``auc``, ``precision``, ``mAP`` → greater; ``loss`` → less).
The best value and step are written atomically to ``best.json``.

:func:`evaluate` runs a prepared model over a prepared loader on every process
(:func:`~videohub.training.testing.multi_gpu_test`) and computes the top-k and mean class
accuracies with the bundled ``evaluate`` modules (:func:`compute_metrics`).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, Iterable, Optional, Sequence

import numpy as np
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import ConfigError, ShapeError
from ..utils.io import atomic_write_text
from .testing import multi_gpu_test

GREATER_KEYS = ("acc", "top", "ar@", "auc", "precision", "map", "mdice", "miou", "macc", "aacc")
LESS_KEYS = ("loss",)
RULES = {"greater": lambda a, b: a > b, "less": lambda a, b: a < b}
BEST_FILE = "best.json"


def infer_rule(metric: str) -> str:
    """``"greater"`` or ``"less"`` from a metric name, as mmcv's ``EvalHook._init_rule``."""
    name = metric.lower()
    if any(key in name for key in GREATER_KEYS):
        return "greater"
    if any(key in name for key in LESS_KEYS):
        return "less"
    raise ConfigError(f"cannot infer whether a greater or smaller {metric!r} is better; pass rule='greater'|'less'")


class EvalHook:
    """Evaluation schedule and best-checkpoint bookkeeping.

    Args:
        dataloader: The evaluation data (kept for the caller). Default ``None``.
        start: First epoch/iteration to evaluate at; ``None`` follows ``interval`` alone. Default ``None``.
        interval: Evaluate every ``interval`` epochs/iterations. Default 1.
        by_epoch: Count epochs (``True``, default) or iterations.
        save_best: Metric that decides the best checkpoint, ``"auto"`` (default: the first metric of the
            first results) or ``None`` (no tracking).
        rule: ``"greater"``, ``"less"`` or ``None`` (default: inferred from the metric name).
        out_dir: Where ``best.json`` goes. Default ``None`` (not written).
        **eval_kwargs: Passed on to the dataset's evaluate (kept in ``self.eval_kwargs``).
    """

    def __init__(self, dataloader: Optional[Iterable[Any]] = None, start: Optional[int] = None, interval: int = 1,
                 by_epoch: bool = True, save_best: Optional[str] = "auto", rule: Optional[str] = None,
                 out_dir: Optional[str] = None, **eval_kwargs: Any):
        if interval < 1:
            raise ConfigError(f"EvalHook interval must be positive, got {interval}")
        if start is not None and start < 0:
            raise ConfigError(f"EvalHook start must be >= 0, got {start}")
        if rule not in (None, "greater", "less"):
            raise ConfigError(f"EvalHook rule must be 'greater', 'less' or None, got {rule!r}")
        self.dataloader = dataloader
        self.start = start
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_best = save_best
        self.rule = rule
        self.out_dir = out_dir
        self.eval_kwargs = eval_kwargs
        self.key: Optional[str] = None if save_best in (None, "auto") else save_best
        if self.key is not None and self.rule is None:
            self.rule = infer_rule(self.key)
        self.best_score: Optional[float] = None
        self.best_step: Optional[int] = None

    def should_evaluate(self, progress: int) -> bool:
        """Whether to evaluate after epoch/iteration ``progress`` (1-based), as mmcv decides."""
        if self.start is None:
            return progress % self.interval == 0
        if progress < self.start:
            return False
        return (progress - self.start) % self.interval == 0

    def update(self, results: Dict[str, float], step: int) -> bool:
        """Record ``results`` of ``step``; return whether they are the best so far."""
        if self.save_best is None:
            return False
        if self.key is None:
            if not results:
                raise ConfigError("EvalHook: save_best='auto' needs at least one metric in the results")
            self.key = next(iter(results))
            self.rule = self.rule or infer_rule(self.key)
        if self.key not in results:
            raise ConfigError(f"EvalHook: save_best metric {self.key!r} not in the results {sorted(results)}")
        score = float(results[self.key])
        init = -math.inf if self.rule == "greater" else math.inf
        if not RULES[self.rule](score, init if self.best_score is None else self.best_score):
            return False
        self.best_score, self.best_step = score, step
        if self.out_dir:
            self.write_best(self.out_dir)
        return True

    def write_best(self, out_dir: str) -> None:
        """Write ``best.json`` (metric, rule, best score and step) into ``out_dir``, atomically."""
        atomic_write_text(os.path.join(out_dir, BEST_FILE), json.dumps(
            {"metric": self.key, "rule": self.rule, "best_score": self.best_score, "best_step": self.best_step},
            indent=2))


class DistEvalHook(EvalHook):
    """:class:`EvalHook` for several processes (mmaction2 ``DistEvalHook``).

    Gathering is done by Accelerate (``gather_for_metrics``) in :func:`videohub.training.testing.multi_gpu_test`;
    ``broadcast_bn_buffer`` (default ``True``) asks the caller to sync BN buffers from rank 0
    before evaluating, ``tmpdir`` and ``gpu_collect`` are accepted for config compatibility.
    """

    def __init__(self, dataloader: Optional[Iterable[Any]] = None, start: Optional[int] = None, interval: int = 1,
                 by_epoch: bool = True, save_best: Optional[str] = "auto", rule: Optional[str] = None,
                 broadcast_bn_buffer: bool = True, tmpdir: Optional[str] = None, gpu_collect: bool = False,
                 out_dir: Optional[str] = None, **eval_kwargs: Any):
        super().__init__(dataloader, start, interval, by_epoch, save_best, rule, out_dir, **eval_kwargs)
        self.broadcast_bn_buffer = broadcast_bn_buffer
        self.tmpdir = tmpdir
        self.gpu_collect = gpu_collect


_METRIC_MODULES: Dict[str, Any] = {}


def _metric(name: str) -> Any:
    if name not in _METRIC_MODULES:
        from .. import metrics

        _METRIC_MODULES[name] = metrics.load(name, keep_in_memory=True)
    return _METRIC_MODULES[name]


def compute_metrics(scores: Sequence[np.ndarray], labels: Sequence[int], topk: Sequence[int] = (1, 5)) -> Dict[str, float]:
    """``top{k}_acc`` and ``mean_class_accuracy`` through the bundled ``evaluate`` modules.

    A sample whose scores keep a view axis (``average_clips=None`` with several views) is averaged
    over it first.

    Args:
        scores: One score vector (or ``views x classes`` array) per sample.
        labels: The class id of every sample.
        topk: The k of the top-k accuracies. Default ``(1, 5)``.
    """
    if len(scores) != len(labels):
        raise ShapeError(f"{len(scores)} score vectors but {len(labels)} labels")
    if not scores:
        raise ShapeError("no samples to compute metrics on")
    preds = [np.asarray(s, dtype=np.float64).reshape(-1, np.shape(s)[-1]).mean(0) for s in scores]
    refs = [int(np.asarray(x).reshape(-1)[0]) for x in labels]
    out = dict(_metric("top_k_accuracy").compute(predictions=preds, references=refs, topk=tuple(topk)))
    out.update(_metric("mean_class_accuracy").compute(predictions=preds, references=refs))
    return out


def broadcast_bn_buffers(model: nn.Module, accelerator: Any) -> None:
    """Copy every BN running statistic from process 0 to the others (``DistEvalHook.broadcast_bn_buffer``)."""
    if accelerator.num_processes < 2:
        return
    import torch.distributed as dist

    for module in accelerator.unwrap_model(model).modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            dist.broadcast(module.running_var, 0)
            dist.broadcast(module.running_mean, 0)


def evaluate(model: nn.Module, loader: Iterable[Dict[str, Any]], accelerator: Any, topk: Sequence[int] = (1, 5),
             prefix: str = "eval", predictions_file: Optional[str] = None) -> Dict[str, float]:
    """Evaluate a prepared model on a prepared loader: ``{prefix}_top1_acc`` ... and ``{prefix}_samples``.

    With several processes, BN running statistics are first copied from process 0 (DDP keeps
    per-process statistics; ``DistEvalHook(broadcast_bn_buffer=True)``). Scores and labels are
    gathered from every process with ``gather_for_metrics`` (padding dropped, dataset order kept),
    so ``{prefix}_samples`` equals the dataset size.

    Args:
        model: The prepared model.
        loader: The prepared loader (batches with ``labels``).
        accelerator: The ``accelerate.Accelerator``.
        topk: The k of the top-k accuracies. Default ``(1, 5)``.
        prefix: Prefix of the result keys. Default ``"eval"``.
        predictions_file: Written by the main process: JSON ``{"scores": [...], "labels": [...]}`` in
            dataset order (mmaction2 ``test.py --out``). Default ``None`` (not written).
    """
    broadcast_bn_buffers(model, accelerator)  # every process evaluates (and saves) process 0's BN statistics
    scores, labels = multi_gpu_test(model, loader, accelerator)
    results = compute_metrics(scores, labels, topk)
    out = {f"{prefix}_{k}": float(v) for k, v in results.items()}
    out[f"{prefix}_samples"] = len(scores)
    if predictions_file and accelerator.is_main_process:
        atomic_write_text(predictions_file, json.dumps({
            "scores": [np.asarray(s, dtype=np.float64).tolist() for s in scores],
            "labels": [int(np.asarray(x).reshape(-1)[0]) for x in labels]}))
    return out

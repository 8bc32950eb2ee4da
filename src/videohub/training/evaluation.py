"""Evaluation during training: when to evaluate, and which checkpoint is the best (mmaction2 ``EvalHook``).

:class:`EvalHook` keeps mmcv's rules: evaluate every ``interval`` epochs (or iterations) from
``start``; ``save_best="auto"`` tracks the first metric of the results; ``rule`` is inferred from
the metric name (``acc``, ``top``, ``AR@``, ``auc``, ``precision``, ``mAP`` → greater; ``loss`` → less).
The best value and step are written atomically to ``best.json``.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, Iterable, Optional

from ..errors import ConfigError
from ..utils.io import atomic_write_text

GREATER_KEYS = ("acc", "top", "ar@", "auc", "precision", "map", "mdice", "miou", "macc", "aacc")
LESS_KEYS = ("loss",)
RULES = {"greater": lambda a, b: a > b, "less": lambda a, b: a < b}


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
            atomic_write_text(os.path.join(self.out_dir, "best.json"), json.dumps(
                {"metric": self.key, "rule": self.rule, "best_score": score, "best_step": step}, indent=2))
        return True


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

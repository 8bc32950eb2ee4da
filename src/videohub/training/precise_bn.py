"""Precise BN: recompute BatchNorm statistics over many batches before evaluation (mmaction2 ``PreciseBNHook``).

Each BN layer's running mean and variance become the average of the per-batch statistics of
``num_iters`` batches (momentum 1 during the pass, then averaged), averaged again across processes.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any, Callable, Dict, Iterable, Iterator, Optional

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from tqdm.auto import tqdm

from ..utils import logging

logger = logging.get_logger(__name__)


@torch.no_grad()
def update_bn_stats(
    model: nn.Module,
    data_loader: Iterable[Any],
    num_iters: int = 200,
    forward: Optional[Callable[[nn.Module, Any], Any]] = None,
    accelerator: Any = None,
) -> int:
    """Recompute the statistics of every BN layer in training mode; return the batches used.

    Args:
        model: The model (left in its original train/eval mode afterwards).
        data_loader: Yields batches; ``forward(model, batch)`` runs one (default ``model(**batch)``).
        num_iters: Batches to average over. Default 200.
        forward: How a batch is fed to the model. Default ``model(**batch)``.
        accelerator: An ``accelerate.Accelerator``; with several processes the averages are
            reduced (mean) across them. Default ``None``.
    """
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not bns:
        return 0
    forward = forward or (lambda net, batch: net(**batch))
    was_training = model.training
    model.train()
    momenta = [bn.momentum for bn in bns]
    means = [torch.zeros_like(bn.running_mean) for bn in bns]
    variances = [torch.zeros_like(bn.running_var) for bn in bns]
    for bn in bns:
        bn.momentum = 1.0
    used = 0
    for batch in tqdm(itertools.islice(data_loader, num_iters), total=num_iters, desc="precise BN", leave=False):
        forward(model, batch)
        used += 1
        for bn, mean, var in zip(bns, means, variances):
            mean += (bn.running_mean - mean) / used
            var += (bn.running_var - var) / used
    if used < num_iters:
        logger.warning("precise BN: the data loader gave %d batches, fewer than num_iters=%d", used, num_iters)
    for bn, mean, var, momentum in zip(bns, means, variances, momenta):
        if accelerator is not None and accelerator.num_processes > 1:
            mean, var = accelerator.reduce(mean, "mean"), accelerator.reduce(var, "mean")
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.momentum = momentum
    model.train(was_training)
    return used


def bn_buffers(model: nn.Module) -> Dict[str, torch.Tensor]:
    """Copies of the buffers (running statistics, batch counters) of every BatchNorm of ``model``."""
    return {f"{name}.{key}": buf.detach().clone() for name, module in model.named_modules()
            if isinstance(module, _BatchNorm) for key, buf in module.named_buffers(recurse=False) if buf is not None}


@contextlib.contextmanager
def bn_buffers_as(model: nn.Module, buffers: Optional[Dict[str, torch.Tensor]]) -> Iterator[None]:
    """Within the block, ``model``'s BatchNorm buffers hold ``buffers`` (from :func:`bn_buffers`); after
    it, what they held before. ``None`` (no saved buffers) changes nothing."""
    if buffers is None:
        yield
        return
    current = bn_buffers(model)
    model.load_state_dict(buffers, strict=False)
    try:
        yield
    finally:
        model.load_state_dict(current, strict=False)


class PreciseBNHook:
    """mmaction2's ``PreciseBNHook(dataloader, num_iters=200, interval=1)``.

    Call :meth:`after_train_epoch` at the end of each epoch; every ``interval`` epochs it runs
    :func:`update_bn_stats` over ``num_iters`` batches of ``dataloader``.
    """

    def __init__(self, dataloader: Iterable[Any], num_iters: int = 200, interval: int = 1):
        self.dataloader = dataloader
        self.num_iters = num_iters
        self.interval = interval

    def after_train_epoch(self, model: nn.Module, epoch: int, **kwargs: Any) -> bool:
        """Recompute BN statistics if ``epoch`` (1-based) is a multiple of ``interval``; return whether it ran."""
        if epoch % self.interval:
            return False
        update_bn_stats(model, self.dataloader, self.num_iters, **kwargs)
        return True

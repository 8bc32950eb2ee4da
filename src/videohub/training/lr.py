"""Learning-rate schedules with mmcv / mmaction2 semantics, as ``torch.optim.lr_scheduler.LambdaLR``.

Policies: ``"step"`` (``step``: list of steps, ``gamma`` 0.1), ``"cosine"`` (``min_lr`` absolute or
``min_lr_ratio``), ``"tin"`` (mmaction2 ``TINLrUpdaterHook``: cosine to ``min_lr`` counted after the
warmup), ``"fixed"``. Any policy takes a warmup: ``warmup`` ``"linear"``/``"constant"``/``"exp"``,
``warmup_iters``, ``warmup_ratio`` (default 0.1). Steps are optimizer steps (iterations); give epoch
boundaries multiplied by the steps per epoch.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Union

import torch

from ..errors import ConfigError

POLICIES = ("fixed", "step", "cosine", "tin")
WARMUPS = (None, "linear", "constant", "exp")


def annealing_cos(start: float, end: float, factor: float, weight: float = 1.0) -> float:
    """Cosine from ``start`` (factor 0) to ``end`` (factor 1), as mmcv's ``annealing_cos``."""
    return end + 0.5 * weight * (start - end) * (math.cos(math.pi * factor) + 1)


def warmup_factor(step: int, warmup: Optional[str], warmup_iters: int, warmup_ratio: float) -> float:
    """Multiplier of the regular lr during warmup (1 after it), as mmcv's ``get_warmup_lr``."""
    if warmup is None or step >= warmup_iters:
        return 1.0
    if warmup == "linear":
        return 1 - (1 - step / warmup_iters) * (1 - warmup_ratio)
    if warmup == "constant":
        return warmup_ratio
    return warmup_ratio ** (1 - step / warmup_iters)


def lr_at(
    step: int,
    base_lr: float,
    total_steps: int,
    policy: str = "fixed",
    gamma: float = 0.1,
    milestones: Union[int, Sequence[int]] = (),
    min_lr: Optional[float] = None,
    min_lr_ratio: Optional[float] = None,
    warmup: Optional[str] = None,
    warmup_iters: int = 0,
    warmup_ratio: float = 0.1,
) -> float:
    """The learning rate of a group whose base lr is ``base_lr`` at optimizer step ``step``."""
    if policy == "fixed":
        regular = base_lr
    elif policy == "step":
        passed = step // milestones if isinstance(milestones, int) else sum(step >= s for s in milestones)
        regular = base_lr * gamma**passed
    elif policy == "cosine":
        target = min_lr if min_lr is not None else base_lr * (min_lr_ratio or 0.0)
        regular = annealing_cos(base_lr, target, step / max(total_steps, 1))
    elif policy == "tin":
        if min_lr is None:
            raise ConfigError("the 'tin' lr policy needs min_lr")
        offset = warmup_iters if warmup is not None else 0
        regular = annealing_cos(base_lr, min_lr, (step - offset) / max(total_steps - offset, 1))
    else:
        raise ConfigError(f"unknown lr policy {policy!r}; expected one of {POLICIES}")
    if warmup not in WARMUPS:
        raise ConfigError(f"unknown warmup {warmup!r}; expected one of {WARMUPS}")
    return regular * warmup_factor(step, warmup, warmup_iters, warmup_ratio)


def build_lr_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, policy: str = "fixed",
                       **kwargs) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` following :func:`lr_at` for every parameter group (its own base lr).

    Args:
        optimizer: The optimizer whose group ``lr`` values are the base lrs.
        total_steps: Optimizer steps of the whole run (cosine / tin length).
        policy: One of :data:`POLICIES`. Default ``"fixed"``.
        **kwargs: ``gamma``, ``milestones`` (mmcv's ``step``), ``min_lr``, ``min_lr_ratio``, ``warmup``,
            ``warmup_iters``, ``warmup_ratio`` (see :func:`lr_at`).
    """
    lambdas = [_relative(group["lr"], total_steps, policy, kwargs) for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)


def _relative(base: float, total_steps: int, policy: str, kwargs: dict) -> Callable[[int], float]:
    lr_at(0, base or 1.0, total_steps, policy, **kwargs)  # validate the arguments now
    return lambda step: lr_at(step, base, total_steps, policy, **kwargs) / base if base else 0.0


class TINLrUpdaterHook:
    """mmaction2's ``TINLrUpdaterHook(min_lr, **kwargs)``: cosine annealing to ``min_lr`` after warmup.

    ``kwargs`` are mmcv ``LrUpdaterHook`` options: ``warmup`` (``None``), ``warmup_iters`` (0),
    ``warmup_ratio`` (0.1). :meth:`scheduler` gives the equivalent ``LambdaLR``.
    """

    def __init__(self, min_lr: float, warmup: Optional[str] = None, warmup_iters: int = 0,
                 warmup_ratio: float = 0.1):
        self.min_lr = min_lr
        self.warmup = warmup
        self.warmup_iters = warmup_iters
        self.warmup_ratio = warmup_ratio

    def get_lr(self, step: int, total_steps: int, base_lr: float) -> float:
        """The lr at ``step`` of ``total_steps`` for a group with ``base_lr``."""
        return lr_at(step, base_lr, total_steps, "tin", min_lr=self.min_lr, warmup=self.warmup,
                     warmup_iters=self.warmup_iters, warmup_ratio=self.warmup_ratio)

    def scheduler(self, optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
        return build_lr_scheduler(optimizer, total_steps, "tin", min_lr=self.min_lr, warmup=self.warmup,
                                  warmup_iters=self.warmup_iters, warmup_ratio=self.warmup_ratio)

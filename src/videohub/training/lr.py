"""Learning-rate schedules with mmcv / mmaction2 semantics, as ``torch.optim.lr_scheduler.LambdaLR``.

Policies: ``"step"`` (``step``: list of steps, ``gamma`` 0.1), ``"cosine"`` (``min_lr`` absolute or
``min_lr_ratio``), ``"tin"`` (mmaction2 ``TINLrUpdaterHook``: cosine to ``min_lr`` counted after the
warmup), ``"fixed"``. Any policy takes a warmup: ``warmup`` ``"linear"``/``"constant"``/``"exp"``,
``warmup_iters``, ``warmup_ratio`` (default 0.1).

Two entry points: :func:`build_lr_scheduler` counts everything in optimizer steps (iterations);
:func:`make_lr_scheduler` reads an mmcv ``lr_config`` dict (``by_epoch`` milestones and cosine
progress in epochs, ``warmup_by_epoch``), as the training loop does. :func:`scheduler_state` /
:func:`load_scheduler_state` store a schedule's position as JSON in the loop's checkpoints.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Dict, Optional, Sequence, Union

import torch

from ..errors import ConfigError

POLICIES = ("fixed", "step", "cosine", "tin")
WARMUPS = (None, "linear", "constant", "exp")
# mmcv lr_config policy names (lower-cased) -> POLICIES
POLICY_ALIASES = {
    "fixed": "fixed", "step": "step", "cosine": "cosine", "cosineannealing": "cosine", "tin": "tin",
    "tinlrupdaterhook": "tin",
}
LR_CONFIG_KEYS = ("policy", "by_epoch", "step", "gamma", "min_lr", "min_lr_ratio", "warmup", "warmup_iters",
                  "warmup_ratio", "warmup_by_epoch")


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


def make_lr_scheduler(optimizer: torch.optim.Optimizer, lr_config: Optional[Dict[str, Any]], steps_per_epoch: int,
                      total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` (stepped once per optimizer step) following an mmcv ``lr_config``.

    Keys (mmcv names and defaults): ``policy`` (``"fixed"``, ``"step"``, ``"CosineAnnealing"``/
    ``"cosine"``, ``"TIN"``/``"tin"``), ``by_epoch`` (True: ``step`` milestones in epochs and the
    cosine progress counted in whole epochs, as mmcv), ``step`` (milestones), ``gamma`` (0.1),
    ``min_lr``, ``min_lr_ratio``, ``warmup`` (None, ``"linear"``, ``"constant"``, ``"exp"``),
    ``warmup_iters`` (0), ``warmup_ratio`` (0.1), ``warmup_by_epoch`` (False: ``warmup_iters`` counts
    iterations; True: epochs). Warmup always advances per iteration, as in mmcv.

    Args:
        optimizer: The optimizer whose group ``lr`` values are the base lrs.
        lr_config: The mmcv dict; ``None`` means ``{"policy": "fixed"}``.
        steps_per_epoch: Optimizer steps per epoch.
        total_steps: Optimizer steps of the whole run.
    """
    cfg = dict(lr_config or {"policy": "fixed"})
    unknown = sorted(set(cfg) - set(LR_CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"lr_config: unknown key(s) {unknown}; known keys are {sorted(LR_CONFIG_KEYS)}")
    raw_policy = str(cfg.pop("policy", "fixed"))
    policy = POLICY_ALIASES.get(raw_policy.lower())
    if policy is None:
        raise ConfigError(f"lr_config policy {raw_policy!r} is not supported; use one of "
                          "'fixed', 'step', 'CosineAnnealing', 'TIN'")
    by_epoch = bool(cfg.pop("by_epoch", True))
    spe = max(int(steps_per_epoch), 1)
    warmup = cfg.get("warmup")
    raw_warmup_iters = int(cfg.get("warmup_iters", 0))
    warmup_iters = raw_warmup_iters * spe if cfg.pop("warmup_by_epoch", False) else raw_warmup_iters
    ratio = float(cfg.get("warmup_ratio", 0.1))
    milestones = cfg.get("step", ())
    if policy == "step" and (milestones == () or milestones is None):
        raise ConfigError("lr_config policy 'step' needs 'step' (milestones)")
    if policy == "tin" and cfg.get("min_lr") is None:
        raise ConfigError("lr_config policy 'TIN' needs 'min_lr'")
    if policy == "cosine" and cfg.get("min_lr") is None and cfg.get("min_lr_ratio") is None:
        raise ConfigError("lr_config policy 'CosineAnnealing' needs 'min_lr' or 'min_lr_ratio'")
    if not by_epoch:
        return build_lr_scheduler(optimizer, total_steps, policy, gamma=cfg.get("gamma", 0.1), milestones=milestones,
                                  min_lr=cfg.get("min_lr"), min_lr_ratio=cfg.get("min_lr_ratio"), warmup=warmup,
                                  warmup_iters=warmup_iters, warmup_ratio=ratio)
    if warmup not in WARMUPS:
        raise ConfigError(f"unknown warmup {warmup!r}; expected one of {WARMUPS}")
    total_epochs = max(math.ceil(total_steps / spe), 1)

    def factor(base: float) -> Callable[[int], float]:
        def at(step: int) -> float:
            if not base:
                return 0.0
            epoch = step // spe
            if policy == "tin":  # mmaction2 TINLrUpdaterHook: progress shifted by the raw warmup_iters
                offset = raw_warmup_iters if warmup is not None else 0
                regular = annealing_cos(base, cfg["min_lr"], (epoch - offset) / max(total_epochs - offset, 1))
            else:
                regular = lr_at(epoch, base, total_epochs, policy, gamma=cfg.get("gamma", 0.1), milestones=milestones,
                                min_lr=cfg.get("min_lr"), min_lr_ratio=cfg.get("min_lr_ratio"))
            return regular * warmup_factor(step, warmup, warmup_iters, ratio) / base

        return at

    return torch.optim.lr_scheduler.LambdaLR(optimizer, [factor(g["lr"]) for g in optimizer.param_groups])


def scheduler_state(scheduler: torch.optim.lr_scheduler.LambdaLR) -> Dict[str, Any]:
    """The position of a ``LambdaLR`` as JSON-able data (its lambdas are rebuilt from the config)."""
    state = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    return json.loads(json.dumps(state, default=float))


def load_scheduler_state(scheduler: torch.optim.lr_scheduler.LambdaLR, state: Dict[str, Any]) -> None:
    """Restore the position stored by :func:`scheduler_state`."""
    scheduler.load_state_dict(dict(state, lr_lambdas=[None] * len(scheduler.lr_lambdas)))

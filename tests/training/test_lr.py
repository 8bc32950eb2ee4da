"""Learning-rate schedules against hand-computed values."""

import math

import pytest
import torch

from videohub.errors import ConfigError
from videohub.training import TINLrUpdaterHook, build_lr_scheduler, lr_at


def test_step_policy():
    assert [lr_at(s, 1.0, 100, "step", milestones=[10, 20]) for s in (0, 9, 10, 19, 20)] == \
        pytest.approx([1, 1, 0.1, 0.1, 0.01])
    assert lr_at(25, 1.0, 100, "step", milestones=10, gamma=0.5) == pytest.approx(0.25)


def test_cosine_with_linear_warmup():
    # warmup: lr * (1 - (1 - s/w) * (1 - ratio)); s=0 -> ratio, s=w/2 -> (1 + ratio) / 2
    assert lr_at(0, 1.0, 100, "cosine", min_lr=0.0, warmup="linear", warmup_iters=10, warmup_ratio=0.1) == \
        pytest.approx(0.1 * (0.5 * (1 + math.cos(0))))
    half = 0.5 * (1 + math.cos(math.pi * 5 / 100))
    assert lr_at(5, 1.0, 100, "cosine", min_lr=0.0, warmup="linear", warmup_iters=10, warmup_ratio=0.1) == \
        pytest.approx(half * 0.55)
    assert lr_at(100, 2.0, 100, "cosine", min_lr_ratio=0.1) == pytest.approx(0.2)


def test_tin_counts_after_warmup():
    hook = TINLrUpdaterHook(min_lr=0.0, warmup="linear", warmup_iters=10, warmup_ratio=0.1)
    # at the end of warmup the cosine starts from the base lr
    assert hook.get_lr(10, 110, 1.0) == pytest.approx(1.0)
    assert hook.get_lr(60, 110, 1.0) == pytest.approx(0.5)
    assert hook.get_lr(110, 110, 1.0) == pytest.approx(0.0, abs=1e-12)


def test_scheduler_scales_each_group():
    params = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD([{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": 0.5}], lr=0.1)
    sched = build_lr_scheduler(opt, 10, "step", milestones=[2])
    for _ in range(2):
        opt.step()
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01, 0.05])
    with pytest.raises(ConfigError, match="policy"):
        build_lr_scheduler(opt, 10, "bogus")

"""Precise BN sets running statistics to the average of per-batch statistics."""

import torch
from torch import nn

from videohub.training import PreciseBNHook, update_bn_stats


def test_running_stats_become_batch_averages():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))
    batches = [{"x": torch.randn(4, 2, 5, 5) * (i + 1) + i} for i in range(3)]
    with torch.no_grad():
        feats = [net[0](b["x"]) for b in batches]
    expected_mean = torch.stack([f.mean(dim=(0, 2, 3)) for f in feats]).mean(0)
    expected_var = torch.stack([f.var(dim=(0, 2, 3), unbiased=True) for f in feats]).mean(0)
    net.eval()
    used = update_bn_stats(net, batches, num_iters=3, forward=lambda m, b: m(b["x"]))
    assert used == 3 and not net.training
    torch.testing.assert_close(net[1].running_mean, expected_mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(net[1].running_var, expected_var, rtol=1e-5, atol=1e-6)
    assert net[1].momentum == 0.1


def test_hook_interval():
    net = nn.Sequential(nn.BatchNorm1d(2))
    hook = PreciseBNHook([torch.randn(3, 2)], num_iters=1, interval=2)
    assert not hook.after_train_epoch(net, 1, forward=lambda m, b: m(b))
    assert hook.after_train_epoch(net, 2, forward=lambda m, b: m(b))

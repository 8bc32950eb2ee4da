"""Distributed samplers: coverage across ranks, seeding, class-power sampling."""

import collections

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from videohub.data.datasets import RepeatDataset
from videohub.data.samplers import ClassSpecificDistributedSampler, DistributedPowerSampler, DistributedSampler
from videohub.errors import ConfigError


class Labelled(Dataset):
    """A stand-in dataset with mmaction2-style ``video_infos``."""

    def __init__(self, labels, class_prob=None):
        self.video_infos = [dict(label=x) for x in labels]
        if class_prob is not None:
            self.class_prob = class_prob

    def __len__(self):
        return len(self.video_infos)

    def __getitem__(self, i):
        return i


@pytest.mark.parametrize("n", [10, 11])
@pytest.mark.parametrize("shuffle", [True, False])
def test_two_replicas_cover_dataset_exactly(n, shuffle):
    ds = Labelled([0] * n)
    parts = [list(DistributedSampler(ds, num_replicas=2, rank=r, shuffle=shuffle, seed=3)) for r in (0, 1)]
    assert len(parts[0]) == len(parts[1]) == (n + 1) // 2
    assert set(parts[0]) | set(parts[1]) == set(range(n))
    together = parts[0] + parts[1]
    assert len(together) == n + (n % 2)  # odd n: exactly one index is repeated as padding
    if n % 2 == 0:
        assert sorted(together) == list(range(n))
    if not shuffle:
        assert parts[0][:3] == [0, 2, 4] and parts[1][:3] == [1, 3, 5]


def test_distributed_sampler_seed_and_epoch():
    ds = Labelled([0] * 20)
    a = DistributedSampler(ds, num_replicas=1, rank=0, seed=5)
    b = DistributedSampler(ds, num_replicas=1, rank=0, seed=5)
    assert list(a) == list(b)
    g = torch.Generator()
    g.manual_seed(5)
    assert list(a) == torch.randperm(20, generator=g).tolist()
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and sorted(list(a)) == list(range(20))
    assert list(DistributedSampler(ds, num_replicas=1, rank=0, seed=6)) != first
    with pytest.raises(ConfigError, match="rank 2 is out of range"):
        DistributedSampler(ds, num_replicas=2, rank=2)


def test_power_sampler_class_frequencies():
    labels = [0] * 60 + [1] * 30 + [2] * 10
    ds = Labelled(labels)
    for power, expected in ((1, [0.6, 0.3, 0.1]), (0, [1 / 3, 1 / 3, 1 / 3]),
                            (0.5, np.sqrt([60, 30, 10]) / np.sqrt([60, 30, 10]).sum())):
        sampler = DistributedPowerSampler(ds, num_replicas=1, rank=0, power=power, seed=0)
        draws = []
        for epoch in range(60):
            sampler.set_epoch(epoch)
            draws.extend(sampler)
        counts = collections.Counter(labels[i] for i in draws)
        freq = np.array([counts[c] for c in range(3)]) / len(draws)
        np.testing.assert_allclose(freq, expected, atol=0.02)
    # within a class every sample can come up (indices, not class ids, are returned)
    sampler = DistributedPowerSampler(ds, num_replicas=1, rank=0, power=0, seed=1)
    seen = set()
    for epoch in range(30):
        sampler.set_epoch(epoch)
        seen |= set(sampler)
    assert {i for i in seen if labels[i] == 2} == set(range(90, 100))


def test_power_sampler_ranks_split_one_draw():
    ds = Labelled([0] * 7 + [1] * 4)
    ranks = [list(DistributedPowerSampler(ds, num_replicas=2, rank=r, power=0.5, seed=9)) for r in (0, 1)]
    single = list(DistributedPowerSampler(ds, num_replicas=1, rank=0, power=0.5, seed=9))
    assert len(ranks[0]) == len(ranks[1]) == 6
    # the same seeded draw of total_size=12 indices, interleaved between the ranks
    g = torch.Generator()
    g.manual_seed(9)
    weights = torch.tensor([7 ** -0.5] * 7 + [4 ** -0.5] * 4, dtype=torch.float64)
    full = torch.multinomial(weights, 12, replacement=True, generator=g).tolist()
    assert ranks[0] == full[0::2] and ranks[1] == full[1::2]
    assert len(single) == 11


def test_power_sampler_with_repeat_dataset():
    class Repeatable(Labelled):
        pass

    inner = Repeatable([0, 0, 1])
    rep = RepeatDataset(inner, 2)
    sampler = DistributedPowerSampler(rep, num_replicas=1, rank=0, power=1)
    assert len(sampler.sample_weights()) == 6
    assert all(0 <= i < 6 for i in sampler)
    with pytest.raises(ConfigError, match="single-label"):
        list(DistributedPowerSampler(Labelled([[0, 1]]), num_replicas=1, rank=0))


def test_class_specific_sampler_dynamic_length():
    labels = [0] * 8 + [1] * 2
    ds = Labelled(labels, class_prob={0: 0.5, 1: 0.5})
    sampler = ClassSpecificDistributedSampler(ds, num_replicas=1, rank=0, dynamic_length=True, seed=0)
    out = list(sampler)
    counts = collections.Counter(labels[i] for i in out)
    # class 0: int(0.5 * 8) = 4 samples; class 1: 0.5 of 2 = 1 sample
    assert counts == {0: 4, 1: 1} and len(set(out)) == 5
    fixed = ClassSpecificDistributedSampler(ds, num_replicas=2, rank=1, dynamic_length=False, seed=0)
    assert len(list(fixed)) == 5

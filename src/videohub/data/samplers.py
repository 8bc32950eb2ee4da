"""Distributed samplers of mmaction2 v0.24: ``DistributedSampler``, ``ClassSpecificDistributedSampler``
and ``DistributedPowerSampler``.

All are seeded (``seed + epoch``; call ``set_epoch`` every epoch) and split one global index list
across ranks (``indices[rank::num_replicas]``), so the ranks of one epoch see disjoint positions
of the same list. Without an initialized process group, ``num_replicas`` and ``rank`` default to
1 and 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterator, List, Optional, Tuple

import torch
import torch.distributed as dist
from torch.utils.data import Dataset
from torch.utils.data import DistributedSampler as _TorchDistributedSampler

from ..errors import ConfigError


def _world(num_replicas: Optional[int], rank: Optional[int]) -> Tuple[int, int]:
    initialized = dist.is_available() and dist.is_initialized()
    if num_replicas is None:
        num_replicas = dist.get_world_size() if initialized else 1
    if rank is None:
        rank = dist.get_rank() if initialized else 0
    if not 0 <= rank < num_replicas:
        raise ConfigError(f"rank {rank} is out of range [0, {num_replicas - 1}]")
    return num_replicas, rank


def _unwrap(dataset: Dataset) -> Tuple[Dataset, int]:
    """``(inner dataset, times)`` for a ``RepeatDataset``, else ``(dataset, 1)``."""
    if type(dataset).__name__ == "RepeatDataset":
        return dataset.dataset, dataset.times
    return dataset, 1


def _single_labels(dataset: Dataset, who: str) -> List[int]:
    infos = getattr(dataset, "video_infos", None)
    if infos is None:
        raise ConfigError(f"{who} needs a dataset with video_infos (a videohub/mmaction2 dataset)")
    labels = [info["label"] for info in infos]
    if not all(isinstance(x, int) for x in labels):
        raise ConfigError(f"{who} applies to single-label datasets; found a label of type {type(labels[0]).__name__}")
    return labels


class DistributedSampler(_TorchDistributedSampler):
    """Shuffled (or ordered) indices padded to a multiple of ``num_replicas`` and split by rank.

    Args:
        dataset: The dataset.
        num_replicas: Number of processes. Default: the world size (1 without a process group).
        rank: This process. Default: the global rank (0 without a process group).
        shuffle: Shuffle with ``torch.randperm`` seeded by ``seed + epoch``. Default: True.
        seed: Seed (None means 0). Default: 0.
    """

    def __init__(
        self,
        dataset: Dataset,
        num_replicas: Optional[int] = None,
        rank: Optional[int] = None,
        shuffle: bool = True,
        seed: int = 0,
    ):
        num_replicas, rank = _world(num_replicas, rank)
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle)
        self.seed = seed if seed is not None else 0

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.epoch + self.seed)
            indices = torch.randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        while len(indices) < self.total_size:  # pad (repeating from the start) to divide evenly
            indices += indices[: self.total_size - len(indices)]
        indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])


class ClassSpecificDistributedSampler(_TorchDistributedSampler):
    """Sample by the class probabilities ``dataset.class_prob`` (set by ``sample_by_class=True``).

    ``dynamic_length=True`` over/under-samples each class by its probability times the dataset
    size (the epoch length changes); ``False`` keeps the length and draws with replacement.

    Args:
        dataset: A single-label dataset with ``class_prob`` (or a ``RepeatDataset`` of one).
        num_replicas: Number of processes. Default: world size.
        rank: This process. Default: global rank.
        dynamic_length: See above. Default: True.
        shuffle: Shuffle the dynamic-length list. Default: True.
        seed: Seed (None means 0). Default: 0.
    """

    def __init__(
        self,
        dataset: Dataset,
        num_replicas: Optional[int] = None,
        rank: Optional[int] = None,
        dynamic_length: bool = True,
        shuffle: bool = True,
        seed: int = 0,
    ):
        num_replicas, rank = _world(num_replicas, rank)
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle)
        inner, _ = _unwrap(dataset)
        if not hasattr(inner, "class_prob"):
            raise ConfigError("ClassSpecificDistributedSampler needs dataset.class_prob (build it with sample_by_class=True)")
        self.class_prob = inner.class_prob
        self.dynamic_length = dynamic_length
        self.seed = seed if seed is not None else 0

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        inner, times = _unwrap(self.dataset)
        labels = _single_labels(inner, type(self).__name__)
        class_indices = defaultdict(list)
        for i, label in enumerate(labels):
            class_indices[label].append(i)
        if self.dynamic_length:
            indices: List[int] = []
            for k, prob in self.class_prob.items():
                prob = prob * times
                for _ in range(int(prob // 1)):
                    indices.extend(class_indices[k])
                rem = int((prob % 1) * len(class_indices[k]))
                order = torch.randperm(len(class_indices[k]), generator=g).tolist()[:rem]
                indices.extend(class_indices[k][i] for i in order)
            if self.shuffle:
                perm = torch.randperm(len(indices), generator=g).tolist()
                indices = [indices[i] for i in perm]
            self.num_samples = math.ceil(len(indices) / self.num_replicas)
            self.total_size = self.num_samples * self.num_replicas
        else:
            probs = [self.class_prob[lb] / len(class_indices[lb]) for lb in labels]
            indices = torch.multinomial(torch.tensor(probs), self.total_size, replacement=True, generator=g).tolist()
        while len(indices) < self.total_size:
            indices += indices[: self.total_size - len(indices)]
        return iter(indices[self.rank : self.total_size : self.num_replicas])


class DistributedPowerSampler(_TorchDistributedSampler):
    """Bootstrap sampling where a class is drawn with probability ``count ** power / sum``.

    Each of the ``total_size`` draws picks a sample with weight ``count(label) ** (power - 1)``,
    so classes come up in proportion to ``count ** power`` and samples of a class uniformly:
    ``power=1`` is bootstrap sampling of the dataset, ``power=0`` is uniform over classes.
    (mmaction2's implementation drew class ids and returned them as sample indices; this draws
    sample indices, which is what its documentation describes.)

    Args:
        dataset: A single-label dataset (or a ``RepeatDataset`` of one).
        num_replicas: Number of processes. Default: world size.
        rank: This process. Default: global rank.
        power: Exponent of the class frequency. Default: 1.
        seed: Seed (None means 0). Default: 0.
    """

    def __init__(
        self,
        dataset: Dataset,
        num_replicas: Optional[int] = None,
        rank: Optional[int] = None,
        power: float = 1,
        seed: int = 0,
    ):
        num_replicas, rank = _world(num_replicas, rank)
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False)
        self.power = power
        self.seed = seed if seed is not None else 0

    def sample_weights(self) -> torch.Tensor:
        """Per-index draw weights (over ``len(dataset)`` indices, RepeatDataset included)."""
        inner, times = _unwrap(self.dataset)
        labels = _single_labels(inner, type(self).__name__)
        counts = defaultdict(int)
        for label in labels:
            counts[label] += 1
        weights = torch.tensor([float(counts[label]) ** (self.power - 1) for label in labels], dtype=torch.float64)
        return weights.repeat(times)

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.epoch + self.seed)
        indices = torch.multinomial(self.sample_weights(), self.total_size, replacement=True, generator=g).tolist()
        return iter(indices[self.rank : self.total_size : self.num_replicas])

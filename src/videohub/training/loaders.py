"""Data loaders of the training loop: seeded augmentation, samplers, batch collation.

- :class:`SeededDataset`: augmentation randomness drawn per ``(seed, epoch, index)``, so a resumed
  run sees the same augmented clips as an uninterrupted one, whatever the worker count.
- :func:`build_train_loader`: one global sampler (Accelerate shards its batches over processes):
  seeded shuffling, class-balanced (``DistributedPowerSampler``) or class-specific.
- :func:`build_eval_loader` / :func:`build_precise_bn_loader`: ordered evaluation batches, and
  this process's shuffled shard of the training set for precise BN.

Every loader collates with :class:`~videohub.data.collate.VideoCollator` and owns its
``torch.Generator``, so iterating one never draws from the global RNG that training uses.
"""

from __future__ import annotations

import random
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..data.collate import VideoCollator
from ..data.samplers import ClassSpecificDistributedSampler, DistributedPowerSampler, DistributedSampler
from ..errors import ConfigError


class SeededDataset(Dataset):
    """Wrap a dataset so that sample ``i`` of epoch ``e`` is transformed with RNGs seeded by ``(seed, e, i)``.

    numpy's, python's and torch's (CPU) global generators are seeded for the call and restored after
    it, so random augmentations are a function of ``(seed, epoch, index)`` only: a resumed run or
    a different worker count sees the same clips. ``video_infos`` (labels for the class-balanced
    samplers) comes from the wrapped dataset or from ``labels``.

    Args:
        dataset: A map-style dataset (a ``datasets.Dataset`` with a transform, or a videohub dataset).
        seed: Base seed.
        labels: Class id of every sample, when ``dataset`` has no ``video_infos``. Default ``None``.
    """

    def __init__(self, dataset: Any, seed: int, labels: Optional[Sequence[int]] = None):
        self.dataset = dataset
        self.seed = int(seed)
        self.epoch = 0
        self._labels = None if labels is None else [int(x) for x in labels]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    @property
    def video_infos(self) -> List[Dict[str, Any]]:
        if self._labels is not None:
            return [{"label": label} for label in self._labels]
        infos = getattr(self.dataset, "video_infos", None)
        if infos is None:
            raise ConfigError("class-balanced sampling needs the labels of the training set (pass labels=)")
        return infos

    def __getattr__(self, name: str) -> Any:  # class_prob, sample_by_class, ... of the wrapped dataset
        if name.startswith("__") or name in ("dataset", "seed", "epoch", "_labels"):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, idx: int) -> Any:
        seed = int(np.random.SeedSequence([self.seed, self.epoch, int(idx)]).generate_state(1)[0])
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            with torch.random.fork_rng(devices=[]):
                np.random.seed(seed)
                random.seed(seed)
                # the CPU generator only: torch.manual_seed would also reseed the GPU generators, which
                # this wrapper does not restore (dropout on the GPU would then depend on the prefetched batch)
                torch.random.default_generator.manual_seed(seed)
                return self.dataset[idx]
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


def labels_of(dataset: Any) -> Optional[List[int]]:
    """Single-label class ids of a metadata dataset (a ``datasets.Dataset`` column or ``video_infos``).

    ``None`` when the dataset has no single-label ``label`` column or infos.
    """
    column_names = getattr(dataset, "column_names", None)
    if column_names is not None and "label" in column_names:
        labels = dataset.with_format(None)["label"] if hasattr(dataset, "with_format") else dataset["label"]
        return [int(x) for x in labels] if all(isinstance(x, (int, np.integer)) for x in labels) else None
    infos = getattr(dataset, "video_infos", None)
    if infos is not None and all(isinstance(i.get("label"), (int, np.integer)) for i in infos):
        return [int(i["label"]) for i in infos]
    return None


def build_train_loader(dataset: Any, batch_size: int, seed: int, num_workers: int = 0, class_balanced: bool = False,
                       sampling_power: float = 0.0,
                       labels: Optional[Sequence[int]] = None) -> Tuple[DataLoader, SeededDataset, Any]:
    """The training loader: one global sampler (Accelerate splits its batches over processes).

    ``class_balanced`` uses ``DistributedPowerSampler(power=sampling_power)``; a dataset built with
    ``sample_by_class=True`` uses ``ClassSpecificDistributedSampler``; otherwise a seeded shuffling
    ``DistributedSampler``. All with one replica.

    Args:
        dataset: The training samples.
        batch_size: Clips per process per forward pass.
        seed: Seed of the sampler and of :class:`SeededDataset`.
        num_workers: Loader workers. Default 0.
        class_balanced: Draw with ``DistributedPowerSampler``. Default ``False``.
        sampling_power: Its ``power``: 0 = uniform over classes, 1 = as the data. Default 0.0.
        labels: Class ids of the samples (class-balanced sampling). Default ``None``.

    Returns:
        ``(loader, seeded dataset, sampler)``.
    """
    seeded = SeededDataset(dataset, seed, labels=labels)
    if class_balanced:
        sampler = DistributedPowerSampler(seeded, num_replicas=1, rank=0, power=sampling_power, seed=seed)
    elif getattr(dataset, "sample_by_class", False):
        sampler = ClassSpecificDistributedSampler(seeded, num_replicas=1, rank=0,
                                                  dynamic_length=getattr(dataset, "dynamic_length", True),
                                                  shuffle=True, seed=seed)
    else:
        sampler = DistributedSampler(seeded, num_replicas=1, rank=0, shuffle=True, seed=seed)
    loader = DataLoader(seeded, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                        collate_fn=VideoCollator(), generator=_generator(seed), drop_last=False)
    return loader, seeded, sampler


def build_precise_bn_loader(seeded: SeededDataset, batch_size: int, seed: int, epoch: int, accelerator: Any,
                            num_workers: int = 0) -> DataLoader:
    """This process's shard of the (augmented) training set for precise BN, shuffled per epoch.

    Args:
        seeded: The training set of :func:`build_train_loader`.
        batch_size: Clips per batch.
        seed: The run's seed (the shard order uses ``seed + 1``).
        epoch: The epoch whose shuffle is used.
        accelerator: Gives the process count and index.
        num_workers: Loader workers. Default 0.
    """
    sampler = DistributedSampler(seeded, num_replicas=accelerator.num_processes, rank=accelerator.process_index,
                                 shuffle=True, seed=seed + 1)
    sampler.set_epoch(epoch)
    return DataLoader(seeded, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      collate_fn=VideoCollator(), generator=_generator(seed))


def build_eval_loader(dataset: Any, batch_size: int, num_workers: int = 0) -> DataLoader:
    """An ordered evaluation loader (Accelerate shards it; ``gather_for_metrics`` drops the padding).

    Args:
        dataset: The evaluation samples.
        batch_size: Clips per process per batch.
        num_workers: Loader workers. Default 0.
    """
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                      collate_fn=VideoCollator(), generator=_generator(0))


def to_device(batch: Dict[str, Any], device: Any) -> Dict[str, Any]:
    """The tensors of ``batch`` moved to ``device`` (other values unchanged)."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def _generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator

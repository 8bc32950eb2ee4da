"""``build_dataloader`` with mmaction2 v0.24 semantics."""

from __future__ import annotations

import random
from functools import partial
from typing import Any, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset

from .collate import collate
from .samplers import ClassSpecificDistributedSampler, DistributedSampler


def get_dist_info() -> tuple:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int) -> None:
    """Seed numpy, python ``random`` and torch of a worker with ``num_workers * rank + worker_id + seed``."""
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)


def build_dataloader(
    dataset: Dataset,
    videos_per_gpu: int,
    workers_per_gpu: int,
    num_gpus: int = 1,
    dist: bool = True,
    shuffle: bool = True,
    seed: Optional[int] = None,
    drop_last: bool = False,
    pin_memory: bool = True,
    **kwargs: Any,
) -> DataLoader:
    """Build a ``torch.utils.data.DataLoader`` the way mmaction2 does.

    Distributed (``dist=True``): a :class:`DistributedSampler` (or
    :class:`ClassSpecificDistributedSampler` when ``dataset.sample_by_class``) for this rank, batch
    size ``videos_per_gpu`` and ``workers_per_gpu`` workers. Otherwise: batch size
    ``num_gpus * videos_per_gpu``, ``num_gpus * workers_per_gpu`` workers and ``shuffle``. With a
    ``seed``, worker ``w`` of rank ``r`` seeds numpy/random/torch with ``num_workers * r + w + seed``.

    Args:
        dataset: The dataset.
        videos_per_gpu: Samples per GPU (batch size per process).
        workers_per_gpu: Loader workers per GPU.
        num_gpus: GPUs of a non-distributed run. Default: 1.
        dist: Distributed loading. Default: True.
        shuffle: Shuffle every epoch. Default: True.
        seed: Seed of the sampler and workers. Default: None.
        drop_last: Drop the last incomplete batch. Default: False.
        pin_memory: Pin batches in page-locked memory. Default: True.
        **kwargs: Other ``DataLoader`` arguments (``collate_fn`` defaults to
            :func:`videohub.data.collate`; ``persistent_workers``, ``prefetch_factor``...).
    """
    rank, world_size = get_dist_info()
    if dist:
        if getattr(dataset, "sample_by_class", False):
            sampler = ClassSpecificDistributedSampler(
                dataset, world_size, rank, dynamic_length=getattr(dataset, "dynamic_length", True), shuffle=shuffle, seed=seed
            )
        else:
            sampler = DistributedSampler(dataset, world_size, rank, shuffle=shuffle, seed=seed)
        shuffle = False
        batch_size = videos_per_gpu
        num_workers = workers_per_gpu
    else:
        sampler = None
        batch_size = num_gpus * videos_per_gpu
        num_workers = num_gpus * workers_per_gpu
    init_fn = partial(worker_init_fn, num_workers=num_workers, rank=rank, seed=seed) if seed is not None else None
    generator = None
    if seed is not None and sampler is None and shuffle:
        generator = torch.Generator()
        generator.manual_seed(seed)
    kwargs.setdefault("collate_fn", collate)
    if num_workers == 0:
        kwargs.pop("persistent_workers", None)
        kwargs.pop("prefetch_factor", None)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=pin_memory,
        shuffle=shuffle,
        worker_init_fn=init_fn,
        drop_last=drop_last,
        generator=generator,
        **kwargs,
    )

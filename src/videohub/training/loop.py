"""The Accelerate training loop behind ``examples/run_recognition.py`` and :func:`videohub.apis.train_model`.

One loop, several launchers: ``python``, ``accelerate launch`` and ``torchrun`` (one or many
processes, CPU or GPU, one or many nodes). Its parts are usable alone:

- :class:`LoopConfig`: every option of a run (mmcv names where mmaction2 had the option).
- :class:`VideoCollator`: mmaction2 samples (``imgs``, ``label``) → model inputs (``pixel_values``,
  ``labels``); also the ``data_collator`` of ``transformers.Trainer``.
- :class:`SeededDataset`: augmentation randomness drawn per ``(seed, epoch, index)``, so a resumed
  run sees the same augmented clips as an uninterrupted one, whatever the worker count.
- :func:`make_lr_scheduler`: mmcv ``lr_config`` dicts (``step`` / ``CosineAnnealing`` / ``TIN`` /
  ``fixed``, ``by_epoch``, warmup) as a ``LambdaLR``.
- :func:`evaluate`: multi-view testing through :func:`~videohub.training.testing.multi_gpu_test`
  (``gather_for_metrics``: every sample counted once) and the ``evaluate`` metric modules.
- :func:`save_checkpoint` / :func:`find_checkpoint`: ``accelerator.save_state`` into a temporary
  folder that is renamed when complete; ``<output_dir>/latest`` names the newest complete one.
- :func:`train`: the loop (gradient accumulation, mixed precision, clipping, Mixup/CutMix,
  class-balanced sampling, precise BN, evaluation with ``save_best``, ``test_best``/``test_last``,
  checkpointing and exact resumption, trackers, progress bars).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import re
import shutil
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..errors import CheckpointError, ConfigError, ShapeError
from ..utils import logging
from ..utils.io import atomic_write_text
from .evaluation import DistEvalHook, EvalHook
from .lr import annealing_cos, build_lr_scheduler, lr_at, warmup_factor
from .optimizer import build_optimizer
from .precise_bn import update_bn_stats
from .testing import multi_gpu_test

logger = logging.get_logger(__name__)

STATE_FILE = "trainer_state.json"
LATEST_FILE = "latest"
BEST_DIR = "best_model"
_CHECKPOINT_NAME = re.compile(r"^(step|epoch)_(\d+)$")
_POLICY_ALIASES = {
    "fixed": "fixed", "step": "step", "cosine": "cosine", "cosineannealing": "cosine", "tin": "tin",
    "tinlrupdaterhook": "tin",
}


# ------------------------------------------------------------------------------------------ options
@dataclasses.dataclass
class LoopConfig:
    """Options of :func:`train` (defaults in brackets).

    Args:
        output_dir: Where checkpoints, ``best_model``, ``best.json`` and tracker logs go (required).
        seed: Seed of model init, data order, augmentation and blending. ``None`` draws one on the
            main process and shares it [None].
        per_device_train_batch_size: Clips per process per forward pass [8].
        per_device_eval_batch_size: Clips per process during evaluation [8].
        num_train_epochs: Epochs, unless ``max_train_steps`` is set [3].
        max_train_steps: Optimizer steps of the run; overrides ``num_train_epochs`` [None].
        gradient_accumulation_steps: Forward/backward passes per optimizer step [1].
        optimizer: mmcv optimizer dict (``type``, ``lr``, ``momentum``, ``weight_decay``,
            ``constructor``, ``paramwise_cfg``) [SGD lr 0.01, momentum 0.9, weight decay 1e-4].
        lr_config: mmcv ``lr_config`` (see :func:`make_lr_scheduler`) [``{"policy": "fixed"}``].
        max_grad_norm: Clip the gradient norm to this (mmcv ``grad_clip.max_norm``) [None: no clipping].
        grad_norm_type: Norm of the clipping [2.0].
        blending: ``dict(type="MixupBlending"|"CutmixBlending", alpha=...)`` (mmaction2
            ``train_cfg.blending``; ``num_classes`` is filled in) [None].
        class_balanced: Draw training clips with ``DistributedPowerSampler`` [False].
        sampling_power: Its ``power``: 0 = uniform over classes, 1 = bootstrap [0.0].
        num_workers: Loader workers per process [0].
        checkpointing_steps: ``"epoch"``, an integer (every N optimizer steps, as a string or int)
            or ``None`` (no checkpoints) [None].
        checkpoint_interval: With ``checkpointing_steps="epoch"``: every N epochs
            (mmcv ``checkpoint_config.interval``) [1].
        checkpoints_total_limit: Keep only the newest N checkpoints [None: keep all].
        resume_from_checkpoint: ``"latest"`` (the newest complete checkpoint of ``output_dir``, or
            a fresh start when there is none) or a checkpoint folder [None].
        eval_interval: Evaluate every N epochs (``EvalHook.interval``) [1].
        eval_steps: Evaluate every N optimizer steps instead of by epoch [None].
        eval_start: First epoch/step to evaluate at (``EvalHook.start``) [None].
        save_best: Metric that picks ``best_model`` (``"auto"``: the first one, top-1 accuracy) or
            ``None`` [``"auto"``].
        rule: ``"greater"``/``"less"`` for ``save_best``; inferred from its name by default [None].
        test_best: After training, test the best checkpoint on the test set [False].
        test_last: After training, test the last weights on the test set [False].
        precise_bn_num_iters: Recompute BN statistics over this many batches before each evaluation
            epoch (``PreciseBNHook.num_iters``); 0 disables it [0].
        precise_bn_interval: ... every N epochs (``PreciseBNHook.interval``) [1].
        topk: The k of the top-k accuracies [(1, 5)].
        logging_steps: Log loss and lr every N optimizer steps [10].
        with_tracking: Send metrics to ``report_to`` trackers [False].
        report_to: Tracker name(s) for ``accelerator.init_trackers`` [``"tensorboard"``].
        project_name: Tracker project name [``"run_recognition"``].
        deterministic: Ask for deterministic GPU kernels (:func:`enable_determinism`), so that a
            resumed GPU run matches an uninterrupted one; CPU runs are deterministic anyway [False].
    """

    output_dir: str
    seed: Optional[int] = None
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 8
    num_train_epochs: int = 3
    max_train_steps: Optional[int] = None
    gradient_accumulation_steps: int = 1
    optimizer: Dict[str, Any] = dataclasses.field(
        default_factory=lambda: {"type": "SGD", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4})
    lr_config: Dict[str, Any] = dataclasses.field(default_factory=lambda: {"policy": "fixed"})
    max_grad_norm: Optional[float] = None
    grad_norm_type: float = 2.0
    blending: Optional[Dict[str, Any]] = None
    class_balanced: bool = False
    sampling_power: float = 0.0
    num_workers: int = 0
    checkpointing_steps: Optional[Union[int, str]] = None
    checkpoint_interval: int = 1
    checkpoints_total_limit: Optional[int] = None
    resume_from_checkpoint: Optional[str] = None
    eval_interval: int = 1
    eval_steps: Optional[int] = None
    eval_start: Optional[int] = None
    save_best: Optional[str] = "auto"
    rule: Optional[str] = None
    test_best: bool = False
    test_last: bool = False
    precise_bn_num_iters: int = 0
    precise_bn_interval: int = 1
    topk: Tuple[int, ...] = (1, 5)
    logging_steps: int = 10
    with_tracking: bool = False
    report_to: Union[str, List[str]] = "tensorboard"
    project_name: str = "run_recognition"
    deterministic: bool = False

    def __post_init__(self) -> None:
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "num_train_epochs",
                     "gradient_accumulation_steps", "eval_interval", "checkpoint_interval", "precise_bn_interval",
                     "logging_steps"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"LoopConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("max_train_steps", "eval_steps", "checkpoints_total_limit"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ConfigError(f"LoopConfig.{name} must be >= 1 or None, got {value!r}")
        if self.precise_bn_num_iters < 0 or self.num_workers < 0:
            raise ConfigError("LoopConfig.precise_bn_num_iters and num_workers must be >= 0")
        self.checkpointing_steps = parse_checkpointing_steps(self.checkpointing_steps)
        if self.blending is not None and self.blending.get("type") not in ("MixupBlending", "CutmixBlending"):
            raise ConfigError("LoopConfig.blending type must be 'MixupBlending' or 'CutmixBlending', "
                              f"got {self.blending!r}")
        self.topk = tuple(int(k) for k in self.topk)


def parse_checkpointing_steps(value: Optional[Union[int, str]]) -> Optional[Union[int, str]]:
    """``None``, ``"epoch"`` or a positive step count (``"500"`` → 500)."""
    if value is None or value == "epoch":
        return value
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"checkpointing_steps must be 'epoch' or a positive integer, got {value!r}")
    return value


# ------------------------------------------------------------------------------------------ data
class VideoCollator:
    """Collate mmaction2-style samples into model inputs (also a ``transformers.Trainer`` collator).

    Uses :func:`videohub.data.collate`, then renames: ``imgs`` → ``pixel_values`` (``NCHW`` batches
    ``(B, N, C, H, W)`` are kept; ``NCTHW`` batches ``(B, V, C, T, H, W)`` become
    ``(B, V, T, C, H, W)``), ``audios`` → ``input_features``, ``label`` → ``labels`` (``(B, 1)`` →
    ``(B,)``). Other keys (``img_metas`` ...) are dropped unless ``keep_keys`` names them.

    Args:
        keep_keys: Extra batch keys to keep. Default ``()``.
    """

    def __init__(self, keep_keys: Sequence[str] = ()):
        self.keep_keys = tuple(keep_keys)

    def __call__(self, samples: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        from ..data.collate import collate

        batch = collate(samples)
        if not batch or ("num_skipped" in batch and len(batch) == 2):
            raise ShapeError(f"every sample of a batch was skipped: {batch.get('skipped')}")
        return to_model_batch(batch, self.keep_keys)


def to_model_batch(batch: Dict[str, Any], keep_keys: Sequence[str] = ()) -> Dict[str, Any]:
    """Rename a collated mmaction2 batch into model inputs (see :class:`VideoCollator`)."""
    out: Dict[str, Any] = {}
    if "pixel_values" in batch or "imgs" in batch:
        imgs = batch.get("pixel_values", batch.get("imgs"))
        if not isinstance(imgs, torch.Tensor):
            raise ShapeError("the clips of a batch have different shapes and cannot be stacked "
                             f"(shapes {[tuple(x.shape) for x in imgs]}); use a fixed crop size")
        if "imgs" in batch and imgs.dim() == 6:  # FormatShape NCTHW: (B, V, C, T, H, W)
            imgs = imgs.transpose(2, 3)
        elif "imgs" in batch and imgs.dim() != 5:
            raise ShapeError(f"imgs of a batch has shape {tuple(imgs.shape)}; expected (B, N, C, H, W) from "
                             "FormatShape('NCHW') or (B, V, C, T, H, W) from FormatShape('NCTHW')")
        out["pixel_values"] = imgs.contiguous()
    if "audios" in batch or "input_features" in batch:
        out["input_features"] = batch.get("input_features", batch.get("audios"))
    labels = batch.get("labels", batch.get("label"))
    if labels is not None:
        labels = torch.as_tensor(labels) if not isinstance(labels, torch.Tensor) else labels
        if labels.dim() == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        out["labels"] = labels
    if not out:
        raise ShapeError(f"a batch has none of imgs/pixel_values/audios/input_features; keys: {sorted(batch)}")
    for key in keep_keys:
        if key in batch:
            out[key] = batch[key]
    return out


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
    """Single-label class ids of a metadata dataset (a ``datasets.Dataset`` column or ``video_infos``)."""
    column_names = getattr(dataset, "column_names", None)
    if column_names is not None and "label" in column_names:
        labels = dataset.with_format(None)["label"] if hasattr(dataset, "with_format") else dataset["label"]
        return [int(x) for x in labels] if all(isinstance(x, (int, np.integer)) for x in labels) else None
    infos = getattr(dataset, "video_infos", None)
    if infos is not None and all(isinstance(i.get("label"), (int, np.integer)) for i in infos):
        return [int(i["label"]) for i in infos]
    return None


def build_train_loader(dataset: Any, cfg: LoopConfig, seed: int,
                       labels: Optional[Sequence[int]] = None) -> Tuple[DataLoader, SeededDataset, Any]:
    """The training loader: global sampler (Accelerate shards its batches over processes).

    ``cfg.class_balanced`` uses ``DistributedPowerSampler(power=cfg.sampling_power)``; a dataset
    built with ``sample_by_class=True`` uses ``ClassSpecificDistributedSampler``; otherwise a seeded
    shuffling ``DistributedSampler``. All with one replica: Accelerate splits the batches.
    Returns ``(loader, seeded dataset, sampler)``.
    """
    from ..data.samplers import ClassSpecificDistributedSampler, DistributedPowerSampler, DistributedSampler

    seeded = SeededDataset(dataset, seed, labels=labels)
    if cfg.class_balanced:
        sampler = DistributedPowerSampler(seeded, num_replicas=1, rank=0, power=cfg.sampling_power, seed=seed)
    elif getattr(dataset, "sample_by_class", False):
        sampler = ClassSpecificDistributedSampler(seeded, num_replicas=1, rank=0,
                                                  dynamic_length=getattr(dataset, "dynamic_length", True),
                                                  shuffle=True, seed=seed)
    else:
        sampler = DistributedSampler(seeded, num_replicas=1, rank=0, shuffle=True, seed=seed)
    loader = DataLoader(seeded, batch_size=cfg.per_device_train_batch_size, sampler=sampler,
                        num_workers=cfg.num_workers, collate_fn=VideoCollator(), generator=_generator(seed),
                        drop_last=False)
    return loader, seeded, sampler


def build_precise_bn_loader(seeded: SeededDataset, cfg: LoopConfig, seed: int, epoch: int, accelerator: Any) -> DataLoader:
    """This process's shard of the (augmented) training set for precise BN, shuffled per epoch."""
    from ..data.samplers import DistributedSampler

    sampler = DistributedSampler(seeded, num_replicas=accelerator.num_processes, rank=accelerator.process_index,
                                 shuffle=True, seed=seed + 1)
    sampler.set_epoch(epoch)
    return DataLoader(seeded, batch_size=cfg.per_device_train_batch_size, sampler=sampler,
                      num_workers=cfg.num_workers, collate_fn=VideoCollator(), generator=_generator(seed))


def _to_device(batch: Dict[str, Any], device: Any) -> Dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def build_eval_loader(dataset: Any, batch_size: int, num_workers: int = 0) -> DataLoader:
    """An ordered evaluation loader (Accelerate shards it; ``gather_for_metrics`` drops the padding).

    It has its own ``torch.Generator``, so iterating it never draws from the global RNG that
    training (dropout, Mixup) uses: evaluating does not change the training run.
    """
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                      collate_fn=VideoCollator(), generator=_generator(0))


def _generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator


# ------------------------------------------------------------------------------------------ schedule
def make_lr_scheduler(optimizer: torch.optim.Optimizer, lr_config: Optional[Dict[str, Any]], steps_per_epoch: int,
                      total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` (stepped once per optimizer step) following an mmcv ``lr_config``.

    Keys (mmcv names and defaults): ``policy`` (``"fixed"``, ``"step"``, ``"CosineAnnealing"``/
    ``"cosine"``, ``"TIN"``/``"tin"``), ``by_epoch`` (True: ``step`` milestones in epochs and the
    cosine progress counted in whole epochs, as mmcv), ``step`` (milestones), ``gamma`` (0.1),
    ``min_lr``, ``min_lr_ratio``, ``warmup`` (None, ``"linear"``, ``"constant"``, ``"exp"``),
    ``warmup_iters`` (0), ``warmup_ratio`` (0.1), ``warmup_by_epoch`` (False: ``warmup_iters`` counts
    iterations; True: epochs). Warmup always advances per iteration, as in mmcv.
    """
    cfg = dict(lr_config or {"policy": "fixed"})
    known = {"policy", "by_epoch", "step", "gamma", "min_lr", "min_lr_ratio", "warmup", "warmup_iters",
             "warmup_ratio", "warmup_by_epoch"}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ConfigError(f"lr_config: unknown key(s) {unknown}; known keys are {sorted(known)}")
    raw_policy = str(cfg.pop("policy", "fixed"))
    policy = _POLICY_ALIASES.get(raw_policy.lower())
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
    if warmup not in (None, "linear", "constant", "exp"):
        raise ConfigError(f"unknown warmup {warmup!r}; expected None, 'linear', 'constant' or 'exp'")
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


def _scheduler_state(scheduler: torch.optim.lr_scheduler.LambdaLR) -> Dict[str, Any]:
    state = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    return json.loads(json.dumps(state, default=float))


def _load_scheduler_state(scheduler: torch.optim.lr_scheduler.LambdaLR, state: Dict[str, Any]) -> None:
    scheduler.load_state_dict(dict(state, lr_lambdas=[None] * len(scheduler.lr_lambdas)))


# ------------------------------------------------------------------------------------------ metrics
_METRIC_MODULES: Dict[str, Any] = {}


def _metric(name: str) -> Any:
    if name not in _METRIC_MODULES:
        from .. import metrics

        _METRIC_MODULES[name] = metrics.load(name, keep_in_memory=True)
    return _METRIC_MODULES[name]


def compute_metrics(scores: Sequence[np.ndarray], labels: Sequence[int], topk: Sequence[int] = (1, 5)) -> Dict[str, float]:
    """``top{k}_acc`` and ``mean_class_accuracy`` through the bundled ``evaluate`` modules.

    A sample whose scores keep a view axis (``average_clips=None`` with several views) is averaged
    over it first.
    """
    if len(scores) != len(labels):
        raise ShapeError(f"{len(scores)} score vectors but {len(labels)} labels")
    if not scores:
        raise ShapeError("no samples to compute metrics on")
    preds = [np.asarray(s, dtype=np.float64).reshape(-1, np.shape(s)[-1]).mean(0) for s in scores]
    refs = [int(np.asarray(x).reshape(-1)[0]) for x in labels]
    out = dict(_metric("top_k_accuracy").compute(predictions=preds, references=refs, topk=tuple(topk)))
    out.update(_metric("mean_class_accuracy").compute(predictions=preds, references=refs))
    return out


def evaluate(model: nn.Module, loader: Iterable[Dict[str, Any]], accelerator: Any, topk: Sequence[int] = (1, 5),
             prefix: str = "eval", predictions_file: Optional[str] = None) -> Dict[str, float]:
    """Evaluate a prepared model on a prepared loader: ``{prefix}_top1_acc`` ... and ``{prefix}_samples``.

    With several processes, BN running statistics are first copied from process 0 (DDP keeps
    per-process statistics; ``DistEvalHook(broadcast_bn_buffer=True)``). Scores and labels are
    gathered from every process with ``gather_for_metrics`` (padding dropped, dataset order kept),
    so ``{prefix}_samples`` equals the dataset size.
    ``predictions_file`` (written by the main process): JSON ``{"scores": [...], "labels": [...]}``
    in dataset order (mmaction2 ``test.py --out``). Default ``None``.
    """
    broadcast_bn_buffers(model, accelerator)  # every process evaluates (and saves) process 0's BN statistics
    scores, labels = multi_gpu_test(model, loader, accelerator)
    results = compute_metrics(scores, labels, topk)
    out = {f"{prefix}_{k}": float(v) for k, v in results.items()}
    out[f"{prefix}_samples"] = len(scores)
    if predictions_file and accelerator.is_main_process:
        atomic_write_text(predictions_file, json.dumps({
            "scores": [np.asarray(s, dtype=np.float64).tolist() for s in scores],
            "labels": [int(np.asarray(x).reshape(-1)[0]) for x in labels]}))
    return out


# ------------------------------------------------------------------------------------------ checkpoints
def _checkpoint_sort_key(path: str) -> Tuple[int, int]:
    with open(os.path.join(path, STATE_FILE), encoding="utf-8") as f:
        state = json.load(f)
    return int(state["completed_steps"]), int(state["epoch"])


def find_checkpoint(output_dir: str, which: str = "latest") -> Optional[str]:
    """The checkpoint folder to resume from, or ``None`` when ``which == "latest"`` finds none.

    ``"latest"`` reads ``<output_dir>/latest``; if that pointer is missing or names an incomplete
    folder, the complete ``step_N``/``epoch_N`` folder with the most steps is used. Half-written
    ``.tmp-*`` folders (a run killed while saving) are never considered.

    Raises:
        CheckpointError: ``which`` is a path that is not a complete checkpoint.
    """
    if which != "latest":
        if not os.path.isfile(os.path.join(which, STATE_FILE)):
            raise CheckpointError(f"{which!r} is not a videohub checkpoint folder (no {STATE_FILE} in it)")
        return which
    pointer = os.path.join(output_dir, LATEST_FILE)
    if os.path.isfile(pointer):
        with open(pointer, encoding="utf-8") as f:
            name = f.read().strip()
        path = os.path.join(output_dir, name)
        if _CHECKPOINT_NAME.match(name) and os.path.isfile(os.path.join(path, STATE_FILE)):
            return path
        logger.warning("%s names %r, which is not a complete checkpoint; scanning %s", pointer, name, output_dir)
    if not os.path.isdir(output_dir):
        return None
    found = [os.path.join(output_dir, d) for d in os.listdir(output_dir)
             if _CHECKPOINT_NAME.match(d) and os.path.isfile(os.path.join(output_dir, d, STATE_FILE))]
    return max(found, key=_checkpoint_sort_key) if found else None


def checkpoint_seed(path: str) -> int:
    """The seed of the run that wrote checkpoint folder ``path`` (a resumed run must reuse it)."""
    with open(os.path.join(path, STATE_FILE), encoding="utf-8") as f:
        return int(json.load(f)["seed"])


def save_checkpoint(accelerator: Any, output_dir: str, name: str, state: Dict[str, Any],
                    total_limit: Optional[int] = None) -> str:
    """Save ``accelerator.save_state`` + ``state`` as ``<output_dir>/<name>``, atomically.

    Every process writes into ``<output_dir>/.tmp-<name>``; once all have finished, the main
    process adds ``trainer_state.json`` (written last), renames the folder to ``<name>`` and
    points ``<output_dir>/latest`` at it (an atomic file replace). A run killed at any moment
    leaves ``latest`` naming a complete checkpoint. ``total_limit`` keeps the newest N.
    """
    final = os.path.join(output_dir, name)
    tmp = os.path.join(output_dir, f".tmp-{name}")
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(tmp, safe_serialization=True)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        atomic_write_text(os.path.join(tmp, STATE_FILE), json.dumps(state, indent=2))
        if os.path.isdir(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
        atomic_write_text(os.path.join(output_dir, LATEST_FILE), name + "\n")
        if total_limit:
            complete = sorted((os.path.join(output_dir, d) for d in os.listdir(output_dir)
                               if _CHECKPOINT_NAME.match(d) and os.path.isfile(os.path.join(output_dir, d, STATE_FILE))),
                              key=_checkpoint_sort_key)
            for old in complete[:-total_limit]:
                if os.path.abspath(old) != os.path.abspath(final):
                    shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def save_model_atomic(model: nn.Module, directory: str, processor: Any = None) -> None:
    """``save_pretrained`` into a temporary sibling folder, then rename it to ``directory``."""
    tmp = directory.rstrip("/\\") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    if processor is not None:
        processor.save_pretrained(tmp)
    old = directory.rstrip("/\\") + ".old"
    if os.path.isdir(directory):
        shutil.rmtree(old, ignore_errors=True)
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------------------ helpers
def make_accelerator(cfg: LoopConfig, mixed_precision: Optional[str] = None, cpu: bool = False) -> Any:
    """An ``accelerate.Accelerator`` for ``cfg`` (gradient accumulation, mixed precision, trackers).

    Launched as several processes (``WORLD_SIZE > 1``) on a machine without an accelerator device,
    it runs them on the CPU over gloo (Accelerate needs ``cpu=True`` for that).
    """
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration

    kwargs: Dict[str, Any] = {}
    if not cpu and int(os.environ.get("WORLD_SIZE", "1")) > 1 and not _has_accelerator_device():
        cpu = True  # torchrun / accelerate launch on a machine without GPUs: several CPU processes over gloo
    if cfg.with_tracking:
        trackers = available_trackers(cfg.report_to)
        if trackers:
            kwargs["log_with"] = trackers
    return Accelerator(gradient_accumulation_steps=cfg.gradient_accumulation_steps, mixed_precision=mixed_precision,
                       cpu=cpu, project_config=ProjectConfiguration(project_dir=cfg.output_dir,
                                                                    logging_dir=os.path.join(cfg.output_dir, "logs")),
                       **kwargs)


def _has_accelerator_device() -> bool:
    accelerator_api = getattr(torch, "accelerator", None)
    if accelerator_api is not None and hasattr(accelerator_api, "is_available"):
        return bool(accelerator_api.is_available())
    return torch.cuda.is_available()


def available_trackers(report_to: Union[str, Sequence[str]]) -> List[str]:
    """The trackers of ``report_to`` whose package is installed (``"all"``: every installed one)."""
    from accelerate.tracking import get_available_trackers

    installed = [str(getattr(t, "value", t)) for t in get_available_trackers()]
    wanted = [report_to] if isinstance(report_to, str) else list(report_to)
    if "all" in wanted:
        return installed
    chosen = [t for t in wanted if t in installed]
    for name in sorted(set(wanted) - set(chosen) - {"none"}):
        logger.warning("tracker %r is not installed; its logs are skipped", name)
    return chosen


def broadcast_bn_buffers(model: nn.Module, accelerator: Any) -> None:
    """Copy every BN running statistic from process 0 to the others (``DistEvalHook.broadcast_bn_buffer``)."""
    if accelerator.num_processes < 2:
        return
    import torch.distributed as dist

    for module in accelerator.unwrap_model(model).modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            dist.broadcast(module.running_var, 0)
            dist.broadcast(module.running_mean, 0)


def enable_determinism() -> None:
    """Deterministic cuDNN/cuBLAS kernels (slower); ops without a deterministic kernel only warn.

    Call it before the first CUDA operation (``CUBLAS_WORKSPACE_CONFIG`` is read when cuBLAS starts).
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


def shared_seed(seed: Optional[int], accelerator: Any) -> int:
    """``seed``, or (when ``None``) one drawn on the main process and broadcast to all."""
    if seed is not None:
        return int(seed)
    from accelerate.utils import broadcast_object_list

    drawn = [int(np.random.SeedSequence().generate_state(1)[0]) if accelerator.is_main_process else 0]
    broadcast_object_list(drawn, from_process=0)
    return drawn[0]


def _model_call(model: nn.Module, batch: Dict[str, Any], labels: Optional[torch.Tensor] = None) -> Any:
    inputs = {k: batch[k] for k in ("pixel_values", "input_features") if k in batch}
    if labels is not None:
        inputs["labels"] = labels
    return model(**inputs)


def _blender(blending: Optional[Dict[str, Any]], num_classes: int) -> Optional[Callable]:
    if blending is None:
        return None
    from ..data.blending import CutmixBlending, MixupBlending

    kwargs = {k: v for k, v in blending.items() if k not in ("type", "num_classes")}
    cls = MixupBlending if blending["type"] == "MixupBlending" else CutmixBlending
    return cls(num_classes=num_classes, **kwargs)


def _hparams(cfg: LoopConfig) -> Dict[str, Any]:
    flat: Dict[str, Any] = {}
    for key, value in dataclasses.asdict(cfg).items():
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}.{sub}"] = v if isinstance(v, (int, float, str, bool)) else str(v)
        elif isinstance(value, (int, float, str, bool)):
            flat[key] = value
        elif value is not None:
            flat[key] = str(value)
    return flat


# ------------------------------------------------------------------------------------------ the loop
def train(
    model: nn.Module,
    train_dataset: Any,
    cfg: LoopConfig,
    eval_dataset: Any = None,
    test_dataset: Any = None,
    accelerator: Any = None,
    processor: Any = None,
    train_labels: Optional[Sequence[int]] = None,
    meta: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Train ``model`` and return the final metrics.

    Args:
        model: A videohub model (``forward(pixel_values, labels)`` → ``.loss``/``.logits``).
        train_dataset: Map-style dataset giving mmaction2 samples (``imgs``, ``label``): a
            ``datasets.Dataset`` with ``make_transform(pipeline)`` or a videohub dataset.
        cfg: The options (:class:`LoopConfig`).
        eval_dataset: Validation samples; evaluated as ``cfg.eval_interval``/``eval_steps`` say,
            with ``save_best`` tracking. Default ``None``.
        test_dataset: Test samples for ``cfg.test_best``/``cfg.test_last``. Default ``None``.
        accelerator: An ``accelerate.Accelerator``; default: :func:`make_accelerator` of ``cfg``.
        processor: Saved beside ``best_model``. Default ``None``.
        train_labels: Class ids of ``train_dataset`` (for ``class_balanced``); read from the
            dataset when ``None``.
        meta: JSON-able dict stored in every checkpoint's ``trainer_state.json``. Default ``None``.

    Returns:
        ``{"train_loss": ..., "completed_steps": ..., "epoch": ..., "seed": ...}`` plus
        ``eval_*`` of the last evaluation, ``best_*`` and ``test_best_*``/``test_last_*`` results.

    The model is left prepared by ``accelerator`` (unwrap it with ``accelerator.unwrap_model``).
    A caller that passes ``accelerator`` calls ``accelerator.end_training()`` when it is done with
    it (that flushes the trackers and ends the process group).
    """
    from accelerate.utils import set_seed

    if cfg.deterministic:
        enable_determinism()
    owns_accelerator = accelerator is None
    accelerator = accelerator or make_accelerator(cfg)
    if accelerator.gradient_accumulation_steps != cfg.gradient_accumulation_steps:
        raise ConfigError(f"the Accelerator accumulates {accelerator.gradient_accumulation_steps} steps but "
                          f"cfg.gradient_accumulation_steps is {cfg.gradient_accumulation_steps}")
    resume_path = find_checkpoint(cfg.output_dir, cfg.resume_from_checkpoint) if cfg.resume_from_checkpoint else None
    seed = shared_seed(cfg.seed if cfg.seed is not None or resume_path is None else checkpoint_seed(resume_path),
                       accelerator)
    set_seed(seed)
    num_classes = int(getattr(getattr(model, "config", None), "num_labels", 0) or 0)
    if cfg.class_balanced and train_labels is None:
        train_labels = labels_of(train_dataset)
        if train_labels is None:
            raise ConfigError("class_balanced sampling needs single-label training data (labels not found)")

    optimizer = build_optimizer(model, cfg.optimizer)
    train_loader, seeded, sampler = build_train_loader(train_dataset, cfg, seed, labels=train_labels)
    eval_loader = (build_eval_loader(eval_dataset, cfg.per_device_eval_batch_size, cfg.num_workers)
                   if eval_dataset is not None else None)
    model, optimizer, train_loader = accelerator.prepare(model, optimizer, train_loader)
    if eval_loader is not None:
        eval_loader = accelerator.prepare(eval_loader)

    steps_per_epoch = math.ceil(len(train_loader) / cfg.gradient_accumulation_steps)
    if cfg.max_train_steps is None:
        max_train_steps = cfg.num_train_epochs * steps_per_epoch
        num_epochs = cfg.num_train_epochs
    else:
        max_train_steps = int(cfg.max_train_steps)
        num_epochs = math.ceil(max_train_steps / steps_per_epoch)
    scheduler = make_lr_scheduler(optimizer, cfg.lr_config, steps_per_epoch, max_train_steps)
    blend = _blender(cfg.blending, num_classes)
    if blend is not None and num_classes < 1:
        raise ConfigError("Mixup/CutMix need model.config.num_labels")

    hook_cls = DistEvalHook if accelerator.num_processes > 1 else EvalHook
    hook = hook_cls(eval_loader, start=cfg.eval_start, interval=cfg.eval_steps or cfg.eval_interval,
                    by_epoch=cfg.eval_steps is None, save_best=cfg.save_best, rule=cfg.rule,
                    out_dir=cfg.output_dir if accelerator.is_main_process else None)

    completed_steps, start_epoch, skip_batches = 0, 0, 0
    if cfg.resume_from_checkpoint:
        path = resume_path
        if path is None:
            logger.warning("no checkpoint in %s to resume from; starting from scratch", cfg.output_dir)
        else:
            with open(os.path.join(path, STATE_FILE), encoding="utf-8") as f:
                state = json.load(f)
            if int(state.get("seed", seed)) != seed:
                raise CheckpointError(f"{path} was written by a run with seed {state['seed']}, this run has seed {seed}")
            accelerator.load_state(path)
            _load_scheduler_state(scheduler, state["scheduler"])
            if int(state.get("num_processes", accelerator.num_processes)) != accelerator.num_processes:
                logger.warning("%s was written by %s processes, this run has %d: the rest of its epoch is "
                               "re-split and the data order differs from an uninterrupted run", path,
                               state.get("num_processes"), accelerator.num_processes)
            completed_steps = int(state["completed_steps"])
            start_epoch, skip_batches = int(state["epoch"]), int(state["batches_in_epoch"])
            hook.best_score, hook.best_step = state.get("best_score"), state.get("best_step")
            hook.key = state.get("best_key") or hook.key
            hook.rule = state.get("best_rule") or hook.rule
            if accelerator.is_main_process:
                logger.info("resumed from %s (step %d, epoch %d, %d batches into it)", path, completed_steps,
                            start_epoch, skip_batches)

    if cfg.with_tracking:
        accelerator.init_trackers(cfg.project_name, _hparams(cfg))
    total_batch = cfg.per_device_train_batch_size * accelerator.num_processes * cfg.gradient_accumulation_steps
    if accelerator.is_main_process:
        logger.info("***** training: %d samples, %d epochs, %d optimizer steps, %d clips per step (%d processes) *****",
                    len(train_dataset), num_epochs, max_train_steps, total_batch, accelerator.num_processes)

    results: Dict[str, Any] = {}
    progress = tqdm(range(max_train_steps), initial=completed_steps, desc="train",
                    disable=not accelerator.is_local_main_process)

    def trainer_state(epoch: int, batches: int) -> Dict[str, Any]:
        return {"completed_steps": completed_steps, "epoch": epoch, "batches_in_epoch": batches, "seed": seed,
                "max_train_steps": max_train_steps, "num_processes": accelerator.num_processes,
                "scheduler": _scheduler_state(scheduler), "best_score": hook.best_score, "best_step": hook.best_step,
                "best_key": hook.key, "best_rule": hook.rule, "meta": meta or {}}

    def run_eval(step: int) -> None:
        if eval_loader is None:
            return
        metrics = evaluate(model, eval_loader, accelerator, cfg.topk, prefix="eval")
        model.train()
        results.update(metrics)
        plain = {k[len("eval_"):]: v for k, v in metrics.items() if k != "eval_samples"}
        if accelerator.is_main_process:
            logger.info("step %d: %s", step, ", ".join(f"{k}={v:.4f}" for k, v in plain.items()))
        if cfg.with_tracking:
            accelerator.log(metrics, step=step)
        if hook.update(plain, step) and accelerator.is_main_process:
            save_model_atomic(accelerator.unwrap_model(model), os.path.join(cfg.output_dir, BEST_DIR), processor)
        accelerator.wait_for_everyone()

    running_loss, running_count = 0.0, 0
    model.train()
    for epoch in range(start_epoch, num_epochs):
        if completed_steps >= max_train_steps:
            break
        # Accelerate's loaders re-set the sampler's and dataset's epoch from their own counter when
        # iterated; a loader made by skip_first_batches starts that counter at 0. Set it explicitly.
        sampler.set_epoch(epoch)
        seeded.set_epoch(epoch)
        train_loader.set_epoch(epoch)
        loader = train_loader
        batches = 0
        if epoch == start_epoch and skip_batches:
            loader = accelerator.skip_first_batches(train_loader, skip_batches)
            loader.set_epoch(epoch)
            batches = skip_batches
        for batch in loader:
            batches += 1
            with accelerator.accumulate(model):
                labels = batch["labels"]
                if blend is not None:
                    batch["pixel_values"], labels = blend(batch["pixel_values"], labels)
                loss = _model_call(model, batch, labels).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients and cfg.max_grad_norm:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm, norm_type=cfg.grad_norm_type)
                optimizer.step()
                optimizer.zero_grad()
            running_loss += float(loss.detach().float())
            running_count += 1
            if not accelerator.sync_gradients:
                continue
            if not accelerator.optimizer_step_was_skipped:
                scheduler.step()
            completed_steps += 1
            progress.update(1)
            if completed_steps % cfg.logging_steps == 0 or completed_steps == max_train_steps:
                mean_loss = accelerator.reduce(torch.tensor(running_loss / max(running_count, 1),
                                                            device=accelerator.device), "mean").item()
                results["train_loss"] = mean_loss
                progress.set_postfix(loss=f"{mean_loss:.4f}", lr=f"{scheduler.get_last_lr()[0]:.3g}")
                if cfg.with_tracking:
                    accelerator.log({"train_loss": mean_loss, "lr": scheduler.get_last_lr()[0], "epoch": epoch},
                                    step=completed_steps)
                running_loss, running_count = 0.0, 0
            if isinstance(cfg.checkpointing_steps, int) and completed_steps % cfg.checkpointing_steps == 0:
                save_checkpoint(accelerator, cfg.output_dir, f"step_{completed_steps}", trainer_state(epoch, batches),
                                cfg.checkpoints_total_limit)
            if cfg.eval_steps is not None and hook.should_evaluate(completed_steps):
                run_eval(completed_steps)
            if completed_steps >= max_train_steps:
                break
        if batches < len(train_loader):  # stopped by max_train_steps inside the epoch
            break
        if cfg.precise_bn_num_iters and (epoch + 1) % cfg.precise_bn_interval == 0:
            bn_loader = build_precise_bn_loader(seeded, cfg, seed, epoch, accelerator)
            used = update_bn_stats(accelerator.unwrap_model(model), bn_loader, cfg.precise_bn_num_iters,
                                   forward=lambda net, b: _model_call(net, _to_device(b, accelerator.device)),
                                   accelerator=accelerator)
            if accelerator.is_main_process:
                logger.info("precise BN: statistics recomputed over %d batches per process", used)
        if cfg.eval_steps is None and hook.should_evaluate(epoch + 1):
            run_eval(completed_steps)
        if cfg.checkpointing_steps == "epoch" and ((epoch + 1) % cfg.checkpoint_interval == 0 or epoch + 1 == num_epochs):
            save_checkpoint(accelerator, cfg.output_dir, f"epoch_{epoch + 1}", trainer_state(epoch + 1, 0),
                            cfg.checkpoints_total_limit)
    progress.close()

    results.update(completed_steps=completed_steps, epoch=completed_steps / steps_per_epoch, seed=seed)
    if hook.best_score is not None:
        results.update(best_metric=hook.key, best_score=hook.best_score, best_step=hook.best_step)
    if test_dataset is not None and (cfg.test_last or cfg.test_best):
        test_loader = accelerator.prepare(build_eval_loader(test_dataset, cfg.per_device_eval_batch_size,
                                                            cfg.num_workers))
        if cfg.test_last:
            results.update(evaluate(model, test_loader, accelerator, cfg.topk, prefix="test_last"))
        best_dir = os.path.join(cfg.output_dir, BEST_DIR)
        if cfg.test_best:
            if not os.path.isdir(best_dir):
                logger.warning("test_best: no best checkpoint was saved (no evaluation ran); skipped")
            else:
                from ..auto import AutoVideoModel

                best = accelerator.prepare(AutoVideoModel.from_pretrained(best_dir))
                results.update(evaluate(best, test_loader, accelerator, cfg.topk, prefix="test_best"))
        model.train()
    if cfg.with_tracking:
        accelerator.log({k: v for k, v in results.items() if isinstance(v, (int, float))}, step=completed_steps)
        if owns_accelerator:  # otherwise the caller ends it (end_training also ends the process group)
            for tracker in accelerator.trackers:
                tracker.finish()
    return results


# ------------------------------------------------------------------------------------------ pipelines
def pipeline_from_processor(processor: Any, input_format: str = "NCHW", decode: str = "video") -> List[Dict[str, Any]]:
    """The mmaction2 test pipeline a :class:`~videohub.VideoProcessor` stands for.

    ``[Init, sampler, Decode, *transforms, FormatShape(input_format), Collect, ToTensor]``; decoding
    is PyAV for ``decode="video"`` and ``RawFrameDecode`` for ``"rawframe"``.
    """
    steps: List[Dict[str, Any]] = []
    if decode == "video":
        steps.append({"type": "PyAVInit"})
    elif decode != "rawframe":
        raise ConfigError(f"decode must be 'video' or 'rawframe', got {decode!r}")
    steps.append(dict(processor.sampler))
    steps.append({"type": "PyAVDecode"} if decode == "video" else {"type": "RawFrameDecode"})
    steps.extend(dict(t) for t in processor.transforms)
    steps.extend([{"type": "FormatShape", "input_format": input_format},
                  {"type": "Collect", "keys": ["imgs", "label"], "meta_keys": []},
                  {"type": "ToTensor", "keys": ["imgs"]}])
    return steps


_INIT_STEPS = {"PyAVInit", "DecordInit", "OpenCVInit"}
_DECODE_STEPS = {"PyAVDecode", "DecordDecode", "OpenCVDecode", "RawFrameDecode", "FrameSelector"}
_SAMPLE_STEPS = {"SampleFrames", "DenseSampleFrames", "UntrimmedSampleFrames"}


def adapt_decoding(pipeline: Sequence[Dict[str, Any]], dataset_format: str) -> List[Dict[str, Any]]:
    """Make a pipeline's decoding steps fit ``dataset_format``.

    ``rawframe``: ``*Init`` steps are dropped and every decode step becomes ``RawFrameDecode``.
    ``video``/``video_folder``: ``RawFrameDecode``/``FrameSelector`` become ``PyAVDecode`` with a
    ``PyAVInit`` first. Other formats: unchanged.
    """
    steps = [dict(s) for s in pipeline]
    if dataset_format == "rawframe":
        out = []
        for step in steps:
            if step.get("type") in _INIT_STEPS:
                continue
            if step.get("type") in _DECODE_STEPS and step.get("type") != "RawFrameDecode":
                step = {"type": "RawFrameDecode"}
            out.append(step)
        return out
    if dataset_format in ("video", "video_folder"):
        has_init = any(s.get("type") in _INIT_STEPS for s in steps)
        out = []
        for step in steps:
            if step.get("type") in ("RawFrameDecode", "FrameSelector"):
                step = {"type": "PyAVDecode"}
            out.append(step)
        if not has_init:
            out.insert(0, {"type": "PyAVInit"})
        return out
    return steps

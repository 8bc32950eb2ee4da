"""The Accelerate training loop behind ``examples/run_recognition.py`` and :func:`videohub.apis.train_model`.

One loop, several launchers: ``python``, ``accelerate launch`` and ``torchrun`` (one or many
processes, CPU or GPU, one or many nodes). This module holds the options (:class:`LoopConfig`),
the ``Accelerator`` they ask for (:func:`make_accelerator`) and the loop itself (:func:`train`:
gradient accumulation, mixed precision, clipping, Mixup/CutMix, class-balanced sampling, precise
BN, evaluation with ``save_best``, ``test_best``/``test_last``, checkpointing and exact
resumption, trackers, progress bars). Its parts live beside it:

- :mod:`~videohub.training.loaders`: seeded augmentation and the train/eval/precise-BN loaders
  (batches from :class:`videohub.data.collate.VideoCollator`);
- :mod:`~videohub.training.lr`: mmcv ``lr_config`` schedules;
- :mod:`~videohub.training.evaluation`: ``EvalHook`` bookkeeping and :func:`evaluate`;
- :mod:`~videohub.training.checkpointing`: atomic saves, checked resumes, ``best_model``;
- :mod:`~videohub.training.runtime`: seed sharing, determinism, trackers.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import CheckpointError, ConfigError
from ..utils import logging
from .checkpointing import (
    BEST_DIR, check_output_dir, checkpoint_seed, find_checkpoint, load_checkpoint, read_state, save_best,
    save_checkpoint,
)
from .evaluation import DistEvalHook, EvalHook, evaluate
from .loaders import build_eval_loader, build_precise_bn_loader, build_train_loader, labels_of, to_device
from .lr import load_scheduler_state, make_lr_scheduler, scheduler_state
from .optimizer import build_optimizer
from .precise_bn import bn_buffers, bn_buffers_as, update_bn_stats
from .runtime import available_trackers, enable_determinism, has_accelerator_device, shared_seed
from .testing import model_inputs

logger = logging.get_logger(__name__)


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
        lr_config: mmcv ``lr_config`` (see :func:`~videohub.training.lr.make_lr_scheduler`)
            [``{"policy": "fixed"}``].
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
        resume_strict: With ``"latest"``, stop when the newest checkpoint has a missing or damaged
            file instead of falling back to the newest complete one (with a warning) [False].
        eval_interval: Evaluate every N epochs (``EvalHook.interval``) [1].
        eval_steps: Evaluate every N optimizer steps instead of by epoch [None]. When
            ``max_train_steps`` ends the run inside an epoch, the final weights are evaluated too
            (and count for ``save_best``), whatever the schedule.
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
    resume_strict: bool = False
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


# ------------------------------------------------------------------------------------------ accelerator
def make_accelerator(cfg: LoopConfig, mixed_precision: Optional[str] = None, cpu: bool = False) -> Any:
    """An ``accelerate.Accelerator`` for ``cfg`` (gradient accumulation, mixed precision, trackers).

    Launched as several processes (``WORLD_SIZE > 1``) on a machine without an accelerator device,
    it runs them on the CPU over gloo (Accelerate needs ``cpu=True`` for that).
    """
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration

    kwargs: Dict[str, Any] = {}
    if not cpu and int(os.environ.get("WORLD_SIZE", "1")) > 1 and not has_accelerator_device():
        cpu = True  # torchrun / accelerate launch on a machine without GPUs: several CPU processes over gloo
    if cfg.with_tracking:
        trackers = available_trackers(cfg.report_to)
        if trackers:
            kwargs["log_with"] = trackers
    return Accelerator(gradient_accumulation_steps=cfg.gradient_accumulation_steps, mixed_precision=mixed_precision,
                       cpu=cpu, project_config=ProjectConfiguration(project_dir=cfg.output_dir,
                                                                    logging_dir=os.path.join(cfg.output_dir, "logs")),
                       **kwargs)


# ------------------------------------------------------------------------------------------ helpers
def _model_call(model: nn.Module, batch: Dict[str, Any], labels: Optional[torch.Tensor] = None) -> Any:
    inputs = model_inputs(batch)
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
        train_dataset: Map-style dataset of recognition samples (a pipeline ending in
            ``ToModelInputs``, or mmaction2's ``FormatShape`` + ``Collect``): a ``datasets.Dataset``
            with ``make_transform(pipeline)`` or a videohub dataset.
        cfg: The options (:class:`LoopConfig`).
        eval_dataset: Validation samples; evaluated as ``cfg.eval_interval``/``eval_steps`` say,
            with ``save_best`` tracking. Default ``None``.
        test_dataset: Test samples for ``cfg.test_best``/``cfg.test_last``. Default ``None``.
        accelerator: An ``accelerate.Accelerator``; default: :func:`make_accelerator` of ``cfg``.
        processor: Saved into ``best_model``. Default ``None``.
        train_labels: Class ids of ``train_dataset`` (for ``class_balanced``); read from the
            dataset when ``None``.
        meta: JSON-able dict stored in every checkpoint's ``trainer_state.json``. Default ``None``.

    Returns:
        ``{"train_loss": ..., "completed_steps": ..., "epoch": ..., "seed": ...}`` plus
        ``eval_*`` of the last evaluation, ``best_*`` and ``test_best_*``/``test_last_*`` results.

    Raises:
        ConfigError: ``cfg.output_dir`` is not writable (checked before the first step), or the
            options do not fit the data or the model.
        CheckpointError: The checkpoint to resume from is damaged, or a save failed.

    The model is left prepared by ``accelerator`` (unwrap it with ``accelerator.unwrap_model``).
    A caller that passes ``accelerator`` calls ``accelerator.end_training()`` when it is done with
    it (that flushes the trackers and ends the process group).
    """
    from accelerate.utils import set_seed

    check_output_dir(cfg.output_dir)
    if cfg.deterministic:
        enable_determinism()
    owns_accelerator = accelerator is None
    accelerator = accelerator or make_accelerator(cfg)
    if accelerator.gradient_accumulation_steps != cfg.gradient_accumulation_steps:
        raise ConfigError(f"the Accelerator accumulates {accelerator.gradient_accumulation_steps} steps but "
                          f"cfg.gradient_accumulation_steps is {cfg.gradient_accumulation_steps}")
    resume_path = (find_checkpoint(cfg.output_dir, cfg.resume_from_checkpoint, strict=cfg.resume_strict)
                   if cfg.resume_from_checkpoint else None)
    seed = shared_seed(cfg.seed if cfg.seed is not None or resume_path is None else checkpoint_seed(resume_path),
                       accelerator)
    set_seed(seed)
    num_classes = int(getattr(getattr(model, "config", None), "num_labels", 0) or 0)
    if cfg.class_balanced and train_labels is None:
        train_labels = labels_of(train_dataset)
        if train_labels is None:
            raise ConfigError("class_balanced sampling needs single-label training data (labels not found)")

    optimizer = build_optimizer(model, cfg.optimizer)
    train_loader, seeded, sampler = build_train_loader(
        train_dataset, cfg.per_device_train_batch_size, seed, num_workers=cfg.num_workers,
        class_balanced=cfg.class_balanced, sampling_power=cfg.sampling_power, labels=train_labels)
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
                    by_epoch=cfg.eval_steps is None, save_best=cfg.save_best, rule=cfg.rule)

    completed_steps, start_epoch, skip_batches = 0, 0, 0
    if cfg.resume_from_checkpoint:
        path = resume_path
        if path is None:
            logger.warning("no checkpoint in %s to resume from; starting from scratch", cfg.output_dir)
        else:
            state = read_state(path)
            if int(state["seed"]) != seed:
                raise CheckpointError(f"{path} was written by a run with seed {state['seed']}, this run has seed {seed}")
            load_checkpoint(accelerator, path)
            load_scheduler_state(scheduler, state["scheduler"])
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
                "scheduler": scheduler_state(scheduler), "best_score": hook.best_score, "best_step": hook.best_step,
                "best_key": hook.key, "best_rule": hook.rule, "meta": meta or {}}

    def precise_bn(epoch: int) -> None:
        """Recompute the BN statistics of the current weights (``PreciseBNHook``), leaving the RNGs of
        training as they were (its forward passes draw dropout masks)."""
        bn_loader = build_precise_bn_loader(seeded, cfg.per_device_train_batch_size, seed, epoch, accelerator,
                                            num_workers=cfg.num_workers)
        gpus = [accelerator.device.index or 0] if accelerator.device.type == "cuda" else []
        with torch.random.fork_rng(devices=gpus):
            used = update_bn_stats(accelerator.unwrap_model(model), bn_loader, cfg.precise_bn_num_iters,
                                   forward=lambda net, b: _model_call(net, to_device(b, accelerator.device)),
                                   accelerator=accelerator)
        if accelerator.is_main_process:
            logger.info("precise BN: statistics recomputed over %d batches per process", used)

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
        if hook.update(plain, step):
            save_best(accelerator, model, cfg.output_dir, hook, processor)
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
            finished = completed_steps >= max_train_steps
            trained_bn = None  # the BN buffers of training, where precise BN replaced them for an evaluation
            # evaluate before checkpointing, so the checkpoint records the best score of its own step
            if cfg.eval_steps is not None and hook.should_evaluate(completed_steps):
                run_eval(completed_steps)
            elif finished and batches < len(train_loader):
                # the run ends inside an epoch, where no epoch schedule can evaluate: evaluate the final
                # weights, with their own BN statistics, so that best_model and best.json include them
                if cfg.precise_bn_num_iters:
                    trained_bn = bn_buffers(accelerator.unwrap_model(model))
                    precise_bn(epoch)
                run_eval(completed_steps)
            if isinstance(cfg.checkpointing_steps, int) and completed_steps % cfg.checkpointing_steps == 0:
                # the checkpoint holds the training state, which a longer run resumed from it continues
                with bn_buffers_as(accelerator.unwrap_model(model), trained_bn):
                    save_checkpoint(accelerator, cfg.output_dir, f"step_{completed_steps}",
                                    trainer_state(epoch, batches), cfg.checkpoints_total_limit)
            if finished:
                break
        if batches < len(train_loader):  # stopped by max_train_steps inside the epoch
            break
        if cfg.precise_bn_num_iters and (epoch + 1) % cfg.precise_bn_interval == 0:
            precise_bn(epoch)
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

"""Training and evaluation of feature-sequence localizers (BMN, TEM) with Accelerate.

Used by ``examples/run_localization.py`` and ``videohub.apis.train_model``. Rows come from the
``activitynet_feature`` builder (``raw_feature`` ``[C, T]``, ``gt_bbox``, ``duration_*``,
``video_name``, ``annotations``). Data order is a seeded permutation per epoch, sharded over the
processes, so a run resumed from a checkpoint sees exactly the batches an uninterrupted run sees.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import ConfigError, ShapeError
from ..metrics.localization import average_recall_at_avg_proposals
from ..training.checkpointing import STATE_FILE, find_checkpoint, save_checkpoint
from ..training.lr import make_lr_scheduler, scheduler_state
from ..training.optimizer import build_optimizer
from ..utils.logging import get_logger

logger = get_logger(__name__)

#: Metadata a ``post_process`` and the AR@AN evaluation read from a row.
META_KEYS = ("video_name", "duration_second", "duration_frame", "feature_frame", "annotations")
AR_AT = (1, 5, 10, 100)
DEFAULT_TIOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)


def collate(rows: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """``{"input_features": [B, C, T], "labels": [[k, 2], ...], "video_metas": [...]}`` of feature rows."""
    shapes = {np.asarray(r["raw_feature"]).shape for r in rows}
    if len(shapes) != 1:
        raise ShapeError(f"feature sequences of one batch differ in shape: {sorted(shapes)}; rescale every video "
                         "to the same temporal_dim")
    return {"input_features": torch.as_tensor(np.stack([np.asarray(r["raw_feature"], dtype=np.float32)
                                                        for r in rows])),
            "labels": [torch.as_tensor(np.asarray(r["gt_bbox"], dtype=np.float32).reshape(-1, 2)) for r in rows],
            "video_metas": [{k: r[k] for k in META_KEYS if k in r} for r in rows]}


def epoch_batches(num_rows: int, batch_size: int, seed: int, epoch: int, rank: int,
                  world_size: int) -> List[List[int]]:
    """This process's batches of one epoch: a permutation seeded by ``(seed, epoch)``, dealt
    round-robin over the processes, cut to whole batches of the same count on every process."""
    order = np.random.default_rng([seed, epoch]).permutation(num_rows)
    per_process = num_rows // world_size
    steps = per_process // batch_size
    if steps == 0:
        raise ConfigError(f"{num_rows} training videos give no full batch of {batch_size} on each of "
                          f"{world_size} processes; lower --per_device_train_batch_size")
    mine = order[rank::world_size][:steps * batch_size]
    return [mine[i * batch_size:(i + 1) * batch_size].tolist() for i in range(steps)]


def predict_shared(model: Any, count: int, predict: Callable[[Any, List[int]], List[Any]], accelerator: Any,
                   batch_size: int = 1, desc: str = "predict") -> List[Any]:
    """``predict(model, indices)`` (one result per index) over the indices ``0 .. count - 1``.

    The processes share the indices (process ``p`` takes ``p, p + N, ...``) and run them in batches
    of ``batch_size`` (default 1), in eval mode without gradients; every process gets all results,
    in index order. ``desc`` labels the progress bar (default ``"predict"``).
    """
    unwrapped = accelerator.unwrap_model(model)
    was_training = unwrapped.training
    unwrapped.eval()
    indices = list(range(accelerator.process_index, count, accelerator.num_processes))
    mine: List[Tuple[int, Any]] = []
    try:
        with torch.no_grad():
            for start in tqdm(range(0, len(indices), batch_size), desc=desc,
                              disable=not accelerator.is_local_main_process):
                chunk = indices[start:start + batch_size]
                mine.extend(zip(chunk, predict(unwrapped, chunk)))
    finally:
        unwrapped.train(was_training)
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        mine = gather_object(mine)
    by_index = dict(mine)
    return [by_index[i] for i in range(count)]


def predict_proposals(model: Any, rows: Any, accelerator: Any, batch_size: int = 8) -> List[Dict[str, Any]]:
    """``[{"video_name", "proposal_list"}]`` of every row, in row order, each once (processes share the rows)."""
    def predict(net: Any, chunk: List[int]) -> List[Dict[str, Any]]:
        batch = collate([rows[i] for i in chunk])
        out = net(input_features=batch["input_features"].to(accelerator.device))
        return [{"video_name": meta["video_name"], "proposal_list": proposals}
                for meta, proposals in zip(batch["video_metas"], net.post_process(out, batch["video_metas"]))]

    return predict_shared(model, len(rows), predict, accelerator, batch_size, desc="proposals")


def proposal_metrics(results: Sequence[Mapping[str, Any]], video_infos: Sequence[Mapping[str, Any]],
                     max_avg_proposals: int = 100,
                     temporal_iou_thresholds: Sequence[float] = DEFAULT_TIOU_THRESHOLDS
                     ) -> Tuple[Dict[str, float], np.ndarray, np.ndarray]:
    """AR@1/5/10/100 and AUC (mmaction2's ``ActivityNetDataset.evaluate``) and the AR@AN curve.

    Args:
        results: Per video ``{"video_name", "proposal_list": [{"segment", "score"}]}``.
        video_infos: Per video ``video_name`` and ``annotations`` (``[{"segment": [s, e]}]``, seconds).
        max_avg_proposals: Largest average number of proposals per video. Default 100.
        temporal_iou_thresholds: tIoU thresholds. Default ``np.linspace(0.5, 0.95, 10)``.

    Returns:
        ``({"AR@1", "AR@5", "AR@10", "AR@100", "auc"}, proposals per video [100], average recall [100])``.
    """
    ground_truth = {info["video_name"]: np.asarray([a["segment"][:2] for a in info["annotations"]],
                                                   dtype=float).reshape(-1, 2) for info in video_infos}
    proposals, total = {}, 0
    for result in results:
        rows = [[p["segment"][0], p["segment"][1], p["score"]] for p in result["proposal_list"]]
        proposals[result["video_name"]] = np.asarray(rows, dtype=float).reshape(-1, 3)
        total += len(rows)
    missing = sorted(set(ground_truth) - set(proposals))
    if missing:
        raise ShapeError(f"no proposals for videos {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    recall, average_recall, per_video, auc = average_recall_at_avg_proposals(
        ground_truth, proposals, total, max_avg_proposals=max_avg_proposals,
        temporal_iou_thresholds=temporal_iou_thresholds)
    metrics = {f"AR@{k}": float(np.mean(recall[:, k - 1])) for k in AR_AT}
    metrics["auc"] = float(auc)
    return metrics, per_video, average_recall


def plot_ar_an(per_video: np.ndarray, average_recall: np.ndarray, path: str, title: str = "AR@AN") -> bool:
    """Write the AR@AN curve as a PNG; ``False`` (and a warning) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        logger.warning("matplotlib is not installed; no AR@AN plot written (pip install matplotlib)")
        return False
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(per_video, average_recall, linewidth=2)
    ax.set_xlabel("average number of proposals per video")
    ax.set_ylabel("average recall (tIoU 0.5:0.05:0.95)")
    ax.set_title(title)
    ax.set_ylim(0, 1)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def evaluate_localizer(model: Any, rows: Any, accelerator: Any, batch_size: int = 8,
                       prefix: str = "eval") -> Tuple[Dict[str, float], List[Dict[str, Any]], Tuple[np.ndarray, np.ndarray]]:
    """``{prefix}_AR@k``, ``{prefix}_auc`` and ``{prefix}_samples`` (videos evaluated) of ``rows``,
    the proposals, and the AR@AN curve."""
    results = predict_proposals(model, rows, accelerator, batch_size)
    infos = [{k: rows[i][k] for k in ("video_name", "annotations")} for i in range(len(rows))]
    metrics, per_video, average_recall = proposal_metrics(results, infos)
    out = {f"{prefix}_{k}": v for k, v in metrics.items()}
    out[f"{prefix}_samples"] = len(results)
    return out, results, (per_video, average_recall)


#: ``batch_fn(indices, step)``: the model's keyword arguments (tensors on the CPU) for the samples
#: ``indices`` of the training data at optimizer step ``step`` (0-based).
BatchFn = Callable[[List[int], int], Dict[str, Any]]


def feature_batch(rows: Any) -> BatchFn:
    """The :data:`BatchFn` of feature-sequence rows (BMN, TEM): ``input_features`` and ``labels``."""
    def batch_fn(indices: List[int], step: int) -> Dict[str, Any]:
        batch = collate([rows[i] for i in indices])
        return {"input_features": batch["input_features"], "labels": batch["labels"]}

    return batch_fn


def to_device(value: Any, device: Any) -> Any:
    """``value`` with every tensor inside (dicts, lists, tuples) moved to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value


def train_localizer(model: Any, train_rows: Any, cfg: Any, accelerator: Any, eval_rows: Any = None,
                    meta: Optional[Dict[str, Any]] = None, batch_fn: Optional[BatchFn] = None) -> Dict[str, Any]:
    """Train a localizer for ``cfg.max_train_steps`` optimizer steps.

    Args:
        model: A ``...ForTemporalActionLocalization`` returning ``loss`` for the batches of ``batch_fn``.
        train_rows: The training samples (only ``len`` is used when ``batch_fn`` is given;
            ``activitynet_feature`` rows otherwise).
        cfg: A :class:`videohub.training.loop.LoopConfig` (``optimizer``, ``lr_config``,
            ``per_device_train_batch_size``, ``max_train_steps`` or ``num_train_epochs``, ``seed``,
            ``checkpointing_steps`` (N steps, or ``"epoch"``: every ``checkpoint_interval`` epochs),
            ``checkpoints_total_limit``, ``resume_from_checkpoint``,
            ``logging_steps``, ``max_grad_norm``, ``output_dir``).
        accelerator: The ``accelerate.Accelerator``.
        eval_rows: Rows evaluated after training (``eval_*`` results). Default ``None``.
        meta: JSON-able dict stored in each checkpoint. Default ``None``.
        batch_fn: The model inputs of a list of sample indices (:data:`BatchFn`). Default ``None``:
            :func:`feature_batch` of ``train_rows`` (BMN, TEM).

    Returns:
        ``{"train_loss", "completed_steps", "epoch", eval_*}``.
    """
    if cfg.seed is None:
        raise ConfigError("train_localizer needs cfg.seed (the data order derives from it)")
    batch_fn = batch_fn or feature_batch(train_rows)
    batch_size = cfg.per_device_train_batch_size
    steps_per_epoch = len(epoch_batches(len(train_rows), batch_size, cfg.seed, 0, accelerator.process_index,
                                        accelerator.num_processes))
    total_steps = cfg.max_train_steps or steps_per_epoch * cfg.num_train_epochs
    optimizer = build_optimizer(model, cfg.optimizer)
    scheduler = make_lr_scheduler(optimizer, cfg.lr_config, steps_per_epoch, total_steps)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    completed = 0
    resume = find_checkpoint(cfg.output_dir, cfg.resume_from_checkpoint) if cfg.resume_from_checkpoint else None
    if resume is not None:
        accelerator.load_state(resume)
        with open(os.path.join(resume, STATE_FILE), encoding="utf-8") as f:
            completed = int(json.load(f)["completed_steps"])
        logger.info("resumed from %s at step %d", resume, completed)
    every = cfg.checkpointing_steps if isinstance(cfg.checkpointing_steps, int) else None
    if cfg.checkpointing_steps == "epoch":
        every = cfg.checkpoint_interval * steps_per_epoch
    model.train()
    losses: List[float] = []
    progress = tqdm(total=total_steps, initial=completed, desc="train", disable=not accelerator.is_local_main_process)
    while completed < total_steps:
        epoch, skip = divmod(completed, steps_per_epoch)
        batches = epoch_batches(len(train_rows), batch_size, cfg.seed, epoch, accelerator.process_index,
                                accelerator.num_processes)
        for indices in batches[skip:]:
            out = model(**to_device(batch_fn(indices, completed), accelerator.device))
            accelerator.backward(out.loss)
            if cfg.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm, norm_type=cfg.grad_norm_type)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            completed += 1
            losses.append(float(out.loss.detach()))
            progress.update(1)
            if completed % cfg.logging_steps == 0:
                logger.info("step %d: loss %.4f, lr %.3g", completed, float(np.mean(losses[-cfg.logging_steps:])),
                            scheduler.get_last_lr()[0])
            if every and completed % every == 0:
                state = {"completed_steps": completed, "epoch": completed // steps_per_epoch,
                         "batches_in_epoch": completed % steps_per_epoch, "seed": cfg.seed,
                         "scheduler": scheduler_state(scheduler), "meta": meta or {}}
                save_checkpoint(accelerator, cfg.output_dir, f"step_{completed}", state, cfg.checkpoints_total_limit)
            if completed >= total_steps:
                break
    progress.close()
    results: Dict[str, Any] = {"train_loss": float(np.mean(losses)) if losses else None,
                               "completed_steps": completed, "epoch": completed // steps_per_epoch}
    if eval_rows is not None:
        metrics, _, _ = evaluate_localizer(model, eval_rows, accelerator, cfg.per_device_eval_batch_size)
        results.update(metrics)
    return results


"""mmaction2's ``mmaction.apis`` on videohub: build, run, test and train recognizers.

- :func:`init_recognizer`: a videohub folder / Hub id, or an mmaction2 config (+ checkpoint).
- :func:`inference_recognizer`: top-5 ``(label, score)`` of one video (or rawframe folder).
- :func:`single_gpu_test` / :func:`multi_gpu_test`: from :mod:`videohub.training.testing`.
- :func:`train_model`: mmaction2's entry point, running the Accelerate loop of
  :mod:`videohub.training.loop` (the one ``examples/run_recognition.py`` uses).
"""

from __future__ import annotations

import copy
import logging as _logging
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from .errors import ConfigError, VideoDecodeError
from .training.testing import multi_gpu_test, single_gpu_test
from .utils import logging

logger = logging.get_logger(__name__)

__all__ = ["init_recognizer", "inference_recognizer", "single_gpu_test", "multi_gpu_test", "train_model"]

_MMACTION2_CONFIG_EXTS = (".py", ".json", ".yaml", ".yml")


def _device(device: Union[str, torch.device]) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        logger.warning("device %s requested but CUDA is not available; using the CPU", device)
        return torch.device("cpu")
    return device


def init_recognizer(
    config: Union[str, os.PathLike, Mapping[str, Any]],
    checkpoint: Optional[str] = None,
    device: Union[str, torch.device] = "cuda:0",
    use_frames: bool = False,
) -> nn.Module:
    """Build a recognizer in eval mode, with its processor in ``model.processor``.

    Args:
        config: A videohub model folder or Hub id (``config.json`` + weights + processor), or an
            mmaction2 config (``.py`` read without executing it, ``.json``/``.yaml``, or the loaded
            dict).
        checkpoint: mmaction2 ``.pth`` to load into an mmaction2 config's model. Default ``None``
            (mmaction2 initialization). Not allowed with a videohub folder/Hub id (it has weights).
        device: Torch device. Default ``"cuda:0"``; falls back to the CPU when CUDA is absent.
        use_frames: Inputs of :func:`inference_recognizer` are rawframe folders. Default ``False``.

    Raises:
        ConfigError: ``checkpoint`` given with a videohub folder/Hub id, or an unusable config.
    """
    from .auto import AutoVideoModel
    from .processing import VideoProcessor

    target = _device(device)
    is_mmaction2 = isinstance(config, Mapping) or (
        str(config).endswith(_MMACTION2_CONFIG_EXTS) and os.path.isfile(str(config)))
    if is_mmaction2:
        from .conversion.config_reader import load_config
        from .conversion.mmaction2 import init_recognizer as convert_init, split_model_cfg

        cfg = load_config(os.fspath(config)) if not isinstance(config, Mapping) else dict(config)
        model = convert_init(cfg, checkpoint, device=str(target))
        _, test_pipeline = split_model_cfg(cfg)
        processor = VideoProcessor.from_mmaction2_pipeline(test_pipeline) if test_pipeline else None
    else:
        if checkpoint is not None:
            raise ConfigError(f"init_recognizer: {config!r} is a videohub model (weights included); "
                              "checkpoint= is only for mmaction2 configs")
        model = AutoVideoModel.from_pretrained(os.fspath(config)).to(target).eval()
        processor = VideoProcessor.for_model(os.fspath(config), model.config)
    if processor is None:
        processor = VideoProcessor.for_config(model.config)
    model.processor = processor
    model.use_frames = bool(use_frames)
    return model


def _read_labels(label_path: str) -> List[str]:
    if not os.path.isfile(label_path):
        raise ConfigError(f"label file {label_path!r} does not exist")
    with open(label_path, encoding="utf-8") as f:
        return [line.strip() for line in f]


def _layer(model: nn.Module, name: str) -> nn.Module:
    for candidate in (name, f"model.{name}"):
        try:
            return model.get_submodule(candidate)
        except AttributeError:
            continue
    raise ConfigError(f"the model has no layer {name!r} (names are like 'model.backbone.layer4' or 'cls_head')")


def _detach(value: Any, as_tensor: bool) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        return value if as_tensor else value.numpy()
    if isinstance(value, (list, tuple)):
        return type(value)(_detach(v, as_tensor) for v in value)
    return value


def inference_recognizer(
    model: nn.Module,
    video_path: str,
    label_path: Optional[str] = None,
    use_frames: bool = False,
    outputs: Optional[Union[str, Sequence[str]]] = None,
    as_tensor: bool = True,
) -> Union[List[Tuple[Any, float]], Tuple[List[Tuple[Any, float]], Dict[str, Any]]]:
    """Classify one video; return the top-5 ``(label, score)`` pairs, best first.

    Args:
        model: From :func:`init_recognizer` (any videohub classifier works; its processor is
            ``model.processor`` or the default one).
        video_path: A video file, or a rawframe folder when ``use_frames`` (``img_00001.jpg`` ...).
        label_path: Class names, one a line (the line number is the class id). Default ``None``:
            ``model.config.id2label``.
        use_frames: Read ``video_path`` as a rawframe folder. Default ``False`` (or the
            ``use_frames`` given to :func:`init_recognizer`).
        outputs: Names of layers whose outputs are returned too (``"model.backbone.layer4"``;
            mmaction2 names such as ``"backbone.layer4"`` work). Default ``None``.
        as_tensor: Return layer outputs as tensors (``True``, default) or numpy arrays.

    Returns:
        The top-5 list; with ``outputs``, ``(top5, {name: output})``.

    Raises:
        VideoDecodeError: ``video_path`` is missing, or a folder without ``use_frames`` (or a file with it).
    """
    from .processing import VideoProcessor

    use_frames = use_frames or bool(getattr(model, "use_frames", False))
    if not os.path.exists(video_path):
        raise VideoDecodeError(f"{video_path!r} does not exist")
    if os.path.isfile(video_path) and use_frames:
        raise VideoDecodeError(f"{video_path!r} is a file, but use_frames=True expects a rawframe folder")
    if os.path.isdir(video_path) and not use_frames:
        raise VideoDecodeError(f"{video_path!r} is a folder; pass use_frames=True to read rawframes")
    if isinstance(outputs, str):
        outputs = (outputs,)
    config = model.config
    processor = getattr(model, "processor", None) or VideoProcessor()
    pixel_values = processor(video_path)["pixel_values"]  # a rawframe folder or a video file, as `videohub predict`
    weight = next(model.parameters())
    captured: Dict[str, Any] = {}
    handles = []
    for name in outputs or ():
        handles.append(_layer(model, name).register_forward_hook(
            lambda _m, _i, out, key=name: captured.__setitem__(key, _detach(out, as_tensor))))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            # mmaction2 returns the averaged test output (``scores``), not logits
            scores = model(pixel_values=pixel_values.to(device=weight.device, dtype=weight.dtype)).scores[0]
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    scores = scores.float().cpu().reshape(-1, scores.shape[-1]).mean(0).numpy()
    if label_path is not None:
        names: List[Any] = _read_labels(label_path)
        if len(names) != len(scores):
            raise ConfigError(f"{label_path} has {len(names)} labels but the model scores {len(scores)} classes")
    else:
        names = [config.id2label.get(i, i) for i in range(len(scores))]
    ranked = top5_from_scores(scores, names)
    return (ranked, captured) if outputs else ranked


def _get(cfg: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    value: Any = cfg
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


_RECOGNITION_METRICS = ("top_k_accuracy", "mean_class_accuracy")


def loop_config_from_mmaction2(cfg: Mapping[str, Any], validate: bool = False,
                               test: Optional[Mapping[str, bool]] = None,
                               metrics: Sequence[str] = _RECOGNITION_METRICS) -> Any:
    """Translate an mmaction2 training config (a dict: ``load_config`` output) into a :class:`LoopConfig`.

    ``metrics`` are the ``evaluation.metrics`` the model's evaluation computes (default the
    recognition ones, ``top_k_accuracy`` and ``mean_class_accuracy``, also the default of a config
    without them).

    Read keys: ``work_dir``, ``seed``, ``total_epochs``, ``data.videos_per_gpu`` (and
    ``data.val_dataloader.videos_per_gpu``), ``data.workers_per_gpu``, ``optimizer``,
    ``optimizer_config.grad_clip``, ``lr_config``, ``checkpoint_config.interval`` (epochs),
    ``evaluation`` (``interval``, ``start``, ``save_best``, ``rule``, ``topk``, ``by_epoch``),
    ``precise_bn`` (``num_iters``, ``interval``), ``resume_from``, ``log_config.interval``,
    ``model.train_cfg.blending`` (or a top-level ``train_cfg.blending``), ``gradient_accumulation_steps``
    (videohub) and ``optimizer_config.cumulative_iters`` (mmcv's gradient accumulation).
    """
    from .training import LoopConfig

    test = dict(test or {})
    if not cfg.get("work_dir"):
        raise ConfigError("train_model: cfg.work_dir is required (checkpoints and best_model go there)")
    evaluation = dict(cfg.get("evaluation") or {})
    unknown_eval = sorted(set(evaluation) - {"interval", "start", "save_best", "rule", "topk", "by_epoch", "metrics",
                                             "gpu_collect", "tmpdir", "broadcast_bn_buffer"})
    if unknown_eval:
        raise ConfigError(f"cfg.evaluation: unsupported key(s) {unknown_eval}")
    wanted = evaluation.get("metrics", list(metrics))
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    unsupported = sorted(set(wanted) - set(metrics))
    if unsupported:
        raise ConfigError(f"cfg.evaluation.metrics {unsupported} are not computed for this model; "
                          f"supported: {', '.join(metrics)}")
    topk = evaluation.get("topk", (1, 5))
    topk = (topk,) if isinstance(topk, int) else tuple(topk)
    grad_clip = _get(cfg, "optimizer_config.grad_clip") or {}
    blending = _get(cfg, "model.train_cfg.blending") or _get(cfg, "train_cfg.blending")
    precise_bn = cfg.get("precise_bn") or {}
    checkpoint_interval = _get(cfg, "checkpoint_config.interval")
    by_epoch = evaluation.get("by_epoch", True)
    return LoopConfig(
        output_dir=cfg["work_dir"],
        seed=cfg.get("seed"),
        per_device_train_batch_size=int(_get(cfg, "data.videos_per_gpu", 8)),
        per_device_eval_batch_size=int(_get(cfg, "data.val_dataloader.videos_per_gpu", _get(cfg, "data.videos_per_gpu", 8))),
        num_train_epochs=int(cfg.get("total_epochs", 1)),
        max_train_steps=cfg.get("max_train_steps"),
        gradient_accumulation_steps=int(cfg.get("gradient_accumulation_steps",
                                                _get(cfg, "optimizer_config.cumulative_iters", 1))),
        optimizer=dict(cfg.get("optimizer") or {"type": "SGD", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}),
        lr_config=dict(cfg.get("lr_config") or {"policy": "fixed"}),
        max_grad_norm=grad_clip.get("max_norm"),
        grad_norm_type=float(grad_clip.get("norm_type", 2)),
        blending={k: v for k, v in blending.items() if k != "num_classes"} if blending else None,
        num_workers=int(_get(cfg, "data.workers_per_gpu", 0)),
        checkpointing_steps="epoch" if checkpoint_interval else None,
        checkpoint_interval=int(checkpoint_interval or 1),
        resume_from_checkpoint=cfg.get("resume_from"),
        eval_interval=int(evaluation.get("interval", 1)) if by_epoch else 1,
        eval_steps=None if by_epoch else int(evaluation.get("interval", 1)),
        eval_start=evaluation.get("start"),
        save_best=evaluation.get("save_best", "auto") if validate else None,
        rule=evaluation.get("rule"),
        test_best=bool(test.get("test_best", False)),
        test_last=bool(test.get("test_last", False)),
        precise_bn_num_iters=int(precise_bn.get("num_iters", 0)),
        precise_bn_interval=int(precise_bn.get("interval", 1)),
        topk=topk,
        logging_steps=int(_get(cfg, "log_config.interval", 10)),
    )


def _as_dataset(ds: Any, what: str) -> Any:
    """A dataset object; a config dict is built with its pipeline ending in ``ToModelInputs``."""
    if isinstance(ds, Mapping):
        from .data.datasets import build_dataset
        from .data.pipeline_translation import to_model_pipeline

        ds = dict(ds)
        if ds.get("pipeline") and all(isinstance(step, Mapping) for step in ds["pipeline"]):
            ds["pipeline"] = to_model_pipeline(ds["pipeline"])
        return build_dataset(ds)
    if ds is None:
        raise ConfigError(f"train_model: {what} is missing")
    return ds


def _train_localizer(model: nn.Module, task: Any, dataset: Any, cfg: Mapping[str, Any], loop_cfg: Any,
                     accelerator: Any, validate: bool, test_last: bool, meta: Optional[Dict[str, Any]]
                     ) -> Dict[str, Any]:
    """:func:`train_model` of a localizer: its data, batches and evaluation come from ``task``
    (a :class:`videohub.localization.tasks.LocalizerTask`)."""
    from .localization.training import train_localizer
    from .training.runtime import shared_seed

    if dataset is None:
        raise ConfigError(f"train_model: dataset is missing; a {model.config.model_type} model expects {task.data}")
    splits = [("eval", "cfg.data.val")] if validate else []
    if test_last:
        splits.append(("test_last", "cfg.data.test"))
    eval_data = []
    with accelerator.main_process_first():  # builders cache their rows once
        train_data = task.to_data(model, dataset, True, "train_model dataset")
        task.prepare(model, train_data)
        for prefix, where in splits:
            value = _get(cfg, where[len("cfg."):])
            if value is None:
                raise ConfigError(f"train_model: {where} is missing; a {model.config.model_type} model evaluates "
                                  f"{task.data}")
            eval_data.append((prefix, task.to_data(model, value, False, where)))
    loop_cfg.seed = shared_seed(loop_cfg.seed, accelerator)
    results = train_localizer(model, train_data, loop_cfg, accelerator, meta=meta,
                              batch_fn=task.make_batch_fn(train_data, loop_cfg.seed))
    for prefix, data in eval_data:
        metrics, _, _ = task.evaluate(model, data, accelerator, loop_cfg.per_device_eval_batch_size, prefix)
        results.update(metrics)
    return results


def train_model(
    model: nn.Module,
    dataset: Any,
    cfg: Mapping[str, Any],
    distributed: bool = False,
    validate: bool = False,
    test: Mapping[str, bool] = dict(test_best=False, test_last=False),
    timestamp: Optional[str] = None,
    meta: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """mmaction2's ``train_model`` on the Accelerate loop of :func:`videohub.training.loop.train`.

    Localizers (BMN, TEM, PEM, SSN) train with :func:`videohub.localization.training.train_localizer`;
    the model's kind picks its data, batches and evaluation (:mod:`videohub.localization.tasks`):
    AR@AN for BMN/TEM/PEM, THUMOS mAP for SSN, computed once after training.

    Args:
        model: A videohub model.
        dataset: The training dataset (a videohub dataset with its pipeline, a ``datasets.Dataset``
            with ``make_transform``, a dataset config dict, or a one-element list of those).
            Localizers: BMN/TEM feature rows (``activitynet_feature``), PEM samples
            (``load_pem_samples``), an ``SSNDataset``, or the mmaction2 dataset (dict or built) of
            the shipped configs: an ``ActivityNetDataset`` loading features (BMN/TEM) or PGM
            proposals (``LoadProposals``, PEM), an ``SSNDataset`` (SSN).
        cfg: The mmaction2 config as a dict (e.g. ``videohub.conversion.config_reader.load_config(path)``);
            see :func:`loop_config_from_mmaction2` for the keys read. ``cfg.data.val``/``cfg.data.test``
            (dataset dicts or datasets) are used by ``validate`` and ``test``.
        distributed: Whether the caller launched several processes. Accelerate reads the process
            group from the launcher (``torchrun``/``accelerate launch``); ``True`` without one is an
            error. Default ``False``.
        validate: Evaluate on ``cfg.data.val`` during training (``EvalHook``/``DistEvalHook``;
            localizers: after training). Default ``False``.
        test: ``dict(test_best=..., test_last=...)``: test the best / last weights on ``cfg.data.test``
            after training (localizers: ``test_last`` only). Default both ``False``.
        timestamp: Name of the log file ``<work_dir>/<timestamp>.log``. Default ``None`` (no log file).
        meta: JSON-able dict stored in every checkpoint. Default ``None``.

    Returns:
        The loop's results (``train_loss``, ``eval_*``, ``best_*``, ``test_best_*``, ``test_last_*``).

    Raises:
        ConfigError: A dataset that does not fit the model (its message names what was expected),
            or an unusable config.
    """
    from .training import make_accelerator, train

    is_localizer = getattr(model, "auto_task", None) == "temporal-action-localization"
    task = None
    if is_localizer:
        from .localization.tasks import localizer_task

        task = localizer_task(model)
        if test.get("test_best"):
            raise ConfigError("train_model: test_best is not available for localizers (no best checkpoint is "
                              "kept); use test_last")
    if isinstance(dataset, (list, tuple)) and not (task is not None and dataset and isinstance(dataset[0], Mapping)
                                                   and "type" not in dataset[0]):
        # a list of PEM samples is one dataset; a list of datasets is mmaction2's ``datasets``
        if len(dataset) != 1:
            raise ConfigError(f"train_model: {len(dataset)} training datasets given; the loop trains on one "
                              "(mmaction2's OmniSource multi-dataset training is not supported)")
        dataset = dataset[0]
    cfg = copy.deepcopy(dict(cfg))
    loop_cfg = loop_config_from_mmaction2(cfg, validate=validate, test=test,
                                          metrics=(task.metric,) if task is not None else _RECOGNITION_METRICS)
    accelerator = make_accelerator(loop_cfg, mixed_precision=cfg.get("mixed_precision"))
    if distributed and accelerator.num_processes < 2:
        raise ConfigError("train_model(distributed=True) but only one process runs; launch with "
                          "`torchrun --nproc_per_node N` or `accelerate launch --num_processes N`")
    handler = None
    if timestamp and accelerator.is_main_process:
        os.makedirs(loop_cfg.output_dir, exist_ok=True)
        handler = _logging.FileHandler(os.path.join(loop_cfg.output_dir, f"{timestamp}.log"))
        handler.setFormatter(_logging.Formatter("%(asctime)s - %(levelname)s - %(name)s - %(message)s"))
        _logging.getLogger("videohub").addHandler(handler)
    try:
        if task is not None:
            results = _train_localizer(model, task, dataset, cfg, loop_cfg, accelerator, validate,
                                       bool(test.get("test_last")), meta)
        else:
            val = _as_dataset(_get(cfg, "data.val"), "cfg.data.val") if validate else None
            test_ds = None
            if test.get("test_best") or test.get("test_last"):
                test_ds = _as_dataset(_get(cfg, "data.test"), "cfg.data.test")
            results = train(model, _as_dataset(dataset, "dataset"), loop_cfg, eval_dataset=val,
                            test_dataset=test_ds, accelerator=accelerator, meta=meta)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            accelerator.unwrap_model(model).save_pretrained(os.path.join(loop_cfg.output_dir, "latest_model"))
        accelerator.wait_for_everyone()
        for tracker in accelerator.trackers:
            tracker.finish()
        return results
    finally:
        if handler is not None:
            _logging.getLogger("videohub").removeHandler(handler)
            handler.close()


def top5_from_scores(scores: np.ndarray, labels: Sequence[Any]) -> List[Tuple[Any, float]]:
    """The five best ``(label, score)`` pairs of one score vector, best first."""
    return sorted(zip(labels, (float(s) for s in scores)), key=lambda pair: pair[1], reverse=True)[:5]

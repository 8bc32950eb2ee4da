"""Training building blocks and the Accelerate loop of the examples.

- :mod:`.loop`: :class:`LoopConfig`, :func:`make_accelerator` and :func:`train`;
- :mod:`.loaders`: :class:`SeededDataset` and the train / eval / precise-BN loaders;
- :mod:`.checkpointing`: atomic, full-disk-safe checkpoints and checked resumes;
- :mod:`.lr`: mmcv lr schedules (:func:`make_lr_scheduler`, :func:`build_lr_scheduler`, TIN);
- :mod:`.evaluation`: ``EvalHook`` / ``DistEvalHook`` and :func:`evaluate`;
- :mod:`.optimizer`, :mod:`.precise_bn`, :mod:`.testing`, :mod:`.runtime`.

The batch contract (:class:`~videohub.data.collate.VideoCollator`) and the pipeline translation
(:func:`~videohub.data.pipeline_translation.pipeline_from_processor`, ...) live in
:mod:`videohub.data`; they are re-exported here for the training scripts.
"""

from ..data.collate import VideoCollator, to_model_batch
from ..data.pipeline_translation import adapt_decoding, pipeline_from_processor, to_model_pipeline
from .checkpointing import (
    BEST_DIR, LATEST_FILE, STATE_FILE, check_output_dir, checkpoint_problem, checkpoint_seed, find_checkpoint,
    load_checkpoint, read_state, save_best, save_checkpoint, save_model_atomic,
)
from .evaluation import DistEvalHook, EvalHook, broadcast_bn_buffers, compute_metrics, evaluate, infer_rule
from .loaders import (
    SeededDataset, build_eval_loader, build_precise_bn_loader, build_train_loader, labels_of, to_device,
)
from .loop import LoopConfig, make_accelerator, parse_checkpointing_steps, train
from .lr import (
    TINLrUpdaterHook, annealing_cos, build_lr_scheduler, load_scheduler_state, lr_at, make_lr_scheduler,
    scheduler_state, warmup_factor,
)
from .optimizer import CopyOfSGD, TSMOptimizerConstructor, build_optimizer, param_groups, tsm_param_groups
from .precise_bn import PreciseBNHook, update_bn_stats
from .runtime import available_trackers, enable_determinism, has_accelerator_device, shared_seed
from .testing import model_inputs, multi_gpu_test, single_gpu_test

__all__ = [
    # loop
    "LoopConfig", "make_accelerator", "parse_checkpointing_steps", "train",
    # data
    "VideoCollator", "to_model_batch", "adapt_decoding", "pipeline_from_processor", "to_model_pipeline",
    "SeededDataset", "build_eval_loader", "build_precise_bn_loader", "build_train_loader", "labels_of", "to_device",
    # checkpoints
    "BEST_DIR", "LATEST_FILE", "STATE_FILE", "check_output_dir", "checkpoint_problem", "checkpoint_seed",
    "find_checkpoint", "load_checkpoint", "read_state", "save_best", "save_checkpoint", "save_model_atomic",
    # schedules
    "TINLrUpdaterHook", "annealing_cos", "build_lr_scheduler", "load_scheduler_state", "lr_at", "make_lr_scheduler",
    "scheduler_state", "warmup_factor",
    # evaluation and testing
    "EvalHook", "DistEvalHook", "infer_rule", "broadcast_bn_buffers", "compute_metrics", "evaluate",
    "model_inputs", "single_gpu_test", "multi_gpu_test",
    # optimizers, precise BN, runtime
    "CopyOfSGD", "TSMOptimizerConstructor", "build_optimizer", "param_groups", "tsm_param_groups",
    "PreciseBNHook", "update_bn_stats", "available_trackers", "enable_determinism", "has_accelerator_device",
    "shared_seed",
]

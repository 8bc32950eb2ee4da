"""Training building blocks used by the Accelerate examples: optimizers, lr schedules, precise BN,
evaluation scheduling / best-checkpoint tracking and testing loops."""

from .evaluation import DistEvalHook, EvalHook, infer_rule
from .lr import TINLrUpdaterHook, annealing_cos, build_lr_scheduler, lr_at
from .optimizer import CopyOfSGD, TSMOptimizerConstructor, build_optimizer, param_groups, tsm_param_groups
from .precise_bn import PreciseBNHook, update_bn_stats
from .testing import multi_gpu_test, single_gpu_test

__all__ = [
    "CopyOfSGD", "TSMOptimizerConstructor", "build_optimizer", "param_groups", "tsm_param_groups",
    "TINLrUpdaterHook", "annealing_cos", "build_lr_scheduler", "lr_at", "PreciseBNHook", "update_bn_stats",
    "EvalHook", "DistEvalHook", "infer_rule", "single_gpu_test", "multi_gpu_test",
]

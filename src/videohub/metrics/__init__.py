"""Evaluation metrics of mmaction2 v0.x as vectorized numpy functions, plus offline ``evaluate`` modules.

- Recognition (``classification``): ``top_k_accuracy``, ``mean_class_accuracy``, ``confusion_matrix``,
  ``mean_average_precision``, ``mmit_mean_average_precision``, ``softmax``, ``get_weighted_score`` ...
- Temporal localization (``localization``): ``pairwise_temporal_iou``, ``average_recall_at_avg_proposals``
  (AR@AN), ``average_precision_at_temporal_iou``, ``interpolated_precision_recall``,
  ``ActivityNetLocalization``.
- Spatio-temporal detection (``ava``): frame mAP@0.5IOU with the AVA protocol (``ava_eval``).
- HVU (``hvu``): mAP per tag category.
- Dataset ``evaluate``/``dump_results`` logic (``dataset_evaluation``) and pictures (``plots``).

``videohub.metrics.load("top_k_accuracy")`` loads the bundled ``evaluate`` module of that name offline.
"""

import os
from typing import Any, List

from ..errors import ConfigError
from .ava import ava_eval
from .classification import (
    binary_precision_recall_curve,
    confusion_matrix,
    get_weighted_score,
    mean_average_precision,
    mean_class_accuracy,
    mmit_mean_average_precision,
    softmax,
    top_k_accuracy,
    top_k_classes,
)
from .dataset_evaluation import (
    dump_activitynet_results,
    dump_results,
    evaluate_activitynet,
    evaluate_ava,
    evaluate_hvu,
    evaluate_recognition,
    evaluate_ssn,
    proposals2json,
)
from .hvu import hvu_category_map
from .localization import (
    ActivityNetLocalization,
    average_precision_at_temporal_iou,
    average_recall_at_avg_proposals,
    compute_average_precision_detection,
    interpolated_precision_recall,
    pairwise_temporal_iou,
)
from .plots import plot_ar_an, plot_confusion_matrix

MODULES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "modules")


def available_modules() -> List[str]:
    """Names of the bundled ``evaluate`` metric modules."""
    return sorted(name for name in os.listdir(MODULES_DIR)
                  if os.path.isfile(os.path.join(MODULES_DIR, name, name + ".py")))


def module_path(name: str) -> str:
    """Folder of the bundled ``evaluate`` module ``name`` (usable with ``evaluate.load``)."""
    if name not in available_modules():
        raise ConfigError(f"no bundled evaluate module {name!r}; available: {available_modules()}")
    return os.path.join(MODULES_DIR, name)


def load(name: str, **kwargs: Any) -> Any:
    """``evaluate.load`` of a bundled module by name, offline (no Hub access).

    Args:
        name: One of ``available_modules()``, e.g. ``"top_k_accuracy"``.
        **kwargs: Passed to ``evaluate.load`` (``config_name``, ``experiment_id``, ...).
    """
    import evaluate

    return evaluate.load(module_path(name), **kwargs)


__all__ = [
    "ActivityNetLocalization",
    "available_modules",
    "ava_eval",
    "average_precision_at_temporal_iou",
    "average_recall_at_avg_proposals",
    "binary_precision_recall_curve",
    "compute_average_precision_detection",
    "confusion_matrix",
    "dump_activitynet_results",
    "dump_results",
    "evaluate_activitynet",
    "evaluate_ava",
    "evaluate_hvu",
    "evaluate_recognition",
    "evaluate_ssn",
    "get_weighted_score",
    "hvu_category_map",
    "interpolated_precision_recall",
    "load",
    "mean_average_precision",
    "mean_class_accuracy",
    "mmit_mean_average_precision",
    "module_path",
    "pairwise_temporal_iou",
    "plot_ar_an",
    "plot_confusion_matrix",
    "proposals2json",
    "softmax",
    "top_k_accuracy",
    "top_k_classes",
]

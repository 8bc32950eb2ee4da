"""What each localizer kind trains on and how it is evaluated: one table keyed by model type.

Used by ``videohub.apis.train_model`` and ``examples/run_localization.py``:

- ``videohub-bmn``, ``videohub-tem``: feature rows (``raw_feature``, ``gt_bbox``; the
  ``activitynet_feature`` builder's), :func:`~videohub.localization.training.feature_batch`, AR@AN.
- ``videohub-pem``: PEM samples (:func:`~videohub.localization.pem_training.load_pem_samples`),
  :func:`~videohub.localization.pem_training.pem_batch`, AR@AN.
- ``videohub-ssn``: an :class:`~videohub.data.datasets.SSNDataset` (train mode to train, test mode
  to evaluate), :func:`~videohub.localization.ssn_training.ssn_batch`, THUMOS mAP.

Each kind also turns the mmaction2 dataset of the shipped configs (a config dict or the dataset
``build_dataset`` makes of it) into its data: an ``ActivityNetDataset`` whose pipeline loads
features (``LoadLocalizationFeature``) or PGM proposals (``LoadProposals``), or an ``SSNDataset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..data.datasets import ActivityNetDataset, SSNDataset, build_dataset
from ..data.pipelines.localization import LoadLocalizationFeature, LoadProposals
from ..errors import ConfigError
from .pem_training import evaluate_pem, load_pem_samples, pem_batch
from .ssn_training import (TEST_KEYS, TRAIN_KEYS, evaluate_ssn_model, regression_constants, ssn_batch,
                           store_regression_constants)
from .training import BatchFn, evaluate_localizer, feature_batch

#: ``evaluate(model, data, accelerator, batch_size, prefix)``: ``(metrics, proposals, AR@AN curve)``;
#: SSN gives no proposals (``[]``) and no curve (``None``).
EvaluateFn = Callable[[Any, Any, Any, int, str],
                      Tuple[Dict[str, float], List[Dict[str, Any]], Optional[Tuple[np.ndarray, np.ndarray]]]]


@dataclass(frozen=True)
class LocalizerTask:
    """How one localizer kind trains and evaluates.

    Args:
        metric: The mmaction2 ``evaluation.metrics`` name of its evaluation (``"AR@AN"``, ``"mAP"``).
        data: What its data is, for error messages.
        make_batch_fn: ``(training data, seed)`` -> the :data:`~videohub.localization.training.BatchFn`.
        evaluate: The :data:`EvaluateFn`.
        to_data: ``(model, data, for_training, where)`` -> the data in the form the two above read,
            from a dataset object or an mmaction2 dataset config dict; a
            :class:`~videohub.errors.ConfigError` naming ``where`` when it does not fit.
        prepare: ``(model, training data)``, run once before training. Default: nothing.
    """

    metric: str
    data: str
    make_batch_fn: Callable[[Any, int], BatchFn]
    evaluate: EvaluateFn
    to_data: Callable[[Any, Any, bool, str], Any]
    prepare: Callable[[Any, Any], None] = lambda model, data: None


def _describe(data: Any) -> str:
    if isinstance(data, Mapping) and "type" in data:
        return f"a {data['type']} config dict"
    return f"a {type(data).__name__}"


def _pipeline_step(dataset: Any, step_type: type) -> Optional[Any]:
    """The first ``step_type`` step of a videohub dataset's pipeline, or ``None``."""
    transforms = getattr(getattr(dataset, "pipeline", None), "transforms", ())
    return next((t for t in transforms if isinstance(t, step_type)), None)


def _build(data: Any, default_args: Optional[Dict[str, Any]] = None) -> Any:
    """``data`` itself, or the dataset ``build_dataset`` makes of a config dict."""
    return build_dataset(dict(data), default_args) if isinstance(data, Mapping) else data


def _check_rows(data: Any, keys: Sequence[str], what: str, where: str) -> Any:
    """``data`` if it is indexable and its first item has ``keys``; else a ConfigError naming ``where``."""
    if isinstance(data, (str, bytes)) or not hasattr(data, "__getitem__") or not hasattr(data, "__len__"):
        raise ConfigError(f"{where}: expected {what}, got {_describe(data)}")
    if len(data) == 0:
        raise ConfigError(f"{where}: expected {what}, got an empty {type(data).__name__}")
    first = data[0]
    missing = [k for k in keys if not isinstance(first, Mapping) or k not in first]
    if missing:
        found = sorted(first) if isinstance(first, Mapping) else type(first).__name__
        raise ConfigError(f"{where}: expected {what}; its items lack {missing} (got {_describe(data)} with "
                          f"items {found})")
    return data


# ----------------------------------------------------------------------------- BMN, TEM
FEATURE_TRAIN_KEYS = ("raw_feature", "gt_bbox")
FEATURE_EVAL_KEYS = ("raw_feature", "video_name", "annotations", "duration_second", "duration_frame")
FEATURE_DATA = ("feature rows (load_dataset('activitynet_feature', ...)) or an ActivityNetDataset whose pipeline "
                "has LoadLocalizationFeature")


def feature_dims(config: Any) -> Tuple[int, int]:
    """``(temporal_dim, feat_dim)`` of a BMN or TEM config."""
    return config.temporal_dim, getattr(config, "feat_dim", None) or config.tem_feat_dim


def feature_rows(model: Any, data: Any, for_training: bool, where: str) -> Any:
    """Feature rows of ``data``: given rows, or the ``activitynet_feature`` rows of an
    ``ActivityNetDataset`` (object or config dict) that loads features."""
    if isinstance(data, Mapping) and data.get("type") not in (None, "ActivityNetDataset"):
        raise ConfigError(f"{where}: a {model.config.model_type} model expects {FEATURE_DATA}, got {_describe(data)}")
    data = _build(data)
    if isinstance(data, SSNDataset):
        raise ConfigError(f"{where}: a {model.config.model_type} model expects {FEATURE_DATA}, got an SSNDataset")
    if isinstance(data, ActivityNetDataset):
        if _pipeline_step(data, LoadLocalizationFeature) is None:
            raise ConfigError(f"{where}: a {model.config.model_type} model reads snippet features; the "
                              "ActivityNetDataset pipeline has no LoadLocalizationFeature step")
        from ..data import load_dataset

        temporal_dim, feat_dim = feature_dims(model.config)
        data = load_dataset("activitynet_feature", data.ann_file, data_prefix=data.data_prefix,
                            temporal_dim=temporal_dim, feat_dim=feat_dim,
                            on_error=data.on_error).with_format("numpy")
    return _check_rows(data, FEATURE_TRAIN_KEYS if for_training else FEATURE_EVAL_KEYS, FEATURE_DATA, where)


def _evaluate_features(model: Any, rows: Any, accelerator: Any, batch_size: int, prefix: str) -> Any:
    return evaluate_localizer(model, rows, accelerator, batch_size, prefix)


# ----------------------------------------------------------------------------- PEM
PEM_TRAIN_KEYS = ("bsp_feature", "reference_temporal_iou")
PEM_EVAL_KEYS = ("bsp_feature", "tmin", "tmax", "tmin_score", "tmax_score", "video_name", "annotations",
                 "duration_second", "duration_frame")
PEM_DATA = ("PEM samples (videohub.localization.pem_training.load_pem_samples) or an ActivityNetDataset whose "
            "pipeline has LoadProposals")


def pem_samples(model: Any, data: Any, for_training: bool, where: str) -> Any:
    """PEM samples of ``data``: given samples, or those of an ``ActivityNetDataset`` (object or
    config dict) whose ``LoadProposals`` step names the PGM proposal and BSP feature folders."""
    if isinstance(data, Mapping) and data.get("type") not in (None, "ActivityNetDataset"):
        raise ConfigError(f"{where}: a {model.config.model_type} model expects {PEM_DATA}, got {_describe(data)}")
    data = _build(data)
    if isinstance(data, SSNDataset):
        raise ConfigError(f"{where}: a {model.config.model_type} model expects {PEM_DATA}, got an SSNDataset")
    if isinstance(data, ActivityNetDataset):
        step = _pipeline_step(data, LoadProposals)
        if step is None:
            raise ConfigError(f"{where}: a {model.config.model_type} model reads the BSN chain's PGM proposals; "
                              "the ActivityNetDataset pipeline has no LoadProposals step (pgm_proposals_dir, "
                              "pgm_features_dir)")
        data = load_pem_samples(data.video_infos, step.pgm_proposals_dir, step.pgm_features_dir, step.top_k,
                                data.on_error)
    return _check_rows(data, PEM_TRAIN_KEYS if for_training else PEM_EVAL_KEYS, PEM_DATA, where)


def _evaluate_pem(model: Any, samples: Any, accelerator: Any, batch_size: int, prefix: str) -> Any:
    return evaluate_pem(model, samples, accelerator, prefix)


# ----------------------------------------------------------------------------- SSN
SSN_DATA = "an SSNDataset (videohub.localization.ssn_training.load_ssn_dataset) or an SSNDataset config dict"


def ssn_dataset(model: Any, data: Any, for_training: bool, where: str) -> Any:
    """The ``SSNDataset`` of ``data`` (object or config dict), in train mode for training and in
    test mode for evaluation. An evaluation config dict is in test mode unless it says otherwise
    (mmaction2's ``train_model``) and, without ``reg_normalize_constants``, denormalizes with the
    constants stored in the model's config (those of its training set)."""
    if isinstance(data, Mapping):
        if data.get("type") != "SSNDataset":
            raise ConfigError(f"{where}: a {model.config.model_type} model expects {SSN_DATA}, "
                              f"got {_describe(data)}")
        defaults: Dict[str, Any] = {"test_mode": not for_training}
        constants = regression_constants(model.config)
        if not for_training and constants is not None:
            defaults["reg_normalize_constants"] = constants
        data = build_dataset(dict(data), defaults)
    if not isinstance(data, SSNDataset):
        raise ConfigError(f"{where}: a {model.config.model_type} model expects {SSN_DATA}, got {_describe(data)}")
    if data.test_mode == for_training:
        mode, keys = ("train", TRAIN_KEYS) if for_training else ("test", TEST_KEYS)
        raise ConfigError(f"{where}: SSN {'training' if for_training else 'evaluation (mAP)'} needs an SSNDataset "
                          f"with test_mode={not for_training} and a {mode} pipeline collecting {list(keys)}, "
                          f"got test_mode={data.test_mode}")
    return data


def _store_constants(model: Any, dataset: Any) -> None:
    # the regression targets are normalized with the training file's statistics (mmaction2); the
    # model keeps them so that evaluation on other videos denormalizes the same way
    store_regression_constants(model.config, dataset.reg_norm_consts)


def _evaluate_ssn(model: Any, dataset: Any, accelerator: Any, batch_size: int, prefix: str) -> Any:
    metrics, _ = evaluate_ssn_model(model, dataset, accelerator, prefix)
    return metrics, [], None


_FEATURES = LocalizerTask(metric="AR@AN", data=FEATURE_DATA, make_batch_fn=lambda rows, seed: feature_batch(rows),
                          evaluate=_evaluate_features, to_data=feature_rows)
LOCALIZER_TASKS: Dict[str, LocalizerTask] = {
    "videohub-bmn": _FEATURES,
    "videohub-tem": _FEATURES,
    "videohub-pem": LocalizerTask(metric="AR@AN", data=PEM_DATA, make_batch_fn=lambda samples, seed: pem_batch(samples),
                                  evaluate=_evaluate_pem, to_data=pem_samples),
    "videohub-ssn": LocalizerTask(metric="mAP", data=SSN_DATA, make_batch_fn=ssn_batch, evaluate=_evaluate_ssn,
                                  to_data=ssn_dataset, prepare=_store_constants),
}


def localizer_task(model: Any) -> LocalizerTask:
    """The :class:`LocalizerTask` of a localizer (by ``model.config.model_type``).

    Raises:
        ConfigError: The model is not one of :data:`LOCALIZER_TASKS`.
    """
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    if model_type not in LOCALIZER_TASKS:
        raise ConfigError(f"localizer training covers {sorted(LOCALIZER_TASKS)}, not {model_type!r}")
    return LOCALIZER_TASKS[model_type]

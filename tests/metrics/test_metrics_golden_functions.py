"""Replay every mmaction2 evaluation/localization case of ``golden_funcs.pt`` (README §7) on videohub."""

import os

import numpy as np
import pytest
import torch

import videohub.localization as vh_localization
import videohub.metrics as vh_metrics
from videohub.conversion.golden import golden_dir

# mmaction2 import path -> videohub function. Every golden case under these prefixes must be listed.
PREFIXES = ("mmaction.core.evaluation.", "mmaction.localization.")
FUNCTIONS = {
    "mmaction.core.evaluation.top_k_accuracy": vh_metrics.top_k_accuracy,
    "mmaction.core.evaluation.mean_class_accuracy": vh_metrics.mean_class_accuracy,
    "mmaction.core.evaluation.top_k_classes": vh_metrics.top_k_classes,
    "mmaction.core.evaluation.mean_average_precision": vh_metrics.mean_average_precision,
    "mmaction.core.evaluation.mmit_mean_average_precision": vh_metrics.mmit_mean_average_precision,
    "mmaction.core.evaluation.confusion_matrix": vh_metrics.confusion_matrix,
    "mmaction.core.evaluation.accuracy.binary_precision_recall_curve": vh_metrics.binary_precision_recall_curve,
    "mmaction.core.evaluation.softmax": vh_metrics.softmax,
    "mmaction.core.evaluation.interpolated_precision_recall": vh_metrics.interpolated_precision_recall,
    "mmaction.core.evaluation.get_weighted_score": vh_metrics.get_weighted_score,
    "mmaction.core.evaluation.pairwise_temporal_iou": vh_metrics.pairwise_temporal_iou,
    "mmaction.core.evaluation.average_recall_at_avg_proposals": vh_metrics.average_recall_at_avg_proposals,
    "mmaction.core.evaluation.average_precision_at_temporal_iou": vh_metrics.average_precision_at_temporal_iou,
    "mmaction.localization.temporal_iou": vh_localization.temporal_iou,
    "mmaction.localization.temporal_iop": vh_localization.temporal_iop,
    "mmaction.localization.soft_nms": vh_localization.soft_nms,
    "mmaction.localization.temporal_nms": vh_localization.temporal_nms,
}


def _golden_cases():
    path = os.path.join(golden_dir(), "golden_funcs.pt")
    if not os.path.exists(path):
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{path!r} not found (set VIDEOHUB_GOLDEN_DIR)"))]
    data = torch.load(path, map_location="cpu", weights_only=True)
    cases = [case for case in data["functions"] if case["func"].startswith(PREFIXES)]
    return [pytest.param(case, id=f"{i}-{case['func'].rsplit('.', 1)[-1]}") for i, case in enumerate(cases)]


def _to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, list):
        return [_to_numpy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_numpy(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    return value


def _assert_matches(actual, expected, where="output"):
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)), f"{where}: expected a sequence, got {type(actual).__name__}"
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_matches(a, e, f"{where}[{i}]")
        return
    if isinstance(expected, np.ndarray):
        actual = np.asarray(actual)
        assert actual.shape == expected.shape, f"{where}: shape {actual.shape} != {expected.shape}"
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=1e-6, atol=1e-6, equal_nan=True, err_msg=where)


@pytest.mark.parametrize("case", _golden_cases())
def test_golden_function_case(case):
    func = FUNCTIONS.get(case["func"])
    assert func is not None, f"golden case for {case['func']} has no videohub counterpart"
    output = func(*_to_numpy(case["args"]), **_to_numpy(case["kwargs"]))
    _assert_matches(output, _to_numpy(case["output"]))


def test_every_golden_function_is_mapped(golden_path):
    data = torch.load(os.path.join(golden_path, "golden_funcs.pt"), map_location="cpu", weights_only=True)
    ours = {case["func"] for case in data["functions"] if case["func"].startswith(PREFIXES)}
    assert ours, "golden_funcs.pt has no evaluation/localization case"
    assert ours <= set(FUNCTIONS), f"unmapped golden functions: {sorted(ours - set(FUNCTIONS))}"

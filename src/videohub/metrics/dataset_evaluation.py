"""The ``evaluate`` / ``dump_results`` logic of mmaction2 v0.24's datasets as plain functions.

The dataset classes of ``videohub.data`` call these with their annotations:

- ``evaluate_recognition``: ``BaseDataset.evaluate`` (rawframe, video, audio datasets).
- ``evaluate_activitynet`` / ``proposals2json`` / ``dump_activitynet_results``: ``ActivityNetDataset``.
- ``evaluate_ssn``: ``SSNDataset.evaluate`` (THUMOS'14 mAP over tIoU 0.1..0.9).
- ``evaluate_ava``: ``AVADataset.evaluate`` (frame mAP@0.5IOU).
- ``evaluate_hvu``: ``HVUDataset.evaluate`` (mAP per tag category).
- ``dump_results``: results to ``.json``, ``.csv`` or ``.pkl`` by extension.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import os.path as osp
import pickle
from typing import Any, Dict, Hashable, List, Mapping, Optional, Sequence, Union

import numpy as np

from ..errors import AnnotationError, ConfigError, ShapeError
from .ava import _float_field, ava_eval
from .classification import mean_average_precision, mean_class_accuracy, mmit_mean_average_precision, softmax, \
    top_k_accuracy
from .hvu import hvu_category_map, label2array
from .localization import DEFAULT_TIOU_THRESHOLDS, average_precision_per_class, average_recall_at_avg_proposals

__all__ = [
    "dump_activitynet_results",
    "dump_results",
    "evaluate_activitynet",
    "evaluate_ava",
    "evaluate_hvu",
    "evaluate_recognition",
    "evaluate_ssn",
    "proposals2json",
    "ssn_ground_truths",
    "ssn_results_to_detections",
]

RECOGNITION_METRICS = ("top_k_accuracy", "mean_class_accuracy", "mean_average_precision",
                       "mmit_mean_average_precision")
ACTIVITYNET_METRICS = ("AR@AN", "AUC", "mAP")
DEFAULT_SSN_EVALUATER = {"top_k": 2000, "nms": 0.2, "softmax_before_filter": True, "cls_top_k": 2}


def _metric_list(metrics: Union[str, Sequence[str]], allowed: Sequence[str]) -> List[str]:
    names = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
    for name in names:
        if name not in allowed:
            raise ConfigError(f"metric {name!r} is not supported; choose from {list(allowed)}")
    return names


def _check_results(results: Any, expected: int, what: str) -> None:
    if not isinstance(results, (list, tuple, np.ndarray)):
        raise ShapeError(f"results must be a list, but got {type(results).__name__}")
    if len(results) != expected:
        raise ShapeError(f"The length of results is not equal to the {what}: {len(results)} != {expected}")


def evaluate_recognition(results: Sequence[np.ndarray], gt_labels: Sequence[Any],
                         metrics: Union[str, Sequence[str]] = "top_k_accuracy",
                         metric_options: Optional[Dict[str, Dict[str, Any]]] = None, multi_class: bool = False,
                         num_classes: Optional[int] = None) -> Dict[str, Any]:
    """``BaseDataset.evaluate``: recognition metrics of per-video class scores.

    Args:
        results: Per video, the class scores ``[num_classes]``.
        gt_labels: Per video, a class index (or, for multi-label data, a list of indices).
        metrics: One or several of ``top_k_accuracy``, ``mean_class_accuracy``,
            ``mean_average_precision``, ``mmit_mean_average_precision``. Default ``"top_k_accuracy"``.
        metric_options: ``{"top_k_accuracy": {"topk": (1, 5)}}`` style options. Default ``None``
            (top-k uses ``(1, 5)``).
        multi_class: Whether ``gt_labels`` are lists of indices (then only the mAP metrics apply). Default False.
        num_classes: Number of classes; required by the mAP metrics. Default ``None``.

    Returns:
        ``{"top1_acc": ..., "top5_acc": ..., "mean_class_accuracy": ..., "mean_average_precision": ...,
        "mmit_mean_average_precision": ...}`` for the requested metrics, in request order.
    """
    options = copy.deepcopy(metric_options) if metric_options is not None else {}
    _check_results(results, len(gt_labels), "number of gt_labels")
    eval_results: Dict[str, Any] = {}
    for metric in _metric_list(metrics, RECOGNITION_METRICS):
        if metric in ("top_k_accuracy", "mean_class_accuracy") and multi_class:
            raise ConfigError(f"metric {metric!r} needs one label per video; the dataset is multi_class "
                              "(use mean_average_precision or mmit_mean_average_precision)")
        if metric == "top_k_accuracy":
            topk = options.setdefault("top_k_accuracy", {}).setdefault("topk", (1, 5))
            if isinstance(topk, (int, np.integer)):
                topk = (int(topk),)
            for k, acc in zip(topk, top_k_accuracy(results, gt_labels, topk)):
                eval_results[f"top{k}_acc"] = acc
        elif metric == "mean_class_accuracy":
            eval_results["mean_class_accuracy"] = mean_class_accuracy(results, gt_labels)
        else:
            if num_classes is None:
                raise ConfigError(f"metric {metric!r} needs num_classes to build the many-hot labels")
            label_arrays = [label2array(num_classes, label) for label in gt_labels]
            compute = mean_average_precision if metric == "mean_average_precision" else mmit_mean_average_precision
            eval_results[metric] = compute(results, label_arrays)
    return eval_results


def _activitynet_ground_truth(video_infos: Sequence[Mapping[str, Any]]) -> Dict[str, np.ndarray]:
    ground_truth = {}
    for info in video_infos:
        try:
            segments = [ann["segment"][:2] for ann in info["annotations"]]
        except (KeyError, TypeError) as err:
            raise AnnotationError(f"video {info.get('video_name')!r} has malformed annotations ({err!r}); expected "
                                  "[{'segment': [t_start, t_end], 'label': name}, ...]") from err
        ground_truth[info["video_name"][2:]] = np.asarray(segments, dtype=float).reshape(len(segments), 2)
    return ground_truth


def _activitynet_proposals(results: Sequence[Mapping[str, Any]]) -> Any:
    proposals, num_proposals = {}, 0
    for i, result in enumerate(results):
        try:
            rows = [[p["segment"][0], p["segment"][1], p["score"]] for p in result["proposal_list"]]
            video_id = result["video_name"][2:]
        except (KeyError, IndexError, TypeError) as err:
            raise AnnotationError(f"results[{i}] is malformed ({err!r}); expected {{'video_name': 'v_<id>', "
                                  "'proposal_list': [{'segment': [t_start, t_end], 'score': s}, ...]}") from err
        proposals[video_id] = np.asarray(rows, dtype=float).reshape(len(rows), 3)
        num_proposals += len(rows)
    return proposals, num_proposals


def _activitynet_map(results: Sequence[Mapping[str, Any]], video_infos: Sequence[Mapping[str, Any]],
                     thresholds: np.ndarray) -> Dict[str, Any]:
    """ActivityNet detection mAP of proposals carrying a class ``label`` (name as in the annotations)."""
    activity_index: Dict[Hashable, int] = {}
    ground_truth = []
    for info in video_infos:
        for ann in info["annotations"]:
            label = activity_index.setdefault(ann["label"], len(activity_index))
            ground_truth.append({"video-id": info["video_name"][2:], "t-start": float(ann["segment"][0]),
                                 "t-end": float(ann["segment"][1]), "label": label})
    prediction = []
    for result in results:
        for proposal in result["proposal_list"]:
            if "label" not in proposal:
                raise AnnotationError(f"metric 'mAP' needs a 'label' in every proposal; video "
                                      f"{result['video_name']!r} has a proposal without one")
            if proposal["label"] not in activity_index:
                raise AnnotationError(f"video {result['video_name']!r} predicts label {proposal['label']!r} "
                                      "which is not a ground-truth class")
            prediction.append({"video-id": result["video_name"][2:], "label": activity_index[proposal["label"]],
                               "t-start": float(proposal["segment"][0]), "t-end": float(proposal["segment"][1]),
                               "score": proposal["score"]})
    ap = average_precision_per_class(ground_truth, prediction, len(activity_index), thresholds)
    map_per_threshold = ap.mean(axis=1)
    eval_results: Dict[str, Any] = {f"mAP@{t:.2f}": value for t, value in zip(thresholds, map_per_threshold)}
    eval_results["average_mAP"] = map_per_threshold.mean()
    return eval_results


def evaluate_activitynet(results: Sequence[Mapping[str, Any]], video_infos: Sequence[Mapping[str, Any]],
                         metrics: Union[str, Sequence[str]] = "AR@AN",
                         metric_options: Optional[Dict[str, Dict[str, Any]]] = None) -> Dict[str, Any]:
    """``ActivityNetDataset.evaluate``: proposal AR@AN and AUC, plus detection mAP.

    Args:
        results: Per video ``{"video_name": "v_<id>", "proposal_list": [{"segment": [s, e], "score": x,
            ("label": name for mAP)}, ...]}``.
        video_infos: The dataset's annotations: ``video_name`` and ``annotations``
            (``[{"segment": [s, e], "label": name}, ...]``).
        metrics: ``"AR@AN"`` (keys ``auc``, ``AR@1``, ``AR@5``, ``AR@10``, ``AR@100``), ``"AUC"``
            (``auc`` only) and/or ``"mAP"`` (``mAP@0.50`` ... and ``average_mAP``; an extension of
            mmaction2, which only has AR@AN). Default ``"AR@AN"``.
        metric_options: ``{"AR@AN": {"max_avg_proposals": 100, "temporal_iou_thresholds":
            np.linspace(0.5, 0.95, 10)}, "mAP": {"temporal_iou_thresholds": ...}}``. Default ``None``
            (those values; ``AUC`` uses the ``AR@AN`` options).
    """
    options = copy.deepcopy(metric_options) if metric_options is not None else {}
    _check_results(results, len(video_infos), "number of videos")
    names = _metric_list(metrics, ACTIVITYNET_METRICS)
    eval_results: Dict[str, Any] = {}
    if "AR@AN" in names or "AUC" in names:
        aran = options.setdefault("AR@AN", {})
        thresholds = np.asarray(aran.setdefault("temporal_iou_thresholds", DEFAULT_TIOU_THRESHOLDS))
        max_avg_proposals = aran.setdefault("max_avg_proposals", 100)
        proposals, num_proposals = _activitynet_proposals(results)
        recall, _, _, auc = average_recall_at_avg_proposals(_activitynet_ground_truth(video_infos), proposals,
                                                            num_proposals, max_avg_proposals=max_avg_proposals,
                                                            temporal_iou_thresholds=thresholds)
        eval_results["auc"] = auc
        if "AR@AN" in names:
            for k in (1, 5, 10, 100):
                eval_results[f"AR@{k}"] = np.mean(recall[:, k - 1])
    if "mAP" in names:
        thresholds = np.asarray(options.get("mAP", {}).get("temporal_iou_thresholds", DEFAULT_TIOU_THRESHOLDS))
        eval_results.update(_activitynet_map(results, video_infos, thresholds))
    return eval_results


def proposals2json(results: Sequence[Mapping[str, Any]], video_infos: Optional[Sequence[Mapping[str, Any]]] = None,
                   show_progress: bool = False) -> Dict[str, List[Dict[str, Any]]]:
    """``{video id without "v_": proposal_list}`` of localizer results (ActivityNet result format).

    Args:
        results: Per video ``{"video_name": "v_<id>", "proposal_list": [...]}``.
        video_infos: If given, every result must name one of its videos. Default ``None``.
        show_progress: Show a tqdm progress bar. Default False.
    """
    known = None if video_infos is None else {info["video_name"] for info in video_infos}
    iterator = results
    if show_progress:
        from tqdm import tqdm

        iterator = tqdm(results, desc="Convert proposals to json format")
    result_dict = {}
    for result in iterator:
        video_name = result["video_name"]
        if known is not None and video_name not in known:
            raise AnnotationError(f"result video {video_name!r} is not in video_infos")
        result_dict[video_name[2:]] = result["proposal_list"]
    return result_dict


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, range)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _write_json(obj: Any, out: str) -> None:
    with open(out, "w", encoding="utf-8") as f:
        json.dump(obj, f, default=_json_default)


def dump_activitynet_results(results: Sequence[Any], out: str, output_format: str,
                             version: str = "VERSION 1.3") -> None:
    """``ActivityNetDataset.dump_results``.

    Args:
        results: For ``"json"``, localizer results (see ``proposals2json``); for ``"csv"``,
            ``(video_name, [T, 5] array)`` TEM outputs, one CSV per video in the folder ``out``.
        out: Output file (json) or folder (csv).
        output_format: ``"json"`` or ``"csv"``.
        version: ``version`` field of the JSON. Default ``"VERSION 1.3"``.
    """
    if output_format == "json":
        _write_json({"version": version, "results": proposals2json(results), "external_data": {}}, out)
    elif output_format == "csv":
        os.makedirs(out, exist_ok=True)
        for video_name, outputs in results:
            np.savetxt(osp.join(out, video_name + ".csv"), outputs, header="action,start,end,tmin,tmax",
                       delimiter=",", comments="")
    else:
        raise ConfigError(f"The output format {output_format!r} is not supported; use 'json' or 'csv'")


def dump_results(results: Any, out: str) -> None:
    """Write results by extension: ``.json`` (numpy made plain), ``.pkl``/``.pickle`` or ``.csv`` (one row
    per result: a 1-D array or a sequence of fields).

    Args:
        results: The results (for csv, an iterable of rows).
        out: Output path.
    """
    extension = osp.splitext(out)[1].lower()
    if extension == ".json":
        _write_json(results, out)
    elif extension in (".pkl", ".pickle"):
        with open(out, "wb") as f:
            pickle.dump(results, f)
    elif extension == ".csv":
        with open(out, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            for i, row in enumerate(results):
                if isinstance(row, Mapping) or isinstance(row, str):
                    raise ConfigError(f"results[{i}] is a {type(row).__name__}; csv output needs rows "
                                      "(1-D arrays or sequences of fields)")
                writer.writerow(np.asarray(row).tolist() if isinstance(row, np.ndarray) else list(row))
    else:
        raise ConfigError(f"cannot dump results to {out!r}: the extension must be .json, .csv, .pkl or .pickle")


def evaluate_hvu(results: Sequence[np.ndarray], gt_labels_per_category: Sequence[Mapping[str, Sequence[int]]],
                 categories: Sequence[str], category_nums: Sequence[int],
                 metrics: Union[str, Sequence[str]] = "mean_average_precision") -> Dict[str, float]:
    """``HVUDataset.evaluate``: ``{"<category>_mAP": ...}`` (only ``mean_average_precision`` is supported).

    Args:
        results: Per video, the scores of all tags (categories concatenated in ``categories`` order).
        gt_labels_per_category: Per video, ``{category: [tag indices]}``.
        categories: Tag category names.
        category_nums: Number of tags per category.
        metrics: ``"mean_average_precision"`` (default).
    """
    _metric_list(metrics, ("mean_average_precision",))
    return hvu_category_map(results, gt_labels_per_category, categories, category_nums)


def evaluate_ava(results_csv_or_list: Union[str, os.PathLike, Sequence[Sequence[Any]]], ann_file: str,
                 exclude_file: Optional[str], label_file: str,
                 custom_classes: Optional[Sequence[int]] = None) -> Dict[str, float]:
    """``AVADataset.evaluate``: frame-level ``{"mAP@0.5IOU": value}``.

    Args:
        results_csv_or_list: Detection CSV path, or its rows ``(video_id, timestamp, x1, y1, x2, y2,
            action_id, score)`` (e.g. from ``videohub.metrics.ava.det2csv``); Python floats in rows are
            rounded to 3 decimals exactly as mmaction2's temporary CSV does.
        ann_file: Ground-truth CSV.
        exclude_file: Excluded timestamps CSV, or ``None``.
        label_file: Label map ``.pbtxt``.
        custom_classes: Evaluated class ids (a leading background ``0`` is dropped). Default ``None``.
    """
    if isinstance(results_csv_or_list, (str, os.PathLike)):
        source: Any = results_csv_or_list
    else:
        source = [[_float_field(item) for item in row] for row in results_csv_or_list]
    return ava_eval(source, "mAP", label_file, ann_file, exclude_file, verbose=False, custom_classes=custom_classes)


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, Mapping) else getattr(item, name)


def ssn_ground_truths(video_infos: Sequence[Mapping[str, Any]]) -> Dict[int, Dict[str, List[List[float]]]]:
    """``SSNDataset.get_all_gts``: ``{class_idx (label - 1): {video_id: [[start / frames, end / frames]]}}``.

    Args:
        video_infos: Dicts with ``video_id``, ``total_frames`` and ``gts`` (objects or dicts with
            ``start_frame``, ``end_frame``, ``label``).
    """
    gts: Dict[int, Dict[str, List[List[float]]]] = {}
    for info in video_infos:
        total = info["total_frames"]
        for gt in info["gts"]:
            relative = [_field(gt, "start_frame") / total, _field(gt, "end_frame") / total]
            gts.setdefault(_field(gt, "label") - 1, {}).setdefault(info["video_id"], []).append(relative)
    return gts


def _as_array(value: Any, name: str) -> np.ndarray:
    array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
    if array.dtype == object:
        raise ShapeError(f"{name} is not a numeric array")
    return array


def ssn_results_to_detections(results: Sequence[Mapping[str, Any]], video_infos: Sequence[Mapping[str, Any]],
                              top_k: int = 2000, softmax_before_filter: bool = True, cls_top_k: int = 2,
                              **kwargs: Any) -> List[Dict[str, np.ndarray]]:
    """``SSNDataset.results_to_detections``: per class, ``{video_id: [n, 5] (start, end, score, loc, size)}``.

    The score is ``softmax(activity[:, 1:]) * exp(completeness)``; with ``top_k > 0`` only the
    ``top_k`` best (proposal, class) pairs of each video are kept (ascending score order, as mmaction2).
    ``softmax_before_filter`` and ``cls_top_k`` are accepted and unused, like in mmaction2.

    Args:
        results: Per video ``{"relative_proposal_list": [P, 2], "activity_scores": [P, C + 1],
            "completeness_scores": [P, C], "bbox_preds": [P, C, 2] or None}``.
        video_infos: Dicts with ``video_id``.
        top_k: Pairs kept per video; ``<= 0`` keeps all. Default 2000.
        softmax_before_filter: Unused. Default True.
        cls_top_k: Unused. Default 2.
        **kwargs: Other evaluater keys (such as ``nms``), ignored.
    """
    _check_results(results, len(video_infos), "number of videos")
    if not len(results):
        return []
    num_classes = _as_array(results[0]["activity_scores"], "activity_scores").shape[1] - 1
    detections: List[Dict[str, np.ndarray]] = [dict() for _ in range(num_classes)]
    for info, result in zip(video_infos, results):
        video_id = info["video_id"]
        proposals = _as_array(result["relative_proposal_list"], "relative_proposal_list")
        if proposals.ndim == 3:
            proposals = proposals[0]
        activity = _as_array(result["activity_scores"], "activity_scores")
        completeness = _as_array(result["completeness_scores"], "completeness_scores")
        if activity.shape != (proposals.shape[0], num_classes + 1) or completeness.shape != activity[:, 1:].shape:
            raise ShapeError(f"video {video_id!r}: activity_scores {activity.shape} and completeness_scores "
                             f"{completeness.shape} do not fit {proposals.shape[0]} proposals and "
                             f"{num_classes} classes")
        regression = result.get("bbox_preds")
        if regression is None:
            regression = np.zeros((proposals.shape[0], num_classes, 2), dtype=np.float32)
        regression = _as_array(regression, "bbox_preds").reshape(-1, num_classes, 2)
        combined = softmax(activity[:, 1:], dim=1) * np.exp(completeness)
        if top_k <= 0:
            for class_idx in range(num_classes):
                detections[class_idx][video_id] = np.concatenate(
                    (proposals, combined[:, class_idx, None], regression[:, class_idx]), axis=1)
            continue
        keep = np.argsort(combined.ravel())[-top_k:]
        kept_proposal, kept_class = keep // num_classes, keep % num_classes
        rows = np.stack((proposals[kept_proposal, 0], proposals[kept_proposal, 1],
                         combined[kept_proposal, kept_class], regression[kept_proposal, kept_class, 0],
                         regression[kept_proposal, kept_class, 1]), axis=1)
        for class_idx in np.unique(kept_class):
            detections[class_idx][video_id] = rows[kept_class == class_idx]
    return detections


def evaluate_ssn(results: Sequence[Mapping[str, Any]], video_infos: Sequence[Mapping[str, Any]],
                 metrics: Union[str, Sequence[str]] = "mAP",
                 metric_options: Optional[Dict[str, Dict[str, Any]]] = None,
                 evaluater: Optional[Mapping[str, Any]] = None, use_regression: bool = True) -> Dict[str, Any]:
    """``SSNDataset.evaluate``: THUMOS'14 mAP at tIoU 0.1, 0.2, ..., 0.9 (keys ``mAP@0.10`` ...).

    Detections go through ``perform_regression`` (if ``use_regression``) and per-class
    ``temporal_nms``, then ``eval_ap`` against ``ssn_ground_truths``.

    Args:
        results: SSN test outputs, see ``ssn_results_to_detections``.
        video_infos: Dicts with ``video_id``, ``total_frames`` and ``gts``.
        metrics: ``"mAP"`` (default).
        metric_options: ``{"mAP": {"eval_dataset": "thumos14"}}`` (default ``None``: that).
        evaluater: ``test_cfg.ssn.evaluater``; default ``None`` means
            ``dict(top_k=2000, nms=0.2, softmax_before_filter=True, cls_top_k=2)``.
        use_regression: Apply the regression outputs. Default True.
    """
    # Imported here: videohub.localization itself imports videohub.metrics.
    from ..localization import eval_ap, perform_regression, temporal_nms

    options = copy.deepcopy(metric_options) if metric_options is not None else {}
    settings = dict(DEFAULT_SSN_EVALUATER, **(evaluater or {}))
    names = _metric_list(metrics, ("mAP",))
    eval_dataset = options.setdefault("mAP", {}).setdefault("eval_dataset", "thumos14")
    if eval_dataset != "thumos14":
        raise ConfigError(f"metric_options['mAP']['eval_dataset'] must be 'thumos14', got {eval_dataset!r}")
    detections = ssn_results_to_detections(results, video_infos, **settings)
    for class_idx, per_video in enumerate(detections):
        if use_regression:
            per_video = {video: perform_regression(dets) for video, dets in per_video.items()}
        detections[class_idx] = {video: temporal_nms(dets, settings["nms"]) for video, dets in per_video.items()}
    gts = ssn_ground_truths(video_infos)
    plain = {class_idx: [[video, class_idx] + row[:3] for video, dets in per_video.items() for row in dets.tolist()]
             for class_idx, per_video in enumerate(detections)}
    eval_results: Dict[str, Any] = {}
    if "mAP" in names:
        iou_range = np.arange(0.1, 1.0, 0.1)
        map_ious = eval_ap(plain, gts, iou_range).mean(axis=0)
        for iou, value in zip(iou_range, map_ious):
            eval_results[f"mAP@{iou:.02f}"] = value
    return eval_results

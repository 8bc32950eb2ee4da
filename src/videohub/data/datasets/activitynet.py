"""ActivityNet temporal-localization dataset (features per video, proposals as results)."""

from __future__ import annotations

import copy
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...errors import AnnotationError, ConfigError
from .base import DATASETS, BadLine, BaseDataset, json_int, json_list, json_number, json_object, json_str

_REQUIRED = ("duration_second", "duration_frame", "feature_frame", "annotations")


def read_feature_csv(path: str, temporal_dim: Optional[int] = None, feat_dim: Optional[int] = None) -> np.ndarray:
    """One video's features in mmaction2's layout: a header line, then one row of ``feat_dim``
    comma-separated numbers per snippet. Returns float32 ``[feat_dim, temporal_dim]`` (the transpose).

    Args:
        path: The CSV file.
        temporal_dim: Rows expected. Default ``None`` (any).
        feat_dim: Columns expected. Default ``None`` (those of the first row).

    Raises:
        AnnotationError: The file is missing, or a row is not ``feat_dim`` numbers (the message
            names the file and line), or the row count is not ``temporal_dim``.
    """
    if not osp.isfile(path):
        raise AnnotationError(f"feature file {path!r} does not exist")
    rows: List[List[float]] = []
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        header = f.readline()
        if not header.strip():
            raise AnnotationError(f"{path} line 1: expected a header line, the file is empty")
        for number, line in enumerate(f, start=2):
            if not line.strip():
                continue
            fields = line.strip().split(",")
            expected = feat_dim if feat_dim is not None else (len(rows[0]) if rows else len(fields))
            if len(fields) != expected:
                raise AnnotationError(f"{path} line {number}: expected {expected} comma-separated numbers, "
                                      f"got {len(fields)}")
            try:
                rows.append([float(x) for x in fields])
            except ValueError:
                raise AnnotationError(f"{path} line {number}: expected numbers, got {line.strip()[:80]!r}") from None
    if not rows:
        raise AnnotationError(f"{path}: no feature rows after the header")
    if temporal_dim is not None and len(rows) != temporal_dim:
        raise AnnotationError(f"{path}: {len(rows)} feature rows; expected temporal_dim={temporal_dim} "
                              "(rescale the features to that many snippets)")
    return np.asarray(rows, dtype=np.float32).T.copy()


def normalized_segments(info: Dict[str, Any]) -> np.ndarray:
    """``[k, 2]`` ground-truth segments of an ActivityNet entry as fractions of the featured
    duration (``feature_frame / duration_frame * duration_second``), clipped to ``[0, 1]``
    (mmaction2's ``GenerateLocalizationLabels``)."""
    corrected = info["feature_frame"] / info["duration_frame"] * info["duration_second"]
    segments = np.asarray([ann["segment"] for ann in info["annotations"]], dtype=np.float64).reshape(-1, 2)
    return np.clip(segments / corrected, 0.0, 1.0)


@DATASETS.register()
class ActivityNetDataset(BaseDataset):
    """ActivityNet: a JSON object ``{video_name: {duration_second, duration_frame, annotations,
    feature_frame, fps, rfps}}``; items carry ``video_name`` and ``data_prefix`` (feature folder).

    Args:
        ann_file: JSON annotation file.
        pipeline: Pipeline steps (``LoadLocalizationFeature``, ``GenerateLocalizationLabels``, ...).
        data_prefix: Directory of the feature files. Default: None.
        test_mode: Build a test dataset. Default: False.
        on_error: ``'raise'`` or ``'skip'`` for malformed entries. Default: ``'raise'``.
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: Sequence[Any],
        data_prefix: Optional[str] = None,
        test_mode: bool = False,
        *,
        on_error: str = "raise",
    ):
        super().__init__(ann_file, pipeline, data_prefix, test_mode, on_error=on_error)

    def load_annotations(self) -> List[Dict[str, Any]]:
        """Load the JSON database into ``video_infos`` (each entry plus its ``video_name``).

        ``duration_second`` (and ``fps``, ``rfps`` where present) must be numbers,
        ``duration_frame`` and ``feature_frame`` integers, ``annotations`` an array of
        ``{"segment": [start, end], "label": "<name>"}``.
        """
        src = self._source()
        video_infos = []
        self._sources = []
        for where, video_name, info in src.json_entries(dict, name="video"):
            try:
                info = dict(json_object(info, "the entry"))
                missing = [k for k in _REQUIRED if k not in info]
                if missing:
                    raise BadLine(f"missing keys {missing}")
                json_number(info["duration_second"], "'duration_second'")
                for key in ("fps", "rfps"):
                    if key in info:
                        json_number(info[key], f"'{key}'")
                json_int(info["duration_frame"], "'duration_frame'", 1)
                json_int(info["feature_frame"], "'feature_frame'", 1)
                for i, ann in enumerate(json_list(info["annotations"], "'annotations'")):
                    ann = json_object(ann, f"annotations[{i}]")
                    seg = ann.get("segment")
                    if not (
                        isinstance(seg, list)
                        and len(seg) == 2
                        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in seg)
                    ):
                        raise BadLine(f"annotations[{i}] needs 'segment': [start, end] in seconds, got {ann!r}")
                    if "label" in ann:
                        json_str(ann["label"], f"annotations[{i}].label")
            except BadLine as err:
                src.error(where, str(err))
                continue
            info["video_name"] = video_name
            video_infos.append(info)
            self._sources.append(src.where(where))
        return video_infos

    def get_results(self, idx: int) -> Dict[str, Any]:
        """Results for sample ``idx``: the entry plus ``data_prefix``."""
        results = copy.deepcopy(self.video_infos[idx])
        results["data_prefix"] = self.data_prefix
        return results

    def _import_ground_truth(self) -> Dict[str, np.ndarray]:
        """``{video_id: [[start, end, label], ...]}`` (video ids without the ``v_`` prefix)."""
        ground_truth = {}
        for info in self.video_infos:
            rows = [[ann["segment"][0], ann["segment"][1], ann["label"]] for ann in info["annotations"]]
            ground_truth[info["video_name"][2:]] = np.array(rows)
        return ground_truth

    @staticmethod
    def _import_proposals(results: List[Dict[str, Any]]) -> Tuple[Dict[str, np.ndarray], int]:
        """``({video_id: [[start, end, score], ...]}, number of proposals)`` from model results."""
        proposals = {}
        num = 0
        for result in results:
            rows = [[p["segment"][0], p["segment"][1], p["score"]] for p in result["proposal_list"]]
            num += len(rows)
            proposals[result["video_name"][2:]] = np.array(rows)
        return proposals, num

    def proposals2json(self, results: List[Dict[str, Any]], show_progress: bool = False) -> Dict[str, Any]:
        """``{video_id: [{'segment': [s, e], 'score': x}, ...]}`` (delegates to the metrics package).

        mmaction2 declares this static; here it is a method because the conversion also checks the
        results against ``video_infos``.
        """
        from ...metrics.dataset_evaluation import proposals2json

        return proposals2json(results, self.video_infos, show_progress=show_progress)

    def dump_results(
        self, results: List[Any], out: str, output_format: str, version: str = "VERSION 1.3"
    ) -> None:
        """Write results as an ActivityNet JSON file (``'json'``) or one CSV per video (``'csv'``)
        (delegates to ``videohub.metrics.dataset_evaluation.dump_activitynet_results``).

        Args:
            results: Proposal results (``'json'``) or ``(video_name, array)`` pairs (``'csv'``).
            out: Output file (json) or directory (csv).
            output_format: ``'json'`` or ``'csv'``.
            version: ActivityNet version string stored in the json. Default: ``'VERSION 1.3'``.
        """
        from ...metrics.dataset_evaluation import dump_activitynet_results

        if output_format == "json":
            self.proposals2json(results)  # checks every result names a video of this dataset
        dump_activitynet_results(results, out, output_format, version=version)

    def evaluate(
        self,
        results: List[Dict[str, Any]],
        metrics: Union[str, Sequence[str]] = "AR@AN",
        metric_options: Optional[Dict[str, Any]] = None,
        logger: Any = None,
        **deprecated_kwargs: Any,
    ) -> Dict[str, float]:
        """AR@AN / AUC of proposals (delegates to ``evaluate_activitynet``).

        ``metric_options`` defaults to ``{'AR@AN': {'max_avg_proposals': 100,
        'temporal_iou_thresholds': np.linspace(0.5, 0.95, 10)}}``.
        """
        from ...metrics.dataset_evaluation import evaluate_activitynet

        options = copy.deepcopy(metric_options) if metric_options is not None else {
            "AR@AN": {"max_avg_proposals": 100, "temporal_iou_thresholds": np.linspace(0.5, 0.95, 10)}
        }
        if deprecated_kwargs:
            options["AR@AN"] = dict(options.get("AR@AN", {}), **deprecated_kwargs)
        if not isinstance(results, list) or len(results) != len(self):
            raise ConfigError(f"results must be a list of {len(self)} proposal results")
        return evaluate_activitynet(results, self.video_infos, metrics=metrics, metric_options=options)

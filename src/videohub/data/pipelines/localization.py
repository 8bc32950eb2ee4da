"""Temporal-localization steps (BSN / BMN): feature loading, labels and proposals.

Feature and proposal files are CSV (header line, comma separated) and ``.npy`` arrays read with
``np.load(allow_pickle=False)``: nothing is unpickled.
"""

from __future__ import annotations

import os.path as osp
from typing import Any, Dict

import numpy as np

from ...errors import AnnotationError, ConfigError, ShapeError
from ...registry import PIPELINES
from .compose import PipelineStep, require_keys


def load_csv(path: str, what: str) -> np.ndarray:
    """A float32 2-D array from a CSV file with one header line; errors name the file."""
    if not osp.isfile(path):
        raise AnnotationError(f"{what}: file {path!r} does not exist")
    try:
        array = np.loadtxt(path, dtype=np.float32, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as err:
        raise AnnotationError(f"{what}: cannot read {path!r} as a numeric CSV with a header line: {err}") from None
    return array


def load_npy(path: str, what: str) -> np.ndarray:
    """An array from a ``.npy`` file (``allow_pickle=False``); errors name the file."""
    if not osp.isfile(path):
        raise AnnotationError(f"{what}: file {path!r} does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        raise AnnotationError(f"{what}: {path!r} is not a plain .npy array (pickled objects are refused): {err}") from None


@PIPELINES.register()
class LoadLocalizationFeature(PipelineStep):
    """Load a video's snippet features ``<data_prefix>/<video_name><raw_feature_ext>``.

    The CSV has one row per temporal position and one column per channel; the step stores its
    transpose. Required keys: ``video_name``, ``data_prefix``. Added or modified keys:
    ``raw_feature`` (float32, ``C x T``).

    Args:
        raw_feature_ext: Feature file extension; only ``'.csv'``. Default: ``'.csv'``.
    """

    def __init__(self, raw_feature_ext: str = ".csv"):
        if raw_feature_ext not in (".csv",):
            raise ConfigError(f"LoadLocalizationFeature: raw_feature_ext must be '.csv', got {raw_feature_ext!r}")
        self.raw_feature_ext = raw_feature_ext

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("video_name", "data_prefix"), "LoadLocalizationFeature")
        path = osp.join(results["data_prefix"], results["video_name"] + self.raw_feature_ext)
        results["raw_feature"] = np.transpose(load_csv(path, "LoadLocalizationFeature"), (1, 0))
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(raw_feature_ext={self.raw_feature_ext})"


@PIPELINES.register()
class GenerateLocalizationLabels(PipelineStep):
    """Ground-truth segments as fractions of the featured duration.

    The features cover ``feature_frame`` of the ``duration_frame`` frames, i.e.
    ``feature_frame / duration_frame * duration_second`` seconds; each annotated ``segment``
    (seconds) is divided by that and clipped to ``[0, 1]``.

    Required keys: ``duration_frame``, ``duration_second``, ``feature_frame``, ``annotations``
    (list of dicts with ``segment``). Added or modified keys: ``gt_bbox`` (``N x 2``).
    """

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(
            results, ("duration_frame", "duration_second", "feature_frame", "annotations"), "GenerateLocalizationLabels"
        )
        corrected_second = float(results["feature_frame"]) / results["duration_frame"] * results["duration_second"]
        gt_bbox = []
        for index, annotation in enumerate(results["annotations"]):
            try:
                start, end = annotation["segment"][:2]
            except (KeyError, TypeError, ValueError):
                raise AnnotationError(
                    f"GenerateLocalizationLabels: annotation {index} of {results.get('video_name', '?')!r} "
                    f"has no 'segment' [start, end]: {annotation!r}"
                ) from None
            gt_bbox.append(
                [max(min(1, start / corrected_second), 0), max(min(1, end / corrected_second), 0)]
            )
        results["gt_bbox"] = np.array(gt_bbox)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@PIPELINES.register()
class LoadProposals(PipelineStep):
    """Load the top-k PGM proposals of a video and their BSP features (BSN's PEM stage).

    The proposal CSV columns are ``tmin, tmax, tmin_score, tmax_score, score, match_iou`` (one
    header line); the feature file is an ``N x D`` ``.npy`` array.

    Required keys: ``video_name``. Added or modified keys: ``bsp_feature`` (float32, ``k x D``),
    ``tmin``, ``tmax``, ``tmin_score``, ``tmax_score``, ``reference_temporal_iou``.

    Args:
        top_k: Number of proposals to keep. No default.
        pgm_proposals_dir: Directory of ``<video_name><proposal_ext>`` files. No default.
        pgm_features_dir: Directory of ``<video_name><feature_ext>`` files. No default.
        proposal_ext: Only ``'.csv'``. Default: ``'.csv'``.
        feature_ext: Only ``'.npy'``. Default: ``'.npy'``.
    """

    def __init__(
        self,
        top_k: int,
        pgm_proposals_dir: str,
        pgm_features_dir: str,
        proposal_ext: str = ".csv",
        feature_ext: str = ".npy",
    ):
        if proposal_ext not in (".csv",):
            raise ConfigError(f"LoadProposals: proposal_ext must be '.csv', got {proposal_ext!r}")
        if feature_ext not in (".npy",):
            raise ConfigError(f"LoadProposals: feature_ext must be '.npy', got {feature_ext!r}")
        self.top_k = top_k
        self.pgm_proposals_dir = pgm_proposals_dir
        self.pgm_features_dir = pgm_features_dir
        self.proposal_ext = proposal_ext
        self.feature_ext = feature_ext

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("video_name",), "LoadProposals")
        video_name = results["video_name"]
        proposal_path = osp.join(self.pgm_proposals_dir, video_name + self.proposal_ext)
        proposals = load_csv(proposal_path, "LoadProposals")[: self.top_k]
        if proposals.shape[1] < 6:
            raise ShapeError(
                f"LoadProposals: {proposal_path!r} has {proposals.shape[1]} columns; expected 6 "
                "(tmin, tmax, tmin_score, tmax_score, score, match_iou)"
            )
        feature_path = osp.join(self.pgm_features_dir, video_name + self.feature_ext)
        features = load_npy(feature_path, "LoadProposals").astype(np.float32)
        if features.ndim != 2:
            raise ShapeError(f"LoadProposals: {feature_path!r} must hold an N x D array, got shape {features.shape}")
        results["bsp_feature"] = features[: self.top_k, :]
        results["tmin"] = proposals[:, 0]
        results["tmax"] = proposals[:, 1]
        results["tmin_score"] = proposals[:, 2]
        results["tmax_score"] = proposals[:, 3]
        results["reference_temporal_iou"] = proposals[:, 5]
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(top_k={self.top_k}, pgm_proposals_dir={self.pgm_proposals_dir}, "
            f"pgm_features_dir={self.pgm_features_dir}, proposal_ext={self.proposal_ext}, "
            f"feature_ext={self.feature_ext})"
        )

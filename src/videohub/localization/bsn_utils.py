"""BSN proposal generation (PGM) and boundary-sensitive proposal features (BSP), mmaction2 v0.24 semantics.

Both read the per-video CSV files written by the TEM stage (``action,start,end,tmin,tmax``) and the
PGM stage; the arithmetic keeps mmaction2's float32/float64 mix so the numbers match the reference.
"""

from __future__ import annotations

import os.path as osp
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np

from ..errors import AnnotationError, ConfigError, ShapeError
from .proposal_utils import temporal_iop, temporal_iou

__all__ = ["PGM_HEADER", "candidate_proposals", "generate_bsp_feature", "generate_candidate_proposals",
           "write_pgm_proposals"]

#: Columns of a PGM proposal CSV (mmaction2's ``generate_proposals`` output).
PGM_HEADER = "tmin,tmax,tmin_score,tmax_score,score,match_iou,match_ioa"


def _check_ext(name: str, ext: str) -> None:
    if ext != ".csv":
        raise ConfigError(f"{name} must be '.csv' (the only format mmaction2 supports), got {ext!r}")


def _load_table(path: str, min_columns: int) -> np.ndarray:
    """A headed CSV of floats as float32 ``[rows, columns]``."""
    try:
        table = np.loadtxt(path, dtype=np.float32, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as err:
        raise AnnotationError(f"{path!r} is not a CSV of numbers with one header line: {err}") from err
    if table.shape[0] == 0 or table.shape[1] < min_columns:
        raise AnnotationError(f"{path!r} has shape {table.shape}; expected at least one row of "
                              f"{min_columns} columns after the header")
    return table


def _boundary_bins(scores: np.ndarray, temporal_scale: int, peak_threshold: float) -> np.ndarray:
    """Positions that are local maxima or above ``peak_threshold * max`` (first and last always)."""
    bins = np.zeros(scores.shape[0], dtype=bool)
    bins[[0, -1]] = True
    inner = np.arange(1, temporal_scale - 1)
    local_peak = (scores[inner] > scores[inner + 1]) & (scores[inner] > scores[inner - 1])
    bins[inner] |= local_peak | (scores[inner] > peak_threshold * scores.max())
    return bins[:temporal_scale]


def candidate_proposals(start_scores: np.ndarray, end_scores: np.ndarray, temporal_scale: int,
                        peak_threshold: float) -> np.ndarray:
    """BSN's pairing of one video's boundary candidates (the per-video core of PGM).

    A position is a start (end) candidate if it is a local maximum of ``start_scores``
    (``end_scores``), above ``peak_threshold`` times their maximum, or the first (last) position.
    Every start candidate before an end candidate (centres ``(i + 0.5) / temporal_scale``) is a proposal.

    Args:
        start_scores, end_scores: ``[>= temporal_scale]`` boundary probabilities.
        temporal_scale: Number of temporal positions.
        peak_threshold: Fraction of the best boundary score above which a position is a candidate.

    Returns:
        ``[N, 5]`` float64 rows ``tmin, tmax, tmin_score, tmax_score, tmin_score * tmax_score`` by
        decreasing score.
    """
    gap = 1.0 / temporal_scale
    start_idx = np.flatnonzero(_boundary_bins(start_scores, temporal_scale, peak_threshold))
    end_idx = np.flatnonzero(_boundary_bins(end_scores, temporal_scale, peak_threshold))
    tmins = gap / 2 + gap * start_idx
    tmaxs = gap / 2 + gap * end_idx
    end_pos, start_pos = np.nonzero(tmins[None, :] < tmaxs[:, None])
    props = np.stack((tmins[start_pos], tmaxs[end_pos], start_scores[start_idx[start_pos]],
                      end_scores[end_idx[end_pos]]), axis=1).astype(np.float64)
    props = np.concatenate((props, (props[:, 2] * props[:, 3])[:, None]), axis=1)
    return props[props[:, -1].argsort()[::-1]]


def generate_candidate_proposals(video_list: Sequence[int], video_infos: Sequence[Mapping[str, Any]],
                                 tem_results_dir: str, temporal_scale: int, peak_threshold: float,
                                 tem_results_ext: str = ".csv",
                                 result_dict: Optional[Dict[str, np.ndarray]] = None) -> Dict[str, np.ndarray]:
    """BSN proposal generation: pair start/end boundary candidates of the TEM output.

    Args:
        video_list: Indices into ``video_infos`` to process.
        video_infos: Dicts with ``video_name``, ``duration_frame``, ``duration_second``,
            ``feature_frame`` and ``annotations`` (``[{"segment": [s, e]}, ...]``).
        tem_results_dir: Folder of ``<video_name><tem_results_ext>`` TEM outputs.
        temporal_scale: Number of temporal positions.
        peak_threshold: Fraction of the best boundary score above which a position is a candidate.
        tem_results_ext: TEM output extension. Default ``'.csv'`` (the only one supported).
        result_dict: If given, the results are also stored in it. Default ``None``.

    Returns:
        ``{video_name: [N, 7]}`` rows ``tmin, tmax, tmin_score, tmax_score, score, match_iou,
        match_ioa`` sorted by decreasing score (positions normalized to [0, 1]).
    """
    _check_ext("tem_results_ext", tem_results_ext)
    proposal_dict = {}
    for video_index in video_list:
        video_info = video_infos[video_index]
        video_name = video_info["video_name"]
        path = osp.join(tem_results_dir, video_name + tem_results_ext)
        tem_results = _load_table(path, 3)
        if tem_results.shape[0] < temporal_scale:
            raise ShapeError(f"{path!r} has {tem_results.shape[0]} rows; expected temporal_scale={temporal_scale}")
        props = candidate_proposals(tem_results[:, 1], tem_results[:, 2], temporal_scale, peak_threshold)

        corrected_second = float(video_info["feature_frame"]) / video_info["duration_frame"] * \
            video_info["duration_second"]
        segments = np.asarray([ann["segment"][:2] for ann in video_info["annotations"]], dtype=float)
        if segments.shape[0] == 0:
            raise AnnotationError(f"video {video_name!r} has no annotations; candidate proposals need ground "
                                  "truth to compute match_iou/match_ioa")
        gt_tmins = segments[:, 0] / corrected_second
        gt_tmaxs = segments[:, 1] / corrected_second
        bounds = (props[:, 0:1], props[:, 1:2], gt_tmins[None, :], gt_tmaxs[None, :])
        match_iou = temporal_iou(*bounds).max(axis=1)
        match_ioa = temporal_iop(*bounds).max(axis=1)
        props = np.concatenate((props, match_iou[:, None], match_ioa[:, None]), axis=1)
        proposal_dict[video_name] = props
        if result_dict is not None:
            result_dict[video_name] = props
    return proposal_dict


def _sample_region(low: np.ndarray, high: np.ndarray, num_sample: int, num_sample_interp: int,
                   t_points: np.ndarray, score_action: np.ndarray) -> np.ndarray:
    """Mean actionness around ``num_sample`` points spread over ``[low, high]`` for every proposal.

    Each point averages ``num_sample_interp + 1`` linearly interpolated values (float32 positions).
    """
    step = (high - low) / (num_sample - 1)
    sub_step = step / num_sample_interp
    offsets = np.arange(num_sample * num_sample_interp + 1, dtype=np.float32)
    positions = (low - step / 2)[:, None] + sub_step[:, None] * offsets[None, :]
    values = np.interp(positions, t_points, score_action)
    windows = np.arange(num_sample)[:, None] * num_sample_interp + np.arange(num_sample_interp + 1)[None, :]
    return values[:, windows].mean(axis=-1)


def generate_bsp_feature(video_list: Sequence[int], video_infos: Sequence[Mapping[str, Any]], tem_results_dir: str,
                         pgm_proposals_dir: str, top_k: int = 1000, bsp_boundary_ratio: float = 0.2,
                         num_sample_start: int = 8, num_sample_end: int = 8, num_sample_action: int = 16,
                         num_sample_interp: int = 3, tem_results_ext: str = ".csv", pgm_proposal_ext: str = ".csv",
                         result_dict: Optional[Dict[str, np.ndarray]] = None) -> Dict[str, np.ndarray]:
    """Boundary-sensitive proposal features from the TEM actionness and the PGM proposals.

    Args:
        video_list: Indices into ``video_infos`` to process.
        video_infos: Dicts with ``video_name``.
        tem_results_dir: Folder of TEM outputs.
        pgm_proposals_dir: Folder of PGM proposals (``tmin,tmax,...`` per row).
        top_k: Proposals used per video. Default 1000.
        bsp_boundary_ratio: Boundary region size relative to the proposal length. Default 0.2.
        num_sample_start: Points in the start region. Default 8.
        num_sample_end: Points in the end region. Default 8.
        num_sample_action: Points in the proposal. Default 16.
        num_sample_interp: Interpolated values averaged per point. Default 3.
        tem_results_ext: TEM output extension. Default ``'.csv'``.
        pgm_proposal_ext: PGM proposal extension. Default ``'.csv'``.
        result_dict: If given, the results are also stored in it. Default ``None``.

    Returns:
        ``{video_name: [num_proposals, num_sample_action + num_sample_start + num_sample_end]}``
        (action, start, end features).
    """
    _check_ext("tem_results_ext", tem_results_ext)
    _check_ext("pgm_proposal_ext", pgm_proposal_ext)
    feature_dict = {}
    for video_index in video_list:
        video_name = video_infos[video_index]["video_name"]
        tem_results = _load_table(osp.join(tem_results_dir, video_name + tem_results_ext), 5)
        score_action = tem_results[:, 0]
        seg_tmins, seg_tmaxs = tem_results[:, 3], tem_results[:, 4]
        video_scale = tem_results.shape[0]
        video_gap = seg_tmaxs[0] - seg_tmins[0]
        video_extend = int(video_scale / 4 + 10)
        proposals = _load_table(osp.join(pgm_proposals_dir, video_name + pgm_proposal_ext), 2)[:top_k]

        padding = np.zeros(video_extend)
        padded_action = np.concatenate((padding, score_action, padding))
        steps = np.arange(video_extend, dtype=np.float32)
        t_points = np.concatenate((
            -video_gap / 2 - steps[::-1] * video_gap,
            video_gap / 2 + np.arange(video_scale, dtype=np.float32) * video_gap,
            video_gap / 2 + seg_tmaxs[-1] + steps * video_gap,
        ))

        tmin, tmax = proposals[:, 0], proposals[:, 1]
        margin = (tmax - tmin) * bsp_boundary_ratio
        action = _sample_region(tmin, tmax, num_sample_action, num_sample_interp, t_points, padded_action)
        start = _sample_region(tmin - margin, tmin + margin, num_sample_start, num_sample_interp, t_points,
                               padded_action)
        end = _sample_region(tmax - margin, tmax + margin, num_sample_end, num_sample_interp, t_points, padded_action)
        features = np.concatenate((action, start, end), axis=1)
        feature_dict[video_name] = features
        if result_dict is not None:
            result_dict[video_name] = features
    return feature_dict


def write_pgm_proposals(proposals: Mapping[str, np.ndarray], out_dir: str) -> None:
    """Write ``generate_candidate_proposals`` results as ``<out_dir>/<video_name>.csv`` (mmaction2's PGM layout).

    Args:
        proposals: ``{video_name: [N, 7]}`` rows in :data:`PGM_HEADER` order.
        out_dir: Output folder (created if missing).
    """
    import os

    os.makedirs(out_dir, exist_ok=True)
    for video_name, rows in proposals.items():
        rows = np.asarray(rows)
        if rows.ndim != 2 or rows.shape[1] != 7:
            raise ShapeError(f"proposals of {video_name!r} have shape {rows.shape}; expected [N, 7] ({PGM_HEADER})")
        np.savetxt(osp.join(out_dir, video_name + ".csv"), rows, delimiter=",", header=PGM_HEADER, comments="")


def write_bsp_features(features: Mapping[str, np.ndarray], out_dir: str) -> None:
    """Write ``generate_bsp_feature`` results as ``<out_dir>/<video_name>.npy`` (mmaction2's
    ``pgm_features`` layout, read by ``LoadProposals`` and PEM training).

    Args:
        features: ``{video_name: [P, D]}`` BSP features.
        out_dir: Output folder (created if missing).
    """
    import os

    os.makedirs(out_dir, exist_ok=True)
    for video_name, array in features.items():
        array = np.asarray(array, dtype=np.float32)
        if array.ndim != 2:
            raise ShapeError(f"BSP features of {video_name!r} have shape {array.shape}; expected [P, D]")
        np.save(osp.join(out_dir, video_name + ".npy"), array, allow_pickle=False)

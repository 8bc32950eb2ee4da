"""Training and evaluation data of BSN's PEM: the BSN chain's intermediate files, read per video.

A PEM sample is one video of an ActivityNet annotation JSON (``load_dataset("activitynet", ...)``
rows) with its PGM proposals (``<pgm_proposals_dir>/<video_name>.csv``: ``tmin, tmax,
tmin_score, tmax_score, score, match_iou, match_ioa``) and BSP features
(``<pgm_features_dir>/<video_name>.npy``, ``[P, 32]``), the reference layout of mmaction2's
``LoadProposals``. Training concatenates the proposals of the videos of a batch, as mmaction2's
``PEM.forward_train`` does; evaluation scores each video's proposals, soft-NMSes them and reports
AR@AN like the BMN/TEM evaluation.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence, Tuple

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.pipelines.localization import LoadProposals
from ..errors import ConfigError, ShapeError, VideohubError
from ..utils.logging import get_logger
from .training import AR_AT, META_KEYS, BatchFn, predict_shared, proposal_metrics

logger = get_logger(__name__)

#: The candidate columns PEM carries to ``post_process``.
CANDIDATE_COLUMNS = ("tmin", "tmax", "tmin_score", "tmax_score")


def load_pem_samples(rows: Sequence[Mapping[str, Any]], pgm_proposals_dir: str, pgm_features_dir: str,
                     top_k: int = 1000, on_error: str = "raise") -> List[Dict[str, Any]]:
    """The PEM sample of each video of ``rows`` (its metadata, ``bsp_feature`` ``[P, D]``, the
    candidate columns ``[P]`` and ``reference_temporal_iou`` ``[P]``, the ``match_iou`` column).

    Args:
        rows: ``load_dataset("activitynet", ...)`` rows (``video_name``, durations, ``annotations``).
        pgm_proposals_dir: Folder of the PGM proposal CSVs.
        pgm_features_dir: Folder of the BSP feature ``.npy`` files.
        top_k: Proposals kept per video (the first ``top_k`` rows of each file). Default 1000
            (mmaction2's test value; its training configs use 500).
        on_error: ``"raise"``: a missing or malformed file raises its videohub error (naming the
            file); ``"skip"``: the video is left out, and the warning counts the skipped videos.
            Default ``"raise"``.
    """
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    load = LoadProposals(top_k, pgm_proposals_dir, pgm_features_dir)
    samples, skipped = [], []
    for row in tqdm(rows, desc="PEM proposals"):
        try:
            sample = load({k: row[k] for k in META_KEYS if k in row})
            if len(sample["bsp_feature"]) != len(sample["tmin"]):
                raise ShapeError(f"{row['video_name']}: {len(sample['bsp_feature'])} BSP features in "
                                 f"{pgm_features_dir} but {len(sample['tmin'])} proposals in {pgm_proposals_dir} "
                                 f"(top_k={top_k}); regenerate the features from these proposals")
        except VideohubError as err:
            if on_error == "raise":
                raise
            skipped.append(str(err))
            continue
        samples.append(sample)
    if skipped:
        logger.warning("PEM data: %d of %d video(s) skipped:\n  %s", len(skipped), len(rows), "\n  ".join(skipped))
    if not samples:
        raise ConfigError(f"PEM data: no video of {len(rows)} has usable proposals and BSP features")
    return samples


def pem_batch(samples: Sequence[Mapping[str, Any]]) -> BatchFn:
    """The training :data:`~videohub.localization.training.BatchFn` of PEM samples: the proposals of
    the batch's videos as one sequence, ``input_features (1, sum P, D)`` and ``labels (1, sum P)``."""
    def batch_fn(indices: List[int], step: int) -> Dict[str, Any]:
        features = np.concatenate([samples[i]["bsp_feature"] for i in indices])
        labels = np.concatenate([samples[i]["reference_temporal_iou"] for i in indices])
        return {"input_features": torch.as_tensor(features[None], dtype=torch.float32),
                "labels": torch.as_tensor(labels[None], dtype=torch.float32)}

    return batch_fn


def predict_pem_proposals(model: Any, samples: Sequence[Mapping[str, Any]], accelerator: Any
                          ) -> List[Dict[str, Any]]:
    """``[{"video_name", "proposal_list"}]`` of every sample, in order, each once (processes share them)."""
    def predict(net: Any, chunk: List[int]) -> List[Dict[str, Any]]:
        sample = samples[chunk[0]]
        if len(sample["tmin"]) == 0:
            return [{"video_name": sample["video_name"], "proposal_list": []}]
        inputs = {k: torch.as_tensor(np.asarray(sample[k], dtype=np.float32)[None], device=accelerator.device)
                  for k in CANDIDATE_COLUMNS}
        features = torch.as_tensor(sample["bsp_feature"][None], dtype=torch.float32, device=accelerator.device)
        proposals = net.post_process(net(input_features=features, **inputs), [sample])[0]
        return [{"video_name": sample["video_name"],
                 "proposal_list": [{"segment": [float(t) for t in p["segment"]], "score": float(p["score"])}
                                   for p in proposals]}]

    return predict_shared(model, len(samples), predict, accelerator, desc="PEM proposals")


def evaluate_pem(model: Any, samples: Sequence[Mapping[str, Any]], accelerator: Any, prefix: str = "eval"
                 ) -> Tuple[Dict[str, float], List[Dict[str, Any]], Tuple[np.ndarray, np.ndarray]]:
    """``{prefix}_AR@k`` (k in 1, 5, 10, 100), ``{prefix}_auc``, ``{prefix}_samples`` of the samples,
    the proposals and the AR@AN curve (as :func:`~videohub.localization.training.evaluate_localizer`)."""
    results = predict_pem_proposals(model, samples, accelerator)
    metrics, per_video, average_recall = proposal_metrics(results, samples)
    out = {f"{prefix}_AR@{k}": metrics[f"AR@{k}"] for k in AR_AT}
    out[f"{prefix}_auc"] = metrics["auc"]
    out[f"{prefix}_samples"] = len(results)
    return out, results, (per_video, average_recall)

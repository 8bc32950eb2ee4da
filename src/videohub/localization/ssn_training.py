"""Training and evaluation data of SSN: THUMOS-style proposal files and frame folders.

Proposal files are read by the ``ssn`` datasets builder (``load_dataset("ssn", ...)``: malformed
video blocks and, here, videos without a frame folder raise an error naming the file and line, or
are skipped and counted with ``on_error="skip"``); an :class:`~videohub.data.datasets.SSNDataset`
over those rows samples the proposals and runs mmaction2's THUMOS'14 pipelines (proposal frame
sampling, raw-frame decoding, resize, crop, flip, normalize). Evaluation is mmaction2's
``SSNDataset.evaluate``: per-tick features, STPP pooling, regression, per-class NMS, THUMOS mAP.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import ConfigError
from ..utils.logging import get_logger
from .training import BatchFn, predict_shared

logger = get_logger(__name__)

TRAIN_KEYS = ("imgs", "reg_targets", "proposal_scale_factor", "proposal_labels", "proposal_type")
TEST_KEYS = ("imgs", "relative_proposal_list", "scale_factor_list", "proposal_tick_list", "reg_norm_consts")
#: ``img_norm_cfg`` of mmaction2's SSN THUMOS'14 configs.
IMG_NORM_CFG = {"mean": [104.0, 117.0, 128.0], "std": [1.0, 1.0, 1.0], "to_bgr": True}
#: tIoU thresholds of the reported mAPs (mmaction2's THUMOS evaluation).
MAP_IOUS = tuple(round(0.1 * i, 1) for i in range(1, 10))


def stage_segments(config: Any) -> Tuple[int, Tuple[int, int]]:
    """``(body_segments, aug_segments)`` of an SSN config: its STPP ``num_segments_list``."""
    consensus = (config.cls_head or {}).get("consensus") or {}
    segments = consensus.get("num_segments_list")
    if not segments or len(segments) != 3:
        raise ConfigError(f"SSN cls_head.consensus.num_segments_list must be three numbers "
                          f"(starting, course, ending), got {segments!r}")
    return int(segments[1]), (int(segments[0]), int(segments[2]))


def ssn_pipeline(config: Any, mode: str, input_size: int = 224, aug_ratio: float = 0.5) -> List[Dict[str, Any]]:
    """mmaction2's THUMOS'14 SSN pipeline (``mode`` ``"train"`` or ``"test"``) for ``config``.

    Args:
        config: The :class:`~videohub.models.ssn.SSNConfig` (stage segments, test interval).
        mode: ``"train"`` (random crop and flip, ``NPTCHW``) or ``"test"`` (every tick, centre crop, ``NCHW``).
        input_size: Crop size; frames are first resized to a short side of ``input_size * 256 / 224``
            (the reference's 256 for 224). Default 224.
        aug_ratio: Length of the starting and ending stages relative to the proposal. Default 0.5.
    """
    if mode not in ("train", "test"):
        raise ConfigError(f"ssn_pipeline mode must be 'train' or 'test', got {mode!r}")
    body, aug = stage_segments(config)
    test_interval = config.test_cfg["ssn"]["sampler"]["test_interval"]
    short_side = int(round(input_size * 256 / 224))
    steps: List[Dict[str, Any]] = [
        {"type": "SampleProposalFrames", "clip_len": 1, "body_segments": body, "aug_segments": list(aug),
         "aug_ratio": aug_ratio, "mode": mode, "test_interval": test_interval},
        {"type": "RawFrameDecode"},
        {"type": "Resize", "scale": [-1, short_side]},
    ]
    if mode == "train":
        steps += [{"type": "RandomCrop", "size": input_size}, {"type": "Flip", "flip_ratio": 0.5}]
        keys = TRAIN_KEYS
    else:
        steps.append({"type": "CenterCrop", "crop_size": input_size})
        keys = TEST_KEYS
    steps += [{"type": "Normalize", **IMG_NORM_CFG},
              {"type": "FormatShape", "input_format": "NPTCHW" if mode == "train" else "NCHW"},
              {"type": "Collect", "keys": list(keys), "meta_keys": []},
              {"type": "ToTensor", "keys": list(keys)}]
    return steps


def load_ssn_dataset(proposal_file: str, frame_dir: str, config: Any, test_mode: bool, input_size: int = 224,
                     aug_ratio: float = 0.5, cache_dir: Optional[str] = None, on_error: str = "raise",
                     reg_normalize_constants: Optional[Sequence[Sequence[float]]] = None) -> Any:
    """An ``SSNDataset`` over the ``ssn`` builder rows of ``proposal_file``.

    Args:
        proposal_file: THUMOS-style proposal file (standard or ``normalized_`` one).
        frame_dir: Folder of the ``<video_id>/img_XXXXX.jpg`` frame folders.
        config: The SSN config (``train_cfg``, ``test_cfg``, stage segments).
        test_mode: Build the evaluation dataset (every proposal, test pipeline).
        input_size: Crop size of the pipeline. Default 224.
        aug_ratio: Starting/ending stage length over the proposal length. Default 0.5.
        cache_dir: Cache of the datasets builder. Default ``None`` (datasets' cache).
        on_error: ``"raise"`` or ``"skip"`` for malformed blocks and videos without frames (the
            builder counts the skipped ones in its warning). Default ``"raise"``.
        reg_normalize_constants: Regression mean and std rows; ``None`` computes them from the
            file's positive proposals (mmaction2). Default ``None``.
    """
    from ..data import load_dataset
    from ..data.datasets import SSNDataset

    rows = load_dataset("ssn", proposal_file, data_prefix=frame_dir, check_frame_dirs=True, on_error=on_error,
                        train_cfg=dict(config.train_cfg), test_cfg=dict(config.test_cfg), cache_dir=cache_dir)
    body, aug = stage_segments(config)
    return SSNDataset(proposal_file, ssn_pipeline(config, "test" if test_mode else "train", input_size, aug_ratio),
                      dict(config.train_cfg), dict(config.test_cfg), data_prefix=frame_dir, test_mode=test_mode,
                      body_segments=body, aug_segments=aug, aug_ratio=aug_ratio,
                      reg_normalize_constants=reg_normalize_constants, video_infos=list(rows),
                      on_error="raise" if test_mode else on_error)


def ssn_batch(dataset: Any, seed: int) -> BatchFn:
    """The training :data:`~videohub.localization.training.BatchFn` of an SSN dataset.

    Sample ``i`` at step ``s`` draws its proposals and augmentations from numpy's global generator
    seeded with ``(seed, s, i)``, so a resumed run sees exactly the samples of an uninterrupted one.
    Returns ``pixel_values (B, P, S, C, H, W)``, ``proposal_scale_factor (B, P, 2)`` and ``labels``
    (``proposal_type``, ``proposal_labels`` ``(B, P)``, ``reg_targets`` ``(B, P, 2)``).
    """
    def batch_fn(indices: List[int], step: int) -> Dict[str, Any]:
        items = []
        for i in indices:
            np.random.seed(np.random.SeedSequence([seed, step, i]).generate_state(1)[0])
            items.append(dataset[i])
        stack = {key: torch.stack([torch.as_tensor(item[key]) for item in items]) for key in TRAIN_KEYS}
        return {"pixel_values": stack["imgs"].float(), "proposal_scale_factor": stack["proposal_scale_factor"].float(),
                "labels": {"proposal_type": stack["proposal_type"], "proposal_labels": stack["proposal_labels"],
                           "reg_targets": stack["reg_targets"].float()}}

    return batch_fn


def predict_ssn(model: Any, dataset: Any, accelerator: Any) -> List[Dict[str, Any]]:
    """mmaction2's SSN test outputs (``relative_proposal_list``, ``activity_scores``,
    ``completeness_scores``, ``bbox_preds`` as numpy) of every video of a test-mode ``dataset``, in
    order, each once (the processes share the videos)."""
    def predict(net: Any, chunk: List[int]) -> List[Dict[str, Any]]:
        item = dataset[chunk[0]]
        out = net(pixel_values=item["imgs"][None].float().to(accelerator.device),
                  proposal_tick_list=item["proposal_tick_list"].to(accelerator.device),
                  scale_factor_list=item["scale_factor_list"].float().to(accelerator.device),
                  reg_norm_consts=torch.as_tensor(item["reg_norm_consts"]).float())
        return [{"relative_proposal_list": item["relative_proposal_list"].numpy(),
                 "activity_scores": out.activity_scores.cpu().numpy(),
                 "completeness_scores": out.completeness_scores.cpu().numpy(),
                 "bbox_preds": None if out.bbox_preds is None else out.bbox_preds.cpu().numpy()}]

    return predict_shared(model, len(dataset), predict, accelerator, desc="SSN test")


def evaluate_ssn_model(model: Any, dataset: Any, accelerator: Any, prefix: str = "eval"
                       ) -> Tuple[Dict[str, float], List[Dict[str, Any]]]:
    """``{prefix}_mAP@0.1`` ... ``{prefix}_mAP@0.9`` (THUMOS'14 mAP after regression and per-class
    NMS, mmaction2's ``SSNDataset.evaluate``) and ``{prefix}_samples`` (videos) of a test-mode
    ``dataset``, and the raw test outputs."""
    from ..metrics.dataset_evaluation import evaluate_ssn

    results = predict_ssn(model, dataset, accelerator)
    unwrapped = accelerator.unwrap_model(model)
    evaluater = dict((unwrapped.config.test_cfg or {}).get("ssn", {}).get("evaluater", {}))
    scores = evaluate_ssn(results, dataset.video_infos, evaluater=evaluater,
                          use_regression=bool(unwrapped.localizer.cls_head.use_regression))
    metrics = {f"{prefix}_mAP@{iou:g}": float(scores[f"mAP@{iou:.02f}"]) for iou in MAP_IOUS}
    metrics[f"{prefix}_samples"] = len(results)
    return metrics, results


def regression_constants(config: Any) -> Optional[List[List[float]]]:
    """The training set's regression mean/std rows stored in ``config.test_cfg.ssn``, or ``None``."""
    return ((config.test_cfg or {}).get("ssn") or {}).get("reg_normalize_constants")


def store_regression_constants(config: Any, constants: Any) -> None:
    """Keep the training set's regression mean/std rows in ``config.test_cfg.ssn`` (saved with the
    model), so evaluating on other videos denormalizes with the constants the model learned with."""
    test_cfg: Dict[str, Any] = dict(config.test_cfg or {})
    ssn_cfg: Dict[str, Any] = dict(test_cfg.get("ssn") or {})
    ssn_cfg["reg_normalize_constants"] = np.asarray(constants, dtype=float).tolist()
    test_cfg["ssn"] = ssn_cfg
    config.test_cfg = test_cfg


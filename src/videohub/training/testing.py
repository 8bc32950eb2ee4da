"""Testing loops (mmaction2 ``single_gpu_test`` / ``multi_gpu_test``) on top of Accelerate.

Both return one score vector per sample, in dataset order: the model's logits averaged over views
as ``config.average_clips`` says. With several processes, ``accelerator.gather_for_metrics``
collects the results and drops the padding samples, so every sample is counted exactly once.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Tuple

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

INPUT_KEYS = ("pixel_values", "input_features", "keypoints")


def model_inputs(batch: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    """The entries of a collated batch that the model takes as input."""
    return {k: batch[k] for k in INPUT_KEYS if k in batch}


@torch.no_grad()
def single_gpu_test(model: nn.Module, data_loader: Iterable[Dict[str, Any]]) -> List[np.ndarray]:
    """Scores of every sample of ``data_loader`` with one process (progress bar included)."""
    model.eval()
    results: List[np.ndarray] = []
    for batch in tqdm(data_loader, desc="test", leave=False):
        scores = model(**model_inputs(batch)).scores  # mmaction2's test output (averaged as average_clips says)
        results.extend(scores.float().cpu().numpy())
    return results


@torch.no_grad()
def multi_gpu_test(model: nn.Module, data_loader: Iterable[Dict[str, Any]], accelerator: Any,
                   label_key: str = "labels") -> Tuple[List[np.ndarray], List[Any]]:
    """Scores and labels of every sample, gathered from all processes (each sample exactly once).

    Args:
        model: The (prepared) model.
        data_loader: The (prepared) data loader; batches hold the inputs and ``label_key``.
        accelerator: The ``accelerate.Accelerator``.
        label_key: Key of the labels in a batch. Default ``"labels"``.
    """
    model.eval()
    scores: List[np.ndarray] = []
    labels: List[Any] = []
    bar = tqdm(data_loader, desc="eval", leave=False, disable=not accelerator.is_local_main_process)
    for batch in bar:
        batch_scores = model(**model_inputs(batch)).scores  # mmaction2's test output (averaged as average_clips says)
        gathered_scores, gathered_labels = accelerator.gather_for_metrics((batch_scores.float(), batch[label_key]))
        scores.extend(gathered_scores.cpu().numpy())
        labels.extend(gathered_labels.cpu().numpy())
    return scores, labels

"""Class probabilities and top-k labels from a videohub classifier's output."""

from __future__ import annotations

from typing import Any, List, Tuple

import torch


def class_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """``(B, num_labels)`` class probabilities: the softmax of a videohub model's ``logits``.

    For every ``average_clips`` mode this is the probability averaged over views as the reference
    does it (``"prob"`` averages probabilities; the logits are their log).
    """
    return logits.detach().float().softmax(-1)


def top_labels(probs: torch.Tensor, id2label: Any, k: int) -> List[Tuple[str, float]]:
    """The ``k`` best ``(label, probability)`` pairs of one ``(C,)`` probability row, best first."""
    k = min(k, probs.numel())
    values, ids = probs.topk(k)
    return [(str((id2label or {}).get(int(i), int(i))), float(v)) for v, i in zip(values, ids)]

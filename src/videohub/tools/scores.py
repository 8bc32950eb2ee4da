"""Class probabilities and top-k labels from a videohub classifier's output."""

from __future__ import annotations

from typing import Any, List, Tuple

import torch


def class_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """``(B, num_labels)`` probabilities from ``logits`` (``(B, C)``, or ``(B, clips, C)`` averaged).

    A model with ``average_clips="prob"`` may return averaged probabilities in ``logits`` (rows
    that are non-negative and sum to 1); those are kept, anything else goes through a softmax.
    """
    logits = logits.detach().float()
    if logits.dim() == 3:
        logits = logits.mean(dim=1)
    rows_are_probs = bool((logits >= 0).all()) and torch.allclose(logits.sum(-1), torch.ones(logits.shape[0]),
                                                                  atol=1e-4)
    return logits if rows_are_probs else logits.softmax(-1)


def top_labels(probs: torch.Tensor, id2label: Any, k: int) -> List[Tuple[str, float]]:
    """The ``k`` best ``(label, probability)`` pairs of one ``(C,)`` probability row, best first."""
    k = min(k, probs.numel())
    values, ids = probs.topk(k)
    return [(str((id2label or {}).get(int(i), int(i))), float(v)) for v, i in zip(values, ids)]

"""Output dataclasses of videohub models (``transformers.utils.ModelOutput`` subclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch
from transformers.utils import ModelOutput


@dataclass
class VideoModelOutput(ModelOutput):
    """Output of a base (feature) model.

    Args:
        last_hidden_state: Backbone (or neck) feature map(s) of every clip, as the backbone returns
            them: ``[B*V*T, C, H, W]`` for 2D models, ``[B*V, C, T, H, W]`` for 3D models, or a tuple
            of such tensors for two-pathway / multi-level backbones.
        pooler_output: Spatio-temporally pooled feature averaged over views, ``[B, C]``
            (mmaction2's ``feature_extraction`` output).
        hidden_states: Every returned backbone stage when ``output_hidden_states=True``.
    """

    last_hidden_state: Optional[torch.Tensor] = None
    pooler_output: Optional[torch.Tensor] = None
    hidden_states: Optional[Tuple[torch.Tensor, ...]] = None


@dataclass
class VideoClassifierOutput(ModelOutput):
    """Output of a ``...ForVideoClassification`` model.

    Args:
        loss: Total loss (classification + auxiliary losses) when ``labels`` were given.
        logits: Class logits ``[B, num_labels]``: ``softmax(logits)`` is the class probability averaged
            over views as ``config.average_clips`` says (the log of the averaged probabilities for
            ``"prob"``, the averaged scores for ``"score"``, the mean of the views' scores for ``None``).
        scores: mmaction2's test output exactly (``BaseRecognizer.average_clip``): averaged
            probabilities for ``"prob"``, averaged scores for ``"score"``, ``[B, V, num_labels]``
            per-view scores for ``None`` with several views.
        clip_logits: Raw head scores of every clip before averaging (mmaction2 ``forward_dummy``).
        losses: Every loss term and the head's top-k accuracies (``loss_cls``, ``top1_acc``, ...).
        hidden_states: Backbone features when ``output_hidden_states=True``.
    """

    loss: Optional[torch.Tensor] = None
    logits: Optional[torch.Tensor] = None
    scores: Optional[torch.Tensor] = None
    clip_logits: Optional[torch.Tensor] = None
    losses: Optional[Dict[str, torch.Tensor]] = None
    hidden_states: Optional[Tuple[torch.Tensor, ...]] = None


@dataclass
class TemporalActionLocalizationOutput(ModelOutput):
    """Output of a ``...ForTemporalActionLocalization`` model.

    Args:
        loss: Total loss when labels were given.
        confidence_map: (BMN) ``[B, 2, T, T]`` regression and classification confidence of every
            (duration, start) proposal.
        start / end: (BMN, TEM) boundary probabilities ``[B, T]``.
        action: (TEM) actionness probability ``[B, T]``.
        proposal_scores: (PEM) confidence of each proposal ``[N]``.
        losses: Every loss term.
    """

    loss: Optional[torch.Tensor] = None
    confidence_map: Optional[torch.Tensor] = None
    start: Optional[torch.Tensor] = None
    end: Optional[torch.Tensor] = None
    action: Optional[torch.Tensor] = None
    proposal_scores: Optional[torch.Tensor] = None
    losses: Optional[Dict[str, torch.Tensor]] = None


@dataclass
class SpatioTemporalActionDetectionOutput(ModelOutput):
    """Output of a ``...ForSpatioTemporalActionDetection`` model.

    Args:
        loss: Total loss when labels were given.
        logits: Per-box multi-label class scores (before the sigmoid) ``[num_boxes, num_labels]``.
        rois: The boxes scored, ``[num_boxes, 5]`` = ``(batch index, x1, y1, x2, y2)`` in input pixels.
        losses: Every loss term and the head's recall/precision.
        hidden_states: Backbone features when ``output_hidden_states=True``.
    """

    loss: Optional[torch.Tensor] = None
    logits: Optional[torch.Tensor] = None
    rois: Optional[torch.Tensor] = None
    losses: Optional[Dict[str, torch.Tensor]] = None
    hidden_states: Optional[Tuple[torch.Tensor, ...]] = None

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
        logits: Class scores averaged over views as ``config.average_clips`` says, ``[B, num_labels]``
            (``[B, V, num_labels]`` with ``average_clips=None`` and several views).
        clip_logits: Raw head scores of every clip before averaging (mmaction2 ``forward_dummy``).
        losses: Every loss term and the head's top-k accuracies (``loss_cls``, ``top1_acc``, ...).
        hidden_states: Backbone features when ``output_hidden_states=True``.
    """

    loss: Optional[torch.Tensor] = None
    logits: Optional[torch.Tensor] = None
    clip_logits: Optional[torch.Tensor] = None
    losses: Optional[Dict[str, torch.Tensor]] = None
    hidden_states: Optional[Tuple[torch.Tensor, ...]] = None

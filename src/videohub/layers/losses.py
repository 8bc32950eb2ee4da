"""Classification losses with mmaction2 semantics (``loss_weight`` scaling, soft labels, class weights)."""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import LOSSES

LossOutput = Union[torch.Tensor, Dict[str, torch.Tensor]]


class BaseWeightedLoss(nn.Module):
    """A loss whose value (or each value of a returned dict) is multiplied by ``loss_weight`` (default 1.0)."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def _forward(self, *args, **kwargs) -> LossOutput:
        raise NotImplementedError("subclasses compute the unweighted loss in _forward")

    def forward(self, *args, **kwargs) -> LossOutput:
        ret = self._forward(*args, **kwargs)
        if isinstance(ret, dict):
            return {k: v * self.loss_weight if "loss" in k else v for k, v in ret.items()}
        return ret * self.loss_weight


def _class_weight(class_weight: Optional[Sequence[float]]) -> Optional[torch.Tensor]:
    return None if class_weight is None else torch.tensor(class_weight, dtype=torch.float32)


@LOSSES.register()
class CrossEntropyLoss(BaseWeightedLoss):
    """Cross entropy for hard labels ``[N]`` or soft labels ``[N, C]``.

    Args:
        loss_weight: Multiplier of the loss. Default 1.0.
        class_weight: Per-class weights, default ``None``. With soft labels the weighted loss is
            normalized by ``sum(class_weight * label)`` as in mmaction2.
    """

    def __init__(self, loss_weight: float = 1.0, class_weight: Optional[Sequence[float]] = None):
        super().__init__(loss_weight=loss_weight)
        self.register_buffer("class_weight", _class_weight(class_weight), persistent=False)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs) -> torch.Tensor:
        if cls_score.size() == label.size():
            log_prob = F.log_softmax(cls_score, dim=1)
            if self.class_weight is not None:
                weight = self.class_weight.to(cls_score).unsqueeze(0)
                return -(label * log_prob * weight).sum(1).sum() / (weight * label).sum()
            return -(label * log_prob).sum(1).mean()
        if self.class_weight is not None:
            kwargs.setdefault("weight", self.class_weight.to(cls_score))
        return F.cross_entropy(cls_score, label, **kwargs)


@LOSSES.register()
class BCELossWithLogits(BaseWeightedLoss):
    """Binary cross entropy with logits for multi-label targets.

    Args:
        loss_weight: Multiplier of the loss. Default 1.0.
        class_weight: Per-class weights passed as ``weight``. Default ``None``.
    """

    def __init__(self, loss_weight: float = 1.0, class_weight: Optional[Sequence[float]] = None):
        super().__init__(loss_weight=loss_weight)
        self.register_buffer("class_weight", _class_weight(class_weight), persistent=False)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs) -> torch.Tensor:
        if self.class_weight is not None:
            kwargs.setdefault("weight", self.class_weight.to(cls_score))
        return F.binary_cross_entropy_with_logits(cls_score, label.to(cls_score), **kwargs)


@LOSSES.register()
class NLLLoss(BaseWeightedLoss):
    """Negative log-likelihood of log-probabilities. ``loss_weight`` defaults to 1.0."""

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs) -> torch.Tensor:
        return F.nll_loss(cls_score, label, **kwargs)


@LOSSES.register()
class CBFocalLoss(BaseWeightedLoss):
    """Class-balanced focal loss of mmaction2's BABEL skeleton configs, on hard labels ``[N]``.

    Class ``c`` weighs ``(1 - beta) / (1 - beta ** samples_per_cls[c])``, normalized to sum to the
    number of classes; each sample takes its class's weight. The loss is the sum over samples and
    classes of ``weight * exp(-gamma * (y * s + log(1 + exp(-s)))) * BCE(s, y)`` (``y`` one-hot,
    ``s`` the logits), divided by the number of samples.

    Args:
        loss_weight: Multiplier of the loss. Default 1.0.
        samples_per_cls: Training samples of each class (also gives the number of classes). Default ``()``.
        beta: Class-balancing hyperparameter. Default 0.9999.
        gamma: Focusing parameter; 0 turns the modulation off. Default 2.0.
    """

    def __init__(self, loss_weight: float = 1.0, samples_per_cls: Sequence[int] = (), beta: float = 0.9999,
                 gamma: float = 2.0):
        super().__init__(loss_weight=loss_weight)
        self.samples_per_cls = list(samples_per_cls)
        self.beta = beta
        self.gamma = gamma
        counts = torch.tensor(self.samples_per_cls, dtype=torch.float64)
        weights = (1.0 - beta) / (1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), counts))
        weights = weights / weights.sum() * len(self.samples_per_cls)
        self.register_buffer("class_weights", weights.float(), persistent=False)
        self.num_classes = len(self.samples_per_cls)

    def _forward(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs) -> torch.Tensor:
        one_hot = F.one_hot(label, self.num_classes).to(cls_score)
        weights = (self.class_weights.to(cls_score) * one_hot).sum(1, keepdim=True)
        bce = F.binary_cross_entropy_with_logits(cls_score, one_hot, reduction="none")
        modulator = 1.0
        if self.gamma:
            modulator = torch.exp(-self.gamma * one_hot * cls_score - self.gamma * F.softplus(-cls_score))
        return (weights * modulator * bce).sum() / one_hot.sum()


def build_loss(cfg: Dict) -> nn.Module:
    """Build a loss from ``dict(type=..., **kwargs)`` (mmaction2 ``build_loss``)."""
    return LOSSES.build(cfg)

"""CBFocalLoss (mmaction2's BABEL skeleton configs) against the reference's values and the formula by hand."""

import math

import pytest
import torch

from videohub.layers.losses import build_loss

SCORES = torch.tensor([[1.5, -0.5, 0.25], [-1.0, 2.0, 0.5], [0.0, 0.0, -3.0], [0.7, 0.1, -0.2]])
LABELS = torch.tensor([0, 1, 2, 1])


@pytest.mark.parametrize("gamma, expected", [
    (2.0, 0.1443748027086258),  # mmaction2 0.24.1 CBFocalLoss(samples_per_cls=[10, 200, 3000], loss_weight=0.5)
    (0.0, 0.6076081395149231),
])
def test_cb_focal_loss_matches_the_reference(gamma, expected):
    loss = build_loss(dict(type="CBFocalLoss", samples_per_cls=[10, 200, 3000], gamma=gamma, loss_weight=0.5))
    assert float(loss(SCORES, LABELS)) == pytest.approx(expected, rel=1e-6)


def test_cb_focal_loss_without_focusing_is_class_weighted_bce():
    beta = 0.9
    counts = [1, 3]
    raw = [(1 - beta) / (1 - beta ** n) for n in counts]
    weights = [w / sum(raw) * 2 for w in raw]
    scores = torch.tensor([[2.0, -1.0], [0.5, 0.5]])
    labels = torch.tensor([1, 0])

    def bce(s, y):
        return -(y * math.log(1 / (1 + math.exp(-s))) + (1 - y) * math.log(1 - 1 / (1 + math.exp(-s))))

    by_hand = (weights[1] * (bce(2.0, 0) + bce(-1.0, 1)) + weights[0] * (bce(0.5, 1) + bce(0.5, 0))) / 2
    loss = build_loss(dict(type="CBFocalLoss", samples_per_cls=counts, beta=beta, gamma=0.0))
    assert float(loss(scores, labels)) == pytest.approx(by_hand, rel=1e-6)
    assert loss.state_dict() == {}  # the class weights are derived, never stored in a checkpoint

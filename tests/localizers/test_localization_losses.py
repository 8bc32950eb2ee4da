"""Localization losses against hand-worked values and brute-force loops."""

import math

import pytest
import torch

from videohub.errors import ConfigError
from videohub.layers.losses import build_loss
from videohub.layers.losses_localization import (BMNLoss, HVULoss, OHEMHingeLoss, SSNLoss,
                                                 binary_logistic_regression_loss)

EPS = 1e-5


def _blr_brute(scores, labels, threshold=0.5, lo=1.05, hi=21.0):
    pos = sum(1 for l in labels if l > threshold)
    ratio = min(max(len(labels) / max(pos, 1), lo), hi)
    c0, c1 = 0.5 * ratio / (ratio - 1), 0.5 * ratio
    total = 0.0
    for s, l in zip(scores, labels):
        total += c1 * math.log(s + EPS) if l > threshold else c0 * math.log(1 - s + EPS)
    return -total / len(labels)


def test_binary_logistic_regression_hand_value():
    # 2 positives of 4 entries: ratio 2, both coefficients 1
    scores = torch.tensor([0.9, 0.2, 0.7, 0.4])
    labels = torch.tensor([1.0, 0.0, 0.6, 0.3])
    expected = -(math.log(0.9 + EPS) + math.log(0.8 + EPS) + math.log(0.7 + EPS) + math.log(0.6 + EPS)) / 4
    loss = build_loss(dict(type="BinaryLogisticRegressionLoss"))(scores, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_binary_logistic_regression_no_positive_and_clamp():
    scores = torch.tensor([[0.1, 0.3], [0.25, 0.5]])
    labels = torch.zeros(2, 2)  # no positive: ratio = 4 / 1
    assert binary_logistic_regression_loss(scores, labels).item() == pytest.approx(
        _blr_brute(scores.flatten().tolist(), labels.flatten().tolist()), rel=1e-6)
    all_pos = torch.ones(2, 2)  # ratio 1 is clamped to 1.05
    assert binary_logistic_regression_loss(scores, all_pos).item() == pytest.approx(
        _blr_brute(scores.flatten().tolist(), all_pos.flatten().tolist()), rel=1e-6)


def _bmn_inputs():
    g = torch.Generator().manual_seed(0)
    t = 5
    pred_bm = torch.rand(2, 2, t, t, generator=g) * 0.9 + 0.05
    start = torch.rand(2, t, generator=g) * 0.9 + 0.05
    end = torch.rand(2, t, generator=g) * 0.9 + 0.05
    gt_iou = torch.rand(2, t, t, generator=g)
    gt_start = torch.rand(2, t, generator=g)
    gt_end = torch.rand(2, t, generator=g)
    mask = torch.tensor([[1.0] * (t - i) + [0.0] * i for i in range(t)])
    return pred_bm, start, end, gt_iou, gt_start, gt_end, mask


def test_bmn_loss_brute_force():
    pred_bm, start, end, gt_iou, gt_start, gt_end, mask = _bmn_inputs()
    torch.manual_seed(7)
    loss, tem, reg, cls = BMNLoss()(pred_bm, start, end, gt_iou, gt_start, gt_end, mask)

    gt = gt_iou * mask
    # tem: two binary logistic regression losses
    exp_tem = _blr_brute(start.flatten().tolist(), gt_start.flatten().tolist()) + \
        _blr_brute(end.flatten().tolist(), gt_end.flatten().tolist())
    # cls: positives IoU > 0.9, negatives the rest inside the mask
    cells = [(b, i, j) for b in range(2) for i in range(5) for j in range(5)]
    pos = [c for c in cells if gt[c] > 0.9]
    neg = [c for c in cells if gt[c] <= 0.9 and mask[c[1], c[2]] > 0]
    n_pos = max(len(pos), 1)
    ratio = min(max((n_pos + len(neg)) / n_pos, 1.05), 21)
    c0, c1 = 0.5 * ratio / (ratio - 1), 0.5 * ratio
    p = pred_bm[:, 1]
    exp_cls = -(sum(c1 * math.log(p[c] + EPS) for c in pos) + sum(c0 * math.log(1 - p[c] + EPS) for c in neg)) \
        / (n_pos + len(neg))
    # reg: replay the two rand_like draws
    torch.manual_seed(7)
    r1, r2 = torch.rand_like(gt), torch.rand_like(gt)
    high = [c for c in cells if gt[c] > 0.7]
    mid = [c for c in cells if 0.3 < gt[c] <= 0.7]
    low = [c for c in cells if 0 < gt[c] <= 0.3 and mask[c[1], c[2]] > 0]
    weight = {c: 0.0 for c in cells}
    for c in high:
        weight[c] += 1
    for c in mid:
        weight[c] += float(r1[c] > 1 - len(high) / len(mid))
    for c in low:
        weight[c] += float(r2[c] > 1 - len(high) / len(low))
    q = pred_bm[:, 0]
    mse = sum((float(q[c]) * weight[c] - float(gt[c]) * weight[c]) ** 2 for c in cells) / len(cells)
    exp_reg = 0.5 * mse * len(cells) / sum(weight.values())

    assert tem.item() == pytest.approx(exp_tem, rel=1e-5)
    assert cls.item() == pytest.approx(exp_cls, rel=1e-5)
    assert reg.item() == pytest.approx(exp_reg, rel=1e-5)
    assert loss.item() == pytest.approx(exp_tem + 10 * exp_reg + exp_cls, rel=1e-5)


def test_ohem_hinge_forward_backward_brute_force():
    pred = torch.tensor([[0.5, -0.2, 2.0], [0.1, 0.9, -1.0], [1.5, 0.3, 0.2], [-0.4, 0.0, 0.7]], requires_grad=True)
    labels = torch.tensor([1, 2, 3, 3])
    # is_positive=-1: loss_i = max(0, 1 + pred[i, label-1]) -> 1.5, 1.9, 1.2, 1.7; groups of 2, keep 1
    loss = OHEMHingeLoss.apply(pred, labels, -1, 0.5, 2)
    assert loss.shape == (1,)
    assert loss.item() == pytest.approx(1.9 + 1.7, rel=1e-6)
    loss.backward()
    expected = torch.zeros(4, 3)
    expected[1, 1] = 1.0  # slope -is_positive on the kept entries only
    expected[3, 2] = 1.0
    assert torch.equal(pred.grad, expected)


def test_ohem_hinge_positive_zero_loss_has_no_gradient():
    pred = torch.tensor([[2.0, 0.0], [0.25, 0.0]], requires_grad=True)
    loss = OHEMHingeLoss.apply(pred, torch.tensor([1, 1]), 1, 1.0, 2)
    assert loss.item() == pytest.approx(0.75)
    loss.backward()
    assert torch.equal(pred.grad, torch.tensor([[0.0, 0.0], [-1.0, 0.0]]))


def test_ssn_loss_brute_force():
    g = torch.Generator().manual_seed(3)
    num_classes = 3
    # two videos, each: 1 positive, 2 incomplete, 1 background
    proposal_type = torch.tensor([[0, 1, 1, 2], [0, 1, 1, 2]])
    labels = torch.tensor([[2, 1, 3, 0], [1, 3, 2, 0]])
    activity = torch.randn(8, num_classes + 1, generator=g)
    completeness = torch.randn(8, num_classes, generator=g)
    bbox_pred = torch.randn(8, num_classes, 2, generator=g)
    bbox_targets = torch.randn(2, 4, 2, generator=g)
    train_cfg = dict(ssn=dict(sampler=dict(num_per_video=4, positive_ratio=1, background_ratio=1, incomplete_ratio=2),
                              loss_weight=dict(comp_loss_weight=0.1, reg_loss_weight=0.1)))
    losses = SSNLoss()(activity, completeness, bbox_pred, proposal_type, labels, bbox_targets, train_cfg)

    flat_type, flat_lab = proposal_type.flatten().tolist(), labels.flatten().tolist()
    act_rows = [i for i, t in enumerate(flat_type) if t in (0, 2)]
    exp_act = sum(-torch.log_softmax(activity[i], 0)[flat_lab[i]].item() for i in act_rows) / len(act_rows)
    pos_rows = [0, 4]
    inc_groups = [[1, 2], [5, 6]]
    pos_loss = sum(max(0.0, 1 - completeness[i, flat_lab[i] - 1].item()) for i in pos_rows)
    inc_loss = sum(max(max(0.0, 1 + completeness[i, flat_lab[i] - 1].item()) for i in grp) for grp in inc_groups)
    exp_comp = (pos_loss + inc_loss) / (2 + 2) * 0.1
    diffs = []
    for i in pos_rows:
        for k in range(2):
            diffs.append(bbox_pred[i, flat_lab[i] - 1, k].item() - bbox_targets.view(-1, 2)[i, k].item())
    exp_reg = 2 * sum(0.5 * d * d if abs(d) < 1 else abs(d) - 0.5 for d in diffs) / len(diffs) * 0.1

    assert losses["loss_activity"].item() == pytest.approx(exp_act, rel=1e-5)
    assert losses["loss_completeness"].item() == pytest.approx(exp_comp, rel=1e-5)
    assert losses["loss_reg"].item() == pytest.approx(exp_reg, rel=1e-5)


def test_ssn_loss_missing_cfg_key():
    with pytest.raises(ConfigError, match="loss_weight"):
        SSNLoss()(torch.zeros(4, 2), torch.zeros(4, 1), None, torch.zeros(4), torch.zeros(4, dtype=torch.long),
                  torch.zeros(4, 2), dict(ssn=dict(sampler=dict())))


def _bce(x, y):
    return -(y * math.log(1 / (1 + math.exp(-x))) + (1 - y) * math.log(1 - 1 / (1 + math.exp(-x))))


def _hvu_inputs():
    g = torch.Generator().manual_seed(5)
    score = torch.randn(3, 5, generator=g)
    label = (torch.rand(3, 5, generator=g) > 0.5).float()
    category_mask = torch.tensor([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    mask = torch.cat([category_mask[:, :1].expand(3, 2), category_mask[:, 1:].expand(3, 3)], dim=1)
    return score, label, mask, category_mask


def test_hvu_loss_all():
    score, label, mask, cmask = _hvu_inputs()
    b = [[_bce(score[i, j].item(), label[i, j].item()) for j in range(5)] for i in range(3)]
    loss = HVULoss(categories=("a", "b"), category_nums=(2, 3), category_loss_weights=(1, 1), loss_weight=2.0)
    assert loss(score, label, mask, cmask)["loss_cls"].item() == pytest.approx(2 * sum(map(sum, b)) / 15, rel=1e-5)
    masked = HVULoss(categories=("a", "b"), category_nums=(2, 3), category_loss_weights=(1, 1), with_mask=True)
    exp = sum(sum(b[i][j] * mask[i, j].item() for j in range(5)) / mask[i].sum().item() for i in range(3)) / 3
    assert masked(score, label, mask, cmask)["loss_cls"].item() == pytest.approx(exp, rel=1e-5)
    summed = HVULoss(categories=("a", "b"), category_nums=(2, 3), category_loss_weights=(1, 1), reduction="sum")
    assert summed(score, label, mask, cmask)["loss_cls"].item() == pytest.approx(sum(map(sum, b)) / 3, rel=1e-5)


def test_hvu_loss_individual_with_mask():
    score, label, mask, cmask = _hvu_inputs()
    b = [[_bce(score[i, j].item(), label[i, j].item()) for j in range(5)] for i in range(3)]
    loss = HVULoss(categories=("a", "b"), category_nums=(2, 3), category_loss_weights=(1, 3), loss_type="individual",
                   with_mask=True)
    out = loss(score, label, mask, cmask)
    a = sum(sum(b[i][:2]) / 2 for i in range(3)) / 3
    bb = (sum(b[0][2:]) / 3) / 1  # only video 0 has category b
    assert out["a_LOSS"].item() == pytest.approx(a, rel=1e-5)
    assert out["b_LOSS"].item() == pytest.approx(bb, rel=1e-5)
    assert out["loss_cls"].item() == pytest.approx(0.25 * a + 0.75 * bb, rel=1e-5)
    assert out["b_LOSS_weight"].item() == pytest.approx(0.75)


def test_hvu_loss_bad_config():
    with pytest.raises(ConfigError, match="loss_type"):
        HVULoss(loss_type="each")
    with pytest.raises(ConfigError, match="category_nums"):
        HVULoss(category_nums=(1, 2), category_loss_weights=(1,))

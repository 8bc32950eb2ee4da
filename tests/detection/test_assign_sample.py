"""MaxIoUAssignerAVA, RandomSampler and bbox_target against hand-worked cases and a loop reference;
the detector's training forward with ground-truth boxes; box transforms of the AVA pipeline."""

import numpy as np
import pytest
import torch

from videohub.data.pipelines.compose import Compose
from videohub.errors import ConfigError, ShapeError
from videohub.models.ava.assign_sample import (
    AssignResult, MaxIoUAssignerAVA, RandomSampler, bbox_overlaps, bbox_target, build_assigner, build_sampler,
)
from model_helpers import build

G1 = [0.0, 0.0, 10.0, 10.0]
G2 = [20.0, 0.0, 30.0, 10.0]
GT_LABELS = torch.tensor([[0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]])


def test_bbox_overlaps_by_hand():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    b = torch.tensor([[5.0, 5.0, 15.0, 15.0, 0.7], [0.0, 0.0, 10.0, 10.0, 1.0], [20.0, 20.0, 30.0, 30.0, 1.0]])
    iou = bbox_overlaps(a, b)
    assert iou.shape == (1, 3)
    assert iou[0].tolist() == pytest.approx([25 / 175, 1.0, 0.0])
    with pytest.raises(ShapeError, match=r"boxes2 has shape \(3,\)"):
        bbox_overlaps(a, torch.zeros(3))


def test_assigner_thresholds_and_low_quality_match_by_hand():
    proposals = torch.tensor([
        G1,                        # IoU 1 with G1: positive
        [0.0, 0.0, 10.0, 5.0],     # IoU 0.5 with G1: positive (>= pos_iou_thr)
        [0.0, 0.0, 10.0, 4.5],     # IoU 0.45: between the thresholds: ignored
        [20.0, 0.0, 30.0, 3.5],    # IoU 0.35 with G2: negative, but G2's best proposal (>= min_pos_iou)
        [50.0, 50.0, 60.0, 60.0],  # no overlap: negative
    ])
    assigner = MaxIoUAssignerAVA(pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0.3)
    res = assigner.assign(proposals, torch.tensor([G1, G2]), GT_LABELS)
    assert res.gt_inds.tolist() == [1, 1, -1, 2, 0]
    assert res.max_overlaps.tolist() == pytest.approx([1.0, 0.5, 0.45, 0.35, 0.0])
    assert res.labels.tolist() == [GT_LABELS[0].tolist(), GT_LABELS[0].tolist(), [0] * 4, GT_LABELS[1].tolist(), [0] * 4]
    # the low-quality match needs min_pos_iou
    strict = MaxIoUAssignerAVA(pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0.4)
    assert strict.assign(proposals, torch.tensor([G1, G2]), GT_LABELS).gt_inds.tolist() == [1, 1, -1, 0, 0]
    # neg_iou_thr as a (low, high) pair: only IoU in [0.3, 0.4) is negative
    pair = MaxIoUAssignerAVA(pos_iou_thr=0.5, neg_iou_thr=(0.3, 0.4), min_pos_iou=0.4)
    assert pair.assign(proposals, torch.tensor([G1, G2]), GT_LABELS).gt_inds.tolist() == [1, 1, -1, 0, -1]


def test_assigner_ties_and_last_ground_truth_wins():
    # two proposals tie as G2's best (IoU 0.35 each)
    proposals = torch.tensor([[20.0, 0.0, 30.0, 3.5], [20.0, 6.5, 30.0, 10.0]])
    gts, labels = torch.tensor([G1, G2]), GT_LABELS
    all_ties = MaxIoUAssignerAVA(pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.3)
    assert all_ties.assign(proposals, gts, labels).gt_inds.tolist() == [2, 2]
    first_only = MaxIoUAssignerAVA(pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.3, gt_max_assign_all=False)
    assert first_only.assign(proposals, gts, labels).gt_inds.tolist() == [2, 0]
    # one proposal is the best of both ground truths: IoU 100/120 with G1, 120/200 with G2; the reference's
    # loop over ground truths lets the later one (G2) overwrite the earlier
    overlap = torch.tensor([[0.0, 0.0, 10.0, 12.0]])
    both = torch.tensor([G1, [0.0, 0.0, 10.0, 20.0]])
    res = MaxIoUAssignerAVA(pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.5).assign(overlap, both, labels)
    assert res.max_overlaps.tolist() == pytest.approx([100 / 120])
    assert res.gt_inds.tolist() == [2] and res.labels.tolist() == [GT_LABELS[1].tolist()]
    # no low-quality matching at all
    off = MaxIoUAssignerAVA(pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.5, match_low_quality=False)
    assert off.assign(overlap, both, labels).gt_inds.tolist() == [0]


def _loop_reference(overlaps, pos, neg, min_pos, assign_all):
    """The reference's sequential algorithm, written as plain loops."""
    num_gts, num_boxes = overlaps.shape
    out = [-1] * num_boxes
    for j in range(num_boxes):
        column = overlaps[:, j].tolist()
        best = max(column)
        if 0 <= best < neg:
            out[j] = 0
        if best >= pos:
            out[j] = column.index(best) + 1
    for i in range(num_gts):
        row = overlaps[i].tolist()
        best = max(row)
        if best >= min_pos:
            for j in range(num_boxes):
                if (assign_all and row[j] == best) or (not assign_all and j == row.index(best)):
                    out[j] = i + 1
    return out


@pytest.mark.parametrize("assign_all", [True, False])
def test_assigner_matches_the_sequential_reference_on_random_boxes(assign_all):
    g = torch.Generator().manual_seed(3)
    for trial in range(20):
        gts = torch.rand(4, 2, generator=g) * 20
        gts = torch.cat([gts, gts + 2 + torch.rand(4, 2, generator=g) * 10], 1).round()  # rounding makes ties
        boxes = torch.cat([gts[torch.randint(0, 4, (12,), generator=g)] + torch.randint(-3, 4, (12, 4), generator=g),
                           torch.tensor([[0.0, 0.0, 5.0, 5.0]])])
        assigner = MaxIoUAssignerAVA(pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.2, gt_max_assign_all=assign_all)
        res = assigner.assign(boxes, gts, torch.eye(4) + 0)
        assert res.gt_inds.tolist() == _loop_reference(bbox_overlaps(gts, boxes), 0.7, 0.3, 0.2, assign_all), trial


def test_assigner_without_ground_truth_or_proposals():
    assigner = MaxIoUAssignerAVA(pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.9)
    res = assigner.assign(torch.tensor([G1, G2]), torch.zeros(0, 4), torch.zeros(0, 4))
    assert res.gt_inds.tolist() == [0, 0] and res.labels.shape == (2, 4) and not res.labels.any()
    empty = assigner.assign(torch.zeros(0, 4), torch.tensor([G1]), GT_LABELS[:1])
    assert empty.gt_inds.shape == (0,) and empty.labels.shape == (0, 4)
    with pytest.raises(ShapeError, match=r"gt_labels has shape \(2, 4\); expected \[1, num_classes\]"):
        assigner.assign(torch.tensor([G1]), torch.tensor([G1]), GT_LABELS)


def test_sampler_hand_case_gt_first_bounds_and_labels():
    labels = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    proposals = torch.arange(20.0).reshape(5, 4)
    gts = torch.tensor([[100.0, 100.0, 110.0, 110.0]])

    def assigned():
        return AssignResult(1, torch.tensor([1, 0, 0, -1, 0]), torch.tensor([0.95, 0.1, 0.2, 0.5, 0.0]),
                            torch.stack([labels[0], torch.zeros(3), torch.zeros(3), torch.zeros(3), torch.zeros(3)]))

    sampler = RandomSampler(num=4, pos_fraction=0.5, generator=torch.Generator().manual_seed(0))
    res = sampler.sample(assigned(), proposals, gts, labels[:1])
    # gt prepended: indices 0 = gt, 1..5 = proposals; positives {0, 1} (2 <= int(4 * 0.5)) all kept
    assert res.pos_inds.tolist() == [0, 1]
    assert res.pos_is_gt.tolist() == [True, False] and res.pos_assigned_gt_inds.tolist() == [0, 0]
    assert torch.equal(res.pos_bboxes, torch.cat([gts, proposals[:1]]))
    assert res.pos_gt_labels.tolist() == [labels[0].tolist()] * 2
    # 4 - 2 = 2 negatives out of proposals 1, 2, 4 (indices 2, 3, 5); the ignored one (index 4) never
    assert len(res.neg_inds) == 2 and set(res.neg_inds.tolist()) <= {2, 3, 5}
    assert torch.equal(res.bboxes, torch.cat([res.pos_bboxes, res.neg_bboxes]))
    # neg_pos_ub: at most 0.5 negatives per positive -> 1
    bounded = RandomSampler(num=4, pos_fraction=0.5, neg_pos_ub=0.5).sample(assigned(), proposals, gts, labels[:1])
    assert len(bounded.neg_inds) == 1
    # the AVA setting (num 32, pos_fraction 1): everything fits, nothing is drawn
    ava = RandomSampler(num=32, pos_fraction=1).sample(assigned(), proposals, gts, labels[:1])
    assert ava.pos_inds.tolist() == [0, 1] and ava.neg_inds.tolist() == [2, 3, 5]
    # without adding the gt: only proposal 0 is positive
    plain = RandomSampler(num=32, pos_fraction=1, add_gt_as_proposals=False).sample(assigned(), proposals, gts)
    assert plain.pos_inds.tolist() == [0] and plain.neg_inds.tolist() == [1, 2, 4]


def test_sampler_draws_uniformly_and_caps_positives():
    assign = AssignResult(0, torch.tensor([1] * 6 + [0] * 4), torch.ones(10), None)
    counts = torch.zeros(10)
    sampler = RandomSampler(num=4, pos_fraction=0.5, add_gt_as_proposals=False, generator=torch.Generator().manual_seed(1))
    for _ in range(600):
        res = sampler.sample(assign, torch.zeros(10, 4), torch.zeros(0, 4))
        assert len(res.pos_inds) == 2 and len(res.neg_inds) == 2
        counts[res.pos_inds] += 1
        counts[res.neg_inds] += 1
    # each positive is drawn with probability 2/6, each negative with 2/4
    assert (counts[:6] / 600).tolist() == pytest.approx([1 / 3] * 6, abs=0.07)
    assert (counts[6:] / 600).tolist() == pytest.approx([0.5] * 4, abs=0.07)


def test_bbox_target_and_builders():
    labels = torch.tensor([[0.0, 1.0, 1.0]])
    assign = AssignResult(1, torch.tensor([1, 0]), torch.tensor([0.95, 0.0]), torch.stack([labels[0], torch.zeros(3)]))
    res = RandomSampler(num=32, pos_fraction=1).sample(assign, torch.tensor([G1, G2]), torch.tensor([G1]), labels)
    targets, weights = bbox_target([res, res], 3, pos_weight=2.0)
    one = [labels[0].tolist(), labels[0].tolist(), [0.0, 0.0, 0.0]]
    assert targets.tolist() == one + one and weights.tolist() == [2.0, 2.0, 1.0] * 2
    assert bbox_target([res], 3, pos_weight=-1)[1].tolist() == [1.0, 1.0, 1.0]
    assigner = build_assigner(dict(type="MaxIoUAssignerAVA", pos_iou_thr=0.9, neg_iou_thr=[0.1, 0.5], min_pos_iou=0.9))
    assert assigner.neg_iou_thr == (0.1, 0.5)
    assert build_sampler(dict(type="RandomSampler", num=8, pos_fraction=1)).num == 8
    with pytest.raises(ConfigError, match="sampler type 'OHEMSampler' is not supported"):
        build_sampler(dict(type="OHEMSampler", num=8, pos_fraction=1))
    with pytest.raises(ConfigError, match=r"assigner \(MaxIoUAssignerAVA\).*unexpected keyword argument 'pos_iou'"):
        build_assigner(dict(type="MaxIoUAssignerAVA", pos_iou=0.9, neg_iou_thr=0.9))
    with pytest.raises(ConfigError, match="assigner is missing"):
        build_assigner(None)


# ------------------------------------------------------------------------ the detector's training forward
def _clips():
    torch.manual_seed(0)
    return torch.randn(2, 4, 3, 32, 32)


def _gt():
    gt_boxes = [torch.tensor([[2.0, 3.0, 20.0, 28.0]]), torch.tensor([[0.0, 0.0, 16.0, 16.0], [16.0, 16.0, 31.0, 31.0]])]
    gt_labels = [torch.tensor([[0.0, 1, 0, 0, 1, 0]]), torch.tensor([[0.0, 0, 1, 0, 0, 0], [0.0, 0, 0, 0, 0, 1]])]
    proposals = [torch.tensor([[2.0, 3.0, 20.0, 27.0], [20.0, 20.0, 30.0, 30.0]]), torch.tensor([[1.0, 1.0, 8.0, 8.0]])]
    return gt_boxes, gt_labels, proposals


def test_detector_training_forward_assigns_and_samples_like_forward_train():
    model, _ = build("ava")
    gt_boxes, gt_labels, proposals = _gt()
    model.train()
    torch.manual_seed(1)
    out = model(_clips(), boxes=proposals, gt_boxes=gt_boxes, gt_labels=gt_labels)
    # clip 0: gt + proposal 0 (IoU 0.95 >= 0.9) positive, proposal 1 negative; clip 1: 2 gts, proposal negative
    expected_rois = torch.tensor([
        [0, 2.0, 3.0, 20.0, 28.0], [0, 2.0, 3.0, 20.0, 27.0], [0, 20.0, 20.0, 30.0, 30.0],
        [1, 0.0, 0.0, 16.0, 16.0], [1, 16.0, 16.0, 31.0, 31.0], [1, 1.0, 1.0, 8.0, 8.0]])
    assert torch.equal(out.rois, expected_rois)
    assert out.logits.shape == (6, 6)
    labels = torch.stack([gt_labels[0][0], gt_labels[0][0], torch.zeros(6), gt_labels[1][0], gt_labels[1][1],
                          torch.zeros(6)])
    expected = model.roi_head.bbox_head.loss(out.logits, None, out.rois, labels, None)
    assert out.loss.item() == pytest.approx(expected["loss_action_cls"].item(), rel=1e-6)
    assert {"recall@thr=0.5", "prec@thr=0.5", "recall@top3", "prec@top3"} <= set(out.losses)
    out.loss.backward()
    assert model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0

    # eval mode: every proposal is scored, labels by assignment (no sampling, no gt added)
    model.eval()
    with torch.no_grad():
        ev = model(_clips(), boxes=proposals, gt_boxes=gt_boxes, gt_labels=gt_labels)
        plain = model(_clips(), boxes=proposals)
    assert torch.equal(ev.rois, plain.rois) and torch.equal(ev.logits, plain.logits)
    ev_labels = torch.stack([gt_labels[0][0], torch.zeros(6), torch.zeros(6)])
    assert ev.loss.item() == pytest.approx(
        model.roi_head.bbox_head.loss(plain.logits, None, None, ev_labels, None)["loss_action_cls"].item(), rel=1e-6)


def test_detector_training_forward_errors_and_no_proposals():
    model, _ = build("ava")
    gt_boxes, gt_labels, proposals = _gt()
    model.train()
    out = model(_clips(), gt_boxes=gt_boxes, gt_labels=gt_labels)  # ground truths alone are the proposals
    assert out.rois[:, 0].tolist() == [0, 1, 1] and torch.isfinite(out.loss)
    with pytest.raises(ShapeError, match="gt_boxes and gt_labels go together"):
        model(_clips(), boxes=proposals, gt_boxes=gt_boxes)
    with pytest.raises(ShapeError, match="not both"):
        model(_clips(), boxes=proposals, gt_boxes=gt_boxes, gt_labels=gt_labels, labels=torch.zeros(3, 6))
    with pytest.raises(ShapeError, match=r"gt_labels\[1\] has shape \(2, 5\); expected \[num_gt, 6\]"):
        model(_clips(), gt_boxes=gt_boxes, gt_labels=[gt_labels[0], gt_labels[1][:, :5]])
    with pytest.raises(ShapeError, match="2 clips but 1 gt_boxes"):
        model(_clips(), gt_boxes=gt_boxes[:1], gt_labels=gt_labels[:1])


# ------------------------------------------------------------------------ box transforms of the AVA pipeline
def _frames_with_box(h, w, box):
    x1, y1, x2, y2 = box
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[y1:y2, x1:x2] = 255
    return [img.copy() for _ in range(2)]


def test_box_transforms_by_hand():
    # 20 x 40 frame, box [10, 10, 20, 20] px; Resize to 40 x 80 doubles it, CenterCrop(40) takes x 20..60,
    # the flip mirrors x in a 40-wide image (mmaction2: x1' = w - x2)
    results = dict(imgs=_frames_with_box(20, 40, (10, 10, 20, 20)), img_shape=(20, 40), modality="RGB",
                   gt_bboxes=np.array([[10.0, 10.0, 20.0, 20.0]]), proposals=np.array([[0.0, 0.0, 40.0, 20.0]]))
    pipe = Compose([dict(type="Resize", scale=(80, 40), keep_ratio=False), dict(type="CenterCrop", crop_size=40),
                    dict(type="Flip", flip_ratio=1.0)])
    out = pipe(results)
    assert out["img_shape"] == (40, 40)
    assert out["gt_bboxes"].tolist() == [[40 - 20.0, 20.0, 40 - 0.0, 39.0]]
    assert out["proposals"].tolist() == [[40 - 39.0, 0.0, 40.0, 39.0]]
    np.testing.assert_allclose(out["crop_quadruple"], [0.25, 0.0, 0.5, 1.0])


def test_random_box_transforms_follow_the_pixels():
    """Through RandomRescale, RandomCrop and Flip, the box still bounds the white rectangle."""
    rng = np.random.default_rng(0)
    for trial in range(6):
        h, w = 48, 64
        x1, y1 = int(rng.integers(20, 30)), int(rng.integers(12, 20))
        box = (x1, y1, x1 + 14, y1 + 12)
        pipe = Compose([dict(type="RandomRescale", scale_range=(48, 64), seed=trial),
                        dict(type="RandomCrop", size=44, seed=trial), dict(type="Flip", flip_ratio=0.5, seed=trial)])
        out = pipe(dict(imgs=_frames_with_box(h, w, box), img_shape=(h, w), modality="RGB",
                        gt_bboxes=np.array([box], dtype=np.float32)))
        ys, xs = np.nonzero(out["imgs"][0][..., 0] > 127)
        bx1, by1, bx2, by2 = out["gt_bboxes"][0]
        assert abs(xs.min() - bx1) <= 1.5 and abs(ys.min() - by1) <= 1.5, trial
        assert abs(xs.max() + 1 - bx2) <= 1.5 and abs(ys.max() + 1 - by2) <= 1.5, trial

"""BBoxHeadAVA loss/metrics, bbox2result, the LFB file format and LFBInferHead."""

import math
import os

import numpy as np
import pytest
import torch

from videohub.errors import CheckpointError, ConfigError
from videohub.models.ava import LFB, BBoxHeadAVA, FBOHead, LFBInferHead, bbox2result, load_lfb, save_lfb


def test_bbox_head_loss_focal_multilabel_by_hand():
    head = BBoxHeadAVA(in_channels=4, num_classes=4, focal_gamma=2.0, focal_alpha=0.5, topk=(1, 2))
    cls_score = torch.tensor([[0.0, 1.0, -2.0, 0.5], [0.0, 3.0, 3.0, 3.0], [0.0, -1.0, 2.0, 0.0]])
    labels = torch.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    losses = head.loss(cls_score, None, None, labels, None)
    # row 1 has no positive class besides 0 and is dropped; class 0 is dropped
    total = 0.0
    for scores, targets in (([1.0, -2.0, 0.5], [1, 0, 0]), ([-1.0, 2.0, 0.0], [0, 1, 1])):
        for s, y in zip(scores, targets):
            p = 1 / (1 + math.exp(-s))
            bce = -(y * math.log(p) + (1 - y) * math.log(1 - p))
            total += 0.5 * (1 - math.exp(-bce)) ** 2 * bce
    assert losses["loss_action_cls"].item() == pytest.approx(total / 6, rel=1e-5)
    # sigmoid > 0.5: row a predicts {1, 3} vs target {1}; row c predicts {2} vs target {2, 3}
    assert losses["recall@thr=0.5"].item() == pytest.approx((1 + 0.5) / 2, rel=1e-5)
    assert losses["prec@thr=0.5"].item() == pytest.approx((0.5 + 1) / 2, rel=1e-4)
    assert losses["recall@top1"].item() == pytest.approx((1 + 0.5) / 2, rel=1e-5)


def test_bbox_head_single_label_loss_is_cross_entropy():
    head = BBoxHeadAVA(in_channels=4, num_classes=4, multilabel=False, topk=1)
    cls_score = torch.tensor([[0.0, 1.0, -2.0, 0.5]])
    labels = torch.tensor([[0.0, 1.0, 0.0, 1.0]])
    log_p = torch.log_softmax(torch.tensor([1.0, -2.0, 0.5]), 0)
    expected = -(0.5 * log_p[0] + 0.5 * log_p[2])
    assert head.loss(cls_score, None, None, labels, None)["loss_action_cls"].item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ConfigError, match="topk"):
        BBoxHeadAVA(num_classes=3, topk=(3,))


def test_bbox2result_exact_rows():
    bboxes = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.9, 0.9], [0.0, 0.3, 0.4, 1.0]])
    scores = torch.tensor([[0.9, 0.6, 0.2], [0.1, 0.4, 0.7], [0.3, 0.8, 0.9]])
    res = bbox2result(bboxes, scores, 3, thr=0.5)
    assert len(res) == 2
    np.testing.assert_array_equal(res[0][:, 4], np.float32([0.6, 0.8]))
    np.testing.assert_array_equal(res[0][:, :4], bboxes.numpy()[[0, 2]])
    np.testing.assert_array_equal(res[1][:, 4], np.float32([0.7, 0.9]))
    single = bbox2result(bboxes, scores, 3, thr=-1.0)  # argmax over classes 1..2
    assert single[0].shape == (1, 5) and single[1].shape == (2, 5)
    assert [r.shape for r in bbox2result(torch.zeros(0, 4), torch.zeros(0, 3), 3)] == [(0, 5), (0, 5)]


def _bank():
    g = torch.Generator().manual_seed(0)
    return {"vid": {10: [torch.randn(4, generator=g)], 11: [torch.randn(4, generator=g) for _ in range(3)],
                    14: [torch.randn(4, generator=g) for _ in range(2)]}}


def test_lfb_roundtrip_and_sampling(tmp_path):
    bank = _bank()
    save_lfb(bank, str(tmp_path / "lfb_train.safetensors"))
    loaded = load_lfb(str(tmp_path / "lfb_train.safetensors"))
    assert sorted(loaded["vid"]) == [10, 11, 14]
    assert all(torch.equal(a, b) for a, b in zip(loaded["vid"][11], bank["vid"][11]))
    lfb = LFB(str(tmp_path), max_num_sampled_feat=2, window_size=4, lfb_channels=4, dataset_modes="train", device="cpu")
    np.random.seed(0)
    feats = lfb["vid,0011"]  # window 9..12: second 10 -> rows 2-3, second 11 -> rows 4-5
    assert feats.shape == (8, 4)
    assert torch.equal(feats[2], bank["vid"][10][0]) and feats[3].abs().sum() == 0
    picked = {tuple(feats[r].tolist()) for r in (4, 5)}
    assert picked <= {tuple(f.tolist()) for f in bank["vid"][11]} and len(picked) == 2
    assert feats[[0, 1, 6, 7]].abs().sum() == 0


def test_lfb_errors(tmp_path):
    with pytest.raises(ConfigError, match="lmdb"):
        LFB(str(tmp_path), device="lmdb")
    (tmp_path / "lfb_val.pkl").write_bytes(b"not loaded")
    with pytest.raises(CheckpointError, match="pass allow_pickle=True"):
        LFB(str(tmp_path), dataset_modes=("val",), device="cpu")


def test_lfb_infer_head_writes_safetensors(tmp_path):
    head = LFBInferHead(str(tmp_path / "bank"), dataset_mode="val", temporal_pool_type="max", spatial_pool_type="avg")
    x = torch.randn(3, 4, 2, 3, 3, generator=torch.Generator().manual_seed(1))
    rois = torch.tensor([[0, 0, 0, 1, 1], [1, 0, 0, 1, 1], [1, 0, 0, 2, 2]], dtype=torch.float32)
    metas = [{"img_key": "a,0005"}, {"img_key": "b,0007"}]
    assert head(x, rois, metas) is x
    path = head.save()
    assert path == os.path.normpath(str(tmp_path / "bank" / "lfb_val.safetensors"))
    bank = load_lfb(path)
    pooled = x.amax(dim=2).mean(dim=(2, 3)).half()
    assert torch.equal(bank["a"][5][0], pooled[0])
    assert len(bank["b"][7]) == 2 and torch.equal(bank["b"][7][1], pooled[2])
    assert bank["a"][5][0].dtype == torch.float16
    # the written bank feeds an FBOHead
    fbo = FBOHead(dict(lfb_prefix_path=str(tmp_path / "bank"), max_num_sampled_feat=2, window_size=2,
                       lfb_channels=4, dataset_modes=("val",), device="cpu"), dict(type="max"))
    np.random.seed(0)
    out = fbo(x, rois, metas)
    assert out.shape == (3, 8, 1, 1, 1)


def test_lfb_reads_a_reference_pickle_only_when_allowed(tmp_path, caplog):
    bank = {"vid": {10: [torch.ones(4)], 11: [torch.zeros(4), torch.full((4,), 2.0)]}}
    torch.save(bank, tmp_path / "lfb_train.pkl")
    with pytest.raises(CheckpointError, match="pass allow_pickle=True"):
        LFB(str(tmp_path), lfb_channels=4, dataset_modes="train", device="cpu")
    lfb = LFB(str(tmp_path), max_num_sampled_feat=2, window_size=3, lfb_channels=4, dataset_modes="train",
              device="cpu", allow_pickle=True)
    assert "reading the pickled LFB" in caplog.text
    assert sorted(lfb.lfb["vid"]) == [10, 11] and torch.equal(lfb.lfb["vid"][11][1], torch.full((4,), 2.0))
    # a pickle holding anything but tensors and containers is refused by weights_only
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "lfb_val.pkl", "wb") as f:
        pickle.dump({"vid": Evil()}, f)
    with pytest.raises(CheckpointError, match="not a bank of plain tensors"):
        LFB(str(tmp_path), lfb_channels=4, dataset_modes="val", device="cpu", allow_pickle=True)

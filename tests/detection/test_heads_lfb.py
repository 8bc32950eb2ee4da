"""BBoxHeadAVA loss/metrics, bbox2result, the LFB file format (safetensors, lmdb), LFBInferHead and FBO models."""

import math
import os
import sys

import numpy as np
import pytest
import torch

from videohub.errors import CheckpointError, ConfigError, ShapeError
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
    wrong = LFB(str(tmp_path), max_num_sampled_feat=2, window_size=4, lfb_channels=8, dataset_modes="train", device="cpu")
    with pytest.raises(ShapeError, match="'vid' second 10 have 4 channels, lfb_channels is 8"):
        wrong["vid,0011"]


def test_lfb_errors(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="'cpu', 'gpu' or 'lmdb'"):
        LFB(str(tmp_path), device="disk")
    monkeypatch.setitem(sys.modules, "lmdb", None)  # as if the lmdb extra were not installed
    with pytest.raises(ConfigError, match=r"videohub\[lfb\]"):
        LFB(str(tmp_path), device="lmdb")
    monkeypatch.undo()
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


def test_lfb_lmdb_backend_samples_like_the_in_memory_bank(tmp_path):
    pytest.importorskip("lmdb", reason="the lmdb backend needs the optional lmdb package (pip install 'videohub[lfb]')")
    bank = _bank()
    save_lfb(bank, str(tmp_path / "lfb_train.safetensors"))
    save_lfb({"other": {3: [torch.ones(4)]}}, str(tmp_path / "lfb_val.safetensors"))
    kwargs = dict(max_num_sampled_feat=2, window_size=6, lfb_channels=4)
    memory = LFB(str(tmp_path), device="cpu", **kwargs)
    db = LFB(str(tmp_path), device="lmdb", **kwargs)
    assert os.path.isdir(tmp_path / "lmdb") and len(db) == len(memory) == 2 and db.lfb == {}
    for key in ("vid,0011", "vid,0013", "other,0003"):
        np.random.seed(3)
        expected = memory[key]
        np.random.seed(3)
        assert torch.equal(db[key], expected), key
    assert torch.equal(db["other,0003"][3 * 2], torch.ones(4))  # window 0..5: second 3 is row 3 * K
    with pytest.raises(KeyError, match="missing"):
        db["missing,0001"]
    # construct_lmdb=False opens the database as it is; a rebuild replaces it with the current files
    db.close()
    save_lfb({"vid": {11: [torch.full((4,), 7.0)]}}, str(tmp_path / "lfb_train.safetensors"))
    stale = LFB(str(tmp_path), device="lmdb", construct_lmdb=False, dataset_modes="train", **kwargs)
    assert len(stale) == 2
    stale.close()
    rebuilt = LFB(str(tmp_path), device="lmdb", dataset_modes="train", **kwargs)
    assert len(rebuilt) == 1
    np.random.seed(0)
    assert torch.equal(rebuilt["vid,0011"][3 * 2], torch.full((4,), 7.0))  # window 8..13: second 11 is index 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="does not exist; build it with construct_lmdb=True"):
        LFB(str(tmp_path / "empty"), device="lmdb", construct_lmdb=False, **kwargs)


@pytest.mark.parametrize("fbo_type", ["non_local", "avg", "max"])
def test_fbo_detector_uses_its_bank(tmp_path, fbo_type):
    """An AVA detector with an FBOHead of each operator: its scores change when the bank changes."""
    import videohub

    g = torch.Generator().manual_seed(0)
    bank = {"v": {s: [torch.randn(16, generator=g) for _ in range(2)] for s in range(3, 8)}}
    for name, scale in (("a", 1.0), ("b", 0.0)):
        (tmp_path / name).mkdir()
        save_lfb({v: {s: [f * scale + (1 - scale) for f in fs] for s, fs in secs.items()} for v, secs in bank.items()},
                 str(tmp_path / name / "lfb_val.safetensors"))
    fbo_cfg = (dict(type="non_local", st_feat_channels=64, lt_feat_channels=16, latent_channels=8, num_st_feat=1,
                    num_lt_feat=3 * 2, st_feat_dropout_ratio=0.0, lt_feat_dropout_ratio=0.0)
               if fbo_type == "non_local" else dict(type=fbo_type))
    extra = 8 if fbo_type == "non_local" else 16

    def build(directory):
        roi_head = dict(shared_head=dict(type="FBOHead", fbo_cfg=fbo_cfg, lfb_cfg=dict(
            lfb_prefix_path=str(directory), max_num_sampled_feat=2, window_size=3, lfb_channels=16,
            dataset_modes=["val"], device="cpu")), bbox_head=dict(in_channels=64 + extra, dropout_ratio=0.0))
        config = videohub.AutoVideoConfig.for_model_type(
            "videohub-ava", backbone=dict(depth=18, base_channels=8, spatial_strides=[1, 2, 1, 1]), roi_head=roi_head,
            num_labels=7)
        torch.manual_seed(0)
        return videohub.AutoVideoModel.from_config(config).eval()

    x = torch.randn(2, 4, 3, 32, 32, generator=g)
    boxes = [torch.tensor([[2.0, 2.0, 20.0, 30.0]]), torch.tensor([[0.0, 0.0, 31.0, 31.0], [8.0, 4.0, 16.0, 20.0]])]
    metas = [{"img_key": "v,0005"}, {"img_key": "v,0006"}]
    outputs = {}
    for name in ("a", "b"):
        model = build(tmp_path / name)
        assert model.roi_head.bbox_head.fc_cls.in_features == 64 + extra
        np.random.seed(0)
        with torch.no_grad():
            outputs[name] = model(x, boxes=boxes, img_metas=metas).logits
    assert outputs["a"].shape == (3, 7) and torch.isfinite(outputs["a"]).all()
    assert (outputs["a"] - outputs["b"]).abs().max() > 1e-4


def test_fbo_head_names_a_key_frame_missing_from_the_bank(tmp_path):
    save_lfb(_bank(), str(tmp_path / "lfb_val.safetensors"))
    fbo = FBOHead(dict(lfb_prefix_path=str(tmp_path), max_num_sampled_feat=2, window_size=2, lfb_channels=4,
                       dataset_modes=("val",), device="cpu"), dict(type="avg"))
    x, rois = torch.zeros(1, 4, 1, 2, 2), torch.tensor([[0.0, 0, 0, 1, 1]])
    with pytest.raises(CheckpointError, match=r"video 'other' is not in the LFB.*modes \['val'\].*--write_feature_bank"):
        fbo(x, rois, [{"img_key": "other,0003"}])
    with pytest.raises(ShapeError, match=r"img_metas\[0\] has no 'img_key'"):
        fbo(x, rois, [{}])

"""STPP pooling, SSN test fc fusion, BMN/TEM labels and localizer building."""

import numpy as np
import pytest
import torch

from videohub.errors import ConfigError, ShapeError
from videohub.builder import build_localizer
from videohub.models.bmn import BMN
from videohub.models.bsn import TEM
from videohub.models.ssn import SSNHead, STPPTrain


def test_stpp_train_brute_force():
    g = torch.Generator().manual_seed(0)
    stpp = STPPTrain(stpp_stage=(1, (1, 2), 1), num_segments_list=(2, 5, 2))
    assert stpp.num_multipliers == 5
    x = torch.randn(2 * 9, 4, generator=g)
    scale = torch.tensor([[0.5, 2.0], [1.5, 0.25]])
    course, feat = stpp(x, scale)
    v = x.view(2, 9, 4)
    for p in range(2):
        # starting stage: 1 part (multiplier 1), course: whole + 2 parts ticks [0, 2, 5] (multiplier 3)
        parts = [v[p, 0:2].mean(0) * scale[p, 0], v[p, 2:7].mean(0) / 3, v[p, 2:4].mean(0) / 3,
                 v[p, 4:7].mean(0) / 3, v[p, 7:9].mean(0) * scale[p, 1]]
        assert torch.allclose(feat[p], torch.cat(parts), atol=1e-6)
        assert torch.allclose(course[p], v[p, 2:7].mean(0), atol=1e-6)


def test_ssn_test_fc_matches_training_fcs():
    head = SSNHead(dropout_ratio=0.0, in_channels=6, num_classes=3,
                   consensus=dict(type="STPPTest", stpp_stage=(1, (1, 2), 1)))
    torch.manual_seed(0)
    for fc in (head.activity_fc, head.completeness_fc, head.regressor_fc):
        torch.nn.init.normal_(fc.weight)
        torch.nn.init.normal_(fc.bias)
    head.prepare_test_fc(head.consensus.num_multipliers)
    feat = torch.randn(6)
    scores = head.test_fc(feat)
    assert torch.allclose(scores[:4], head.activity_fc(feat), atol=1e-5)
    # part k of the completeness fc sees feature block k; test_fc computes each block's share (bias / 5)
    w = head.completeness_fc.weight.view(3, 5, 6)
    for k in range(5):
        part = scores[4 + 3 * k:4 + 3 * (k + 1)]
        assert torch.allclose(part, w[:, k] @ feat + head.completeness_fc.bias / 5, atol=1e-5)


def test_bmn_labels_and_masks():
    model = BMN(temporal_dim=4, boundary_ratio=0.5, num_samples=2, num_samples_per_bin=2, feat_dim=8,
                soft_nms_alpha=0.4, soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9, post_process_top_k=5,
                hidden_dim_1d=8, hidden_dim_2d=4, hidden_dim_3d=8)
    assert torch.equal(model.bm_mask, torch.tensor([[1., 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]]))
    assert model.sample_mask.shape == (4, 2 * 4 * 4) and not model.sample_mask.requires_grad
    conf, start, end = model.generate_labels([np.array([[0.25, 0.75]])])
    # (duration 2 snippets, start 1) is exactly the ground truth [0.25, 0.75]
    assert conf[0, 1, 1].item() == pytest.approx(1.0)
    assert conf[0, 0, 0].item() == pytest.approx(0.0)
    assert conf.shape == (1, 4, 4) and start.shape == (1, 4)
    loss = model(torch.randn(1, 8, 4), gt_bbox=[np.array([[0.25, 0.75]])])
    assert set(loss) == {"loss"} and torch.isfinite(loss["loss"])


def test_tem_labels_and_train_loss():
    model = TEM(temporal_dim=4, boundary_ratio=0.1, tem_feat_dim=6, tem_hidden_dim=5, tem_match_threshold=0.5)
    action, start, end = model.generate_labels([torch.tensor([[0.25, 0.75]])])
    assert action.tolist() == [[0.0, 1.0, 1.0, 0.0]]
    # boundary pad max(1/4, 0.05) = 0.25: start region [0.125, 0.375] covers half of anchors 0 and 1
    assert start.tolist() == [[0.5, 0.5, 0.0, 0.0]]
    losses = model(torch.randn(1, 6, 4), gt_bbox=[torch.tensor([[0.25, 0.75]])])
    assert set(losses) == {"loss_action", "loss_start", "loss_end"}


def test_build_localizer_errors():
    with pytest.raises(ConfigError, match="unknown localizer type"):
        build_localizer(dict(type="TCANet"))
    with pytest.raises(ConfigError, match="tem_dim"):
        build_localizer(dict(type="TEM", temporal_dim=4, boundary_ratio=0.1, tem_feat_dim=6, tem_hidden_dim=5,
                             tem_match_threshold=0.5, tem_dim=3))
    model = build_localizer(dict(type="TEM", temporal_dim=4, boundary_ratio=0.1, tem_feat_dim=6, tem_hidden_dim=5,
                                 tem_match_threshold=0.5))
    with pytest.raises(ShapeError, match="TEM expects"):
        model._forward(torch.randn(1, 7, 4))
    with pytest.raises(ConfigError, match="consensus"):
        SSNHead(consensus=dict(type="Avg"))


def test_ssn_head_default_consensus_legacy_keys():
    head = SSNHead(in_channels=4, num_classes=2)
    assert isinstance(head.consensus, STPPTrain)
    assert head.consensus.stpp_stages == ((1,), (1,), (1,))
    assert head.consensus.num_segments_list == (2, 5, 2)
    assert head.completeness_fc.in_features == 12


def _small_bmn():
    return BMN(temporal_dim=12, boundary_ratio=0.5, num_samples=4, num_samples_per_bin=3, feat_dim=8,
               soft_nms_alpha=0.4, soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9, post_process_top_k=10,
               hidden_dim_1d=8, hidden_dim_2d=8, hidden_dim_3d=16)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bmn_fused_boundary_matching_conv_equals_mmaction2_order(dtype):
    """Sampling then the Conv3d (mmaction2) against the contraction over channels first; float32 runs
    the sparse CPU path, float64 the dense matmul; values and gradients agree."""
    torch.manual_seed(0)
    bmn = _small_bmn().to(dtype)
    x = torch.randn(3, 8, 12, dtype=dtype, requires_grad=True)
    conv = bmn.x_3d_p[0]
    reference = conv(bmn._boundary_matching_layer(x)).squeeze(2)
    fused = bmn._boundary_matching_conv(x)
    assert fused.shape == reference.shape == (3, 16, 12, 12)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(fused, reference, rtol=tol, atol=tol)
    weights = torch.randn_like(reference)
    expected = torch.autograd.grad((reference * weights).sum(), [x, conv.weight, conv.bias])
    got = torch.autograd.grad((fused * weights).sum(), [x, conv.weight, conv.bias])
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_bmn_sparse_mask_cache_follows_load_state_dict():
    bmn = _small_bmn()
    first = bmn._sparse_sample_mask()
    assert bmn._sparse_sample_mask()[0] is first[0]
    state = bmn.state_dict()
    state["sample_mask"] = state["sample_mask"] * 2
    bmn.load_state_dict(state)
    doubled = bmn._sparse_sample_mask()
    torch.testing.assert_close(doubled[0].to_dense(), first[0].to_dense() * 2)
    torch.testing.assert_close(doubled[1].to_dense(), bmn.sample_mask.view(48, 144))

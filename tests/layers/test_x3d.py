"""X3D backbone, BlockX3D/SEModule and X3DHead: mmaction2 parity, structure, shapes, checkpointing, freezing."""

import math

import pytest
import torch
import torch.nn.functional as F

import videohub.layers  # noqa: F401  (fills the registries)
from videohub.errors import ConfigError, ShapeError
from videohub.models.x3d.x3d import X3D, BlockX3D, SEModule, round_width
from videohub.models.x3d.x3d_head import X3DHead
from videohub.registry import BACKBONES, HEADS
from golden_helpers import assert_close_to_ref, golden_params, part

TYPES = {"X3D", "X3DHead"}


def uses(config, type_names):
    return any(isinstance(config.get(p), dict) and config[p].get("type") in type_names
               for p in ("backbone", "neck", "cls_head"))


def softmax_average(scores, clips, average_clips):
    scores = scores.view(-1, clips, scores.shape[-1])
    return (scores.softmax(-1) if average_clips == "prob" else scores).mean(1)


@pytest.mark.parametrize("name", golden_params(TYPES))
def test_golden_parity_layers(golden, name):
    """Build backbone + head from the golden config, load its slices, run Recognizer3D.forward_dummy."""
    g = golden(name)
    cfg = g["config"]
    if g["kind"] != "rec3d" or not uses(cfg, TYPES):
        pytest.skip(f"{name} is a {g['kind']} file without X3D parts")
    backbone = BACKBONES.build(cfg["backbone"])
    head = HEADS.build(cfg["cls_head"])
    backbone.load_state_dict(part(g["state_dict"], "backbone."), strict=True)
    head.load_state_dict(part(g["state_dict"], "cls_head."), strict=True)
    backbone.eval()
    head.eval()
    x = g["input"]
    with torch.no_grad():
        feat = backbone(x.reshape((-1,) + x.shape[2:]))
        scores = head(feat)
    assert_close_to_ref(feat, g["extra"]["backbone_feat"], f"{name} backbone_feat")
    assert_close_to_ref(scores, g["output"], f"{name} output")
    averaged = softmax_average(scores, x.shape[1], cfg["test_cfg"]["average_clips"])
    assert_close_to_ref(averaged, g["extra"]["test_output"], f"{name} test_output")


@pytest.mark.parametrize("name", golden_params(TYPES))
def test_golden_parity_model(golden, name):
    """The converted videohub model reproduces ``extra.test_output`` (forward_test with clip averaging)."""
    from videohub.conversion.mmaction2 import build_model, config_from_mmaction2

    g = golden(name)
    if g["kind"] != "rec3d" or not uses(g["config"], TYPES):
        pytest.skip(f"{name} is a {g['kind']} file without X3D parts")
    model = build_model(config_from_mmaction2(g["config"]), g["state_dict"], source=name)
    pixel_values = g["input"].permute(0, 1, 3, 2, 4, 5)  # (N, V, C, T, H, W) -> (B, V, T, C, H, W)
    with torch.no_grad():
        scores = model(pixel_values=pixel_values).scores
    assert_close_to_ref(scores, g["extra"]["test_output"], f"{name} model scores")


def test_round_width_and_depths_by_hand():
    assert round_width(24, 0.5) == 16  # 12 -> int(12 + 4) // 8 * 8 = 16
    assert round_width(24, 1.0) == 24
    assert round_width(24, 2.0) == 48
    assert round_width(36, 1 / 16) == 8  # 2.25 rounds to 0, raised to min_width 8
    assert round_width(432, 1 / 16) == 32  # 27 -> int(31) // 8 * 8 = 24 < 0.9 * 27, so + 8
    assert round_width(100, 0.5) == 48  # 50 -> int(54) // 8 * 8 = 48 (>= 45)
    model = X3D(gamma_w=1, gamma_b=2.25, gamma_d=2.2)
    assert model.base_channels == 24
    assert model.stage_blocks == [3, 5, 11, 7]  # ceil(2.2 * (1, 2, 5, 3))
    assert model.feat_dim == 432  # int(24 * 8 * 2.25)
    assert [len(getattr(model, f"layer{i}")) for i in range(1, 5)] == [3, 5, 11, 7]
    assert model.layer1[0].conv2.conv.groups == int(24 * 2.25)


@pytest.mark.parametrize("se_style, expected", [("half", [True, False, True, False, True]), ("all", [True] * 5)])
def test_se_placement(se_style, expected):
    model = X3D(gamma_w=0.5, gamma_d=1, se_style=se_style, num_stages=3, spatial_strides=(2, 2, 2))
    assert [hasattr(b, "se_module") for b in model.layer3] == expected
    assert [b.se_ratio is not None for b in model.layer3] == expected
    no_se = X3D(gamma_w=0.5, gamma_d=0.5, se_ratio=None)
    assert not any(isinstance(m, SEModule) for m in no_se.modules())


def test_se_module_by_hand():
    torch.manual_seed(0)
    se = SEModule(16, 0.25)
    assert se.bottleneck == 8
    for p in se.parameters():
        torch.nn.init.normal_(p)
    x = torch.randn(2, 16, 3, 4, 5)
    squeezed = x.mean(dim=(2, 3, 4))
    hidden = torch.relu(squeezed @ se.fc1.weight.flatten(1).T + se.fc1.bias)
    gate = torch.sigmoid(hidden @ se.fc2.weight.flatten(1).T + se.fc2.bias)
    torch.testing.assert_close(se(x), x * gate[:, :, None, None, None])


def test_swish_is_applied_whatever_use_swish():
    """mmaction2 0.24 always applies swish after the channel-wise conv; ``use_swish`` is only stored."""
    torch.manual_seed(0)
    a = X3D(gamma_w=0.5, gamma_d=0.5, use_swish=True).eval()
    b = X3D(gamma_w=0.5, gamma_d=0.5, use_swish=False).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    block = a.layer1[0]
    y = torch.randn(1, block.inplanes, 2, 4, 4)
    with torch.no_grad():
        inner = block.se_module(block.conv2(block.conv1(y)))
        expected = block.conv3(inner * torch.sigmoid(inner))
        identity = block.downsample(y)
        out = block(y)
    torch.testing.assert_close(out, torch.relu(expected + identity))


@pytest.mark.parametrize("t, h, w", [(4, 32, 32), (5, 48, 40), (1, 33, 17)])
def test_output_shapes(t, h, w):
    model = X3D(gamma_w=0.5, gamma_b=1.5, gamma_d=0.5).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, t, h, w))
    size_h, size_w = h, w
    for _ in range(5):  # the stem's and each stage's stride-2 3x3 conv (padding 1): ceil(n / 2)
        size_h, size_w = math.ceil(size_h / 2), math.ceil(size_w / 2)
    assert out.shape == (1, model.feat_dim, t, size_h, size_w)
    assert model.feat_dim == int(16 * 8 * 1.5)


def test_spatial_strides_and_num_stages():
    model = X3D(gamma_w=0.5, gamma_d=0.5, num_stages=2, spatial_strides=(1, 2)).eval()
    assert model.res_layers == ["layer1", "layer2"] and model.feat_dim == 32
    assert model.layer1[0].downsample is None  # stride 1 and same width: no projection
    with torch.no_grad():
        out = model(torch.randn(1, 3, 2, 16, 16))
    assert out.shape == (1, 32, 2, 4, 4)


def test_gradient_checkpointing_equal_gradients():
    torch.manual_seed(0)
    plain = X3D(gamma_w=0.5, gamma_b=1.5, gamma_d=0.5)
    plain.init_weights()
    ckpt = X3D(gamma_w=0.5, gamma_b=1.5, gamma_d=0.5, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 2, 8, 8)
    grads = []
    for model in (plain, ckpt):
        model.train()
        out = model(x.clone().requires_grad_())
        (out * torch.arange(out.numel()).reshape(out.shape).sin()).sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-5, atol=1e-7, msg=name)


def test_frozen_stages_and_norm_eval():
    model = X3D(gamma_w=0.5, gamma_d=0.5, frozen_stages=1)
    model.train()
    frozen = ("conv1_s.", "conv1_t.", "layer1.")
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(frozen)), name
    assert not model.conv1_t.bn.training and not model.layer1[0].conv1.bn.training
    assert model.layer2[0].conv1.bn.training
    model_ne = X3D(gamma_w=0.5, gamma_d=0.5, norm_eval=True).train()
    bns = [m for m in model_ne.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bns and not any(m.training for m in bns)
    assert all(p.requires_grad for p in model_ne.parameters())
    before = [m.running_mean.clone() for m in bns]
    model_ne(torch.randn(2, 3, 2, 16, 16))
    assert all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))


def test_init_weights():
    torch.manual_seed(0)
    model = X3D(gamma_w=0.5, gamma_d=0.5)
    model.init_weights()
    for m in model.modules():
        if isinstance(m, BlockX3D):
            assert torch.count_nonzero(m.conv3.bn.weight) == 0
            assert torch.all(m.conv1.bn.weight == 1)
    assert torch.all(model.conv5.bn.weight == 1)
    no_zero = X3D(gamma_w=0.5, gamma_d=0.5, zero_init_residual=False)
    no_zero.init_weights()
    assert torch.all(no_zero.layer1[0].conv3.bn.weight == 1)


def test_bad_arguments_and_inputs():
    with pytest.raises(ConfigError, match="se_style"):
        X3D(se_style="quarter")
    with pytest.raises(ConfigError, match="spatial_strides"):
        X3D(num_stages=3)
    with pytest.raises(ConfigError, match="se_ratio"):
        X3D(se_ratio=0)
    with pytest.raises(ConfigError, match="unknown argument 'gamma'"):
        BACKBONES.build(dict(type="X3D", gamma=2))
    with pytest.raises(ShapeError, match=r"\(1, 1, 4, 16, 16\)"):
        X3D(gamma_w=0.5, gamma_d=0.5)(torch.zeros(1, 1, 4, 16, 16))


@pytest.mark.parametrize("spatial_type, fc1_bias", [("avg", False), ("max", True)])
def test_x3d_head_by_hand(spatial_type, fc1_bias):
    torch.manual_seed(0)
    head = X3DHead(num_classes=5, in_channels=12, spatial_type=spatial_type, fc1_bias=fc1_bias).eval()
    assert (head.fc1.bias is not None) == fc1_bias
    assert head.fc1.weight.shape == (2048, 12) and head.mid_channels == 2048
    x = torch.randn(3, 12, 2, 3, 4)
    pooled = x.flatten(2).mean(-1) if spatial_type == "avg" else x.flatten(2).amax(-1)
    hidden = F.relu(pooled @ head.fc1.weight.T + (head.fc1.bias if fc1_bias else 0))
    expected = hidden @ head.fc2.weight.T + head.fc2.bias
    with torch.no_grad():
        torch.testing.assert_close(head(x), expected, rtol=1e-5, atol=1e-6)
    losses = head.loss(head(x), torch.tensor([0, 1, 4]))
    assert set(losses) == {"loss_cls", "top1_acc", "top5_acc"}
    with pytest.raises(ConfigError, match="spatial_type"):
        X3DHead(5, 12, spatial_type=None)
    with pytest.raises(ShapeError):
        head(torch.zeros(3, 12, 4, 4))


@pytest.mark.parametrize("name", ["x3d_s_13x6x1_facebook_kinetics400_rgb", "x3d_m_16x5x1_facebook_kinetics400_rgb"])
def test_preset_parameter_count(name):
    """X3D-S and X3D-M (one network, different clips) have mmaction2's 3,794,322 parameters.

    The reference number is ``Metadata.Parameters`` of both entries in mmaction2 0.24.1's
    ``configs/recognition/x3d/metafile.yml``.
    """
    from videohub.auto import AutoVideoModel, register_all
    from videohub.conversion.presets import get_preset, preset_config

    register_all()
    config = preset_config(name)
    assert type(config).__name__ == "X3DConfig" and config.num_frames == {"x3d_s_13x6x1_facebook_kinetics400_rgb": 13,
                                                                         "x3d_m_16x5x1_facebook_kinetics400_rgb": 16}[name]
    assert config.average_clips == "prob" and config.num_labels == 400
    with torch.device("meta"):
        model = AutoVideoModel.from_config(config)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == get_preset(name)["metadata"]["Parameters"] == 3794322

"""C3D backbone: mmaction2 parity, output sizes, fc layers and dropout, init, preset parameter count."""


import pytest
import torch
import torch.nn.functional as F

import videohub.layers  # noqa: F401  (fills the registries)
from videohub.errors import ConfigError, ShapeError
from videohub.models.c3d.c3d import C3D, c3d_out_dim
from videohub.registry import BACKBONES, HEADS
from golden_helpers import assert_close_to_ref, golden_params, part

TYPES = {"C3D"}


def c3d_golden(golden, name):
    g = golden(name)
    if g["kind"] != "rec3d" or g["config"]["backbone"].get("type") not in TYPES:
        pytest.skip(f"{name} is a {g['kind']} file without a C3D backbone")
    return g


@pytest.mark.parametrize("name", golden_params(TYPES))
def test_golden_parity_layers(golden, name):
    """Backbone (and the registered head) from the golden config reproduce Recognizer3D.forward_dummy."""
    g = c3d_golden(golden, name)
    cfg = g["config"]
    backbone = BACKBONES.build(cfg["backbone"])
    backbone.load_state_dict(part(g["state_dict"], "backbone."), strict=True)
    backbone.eval()
    x = g["input"]
    with torch.no_grad():
        feat = backbone(x.reshape((-1,) + x.shape[2:]))
    assert_close_to_ref(feat, g["extra"]["backbone_feat"], f"{name} backbone_feat")
    head = HEADS.build(cfg["cls_head"])
    head.load_state_dict(part(g["state_dict"], "cls_head."), strict=True)
    head.eval()
    with torch.no_grad():
        scores = head(feat)
    assert_close_to_ref(scores, g["output"], f"{name} output")
    clips = x.shape[1]
    averaged = scores.view(-1, clips, scores.shape[-1])
    if cfg["test_cfg"]["average_clips"] == "prob":
        averaged = averaged.softmax(-1)
    assert_close_to_ref(averaged.mean(1), g["extra"]["test_output"], f"{name} test_output")


@pytest.mark.parametrize("name", golden_params(TYPES))
def test_golden_parity_model(golden, name):
    """The converted videohub model reproduces ``extra.test_output``."""
    from videohub.conversion.mmaction2 import build_model, config_from_mmaction2

    g = c3d_golden(golden, name)
    model = build_model(config_from_mmaction2(g["config"]), g["state_dict"], source=name)
    with torch.no_grad():
        scores = model(pixel_values=g["input"].permute(0, 1, 3, 2, 4, 5)).scores
    assert_close_to_ref(scores, g["extra"]["test_output"], f"{name} model scores")


@pytest.mark.parametrize("t, h, w, expected", [
    (16, 112, 112, 512 * 1 * 4 * 4),  # mmaction2's default out_dim 8192
    (16, 64, 64, 512 * 1 * 3 * 3),  # the golden file's 4608
    (32, 16, 24, 512 * 2 * 1 * 1),  # W: 24 -> 12 -> 6 -> 3 -> 1 -> (1 + 2 - 2) // 2 + 1 = 1
    (16, 128, 171, 512 * 1 * 5 * 6),
])
def test_out_dim_by_hand(t, h, w, expected):
    assert c3d_out_dim(t, h, w) == expected


@pytest.fixture(scope="module")
def c3d_16():
    """One C3D for 16x16x16 clips (out_dim 512), initialized; built once because fc7 alone has 16.8M weights."""
    torch.manual_seed(0)
    model = C3D(out_dim=512)
    model.init_weights()
    return model


@pytest.mark.parametrize("t, h, w", [(32, 16, 24), (17, 40, 18), (18, 24, 40)])
def test_flattened_size_matches_out_dim_formula(c3d_16, t, h, w):
    """Running the real pools on other clip sizes flattens to ``c3d_out_dim``, which the error reports."""
    with pytest.raises(ShapeError, match=f"flattens to {c3d_out_dim(t, h, w)} values but out_dim=512"):
        with torch.no_grad():
            c3d_16.eval()(torch.randn(1, 3, t, h, w))


def test_output_shape_and_bad_input(c3d_16):
    with torch.no_grad():
        assert c3d_16.eval()(torch.randn(2, 3, 16, 16, 16)).shape == (2, 4096)
    with pytest.raises(ShapeError, match=r"\(1, 1, 16, 16, 16\)"):
        c3d_16(torch.randn(1, 1, 16, 16, 16))


def test_fc_layers_relu_and_dropout(c3d_16):
    model = c3d_16
    x = torch.randn(2, 3, 16, 16, 16)
    model.eval()
    with torch.no_grad():
        pooled = x
        for convs, pool in (((model.conv1a,), model.pool1), ((model.conv2a,), model.pool2),
                            ((model.conv3a, model.conv3b), model.pool3), ((model.conv4a, model.conv4b), model.pool4),
                            ((model.conv5a, model.conv5b), model.pool5)):
            for conv in convs:
                pooled = F.relu(F.conv3d(pooled, conv.conv.weight, conv.conv.bias, padding=1))
            pooled = pool(pooled)
        fc6 = F.relu(pooled.flatten(1) @ model.fc6.weight.T + model.fc6.bias)
        expected = F.relu(fc6 @ model.fc7.weight.T + model.fc7.bias)
        torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-5)
        model.train()
        torch.manual_seed(1)
        first = model(x)
        torch.manual_seed(2)
        second = model(x)
    model.eval()
    assert not torch.equal(first, second)  # dropout between fc6 and fc7 is active in training


def test_init_and_defaults(c3d_16):
    model = c3d_16
    assert model.conv_cfg == dict(type="Conv3d") and model.act_cfg == dict(type="ReLU")
    assert model.norm_cfg is None and model.conv1a.conv.bias is not None  # bias="auto" without norm
    assert model.dropout.p == 0.5 and model.init_std == 0.005
    assert torch.count_nonzero(model.fc6.bias) == 0 and torch.count_nonzero(model.conv3a.conv.bias) == 0
    assert abs(model.fc7.weight.std().item() - 0.005) < 0.0002
    fan_out = 64 * 27  # kaiming normal, fan_out, relu gain: std = sqrt(2 / fan_out)
    assert abs(model.conv1a.conv.weight.std().item() - (2 / fan_out) ** 0.5) < 0.05 * (2 / fan_out) ** 0.5
    with_bn = C3D(out_dim=512, norm_cfg=dict(type="BN3d"))
    with_bn.init_weights()
    assert with_bn.conv1a.conv.bias is None and torch.all(with_bn.conv1a.bn.weight == 1)
    with pytest.raises(ConfigError, match="style"):
        C3D(style="tf")
    with pytest.raises(ConfigError, match="unknown argument 'depth'"):
        BACKBONES.build(dict(type="C3D", depth=8))


def test_preset_parameter_count():
    """C3D sports1m (UCF101 head) has mmaction2's 78,409,573 parameters (``configs/recognition/c3d/metafile.yml``)."""
    from videohub.auto import AutoVideoModel, register_all
    from videohub.conversion.presets import get_preset, preset_config

    register_all()
    name = "c3d_sports1m_16x1x1_45e_ucf101_rgb"
    config = preset_config(name)
    assert type(config).__name__ == "C3DConfig" and config.num_frames == 16 and config.num_labels == 101
    with torch.device("meta"):
        model = AutoVideoModel.from_config(config)
    # by hand: 8 convs (3x3x3, with bias) + fc6 (8192 -> 4096) + fc7 + the 101-way classifier
    convs = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512), (512, 512), (512, 512)]
    by_hand = sum(i * o * 27 + o for i, o in convs) + 8192 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 101 + 101
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count == by_hand == get_preset(name)["metadata"]["Parameters"] == 78409573

"""Audio recognition parts: ConvAudio, ResNetAudio and AudioTSNHead (parity, hand checks, freezing, checkpointing)."""

import math

import pytest
import torch
import torch.nn.functional as F

import videohub.layers  # noqa: F401  (fills the registries)
from videohub.errors import ConfigError, ShapeError
from videohub.models.audio.resnet_audio import Bottleneck2dAudio, ResNetAudio
from videohub.layers.conv import ConvModule
from videohub.layers.conv_audio import ConvAudio
from videohub.models.audio.audio_tsn_head import AudioTSNHead
from videohub.registry import BACKBONES, HEADS
from golden_helpers import assert_close_to_ref, golden_params, part

TYPES = {"ResNetAudio", "AudioTSNHead", "AudioRecognizer"}


def audio_golden(golden, name):
    g = golden(name)
    if g["kind"] != "audio":
        pytest.skip(f"{name} is a {g['kind']} file, not an AudioRecognizer")
    return g


@pytest.mark.parametrize("name", golden_params(TYPES))
def test_golden_parity_layers(golden, name):
    """``cls_head(extract_feat(x.reshape(-1, ...)))`` of the golden config, and its clip average."""
    g = audio_golden(golden, name)
    cfg = g["config"]
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
    per_clip = scores.view(x.shape[0], x.shape[1], -1)
    if cfg["test_cfg"]["average_clips"] == "prob":
        per_clip = per_clip.softmax(-1)
    assert_close_to_ref(per_clip.mean(1), g["extra"]["test_output"], f"{name} test_output")


@pytest.mark.parametrize("name", golden_params(TYPES))
def test_golden_parity_model(golden, name):
    """The converted videohub audio model reproduces ``extra.test_output`` from ``input_features``."""
    from videohub.conversion.mmaction2 import build_model, config_from_mmaction2

    g = audio_golden(golden, name)
    model = build_model(config_from_mmaction2(g["config"]), g["state_dict"], source=name)
    assert model.main_input_name == "input_features"
    with torch.no_grad():
        scores = model(input_features=g["input"]).scores  # (N, clips, 1, T, F)
    assert_close_to_ref(scores, g["extra"]["test_output"], f"{name} model scores")


def bn_eval(x, bn):
    return (x - bn.running_mean[None, :, None, None]) / torch.sqrt(bn.running_var[None, :, None, None] + bn.eps) \
        * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]


def randomize_norms(module):
    g = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.bias.data.uniform_(-0.2, 0.2, generator=g)
            m.running_mean.uniform_(-0.2, 0.2, generator=g)
            m.running_var.uniform_(0.5, 1.5, generator=g)


@pytest.mark.parametrize("op, stride", [("concat", 1), ("sum", 1), ("concat", 2), ("sum", (2, 1))])
def test_conv_audio_by_hand(op, stride):
    torch.manual_seed(0)
    conv = ConvAudio(4, 6, (5, 3), op=op, stride=stride).eval()
    randomize_norms(conv)
    x = torch.randn(2, 4, 9, 7)
    s = (stride, stride) if isinstance(stride, int) else stride
    with torch.no_grad():
        time = F.relu(bn_eval(F.conv2d(x, conv.conv_1.conv.weight, stride=s, padding=(2, 0)), conv.conv_1.bn))
        freq = F.relu(bn_eval(F.conv2d(x, conv.conv_2.conv.weight, stride=s, padding=(0, 1)), conv.conv_2.bn))
        expected = torch.cat([time, freq], 1) if op == "concat" else time + freq
        torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)
    assert conv.conv_1.conv.weight.shape == (6, 4, 5, 1) and conv.conv_2.conv.weight.shape == (6, 4, 1, 3)
    assert conv.conv_1.conv.bias is None and not conv.with_bias
    assert expected.shape[1] == (12 if op == "concat" else 6)


def test_conv_audio_as_conv_type_and_errors():
    module = ConvModule(1, 8, 9, bias=False, conv_cfg=dict(type="ConvAudio", op="sum"), norm_cfg=dict(type="BN2d"))
    assert isinstance(module.conv, ConvAudio) and module.conv.op == "sum" and module.bn.num_features == 8
    assert module(torch.randn(1, 1, 16, 8)).shape == (1, 8, 16, 8)
    with pytest.raises(ConfigError, match="op"):
        ConvAudio(1, 2, 3, op="max")
    with pytest.raises(ConfigError, match="kernel_size"):
        ConvAudio(1, 2, (3, 3, 3))


@pytest.mark.parametrize("t, f", [(64, 32), (33, 20), (8, 8)])
def test_resnet_audio_shapes(t, f):
    model = ResNetAudio(50, None, base_channels=8).eval()
    assert model.feat_dim == 8 * 8 * 4
    with torch.no_grad():
        out = model(torch.randn(2, 1, t, f))
    # stem stride 1, stages (1, 2, 2, 2): each stride-2 3x3 (padding 1) halves with ceil
    assert out.shape == (2, 256, math.ceil(t / 8), math.ceil(f / 8))


def test_resnet_audio_structure():
    model = ResNetAudio(50, None, base_channels=8, factorize=(1, 0, 1, 0))
    assert isinstance(model.conv1.conv, ConvAudio) and model.conv1.conv.op == "sum"
    assert model.conv1.conv.conv_1.conv.weight.shape == (8, 1, 9, 1)
    for stage, flag in zip(model.res_layers, (1, 0, 1, 0)):
        for block in getattr(model, stage):
            assert isinstance(block, Bottleneck2dAudio)
            assert isinstance(block.conv2.conv, ConvAudio) == bool(flag)
            assert block.conv3.conv.in_channels == block.planes * (2 if flag else 1)
            assert block.conv2.norm is None and not block.conv2.with_activation
    assert [len(getattr(model, s)) for s in model.res_layers] == [3, 4, 6, 3]
    assert [len(getattr(ResNetAudio(d, None, base_channels=4), "layer3")) for d in (101, 152)] == [23, 36]
    per_block = ResNetAudio(50, None, base_channels=4, num_stages=1, factorize=[(1, 0, 1)])
    assert [isinstance(b.conv2.conv, ConvAudio) for b in per_block.layer1] == [True, False, True]
    assert per_block.feat_dim == 16


def test_resnet_audio_gradient_checkpointing():
    torch.manual_seed(0)
    plain = ResNetAudio(50, None, base_channels=4)
    plain.init_weights()
    randomize_norms(plain)
    ckpt = ResNetAudio(50, None, base_channels=4, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 1, 16, 8)
    grads = []
    for model in (plain, ckpt):
        model.train()
        out = model(x.clone().requires_grad_())
        (out * torch.arange(out.numel()).reshape(out.shape).cos()).sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-5, atol=1e-7, msg=name)


def test_resnet_audio_freezing():
    """mmaction2's semantics: the stem's outer BN goes to eval, the BNs inside its ConvAudio do not."""
    model = ResNetAudio(50, None, base_channels=4, frozen_stages=1).train()
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(("conv1.", "layer1."))), name
    assert not model.conv1.bn.training
    assert model.conv1.conv.conv_1.bn.training and model.conv1.conv.conv_2.bn.training
    assert not any(m.training for m in model.layer1.modules())
    assert model.layer2.training
    ne = ResNetAudio(50, None, base_channels=4, norm_eval=True).train()
    bns = [m for m in ne.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert not any(m.training for m in bns)
    before = [m.running_mean.clone() for m in bns]
    ne(torch.randn(2, 1, 16, 8))
    assert all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))


def test_resnet_audio_init_and_errors():
    model = ResNetAudio(50, None, base_channels=4)
    model.init_weights()
    assert all(torch.count_nonzero(b.conv3.bn.weight) == 0 for s in model.res_layers for b in getattr(model, s))
    assert torch.all(model.conv1.bn.weight == 1) and torch.all(model.layer1[0].conv1.bn.weight == 1)
    with pytest.raises(ConfigError, match="depth 18"):
        ResNetAudio(18, None)
    with pytest.raises(ConfigError, match="factorize"):
        ResNetAudio(50, None, factorize=(1, 1))
    with pytest.raises(ConfigError, match="pretrained"):
        ResNetAudio(50, 3).init_weights()
    with pytest.raises(ShapeError, match=r"\(2, 3, 16, 8\)"):
        model(torch.zeros(2, 3, 16, 8))
    shallow = ResNetAudio(50, None, base_channels=4, num_stages=2)  # default factorize has 4 entries
    assert shallow.res_layers == ["layer1", "layer2"] and shallow.feat_dim == 32


def test_audio_tsn_head_by_hand():
    torch.manual_seed(0)
    head = AudioTSNHead(num_classes=5, in_channels=12).eval()
    assert head.dropout_ratio == 0.4 and head.init_std == 0.01
    x = torch.randn(3, 12, 4, 2)
    with torch.no_grad():
        torch.testing.assert_close(head(x), x.mean(dim=(2, 3)) @ head.fc_cls.weight.T + head.fc_cls.bias)
    head.train()
    assert not torch.equal(head(x), head(x))  # dropout before the classifier
    multi = AudioTSNHead(5, 12, loss_cls=dict(type="BCELossWithLogits"), multi_class=True, label_smooth_eps=0.1)
    assert "loss_cls" in multi.loss(torch.randn(3, 5), torch.zeros(3, 5))
    with pytest.raises(ConfigError, match="spatial_type"):
        AudioTSNHead(5, 12, spatial_type="max")
    with pytest.raises(ShapeError):
        head(torch.zeros(3, 11, 4, 2))

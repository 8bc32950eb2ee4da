"""TSM: temporal shift, ResNetTSM, TSMHead, and the 2D golden parity checks (all rec2d files)."""

import os

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

import videohub.layers  # noqa: F401  (fills the registries)
from videohub.conversion.golden import golden_dir
from videohub.errors import ConfigError, ShapeError
from videohub.layers.resnet import ResNet
from videohub.layers.pretrained import unwrapped_name
from videohub.models.tsm.resnet_tsm import NL3DWrapper, ResNetTSM, TemporalPool
from videohub.models.tsm.tsm_head import TSMHead
from videohub.layers.temporal_shift import TemporalShift, temporal_shift
from videohub.registry import BACKBONES, HEADS


def randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --------------------------------------------------------------------------- temporal shift


def test_temporal_shift_by_hand():
    # 2 clips x 3 frames, 8 channels, 1x2 pixels; shift_div 4 -> fold 2.
    x = torch.arange(2 * 3 * 8 * 2, dtype=torch.float32).view(6, 8, 1, 2)
    out = temporal_shift(x, num_segments=3, shift_div=4)
    expected = torch.zeros_like(x)
    for clip in range(2):
        for t in range(3):
            row = clip * 3 + t
            for c in range(8):
                if c < 2:  # takes the next frame, zero at the last frame
                    src = t + 1
                elif c < 4:  # takes the previous frame, zero at the first frame
                    src = t - 1
                else:
                    src = t
                if 0 <= src < 3:
                    expected[row, c] = x[clip * 3 + src, c]
    assert torch.equal(out, expected)
    # One hand-written value: clip 0, frame 0, channel 0 holds frame 1's channel 0 = row 1.
    assert out[0, 0, 0, 0].item() == x[1, 0, 0, 0].item() == 16.0
    assert out[0, 2].abs().sum().item() == 0.0


def test_temporal_shift_module_runs_net_after_shift():
    net = nn.Conv2d(8, 4, 1)
    module = TemporalShift(net, num_segments=4, shift_div=8)
    x = randn(8, 8, 3, 3)
    assert torch.equal(module(x), net(TemporalShift.shift(x, 4, shift_div=8)))
    assert list(dict(module.named_parameters())) == ["net.weight", "net.bias"]


def test_temporal_shift_bad_input():
    with pytest.raises(ShapeError, match="not a multiple of num_segments=4"):
        temporal_shift(torch.zeros(6, 8, 2, 2), 4)
    with pytest.raises(ShapeError, match=r"4-d input"):
        temporal_shift(torch.zeros(6, 8, 2), 3)
    with pytest.raises(ConfigError, match="shift_div"):
        TemporalShift(nn.Identity(), num_segments=3, shift_div=0)


def test_temporal_pool_by_hand():
    x = randn(2 * 4, 3, 2, 2)
    out = TemporalPool(nn.Identity(), num_segments=4)(x)
    clips = x.view(2, 4, 3, 2, 2)
    # kernel 3, stride 2, padding 1 over 4 frames: windows {0, 1} and {1, 2, 3}.
    expected = torch.stack([clips[:, 0:2].amax(1), clips[:, 1:4].amax(1)], dim=1).view(4, 3, 2, 2)
    assert torch.equal(out, expected)


# --------------------------------------------------------------------------- ResNetTSM


@pytest.mark.parametrize("depth,num_segments,shift_place", [(18, 4, "blockres"), (18, 3, "block"), (50, 2, "blockres")])
def test_resnet_tsm_shapes(depth, num_segments, shift_place):
    model = ResNetTSM(depth, num_segments=num_segments, shift_place=shift_place, out_indices=(2, 3)).eval()
    with torch.no_grad():
        c3, c4 = model(randn(2 * num_segments, 3, 32, 32))
    expansion = 1 if depth == 18 else 4
    assert c3.shape == (2 * num_segments, 256 * expansion, 2, 2)
    assert c4.shape == (2 * num_segments, 512 * expansion, 1, 1)


def test_resnet_tsm_key_layout():
    blockres = ResNetTSM(18, num_segments=4).state_dict()
    assert "layer1.0.conv1.conv.net.weight" in blockres and "layer1.0.conv2.conv.weight" in blockres
    block = ResNetTSM(18, num_segments=4, shift_place="block").state_dict()
    assert "layer3.1.net.conv1.conv.weight" in block
    pooled = ResNetTSM(18, num_segments=4, temporal_pool=True)
    assert isinstance(pooled.layer2, TemporalPool) and "layer2.net.0.conv1.conv.net.weight" in pooled.state_dict()
    # Shifts after the temporal pool see half the segments.
    assert pooled.layer1[0].conv1.conv.num_segments == 4 and pooled.layer3[0].conv1.conv.num_segments == 2
    plain = ResNet(18).state_dict()
    assert {unwrapped_name(k, ResNetTSM.wrap_names) for k in blockres} == set(plain)


def test_resnet_tsm_n_round_for_deep_layer3():
    model = ResNetTSM(101, num_segments=2)
    shifted = [isinstance(b.conv1.conv, TemporalShift) for b in model.layer3]
    assert len(shifted) == 23 and shifted == [i % 2 == 0 for i in range(23)]
    # mmaction2 applies the same every-other-block rule to every stage.
    assert [isinstance(b.conv1.conv, TemporalShift) for b in model.layer1] == [True, False, True]


def test_resnet_tsm_temporal_pool_halves_segments():
    model = ResNetTSM(18, num_segments=4, temporal_pool=True).eval()
    with torch.no_grad():
        out = model(randn(2 * 4, 3, 32, 32))
    assert out.shape == (2 * 2, 512, 1, 1)
    head = TSMHead(5, 512, num_segments=4, temporal_pool=True, dropout_ratio=0.0).eval()
    assert head(out, 4).shape == (2, 5)


def test_resnet_tsm_non_local_layout_and_errors():
    model = ResNetTSM(50, num_segments=2, non_local=((0, 0, 0), (1, 0, 1, 0), 0, 0),
                      non_local_cfg=dict(sub_sample=True, norm_cfg=dict(type="BN3d")))
    assert isinstance(model.layer2[0], NL3DWrapper) and isinstance(model.layer2[2], NL3DWrapper)
    assert not isinstance(model.layer2[1], NL3DWrapper)
    keys = model.state_dict()
    assert "layer2.0.block.conv1.conv.net.weight" in keys and "layer2.0.non_local_block.g.0.conv.weight" in keys
    model.eval()
    with torch.no_grad():
        assert model(randn(4, 3, 32, 32)).shape == (4, 2048, 1, 1)
    with pytest.raises(ConfigError, match="Bottleneck"):
        ResNetTSM(18, non_local=(0, 1, 0, 0), non_local_cfg=dict(mode="dot_product"))
    with pytest.raises(ConfigError, match=r"non_local\[1\]"):
        ResNetTSM(50, non_local=(0, (1, 0), 0, 0), non_local_cfg=dict(mode="dot_product"))
    with pytest.raises(ConfigError, match="shift_place"):
        ResNetTSM(18, shift_place="residual")


def test_resnet_tsm_init_weights_keeps_structure_and_loads_plain_checkpoint(tmp_path):
    plain = ResNet(18)
    torch.manual_seed(3)
    plain.init_weights()
    path = os.path.join(tmp_path, "r18.safetensors")
    save_file({k: v.contiguous() for k, v in plain.state_dict().items()}, path)
    model = ResNetTSM(18, num_segments=4, pretrained=path, torchvision_pretrain=False)
    keys = list(model.state_dict())
    model.init_weights()
    model.init_weights()
    assert list(model.state_dict()) == keys
    assert torch.equal(model.layer1[0].conv1.conv.net.weight, plain.layer1[0].conv1.conv.weight)
    assert torch.equal(model.layer4[1].conv2.bn.running_var, plain.layer4[1].conv2.bn.running_var)


def test_resnet_tsm_frozen_stages_and_norm_eval():
    model = ResNetTSM(18, num_segments=2, frozen_stages=2, norm_eval=True)
    model.train()
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(("conv1.", "layer1.", "layer2."))), name
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)
    before = [m.running_mean.clone() for m in bns]
    model(randn(4, 3, 32, 32))
    assert all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))


@pytest.mark.parametrize("shift_place", ["blockres", "block"])
def test_resnet_tsm_with_cp_same_gradients(shift_place):
    def grads(with_cp):
        torch.manual_seed(0)
        model = ResNetTSM(18, num_segments=2, shift_place=shift_place, with_cp=with_cp, num_stages=2,
                          out_indices=(1,), strides=(1, 2), dilations=(1, 1)).eval()
        x = randn(4, 3, 32, 32).requires_grad_()
        model(x).square().sum().backward()
        return {n: p.grad for n, p in model.named_parameters()}, x.grad

    plain, plain_x = grads(False)
    checkpointed, cp_x = grads(True)
    torch.testing.assert_close(cp_x, plain_x)
    for name, grad in plain.items():
        torch.testing.assert_close(checkpointed[name], grad, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- TSMHead


def test_tsm_head_by_hand():
    head = TSMHead(3, 6, num_segments=4, dropout_ratio=0.0).eval()
    x = randn(2 * 4, 6, 2, 3)
    pooled = x.mean(dim=(2, 3))
    per_segment = pooled @ head.fc_cls.weight.T + head.fc_cls.bias
    expected = per_segment.view(2, 4, 3).mean(1)
    torch.testing.assert_close(head(x, 4), expected)
    with pytest.raises(ShapeError, match="num_segments=4"):
        head(randn(6, 6, 2, 3), 6)
    with pytest.raises(ConfigError, match="spatial_type"):
        TSMHead(3, 6, spatial_type="max")


def test_tsm_head_defaults_and_init():
    torch.manual_seed(0)
    head = TSMHead(400, 2048)
    assert (head.num_segments, head.dropout_ratio, head.init_std, head.is_shift) == (8, 0.8, 0.001, True)
    assert head.fc_cls.bias.abs().sum() == 0 and 0.0005 < head.fc_cls.weight.std() < 0.002


def test_tsm_head_multi_class_label_smoothing():
    head = TSMHead(4, 6, num_segments=2, multi_class=True, label_smooth_eps=0.2,
                   loss_cls=dict(type="BCELossWithLogits"))
    scores = randn(3, 4)
    labels = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 1.0, 0], [0, 0, 0, 1.0]])
    smoothed = labels * 0.8 + 0.2 / 4
    expected = nn.functional.binary_cross_entropy_with_logits(scores, smoothed)
    torch.testing.assert_close(head.loss(scores, labels)["loss_cls"], expected)


# --------------------------------------------------------------------------- golden parity (all rec2d)


def _rec2d_golden_names():
    """Names of the golden files of kind ``rec2d`` (read memory-mapped, without materializing)."""
    path = golden_dir()
    if not os.path.isdir(path):
        return []
    names = []
    for file in sorted(os.listdir(path)):
        if not file.endswith(".pt") or file == "golden_funcs.pt":
            continue
        data = torch.load(os.path.join(path, file), map_location="cpu", weights_only=True, mmap=True)
        if isinstance(data, dict) and data.get("kind") == "rec2d":
            names.append(file[:-3])
    return names


REC2D_GOLDENS = _rec2d_golden_names() or ["<no golden directory>"]


def _rec2d(golden, name):
    data = golden(name)
    if data["kind"] != "rec2d":
        pytest.skip(f"{name} is a {data['kind']!r} file, not rec2d")
    cfg = data["config"]
    if cfg.get("neck") is not None:
        pytest.skip(f"{name} has a neck ({cfg['neck']['type']}); checked by the neck's tests")
    return data


def _slice(state_dict, prefix):
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def _assert_close_to_ref(out, ref, what):
    tol = 1e-4 * ref.abs().max().item() + 1e-5
    err = (out - ref).abs().max().item()
    assert out.shape == ref.shape, f"{what}: shape {tuple(out.shape)} != {tuple(ref.shape)}"
    assert err <= tol, f"{what}: max |diff| {err:.3g} > {tol:.3g}"


def _hf_model(data):
    """The converted ``XForVideoClassification`` (videohub.conversion), or ``None`` if not registered."""
    from videohub.auto import CONFIG_CLASSES
    from videohub.conversion.mmaction2 import arch_for_model_cfg, build_model, config_from_mmaction2

    if f"videohub-{arch_for_model_cfg(data['config'])}" not in CONFIG_CLASSES:
        return None
    config = config_from_mmaction2(data["config"])
    # Strict: every mmaction2 key maps onto a videohub key, none missing or left over.
    return build_model(config, data["state_dict"], source=data["name"])


@pytest.mark.parametrize("name", REC2D_GOLDENS)
def test_rec2d_golden_parity(golden, name):
    """``output`` (Recognizer2D.forward_dummy), ``extra.backbone_feat`` and ``extra.test_output``.

    forward_dummy folds the frames ``(N, T, C, H, W)`` into the batch, runs the backbone and
    ``head(x, num_segs=T)``; the parts are built from the golden config through the registries.
    When the architecture is registered this runs through ``XForVideoClassification`` (one
    forward): ``clip_logits`` is the head output (= forward_dummy), ``hidden_states[0]`` the
    backbone feature and ``logits`` the forward_test scores averaged per ``average_clips``.
    """
    data = _rec2d(golden, name)
    cfg = data["config"]
    x = data["input"]
    model = _hf_model(data)
    np.random.seed(0)
    if model is None:
        backbone = BACKBONES.build(dict(cfg["backbone"]))
        head = HEADS.build(dict(cfg["cls_head"]))
        backbone.load_state_dict(_slice(data["state_dict"], "backbone."), strict=True)
        head.load_state_dict(_slice(data["state_dict"], "cls_head."), strict=True)
        backbone.eval()
        head.eval()
        frames = x.reshape((-1,) + x.shape[2:])
        with torch.no_grad():
            feat = backbone(frames)
            out = head(feat, frames.shape[0] // x.shape[0])
    else:
        with torch.no_grad():
            result = model(pixel_values=x, output_hidden_states=True)
        feat, out = result.hidden_states[0], result.clip_logits
        ref = data["extra"]["test_output"]
        _assert_close_to_ref(result.scores, ref.reshape(result.scores.shape), f"{name} test_output")
    _assert_close_to_ref(feat, data["extra"]["backbone_feat"], f"{name} backbone_feat")
    _assert_close_to_ref(out, data["output"], f"{name} output")

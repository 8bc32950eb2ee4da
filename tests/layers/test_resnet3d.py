"""ResNet3d, ResNet3dLayer, I3DHead, and golden parity of the whole ResNet3d family.

The parity test discovers every golden file whose backbone is one of this family's types and
checks, depending on the file's ``kind``:

- ``rec3d`` without a neck: ``Recognizer3D.forward_dummy`` (backbone on ``x.reshape(-1, C, T, H, W)``,
  then ``cls_head``) against ``output``, and the backbone against ``extra.backbone_feat``;
- ``rec3d`` with a neck (TPN): the backbone against ``extra.backbone_feat``;
- ``backbone``: the backbone against ``output``;
- ``ava_detector``: the backbone on the clip against ``extra.backbone_feat``.
"""

import functools
import glob
import os

import pytest
import torch
from safetensors.torch import save_file

from videohub.conversion.golden import golden_dir
from videohub.errors import ConfigError, ShapeError
from videohub.layers.resnet3d import BasicBlock3d, Bottleneck3d, ResNet3d, ResNet3dLayer
from videohub.models.csn.resnet3d_csn import ResNet3dCSN  # noqa: F401  (registers)
from videohub.models.slowfast.resnet3d_slowfast import ResNet3dSlowFast  # noqa: F401
from videohub.models.slowonly.resnet3d_slowonly import ResNet3dSlowOnly  # noqa: F401
from videohub.models.r2plus1d.resnet2plus1d import ResNet2Plus1d  # noqa: F401
from videohub.models.i3d.i3d_head import I3DHead
from videohub.models.slowfast.slowfast_head import SlowFastHead  # noqa: F401
from videohub.layers.non_local import NonLocal3d
from videohub.registry import BACKBONES, HEADS

FAMILY = {"ResNet3d", "ResNet3dLayer", "ResNet3dSlowOnly", "ResNet3dSlowFast", "ResNet2Plus1d", "ResNet3dCSN"}


def _backbone_cfg(data):
    cfg = data.get("config")
    if not isinstance(cfg, dict):
        return None
    return cfg if data.get("kind") == "backbone" else cfg.get("backbone")


@functools.lru_cache(maxsize=None)
def _family_goldens():
    """Names of the golden files whose backbone belongs to this family (read without materializing)."""
    names = []
    for path in sorted(glob.glob(os.path.join(golden_dir(), "*.pt"))):
        data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        if not isinstance(data, dict) or "kind" not in data:
            continue
        backbone = _backbone_cfg(data)
        if isinstance(backbone, dict) and backbone.get("type") in FAMILY:
            names.append(os.path.basename(path)[:-3])
    return tuple(names)


def _slice(state_dict, prefix):
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def assert_matches(actual, expected, what):
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), what
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_matches(a, e, f"{what}[{i}]")
        return
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    tol = 1e-4 * expected.abs().max().item() + 1e-5
    err = (actual - expected).abs().max().item()
    assert err <= tol, f"{what}: max |a-b| = {err:.3g} > {tol:.3g}"


@pytest.mark.parametrize("name", _family_goldens())
def test_golden_parity(golden, name):
    data = golden(name)
    kind, cfg = data["kind"], data["config"]
    backbone = BACKBONES.build(dict(_backbone_cfg(data)))
    weights = data["state_dict"] if kind == "backbone" else _slice(data["state_dict"], "backbone.")
    backbone.load_state_dict(weights, strict=True)
    backbone.eval()
    x = data["input"]
    with torch.no_grad():
        if kind == "backbone":
            assert_matches(backbone(x), data["output"], f"{name} backbone")
            return
        clips = x if kind == "ava_detector" else x.reshape((-1,) + x.shape[2:])
        feat = backbone(clips)
        assert_matches(feat, data["extra"]["backbone_feat"], f"{name} backbone_feat")
        if kind == "rec3d" and cfg.get("neck") is None:
            head = HEADS.build(dict(cfg["cls_head"]))
            head.load_state_dict(_slice(data["state_dict"], "cls_head."), strict=True)
            head.eval()
            assert_matches(head(feat), data["output"], f"{name} forward_dummy")


def test_family_goldens_are_discovered():
    if not os.path.isdir(golden_dir()):
        pytest.skip(f"golden directory {golden_dir()!r} not found")
    names = _family_goldens()
    for expected in ("i3d_r18", "slowonly_r18", "slowfast_r18", "r2plus1d_r18", "csn_ir_r50_w16",
                     "ava_slowfast_r18_backbone"):
        if os.path.exists(os.path.join(golden_dir(), expected + ".pt")):
            assert expected in names


# ----------------------------------------------------------------------------------------------
# structure
# ----------------------------------------------------------------------------------------------


def _tiny(**kwargs):
    cfg = dict(depth=18, base_channels=4, pretrained2d=False)
    cfg.update(kwargs)
    return ResNet3d(**cfg)


def test_state_dict_keys_are_mmaction2s():
    net = _tiny(non_local=((0, 0), (0, 1), (0, 0), (0, 0)), non_local_cfg=dict(sub_sample=True))
    keys = set(net.state_dict())
    for key in ("conv1.conv.weight", "conv1.bn.running_var", "layer1.0.conv1.conv.weight", "layer1.0.conv2.bn.weight",
                "layer2.0.downsample.conv.weight", "layer2.0.downsample.bn.bias",
                "layer2.1.non_local_block.g.0.conv.weight", "layer2.1.non_local_block.conv_out.conv.weight",
                "layer4.1.conv2.conv.weight"):
        assert key in keys, key
    assert not any(k.startswith("layer1.0.downsample") for k in keys)  # 4 -> 4 channels, stride 1


@pytest.mark.parametrize(
    "block, inflate, style, conv1_kernel, conv2_kernel",
    [
        ("basic", 1, "3x1x1", (3, 3, 3), (3, 3, 3)),
        ("basic", 0, "3x1x1", (1, 3, 3), (1, 3, 3)),
        ("bottleneck", 1, "3x1x1", (3, 1, 1), (1, 3, 3)),
        ("bottleneck", 1, "3x3x3", (1, 1, 1), (3, 3, 3)),
        ("bottleneck", 0, "3x3x3", (1, 1, 1), (1, 3, 3)),
    ],
)
def test_inflation_kernels(block, inflate, style, conv1_kernel, conv2_kernel):
    depth = 18 if block == "basic" else 50
    net = _tiny(depth=depth, inflate=(inflate,) * 4, inflate_style=style)
    blk = net.layer2[0]
    assert tuple(blk.conv1.conv.kernel_size) == conv1_kernel
    assert tuple(blk.conv2.conv.kernel_size) == conv2_kernel
    # temporal padding keeps the length: (k - 1) // 2
    assert blk.conv1.conv.padding[0] == (conv1_kernel[0] - 1) // 2
    assert blk.conv2.conv.padding[0] == (conv2_kernel[0] - 1) // 2


def test_per_block_inflation_and_non_local():
    net = _tiny(inflate=((1, 0), (0, 1), (1, 1), (0, 0)), non_local=((0, 0), (1, 0), (0, 0), (0, 1)),
                non_local_cfg=dict(sub_sample=True))
    kernels = [[b.conv1.conv.kernel_size[0] for b in getattr(net, f"layer{i}")] for i in range(1, 5)]
    assert kernels == [[3, 1], [1, 3], [3, 3], [1, 1]]
    has_nl = [[isinstance(getattr(b, "non_local_block", None), NonLocal3d) for b in getattr(net, f"layer{i}")]
              for i in range(1, 5)]
    assert has_nl == [[False, False], [True, False], [False, False], [False, True]]
    assert net.layer2[0].non_local_block.in_channels == 8


def test_strides_styles_and_dilation():
    net = _tiny(depth=50, style="caffe", spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 1, 1),
                dilations=(1, 1, 2, 1))
    blk = net.layer2[0]
    assert tuple(blk.conv1.conv.stride) == (2, 2, 2) and tuple(blk.conv2.conv.stride) == (1, 1, 1)
    assert tuple(blk.downsample.conv.stride) == (2, 2, 2)
    assert tuple(net.layer3[1].conv2.conv.dilation) == (1, 2, 2)
    assert tuple(net.layer3[1].conv2.conv.padding)[1:] == (2, 2)
    net = _tiny(depth=50, style="pytorch", temporal_strides=(1, 2, 1, 1))
    assert tuple(net.layer2[0].conv1.conv.stride) == (1, 1, 1) and tuple(net.layer2[0].conv2.conv.stride) == (2, 2, 2)


def _expected_shape(net, t, h, w):
    def down(n, k, s, p):
        return (n + 2 * p - k) // s + 1

    kt = net.conv1_kernel[0]
    t = down(t, kt, net.conv1_stride_t, (kt - 1) // 2)
    h, w = down(h, 7, net.conv1_stride_s, 3), down(w, 7, net.conv1_stride_s, 3)
    if net.with_pool1:
        t = down(t, 1, net.pool1_stride_t, 0)
        h, w = down(h, 3, net.pool1_stride_s, 1), down(w, 3, net.pool1_stride_s, 1)
    for i in range(net.num_stages):
        t = down(t, 1, net.temporal_strides[i], 0)
        h, w = down(h, 1, net.spatial_strides[i], 0), down(w, 1, net.spatial_strides[i], 0)
        if i == 0 and net.with_pool2:
            t = down(t, 2, 2, 0)
    return t, h, w


@pytest.mark.parametrize("t, h, w", [(8, 32, 32), (5, 24, 40), (16, 17, 33)])
@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(conv1_kernel=(5, 7, 7), conv1_stride_t=2, pool1_stride_t=2),
    dict(with_pool2=False, temporal_strides=(1, 2, 2, 1), spatial_strides=(1, 2, 1, 2)),
    dict(with_pool1=False, conv1_stride_s=1, pool1_stride_s=1, conv1_kernel=(1, 7, 7)),
])
def test_output_shapes(t, h, w, kwargs):
    net = _tiny(**kwargs).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, t, h, w))
    assert out.shape == (1, 32) + _expected_shape(net, t, h, w)


def test_out_indices_give_every_stage():
    net = _tiny(depth=50, out_indices=(0, 1, 2, 3), with_pool2=False).eval()
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 4, 32, 32))
    assert [o.shape[1] for o in outs] == [16, 32, 64, 128]
    assert [o.shape[-1] for o in outs] == [8, 4, 2, 1]
    assert net.feat_dim == 128


def test_stage_blocks_and_num_stages():
    net = _tiny(num_stages=2, stage_blocks=(1, 3), spatial_strides=(1, 2), temporal_strides=(1, 1),
                dilations=(1, 1), out_indices=(1,))
    assert len(net.layer1) == 1 and len(net.layer2) == 3 and not hasattr(net, "layer3")
    assert net.feat_dim == 8


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    net = _tiny(inflate=((1, 0), (0, 1), (1, 0), (0, 1)), non_local=((0, 0), (0, 1), (0, 0), (0, 0)),
                non_local_cfg=dict(sub_sample=True))
    net.init_weights()
    net.eval()
    x = torch.randn(1, 3, 4, 16, 16)
    net(x).square().sum().backward()
    plain = {n: p.grad.clone() for n, p in net.named_parameters()}
    net.zero_grad()
    for m in net.modules():
        if isinstance(m, (BasicBlock3d, Bottleneck3d)):
            m.with_cp = True
    x.requires_grad_(True)
    net(x).square().sum().backward()
    for n, p in net.named_parameters():
        torch.testing.assert_close(p.grad, plain[n], rtol=1e-5, atol=1e-7, msg=n)


def test_with_cp_blocks_are_set_from_the_constructor():
    net = _tiny(with_cp=True)
    assert all(b.with_cp for i in range(1, 5) for b in getattr(net, f"layer{i}"))


# ----------------------------------------------------------------------------------------------
# init, freezing, norm_eval
# ----------------------------------------------------------------------------------------------


def test_zero_init_residual():
    net = _tiny()
    net.init_weights()
    assert all(torch.all(b.conv2.bn.weight == 0) for i in range(1, 5) for b in getattr(net, f"layer{i}"))
    assert torch.all(net.conv1.bn.weight == 1)
    net = _tiny(depth=50, zero_init_residual=False)
    net.init_weights()
    assert torch.all(net.layer1[0].conv3.bn.weight == 1)
    net = _tiny(depth=50)
    net.init_weights()
    assert torch.all(net.layer1[0].conv3.bn.weight == 0) and torch.all(net.layer1[0].conv2.bn.weight == 1)


def test_frozen_stages():
    net = _tiny(frozen_stages=2)
    net.train()
    for name, p in net.named_parameters():
        frozen = name.startswith(("conv1.", "layer1.", "layer2."))
        assert p.requires_grad is not frozen, name
    assert not net.conv1.training and not net.layer2.training and net.layer3.training and net.training
    net = _tiny(frozen_stages=0)
    net.train()
    assert not any(p.requires_grad for p in net.conv1.parameters())
    assert all(p.requires_grad for p in net.layer1.parameters())


def test_norm_eval_keeps_running_stats():
    net = _tiny(norm_eval=True)
    net.train()
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bns and all(not m.training for m in bns)
    before = [m.running_mean.clone() for m in bns]
    net(torch.randn(2, 3, 4, 32, 32))
    assert all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))
    assert all(p.requires_grad for p in net.parameters())


def test_load_3d_checkpoint_with_pretrained(tmp_path):
    torch.manual_seed(1)
    source = _tiny()
    state = {f"backbone.{k}": v for k, v in source.state_dict().items()}
    state["cls_head.fc_cls.weight"] = torch.zeros(3, 32)
    path = str(tmp_path / "r3d.safetensors")
    save_file(state, path)
    target = _tiny(pretrained=path)
    target.init_weights()
    for k, v in source.state_dict().items():
        assert torch.equal(target.state_dict()[k], v), k


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="depth 20"):
        _tiny(depth=20)
    with pytest.raises(ConfigError, match="inflate_style"):
        _tiny(inflate_style="1x1x1")
    with pytest.raises(ConfigError, match="num_stages=4"):
        _tiny(spatial_strides=(1, 2, 2))
    with pytest.raises(ConfigError, match="one per block"):
        _tiny(inflate=((1, 1, 1), 1, 1, 1))
    with pytest.raises(ConfigError, match="style"):
        _tiny(style="tf")
    with pytest.raises(ConfigError, match="unknown argument 'conv1_kernal'"):
        BACKBONES.build(dict(type="ResNet3d", depth=18, conv1_kernal=(1, 7, 7)))
    net = _tiny()
    net.pretrained = 3
    with pytest.raises(ConfigError, match="pretrained must be"):
        net.init_weights()


def test_bad_input_raises_shape_error():
    with pytest.raises(ShapeError, match=r"\[N, 3, T, H, W\].*\(2, 3, 32, 32\)"):
        _tiny()(torch.zeros(2, 3, 32, 32))


# ----------------------------------------------------------------------------------------------
# ResNet3dLayer
# ----------------------------------------------------------------------------------------------


def test_resnet3d_layer():
    layer = ResNet3dLayer(depth=18, stage=3, spatial_stride=1, temporal_stride=1, inflate=(1, 0))
    assert layer.layer_name == "layer4" and set(k.split(".")[0] for k in layer.state_dict()) == {"layer4"}
    assert tuple(layer.layer4[0].conv1.conv.kernel_size) == (3, 3, 3)
    assert tuple(layer.layer4[1].conv1.conv.kernel_size) == (1, 3, 3)
    # widths are those of a 64-channel ResNet whatever base_channels is (mmaction2)
    assert layer.layer4[0].conv1.conv.in_channels == 256 and layer.layer4[0].conv1.conv.out_channels == 512
    layer.eval()
    with torch.no_grad():
        out = layer(torch.randn(1, 256, 2, 4, 4))
    assert out.shape == (1, 512, 2, 4, 4)
    frozen = ResNet3dLayer(depth=18, all_frozen=True)
    frozen.train()
    assert not frozen.layer4.training and not any(p.requires_grad for p in frozen.parameters())
    with pytest.raises(ConfigError, match="stage"):
        ResNet3dLayer(depth=18, stage=4)


# ----------------------------------------------------------------------------------------------
# I3DHead
# ----------------------------------------------------------------------------------------------


def test_i3d_head_is_mean_then_linear():
    torch.manual_seed(0)
    head = I3DHead(num_classes=3, in_channels=4, dropout_ratio=0.5).eval()
    x = torch.randn(2, 4, 3, 2, 5)
    expected = x.mean(dim=(2, 3, 4)) @ head.fc_cls.weight.t() + head.fc_cls.bias
    torch.testing.assert_close(head(x), expected)
    assert torch.all(head.fc_cls.bias == 0) and 0.005 < head.fc_cls.weight.std().item() < 0.02
    pooled = I3DHead(num_classes=3, in_channels=4, spatial_type=None, dropout_ratio=0.0)
    assert pooled.dropout is None
    torch.testing.assert_close(pooled(x.mean(dim=(2, 3, 4), keepdim=True)), pooled.fc_cls(x.mean(dim=(2, 3, 4))))
    with pytest.raises(ConfigError, match="spatial_type"):
        I3DHead(num_classes=3, in_channels=4, spatial_type="max")
    with pytest.raises(ShapeError, match="in_channels=4"):
        head(torch.randn(2, 5, 1, 1, 1))
    losses = head.loss(head(x), torch.tensor([0, 2]))
    assert set(losses) == {"loss_cls", "top1_acc", "top5_acc"}


# ----------------------------------------------------------------------------------------------
# the same goldens through the Hugging Face models (I3D/SlowOnly/SlowFast/R(2+1)D/CSN...)
# ----------------------------------------------------------------------------------------------


def _recognizer_goldens():
    names = []
    for name in _family_goldens():
        data = torch.load(os.path.join(golden_dir(), name + ".pt"), map_location="cpu", weights_only=True, mmap=True)
        if data["kind"] == "rec3d" and data["config"].get("neck") is None:
            names.append(name)
    return names


@pytest.mark.parametrize("name", _recognizer_goldens())
def test_golden_test_output_through_the_video_classification_model(golden, name):
    from videohub.conversion.mmaction2 import build_model, config_from_mmaction2

    data = golden(name)
    config = config_from_mmaction2(data["config"])
    model = build_model(config, data["state_dict"], source=name)
    assert type(model).__name__.endswith("ForVideoClassification")
    x = data["input"]  # mmaction2 layout (B, V, C, T, H, W); videohub's is (B, V, T, C, H, W)
    pixel_values = x.transpose(2, 3).contiguous()
    with torch.no_grad():
        out = model(pixel_values=pixel_values)
    assert_matches(out.scores, data["extra"]["test_output"], f"{name} test_output")
    assert_matches(out.clip_logits, data["output"], f"{name} clip scores")
    if x.shape[1] > 1:  # several clips: chunked backbone runs (max_testing_views) give the same scores
        model.config.max_testing_views = 1
        with torch.no_grad():
            chunked = model(pixel_values=pixel_values).scores
        assert_matches(chunked, data["extra"]["test_output"], f"{name} test_output, max_testing_views=1")


# ----------------------------------------------------------------------------------------------
# zoo presets
# ----------------------------------------------------------------------------------------------


# preset name -> clip_len of its test pipeline (SlowFast: the fast pathway's frames)
PRESETS_3D = {
    "i3d_r50_32x2x1_100e_kinetics400_rgb": 32,
    "i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb": 32,
    "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb": 32,
    "i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb": 32,
    "slowonly_r50_4x16x1_256e_kinetics400_rgb": 4,
    "slowonly_r50_8x8x1_256e_kinetics400_rgb": 8,
    "slowfast_r50_4x16x1_256e_kinetics400_rgb": 32,
    "slowfast_r50_8x8x1_256e_kinetics400_rgb": 32,
    "r2plus1d_r34_8x8x1_180e_kinetics400_rgb": 8,
    "r2plus1d_r34_32x2x1_180e_kinetics400_rgb": 32,
    "ircsn_ig65m_pretrained_r152_32x2x1_58e_kinetics400_rgb": 32,
    "ipcsn_ig65m_pretrained_bnfrozen_r152_32x2x1_58e_kinetics400_rgb": 32,
}


def test_preset_parameter_counts():
    """Each preset has exactly the parameters of mmaction2 0.24.1's metafile.yml ``Parameters`` field."""
    from videohub.conversion.presets import get_preset, preset_config

    for name in PRESETS_3D:
        config = preset_config(name)
        with torch.device("meta"):  # shapes only: no memory, no initialization cost
            backbone = BACKBONES.build(dict(config.backbone))
            head = HEADS.build(config.head_config())
        count = sum(p.numel() for p in backbone.parameters()) + sum(p.numel() for p in head.parameters())
        assert count == get_preset(name)["metadata"]["Parameters"], name


def test_preset_configs():
    from videohub.conversion.presets import get_preset, preset_config

    expected = {"i3d": "I3DConfig", "slowonly": "SlowOnlyConfig", "slowfast": "SlowFastConfig",
                "r2plus1d": "R2Plus1DConfig", "ircsn": "CSNConfig", "ipcsn": "CSNConfig"}
    for name, clip_len in PRESETS_3D.items():
        config = preset_config(name, num_labels=10)
        assert type(config).__name__ == expected[name.split("_")[0]], name
        assert config.num_frames == clip_len and config.num_labels == 10 and config.average_clips == "prob"
        assert config.backbone["type"] == get_preset(name)["model"]["backbone"]["type"]
    assert preset_config("ircsn_ig65m_pretrained_r152_32x2x1_58e_kinetics400_rgb").max_testing_views == 10
    with pytest.raises(ConfigError, match="unknown preset"):
        preset_config("i3d_r51")

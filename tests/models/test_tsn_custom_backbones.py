"""The custom TSN backbones of mmaction2's zoo: ``mmcls.ResNeXt`` and ``torchvision.densenet161``."""

import pytest
import torch

import videohub
from videohub.conversion.mmaction2 import arch_for_model_cfg, config_from_mmaction2
from videohub.conversion.state_dict import convert_state_dict
from videohub.errors import ConfigError, ShapeError
from videohub.registry import BACKBONES

# The zoo configs' model dicts (configs/recognition/tsn/custom_backbones/ of mmaction2 0.24.1).
RESNEXT_ZOO = dict(
    type="Recognizer2D",
    backbone=dict(type="mmcls.ResNeXt", depth=101, num_stages=4, out_indices=(3,), groups=32, width_per_group=4,
                  style="pytorch"),
    cls_head=dict(type="TSNHead", num_classes=400, in_channels=2048, spatial_type="avg",
                  consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.4, init_std=0.01),
    train_cfg=None, test_cfg=dict(average_clips=None),
)
DENSENET_ZOO = dict(
    RESNEXT_ZOO, backbone=dict(type="torchvision.densenet161", pretrained=True),
    cls_head=dict(RESNEXT_ZOO["cls_head"], in_channels=2208),
)
TINY_RESNEXT = dict(type="mmcls.ResNeXt", depth=50, groups=4, width_per_group=2, stem_channels=8, base_channels=8)
TINY_DENSENET = dict(type="torchvision.densenet121", growth_rate=4, block_config=(2, 1, 1, 2), num_init_features=8)


def _meta(cfg):
    with torch.device("meta"):
        return BACKBONES.build(cfg)


def _resnext_params(blocks, groups, width, stem=64, base=64, fc_classes=None):
    """Parameter count of an mmcls ResNeXt worked out from its definition (BN: weight + bias)."""
    total = 3 * stem * 49 + 2 * stem
    cin, cout = stem, base * 4
    for stage, n in enumerate(blocks):
        mid = groups * width * (cout // 4) // base
        for b in range(n):
            c_in = cin if b == 0 else cout
            total += c_in * mid + 2 * mid  # conv1 + bn1
            total += mid * (mid // groups) * 9 + 2 * mid  # grouped conv2 + bn2
            total += mid * cout + 2 * cout  # conv3 + bn3
        total += cin * cout + 2 * cout  # downsample conv + bn of the first block
        cin, cout = cout, cout * 2
    if fc_classes:
        total += cin * fc_classes + fc_classes
    return total


def _densenet_params(growth, blocks, init, bn_size=4, fc_classes=None):
    """Parameter count of a torchvision DenseNet-BC worked out from its definition."""
    total = 3 * init * 49 + 2 * init
    c = init
    for i, n in enumerate(blocks):
        for j in range(n):
            cin = c + j * growth
            total += 2 * cin + cin * bn_size * growth + 2 * bn_size * growth + bn_size * growth * growth * 9
        c += n * growth
        if i != len(blocks) - 1:
            total += 2 * c + c * (c // 2)
            c //= 2
    total += 2 * c
    if fc_classes:
        total += c * fc_classes + fc_classes
    return total


def test_resnext101_32x4d_parameter_count_and_width():
    model = _meta(RESNEXT_ZOO["backbone"])
    count = sum(p.numel() for p in model.parameters())
    assert count == _resnext_params((3, 4, 23, 3), 32, 4)
    # the published ResNeXt-101 32x4d (ImageNet, 1000-way fc) has 44,177,704 parameters
    assert count + 2048 * 1000 + 1000 == 44_177_704 == _resnext_params((3, 4, 23, 3), 32, 4, fc_classes=1000)
    assert model.feat_dim == 2048


def test_densenet161_parameter_count_and_width():
    model = _meta(DENSENET_ZOO["backbone"])
    count = sum(p.numel() for p in model.parameters())
    assert count == _densenet_params(48, (6, 12, 36, 24), 96)
    # torchvision's densenet161 (with its 1000-way classifier) has 28,681,000 parameters
    assert count + 2208 * 1000 + 1000 == 28_681_000 == _densenet_params(48, (6, 12, 36, 24), 96, fc_classes=1000)
    assert model.feat_dim == 2208


def test_resnext_key_layout_is_mmcls():
    shapes = {k: tuple(v.shape) for k, v in _meta(RESNEXT_ZOO["backbone"]).state_dict().items()}
    assert shapes["conv1.weight"] == (64, 3, 7, 7) and shapes["bn1.running_var"] == (64,)
    assert shapes["layer1.0.conv1.weight"] == (128, 64, 1, 1)  # mid width 32 * 4 in stage 1
    assert shapes["layer1.0.downsample.0.weight"] == (256, 64, 1, 1) and shapes["layer1.0.downsample.1.weight"] == (256,)
    assert shapes["layer3.22.conv2.weight"] == (512, 16, 3, 3)  # stage 3: width 512 in 32 groups of 16
    assert shapes["layer4.2.bn3.weight"] == (2048,) and "layer4.2.bn3.num_batches_tracked" in shapes
    assert "layer1.1.downsample.0.weight" not in shapes and not any(k.startswith(("fc", "stem")) for k in shapes)
    blocks = 3 + 4 + 23 + 3
    assert len(shapes) == (1 + 5) + blocks * 3 * (1 + 5) + 4 * (1 + 5)  # stem, blocks, downsamples (BN: 5 entries)


def test_densenet_key_layout_is_torchvision():
    shapes = {k: tuple(v.shape) for k, v in _meta(DENSENET_ZOO["backbone"]).state_dict().items()}
    assert shapes["features.conv0.weight"] == (96, 3, 7, 7) and shapes["features.norm0.weight"] == (96,)
    assert shapes["features.denseblock1.denselayer1.norm1.weight"] == (96,)
    assert shapes["features.denseblock1.denselayer1.conv1.weight"] == (192, 96, 1, 1)
    assert shapes["features.denseblock3.denselayer36.conv2.weight"] == (48, 192, 3, 3)
    assert shapes["features.transition3.conv.weight"] == (1056, 2112, 1, 1)
    assert shapes["features.norm5.running_mean"] == (2208,)
    assert all(k.startswith("features.") for k in shapes)


def test_tiny_shapes_and_output_stage():
    x = torch.randn(2, 3, 64, 64)
    resnext = BACKBONES.build(TINY_RESNEXT).eval()
    assert resnext(x).shape == (2, 256, 2, 2) and resnext.feat_dim == 256
    stage2 = BACKBONES.build(dict(TINY_RESNEXT, out_indices=(1,))).eval()
    assert stage2(x).shape == (2, 64, 8, 8) and stage2.feat_dim == 64
    dense = BACKBONES.build(TINY_DENSENET).eval()
    # 8 + 2*4 = 16 -> 8; 8 + 4 = 12 -> 6; 6 + 4 = 10 -> 5; 5 + 2*4 = 13
    assert dense(x).shape == (2, 13, 1, 1) and dense.feat_dim == 13
    with pytest.raises(ShapeError, match=r"\[N, 3, H, W\]"):
        resnext(torch.zeros(2, 4, 64, 64))
    with pytest.raises(ConfigError, match="exactly one stage"):
        BACKBONES.build(dict(TINY_RESNEXT, out_indices=(2, 3)))
    with pytest.raises(ConfigError, match="depth must be one of"):
        BACKBONES.build(dict(TINY_RESNEXT, depth=34))


def test_densenet_output_is_pooled_features_without_relu():
    torch.manual_seed(0)
    dense = BACKBONES.build(TINY_DENSENET)
    dense.init_weights()
    for m in dense.modules():  # non-trivial BN statistics, so a missing or extra ReLU would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.bias.data.uniform_(-1, 1)
    dense.eval()
    x = torch.randn(2, 3, 32, 32)
    feat = dense.features(x)
    assert (feat < 0).any()  # norm5 output, no final ReLU (what mmaction2 takes from torchvision)
    torch.testing.assert_close(dense(x), feat.mean(dim=(2, 3), keepdim=True))


@pytest.mark.parametrize("preset", ["tsn_rn101_32x4d_320p_1x1x3_100e_kinetics400_rgb",
                                    "tsn_dense161_320p_1x1x3_100e_kinetics400_rgb"])
def test_preset_parameter_count_equals_mmaction2_metafile(preset):
    from videohub.conversion.presets import get_preset

    entry = get_preset(preset)
    config = config_from_mmaction2(entry["model"], entry["test_pipeline"])
    with torch.device("meta"):
        model = videohub.AutoModelForVideoClassification.from_config(config)
    assert sum(p.numel() for p in model.parameters()) == entry["metadata"]["Parameters"]  # 42948304 / 27355600


def test_zoo_configs_convert_to_tsn():
    assert arch_for_model_cfg(RESNEXT_ZOO) == "tsn" and arch_for_model_cfg(DENSENET_ZOO) == "tsn"
    dense_cfg = config_from_mmaction2(DENSENET_ZOO)
    assert type(dense_cfg).__name__ == "TSNConfig" and dense_cfg.backbone == {"type": "torchvision.densenet161",
                                                                            "pretrained": None}
    resnext_cfg = config_from_mmaction2(RESNEXT_ZOO)
    assert resnext_cfg.backbone["type"] == "mmcls.ResNeXt" and resnext_cfg.cls_head["in_channels"] == 2048
    # without an explicit head width, the head follows the backbone
    assert videohub.TSNConfig(backbone=dict(type="torchvision.densenet161")).cls_head["in_channels"] == 2208
    assert videohub.TSNConfig(backbone=dict(type="mmcls.ResNeXt", depth=50, out_indices=(2,))).cls_head["in_channels"] == 1024


@pytest.mark.parametrize("backbone", [TINY_RESNEXT, TINY_DENSENET])
def test_mmaction2_state_dict_converts_and_runs(backbone):
    config = videohub.TSNConfig(backbone=backbone, cls_head=dict(in_channels=_meta(backbone).feat_dim), num_labels=4)
    torch.manual_seed(0)
    source = videohub.AutoModelForVideoClassification.from_config(config).eval()
    mm_state = {("backbone." + k[len("model.backbone."):] if k.startswith("model.backbone.") else k): v
                for k, v in source.state_dict().items()}
    assert "backbone.conv1.weight" in mm_state or "backbone.features.conv0.weight" in mm_state
    converted = convert_state_dict(mm_state, config)
    target = videohub.AutoModelForVideoClassification.from_config(config).eval()
    target.load_state_dict(converted, strict=True)
    x = torch.randn(1, 3, 3, 32, 32)
    with torch.no_grad():
        expected = source(pixel_values=x).logits
        feat = source.model.backbone(x.flatten(0, 1))  # [3 segments, C, h, w]
        by_hand = source.cls_head.fc_cls(feat.mean(dim=(2, 3)).mean(0, keepdim=True))  # TSN: avg pool, avg consensus
        torch.testing.assert_close(target(pixel_values=x).logits, expected)
    torch.testing.assert_close(expected, by_hand, rtol=1e-5, atol=1e-6)


def test_resnext_frozen_stages_and_norm_eval():
    model = BACKBONES.build(dict(TINY_RESNEXT, frozen_stages=1, norm_eval=True))
    model.train()
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen and all(n.startswith(("conv1.", "bn1.", "layer1.")) for n in frozen)
    assert all(p.requires_grad for n, p in model.named_parameters() if n.startswith("layer2."))
    assert all(not m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


@pytest.mark.parametrize("cfg", [dict(TINY_RESNEXT, with_cp=True), dict(TINY_DENSENET, memory_efficient=True)])
def test_gradient_checkpointing_gives_the_same_gradients(cfg):
    plain_cfg = {k: v for k, v in cfg.items() if k not in ("with_cp", "memory_efficient")}
    torch.manual_seed(0)
    plain = BACKBONES.build(plain_cfg).eval()
    checked = BACKBONES.build(cfg).eval()
    checked.load_state_dict(plain.state_dict())
    assert any(getattr(m, "with_cp", False) for m in checked.modules())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    plain(x).sum().backward()
    checked(x.detach().requires_grad_()).sum().backward()
    for (name, a), b in zip(plain.named_parameters(), checked.parameters()):
        torch.testing.assert_close(b.grad, a.grad, msg=name)


def test_densenet_loads_a_legacy_torchvision_checkpoint(tmp_path):
    torch.manual_seed(0)
    source = BACKBONES.build(TINY_DENSENET)
    legacy = {}
    for key, value in source.state_dict().items():
        for old, new in ((".norm1.", ".norm.1."), (".conv1.", ".conv.1."), (".norm2.", ".norm.2."), (".conv2.", ".conv.2.")):
            if "denselayer" in key and old in key:
                key = key.replace(old, new)
        legacy[key] = value
    legacy["classifier.weight"] = torch.zeros(10, 13)
    legacy["classifier.bias"] = torch.zeros(10)
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    path = tmp_path / "densenet_legacy.pth"
    torch.save(legacy, path)
    target = BACKBONES.build(dict(TINY_DENSENET, pretrained=str(path)))
    target.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key

"""TPN neck (modulations, flows, level fusion, aux head) and TPNHead: parity, hand-computed flows, presets."""


import pytest
import torch
import torch.nn.functional as F

import videohub.layers  # noqa: F401  (fills the registries)
from videohub.errors import ConfigError, ShapeError
from videohub.models.tpn.tpn_head import TPNHead
from videohub.models.tpn.tpn_neck import TPN, AuxHead, DownSample, Identity, SpatialModulation, TemporalModulation
from videohub.registry import BACKBONES, HEADS, NECKS
from golden_helpers import assert_close_to_ref, golden_params, part

TYPES = {"TPN", "TPNHead"}


def tpn_golden(golden, name):
    g = golden(name)
    cfg = g["config"]
    if g["kind"] not in ("rec2d", "rec3d") or (cfg.get("neck") or {}).get("type") != "TPN":
        pytest.skip(f"{name} is a {g['kind']} file without a TPN neck")
    return g


def neck_and_head(g):
    neck = NECKS.build(g["config"]["neck"])
    head = HEADS.build(g["config"]["cls_head"])
    neck.load_state_dict(part(g["state_dict"], "neck."), strict=True)
    head.load_state_dict(part(g["state_dict"], "cls_head."), strict=True)
    return neck.eval(), head.eval()


def neck_levels(g, feats):
    """The neck input mmaction2 builds from backbone features (2D: ``[N*S, C, H, W]`` -> ``[N, C, S, H, W]``)."""
    if g["kind"] == "rec2d":
        segs = g["input"].shape[1]
        return [f.reshape((-1, segs) + f.shape[1:]).transpose(1, 2).contiguous() for f in feats]
    return list(feats)


def head_scores(g, head, neck_out):
    return head(neck_out.squeeze(2), 1) if g["kind"] == "rec2d" else head(neck_out)


@pytest.mark.parametrize("name", golden_params(TYPES))
def test_golden_parity_neck_and_head(golden, name):
    """TPN + TPNHead on the stored backbone features reproduce ``extra.neck_feat`` and ``output``."""
    g = tpn_golden(golden, name)
    neck, head = neck_and_head(g)
    with torch.no_grad():
        out, aux = neck(neck_levels(g, g["extra"]["backbone_feat"]))
        scores = head_scores(g, head, out)
    assert aux == {}
    assert_close_to_ref(out, g["extra"]["neck_feat"], f"{name} neck_feat")
    assert_close_to_ref(scores, g["output"], f"{name} output")


@pytest.mark.parametrize("name", golden_params(TYPES))
def test_golden_parity_with_backbone(golden, name):
    """Backbone (from the registry) + neck + head reproduce forward_dummy from the raw input."""
    g = tpn_golden(golden, name)
    backbone = BACKBONES.build(g["config"]["backbone"])
    backbone.load_state_dict(part(g["state_dict"], "backbone."), strict=True)
    backbone.eval()
    neck, head = neck_and_head(g)
    x = g["input"]
    with torch.no_grad():
        feats = backbone(x.reshape((-1,) + x.shape[2:]))
        for i, (f, ref) in enumerate(zip(feats, g["extra"]["backbone_feat"])):
            assert_close_to_ref(f, ref, f"{name} backbone_feat[{i}]")
        scores = head_scores(g, head, neck(neck_levels(g, feats))[0])
    assert_close_to_ref(scores, g["output"], f"{name} output")


@pytest.mark.parametrize("name", golden_params(TYPES))
def test_golden_parity_model(golden, name):
    """The converted videohub model reproduces ``extra.test_output``."""
    from videohub.conversion.mmaction2 import build_model, config_from_mmaction2

    g = tpn_golden(golden, name)
    model = build_model(config_from_mmaction2(g["config"]), g["state_dict"], source=name)
    x = g["input"]
    pixel_values = x.permute(0, 1, 3, 2, 4, 5) if g["kind"] == "rec3d" else x  # 3D: NVCTHW -> BVTCHW
    with torch.no_grad():
        scores = model(pixel_values=pixel_values).scores
    assert_close_to_ref(scores, g["extra"]["test_output"], f"{name} model scores")


def small_tpn(flow_type="cascade", **overrides):
    cfg = dict(
        in_channels=(32, 64, 128), out_channels=64,
        spatial_modulation_cfg=dict(in_channels=(32, 64, 128), out_channels=128),
        temporal_modulation_cfg=dict(downsample_scales=(1, 2, 4)),  # T = 4 -> 4, 2, 1 per level
        upsample_cfg=dict(scale_factor=(2, 1, 1)),
        downsample_cfg=dict(downsample_scale=(2, 1, 1)),
        level_fusion_cfg=dict(in_channels=(64, 64, 64), mid_channels=(32, 64, 32), out_channels=64,
                              downsample_scales=((4, 1, 1), (2, 1, 1), (1, 1, 1))),
        aux_head_cfg=dict(out_channels=5, loss_weight=0.5),
        flow_type=flow_type,
    )
    cfg.update(overrides)
    torch.manual_seed(0)
    neck = TPN(**cfg)
    for m in neck.modules():  # non-trivial norms so every branch matters
        if isinstance(m, torch.nn.BatchNorm3d):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -0.2, 0.2)
    return neck.eval()


def pyramid(t=4):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(2, 32, t, 8, 8, generator=g), torch.randn(2, 64, t, 4, 4, generator=g),
            torch.randn(2, 128, t, 2, 2, generator=g)]


def test_spatial_modulation_layout():
    sm = SpatialModulation((32, 48, 64, 128), 128)
    kinds = [type(op).__name__ for op in sm.spatial_modulation]
    assert kinds == ["ModuleList", "ModuleList", "ModuleList", "Identity"]  # floor(log2(128 // c)) = 2, 1, 1, 0
    assert [len(op) for op in sm.spatial_modulation[:3]] == [2, 1, 1]
    sm = SpatialModulation((32, 64, 128), 128)
    assert [len(op) for op in sm.spatial_modulation[:2]] == [2, 1]
    assert sm.spatial_modulation[0][1].conv.weight.shape == (128, 64, 1, 3, 3)
    x = [torch.randn(1, 32, 2, 8, 8), torch.randn(1, 64, 2, 4, 4), torch.randn(1, 128, 2, 2, 2)]
    out = sm.eval()(x[:3])
    assert [tuple(o.shape) for o in out] == [(1, 128, 2, 2, 2)] * 3
    assert out[2] is x[2]
    with pytest.raises(ConfigError, match="exceeds out_channels"):
        SpatialModulation((256,), 128 // 3)


@pytest.mark.parametrize("t, scale, expected", [(8, 8, 1), (8, 4, 2), (6, 4, 2), (5, 1, 5)])
def test_temporal_modulation_ceil_pool(t, scale, expected):
    tm = TemporalModulation(64, 32, scale).eval()
    assert tm.conv.conv.groups == 32 and tm.conv.conv.bias is None and tm.conv.norm is None
    x = torch.randn(1, 64, t, 2, 3)
    with torch.no_grad():
        out = tm(x)
        conv = F.conv3d(x, tm.conv.conv.weight, padding=(1, 0, 0), groups=32)
    assert out.shape == (1, 32, expected, 2, 3)
    for i in range(expected):  # ceil-mode windows: the last one may be shorter
        torch.testing.assert_close(out[:, :, i], conv[:, :, i * scale:(i + 1) * scale].amax(2))


def test_downsample_positions():
    torch.manual_seed(0)
    after = DownSample(8, 8, downsample_scale=(1, 2, 2)).eval()
    before = DownSample(8, 8, downsample_position="before", downsample_scale=(1, 2, 2)).eval()
    before.load_state_dict(after.state_dict())
    x = torch.randn(1, 8, 3, 5, 5)
    with torch.no_grad():
        conv = F.conv3d(x, after.conv.conv.weight, padding=(1, 0, 0))
        torch.testing.assert_close(after(x), F.max_pool3d(conv, (1, 2, 2), (1, 2, 2), ceil_mode=True))
        pooled = F.max_pool3d(x, (1, 2, 2), (1, 2, 2), ceil_mode=True)
        torch.testing.assert_close(before(x), F.conv3d(pooled, after.conv.conv.weight, padding=(1, 0, 0)))
    assert after(x).shape == (1, 8, 3, 3, 3)
    with pytest.raises(ConfigError, match="downsample_position"):
        DownSample(8, 8, downsample_position="middle")


def reference_flow(neck, x, flow_type):
    """TPN's forward restated step by step from its submodules."""
    spatial = [x[0], x[1], x[2]]
    for i, op in enumerate(neck.spatial_modulation.spatial_modulation):
        if not isinstance(op, Identity):
            for conv in op:
                spatial[i] = conv(spatial[i])
    temporal = [op(s) for op, s in zip(neck.temporal_modulation_ops, spatial)]
    top = list(temporal)
    top[1] = top[1] + top[2].repeat_interleave(2, dim=2)  # nearest temporal upsampling by 2, top-down
    top[0] = top[0] + top[1].repeat_interleave(2, dim=2)
    top_down = neck.level_fusion_1(top)
    bottom = list(top) if flow_type == "cascade" else list(temporal)
    bottom[1] = bottom[1] + neck.downsample_ops[0](bottom[0])
    bottom[2] = bottom[2] + neck.downsample_ops[1](bottom[1])
    bottom_up = neck.level_fusion_2(bottom)
    return neck.pyramid_fusion(torch.cat([top_down, bottom_up], 1))


@pytest.mark.parametrize("flow_type", ["cascade", "parallel"])
def test_flows_by_hand(flow_type):
    neck = small_tpn(flow_type)
    x = pyramid()
    with torch.no_grad():
        out, aux = neck(x)
        expected = reference_flow(neck, x, flow_type)
    assert aux == {}
    assert out.shape == (2, 2048, 1, 2, 2)  # level fusion pools T = 4, 2, 1 to 1
    torch.testing.assert_close(out, expected)


def test_cascade_and_parallel_differ_and_share_weights():
    cascade, parallel = small_tpn("cascade"), small_tpn("parallel")
    parallel.load_state_dict(cascade.state_dict())
    x = pyramid()
    with torch.no_grad():
        assert not torch.allclose(cascade(x)[0], parallel(x)[0])


def test_level_fusion_and_pyramid_widths():
    neck = small_tpn()
    lf = neck.level_fusion_1
    assert [d.conv.conv.groups for d in lf.downsamples] == [32, 32, 32]
    assert [d.downsample_position for d in lf.downsamples] == ["before"] * 3
    assert lf.fusion_conv.conv.weight.shape == (64, 32 + 64 + 32, 1, 1, 1)
    assert neck.pyramid_fusion.conv.weight.shape == (2048, 128, 1, 1, 1)
    assert neck.pyramid_fusion.activate.__class__.__name__ == "ReLU"
    assert [op.conv.conv.in_channels for op in neck.temporal_modulation_ops] == [128, 128, 128]
    assert len(neck.upsample_ops) == 2 and len(neck.downsample_ops) == 2


def test_without_up_and_downsample():
    neck = small_tpn(upsample_cfg=None, downsample_cfg=None,
                     temporal_modulation_cfg=dict(downsample_scales=(4, 4, 4)),
                     level_fusion_cfg=dict(in_channels=(64, 64, 64), mid_channels=(32, 64, 32), out_channels=64,
                                           downsample_scales=((1, 1, 1),) * 3))
    assert len(neck.upsample_ops) == 0 and len(neck.downsample_ops) == 0
    x = pyramid()
    with torch.no_grad():
        spatial = neck.spatial_modulation(x)
        temporal = [op(s) for op, s in zip(neck.temporal_modulation_ops, spatial)]
        expected = neck.pyramid_fusion(torch.cat([neck.level_fusion_1(temporal), neck.level_fusion_2(temporal)], 1))
        torch.testing.assert_close(neck(x)[0], expected)


def test_aux_head_loss_by_hand():
    neck = small_tpn()
    x = pyramid()
    target = torch.tensor([1, 4])
    with torch.no_grad():
        out, aux = neck(x, target)
        feat = neck.aux_head.conv(x[-2])  # conv (1,3,3)/stride (1,2,2) + BN + ReLU on the second-to-last level
        scores = feat.mean(dim=(2, 3, 4)) @ neck.aux_head.fc.weight.T + neck.aux_head.fc.bias
    assert set(aux) == {"loss_aux"}
    torch.testing.assert_close(aux["loss_aux"], 0.5 * F.cross_entropy(scores, target))
    assert neck.aux_head.conv.conv.weight.shape == (128, 64, 1, 3, 3)
    torch.testing.assert_close(out, neck(x)[0])  # the target does not change the feature
    single = AuxHead(64, 5).eval()
    assert set(single(x[1][:1], torch.tensor(3))) == {"loss_aux"}  # 0-d target (labels.squeeze() of batch 1)
    assert single(x[1], None) == {}
    no_aux = small_tpn(aux_head_cfg=None)
    assert no_aux.aux_head is None and no_aux(x, target)[1] == {}


def test_aux_loss_reaches_the_recognizer_loss():
    """A TPN model trained with labels returns ``loss_aux`` and adds it to ``loss``."""
    from videohub.auto import CONFIG_CLASSES, TASK_CLASSES, register_all

    register_all()
    config = CONFIG_CLASSES["videohub-tpn"](
        backbone=dict(type="ResNet3dSlowOnly", depth=18, pretrained=None, base_channels=16, lateral=False,
                      out_indices=(2, 3), conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                      inflate=(0, 0, 1, 1)),
        neck=dict(type="TPN", in_channels=(64, 128), out_channels=64,
                  spatial_modulation_cfg=dict(in_channels=(64, 128), out_channels=128),
                  temporal_modulation_cfg=dict(downsample_scales=(4, 4)),
                  level_fusion_cfg=dict(in_channels=(64, 64), mid_channels=(64, 64), out_channels=128),
                  aux_head_cfg=dict(out_channels=3, loss_weight=0.5)),
        cls_head=dict(type="TPNHead", in_channels=2048, dropout_ratio=0.0),
        num_labels=3,
    )
    torch.manual_seed(0)
    model = TASK_CLASSES["videohub-tpn"](config).train()
    out = model(pixel_values=torch.randn(2, 4, 3, 16, 16), labels=torch.tensor([0, 2]))
    assert {"loss_cls", "loss_aux"} <= set(out.losses)
    torch.testing.assert_close(out.loss, out.losses["loss_cls"] + out.losses["loss_aux"])
    out.loss.backward()
    assert model.model.neck.aux_head.fc.weight.grad is not None
    model.eval()
    with torch.no_grad():
        assert "loss_aux" not in model(pixel_values=torch.randn(2, 4, 3, 16, 16), labels=torch.tensor([0, 2])).losses


def test_json_lists_build_the_same_neck():
    tuples = small_tpn()
    lists = TPN(in_channels=[32, 64, 128], out_channels=64,
                spatial_modulation_cfg=dict(in_channels=[32, 64, 128], out_channels=128),
                temporal_modulation_cfg=dict(downsample_scales=[1, 2, 4]),
                upsample_cfg=dict(scale_factor=[2, 1, 1]), downsample_cfg=dict(downsample_scale=[2, 1, 1]),
                level_fusion_cfg=dict(in_channels=[64, 64, 64], mid_channels=[32, 64, 32], out_channels=64,
                                      downsample_scales=[[4, 1, 1], [2, 1, 1], [1, 1, 1]]),
                aux_head_cfg=dict(out_channels=5, loss_weight=0.5)).eval()
    lists.load_state_dict(tuples.state_dict())
    x = pyramid()
    with torch.no_grad():
        torch.testing.assert_close(lists(x)[0], tuples(x)[0])


def test_bad_configs_and_inputs():
    with pytest.raises(ConfigError, match="flow_type"):
        small_tpn("diagonal")
    with pytest.raises(ConfigError, match="level_fusion_cfg"):
        small_tpn(level_fusion_cfg=None)
    with pytest.raises(ConfigError, match="missing"):
        small_tpn(level_fusion_cfg=dict(in_channels=(64, 64, 64), out_channels=64))
    with pytest.raises(ConfigError, match="out_channels"):
        small_tpn(out_channels=64.0)
    neck = small_tpn()
    with pytest.raises(ShapeError, match="3 features, got 2 tensors"):
        neck(pyramid()[:2])
    with pytest.raises(ShapeError, match=r"level 1 must be \[N, 64, T, H, W\]"):
        neck([pyramid()[0], torch.zeros(2, 63, 4, 4, 4), pyramid()[2]])


def test_tpn_head_paths_by_hand():
    torch.manual_seed(0)
    head = TPNHead(num_classes=4, in_channels=16, dropout_ratio=0.5).eval()
    assert head.dropout_ratio == 0.5 and head.avg_pool3d is not None
    w, b = head.fc_cls.weight, head.fc_cls.bias
    x3d = torch.randn(2, 16, 3, 4, 5)
    x2d = torch.randn(6, 16, 4, 5)
    with torch.no_grad():
        torch.testing.assert_close(head(x3d), x3d.mean(dim=(2, 3, 4)) @ w.T + b)
        seg = x2d.mean(dim=(2, 3)).view(2, 3, 16).mean(1)  # spatial average, then segment consensus
        torch.testing.assert_close(head(x2d, num_segs=3), seg @ w.T + b)
        fcn = head(x3d, fcn_test=True)
        torch.testing.assert_close(fcn, (x3d.mean(dim=(2, 3, 4)) @ w.T + b)[:, :, None, None, None])
        torch.testing.assert_close(head(x3d[:, :, :1].squeeze(2), fcn_test=True), head(x3d[:, :, :1], fcn_test=True))
    no_pool = TPNHead(num_classes=4, in_channels=16, spatial_type=None).eval()
    no_pool.load_state_dict(head.state_dict())
    with torch.no_grad():
        fmap = no_pool(x3d, fcn_test=True)
        torch.testing.assert_close(fmap, torch.einsum("ncthw,kc->nkthw", x3d, w) + b[None, :, None, None, None])
    assert fmap.shape == (2, 4, 3, 4, 5)
    assert "new_cls" not in dict(head.named_modules())  # nothing cached into the state dict
    with pytest.raises(ConfigError, match="spatial_type"):
        no_pool(x3d)
    with pytest.raises(ShapeError):
        head(torch.zeros(2, 15, 3, 4, 5))


def test_tpn_head_defaults_follow_tsn_head():
    head = HEADS.build(dict(type="TPNHead", num_classes=3, in_channels=8))
    assert head.dropout_ratio == 0.4 and head.init_std == 0.01 and head.spatial_type == "avg"
    assert head.consensus.dim == 1
    assert torch.count_nonzero(head.fc_cls.bias) == 0
    with pytest.raises(ConfigError, match="unknown argument 'fcn'"):
        HEADS.build(dict(type="TPNHead", num_classes=3, in_channels=8, fcn=True))


def test_preset_parameter_count():
    """TPN SlowOnly-R50 has mmaction2's 91,498,336 parameters (metafile.yml of configs/recognition/tpn)."""
    from videohub.auto import AutoVideoModel, register_all
    from videohub.conversion.presets import get_preset, preset_config

    register_all()
    name = "tpn_slowonly_r50_8x8x1_150e_kinetics_rgb"
    preset = get_preset(name)
    with torch.device("meta"):
        neck = NECKS.build(preset["model"]["neck"])
        head = HEADS.build(dict(preset["model"]["cls_head"]))
    neck_head = sum(p.numel() for p in neck.parameters()) + sum(p.numel() for p in head.parameters())
    # SlowOnly-R50 (inflate (0, 0, 1, 1), 3x1x1 first convs in stages 3-4): the 2D ResNet-50 trunk
    # (23,508,032) plus twice the 1x1 weights of those convs: 2 * (512*256 + 5*1024*256 + 1024*512 + 2*2048*512).
    slowonly_r50 = 23508032 + 2 * (512 * 256 + 5 * 1024 * 256 + 1024 * 512 + 2 * 2048 * 512)
    assert neck_head + slowonly_r50 == preset["metadata"]["Parameters"] == 91498336
    with torch.device("meta"):
        model = AutoVideoModel.from_config(preset_config(name))
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 91498336
    assert model.config.neck["aux_head_cfg"]["out_channels"] == model.config.num_labels == 400


def test_sub_config_keys_are_validated():
    with pytest.raises(ConfigError, match=r"TPN upsample_cfg: unknown argument 'scale'"):
        small_tpn(upsample_cfg=dict(scale=(2, 1, 1)))
    with pytest.raises(ConfigError, match=r"TPN aux_head_cfg: unknown argument 'num_classes'"):
        small_tpn(aux_head_cfg=dict(out_channels=5, num_classes=5))
    with pytest.raises(ConfigError, match=r"TPN downsample_cfg: \['in_channels'\] are set by the neck"):
        small_tpn(downsample_cfg=dict(in_channels=3))
    with pytest.raises(ConfigError, match="downsample_position"):
        small_tpn(downsample_cfg=dict(downsample_position="middle"))


def test_tpn_config_aux_classes_follow_num_labels_for_the_default_neck():
    from videohub.models.tpn import TPNConfig

    assert TPNConfig(num_labels=10).neck["aux_head_cfg"]["out_channels"] == 10
    assert TPNConfig.default_neck["aux_head_cfg"]["out_channels"] == 400  # the class default is not mutated
    given = dict(TPNConfig.default_neck, aux_head_cfg=dict(out_channels=7, loss_weight=0.5))
    assert TPNConfig(num_labels=10, neck=given).neck["aux_head_cfg"]["out_channels"] == 7

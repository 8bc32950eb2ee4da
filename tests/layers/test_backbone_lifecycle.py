"""The lifecycle every backbone inherits from ``BaseBackbone``: frozen stages, norm_eval, bn_frozen,
partial_bn, out_indices, the with_cp switch and the pretrained dispatch of init_weights()."""

import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

import videohub.layers  # noqa: F401  (fills the registries)
from videohub.errors import ConfigError
from videohub.layers.backbone_base import BaseBackbone
from videohub.layers.mobilenet_v2 import MobileNetV2
from videohub.layers.resnet import ResNet
from videohub.layers.resnet3d import ResNet3d, ResNet3dLayer
from videohub.models.audio.resnet_audio import ResNetAudio
from videohub.models.c3d.c3d import C3D
from videohub.models.csn.resnet3d_csn import ResNet3dCSN
from videohub.models.slowfast.resnet3d_slowfast import ResNet3dPathway, ResNet3dSlowFast
from videohub.models.tanet.tanet import TANet
from videohub.models.tsm.resnet_tsm import ResNetTSM
from videohub.models.tsn.resnext import ResNeXt
from videohub.models.x3d.x3d import X3D


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def under(name, prefixes):
    """Whether the module/parameter ``name`` is one of ``prefixes`` (``"layer1"``) or inside one."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


# Each case: a backbone, its input, the modules frozen by its frozen_stages (parameters without
# gradient, written out by hand) and the modules put in eval mode (the same, except ResNetAudio).
FREEZE_CASES = {
    "resnet18_stem": (lambda: ResNet(18, frozen_stages=0), (2, 3, 32, 32), ["conv1"], ["conv1"]),
    "resnet18_two_stages": (lambda: ResNet(18, frozen_stages=2), (2, 3, 32, 32),
                            ["conv1", "layer1", "layer2"], ["conv1", "layer1", "layer2"]),
    "mobilenet_v2_seven_stages": (lambda: MobileNetV2(widen_factor=0.5, frozen_stages=7), (2, 3, 32, 32),
                                  ["conv1"] + [f"layer{i}" for i in range(1, 8)],
                                  ["conv1"] + [f"layer{i}" for i in range(1, 8)]),
    "mobilenet_v2_eighth_stage_is_conv2": (lambda: MobileNetV2(widen_factor=0.5, frozen_stages=8), None,
                                           ["conv1"] + [f"layer{i}" for i in range(1, 8)] + ["conv2"],
                                           ["conv1"] + [f"layer{i}" for i in range(1, 8)] + ["conv2"]),
    "resnet3d_one_stage": (lambda: ResNet3d(18, base_channels=4, pretrained2d=False, frozen_stages=1),
                           (1, 3, 4, 32, 32), ["conv1", "layer1"], ["conv1", "layer1"]),
    "x3d_stem_is_two_convs": (lambda: X3D(gamma_b=2.25, frozen_stages=1), (1, 3, 4, 32, 32),
                              ["conv1_s", "conv1_t", "layer1"], ["conv1_s", "conv1_t", "layer1"]),
    "pathway_with_laterals": (lambda: ResNet3dPathway(18, lateral=True, base_channels=8, speed_ratio=2,
                                                      channel_ratio=2, pretrained2d=False, frozen_stages=2),
                              None, ["conv1", "layer1", "layer2", "layer1_lateral", "layer2_lateral"],
                              ["conv1", "layer1", "layer2", "layer1_lateral", "layer2_lateral"]),
    "resnet3d_layer_all_frozen": (lambda: ResNet3dLayer(18, stage=1, all_frozen=True, pretrained2d=False),
                                  None, ["layer2"], ["layer2"]),
    "resnext_stem_is_conv1_and_bn1": (lambda: ResNeXt(50, groups=4, width_per_group=2, stem_channels=8,
                                                      base_channels=8, frozen_stages=1), (2, 3, 32, 32),
                                      ["conv1", "bn1", "layer1"], ["conv1", "bn1", "layer1"]),
    # mmaction2's ResNetAudio puts only the stem's outer BN in eval mode: the BNs inside its
    # ConvAudio keep training although their parameters are frozen.
    "audio_stem_keeps_convaudio_training": (lambda: ResNetAudio(50, None, base_channels=4, frozen_stages=1),
                                            (2, 1, 32, 16), ["conv1", "layer1"], ["conv1.bn", "layer1"]),
}


@pytest.mark.parametrize("case", sorted(FREEZE_CASES))
def test_frozen_stages_freeze_exactly_the_declared_modules(case):
    build, shape, frozen, in_eval = FREEZE_CASES[case]
    torch.manual_seed(0)
    net = build()
    net.init_weights()
    net.train()
    for name, param in net.named_parameters():
        assert param.requires_grad is not under(name, frozen), name
    for name, module in net.named_modules():
        if name and not list(module.children()):  # leaves: their mode is what computes
            assert module.training is not under(name, in_eval), name
    if shape is None:
        return
    # One SGD step: frozen weights and the running statistics of eval-mode BNs do not move, the rest does.
    before = {k: v.clone() for k, v in net.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    out = net(randn(*shape))
    out.square().mean().backward()
    optimizer.step()
    after = net.state_dict()
    for key, value in before.items():
        if key.endswith("num_batches_tracked"):
            continue
        module_name = key.rsplit(".", 1)[0]
        stats = key.endswith(("running_mean", "running_var"))
        fixed = under(module_name, in_eval) if stats else under(module_name, frozen)
        if fixed:
            assert torch.equal(after[key], value), key
    moved = [k for k in before if not under(k.rsplit(".", 1)[0], frozen) and not torch.equal(after[k], before[k])]
    assert moved, "nothing outside the frozen stages was updated"


def test_frozen_stages_are_reapplied_by_every_train_call():
    net = ResNet(18, frozen_stages=1)
    net.eval()  # freezing happens in eval mode too (mmaction2 calls _freeze_stages unconditionally)
    assert not any(p.requires_grad for p in net.layer1.parameters())
    net.train()
    assert not net.layer1.training and not net.conv1.training and net.layer2.training
    for p in net.parameters():  # a user unfreezing by hand is overridden at the next train()
        p.requires_grad = True
    net.train()
    assert not any(p.requires_grad for p in net.conv1.parameters())
    assert all(p.requires_grad for p in net.layer2.parameters())


def test_norm_eval_keeps_running_stats_and_bn_frozen_stops_bn_gradients():
    torch.manual_seed(0)
    x = randn(1, 3, 8, 32, 32)
    for bn_frozen in (False, True):
        net = ResNet3dCSN(50, base_channels=8, norm_eval=True, bn_frozen=bn_frozen, pretrained2d=False)
        net.init_weights()
        net.train()
        bns = [m for m in net.modules() if isinstance(m, _BatchNorm)]
        assert bns and not any(m.training for m in bns)
        assert all(p.requires_grad is not bn_frozen for m in bns for p in m.parameters())
        convs = [m for m in net.modules() if isinstance(m, nn.Conv3d)]
        assert all(m.weight.requires_grad for m in convs)
        stats = [m.running_mean.clone() for m in bns]
        net(x)
        assert all(torch.equal(s, m.running_mean) for s, m in zip(stats, bns))
    # bn_frozen without norm_eval changes nothing (mmaction2 checks it inside the norm_eval branch).
    net = ResNet3dCSN(50, base_channels=8, norm_eval=False, bn_frozen=True, pretrained2d=False).train()
    assert all(m.training and m.weight.requires_grad for m in net.modules() if isinstance(m, _BatchNorm))


def test_partial_bn_trains_only_the_first_batchnorm2d():
    torch.manual_seed(0)
    net = ResNet(18, partial_bn=True)
    net.init_weights()
    net.train()
    bns = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns[0][0] == "conv1.bn" and len(bns) == 20  # stem + 2 per block x 8 + 3 downsamples
    assert bns[0][1].training and bns[0][1].weight.requires_grad and bns[0][1].bias.requires_grad
    for name, bn in bns[1:]:
        assert not bn.training and not bn.weight.requires_grad and not bn.bias.requires_grad, name
    assert all(p.requires_grad for n, p in net.named_parameters() if ".conv." in n)
    before = [bn.running_mean.clone() for _, bn in bns]
    net(randn(2, 3, 32, 32))
    assert not torch.equal(bns[0][1].running_mean, before[0])
    assert all(torch.equal(bn.running_mean, b) for (_, bn), b in zip(bns[1:], before[1:]))
    net.eval()
    assert not net.conv1.bn.training  # partial_bn only acts while training


def test_partial_bn_leaves_3d_norms_of_non_local_blocks_alone():
    net = ResNetTSM(50, num_segments=2, partial_bn=True, non_local=((0, 0, 0), (0, 1, 0, 0), 0, 0),
                    non_local_cfg=dict(norm_cfg=dict(type="BN3d", requires_grad=True)))
    net.train()
    bn3d = [m for m in net.modules() if isinstance(m, nn.BatchNorm3d)]
    assert len(bn3d) == 1 and bn3d[0].training and bn3d[0].weight.requires_grad


def _resnet18_stages(net, x):
    feats = []
    x = net.maxpool(net.conv1(x))
    for name in ("layer1", "layer2", "layer3", "layer4"):
        x = getattr(net, name)(x)
        feats.append(x)
    return feats


def test_out_indices_select_the_stage_outputs_in_stage_order():
    torch.manual_seed(0)
    net = ResNet(18, out_indices=(2, 0)).eval()
    net.init_weights()
    x = randn(2, 3, 32, 32)
    with torch.no_grad():
        feats = _resnet18_stages(net, x)
        outs = net(x)
    assert isinstance(outs, tuple) and len(outs) == 2
    assert torch.equal(outs[0], feats[0]) and outs[0].shape == (2, 64, 8, 8)
    assert torch.equal(outs[1], feats[2]) and outs[1].shape == (2, 256, 2, 2)
    net.out_indices = (1,)
    with torch.no_grad():
        single = net(x)
    assert torch.is_tensor(single) and torch.equal(single, feats[1])


def test_out_indices_of_resnet3d_see_the_pool2_after_layer1():
    torch.manual_seed(0)
    net = ResNet3d(18, base_channels=4, pretrained2d=False, out_indices=(0, 3)).eval()
    net.init_weights()
    x = randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        out0, out3 = net(x)
        y = net.pool2(net.layer1(net.maxpool(net.conv1(x))))
        expected3 = net.layer4(net.layer3(net.layer2(y)))
    assert out0.shape == (1, 4, 4, 8, 8)  # time halved by pool2
    assert torch.equal(out0, y) and torch.equal(out3, expected3)


def test_mobilenet_v2_output_eight_is_conv2():
    torch.manual_seed(0)
    net = MobileNetV2(widen_factor=0.5, out_indices=(0, 7)).eval()
    net.init_weights()
    x = randn(1, 3, 32, 32)
    with torch.no_grad():
        first, last = net(x)
        y = net.layer1(net.conv1(x))
        expected = y
        for i in range(2, 8):
            expected = getattr(net, f"layer{i}")(expected)
        expected = net.conv2(expected)
    assert torch.equal(first, y) and torch.equal(last, expected) and last.shape == (1, 1280, 1, 1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(frozen_stages=5), r"frozen_stages must be an int in -1\.\.4"),
    (dict(frozen_stages=-2), "frozen_stages"),
    (dict(out_indices=(4,)), r"out_indices \(4,\) must be non-empty, each in 0\.\.3"),
    (dict(out_indices=()), "out_indices"),
    (dict(out_indices=(-1,)), "out_indices"),
])
def test_bad_stage_settings_are_rejected_at_construction(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ResNet(18, **kwargs)


def test_stage_settings_follow_num_stages():
    with pytest.raises(ConfigError, match=r"in -1\.\.2 \(num_stages=2\)"):
        X3D(num_stages=2, spatial_strides=(2, 2), frozen_stages=3)
    assert ResNet(18, num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(1,), frozen_stages=2)


def _grads(net, x):
    net.zero_grad()
    out = net(x.clone().requires_grad_(True))
    sum(o.square().sum() for o in (out if isinstance(out, tuple) else (out,))).backward()
    return {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("build, shape, block", [
    (lambda: ResNet(18, out_indices=(1, 3)), (2, 3, 32, 32), "layer2.1.conv1"),
    (lambda: ResNet3d(18, base_channels=4, pretrained2d=False), (1, 3, 4, 32, 32), "layer3.0.conv1"),
    (lambda: X3D(gamma_b=2.25, num_stages=2, spatial_strides=(2, 2)), (1, 3, 4, 32, 32), "layer2.0.conv1"),
    (lambda: MobileNetV2(widen_factor=0.5, out_indices=(3,)), (1, 3, 32, 32), "layer3.1.conv.0"),
    (lambda: TANet(50, num_segments=3, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,)),
     (3, 3, 32, 32), "layer1.1.block.conv1"),
])
def test_with_cp_switch_checkpoints_every_block_with_the_same_gradients(build, shape, block):
    torch.manual_seed(0)
    net = build()
    net.init_weights()
    net.eval()  # same function in both passes (no BN statistics update)
    x = randn(*shape)
    calls = []
    net.get_submodule(block).register_forward_hook(lambda *args: calls.append(1))
    plain = _grads(net, x)
    assert len(calls) == 1 and not net.with_cp
    net.with_cp = True  # the switch reaches every block
    blocks = [m for m in net.modules() if m is not net and hasattr(m, "with_cp")]
    assert blocks and all(m.with_cp for m in blocks)
    calls.clear()
    checkpointed = _grads(net, x)
    assert len(calls) == 2  # the block ran again during backward: it was checkpointed
    assert checkpointed.keys() == plain.keys()
    for name, grad in plain.items():
        torch.testing.assert_close(checkpointed[name], grad, rtol=1e-5, atol=1e-7, msg=name)
    net.with_cp = False
    assert not any(m.with_cp for m in blocks)


def test_backbones_without_checkpointable_blocks_have_no_with_cp():
    c3d = C3D(out_dim=512)
    assert not hasattr(c3d, "with_cp")
    with pytest.raises(AttributeError, match="no checkpointable blocks"):
        c3d.with_cp = True
    slowfast = ResNet3dSlowFast(
        slow_pathway=dict(type="resnet3d", depth=18, base_channels=8, lateral=True, inflate=(0, 0, 1, 1)),
        fast_pathway=dict(type="resnet3d", depth=18, base_channels=1, lateral=False))
    assert not hasattr(slowfast, "with_cp")  # its pathways carry the switch
    assert hasattr(slowfast.slow_path, "with_cp") and hasattr(slowfast.fast_path, "with_cp")


def test_init_weights_dispatches_on_pretrained(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    source = X3D(gamma_b=2.25, num_stages=1, spatial_strides=(2,))
    source.init_weights()
    assert torch.equal(source.layer1[0].conv3.bn.weight, torch.zeros_like(source.layer1[0].conv3.bn.weight))
    with torch.no_grad():
        for p in source.parameters():
            p.add_(1.0)
    path = str(tmp_path / "x3d.safetensors")
    save_file({f"backbone.{k}": v.contiguous() for k, v in source.state_dict().items()}, path)
    target = X3D(gamma_b=2.25, num_stages=1, spatial_strides=(2,))
    target.init_weights(path)  # the argument sets ``pretrained``, as mmaction2's ResNet3d
    assert target.pretrained == path
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    with pytest.raises(ConfigError, match="X3D: pretrained must be a str"):
        X3D(pretrained=3).init_weights()


def test_init_from_scratch_is_required_of_a_new_backbone():
    class NoInit(BaseBackbone):
        pass

    with pytest.raises(NotImplementedError, match="NoInit does not define init_from_scratch"):
        NoInit().init_weights()

"""ResNet3dSlowFast, ResNet3dPathway and SlowFastHead."""

import pytest
import torch
from safetensors.torch import save_file

from videohub.errors import CheckpointError, ConfigError, ShapeError
from videohub.layers.resnet3d import BasicBlock3d
from videohub.models.slowfast.resnet3d_slowfast import ResNet3dPathway, ResNet3dSlowFast, build_pathway
from videohub.models.slowfast.slowfast_head import SlowFastHead


def _slowfast(tau=4, alpha=4, beta_inv=4, slow=None, fast=None):
    slow_cfg = dict(type="resnet3d", depth=18, base_channels=8, pretrained2d=False, lateral=True,
                    conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1))
    fast_cfg = dict(type="resnet3d", depth=18, base_channels=8 // beta_inv, pretrained2d=False, lateral=False,
                    conv1_kernel=(5, 7, 7), conv1_stride_t=1, pool1_stride_t=1)
    slow_cfg.update(slow or {})
    fast_cfg.update(fast or {})
    return ResNet3dSlowFast(resample_rate=tau, speed_ratio=alpha, channel_ratio=beta_inv,
                            slow_pathway=slow_cfg, fast_pathway=fast_cfg)


@pytest.mark.parametrize("tau, alpha, t, h, w", [(4, 4, 8, 32, 32), (8, 8, 16, 24, 40), (4, 2, 12, 17, 17)])
def test_shapes(tau, alpha, t, h, w):
    net = _slowfast(tau, alpha).eval()
    with torch.no_grad():
        slow, fast = net(torch.randn(1, 3, t, h, w))
    size = (h + 31) // 32, (w + 31) // 32
    assert slow.shape == (1, 64, t // tau) + size
    assert fast.shape == (1, 16, t // (tau // alpha)) + size


def test_pathways_see_every_tau_th_and_every_tau_over_alpha_th_frame():
    net = _slowfast(tau=4, alpha=2).eval()
    seen = {}
    net.slow_path.conv1.register_forward_hook(lambda m, i, o: seen.__setitem__("slow", i[0]))
    net.fast_path.conv1.register_forward_hook(lambda m, i, o: seen.__setitem__("fast", i[0]))
    x = torch.randn(1, 3, 12, 32, 32)
    with torch.no_grad():
        net(x)
    assert torch.equal(seen["slow"], x[:, :, [0, 4, 8]])
    assert torch.equal(seen["fast"], x[:, :, [0, 2, 4, 6, 8, 10]])


def test_lateral_connections():
    net = _slowfast(tau=8, alpha=8, beta_inv=8, slow=dict(fusion_kernel=7), fast=dict(base_channels=1))
    slow = net.slow_path
    assert slow.lateral_connections == ["layer1_lateral", "layer2_lateral", "layer3_lateral"]
    assert not hasattr(slow, "layer4_lateral")
    c = slow.conv1_lateral.conv
    assert (c.in_channels, c.out_channels) == (1, 2)
    assert tuple(c.kernel_size) == (7, 1, 1) and tuple(c.stride) == (8, 1, 1) and tuple(c.padding) == (3, 0, 0)
    assert slow.conv1_lateral.norm is None and not slow.conv1_lateral.with_activation
    assert (slow.layer2_lateral.conv.in_channels, slow.layer2_lateral.conv.out_channels) == (16 // 8, 32 // 8)
    # each stage's first block takes the slow channels plus the lateral ones
    assert slow.layer1[0].conv1.conv.in_channels == 8 + 2
    assert slow.layer2[0].conv1.conv.in_channels == 8 + 2 and slow.layer2[0].downsample.conv.in_channels == 10
    assert slow.layer4[0].conv1.conv.in_channels == 32 + 8
    assert slow.layer1[0].downsample is not None  # 10 inputs != 8 outputs
    keys = set(net.state_dict())
    assert {"slow_path.conv1_lateral.conv.weight", "slow_path.layer3_lateral.conv.weight",
            "fast_path.layer4.1.conv2.bn.running_var"} <= keys
    normed = _slowfast(slow=dict(lateral_norm=True))
    assert normed.slow_path.conv1_lateral.norm is not None and normed.slow_path.layer1_lateral.with_activation


def test_frozen_stages_freeze_the_stage_laterals_but_not_conv1_lateral():
    net = _slowfast(slow=dict(frozen_stages=1))
    net.train()
    slow = net.slow_path
    assert not any(p.requires_grad for p in slow.layer1_lateral.parameters()) and not slow.layer1_lateral.training
    assert all(p.requires_grad for p in slow.conv1_lateral.parameters())
    assert all(p.requires_grad for p in slow.layer2_lateral.parameters())
    assert not any(p.requires_grad for p in slow.layer1.parameters())
    assert all(p.requires_grad for p in net.fast_path.parameters())


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    net = _slowfast(slow=dict(inflate=(0, 0, 0, 1)), fast=dict(inflate=((1, 0), (0, 0), (0, 0), (0, 1))))
    net.init_weights()
    net.eval()
    x = torch.randn(1, 3, 8, 16, 16)
    sum(f.square().sum() for f in net(x)).backward()
    plain = {n: p.grad.clone() for n, p in net.named_parameters()}
    net.zero_grad()
    for m in net.modules():
        if isinstance(m, BasicBlock3d):
            m.with_cp = True
    sum(f.square().sum() for f in net(x.requires_grad_(True))).backward()
    for n, p in net.named_parameters():
        torch.testing.assert_close(p.grad, plain[n], rtol=1e-5, atol=1e-7, msg=n)


def test_init_weights_loads_a_whole_slowfast_strictly(tmp_path):
    torch.manual_seed(1)
    source = _slowfast()
    path = str(tmp_path / "sf.safetensors")
    save_file({f"backbone.{k}": v.contiguous() for k, v in source.state_dict().items()}, path)
    target = _slowfast()
    target.init_weights(pretrained=path)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    partial = {k: v.contiguous() for k, v in source.state_dict().items() if "lateral" not in k}
    save_file(partial, str(tmp_path / "partial.safetensors"))
    with pytest.raises(CheckpointError, match="conv1_lateral"):
        _slowfast().init_weights(pretrained=str(tmp_path / "partial.safetensors"))


def test_init_from_scratch_zero_inits_residuals():
    net = _slowfast()
    net.init_weights()
    assert torch.all(net.slow_path.layer1[0].conv2.bn.weight == 0)
    assert torch.all(net.fast_path.layer4[1].conv2.bn.weight == 0)


def test_pathway_configs_are_checked():
    with pytest.raises(ConfigError, match="unknown pathway type 'resnet2d'"):
        build_pathway(dict(type="resnet2d", depth=18))
    with pytest.raises(ConfigError, match="unknown argument 'lateral_kernel'"):
        build_pathway(dict(type="resnet3d", depth=18, lateral_kernel=5))
    assert isinstance(build_pathway(dict(type="resnet3d", depth=18, base_channels=2)), ResNet3dPathway)
    with pytest.raises(ConfigError, match="resample_rate"):
        _slowfast(tau=2, alpha=4)
    with pytest.raises(ShapeError, match=r"\(1, 3, 32, 32\)"):
        _slowfast()(torch.zeros(1, 3, 32, 32))


def test_head_concatenates_fast_then_slow():
    torch.manual_seed(0)
    head = SlowFastHead(num_classes=3, in_channels=6, dropout_ratio=0.5).eval()
    slow, fast = torch.randn(2, 4, 2, 3, 3), torch.randn(2, 2, 8, 3, 3)
    pooled = torch.cat((fast.mean(dim=(2, 3, 4)), slow.mean(dim=(2, 3, 4))), dim=1)
    torch.testing.assert_close(head((slow, fast)), pooled @ head.fc_cls.weight.t() + head.fc_cls.bias)
    assert SlowFastHead(num_classes=3, in_channels=6).dropout_ratio == 0.8
    with pytest.raises(ConfigError, match="spatial_type"):
        SlowFastHead(num_classes=3, in_channels=6, spatial_type="max")
    with pytest.raises(ShapeError, match="in_channels=6"):
        head((slow, slow))
    with pytest.raises(ShapeError, match="tuple"):
        head(slow)

"""ResNet3dCSN: ip/ir channel-separated bottlenecks, its defaults, bn_frozen."""

import pytest
import torch

from videohub.errors import ConfigError
from videohub.models.csn.resnet3d_csn import CSNBottleneck3d, ResNet3dCSN


def _params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("mode", ["ir", "ip"])
def test_bottleneck_structure_and_parameter_count(mode):
    net = ResNet3dCSN(depth=50, base_channels=4, bottleneck_mode=mode)
    block = net.layer2[1]  # 64 -> 16 -> 16 -> 64, no downsample
    assert isinstance(block, CSNBottleneck3d) and block.downsample is None
    depthwise = block.conv2[-1]
    assert depthwise.conv.groups == 8 and tuple(depthwise.conv.weight.shape) == (8, 1, 3, 3, 3)
    assert tuple(depthwise.conv.stride) == (1, 1, 1) and depthwise.with_activation
    # conv1 1x1x1 (32*8) + BN, [ip: 1x1x1 (8*8) + BN], depthwise 3x3x3 (8*27) + BN, conv3 1x1x1 (8*32) + BN
    expected = 32 * 8 + 2 * 8 + 8 * 27 + 2 * 8 + 8 * 32 + 2 * 32
    if mode == "ip":
        assert len(block.conv2) == 2 and tuple(block.conv2[0].conv.kernel_size) == (1, 1, 1)
        assert not block.conv2[0].with_activation
        expected += 8 * 8 + 2 * 8
    else:
        assert len(block.conv2) == 1
    assert _params(block) == expected
    keys = set(net.state_dict())
    assert f"layer2.1.conv2.{len(block.conv2) - 1}.conv.weight" in keys and "layer2.1.conv2.conv.weight" not in keys


def test_defaults():
    net = ResNet3dCSN(depth=50, base_channels=4)
    assert net.bottleneck_mode == "ir" and not net.bn_frozen
    assert all(m.eps == 1e-3 for m in net.modules() if isinstance(m, torch.nn.BatchNorm3d))
    assert tuple(net.conv1.conv.kernel_size) == (3, 7, 7) and net.conv1.conv.stride[0] == 1
    # inflate_style 3x3x3: the temporal kernel is on the depthwise conv2
    assert tuple(net.layer3[0].conv2[-1].conv.kernel_size) == (3, 3, 3)
    assert tuple(net.layer3[0].conv1.conv.kernel_size) == (1, 1, 1)
    # temporal strides (1, 2, 2, 2) on the strided (pytorch-style: conv2) conv
    assert tuple(net.layer3[0].conv2[-1].conv.stride) == (2, 2, 2)
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 16, 32, 32))
    assert out.shape == (1, 128, 1, 1, 1)  # 16 frames: pool2 -> 8, then /2 three times


@pytest.mark.parametrize("depth", [101, 152])
def test_deep_stage_blocks(depth):
    net = ResNet3dCSN(depth=depth, base_channels=2)
    assert len(net.layer3) == {101: 23, 152: 36}[depth] and len(net.layer2) == {101: 4, 152: 8}[depth]


def test_bad_arguments():
    with pytest.raises(ConfigError, match="depth 18"):
        ResNet3dCSN(depth=18)
    with pytest.raises(ConfigError, match="bottleneck_mode"):
        ResNet3dCSN(depth=50, bottleneck_mode="dw")


def test_bn_frozen_with_norm_eval():
    net = ResNet3dCSN(depth=50, base_channels=4, norm_eval=True, bn_frozen=True)
    net.train()
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert all(not m.training for m in bns)
    assert not any(p.requires_grad for m in bns for p in m.parameters())
    assert all(p.requires_grad for n, p in net.named_parameters() if n.endswith("conv.weight"))
    only_frozen = ResNet3dCSN(depth=50, base_channels=4, bn_frozen=True)
    only_frozen.train()  # bn_frozen acts only together with norm_eval (mmaction2)
    assert all(m.training and m.weight.requires_grad for m in only_frozen.modules()
               if isinstance(m, torch.nn.BatchNorm3d))

"""Conv2plus1d (mid-channel formula, forward) and ResNet2Plus1d."""

import pytest
import torch
import torch.nn.functional as F

from videohub.errors import ConfigError
from videohub.models.r2plus1d.resnet2plus1d import ResNet2Plus1d
from videohub.layers.conv import ConvModule
from videohub.layers.conv2plus1d import Conv2plus1d, conv2plus1d_mid_channels


@pytest.mark.parametrize("cin, cout, kernel, mid", [
    (64, 64, (3, 3, 3), 144),  # 3*64*64*9 / (64*9 + 3*64) = 110592 / 768
    (3, 64, (3, 7, 7), 83),  # 3*3*64*49 / (3*49 + 192) = 28224 / 339 = 83.26
    (64, 128, 1, 54),  # 3*64*128 / (64 + 3*128) = 24576 / 448 = 54.86
    (128, 128, (1, 3, 3), 288),  # the factor stays 3 whatever kt is: 3*128*128*9 / (128*9 + 384) = 288
])
def test_mid_channels(cin, cout, kernel, mid):
    assert conv2plus1d_mid_channels(cin, cout, kernel) == mid
    conv = Conv2plus1d(cin, cout, kernel, bias=False)
    assert conv.conv_s.out_channels == mid and conv.conv_t.in_channels == mid and conv.bn_s.num_features == mid


def test_forward_is_spatial_bn_relu_temporal():
    torch.manual_seed(0)
    conv = Conv2plus1d(4, 6, (3, 3, 3), stride=(2, 1, 2), padding=(1, 1, 1), bias=True).eval()
    with torch.no_grad():
        conv.bn_s.running_mean.uniform_(-0.5, 0.5)
        conv.bn_s.running_var.uniform_(0.5, 1.5)
        conv.conv_s.bias.uniform_(-0.1, 0.1)
    x = torch.randn(2, 4, 5, 7, 9)
    y = F.conv3d(x, conv.conv_s.weight, conv.conv_s.bias, stride=(1, 1, 2), padding=(0, 1, 1))
    bn = conv.bn_s
    y = (y - bn.running_mean.view(1, -1, 1, 1, 1)) / torch.sqrt(bn.running_var.view(1, -1, 1, 1, 1) + bn.eps)
    y = y * bn.weight.view(1, -1, 1, 1, 1) + bn.bias.view(1, -1, 1, 1, 1)
    y = F.conv3d(y.clamp(min=0), conv.conv_t.weight, conv.conv_t.bias, stride=(2, 1, 1), padding=(1, 0, 0))
    torch.testing.assert_close(conv(x), y, rtol=1e-5, atol=1e-6)
    assert tuple(conv.conv_s.kernel_size) == (1, 3, 3) and tuple(conv.conv_t.kernel_size) == (3, 1, 1)


def test_conv_module_builds_it():
    module = ConvModule(4, 8, 3, padding=1, conv_cfg=dict(type="Conv2plus1d"), norm_cfg=dict(type="BN3d"))
    assert isinstance(module.conv, Conv2plus1d) and module.conv.conv_s.bias is None
    assert set(module.state_dict()) >= {"conv.conv_s.weight", "conv.bn_s.running_mean", "conv.conv_t.weight",
                                        "bn.weight"}


@pytest.mark.parametrize("t, h, w", [(8, 32, 32), (4, 24, 16), (9, 17, 20)])
def test_shapes_with_temporal_strides(t, h, w):
    net = ResNet2Plus1d(depth=18, base_channels=4, temporal_strides=(1, 2, 2, 2)).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, t, h, w))

    def down(n, k, s, p):
        return (n + 2 * p - k) // s + 1

    tt = t
    for _ in range(3):
        tt = down(tt, 1, 2, 0)  # stride-2 1x1x1 downsample of each stage = the block's length
    size = [down(down(n, 7, 2, 3), 3, 2, 1) for n in (h, w)]
    for _ in range(3):
        size = [down(n, 1, 2, 0) for n in size]
    assert out.shape == (1, 32, tt, size[0], size[1])  # no pool2 even though with_pool2=True


def test_arguments():
    net = ResNet2Plus1d(depth=34)
    assert isinstance(net.layer1[0].conv1.conv, Conv2plus1d) and isinstance(net.conv1.conv, Conv2plus1d)
    assert len(net.layer3) == 6
    with pytest.raises(ConfigError, match="pretrained2d must be False"):
        ResNet2Plus1d(depth=18, pretrained2d=True)
    with pytest.raises(ConfigError, match="Conv2plus1d"):
        ResNet2Plus1d(depth=18, conv_cfg=dict(type="Conv3d"))


def test_frozen_stages():
    net = ResNet2Plus1d(depth=18, base_channels=4, frozen_stages=1)
    net.train()
    assert not net.conv1.training and not net.layer1.training and net.layer2.training
    assert not any(p.requires_grad for p in net.layer1.parameters())
    assert all(p.requires_grad for p in net.layer2.parameters())

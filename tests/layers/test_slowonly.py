"""ResNet3dSlowOnly: its own defaults, and that it is ResNet3d with those settings."""

import inspect

import pytest
import torch

from videohub.errors import ConfigError
from videohub.layers.resnet3d import ResNet3d
from videohub.models.slowonly.resnet3d_slowonly import ResNet3dSlowOnly
from videohub.registry import BACKBONES


def test_defaults_are_slowonlys():
    params = inspect.signature(ResNet3dSlowOnly).parameters
    defaults = {k: params[k].default for k in ("lateral", "conv1_kernel", "conv1_stride_t", "pool1_stride_t",
                                               "inflate", "with_pool2")}
    assert defaults == dict(lateral=False, conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                            inflate=(0, 0, 1, 1), with_pool2=False)
    net = ResNet3dSlowOnly(depth=50, base_channels=4)
    assert tuple(net.conv1.conv.kernel_size) == (1, 7, 7)
    kernels = [getattr(net, f"layer{i}")[0].conv1.conv.kernel_size[0] for i in range(1, 5)]
    assert kernels == [1, 1, 3, 3]
    assert not hasattr(net, "conv1_lateral") and net.lateral_connections == []


def test_same_network_as_resnet3d_with_the_same_settings():
    torch.manual_seed(0)
    slow = ResNet3dSlowOnly(depth=18, base_channels=4).eval()
    plain = ResNet3d(depth=18, base_channels=4, conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                     inflate=(0, 0, 1, 1), with_pool2=False).eval()
    assert plain.load_state_dict(slow.state_dict(), strict=True)
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(slow(x), plain(x), rtol=0, atol=0)


@pytest.mark.parametrize("t, h, w", [(4, 32, 32), (8, 24, 40), (3, 17, 17)])
def test_shapes(t, h, w):
    net = ResNet3dSlowOnly(depth=18, base_channels=4, spatial_strides=(1, 2, 2, 1)).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, t, h, w))

    def down(n, k, s, p):
        return (n + 2 * p - k) // s + 1

    size = [down(down(n, 7, 2, 3), 3, 2, 1) for n in (h, w)]
    for _ in range(2):
        size = [down(n, 1, 2, 0) for n in size]
    assert out.shape == (2, 32, t, size[0], size[1])  # no temporal downsampling at all


def test_lateral_is_rejected_and_arguments_are_checked():
    with pytest.raises(ConfigError, match="lateral must be False"):
        ResNet3dSlowOnly(depth=18, lateral=True)
    with pytest.raises(ConfigError, match="unknown argument 'spatial_stride'"):
        BACKBONES.build(dict(type="ResNet3dSlowOnly", depth=18, spatial_stride=2))


def test_frozen_stages_and_norm_eval():
    net = ResNet3dSlowOnly(depth=18, base_channels=4, frozen_stages=1, norm_eval=True)
    net.train()
    assert not any(p.requires_grad for n, p in net.named_parameters() if n.startswith(("conv1.", "layer1.")))
    assert all(p.requires_grad for n, p in net.named_parameters() if n.startswith("layer2."))
    assert all(not m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm3d))

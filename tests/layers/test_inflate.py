"""Inflating a videohub 2D ResNet into ResNet3d / SlowFast pathways (``pretrained2d=True``).

The 2D weights are repeated along time and divided by the temporal kernel size, so on a clip whose
frames are all the same image, every frame of the 3D feature that the zero temporal padding does not
reach equals the 2D feature of that image.
"""

import pytest
import torch
from safetensors.torch import save_file

from videohub.layers.resnet import ResNet
from videohub.layers.resnet3d import ResNet3d, inflate_2d_state_dict
from videohub.models.slowfast.resnet3d_slowfast import ResNet3dSlowFast


def _randomize(module, seed):
    """Random weights and BN statistics, so that every copied tensor matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            elif name.endswith(("bn.weight",)):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * (0.1 if tensor.dim() == 1 else 0.05))
    return module.eval()


def _resnet2d(depth, seed=0):
    return _randomize(ResNet(depth=depth, pretrained=None), seed)


def _torchvision_layout(state_dict):
    """Rename ConvModule keys to torchvision's (``conv1.conv.weight`` -> ``conv1.weight``, ``conv1.bn`` -> ``bn1``)."""
    out = {}
    for key, value in state_dict.items():
        parts = key.split(".")
        if "downsample" in parts:
            i = parts.index("downsample")
            parts[i + 1] = {"conv": "0", "bn": "1"}[parts[i + 1]]
        elif parts[-2] == "conv":
            del parts[-2]
        elif parts[-2] == "bn":
            parts[-3] = parts[-3].replace("conv", "bn")
            del parts[-2]
        out[".".join(parts)] = value
    return out


def test_torchvision_layout_helper_matches_torchvision_names():
    keys = set(_torchvision_layout(_resnet2d(18).state_dict()))
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv2.weight", "layer1.0.bn2.bias",
            "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var"} <= keys


def test_inflated_kernels_are_the_2d_kernel_over_kt():
    net2d = _resnet2d(50)
    net3d = ResNet3d(depth=50, pretrained=None, conv1_kernel=(5, 7, 7), inflate_style="3x1x1",
                     inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)))
    used = inflate_2d_state_dict(net3d, net2d.state_dict())
    sd2d = net2d.state_dict()
    w3d = net3d.conv1.conv.weight
    assert w3d.shape[2] == 5
    for t in range(5):
        assert torch.equal(w3d[:, :, t], sd2d["conv1.conv.weight"] / 5)
    assert torch.equal(net3d.layer2[0].downsample.conv.weight[:, :, 0], sd2d["layer2.0.downsample.conv.weight"])
    w = net3d.layer3[0].conv1.conv.weight  # inflated 3x1x1 block: the temporal kernel is on conv1
    assert w.shape[2] == 3 and all(torch.equal(w[:, :, t], sd2d["layer3.0.conv1.conv.weight"] / 3) for t in range(3))
    assert torch.equal(net3d.layer3[1].conv1.conv.weight[:, :, 0], sd2d["layer3.1.conv1.conv.weight"])
    assert torch.equal(net3d.layer3[0].conv2.conv.weight[:, :, 0], sd2d["layer3.0.conv2.conv.weight"])
    for key in ("conv1.bn.running_mean", "conv1.bn.running_var", "layer4.2.conv3.bn.weight",
                "layer1.0.downsample.bn.num_batches_tracked"):
        assert torch.equal(net3d.state_dict()[key], sd2d[key])
    assert set(used) == set(sd2d)  # every 2D tensor found its place


@pytest.mark.parametrize("depth, inflate, style, t, center", [
    # temporal reach of the zero padding: conv1 (5,7,7) -> 2 frames, each inflated conv -> 1 frame
    (18, ((1, 0), (0, 1), (0, 0), (0, 0)), "3x1x1", 13, 6),
    (50, ((1, 0, 0), (0, 0, 0, 0), (0,) * 6, (0, 0, 1)), "3x3x3", 9, 4),
])
def test_constant_clip_gives_the_2d_features(depth, inflate, style, t, center):
    net2d = _resnet2d(depth)
    net3d = ResNet3d(depth=depth, pretrained=None, conv1_kernel=(5, 7, 7), with_pool2=False,
                     inflate=inflate, inflate_style=style).eval()
    inflate_2d_state_dict(net3d, net2d.state_dict())
    image = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    clip = image.unsqueeze(2).expand(1, 3, t, 16, 16).contiguous()
    with torch.no_grad():
        feat2d = net2d(image)
        feat3d = net3d(clip)
    assert feat3d.shape[2] == t
    tol = 1e-4 * feat2d.abs().max().item()
    assert (feat3d[:, :, center] - feat2d).abs().max().item() <= tol
    # the first frame sees the zero padding, so it differs: the check above is not vacuous
    assert (feat3d[:, :, 0] - feat2d).abs().max().item() > 100 * tol


def test_torchvision_and_convmodule_layouts_give_the_same_network():
    net2d = _resnet2d(18)
    a = ResNet3d(depth=18, pretrained=None)
    b = ResNet3d(depth=18, pretrained=None)
    inflate_2d_state_dict(a, net2d.state_dict())
    used = inflate_2d_state_dict(b, _torchvision_layout(net2d.state_dict()))
    assert "bn1.weight" in used and "layer2.0.downsample.1.running_mean" in used
    for key, value in a.state_dict().items():
        assert torch.equal(b.state_dict()[key], value), key


@pytest.mark.parametrize("suffix", ["pth"])  # .safetensors: see the SlowFast pathway test
def test_init_weights_inflates_a_local_checkpoint(tmp_path, suffix):
    net2d = _resnet2d(18)
    state = {f"backbone.{k}": v for k, v in net2d.state_dict().items()}
    state["cls_head.fc_cls.weight"] = torch.zeros(5, 512)
    path = str(tmp_path / f"tsn.{suffix}")
    if suffix == "safetensors":
        save_file(state, path)
    else:
        torch.save({"state_dict": state}, path)
    net3d = ResNet3d(depth=18, pretrained=path, pretrained2d=True)
    net3d.init_weights()
    expected = ResNet3d(depth=18, pretrained=None)
    inflate_2d_state_dict(expected, net2d.state_dict())
    for key, value in expected.state_dict().items():
        assert torch.equal(net3d.state_dict()[key], value), key


def test_mismatched_shapes_are_skipped():
    net2d = _resnet2d(18)
    net3d = ResNet3d(depth=18, pretrained=None, in_channels=2)  # conv1 takes 2 channels, not 3
    before = net3d.conv1.conv.weight.clone()
    used = inflate_2d_state_dict(net3d, net2d.state_dict())
    assert torch.equal(net3d.conv1.conv.weight, before)
    assert "conv1.conv.weight" not in used and "conv1.bn.weight" in used and "layer1.0.conv1.conv.weight" in used


def test_slowfast_pathway_inflation_pads_lateral_inputs_with_zeros(tmp_path):
    net2d = _resnet2d(50)
    path = str(tmp_path / "r50.safetensors")
    save_file(net2d.state_dict(), path)
    slow = dict(type="resnet3d", depth=50, pretrained=path, lateral=True, conv1_kernel=(1, 7, 7),
                conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 0, 0))
    fast = dict(type="resnet3d", depth=50, pretrained=None, pretrained2d=False, lateral=False, base_channels=8,
                conv1_kernel=(5, 7, 7), conv1_stride_t=1, pool1_stride_t=1)
    net = ResNet3dSlowFast(resample_rate=4, speed_ratio=4, slow_pathway=slow, fast_pathway=fast)
    lateral_before = net.slow_path.layer1_lateral.conv.weight.clone()
    net.init_weights()
    net.eval()
    sd2d = net2d.state_dict()
    w = net.slow_path.layer2[0].conv1.conv.weight  # 256 + 64 lateral inputs
    assert w.shape[1] == 320
    assert torch.equal(w[:, :256, 0], sd2d["layer2.0.conv1.conv.weight"]) and torch.all(w[:, 256:] == 0)
    d = net.slow_path.layer1[0].downsample.conv.weight  # 64 + 16 lateral inputs
    assert torch.equal(d[:, :64, 0], sd2d["layer1.0.downsample.conv.weight"]) and torch.all(d[:, 64:] == 0)
    # lateral convs are not inflated; init_weights gives them a fresh Kaiming init
    assert not torch.equal(net.slow_path.layer1_lateral.conv.weight, lateral_before)
    # no temporal kernel in the slow pathway and zero weights on the lateral inputs:
    # each slow frame's feature is the 2D feature of that input frame, whatever the fast pathway does
    clip = torch.randn(1, 3, 8, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        slow_feat, fast_feat = net(clip)
        for i, frame in enumerate((0, 4)):
            feat2d = net2d(clip[:, :, frame])
            tol = 1e-4 * feat2d.abs().max().item()
            assert (slow_feat[:, :, i] - feat2d).abs().max().item() <= tol
    assert fast_feat.shape[2] == 8

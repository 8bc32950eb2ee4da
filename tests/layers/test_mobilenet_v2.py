"""MobileNetV2 and MobileNetV2TSM backbones."""

import os

import pytest
import torch
from safetensors.torch import save_file
from torch.nn.modules.batchnorm import _BatchNorm

from videohub.errors import ConfigError
from videohub.layers.mobilenet_v2 import InvertedResidual, MobileNetV2, make_divisible
from videohub.models.tsm.mobilenet_v2_tsm import MobileNetV2TSM
from videohub.layers.temporal_shift import TemporalShift, temporal_shift


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_make_divisible_hand_worked():
    assert make_divisible(32 * 0.5, 8) == 16
    assert make_divisible(24 * 0.5, 8) == 16  # int(12 + 4) // 8 * 8 = 16
    assert make_divisible(16 * 0.5, 8) == 8
    assert make_divisible(10, 8) == 16  # rounds to 8 < 0.9 * 10, so one step up
    assert make_divisible(3, 8) == 8  # min_value defaults to the divisor
    assert make_divisible(96 * 0.75, 8) == 72


@pytest.mark.parametrize("widen_factor,channels", [
    (1.0, [16, 24, 32, 64, 96, 160, 320, 1280]),
    (0.5, [8, 16, 16, 32, 48, 80, 160, 1280]),
    (1.5, [24, 40, 48, 96, 144, 240, 480, 1920]),
])
def test_mobilenet_v2_stage_shapes(widen_factor, channels):
    model = MobileNetV2(widen_factor=widen_factor, out_indices=tuple(range(8))).eval()
    with torch.no_grad():
        outs = model(randn(1, 3, 32, 32))
    sizes = [16, 8, 4, 2, 2, 1, 1, 1]  # strides 1, 2, 2, 2, 1, 2, 1 after the stride-2 stem
    assert [o.shape[1] for o in outs] == channels
    assert [o.shape[2] for o in outs] == sizes
    assert model.feat_dim == channels[-1]


def test_mobilenet_v2_layout_and_errors():
    model = MobileNetV2()
    assert len(model.layer1[0].conv) == 2 and len(model.layer2[0].conv) == 3  # no expansion conv in layer1
    assert model.layer2[1].use_res_connect and not model.layer2[0].use_res_connect
    keys = set(model.state_dict())
    assert {"conv1.conv.weight", "layer1.0.conv.0.conv.weight", "layer7.0.conv.2.bn.weight", "conv2.bn.bias"} <= keys
    assert model.layer2[0].conv[1].conv.groups == 96  # depthwise: 16 * 6 hidden channels
    with pytest.raises(ConfigError, match="out_indices"):
        MobileNetV2(out_indices=(8,))
    with pytest.raises(ConfigError, match="frozen_stages"):
        MobileNetV2(frozen_stages=9)
    with pytest.raises(ConfigError, match="stride"):
        InvertedResidual(8, 8, 3, 6)


def test_inverted_residual_by_hand():
    torch.manual_seed(0)
    block = InvertedResidual(8, 8, 1, expand_ratio=2).eval()
    x = randn(2, 8, 5, 5)
    h = block.conv[0](x)
    h = block.conv[1](h)
    expected = x + block.conv[2](h)
    torch.testing.assert_close(block(x), expected)
    assert block.conv[0].conv.out_channels == 16 and not block.conv[2].with_activation


def test_mobilenet_v2_frozen_stages_and_norm_eval():
    model = MobileNetV2(widen_factor=0.5, frozen_stages=2, norm_eval=True)
    model.train()
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(("conv1.", "layer1.", "layer2."))), name
    assert not model.layer2.training and model.layer3.training
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    before = [m.running_mean.clone() for m in bns]
    model(randn(2, 3, 32, 32))
    assert all(not m.training for m in bns) and all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))


@pytest.mark.parametrize("cls", [MobileNetV2, MobileNetV2TSM])
def test_with_cp_same_gradients(cls):
    def grads(with_cp):
        torch.manual_seed(0)
        kwargs = dict(num_segments=2) if cls is MobileNetV2TSM else {}
        model = cls(widen_factor=0.5, with_cp=with_cp, **kwargs).eval()
        model(randn(4, 3, 16, 16).requires_grad_()).square().sum().backward()
        return {n: p.grad for n, p in model.named_parameters()}

    plain, checkpointed = grads(False), grads(True)
    for name, grad in plain.items():
        torch.testing.assert_close(checkpointed[name], grad, rtol=1e-4, atol=1e-6)


def test_mobilenet_v2_tsm_shifted_blocks():
    model = MobileNetV2TSM(num_segments=4, widen_factor=0.5)
    shifted = sorted(name for name, m in model.named_modules() if isinstance(m, TemporalShift))
    # Residual blocks with an expansion conv: every block but the first of layers 2-6 (layer7 has one).
    expected = sorted(f"layer{layer}.{block}.conv.0" for layer, n in ((2, 2), (3, 3), (4, 4), (5, 3), (6, 3))
                      for block in range(1, n))
    assert shifted == expected
    assert "layer2.1.conv.0.net.conv.weight" in model.state_dict()
    assert all(m.num_segments == 4 and m.shift_div == 8 for m in model.modules() if isinstance(m, TemporalShift))
    assert not any(isinstance(m, TemporalShift) for m in MobileNetV2TSM(is_shift=False).modules())


def test_mobilenet_v2_tsm_block_output_by_hand():
    torch.manual_seed(0)
    model = MobileNetV2TSM(num_segments=2, widen_factor=0.5).eval()
    block = model.layer3[1]
    x = randn(4, 16, 4, 4)
    shift = block.conv[0]
    expected = x + block.conv[2](block.conv[1](shift.net(temporal_shift(x, 2, 8))))
    with torch.no_grad():
        torch.testing.assert_close(block(x), expected)


def test_mobilenet_v2_tsm_loads_plain_checkpoint(tmp_path):
    torch.manual_seed(1)
    plain = MobileNetV2(widen_factor=0.5)
    plain.init_weights()
    path = os.path.join(tmp_path, "mbv2.safetensors")
    save_file({f"backbone.{k}": v.contiguous() for k, v in plain.state_dict().items()}, path)
    model = MobileNetV2TSM(num_segments=8, widen_factor=0.5, pretrained=path)
    model.init_weights()
    own = model.state_dict()
    assert torch.equal(own["layer2.1.conv.0.net.conv.weight"], plain.state_dict()["layer2.1.conv.0.conv.weight"])
    assert torch.equal(own["conv2.bn.running_var"], plain.state_dict()["conv2.bn.running_var"])
    assert len(own) == len(plain.state_dict())

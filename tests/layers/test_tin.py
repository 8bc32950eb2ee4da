"""TIN: tin_shift, the linear temporal sampler, TemporalInterlace and ResNetTIN."""

import pytest
import torch
from torch.autograd import gradcheck
from torch.nn.modules.batchnorm import _BatchNorm

from videohub.errors import ConfigError, ShapeError
from videohub.models.tin.resnet_tin import CombineNet, ResNetTIN, TemporalInterlace, linear_sampler
from videohub.models.tin.tin_shift import tin_shift


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def tin_shift_loop(data, shift):
    """README §5: out[n, t + shift[n, g], c] = in[n, t, c] inside [0, T), zero elsewhere."""
    n, t, c, hw = data.shape
    groups = shift.shape[1]
    out = torch.zeros_like(data)
    for b in range(n):
        for ch in range(c):
            s = int(shift[b, ch // (c // groups)])
            for frame in range(t):
                if 0 <= frame + s < t:
                    out[b, frame + s, ch] = data[b, frame, ch]
    return out


def test_tin_shift_matches_loop():
    data = randn(3, 5, 8, 6)
    shift = torch.tensor([[0, 1, -1, 7], [2, -2, 4, -5], [-1, 0, 3, 1]], dtype=torch.int32)
    assert torch.equal(tin_shift(data, shift), tin_shift_loop(data, shift))


def test_tin_shift_hand_worked():
    data = torch.arange(1.0, 5.0).view(1, 4, 1, 1)  # one channel, frames 1, 2, 3, 4
    assert tin_shift(data, torch.tensor([[1]])).flatten().tolist() == [0.0, 1.0, 2.0, 3.0]
    assert tin_shift(data, torch.tensor([[-2]])).flatten().tolist() == [3.0, 4.0, 0.0, 0.0]


def test_tin_shift_gradcheck():
    data = randn(2, 4, 4, 3).requires_grad_()
    shift = torch.tensor([[1, -2], [0, 3]], dtype=torch.int32)
    assert gradcheck(lambda d: tin_shift(d, shift), (data,))


def test_tin_shift_bad_input():
    with pytest.raises(ShapeError, match="multiple of G=3"):
        tin_shift(torch.zeros(1, 4, 8, 2), torch.zeros(1, 3, dtype=torch.int32))
    with pytest.raises(ShapeError, match="integer shift"):
        tin_shift(torch.zeros(1, 4, 8, 2), torch.zeros(1, 2))
    with pytest.raises(ShapeError, match=r"\[N, T, C, HW\]"):
        tin_shift(torch.zeros(4, 8, 2), torch.zeros(1, 2, dtype=torch.int32))


def test_linear_sampler_interpolates_between_integer_shifts():
    data = randn(2, 5, 8, 2, 3)
    offset = torch.tensor([[0.25, -1.5, 2.0, -0.75], [1.9, 0.0, -3.2, 0.6]], dtype=torch.float64)
    out = linear_sampler(data, offset)
    flat = data.view(2, 5, 8, 6)
    expected = torch.zeros_like(flat)
    for b in range(2):
        for g in range(4):
            lo = int(torch.floor(offset[b, g]))
            frac = float(offset[b, g]) - lo
            for ch in range(g * 2, g * 2 + 2):
                for frame in range(5):
                    value = torch.zeros(6, dtype=torch.float64)
                    if 0 <= frame - lo < 5:
                        value = value + (1 - frac) * flat[b, frame - lo, ch]
                    if 0 <= frame - lo - 1 < 5:
                        value = value + frac * flat[b, frame - lo - 1, ch]
                    expected[b, frame, ch] = value
    torch.testing.assert_close(out, expected.view(2, 5, 8, 2, 3))


def test_linear_sampler_gradcheck_data_and_offset():
    data = randn(2, 4, 4, 1, 2).requires_grad_()
    # Away from integers, where floor() has no gradient and the sampler is smooth.
    offset = torch.tensor([[0.3, -1.4], [1.7, -0.2]], dtype=torch.float64, requires_grad=True)
    assert gradcheck(linear_sampler, (data, offset))


def test_temporal_interlace_gradcheck():
    torch.manual_seed(0)
    module = TemporalInterlace(8, num_segments=3, shift_div=2).double()
    x = randn(3, 8, 1, 2).requires_grad_()  # one clip of 3 frames; the offsets depend on x too
    assert gradcheck(module, (x,))
    # Every parameter of the offset/weight nets gets a gradient too.
    module(x).square().sum().backward()
    for name, param in module.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


def _nets(module, clips, folds):
    """Offsets ``[B, 2]`` and weights ``[B, T, 2]`` from the spatially pooled first ``folds`` channels."""
    pooled = clips[:, :, :folds].mean(dim=(3, 4)).permute(0, 2, 1)  # [B, folds, T]
    return module.offset_net(pooled).view(clips.shape[0], 2), module.weight_net(pooled)


def test_temporal_interlace_recomputed_by_hand():
    torch.manual_seed(0)
    module = TemporalInterlace(16, num_segments=4, shift_div=2).double()
    x = randn(2 * 4, 16, 3, 3)
    with torch.no_grad():
        out = module(x)
        offsets, weights = _nets(module, x.view(2, 4, 16, 3, 3), 8)
    folds = 8
    clips = x.view(2, 4, 16, 3, 3)
    expected = clips.clone()
    for b in range(2):
        # Channel groups of folds // 4 = 2: offsets (+o0, +o1, -o0, -o1), weights (w0, w1, w0, w1).
        group_offsets = [offsets[b, 0], offsets[b, 1], -offsets[b, 0], -offsets[b, 1]]
        for g in range(4):
            o = float(group_offsets[g])
            lo = int(torch.floor(torch.tensor(o)))
            frac = o - lo
            for ch in range(g * 2, g * 2 + 2):
                for t in range(4):
                    value = torch.zeros(3, 3, dtype=torch.float64)
                    if 0 <= t - lo < 4:
                        value = value + (1 - frac) * clips[b, t - lo, ch]
                    if 0 <= t - lo - 1 < 4:
                        value = value + frac * clips[b, t - lo - 1, ch]
                    expected[b, t, ch] = value * weights[b, t, g % 2]
    torch.testing.assert_close(out, expected.view(8, 16, 3, 3))
    assert torch.equal(out[:, folds:], x[:, folds:])


def test_temporal_interlace_initial_offsets_and_weights():
    module = TemporalInterlace(64, num_segments=8, shift_div=4)
    assert torch.all(module.weight_net.conv.bias == 0)
    assert torch.allclose(module.offset_net.fc2.bias, torch.full((2,), 0.5108))
    with pytest.raises(ConfigError, match="multiple of 4"):
        TemporalInterlace(24, num_segments=8, shift_div=4)
    with pytest.raises(ShapeError, match=r"\[B \* 8, 64, H, W\]"):
        module(torch.zeros(6, 64, 2, 2))


@pytest.mark.parametrize("depth,num_segments", [(18, 3), (18, 8), (50, 2)])
def test_resnet_tin_shapes(depth, num_segments):
    model = ResNetTIN(depth, num_segments=num_segments).eval()
    with torch.no_grad():
        out = model(randn(2 * num_segments, 3, 32, 32, dtype=torch.float32))
    assert out.shape == (2 * num_segments, 512 * (1 if depth == 18 else 4), 1, 1)


def test_resnet_tin_layout():
    model = ResNetTIN(18, num_segments=8)
    keys = set(model.state_dict())
    assert {"layer1.0.conv1.conv.net1.offset_net.fc2.bias", "layer4.1.conv1.conv.net1.weight_net.conv.weight",
            "layer1.0.conv1.conv.net2.weight"} <= keys
    assert all(isinstance(b.conv1.conv, CombineNet) for layer in (model.layer1, model.layer4) for b in layer)
    # The interlace acts on each block's input channels.
    assert model.layer2[0].conv1.conv.net1.in_channels == 64 and model.layer2[1].conv1.conv.net1.in_channels == 128
    assert model.shift_div == 4 and not any("conv1.conv.net.weight" in k for k in keys)
    plain = ResNetTIN(18, is_tin=False)
    assert not any("net1" in k for k in plain.state_dict())


def test_resnet_tin_frozen_stages_and_norm_eval():
    model = ResNetTIN(18, num_segments=2, frozen_stages=1, norm_eval=True)
    model.train()
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(("conv1.", "layer1."))), name
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    before = [m.running_var.clone() for m in bns]
    model(randn(4, 3, 32, 32, dtype=torch.float32))
    assert all(not m.training for m in bns) and all(torch.equal(b, m.running_var) for b, m in zip(before, bns))


def test_resnet_tin_with_cp_same_gradients():
    def grads(with_cp):
        torch.manual_seed(0)
        model = ResNetTIN(18, num_segments=2, with_cp=with_cp, num_stages=2, out_indices=(1,), strides=(1, 2),
                          dilations=(1, 1)).eval()
        model(randn(4, 3, 16, 16, dtype=torch.float32).requires_grad_()).square().sum().backward()
        return {n: p.grad for n, p in model.named_parameters()}

    plain, checkpointed = grads(False), grads(True)
    for name, grad in plain.items():
        torch.testing.assert_close(checkpointed[name], grad, rtol=1e-4, atol=1e-6)

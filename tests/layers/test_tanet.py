"""TANet: the TAM against a loop over the adaptive temporal convolution, and the TANet backbone."""

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from videohub.errors import ConfigError, ShapeError
from videohub.layers.resnet import Bottleneck
from videohub.models.tanet.tanet import TABlock, TANet
from videohub.models.tanet.tam import TAM


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def two_stage(**kwargs):
    return TANet(50, num_stages=2, out_indices=(1,), strides=(1, 2), dilations=(1, 1), **kwargs)


@pytest.mark.parametrize("kernel,padding,segments", [(3, 1, 4), (5, 2, 5), (3, 0, 4)])
def test_tam_matches_loop(kernel, padding, segments):
    torch.manual_seed(0)
    tam = TAM(8, segments, adaptive_kernel_size=kernel, adaptive_convolution_padding=padding).double()
    tam.init_weights()
    for bn in (tam.G[1], tam.L[1]):
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.5, 1.5)
    tam.eval()
    x = randn(2 * segments, 8, 3, 2)
    if padding * 2 + 1 != kernel:  # the output length changes, which mmaction2's view() rejects
        with pytest.raises(RuntimeError):
            tam(x)
        return
    out = tam(x)
    clips = x.view(2, segments, 8, 3, 2)
    descriptor = clips.mean(dim=(3, 4)).permute(0, 2, 1)  # [B, C, T]
    expected = torch.zeros_like(clips)
    for b in range(2):
        local = tam.L(descriptor[b:b + 1])[0]  # [C, T]: the local branch on this clip
        for c in range(8):
            kern = tam.G(descriptor[b, c].unsqueeze(0))[0]  # [K]: the global branch of this channel
            for t in range(segments):
                value = torch.zeros(3, 2, dtype=torch.float64)
                for k in range(kernel):
                    src = t + k - padding
                    if 0 <= src < segments:
                        value = value + kern[k] * clips[b, src, c] * local[c, src]
                expected[b, t, c] = value
    torch.testing.assert_close(out, expected.view_as(x))


def test_tam_layout_init_and_errors():
    torch.manual_seed(0)
    tam = TAM(64, 8)
    keys = set(tam.state_dict())
    assert {"G.0.weight", "G.1.running_mean", "G.3.weight", "L.0.weight", "L.1.running_var", "L.3.weight"} <= keys
    assert tam.G[0].weight.shape == (16, 8) and tam.L[0].weight.shape == (16, 64, 3)
    tam.init_weights()
    assert 0.0005 < tam.G[0].weight.std() < 0.002 and torch.all(tam.G[1].weight == 1)
    with pytest.raises(ConfigError, match="alpha and beta"):
        TAM(64, 8, beta=0)
    with pytest.raises(ShapeError, match=r"\[B \* 8, 64, H, W\]"):
        tam(torch.zeros(6, 64, 2, 2))


def test_tanet_layout():
    model = two_stage(num_segments=8)
    keys = set(model.state_dict())
    assert {"layer1.0.block.conv1.conv.weight", "layer1.0.block.downsample.conv.weight", "layer1.0.tam.G.0.weight",
            "layer2.3.tam.L.3.weight"} <= keys
    assert all(isinstance(b, TABlock) and isinstance(b.block, Bottleneck) for b in model.layer2)
    assert model.layer2[0].tam.in_channels == 128  # the block's conv1 width
    before = sorted(keys)
    model.init_weights()
    assert sorted(model.state_dict()) == before


def test_tanet_errors():
    with pytest.raises(ConfigError, match="Bottleneck"):
        TANet(18, num_segments=8)
    with pytest.raises(ConfigError, match=">= 3"):
        two_stage(num_segments=2)


@pytest.mark.parametrize("num_segments", [3, 4])
def test_tanet_shapes(num_segments):
    model = two_stage(num_segments=num_segments, tam_cfg=dict(alpha=1, beta=2)).eval()
    assert model.layer1[0].tam.alpha == 1
    with torch.no_grad():
        out = model(randn(2 * num_segments, 3, 32, 32, dtype=torch.float32))
    assert out.shape == (2 * num_segments, 512, 4, 4)


def test_tablock_equals_bottleneck_when_tam_is_identity():
    torch.manual_seed(0)
    block = Bottleneck(16, 4).eval()
    ta = TABlock(block, num_segments=3).eval()
    # Make the TAM the identity: the local branch is sigmoid(large) = 1, the kernel picks the centre.
    torch.nn.init.zeros_(ta.tam.L[0].weight)
    ta.tam.L[1].bias.data.fill_(50.0)
    torch.nn.init.constant_(ta.tam.L[3].weight, 1.0)
    torch.nn.init.zeros_(ta.tam.G[0].weight)
    ta.tam.G[3].weight.data.zero_()
    ta.tam.G[3].weight.data[1] = 1.0  # softmax over [0, a, 0] with the ReLU'd BN bias below
    ta.tam.G[1].bias.data.fill_(100.0)
    x = randn(6, 16, 4, 4, dtype=torch.float32)
    with torch.no_grad():
        torch.testing.assert_close(ta(x), block(x), rtol=1e-4, atol=1e-5)


def test_tanet_frozen_stages_norm_eval_and_with_cp():
    model = two_stage(num_segments=3, frozen_stages=1, norm_eval=True)
    model.train()
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(("conv1.", "layer1."))), name
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    before = [m.running_mean.clone() for m in bns]
    model(randn(3, 3, 16, 16, dtype=torch.float32))
    assert all(not m.training for m in bns) and all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))

    def grads(with_cp):
        torch.manual_seed(0)
        net = two_stage(num_segments=3, with_cp=with_cp).eval()
        net(randn(3, 3, 16, 16, dtype=torch.float32).requires_grad_()).square().sum().backward()
        return {n: p.grad for n, p in net.named_parameters()}

    plain, checkpointed = grads(False), grads(True)
    for name, grad in plain.items():
        torch.testing.assert_close(checkpointed[name], grad, rtol=1e-4, atol=1e-6)

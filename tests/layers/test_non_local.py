"""Non-local blocks (mmcv semantics) against a position-by-position brute force."""

import math

import pytest
import torch
import torch.nn.functional as F

from videohub.errors import ConfigError, ShapeError
from videohub.layers.non_local import NonLocal1d, NonLocal2d, NonLocal3d

SHAPES = {NonLocal1d: (2, 6, 8), NonLocal2d: (2, 6, 4, 4), NonLocal3d: (2, 6, 2, 4, 4)}
POOLS = {NonLocal1d: lambda t: F.max_pool1d(t, 2), NonLocal2d: lambda t: F.max_pool2d(t, 2),
         NonLocal3d: lambda t: F.max_pool3d(t, (1, 2, 2))}


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def conv1x1(module, x):
    """Apply the 1x1 conv of a ConvModule as a per-position matrix product (no norm)."""
    weight = module.conv.weight.reshape(module.conv.weight.shape[:2])
    y = torch.einsum("oc,nc...->no...", weight, x)
    if module.conv.bias is not None:
        y = y + module.conv.bias.view(1, -1, *([1] * (x.dim() - 2)))
    return y


def brute_force(block, x):
    """The non-local output computed with explicit loops over query/key positions."""
    cls = type(block)
    mode = block.mode
    pool = POOLS[cls] if block.sub_sample else (lambda t: t)
    g_module = block.g[0] if block.sub_sample else block.g
    g = pool(conv1x1(g_module, x)).flatten(2)  # [N, Ci, Lk]
    if mode == "gaussian":
        theta, phi = x.flatten(2), pool(x).flatten(2)
    else:
        phi_module = block.phi[0] if block.sub_sample else block.phi
        theta = conv1x1(block.theta, x).flatten(2)
        phi = pool(conv1x1(phi_module, x)).flatten(2)
    n, _, lq = theta.shape
    lk = phi.shape[2]
    y = torch.zeros(n, block.inter_channels, lq, dtype=x.dtype)
    for b in range(n):
        scores = torch.zeros(lq, lk, dtype=x.dtype)
        for i in range(lq):
            for j in range(lk):
                if mode == "concatenation":
                    w = block.concat_project.conv.weight.flatten()
                    pair = torch.cat([theta[b, :, i], phi[b, :, j]])
                    scores[i, j] = torch.relu((w * pair).sum())
                else:
                    scores[i, j] = (theta[b, :, i] * phi[b, :, j]).sum()
        if mode == "gaussian":
            weights = scores.softmax(-1)
        elif mode == "embedded_gaussian":
            weights = (scores / math.sqrt(block.inter_channels) if block.use_scale else scores).softmax(-1)
        else:
            weights = scores / lk
        for i in range(lq):
            y[b, :, i] = (weights[i].unsqueeze(0) * g[b]).sum(1)
    y = y.view(n, block.inter_channels, *x.shape[2:])
    return x + block.conv_out(y)


@pytest.mark.parametrize("cls", [NonLocal1d, NonLocal2d, NonLocal3d])
@pytest.mark.parametrize("mode", ["gaussian", "embedded_gaussian", "dot_product", "concatenation"])
@pytest.mark.parametrize("sub_sample", [False, True])
def test_non_local_matches_brute_force(cls, mode, sub_sample):
    torch.manual_seed(0)
    block = cls(6, sub_sample=sub_sample, mode=mode, use_scale=(mode != "gaussian"), zeros_init=False).double()
    x = randn(*SHAPES[cls])
    torch.testing.assert_close(block(x), brute_force(block, x))


def test_embedded_gaussian_without_scale_and_with_norm():
    torch.manual_seed(0)
    block = NonLocal3d(6, use_scale=False, sub_sample=True, norm_cfg=dict(type="BN3d"), zeros_init=False).double()
    block.conv_out.bn.running_mean.uniform_(-0.5, 0.5)
    block.eval()
    x = randn(*SHAPES[NonLocal3d], seed=1)
    torch.testing.assert_close(block(x), brute_force(block, x))


def test_zeros_init_is_identity_and_init_stats():
    torch.manual_seed(0)
    block = NonLocal2d(64, mode="dot_product")
    x = randn(1, 64, 3, 3).float()
    assert torch.equal(block(x), x)
    assert block.conv_out.conv.weight.abs().sum() == 0
    assert 0.005 < block.theta.conv.weight.std() < 0.015  # normal_init std 0.01
    with_norm = NonLocal3d(16, norm_cfg=dict(type="BN3d"))
    assert with_norm.conv_out.bn.weight.abs().sum() == 0 and with_norm.conv_out.conv.bias is None


def test_inter_channels_and_state_dict_names():
    block = NonLocal3d(8, sub_sample=True, norm_cfg=dict(type="BN3d", requires_grad=True))
    assert block.inter_channels == 4
    assert NonLocal2d(1).inter_channels == 1  # max(1 // 2, 1)
    keys = set(block.state_dict())
    assert {"g.0.conv.weight", "g.0.conv.bias", "theta.conv.weight", "phi.0.conv.weight",
            "conv_out.conv.weight", "conv_out.bn.running_var"} <= keys
    assert "phi.conv.weight" in NonLocal2d(8).state_dict()
    assert "concat_project.conv.weight" in NonLocal1d(8, mode="concatenation").state_dict()
    assert not any(k.startswith(("theta", "phi")) for k in NonLocal2d(8, mode="gaussian").state_dict())


def test_non_local_bad_config_and_input():
    with pytest.raises(ConfigError, match="mode"):
        NonLocal2d(8, mode="cosine")
    with pytest.raises(ShapeError, match=r"5-d input \[N, 8"):
        NonLocal3d(8)(torch.zeros(1, 8, 4, 4))
    with pytest.raises(ShapeError, match=r"\(1, 6, 4, 4\)"):
        NonLocal2d(8)(torch.zeros(1, 6, 4, 4))

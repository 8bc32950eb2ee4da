"""optimize_for_inference: parity on every recognizer golden file, BN folding by hand, fused convs."""

import copy
import glob
import os
import pickle
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from videohub.conversion.golden import golden_dir, load_golden
from videohub.conversion.mmaction2 import build_model, config_from_mmaction2
from videohub.conversion.parity import RECOGNIZER_KINDS, recognizer_inputs
from videohub.deploy import DeployError, FusedConv, fold_batch_norms, optimize_for_inference, resolve_memory_format
from videohub.deploy import optimize as optimize_module
from videohub.layers.conv import ConvModule

GOLDEN_FILES = sorted(glob.glob(os.path.join(golden_dir(), "*.pt")))


def _rel(out, ref):
    return float((out.double() - ref.double()).abs().max() / ref.double().abs().max())


def _golden_model(path):
    data = load_golden(path)
    if data.get("kind") not in RECOGNIZER_KINDS:
        pytest.skip(f"{os.path.basename(path)} is of kind {data.get('kind')!r}, not a recognizer")
    model = build_model(config_from_mmaction2(data["config"]), data["state_dict"], source=data["name"]).eval()
    return model, recognizer_inputs(data["kind"], data["input"])


def _clip_scores(model, inputs):
    np.random.seed(0)  # TRN-MultiScale samples relations with numpy's global RNG
    with torch.no_grad():
        return model(**inputs).clip_logits


@pytest.mark.skipif(not GOLDEN_FILES, reason=f"no golden files in {golden_dir()!r} (set VIDEOHUB_GOLDEN_DIR)")
@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[os.path.basename(p)[:-3] for p in GOLDEN_FILES])
def test_golden_parity_and_every_bn_folded(path):
    model, inputs = _golden_model(path)
    ref = _clip_scores(model, inputs)
    opt = optimize_for_inference(copy.deepcopy(model))
    out = _clip_scores(opt, inputs)
    # logits within 1e-5 of the plain model; where the plain fp32 model is itself further than that
    # from the exact (float64) result (these random-weight networks are ill-conditioned: up to 7e-5),
    # the optimized model must be at most twice as far from the exact result as the plain one
    if _rel(out, ref) > 1e-5:
        exact = _clip_scores(copy.deepcopy(model).double(), {k: v.double() for k, v in inputs.items()})
        plain_error = _rel(ref, exact)
        assert _rel(out, exact) <= 2 * plain_error, (
            f"optimized vs plain {_rel(out, ref):.2e}, optimized vs exact {_rel(out, exact):.2e}, "
            f"plain vs exact {plain_error:.2e}")

    # every BN right after a conv is gone; the only BN allowed to stay is the one after ConvAudio's
    # two ReLU branches (audio ResNet stem), which follows an activation
    for name, module in opt.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            parent = opt.get_submodule(name.rsplit(".", 1)[0])
            assert isinstance(parent, ConvModule) and type(parent.conv).__name__ == "ConvAudio", name
    assert any(isinstance(m, FusedConv) for m in opt.modules()) == torch.backends.mkldnn.is_available()


@pytest.mark.parametrize("name", ["tsm_r18", "x3d_se_all", "slowfast_r18", "tanet_r50_2stage", "i3d_nl_dot_product_r18", "audio_resnet_r50_w16"])
def test_fused_forwards_are_exact_in_float64(golden, name):
    """In float64 FusedConv takes its torch.nn.functional path, so folding and the fused residual
    forwards must reproduce the plain model to rounding."""
    data = golden(name)
    model = build_model(config_from_mmaction2(data["config"]), data["state_dict"]).eval().double()
    inputs = {k: v.double() for k, v in recognizer_inputs(data["kind"], data["input"]).items()}
    ref = _clip_scores(model, inputs)
    opt = optimize_for_inference(copy.deepcopy(model))
    assert sum(getattr(m, "forward", None).__class__.__name__ == "method" and "forward" in vars(m)
               for m in opt.modules()) > 0  # some residual blocks run fused
    assert _rel(_clip_scores(opt, inputs), ref) < 1e-10


def test_training_mode_is_refused_with_the_submodule_named():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    with pytest.raises(DeployError, match=r"the model \(Sequential\) is in training mode.*model\.eval\(\)"):
        optimize_for_inference(model)
    model.eval()
    model[1].train()
    with pytest.raises(DeployError, match=r"submodule '1' \(BatchNorm2d\)"):
        optimize_for_inference(model)


def test_fold_by_hand():
    conv = nn.Conv2d(1, 1, 1, bias=False)
    bn = nn.BatchNorm2d(1, eps=1.0)
    with torch.no_grad():
        conv.weight.fill_(2.0)
        bn.running_mean.fill_(1.0)
        bn.running_var.fill_(3.0)
        bn.weight.fill_(4.0)
        bn.bias.fill_(5.0)
    model = nn.Sequential(conv, bn).eval()
    report = fold_batch_norms(model)
    # scale = 4 / sqrt(3 + 1) = 2: w' = 2 * 2 = 4, b' = (0 - 1) * 2 + 5 = 3
    assert report.folded == ["1"] and report.left == []
    assert isinstance(model[1], nn.Identity)
    assert conv.weight.item() == 4.0 and conv.bias.item() == 3.0
    assert model(torch.tensor([[[[1.0, -2.0]]]])).flatten().tolist() == [7.0, -5.0]


def test_bn_after_an_activation_or_a_plain_linear_stays():
    model = nn.Sequential(nn.Conv2d(2, 2, 1), nn.ReLU(), nn.BatchNorm2d(2),
                          nn.Flatten(), nn.Linear(8, 3), nn.BatchNorm1d(3)).eval()
    report = fold_batch_norms(model)
    # a Linear → BN1d pair is folded only where the input is known to be 2-D (TANet's TAM)
    assert report.folded == [] and report.left == ["2", "5"]


def test_frozen_bn_without_affine_folds():
    conv = nn.Conv3d(2, 3, (1, 3, 3), padding=(0, 1, 1))
    bn = nn.BatchNorm3d(3, affine=False)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
        bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0]))
    for p in bn.parameters():
        p.requires_grad = False
    model = nn.Sequential(conv, bn).eval()
    x = torch.randn(1, 2, 2, 5, 5)
    with torch.no_grad():
        expected = (conv(x) - bn.running_mean.view(1, 3, 1, 1, 1)) / torch.sqrt(bn.running_var.view(1, 3, 1, 1, 1) + bn.eps)
        optimize_for_inference(model)
        assert torch.allclose(model(x), expected, atol=1e-5)


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="needs oneDNN")
@pytest.mark.parametrize("dims,groups,stride", [(2, 1, 1), (2, 2, 2), (3, 1, 1), (3, 4, (1, 2, 2))])
def test_fused_conv_matches_functional(dims, groups, stride):
    torch.manual_seed(0)
    conv_cls = nn.Conv3d if dims == 3 else nn.Conv2d
    conv = conv_cls(4, 8, 3, stride=stride, padding=1, groups=groups).eval()
    shape = (2, 4, 3, 9, 9) if dims == 3 else (2, 4, 9, 9)
    x = torch.randn(*shape)
    conv_fn = F.conv3d if dims == 3 else F.conv2d
    with torch.no_grad():
        plain = conv_fn(x, conv.weight, conv.bias, conv.stride, conv.padding, 1, groups)
        residual = torch.randn_like(plain)
        relu = FusedConv(conv, "relu").eval()
        torch.testing.assert_close(relu(x), plain.relu(), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(relu(x, residual, "relu"), (plain + residual).relu(), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(relu(x, residual), plain + residual, atol=1e-5, rtol=1e-5)
        # another input size reuses the weights reordered for the first one
        x2 = torch.randn(1, *shape[1:-2], 6, 7)
        torch.testing.assert_close(relu(x2), conv_fn(x2, conv.weight, conv.bias, conv.stride, conv.padding, 1,
                                                     groups).relu(), atol=1e-5, rtol=1e-5)
    # gradients and other dtypes take the torch.nn.functional path
    xg = x.clone().requires_grad_()
    relu(xg).sum().backward()
    assert xg.grad is not None and xg.grad.abs().sum() > 0
    with torch.no_grad():
        expected = conv_fn(x.double(), conv.weight.double(), conv.bias.double(), conv.stride, conv.padding, 1, groups)
        torch.testing.assert_close(copy.deepcopy(relu).double()(x.double()), expected.relu())


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="needs oneDNN")
def test_optimized_model_deepcopies_and_pickles_after_use():
    model = nn.Sequential(ConvModule(3, 4, 3, padding=1, conv_cfg=dict(type="Conv3d"), norm_cfg=dict(type="BN3d")),
                          nn.AdaptiveAvgPool3d(1)).eval()
    x = torch.randn(1, 3, 2, 8, 8)
    with torch.no_grad():
        ref = model(x)
        optimize_for_inference(model)
        assert isinstance(model[0].conv, FusedConv) and model[0].conv.activation == "relu"
        out = model(x)  # reorders the weight
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(copy.deepcopy(model)(x), ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(pickle.loads(pickle.dumps(model))(x), ref, atol=1e-5, rtol=1e-5)


def test_memory_format_choice():
    model = nn.Conv2d(1, 1, 1).eval()
    expected = "channels_last" if torch.backends.mkldnn.is_available() else "contiguous"
    assert resolve_memory_format(model) == expected
    assert resolve_memory_format(model, "contiguous") == "contiguous"
    with pytest.raises(DeployError, match="memory_format must be one of"):
        resolve_memory_format(model, "nhwc")
    optimize_for_inference(model, memory_format="contiguous")
    assert isinstance(model, nn.Conv2d) and model.weight.is_contiguous()


def test_compile_falls_back_with_a_warning(monkeypatch):
    monkeypatch.setattr(optimize_module, "compiler_problem", lambda: "CppCompileError: no C++ compiler")
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()).eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        ref = model(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimize_for_inference(model, compile=True)
    assert any("torch.compile does not work here (CppCompileError: no C++ compiler)" in str(w.message)
               for w in caught)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref, atol=1e-5, rtol=1e-5)

"""int8 static quantization of the convs, and the bf16/fp16 slowness warning."""

import warnings

import pytest
import torch
from torch import nn

from videohub.deploy import DeployError
from videohub.deploy.quantize import Int8Conv, quantize_int8, warn_if_slow_dtype
from videohub.layers.conv import ConvModule


@pytest.mark.parametrize("capability,dtype,warns", [
    ("AVX2", "bfloat16", True), ("AVX2", torch.float16, True), ("AVX512", "bfloat16", True),
    ("AVX512_BF16", "bfloat16", False), ("AMX", "float16", False), ("AVX2", "float32", False),
])
def test_warn_if_slow_dtype(monkeypatch, capability, dtype, warns):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert warn_if_slow_dtype(dtype) is warns
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert bool(messages) is warns
    if warns:
        assert f"({capability}: no native" in messages[0] and "17x slower than float32" in messages[0]
    assert warn_if_slow_dtype(dtype, device="cuda") is False


def _model():
    torch.manual_seed(0)
    return nn.Sequential(
        ConvModule(3, 8, (1, 3, 3), padding=(0, 1, 1), conv_cfg=dict(type="Conv3d"), norm_cfg=dict(type="BN3d")),
        ConvModule(8, 8, (3, 1, 1), padding=(1, 0, 0), conv_cfg=dict(type="Conv3d"), norm_cfg=dict(type="BN3d"),
                   act_cfg=None),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(8, 5)).eval()


def test_int8_tracks_fp32():
    model = _model()
    clips = [torch.randn(2, 3, 4, 16, 16, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    int8 = quantize_int8(model, [{"input": c} for c in clips[:4]], forward=lambda m, i: m(i["input"]))
    assert isinstance(int8[0].conv, Int8Conv) and isinstance(int8[1].conv, Int8Conv)
    assert isinstance(int8[0].activate, nn.Identity) and "ReLU" in type(int8[0].conv.qconv).__name__
    assert isinstance(model[0].conv, nn.Conv3d) and isinstance(model[0].bn, nn.BatchNorm3d)  # original untouched
    with torch.no_grad():
        for clip in clips[4:]:  # clips not seen in calibration
            ref, out = model(clip), int8(clip)
            assert (out - ref).abs().max() <= 0.05 * ref.abs().max()
            assert not torch.equal(out, ref)  # really quantized


def test_int8_refuses_bad_input():
    model = _model()
    with pytest.raises(DeployError, match="at least one calibration input"):
        quantize_int8(model, [], forward=lambda m, i: m(i))
    with pytest.raises(DeployError, match="no 2D/3D convolution"):
        quantize_int8(nn.Linear(2, 2).eval(), [{"input": torch.ones(1, 2)}])
    with pytest.raises(DeployError, match="training mode"):
        quantize_int8(model.train(), [{"input": torch.ones(1, 3, 4, 8, 8)}])

"""The model-level switches: ``model.optimize_for_inference()`` and ``from_pretrained(..., optimize_for_inference=True)``."""

import pytest
import torch

import videohub
from videohub.deploy import DeployError
from videohub.deploy.optimize import FusedConv


def test_method_and_from_pretrained_switch(tmp_path):
    config = videohub.TSNConfig(backbone=dict(depth=18), num_labels=3)
    torch.manual_seed(0)
    model = videohub.AutoVideoModel.from_config(config)
    with pytest.raises(DeployError, match="training mode"):
        model.optimize_for_inference()
    model.eval().save_pretrained(tmp_path)
    x = torch.randn(2, 3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(pixel_values=x).logits
        loaded = videohub.AutoVideoModel.from_pretrained(str(tmp_path), optimize_for_inference=True)
        assert not loaded.training
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in loaded.modules())  # folded into the convs
        if torch.backends.mkldnn.is_available():
            assert any(isinstance(m, FusedConv) for m in loaded.modules())
        torch.testing.assert_close(loaded(pixel_values=x).logits, expected, rtol=1e-5, atol=1e-5)
        assert model.optimize_for_inference() is model
        torch.testing.assert_close(model(pixel_values=x).logits, expected, rtol=1e-5, atol=1e-5)

"""Grad-CAM and the mmaction2 helper functions."""

import os
import tempfile
import threading

import numpy as np
import pytest
import torch

from videohub import TSNConfig, TSNForVideoClassification
from videohub.errors import ConfigError
from videohub.utils import (GradCAM, get_random_string, get_root_logger, get_shm_dir, get_thread_id,
                            import_module_error_class, import_module_error_func)


def tiny_model():
    torch.manual_seed(0)
    return TSNForVideoClassification(TSNConfig(backbone=dict(type="ResNet", depth=18, num_stages=2, out_indices=(1,),
                                                             strides=(1, 2), dilations=(1, 1)),
                                               cls_head=dict(type="TSNHead", in_channels=128), num_labels=3))


def test_gradcam_map_matches_manual_computation():
    model = tiny_model()
    x = torch.randn(1, 2, 3, 32, 32)
    cam = GradCAM(model, "backbone/layer2/1/relu")
    maps, logits = cam.localization_map(x)
    assert maps.shape == (1, 2, 32, 32) and float(maps.min()) == 0.0 and float(maps.max()) == pytest.approx(1.0)
    # manual: activations of layer2 and d(score)/d(activation) by autograd
    model.eval()
    feats = {}
    model.model.backbone.layer2.register_forward_hook(lambda m, i, o: feats.__setitem__("a", o))
    score = model(pixel_values=x).logits[0, int(logits.argmax())]
    grad = torch.autograd.grad(score, feats["a"])[0]
    act = feats["a"].detach().view(1, 2, 128, 4, 4).transpose(1, 2)
    w = grad.view(1, 2, 128, 4, 4).transpose(1, 2).mean(dim=(2, 3, 4), keepdim=True)
    raw = torch.relu((w * act).sum(1, keepdim=True))
    up = torch.nn.functional.interpolate(raw, size=(2, 32, 32), mode="trilinear", align_corners=False)[:, 0]
    expected = (up - up.min()) / (up.max() - up.min())
    torch.testing.assert_close(maps, expected, rtol=1e-4, atol=1e-5)
    blended = cam(x, alpha=0.5)
    assert blended.shape == (1, 2, 32, 32, 3) and blended.dtype == np.uint8
    with pytest.raises(ConfigError, match="layer9"):
        GradCAM(model, "backbone/layer9")


def test_helpers(tmp_path):
    s = get_random_string()
    assert len(s) == 15 and s.isalnum() and len(get_random_string(4)) == 4
    assert get_thread_id() == threading.get_native_id()
    assert get_shm_dir() == ("/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir())
    logger = get_root_logger(str(tmp_path / "log.txt"))
    logger.info("hello")
    assert "hello" in (tmp_path / "log.txt").read_text()

    @import_module_error_func("decord")
    def needs_decord():
        """Docs."""

    with pytest.raises(ImportError, match="decord"):
        needs_decord()

    @import_module_error_class("lmdb")
    class NeedsLmdb:
        pass

    with pytest.raises(ImportError, match="lmdb"):
        NeedsLmdb()

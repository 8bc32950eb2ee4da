"""Mixup and CutMix blending, checked against the mixing they must describe."""

import pytest
import torch

from videohub.data.blending import BaseMiniBatchBlending, CutmixBlending, MixupBlending
from videohub.errors import ConfigError


def _batch(b=6, num_classes=6):
    # sample i is the constant image i + 1, with class i
    imgs = torch.arange(1, b + 1, dtype=torch.float32).view(b, 1, 1, 1, 1).expand(b, 3, 2, 8, 10).clone()
    return imgs, torch.arange(b), num_classes


def test_mixup_images_and_labels_agree():
    torch.manual_seed(0)
    imgs, label, c = _batch()
    mixed, soft = MixupBlending(num_classes=c, alpha=0.2)(imgs, label)
    assert mixed.shape == imgs.shape and soft.shape == (6, 6)
    torch.testing.assert_close(soft.sum(1), torch.ones(6))
    for i in range(6):
        # the label weights say which samples were mixed and how much
        expected = sum(float(soft[i, k]) * (k + 1) for k in range(6))
        torch.testing.assert_close(mixed[i], torch.full_like(mixed[i], expected))


def test_mixup_lambda_follows_beta():
    torch.manual_seed(1)
    imgs, label, c = _batch()
    blend = MixupBlending(num_classes=c, alpha=0.2)
    torch.manual_seed(1)
    lam = blend.beta.sample()
    perm = torch.randperm(6)
    torch.manual_seed(1)
    mixed, soft = blend(imgs, label)
    torch.testing.assert_close(mixed, lam * imgs + (1 - lam) * imgs[perm])


def test_cutmix_area_matches_label_weight():
    torch.manual_seed(3)
    imgs, label, c = _batch()
    original = imgs.clone()
    mixed, soft = CutmixBlending(num_classes=c, alpha=1.0)(imgs, label)
    torch.testing.assert_close(soft.sum(1), torch.ones(6))
    for i in range(6):
        own = (mixed[i] == original[i]).float().mean()
        if float(soft[i, i]) < 1.0:
            # the fraction of pixels kept from the sample itself is its label weight
            torch.testing.assert_close(own, soft[i, i])
        changed = mixed[i][mixed[i] != original[i]]
        if changed.numel():
            other = int(changed[0]) - 1
            assert torch.all(changed == other + 1)
            torch.testing.assert_close(soft[i, other], 1 - soft[i, i])


def test_rand_bbox_area():
    torch.manual_seed(0)
    x1, y1, x2, y2 = CutmixBlending.rand_bbox(torch.Size([2, 3, 100, 200]), torch.tensor(0.75))
    assert 0 <= x1 <= x2 <= 200 and 0 <= y1 <= y2 <= 100
    assert int(x2 - x1) <= 100 and int(y2 - y1) <= 50  # cut ratio sqrt(1 - 0.75) = 0.5


def test_label_shapes_and_errors():
    imgs, _, c = _batch()
    mixed, soft = MixupBlending(num_classes=c)(imgs, torch.arange(6).view(6, 1))
    assert soft.shape == (6, 1, 6)
    with pytest.raises(ConfigError, match="integer class labels"):
        MixupBlending(num_classes=c)(imgs, torch.zeros(6, 6))
    with pytest.raises(ConfigError, match="unexpected arguments"):
        MixupBlending(num_classes=c).do_blending(imgs, torch.zeros(6, 6), foo=1)
    with pytest.raises(TypeError, match="abstract"):
        BaseMiniBatchBlending(3)

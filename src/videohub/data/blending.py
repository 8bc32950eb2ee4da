"""Mini-batch blending (mmaction2 ``BaseMiniBatchBlending``, ``MixupBlending``, ``CutmixBlending``).

A blending object is called on a batch ``(imgs, label)`` with integer labels; it one-hot encodes
them (``torch.nn.functional.one_hot``, so ``label`` of shape ``(B,)`` gives ``(B, C)`` and
``(B, 1)`` gives ``(B, 1, C)`` as in mmaction2) and returns the mixed images and soft labels.
Randomness comes from torch's global RNG (``torch.manual_seed`` reproduces a run).
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, Tuple

import torch
import torch.nn.functional as F
from torch.distributions.beta import Beta

from ..errors import ConfigError


class BaseMiniBatchBlending(metaclass=ABCMeta):
    """Base class of the blendings: one-hot encode labels, then :meth:`do_blending`.

    Args:
        num_classes: Number of classes.
    """

    def __init__(self, num_classes: int):
        self.num_classes = num_classes

    @abstractmethod
    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> Tuple[torch.Tensor, torch.Tensor]:
        """Blend ``imgs`` (batch first) and their one-hot ``label``; implemented by subclasses."""

    def __call__(self, imgs: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> Tuple[torch.Tensor, torch.Tensor]:
        if label.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
            raise ConfigError(f"{type(self).__name__} expects integer class labels, got dtype {label.dtype}")
        one_hot = F.one_hot(label.long(), num_classes=self.num_classes)
        return self.do_blending(imgs, one_hot, **kwargs)


def _no_kwargs(kwargs: dict, who: str) -> None:
    if kwargs:
        raise ConfigError(f"{who}: unexpected arguments {sorted(kwargs)}")


class MixupBlending(BaseMiniBatchBlending):
    """Mixup: ``lam * x + (1 - lam) * x[perm]`` with ``lam ~ Beta(alpha, alpha)``, labels alike.

    Args:
        num_classes: Number of classes.
        alpha: Beta distribution parameter. Default: 0.2.
    """

    def __init__(self, num_classes: int, alpha: float = 0.2):
        super().__init__(num_classes=num_classes)
        self.alpha = alpha
        self.beta = Beta(alpha, alpha)

    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> Tuple[torch.Tensor, torch.Tensor]:
        """Blend images with mixup."""
        _no_kwargs(kwargs, "MixupBlending")
        lam = self.beta.sample()
        rand_index = torch.randperm(imgs.size(0))
        mixed_imgs = lam * imgs + (1 - lam) * imgs[rand_index]
        mixed_label = lam * label + (1 - lam) * label[rand_index]
        return mixed_imgs, mixed_label


class CutmixBlending(BaseMiniBatchBlending):
    """CutMix: paste a random box of a shuffled batch; labels weighted by the pasted area.

    Args:
        num_classes: Number of classes.
        alpha: Beta distribution parameter. Default: 0.2.
    """

    def __init__(self, num_classes: int, alpha: float = 0.2):
        super().__init__(num_classes=num_classes)
        self.alpha = alpha
        self.beta = Beta(alpha, alpha)

    @staticmethod
    def rand_bbox(img_size: torch.Size, lam: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """A box of area ``(1 - lam)`` of the last two dims around a uniform centre, clipped."""
        w = img_size[-1]
        h = img_size[-2]
        cut_rat = torch.sqrt(1.0 - lam)
        cut_w = torch.tensor(int(w * cut_rat))
        cut_h = torch.tensor(int(h * cut_rat))
        cx = torch.randint(w, (1,))[0]
        cy = torch.randint(h, (1,))[0]
        bbx1 = torch.clamp(cx - cut_w // 2, 0, w)
        bby1 = torch.clamp(cy - cut_h // 2, 0, h)
        bbx2 = torch.clamp(cx + cut_w // 2, 0, w)
        bby2 = torch.clamp(cy + cut_h // 2, 0, h)
        return bbx1, bby1, bbx2, bby2

    def do_blending(self, imgs: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> Tuple[torch.Tensor, torch.Tensor]:
        """Blend images with cutmix (in place on ``imgs``, as mmaction2)."""
        _no_kwargs(kwargs, "CutmixBlending")
        rand_index = torch.randperm(imgs.size(0))
        lam = self.beta.sample()
        bbx1, bby1, bbx2, bby2 = self.rand_bbox(imgs.size(), lam)
        imgs[..., bby1:bby2, bbx1:bbx2] = imgs[rand_index, ..., bby1:bby2, bbx1:bbx2]
        lam = 1 - (1.0 * (bbx2 - bbx1) * (bby2 - bby1) / (imgs.size()[-1] * imgs.size()[-2]))
        label = lam * label + (1 - lam) * label[rand_index]
        return imgs, label

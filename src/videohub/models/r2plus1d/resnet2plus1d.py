"""R(2+1)D (mmaction2 ``ResNet2Plus1d``): a :class:`ResNet3d` whose convs are ``Conv2plus1d``.

"A Closer Look at Spatiotemporal Convolutions for Action Recognition" (https://arxiv.org/abs/1711.11248).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import torch

from ...errors import ConfigError
from ...registry import BACKBONES
from ...layers.conv2plus1d import Conv2plus1d  # noqa: F401  (registers the "Conv2plus1d" conv type)
from ...layers.resnet3d import ResNet3d, _check_input


@BACKBONES.register()
class ResNet2Plus1d(ResNet3d):
    """ResNet (2+1)D backbone.

    mmaction2 takes ``ResNet3d``'s arguments and asserts ``pretrained2d=False`` and
    ``conv_cfg=dict(type="Conv2plus1d")``; here these two are the defaults and any other value is
    rejected. The forward pass always applies the stem max-pool, never ``pool2``, and returns the
    last stage only (``out_indices`` and the pooling flags are accepted and ignored, as in mmaction2).

    Args:
        depth: 18, 34, 50, 101 or 152.
        pretrained: Local checkpoint loaded by :meth:`init_weights`. Default ``None``.
        pretrained2d: Must be ``False`` (the default).
        conv_cfg: Must be ``dict(type="Conv2plus1d")`` (the default).
        **kwargs: The other arguments of :class:`~videohub.layers.resnet3d.ResNet3d`, with its
            defaults (``frozen_stages=-1``, ``norm_eval=False``, ``with_cp=False``, ...).
    """

    def __init__(
        self,
        depth: int,
        pretrained: Optional[str] = None,
        *,
        pretrained2d: bool = False,
        conv_cfg: Dict = dict(type="Conv2plus1d"),
        **kwargs: Any,
    ):
        if pretrained2d:
            raise ConfigError("ResNet2Plus1d: pretrained2d must be False (2D weights cannot be inflated into "
                              "(2+1)D convolutions)")
        if not isinstance(conv_cfg, dict) or conv_cfg.get("type") != "Conv2plus1d":
            raise ConfigError(f"ResNet2Plus1d: conv_cfg must be dict(type='Conv2plus1d'), got {conv_cfg!r}")
        super().__init__(depth, pretrained, pretrained2d=pretrained2d, conv_cfg=conv_cfg, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` → the last stage's feature (stem max-pool always on, no ``pool2``)."""
        _check_input(x, self.in_channels, "ResNet2Plus1d")
        x = self.maxpool(self.conv1(x))
        for layer_name in self.res_layers:
            x = getattr(self, layer_name)(x)
        return x

"""DenseNet in torchvision's layout, without torchvision: the ``torchvision.densenet161`` TSN backbone.

mmaction2 0.24 builds ``type="torchvision.densenet161"`` with torchvision, replaces its classifier
by ``nn.Identity`` and feeds the recognizer ``backbone.features(x)`` (which ends with ``norm5``, no
ReLU), average-pooled to ``[N, C, 1, 1]``. The keys are torchvision's:
``features.conv0.weight``, ``features.norm0.*``,
``features.denseblock{i}.denselayer{j}.{norm1,conv1,norm2,conv2}.*``,
``features.transition{i}.{norm,conv}.*`` and ``features.norm5.*``. Paper: Huang et al., "Densely
Connected Convolutional Networks" (https://arxiv.org/abs/1608.06993).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import nn

from ...errors import ConfigError, ShapeError
from ...layers.pretrained import read_state_dict
from ...registry import BACKBONES
from ...utils import logging

logger = logging.get_logger(__name__)

# Old torchvision checkpoints name ``norm1`` as ``norm.1`` (torchvision renames them on load too).
_LEGACY_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (``bn_size * growth_rate``) then BN-ReLU-3x3 conv (``growth_rate``).

    Args:
        in_channels: Channels of all earlier feature maps together.
        growth_rate: New channels this layer adds.
        bn_size: Bottleneck width factor.
        drop_rate: Dropout on the new features while training. Default 0.0.
        with_cp: Gradient checkpointing of the bottleneck (torchvision's ``memory_efficient``). Default ``False``.
    """

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int, drop_rate: float = 0.0,
                 with_cp: bool = False):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.with_cp = with_cp

    def bottleneck(self, *features: torch.Tensor) -> torch.Tensor:
        """``conv1(relu(norm1(cat(features))))``."""
        return self.conv1(self.relu1(self.norm1(torch.cat(features, 1))))

    def forward(self, features: List[torch.Tensor]) -> torch.Tensor:
        if self.with_cp and any(f.requires_grad for f in features):
            out = cp.checkpoint(self.bottleneck, *features, use_reentrant=False)
        else:
            out = self.bottleneck(*features)
        out = self.conv2(self.relu2(self.norm2(out)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return out


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers (``denselayer1`` ...); each sees every earlier output. Output
    channels: ``in_channels + num_layers * growth_rate``. Arguments as :class:`DenseLayer`."""

    def __init__(self, num_layers: int, in_channels: int, bn_size: int, growth_rate: int, drop_rate: float = 0.0,
                 with_cp: bool = False):
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size,
                                                             drop_rate, with_cp))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv to ``out_channels``, then 2x2 average pooling (``norm``, ``relu``, ``conv``, ``pool``)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(in_channels)),
            ("relu", nn.ReLU(inplace=True)),
            ("conv", nn.Conv2d(in_channels, out_channels, 1, bias=False)),
            ("pool", nn.AvgPool2d(kernel_size=2, stride=2)),
        ]))


@BACKBONES.register(name="torchvision.densenet121")
class DenseNet(nn.Module):
    """DenseNet-BC with torchvision's module names (type ``"torchvision.densenet121"`` with the defaults);
    output ``[N, C, 1, 1]``, as mmaction2 feeds its head.

    Args:
        growth_rate: Channels each dense layer adds. Default 32.
        block_config: Dense layers per block. Default ``(6, 12, 24, 16)`` (DenseNet-121).
        num_init_features: Channels of the stem conv. Default 64.
        bn_size: Bottleneck width factor. Default 4.
        drop_rate: Dropout after each dense layer while training. Default 0.0.
        memory_efficient: Gradient checkpointing of the dense layers' bottlenecks. Default ``False``.
        pretrained: torchvision's ``pretrained``: ``None`` (default) or ``False``, or a local
            torchvision checkpoint (``.pth`` / ``.safetensors``) loaded by :meth:`init_weights`.
            ``True`` (download ImageNet weights) cannot be honoured, videohub reads local files only:
            a warning is logged and the weights keep torchvision's random init.
        num_classes: Accepted for torchvision compatibility and unused: mmaction2 replaces the
            classifier by ``nn.Identity``. Default 1000.
        in_channels: Input channels. Default 3.
    """

    def __init__(
        self,
        growth_rate: int = 32,
        block_config: Sequence[int] = (6, 12, 24, 16),
        num_init_features: int = 64,
        bn_size: int = 4,
        drop_rate: float = 0.0,
        memory_efficient: bool = False,
        pretrained: Optional[Union[bool, str]] = None,
        num_classes: int = 1000,
        in_channels: int = 3,
    ):
        super().__init__()
        if not block_config or any(n < 1 for n in block_config):
            raise ConfigError(f"DenseNet block_config must be positive layer counts, got {tuple(block_config)}")
        self.pretrained = pretrained
        self.in_channels = in_channels
        self.num_classes = num_classes
        modules = OrderedDict([
            ("conv0", nn.Conv2d(in_channels, num_init_features, 7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ])
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            modules[f"denseblock{i + 1}"] = DenseBlock(num_layers, channels, bn_size, growth_rate, drop_rate,
                                                       memory_efficient)
            channels += num_layers * growth_rate
            if i != len(block_config) - 1:
                modules[f"transition{i + 1}"] = Transition(channels, channels // 2)
                channels //= 2
        modules["norm5"] = nn.BatchNorm2d(channels)
        self.features = nn.Sequential(modules)
        self.feat_dim = channels
        self.pool = nn.AdaptiveAvgPool2d(1)

    def init_weights(self) -> None:
        """torchvision's init (Kaiming-normal convs, unit BNs), then ``pretrained`` if it is a path."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.pretrained is True:
            logger.warning("%s: pretrained=True asks for torchvision's ImageNet weights, which videohub does not "
                           "download; the backbone keeps a random init. Pass pretrained='<local torchvision "
                           "checkpoint>' to start from them.", type(self).__name__)
        elif isinstance(self.pretrained, str):
            self.load_torchvision(self.pretrained)
        elif self.pretrained not in (False, None):
            raise ConfigError(f"DenseNet pretrained must be a bool, a local path or None, got {self.pretrained!r}")

    def load_torchvision(self, path: str) -> None:
        """Load a torchvision DenseNet state dict (``features.*``; ``classifier.*`` is skipped)."""
        state_dict = {}
        for key, value in read_state_dict(path).items():
            if key.startswith("classifier."):
                continue
            match = _LEGACY_KEY.match(key)
            state_dict[match.group(1) + match.group(2) if match else key] = value
        result = self.load_state_dict(state_dict, strict=False)
        if result.missing_keys:
            logger.warning("%s: keys missing from %s: %s", type(self).__name__, path, result.missing_keys)
        if result.unexpected_keys:
            logger.warning("%s: unused keys of %s: %s", type(self).__name__, path, result.unexpected_keys)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_channels, H, W]`` → ``features(x)`` average-pooled to ``[N, feat_dim, 1, 1]``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"{type(self).__name__} expects input [N, {self.in_channels}, H, W], got {tuple(x.shape)}")
        return self.pool(self.features(x))


@BACKBONES.register(name="torchvision.densenet161")
class DenseNet161(DenseNet):
    """torchvision's ``densenet161``: growth 48, blocks ``(6, 12, 36, 24)``, 96 stem channels, 2208 outputs.

    Args:
        pretrained: As :class:`DenseNet`. Default ``None``.
        **kwargs: Further :class:`DenseNet` arguments (``drop_rate``, ``memory_efficient``, ...).
    """

    def __init__(self, pretrained: Optional[Union[bool, str]] = None, **kwargs):
        kwargs.setdefault("growth_rate", 48)
        kwargs.setdefault("block_config", (6, 12, 36, 24))
        kwargs.setdefault("num_init_features", 96)
        super().__init__(pretrained=pretrained, **kwargs)

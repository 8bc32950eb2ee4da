"""Convolution / normalization / activation builders and ``ConvModule`` with mmcv 1.x semantics.

Submodule names match mmcv (``conv``, ``bn``/``gn``/``ln``/``in``, ``activate``) so mmaction2
state-dict keys load unchanged.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ..errors import ConfigError
from .init import constant_init, kaiming_init

IntOrTuple = Union[int, Tuple[int, ...]]

CONV_LAYERS = {"Conv": nn.Conv2d, "Conv1d": nn.Conv1d, "Conv2d": nn.Conv2d, "Conv3d": nn.Conv3d}
NORM_LAYERS = {
    "BN": (nn.BatchNorm2d, "bn"),
    "BN1d": (nn.BatchNorm1d, "bn"),
    "BN2d": (nn.BatchNorm2d, "bn"),
    "BN3d": (nn.BatchNorm3d, "bn"),
    "SyncBN": (nn.SyncBatchNorm, "bn"),
    "GN": (nn.GroupNorm, "gn"),
    "LN": (nn.LayerNorm, "ln"),
    "IN": (nn.InstanceNorm2d, "in"),
    "IN1d": (nn.InstanceNorm1d, "in"),
    "IN2d": (nn.InstanceNorm2d, "in"),
    "IN3d": (nn.InstanceNorm3d, "in"),
}


class Swish(nn.Module):
    """``x * sigmoid(x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class HSigmoid(nn.Module):
    """mmcv's hard sigmoid: ``clamp((x + 3) / 6, 0, 1)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp((x + 3) / 6, 0, 1)


ACTIVATION_LAYERS = {
    "ReLU": nn.ReLU,
    "ReLU6": nn.ReLU6,
    "LeakyReLU": nn.LeakyReLU,
    "PReLU": nn.PReLU,
    "ELU": nn.ELU,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "GELU": nn.GELU,
    "Swish": Swish,
    "HSigmoid": HSigmoid,
    "HSwish": nn.Hardswish,
}
_INPLACE_ACTIVATIONS = {"ReLU", "ReLU6", "LeakyReLU", "ELU", "HSwish"}


def _lookup(table: Dict, cfg: Optional[Dict], what: str):
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ConfigError(f"{what} config must be a dict with a 'type' key, got {cfg!r}")
    if cfg["type"] not in table:
        raise ConfigError(f"unknown {what} type {cfg['type']!r}; known types are {sorted(table)}")
    return table[cfg["type"]]


def build_conv_layer(cfg: Optional[Dict], *args, **kwargs) -> nn.Module:
    """Build a convolution from ``cfg`` (default ``dict(type="Conv2d")``)."""
    cfg = dict(type="Conv2d") if cfg is None else cfg
    layer = _lookup(CONV_LAYERS, cfg, "conv")
    extra = {k: v for k, v in cfg.items() if k != "type"}
    return layer(*args, **kwargs, **extra)


def build_norm_layer(cfg: Dict, num_features: int, postfix: Union[int, str] = "") -> Tuple[str, nn.Module]:
    """Build a normalization layer; return ``(name, layer)`` with mmcv's name (``bn``, ``gn``, ...)."""
    layer_cls, abbr = _lookup(NORM_LAYERS, cfg, "norm")
    kwargs = {k: v for k, v in cfg.items() if k not in ("type", "requires_grad")}
    kwargs.setdefault("eps", 1e-5)
    if layer_cls is nn.GroupNorm:
        if "num_groups" not in kwargs:
            raise ConfigError(f"GN norm config {cfg!r} needs 'num_groups'")
        layer = nn.GroupNorm(num_channels=num_features, **kwargs)
    else:
        layer = layer_cls(num_features, **kwargs)
    requires_grad = cfg.get("requires_grad", True)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return f"{abbr}{postfix}", layer


def build_activation_layer(cfg: Dict) -> nn.Module:
    """Build an activation from ``cfg`` such as ``dict(type="ReLU", inplace=True)``."""
    layer = _lookup(ACTIVATION_LAYERS, cfg, "activation")
    kwargs = {k: v for k, v in cfg.items() if k != "type"}
    return layer(**kwargs)


class ConvModule(nn.Module):
    """Conv → norm → activation block (mmcv ``ConvModule``).

    Args:
        in_channels, out_channels, kernel_size, stride (default 1), padding (default 0),
        dilation (default 1), groups (default 1): as in ``torch.nn.Conv*d``.
        bias: ``"auto"`` (default) uses a bias only when there is no norm layer.
        conv_cfg: Conv type, default ``None`` = ``Conv2d``.
        norm_cfg: Norm type such as ``dict(type="BN3d")``; default ``None`` = no norm.
        act_cfg: Activation, default ``dict(type="ReLU")``; ``None`` = no activation.
        inplace: In-place activation where supported. Default ``True``.
        order: Order of the three layers. Default ``("conv", "norm", "act")``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        bias: Union[bool, str] = "auto",
        conv_cfg: Optional[Dict] = None,
        norm_cfg: Optional[Dict] = None,
        act_cfg: Optional[Dict] = dict(type="ReLU"),
        inplace: bool = True,
        order: Sequence[str] = ("conv", "norm", "act"),
    ):
        super().__init__()
        if set(order) != {"conv", "norm", "act"} or len(order) != 3:
            raise ConfigError(f"ConvModule order must be a permutation of conv/norm/act, got {order!r}")
        self.order = tuple(order)
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        if bias == "auto":
            bias = not self.with_norm
        self.conv = build_conv_layer(
            conv_cfg, in_channels, out_channels, kernel_size,
            stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias,
        )
        self.norm_name = None
        if self.with_norm:
            norm_channels = out_channels if order.index("norm") > order.index("conv") else in_channels
            self.norm_name, norm = build_norm_layer(norm_cfg, norm_channels)
            self.add_module(self.norm_name, norm)
        if self.with_activation:
            act_cfg = dict(act_cfg)
            if act_cfg["type"] in _INPLACE_ACTIVATIONS:
                act_cfg.setdefault("inplace", inplace)
            self.activate = build_activation_layer(act_cfg)
        self._act_type = act_cfg["type"] if act_cfg else None
        self.init_weights()

    @property
    def norm(self) -> Optional[nn.Module]:
        return getattr(self, self.norm_name) if self.norm_name else None

    def init_weights(self) -> None:
        """Kaiming-normal (fan_out) conv weights unless the conv initializes itself, unit norms (mmcv)."""
        if not hasattr(self.conv, "init_weights"):
            nonlinearity = "leaky_relu" if self._act_type == "LeakyReLU" else "relu"
            kaiming_init(self.conv, nonlinearity=nonlinearity)
        if self.with_norm:
            constant_init(self.norm, 1, bias=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.order:
            if layer == "conv":
                x = self.conv(x)
            elif layer == "norm" and self.with_norm:
                x = self.norm(x)
            elif layer == "act" and self.with_activation:
                x = self.activate(x)
        return x

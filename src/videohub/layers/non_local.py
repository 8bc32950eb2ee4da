"""Non-local blocks with mmcv 1.x semantics (``NonLocal1d``, ``NonLocal2d``, ``NonLocal3d``).

"Non-local Neural Networks" (https://arxiv.org/abs/1711.07971). Submodule names are mmcv's
(``g``, ``theta``, ``phi``, ``conv_out``, ``concat_project``), so mmaction2 state-dict keys such as
``non_local_block.conv_out.bn.weight`` load unchanged. With ``sub_sample=True`` mmcv wraps ``g``
and ``phi`` in ``nn.Sequential(conv_module, max_pool)``, which puts the parameters under
``g.0.conv.*`` / ``phi.0.conv.*``; this module does the same.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn

from ..errors import ConfigError, ShapeError
from .conv import ConvModule
from .init import constant_init, normal_init

NON_LOCAL_MODES = ("gaussian", "embedded_gaussian", "dot_product", "concatenation")


class _NonLocalNd(nn.Module):
    """Shared implementation of the 1D/2D/3D non-local blocks (mmcv ``_NonLocalNd``).

    Args:
        in_channels: Channels of the input feature map.
        reduction: Channel reduction ratio; ``inter_channels = max(in_channels // reduction, 1)``.
            Default 2.
        use_scale: Divide the ``embedded_gaussian`` affinity by ``sqrt(inter_channels)``. Default ``True``.
        conv_cfg: Conv layer config of ``g``/``theta``/``phi``/``conv_out``. Default ``None`` (Conv2d).
        norm_cfg: Norm config of ``conv_out`` only. Default ``None`` (no norm).
        mode: ``"embedded_gaussian"`` (default), ``"gaussian"``, ``"dot_product"`` or ``"concatenation"``.
        std: Std of the normal init of ``g``/``theta``/``phi``. Default 0.01.
        zeros_init: Zero-init ``conv_out`` (its norm when there is one). Default ``True``.
    """

    _dims = 2

    def __init__(
        self,
        in_channels: int,
        reduction: int = 2,
        use_scale: bool = True,
        conv_cfg: Optional[Dict] = None,
        norm_cfg: Optional[Dict] = None,
        mode: str = "embedded_gaussian",
        std: float = 0.01,
        zeros_init: bool = True,
    ):
        super().__init__()
        if mode not in NON_LOCAL_MODES:
            raise ConfigError(f"non-local mode must be one of {list(NON_LOCAL_MODES)}, got {mode!r}")
        if not isinstance(in_channels, int) or in_channels <= 0:
            raise ConfigError(f"non-local in_channels must be a positive int, got {in_channels!r}")
        if not isinstance(reduction, int) or reduction <= 0:
            raise ConfigError(f"non-local reduction must be a positive int, got {reduction!r}")
        self.in_channels = in_channels
        self.reduction = reduction
        self.use_scale = use_scale
        self.inter_channels = max(in_channels // reduction, 1)
        self.mode = mode
        self.norm_cfg = norm_cfg

        self.g = ConvModule(self.in_channels, self.inter_channels, kernel_size=1, conv_cfg=conv_cfg, act_cfg=None)
        self.conv_out = ConvModule(self.inter_channels, self.in_channels, kernel_size=1, conv_cfg=conv_cfg,
                                   norm_cfg=norm_cfg, act_cfg=None)
        if self.mode != "gaussian":
            self.theta = ConvModule(self.in_channels, self.inter_channels, kernel_size=1, conv_cfg=conv_cfg,
                                    act_cfg=None)
            self.phi = ConvModule(self.in_channels, self.inter_channels, kernel_size=1, conv_cfg=conv_cfg,
                                  act_cfg=None)
        if self.mode == "concatenation":
            # mmcv builds this one with the default conv (Conv2d): it acts on [N, 2C, L, L] maps.
            self.concat_project = ConvModule(self.inter_channels * 2, 1, kernel_size=1, stride=1, padding=0,
                                             bias=False, act_cfg=dict(type="ReLU"))
        self.init_weights(std=std, zeros_init=zeros_init)

    def init_weights(self, std: float = 0.01, zeros_init: bool = True) -> None:
        """Normal(0, ``std``) ``g``/``theta``/``phi`` (default 0.01); zero ``conv_out`` (default ``True``)."""
        convs = [self.g, self.theta, self.phi] if self.mode != "gaussian" else [self.g]
        for module in convs:
            conv_module = module[0] if isinstance(module, nn.Sequential) else module
            normal_init(conv_module.conv, std=std)
        target = self.conv_out.conv if self.conv_out.norm is None else self.conv_out.norm
        if zeros_init:
            constant_init(target, 0)
        else:
            normal_init(target, std=std)

    def gaussian(self, theta_x: torch.Tensor, phi_x: torch.Tensor) -> torch.Tensor:
        """Softmax of the raw dot products: ``[N, L, L]``."""
        return torch.matmul(theta_x, phi_x).softmax(dim=-1)

    def embedded_gaussian(self, theta_x: torch.Tensor, phi_x: torch.Tensor) -> torch.Tensor:
        """Softmax of the embedded dot products, scaled by ``1/sqrt(inter_channels)`` if ``use_scale``."""
        pairwise_weight = torch.matmul(theta_x, phi_x)
        if self.use_scale:
            pairwise_weight = pairwise_weight / theta_x.shape[-1] ** 0.5
        return pairwise_weight.softmax(dim=-1)

    def dot_product(self, theta_x: torch.Tensor, phi_x: torch.Tensor) -> torch.Tensor:
        """Embedded dot products divided by the number of key positions."""
        pairwise_weight = torch.matmul(theta_x, phi_x)
        return pairwise_weight / pairwise_weight.shape[-1]

    def concatenation(self, theta_x: torch.Tensor, phi_x: torch.Tensor) -> torch.Tensor:
        """ReLU(w^T [theta_i, phi_j]) divided by the number of key positions."""
        h = theta_x.size(2)
        w = phi_x.size(3)
        theta_x = theta_x.repeat(1, 1, 1, w)
        phi_x = phi_x.repeat(1, 1, h, 1)
        pairwise_weight = self.concat_project(torch.cat([theta_x, phi_x], dim=1))
        n, _, h, w = pairwise_weight.size()
        pairwise_weight = pairwise_weight.view(n, h, w)
        return pairwise_weight / pairwise_weight.shape[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, C, *spatial]`` (``len(spatial)`` = 1, 2 or 3) → same shape, ``x + conv_out(y)``."""
        if x.dim() != self._dims + 2 or x.size(1) != self.in_channels:
            raise ShapeError(
                f"{type(self).__name__} expects a {self._dims + 2}-d input [N, {self.in_channels}, ...], "
                f"got shape {tuple(x.shape)}"
            )
        n = x.size(0)
        g_x = self.g(x).view(n, self.inter_channels, -1).permute(0, 2, 1)
        if self.mode == "gaussian":
            theta_x = x.view(n, self.in_channels, -1).permute(0, 2, 1)
            if self.sub_sample:
                phi_x = self.phi(x).view(n, self.in_channels, -1)
            else:
                phi_x = x.view(n, self.in_channels, -1)
        elif self.mode == "concatenation":
            theta_x = self.theta(x).view(n, self.inter_channels, -1, 1)
            phi_x = self.phi(x).view(n, self.inter_channels, 1, -1)
        else:
            theta_x = self.theta(x).view(n, self.inter_channels, -1).permute(0, 2, 1)
            phi_x = self.phi(x).view(n, self.inter_channels, -1)
        pairwise_weight = getattr(self, self.mode)(theta_x, phi_x)
        y = torch.matmul(pairwise_weight, g_x)
        y = y.permute(0, 2, 1).contiguous().reshape(n, self.inter_channels, *x.size()[2:])
        return x + self.conv_out(y)

    def _apply_sub_sample(self, sub_sample: bool, pool: nn.Module) -> None:
        self.sub_sample = sub_sample
        if sub_sample:
            self.g = nn.Sequential(self.g, pool)
            if self.mode != "gaussian":
                self.phi = nn.Sequential(self.phi, pool)
            else:
                self.phi = pool


class NonLocal1d(_NonLocalNd):
    """1D non-local block (mmcv ``NonLocal1d``) on ``[N, C, L]``.

    Args:
        in_channels: Input channels.
        sub_sample: Max-pool (kernel 2) ``g`` and ``phi`` over L. Default ``False``.
        conv_cfg: Default ``dict(type="Conv1d")``.
        reduction, use_scale, norm_cfg, mode, std, zeros_init: See :class:`NonLocal2d`
            (defaults 2, ``True``, ``None``, ``"embedded_gaussian"``, 0.01, ``True``).
    """

    _dims = 1

    def __init__(
        self,
        in_channels: int,
        sub_sample: bool = False,
        conv_cfg: Optional[Dict] = dict(type="Conv1d"),
        reduction: int = 2,
        use_scale: bool = True,
        norm_cfg: Optional[Dict] = None,
        mode: str = "embedded_gaussian",
        std: float = 0.01,
        zeros_init: bool = True,
    ):
        super().__init__(in_channels, reduction=reduction, use_scale=use_scale, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, mode=mode, std=std, zeros_init=zeros_init)
        self._apply_sub_sample(sub_sample, nn.MaxPool1d(kernel_size=2))


class NonLocal2d(_NonLocalNd):
    """2D non-local block (mmcv ``NonLocal2d``) on ``[N, C, H, W]``.

    Args:
        in_channels: Input channels.
        sub_sample: Max-pool (2x2) ``g`` and ``phi`` spatially. Default ``False``.
        conv_cfg: Default ``dict(type="Conv2d")``.
        reduction: Channel reduction ratio. Default 2.
        use_scale: Scale the ``embedded_gaussian`` affinity. Default ``True``.
        norm_cfg: Norm of ``conv_out``. Default ``None``.
        mode: Pairwise function. Default ``"embedded_gaussian"``.
        std: Init std of ``g``/``theta``/``phi``. Default 0.01.
        zeros_init: Zero-init ``conv_out`` (its norm if any). Default ``True``.
    """

    _dims = 2

    def __init__(
        self,
        in_channels: int,
        sub_sample: bool = False,
        conv_cfg: Optional[Dict] = dict(type="Conv2d"),
        reduction: int = 2,
        use_scale: bool = True,
        norm_cfg: Optional[Dict] = None,
        mode: str = "embedded_gaussian",
        std: float = 0.01,
        zeros_init: bool = True,
    ):
        super().__init__(in_channels, reduction=reduction, use_scale=use_scale, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, mode=mode, std=std, zeros_init=zeros_init)
        self._apply_sub_sample(sub_sample, nn.MaxPool2d(kernel_size=(2, 2)))


class NonLocal3d(_NonLocalNd):
    """3D non-local block (mmcv ``NonLocal3d``) on ``[N, C, T, H, W]``.

    Args:
        in_channels: Input channels.
        sub_sample: Max-pool (1x2x2, spatial only) ``g`` and ``phi``. Default ``False``.
        conv_cfg: Default ``dict(type="Conv3d")``.
        reduction, use_scale, norm_cfg, mode, std, zeros_init: See :class:`NonLocal2d`
            (defaults 2, ``True``, ``None``, ``"embedded_gaussian"``, 0.01, ``True``).
    """

    _dims = 3

    def __init__(
        self,
        in_channels: int,
        sub_sample: bool = False,
        conv_cfg: Optional[Dict] = dict(type="Conv3d"),
        reduction: int = 2,
        use_scale: bool = True,
        norm_cfg: Optional[Dict] = None,
        mode: str = "embedded_gaussian",
        std: float = 0.01,
        zeros_init: bool = True,
    ):
        super().__init__(in_channels, reduction=reduction, use_scale=use_scale, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, mode=mode, std=std, zeros_init=zeros_init)
        self._apply_sub_sample(sub_sample, nn.MaxPool3d(kernel_size=(1, 2, 2)))

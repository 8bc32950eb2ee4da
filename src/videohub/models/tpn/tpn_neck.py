"""Temporal Pyramid Network neck (mmaction2 ``TPN``).

Paper: Yang et al., "Temporal Pyramid Network for Action Recognition" (https://arxiv.org/abs/2004.03548).
The neck takes backbone features of several depths (``[N, C_i, T, H_i, W_i]``), aligns their spatial
semantics (spatial modulation), rescales their tempo (temporal modulation), mixes the levels top-down
and bottom-up (cascade or parallel flow), fuses both pyramids into a 2048-channel feature and, with
labels, returns the loss of an auxiliary head on the second-to-last level.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import NECKS, check_arguments
from ...layers.conv import ConvModule
from ...layers.init import constant_init, normal_init, xavier_init
from ...layers.losses import build_loss

IntOrTriple = Union[int, Sequence[int]]


def _tuple(value, name: str) -> tuple:
    """A list (as JSON configs store tuples) or tuple as a tuple, nested sequences included."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuple(v, name) if isinstance(v, (list, tuple)) else v for v in value)
    if isinstance(value, int):
        return value
    raise ConfigError(f"TPN {name} must be an int or a sequence, got {value!r}")


def _check_cfg(cfg: Optional[Dict], name: str, target=None, required: Sequence[str] = (),
               exclude: Sequence[str] = ()) -> Optional[Dict]:
    """Check a sub-config: a dict (or ``None``) with the ``required`` keys whose keys ``target`` accepts."""
    if cfg is None:
        return None
    if not isinstance(cfg, dict):
        raise ConfigError(f"TPN {name} must be a dict or None, got {type(cfg).__name__}")
    missing = [k for k in required if k not in cfg]
    if missing:
        raise ConfigError(f"TPN {name} needs the keys {list(required)}; missing {missing} in {cfg!r}")
    if target is not None:
        bad = [k for k in exclude if k in cfg]
        if bad:
            raise ConfigError(f"TPN {name}: {bad} are set by the neck itself and may not be given")
        check_arguments(target, cfg, f"TPN {name}")
    return cfg


class Identity(nn.Module):
    """Identity mapping (the spatial modulation of levels that need no downsampling)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class DownSample(nn.Module):
    """A ConvModule and a ceil-mode max pool, in the order ``downsample_position`` says.

    Args:
        in_channels, out_channels: Channels of the conv.
        kernel_size: Default ``(3, 1, 1)``.
        stride: Default ``(1, 1, 1)``.
        padding: Default ``(1, 0, 0)``.
        groups: Default 1.
        bias: Default ``False``.
        conv_cfg: Default ``dict(type="Conv3d")``.
        norm_cfg: Default ``None``.
        act_cfg: Default ``None``.
        downsample_position: ``"after"`` (default: conv then pool) or ``"before"`` (pool then conv).
        downsample_scale: Kernel and stride of the max pool. Default ``(1, 2, 2)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTriple = (3, 1, 1),
        stride: IntOrTriple = (1, 1, 1),
        padding: IntOrTriple = (1, 0, 0),
        groups: int = 1,
        bias: Union[bool, str] = False,
        conv_cfg: Dict = dict(type="Conv3d"),
        norm_cfg: Optional[Dict] = None,
        act_cfg: Optional[Dict] = None,
        downsample_position: str = "after",
        downsample_scale: IntOrTriple = (1, 2, 2),
    ):
        super().__init__()
        if downsample_position not in ("before", "after"):
            raise ConfigError(f"TPN DownSample downsample_position must be 'before' or 'after', "
                              f"got {downsample_position!r}")
        self.conv = ConvModule(in_channels, out_channels, _tuple(kernel_size, "kernel_size"),
                               _tuple(stride, "stride"), _tuple(padding, "padding"), groups=groups, bias=bias,
                               conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.downsample_position = downsample_position
        scale = _tuple(downsample_scale, "downsample_scale")
        self.pool = nn.MaxPool3d(scale, scale, (0, 0, 0), ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample_position == "before":
            return self.conv(self.pool(x))
        return self.pool(self.conv(x))


class LevelFusion(nn.Module):
    """Pool-then-conv each level to ``mid_channels[i]``, concatenate, and fuse with a 1x1x1 ConvModule.

    Args:
        in_channels: Channels of each level.
        mid_channels: Channels of each level after its :class:`DownSample` (grouped 1x1x1 conv, 32
            groups, BN, ReLU).
        out_channels: Channels of the fused output.
        downsample_scales: Max-pool scale of each level. Default ``((1, 1, 1), (1, 1, 1))``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        mid_channels: Sequence[int],
        out_channels: int,
        downsample_scales: Sequence[IntOrTriple] = ((1, 1, 1), (1, 1, 1)),
    ):
        super().__init__()
        if not (len(in_channels) == len(mid_channels) <= len(downsample_scales)):
            raise ConfigError(
                f"TPN level_fusion_cfg: in_channels {tuple(in_channels)}, mid_channels {tuple(mid_channels)} "
                f"and downsample_scales {tuple(downsample_scales)} need one entry per level")
        self.downsamples = nn.ModuleList()
        for i in range(len(in_channels)):
            self.downsamples.append(DownSample(
                in_channels[i], mid_channels[i], kernel_size=(1, 1, 1), stride=(1, 1, 1), bias=False,
                padding=(0, 0, 0), groups=32, norm_cfg=dict(type="BN3d", requires_grad=True),
                act_cfg=dict(type="ReLU", inplace=True), downsample_position="before",
                downsample_scale=downsample_scales[i]))
        self.fusion_conv = ConvModule(sum(mid_channels), out_channels, 1, stride=1, padding=0, bias=False,
                                      conv_cfg=dict(type="Conv3d"), norm_cfg=dict(type="BN3d", requires_grad=True),
                                      act_cfg=dict(type="ReLU", inplace=True))

    def forward(self, x: Sequence[torch.Tensor]) -> torch.Tensor:
        out = [downsample(feature) for downsample, feature in zip(self.downsamples, x)]
        return self.fusion_conv(torch.cat(out, 1))


class SpatialModulation(nn.Module):
    """Strided 1x3x3 ConvModules that bring every level to the top level's spatial size.

    A level with ``c`` channels gets ``floor(log2(out_channels // c))`` convs, each doubling the
    channels and halving ``H, W``; a level with no conv is passed through (:class:`Identity`).

    Args:
        in_channels: Channels of each level.
        out_channels: Channels of the top level.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int):
        super().__init__()
        self.spatial_modulation = nn.ModuleList()
        for channel in in_channels:
            scale = out_channels // channel
            if scale < 1:
                raise ConfigError(
                    f"TPN spatial_modulation_cfg: level with {channel} channels exceeds out_channels={out_channels}")
            downsample_factor = scale.bit_length() - 1  # floor(log2(scale))
            if downsample_factor < 1:
                op: nn.Module = Identity()
            else:
                op = nn.ModuleList()
                for factor in range(downsample_factor):
                    op.append(ConvModule(
                        channel * 2**factor, channel * 2 ** (factor + 1), (1, 3, 3), stride=(1, 2, 2),
                        padding=(0, 1, 1), bias=False, conv_cfg=dict(type="Conv3d"),
                        norm_cfg=dict(type="BN3d", requires_grad=True), act_cfg=dict(type="ReLU", inplace=True)))
            self.spatial_modulation.append(op)

    def forward(self, x: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        out = []
        for op, feature in zip(self.spatial_modulation, x):
            if isinstance(op, nn.ModuleList):
                for conv in op:
                    feature = conv(feature)
                out.append(feature)
            else:
                out.append(op(feature))
        return out


class AuxHead(nn.Module):
    """Auxiliary classifier on one pyramid level; it only runs (and returns ``loss_aux``) with a target.

    Args:
        in_channels: Channels of its input level.
        out_channels: Number of classes.
        loss_weight: Weight of the auxiliary loss. Default 0.5.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        loss_weight: float = 0.5,
        loss_cls: Dict = dict(type="CrossEntropyLoss"),
    ):
        super().__init__()
        self.conv = ConvModule(in_channels, in_channels * 2, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1),
                               bias=False, conv_cfg=dict(type="Conv3d"), norm_cfg=dict(type="BN3d", requires_grad=True))
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.loss_weight = loss_weight
        self.dropout = nn.Dropout(p=0.5)
        self.fc = nn.Linear(in_channels * 2, out_channels)
        self.loss_cls = build_loss(loss_cls)

    def init_weights(self) -> None:
        """N(0, 0.01) fc, Xavier-uniform conv, unit BN."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                normal_init(m, std=0.01)
            if isinstance(m, nn.Conv3d):
                xavier_init(m, distribution="uniform")
            if isinstance(m, nn.BatchNorm3d):
                constant_init(m, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The auxiliary class scores ``[N, out_channels]`` of a level ``[N, in_channels, T, H, W]``."""
        x = self.avg_pool(self.conv(x)).flatten(1)
        return self.fc(self.dropout(x))

    def forward(self, x: torch.Tensor, target: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """``{"loss_aux": loss_weight * loss_cls(scores, target)}``, or ``{}`` when ``target`` is ``None``."""
        if target is None:
            return {}
        scores = self.logits(x)
        if target.dim() == 0:
            target = target.unsqueeze(0)
        return {"loss_aux": self.loss_weight * self.loss_cls(scores, target)}


class TemporalModulation(nn.Module):
    """A grouped (32 groups) 3x1x1 conv followed by a ceil-mode temporal max pool.

    Args:
        in_channels, out_channels: Channels of the conv.
        downsample_scale: Temporal kernel and stride of the max pool. Default 8.
    """

    def __init__(self, in_channels: int, out_channels: int, downsample_scale: int = 8):
        super().__init__()
        self.conv = ConvModule(in_channels, out_channels, (3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0),
                               bias=False, groups=32, conv_cfg=dict(type="Conv3d"), act_cfg=None)
        self.pool = nn.MaxPool3d((downsample_scale, 1, 1), (downsample_scale, 1, 1), (0, 0, 0), ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


@NECKS.register()
class TPN(nn.Module):
    """TPN neck (mmaction2 ``TPN``).

    Args:
        in_channels: Channels of each backbone level (a tuple; a list is accepted for JSON configs).
        out_channels: Channels of each level after temporal modulation.
        spatial_modulation_cfg: ``dict(in_channels=..., out_channels=...)`` of
            :class:`SpatialModulation`; required (mmaction2 fails without it). Default ``None``.
        temporal_modulation_cfg: ``dict(downsample_scales=...)`` with one temporal pool scale per
            level; ``None`` (default) means no temporal modulation, as in mmaction2 (whose forward
            then has no level to fuse).
        upsample_cfg: ``nn.Upsample`` arguments of the top-down flow, e.g. ``dict(scale_factor=(1, 1, 1))``;
            default ``None`` (no top-down mixing).
        downsample_cfg: :class:`DownSample` arguments of the bottom-up flow; default ``None``.
        level_fusion_cfg: :class:`LevelFusion` arguments (``in_channels``, ``mid_channels``,
            ``out_channels``, optional ``downsample_scales``); required. Default ``None``.
        aux_head_cfg: :class:`AuxHead` arguments but ``in_channels`` (``out_channels`` required,
            optional ``loss_weight``, ``loss_cls``); default ``None`` (no auxiliary loss).
        flow_type: ``"cascade"`` (default: the bottom-up flow starts from the top-down result) or
            ``"parallel"`` (both start from the temporal-modulation outputs).

    ``forward(x, target=None)`` returns ``(feature [N, 2048, T', H', W'], {"loss_aux": ...} or {})``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        spatial_modulation_cfg: Optional[Dict] = None,
        temporal_modulation_cfg: Optional[Dict] = None,
        upsample_cfg: Optional[Dict] = None,
        downsample_cfg: Optional[Dict] = None,
        level_fusion_cfg: Optional[Dict] = None,
        aux_head_cfg: Optional[Dict] = None,
        flow_type: str = "cascade",
    ):
        super().__init__()
        if not isinstance(in_channels, (list, tuple)) or not all(isinstance(c, int) for c in in_channels):
            raise ConfigError(f"TPN in_channels must be a tuple of ints, got {in_channels!r}")
        if not isinstance(out_channels, int) or isinstance(out_channels, bool):
            raise ConfigError(f"TPN out_channels must be an int, got {out_channels!r}")
        if flow_type not in ("cascade", "parallel"):
            raise ConfigError(f"TPN flow_type must be 'cascade' or 'parallel', got {flow_type!r}")
        spatial_modulation_cfg = _check_cfg(spatial_modulation_cfg, "spatial_modulation_cfg", SpatialModulation,
                                            ("in_channels", "out_channels"))
        temporal_modulation_cfg = _check_cfg(temporal_modulation_cfg, "temporal_modulation_cfg",
                                             required=("downsample_scales",))
        upsample_cfg = _check_cfg(upsample_cfg, "upsample_cfg", nn.Upsample)
        downsample_cfg = _check_cfg(downsample_cfg, "downsample_cfg", DownSample,
                                    exclude=("in_channels", "out_channels"))
        level_fusion_cfg = _check_cfg(level_fusion_cfg, "level_fusion_cfg", LevelFusion,
                                      ("in_channels", "mid_channels", "out_channels"))
        aux_head_cfg = _check_cfg(aux_head_cfg, "aux_head_cfg", AuxHead, ("out_channels",), exclude=("in_channels",))
        if spatial_modulation_cfg is None or level_fusion_cfg is None:
            raise ConfigError("TPN needs spatial_modulation_cfg and level_fusion_cfg dicts (both are None-default "
                              "in mmaction2's signature but required to build the neck)")
        self.in_channels = tuple(in_channels)
        self.out_channels = out_channels
        self.num_tpn_stages = len(in_channels)
        if temporal_modulation_cfg is not None and len(temporal_modulation_cfg["downsample_scales"]) < \
                self.num_tpn_stages:
            raise ConfigError(f"TPN temporal_modulation_cfg downsample_scales "
                              f"{temporal_modulation_cfg['downsample_scales']!r} need {self.num_tpn_stages} entries")
        if aux_head_cfg is not None and self.num_tpn_stages < 2:
            raise ConfigError("TPN aux_head_cfg needs at least two levels (the head reads in_channels[-2])")
        self.flow_type = flow_type

        self.temporal_modulation_ops = nn.ModuleList()
        self.upsample_ops = nn.ModuleList()
        self.downsample_ops = nn.ModuleList()
        level_fusion_cfg = {k: _tuple(v, f"level_fusion_cfg.{k}") for k, v in level_fusion_cfg.items()}
        self.level_fusion_1 = LevelFusion(**level_fusion_cfg)
        self.spatial_modulation = SpatialModulation(
            **{k: _tuple(v, f"spatial_modulation_cfg.{k}") for k, v in spatial_modulation_cfg.items()})
        for i in range(self.num_tpn_stages):
            if temporal_modulation_cfg is not None:
                scale = temporal_modulation_cfg["downsample_scales"][i]
                self.temporal_modulation_ops.append(TemporalModulation(self.in_channels[-1], out_channels, scale))
            if i < self.num_tpn_stages - 1:
                if upsample_cfg is not None:
                    kwargs = {k: _tuple(v, f"upsample_cfg.{k}") if isinstance(v, (list, tuple)) else v
                              for k, v in upsample_cfg.items()}
                    self.upsample_ops.append(nn.Upsample(**kwargs))
                if downsample_cfg is not None:
                    self.downsample_ops.append(DownSample(out_channels, out_channels, **downsample_cfg))
        out_dims = level_fusion_cfg["out_channels"]
        self.level_fusion_2 = LevelFusion(**level_fusion_cfg)
        self.pyramid_fusion = ConvModule(out_dims * 2, 2048, 1, stride=1, padding=0, bias=False,
                                         conv_cfg=dict(type="Conv3d"), norm_cfg=dict(type="BN3d", requires_grad=True))
        if aux_head_cfg is not None:
            self.aux_head: Optional[AuxHead] = AuxHead(self.in_channels[-2], **aux_head_cfg)
        else:
            self.aux_head = None
        self.init_weights()

    def init_weights(self) -> None:
        """Xavier-uniform Conv3d weights and unit BN3d weights, then the aux head's own init."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                xavier_init(m, distribution="uniform")
            if isinstance(m, nn.BatchNorm3d):
                constant_init(m, 1)
        if self.aux_head is not None:
            self.aux_head.init_weights()

    def forward(
        self, x: Sequence[torch.Tensor], target: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Fuse the levels ``x`` (each ``[N, C_i, T, H_i, W_i]``); return ``(feature, aux_losses)``."""
        if not isinstance(x, (list, tuple)) or len(x) != self.num_tpn_stages:
            got = f"{len(x)} tensors" if isinstance(x, (list, tuple)) else type(x).__name__
            raise ShapeError(f"TPN expects a sequence of {self.num_tpn_stages} features, got {got}")
        for i, (feature, channels) in enumerate(zip(x, self.in_channels)):
            if feature.dim() != 5 or feature.shape[1] != channels:
                raise ShapeError(f"TPN level {i} must be [N, {channels}, T, H, W], got {tuple(feature.shape)}")
        loss_aux: Dict[str, torch.Tensor] = {}
        if self.aux_head is not None:
            loss_aux = self.aux_head(x[-2], target)

        spatial_outs = self.spatial_modulation(x)
        temporal_outs = [op(spatial_outs[i]) for i, op in enumerate(self.temporal_modulation_ops)]

        outs = [out.clone() for out in temporal_outs]
        if len(self.upsample_ops) != 0:
            for i in range(self.num_tpn_stages - 1, 0, -1):
                outs[i - 1] = outs[i - 1] + self.upsample_ops[i - 1](outs[i])
        top_down_outs = self.level_fusion_1(outs)

        if self.flow_type == "parallel":
            outs = [out.clone() for out in temporal_outs]
        if len(self.downsample_ops) != 0:
            for i in range(self.num_tpn_stages - 1):
                outs[i + 1] = outs[i + 1] + self.downsample_ops[i](outs[i])
        bottom_up_outs = self.level_fusion_2(outs)

        outs = self.pyramid_fusion(torch.cat([top_down_outs, bottom_up_outs], 1))
        return outs, loss_aux

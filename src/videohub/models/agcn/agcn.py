"""``AGCN``: the 2s-AGCN backbone (mmaction2 ``backbones/agcn.py``).

Like ST-GCN, but each block's graph convolution adds to the fixed adjacency a learned one
(``PA``) and a data-dependent one (the softmax of embedded joint similarities).
Input keypoints ``(N, C, T, V, M)``; output features ``(N*M, 256, T/4, V)``.
"""

from __future__ import annotations

import math
from typing import Dict, Optional

import torch
from torch import nn

from ...errors import ConfigError
from ...layers.pretrained import load_pretrained
from ...registry import BACKBONES
from ..stgcn.graph import Graph
from ..stgcn.stgcn import STAGES, TEMPORAL_KERNEL, check_joints, normalize_keypoints

NUM_SUBSETS = 3  # self, inward and outward bones (the ``agcn`` graph strategy)


def _conv_init(conv: nn.Conv2d) -> None:
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    nn.init.zeros_(conv.bias)


def _bn_init(bn: nn.BatchNorm2d, scale: float) -> None:
    nn.init.constant_(bn.weight, scale)
    nn.init.zeros_(bn.bias)


class AdaptiveGraphConv(nn.Module):
    """Adaptive graph convolution over ``K = 3`` subsets (mmaction2 AGCN's ``ConvTemporalGraphical``).

    For subset ``k``: ``A_k + PA_k + softmax(theta_k(x)^T phi_k(x))`` mixes the joints, a 1x1 conv
    maps the channels; the subsets are summed, batch-normalized and added to a (projected) residual.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        num_joints: Joints ``V`` of the graph (size of ``PA``).
    """

    def __init__(self, in_channels: int, out_channels: int, num_joints: int):
        super().__init__()
        self.PA = nn.Parameter(torch.full((NUM_SUBSETS, num_joints, num_joints), 1e-6))
        self.inter_c = out_channels // 4
        self.conv_a = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(NUM_SUBSETS))
        self.conv_b = nn.ModuleList(nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(NUM_SUBSETS))
        self.conv_d = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(NUM_SUBSETS))
        if in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        else:
            self.down = None
        self.bn = nn.BatchNorm2d(out_channels)
        self.soft = nn.Softmax(-2)
        self.relu = nn.ReLU()
        self.init_weights()

    def init_weights(self) -> None:
        """mmaction2's init: ``PA`` at 1e-6, Kaiming convs, unit norms, ``bn`` at 1e-6, ``conv_d`` N(0, 2/(out*in*K))."""
        nn.init.constant_(self.PA, 1e-6)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                _conv_init(module)
            elif isinstance(module, nn.BatchNorm2d):
                _bn_init(module, 1)
        _bn_init(self.bn, 1e-6)
        for conv in self.conv_d:
            out_c, in_c, k = conv.weight.shape[:3]
            nn.init.normal_(conv.weight, 0, math.sqrt(2.0 / (out_c * in_c * k * NUM_SUBSETS)))
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, C, T, V)``, ``adjacency`` ``(3, V, V)`` → ``(N, out_channels, T, V)``."""
        n, c, t, v = x.shape
        adjacency = adjacency + self.PA
        flat = x.view(n, c * t, v)
        y = None
        for k in range(NUM_SUBSETS):
            theta = self.conv_a[k](x).permute(0, 3, 1, 2).reshape(n, v, self.inter_c * t)
            phi = self.conv_b[k](x).view(n, self.inter_c * t, v)
            attention = self.soft(torch.matmul(theta, phi) / theta.size(-1)) + adjacency[k]
            z = self.conv_d[k](torch.matmul(flat, attention).view(n, c, t, v))
            y = z if y is None else y + z
        y = self.bn(y) + (self.down(x) if self.down is not None else x)
        return self.relu(y)


class AGCNBlock(nn.Module):
    """Adaptive graph convolution, then temporal conv (kernel 9)-BN-dropout, plus a residual, then ReLU.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        num_joints: Joints ``V`` of the graph.
        stride: Temporal stride. Default 1.
        dropout: Dropout after the temporal conv. Default 0.
        residual: Whether to add a residual (identity, or a strided 1x1 conv + BN). Default ``True``.
    """

    def __init__(self, in_channels: int, out_channels: int, num_joints: int, stride: int = 1,
                 dropout: float = 0.0, residual: bool = True):
        super().__init__()
        self.gcn = AdaptiveGraphConv(in_channels, out_channels, num_joints)
        self.tcn = nn.Sequential(
            nn.Conv2d(out_channels, out_channels, (TEMPORAL_KERNEL, 1), (stride, 1), ((TEMPORAL_KERNEL - 1) // 2, 0)),
            nn.BatchNorm2d(out_channels), nn.Dropout(dropout),
        )
        self.use_residual = residual
        if residual and (in_channels != out_channels or stride != 1):
            self.residual = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=(stride, 1)),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.residual = None
        self.relu = nn.ReLU(inplace=True)
        self.init_weights()

    def init_weights(self) -> None:
        """mmaction2's init: the graph conv's own, a Kaiming temporal conv and unit BN; the residual
        projection keeps PyTorch's default init (mmaction2 never re-initializes it)."""
        self.gcn.init_weights()
        _conv_init(self.tcn[0])
        _bn_init(self.tcn[1], 1)
        if self.residual is not None:
            for module in self.residual:
                module.reset_parameters()

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        out = self.tcn(self.gcn(x, adjacency))
        if self.use_residual:
            out = out + (self.residual(x) if self.residual is not None else x)
        return self.relu(out)


@BACKBONES.register()
class AGCN(nn.Module):
    """2s-AGCN backbone (Shi et al., CVPR 2019), mmaction2 ``AGCN``: one stream (joints or bones).

    Args:
        in_channels: Channels per joint (x, y, z or x, y, score: 3).
        graph_cfg: ``Graph`` arguments; the strategy must give 3 subsets (``"agcn"``, or ``"spatial"``).
        data_bn: BatchNorm over the ``V * in_channels`` input channels. Default ``True``.
        pretrained: Local checkpoint loaded by :meth:`init_weights`. Default ``None``.
        dropout: Dropout inside every block but the first. Default 0.
    """

    feat_dim = 256

    def __init__(self, in_channels: int, graph_cfg: Dict, data_bn: bool = True, pretrained: Optional[str] = None,
                 dropout: float = 0.0):
        super().__init__()
        if not isinstance(graph_cfg, dict):
            raise ConfigError(f"AGCN graph_cfg must be a dict (layout, strategy), got {graph_cfg!r}")
        self.in_channels = in_channels
        self.graph = Graph(**graph_cfg)
        if self.graph.A.shape[0] != NUM_SUBSETS:
            raise ConfigError(f"AGCN needs a graph of {NUM_SUBSETS} subsets (strategy 'agcn'); "
                              f"{graph_cfg} gives {self.graph.A.shape[0]}")
        self.register_buffer("A", torch.tensor(self.graph.A, dtype=torch.float32))
        joints = self.A.shape[1]
        self.data_bn = nn.BatchNorm1d(in_channels * joints) if data_bn else None
        blocks = [AGCNBlock(in_channels, 64, joints, 1, residual=False)]
        blocks += [AGCNBlock(cin, cout, joints, stride, dropout=dropout) for cin, cout, stride in STAGES]
        self.agcn_networks = nn.ModuleList(blocks)
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """Load ``pretrained`` (a local file), or (re)run every block's mmaction2 init (data BN: unit weight)."""
        if isinstance(self.pretrained, str):
            load_pretrained(self, self.pretrained)
            return
        if self.pretrained is not None:
            raise ConfigError(f"AGCN pretrained must be a str or None, got {type(self.pretrained).__name__}")
        if self.data_bn is not None:
            self.data_bn.reset_parameters()
        for block in self.agcn_networks:
            block.init_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Keypoints ``(N, C, T, V, M)`` → features ``(N*M, 256, T', V)``."""
        check_joints(x, self.A, self.in_channels, "AGCN")
        x = normalize_keypoints(self.data_bn, x)
        for block in self.agcn_networks:
            x = block(x, self.A)
        return x

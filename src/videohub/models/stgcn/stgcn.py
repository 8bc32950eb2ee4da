"""``STGCN``: the spatial temporal graph convolutional backbone (mmaction2 ``backbones/stgcn.py``).

Input keypoints ``(N, C, T, V, M)`` (C coordinates and score, T frames, V joints, M persons);
output features ``(N*M, 256, T/4, V)``. Submodule names follow mmaction2 so checkpoints load as they are.
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...layers.init import constant_init, kaiming_init, normal_init
from ...layers.pretrained import load_pretrained
from ...registry import BACKBONES
from .graph import Graph

TEMPORAL_KERNEL = 9
# (in, out, temporal stride) of the ten blocks after the first (which maps in_channels to 64)
STAGES = ((64, 64, 1), (64, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 128, 1),
          (128, 256, 2), (256, 256, 1), (256, 256, 1))


def normalize_keypoints(data_bn: Optional[nn.BatchNorm1d], x: torch.Tensor) -> torch.Tensor:
    """``(N, C, T, V, M)`` → ``(N*M, C, T, V)``, with a BatchNorm over the ``V*C`` channels when given."""
    if x.dim() != 5:
        raise ShapeError(f"skeleton backbones expect keypoints (N, C, T, V, M), got shape {tuple(x.shape)}")
    n, c, t, v, m = x.shape
    x = x.float().permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
    if data_bn is not None:
        x = data_bn(x)
    return x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)


def check_joints(x: torch.Tensor, A: torch.Tensor, in_channels: int, name: str) -> None:
    """Raise :class:`ShapeError` unless ``x`` ``(N, C, T, V, M)`` has ``in_channels`` and the graph's joints."""
    if x.dim() != 5 or x.shape[1] != in_channels or x.shape[3] != A.shape[1]:
        raise ShapeError(f"{name} expects keypoints (N, {in_channels}, T, {A.shape[1]}, M) for its graph, "
                         f"got shape {tuple(x.shape)}")


class ConvTemporalGraphical(nn.Module):
    """Graph convolution: a 1x1 conv to ``K * out_channels`` channels, then a sum over ``K`` adjacencies.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        kernel_size: Number of adjacency subsets ``K``.
        bias: Whether the conv has a bias. Default ``True``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True):
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels * kernel_size, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, C, T, V)``, ``adjacency`` ``(K, V, V)`` → ``(N, out_channels, T, V)``."""
        x = self.conv(x)
        n, kc, t, v = x.shape
        x = x.view(n, self.kernel_size, kc // self.kernel_size, t, v)
        return torch.einsum("nkctv,kvw->nctw", x, adjacency).contiguous()


class STGCNBlock(nn.Module):
    """Graph convolution, then BN-ReLU-temporal conv (kernel 9)-BN-dropout, plus a residual, then ReLU.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        num_subsets: Number of adjacency subsets ``K``.
        stride: Temporal stride. Default 1.
        dropout: Dropout after the temporal conv. Default 0.
        residual: Whether to add a residual (identity, or a strided 1x1 conv + BN). Default ``True``.
    """

    def __init__(self, in_channels: int, out_channels: int, num_subsets: int, stride: int = 1,
                 dropout: float = 0.0, residual: bool = True):
        super().__init__()
        self.gcn = ConvTemporalGraphical(in_channels, out_channels, num_subsets)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
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

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        out = self.tcn(self.gcn(x, adjacency))
        if self.use_residual:
            out = out + (self.residual(x) if self.residual is not None else x)
        return self.relu(out)


@BACKBONES.register()
class STGCN(nn.Module):
    """ST-GCN backbone (Yan et al., AAAI 2018), mmaction2 ``STGCN``.

    Args:
        in_channels: Channels per joint (x, y, score: 3).
        graph_cfg: ``Graph`` arguments: ``layout``, ``strategy``, optional ``max_hop``, ``dilation``.
        edge_importance_weighting: A learnable ``(K, V, V)`` mask on the adjacency of every block. Default ``True``.
        data_bn: BatchNorm over the ``V * in_channels`` input channels. Default ``True``.
        pretrained: Local checkpoint loaded by :meth:`init_weights`. Default ``None``.
        dropout: Dropout inside every block but the first. Default 0.
    """

    feat_dim = 256

    def __init__(self, in_channels: int, graph_cfg: Dict, edge_importance_weighting: bool = True,
                 data_bn: bool = True, pretrained: Optional[str] = None, dropout: float = 0.0):
        super().__init__()
        if not isinstance(graph_cfg, dict):
            raise ConfigError(f"STGCN graph_cfg must be a dict (layout, strategy), got {graph_cfg!r}")
        self.in_channels = in_channels
        self.graph = Graph(**graph_cfg)
        self.register_buffer("A", torch.tensor(self.graph.A, dtype=torch.float32))
        subsets, joints = self.A.shape[0], self.A.shape[1]
        self.data_bn = nn.BatchNorm1d(in_channels * joints) if data_bn else None
        blocks = [STGCNBlock(in_channels, 64, subsets, 1, residual=False)]
        blocks += [STGCNBlock(cin, cout, subsets, stride, dropout=dropout) for cin, cout, stride in STAGES]
        self.st_gcn_networks = nn.ModuleList(blocks)
        if edge_importance_weighting:
            self.edge_importance = nn.ParameterList([nn.Parameter(torch.ones(self.A.shape)) for _ in blocks])
        else:
            self.edge_importance = None
        self.pretrained = pretrained

    def init_weights(self) -> None:
        """Load ``pretrained`` (a local file), or Kaiming convs, normal linears and unit norms (mmaction2)."""
        if isinstance(self.pretrained, str):
            load_pretrained(self, self.pretrained)
            return
        if self.pretrained is not None:
            raise ConfigError(f"STGCN pretrained must be a str or None, got {type(self.pretrained).__name__}")
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                kaiming_init(module)
            elif isinstance(module, nn.Linear):
                normal_init(module)
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                constant_init(module, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Keypoints ``(N, C, T, V, M)`` → features ``(N*M, 256, T', V)``."""
        check_joints(x, self.A, self.in_channels, "STGCN")
        x = normalize_keypoints(self.data_bn, x)
        for index, block in enumerate(self.st_gcn_networks):
            adjacency = self.A if self.edge_importance is None else self.A * self.edge_importance[index]
            x = block(x, adjacency)
        return x

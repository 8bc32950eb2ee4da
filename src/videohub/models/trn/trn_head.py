"""``TRNHead``: Temporal Relation Network head (mmaction2 ``TRNHead``, https://arxiv.org/abs/1711.08496).

``relation_type="TRN"`` fuses all segments with one MLP (``RelationModule``).
``"TRNMultiScale"`` (``RelationModuleMultiScale``) sums MLPs over ordered frame subsets of every
scale from ``num_segments`` down to 2; for each scale below the largest it draws at most 3 subsets
with ``numpy.random.choice(..., replace=False)`` from numpy's *global* RNG, in training and in
eval, exactly as mmaction2 does (so ``np.random.seed(s)`` before a forward reproduces the
reference's draws). The subsets drawn by the last forward are kept in
``consensus.last_sampled_relations``.
"""

from __future__ import annotations

import itertools
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import HEADS
from ...layers.heads import BaseHead


class RelationModule(nn.Module):
    """Single-scale relation: ``ReLU → Linear(num_segments * hidden_dim, 512) → ReLU → Linear(512, classes)``.

    Args:
        hidden_dim: Per-segment feature width.
        num_segments: Frames per clip.
        num_classes: Number of classes.
    """

    def __init__(self, hidden_dim: int, num_segments: int, num_classes: int):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.num_segments = num_segments
        self.num_classes = num_classes
        bottleneck_dim = 512
        self.classifier = nn.Sequential(
            nn.ReLU(),
            nn.Linear(self.num_segments * self.hidden_dim, bottleneck_dim),
            nn.ReLU(),
            nn.Linear(bottleneck_dim, self.num_classes),
        )

    def init_weights(self) -> None:
        """PyTorch's default Linear init (kaiming-uniform), which mmaction2 relies on."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                m.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, num_segments, hidden_dim]`` → ``[N, num_classes]``."""
        return self.classifier(x.reshape(x.size(0), -1))


class RelationModuleMultiScale(nn.Module):
    """Multi-scale relations over ordered frame subsets (see the module docstring).

    Args:
        hidden_dim: Per-segment feature width.
        num_segments: Frames per clip (at least 2).
        num_classes: Number of classes.
    """

    def __init__(self, hidden_dim: int, num_segments: int, num_classes: int):
        super().__init__()
        if num_segments < 2:
            raise ConfigError(f"TRNMultiScale needs num_segments >= 2, got {num_segments}")
        self.hidden_dim = hidden_dim
        self.num_segments = num_segments
        self.num_classes = num_classes
        self.scales = range(num_segments, 1, -1)
        self.relations_scales: List[List[tuple]] = []
        self.subsample_scales: List[int] = []
        max_subsample = 3
        for scale in self.scales:
            relations_scale = list(itertools.combinations(range(self.num_segments), scale))
            self.relations_scales.append(relations_scale)
            self.subsample_scales.append(min(max_subsample, len(relations_scale)))
        bottleneck_dim = 256
        self.fc_fusion_scales = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(scale * self.hidden_dim, bottleneck_dim), nn.ReLU(),
                          nn.Linear(bottleneck_dim, self.num_classes))
            for scale in self.scales
        )
        self.last_sampled_relations: List[Dict] = []

    def init_weights(self) -> None:
        """PyTorch's default Linear init (kaiming-uniform), which mmaction2 relies on."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                m.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, num_segments, hidden_dim]`` → ``[N, num_classes]``; draws from numpy's global RNG."""
        first = self.relations_scales[0][0]
        act_all = x[:, list(first), :].reshape(x.size(0), self.scales[0] * self.hidden_dim)
        act_all = self.fc_fusion_scales[0](act_all)
        sampled = [{"scale": self.scales[0], "relations": [list(first)]}]
        for scale_id in range(1, len(self.scales)):
            picks = np.random.choice(len(self.relations_scales[scale_id]), self.subsample_scales[scale_id],
                                     replace=False)
            relations = []
            for idx in picks:
                relation = self.relations_scales[scale_id][idx]
                relations.append(list(relation))
                act_relation = x[:, list(relation), :].reshape(x.size(0), self.scales[scale_id] * self.hidden_dim)
                act_all = act_all + self.fc_fusion_scales[scale_id](act_relation)
            sampled.append({"scale": self.scales[scale_id], "relations": relations})
        self.last_sampled_relations = sampled
        return act_all


@HEADS.register()
class TRNHead(BaseHead):
    """Class head for TRN.

    Args:
        num_classes: Number of classes.
        in_channels: Channels of the backbone feature.
        num_segments: Frames per clip. Default 8.
        loss_cls: Loss config. Default ``dict(type="CrossEntropyLoss")``.
        spatial_type: ``"avg"`` (default) or ``None`` (input already pooled).
        relation_type: ``"TRNMultiScale"`` (default) or ``"TRN"``.
        hidden_dim: Width of the per-segment projection ``fc_cls``. Default 256.
        dropout_ratio: Dropout before ``fc_cls``. Default 0.8.
        init_std: Std of ``fc_cls``'s normal init. Default 0.001.
        multi_class, label_smooth_eps, topk: See :class:`BaseHead` (defaults ``False``, 0.0, ``(1, 5)``).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        num_segments: int = 8,
        loss_cls: Dict = dict(type="CrossEntropyLoss"),
        spatial_type: Optional[str] = "avg",
        relation_type: str = "TRNMultiScale",
        hidden_dim: int = 256,
        dropout_ratio: float = 0.8,
        init_std: float = 0.001,
        multi_class: bool = False,
        label_smooth_eps: float = 0.0,
        topk: Sequence[int] = (1, 5),
    ):
        super().__init__(num_classes, in_channels, loss_cls, multi_class, label_smooth_eps, topk)
        if spatial_type not in ("avg", None):
            raise ConfigError(f"TRNHead spatial_type must be 'avg' or None, got {spatial_type!r}")
        self.num_segments = num_segments
        self.spatial_type = spatial_type
        self.relation_type = relation_type
        self.hidden_dim = hidden_dim
        if relation_type == "TRN":
            self.consensus = RelationModule(hidden_dim, num_segments, num_classes)
        elif relation_type == "TRNMultiScale":
            self.consensus = RelationModuleMultiScale(hidden_dim, num_segments, num_classes)
        else:
            raise ConfigError(f"TRNHead relation_type must be 'TRN' or 'TRNMultiScale', got {relation_type!r}")
        self.add_classifier(dropout_ratio, init_std, out_features=hidden_dim)
        self.avg_pool = nn.AdaptiveAvgPool2d(1) if spatial_type == "avg" else None
        self.init_weights()

    def init_weights(self) -> None:
        """Normal(0, ``init_std``) ``fc_cls``; PyTorch's default init for the relation MLPs."""
        super().init_weights()
        self.consensus.init_weights()

    def forward(self, x: torch.Tensor, num_segs: Optional[int] = None) -> torch.Tensor:
        """``x``: ``[N * num_segments, C, H, W]`` → ``[N, num_classes]``. ``num_segs`` is unused."""
        if self.avg_pool is not None:
            x = self.avg_pool(x)
        x = self.classify(torch.flatten(x, 1))
        if x.size(0) % self.num_segments != 0:
            raise ShapeError(
                f"TRNHead: {x.size(0)} segment features are not a multiple of num_segments={self.num_segments}"
            )
        x = x.view((-1, self.num_segments) + x.size()[1:])
        return self.consensus(x)

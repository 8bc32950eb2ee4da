"""Skeleton graphs of ST-GCN and 2s-AGCN (mmaction2 ``skeleton_gcn.utils.Graph``).

A layout names the joints and their bones; a strategy splits each joint's neighbourhood into
``K`` subsets, giving the stacked adjacency ``A`` of shape ``(K, V, V)`` the graph convolutions
use (``A[k, j, i]`` weighs what joint ``i`` sends to joint ``j``).
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from ...errors import ConfigError

Edge = Tuple[int, int]

# layout -> (number of joints, bones as (child, parent) pairs, 0-based, center joint)
_OPENPOSE_18 = [(4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2), (5, 1),
                (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14)]
_OPENPOSE_25 = [(4, 3), (3, 2), (7, 6), (6, 5), (23, 22), (22, 11), (24, 11), (11, 10), (10, 9), (9, 8),
                (20, 19), (19, 14), (21, 14), (14, 13), (13, 12), (12, 8), (8, 1), (5, 1), (2, 1), (0, 1),
                (15, 0), (16, 0), (17, 15), (18, 16)]
# The NTU and COCO tables are 1-based in their datasets' documentation; kept so, shifted below.
_NTU_1BASE = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10),
              (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23),
              (23, 8), (24, 25), (25, 12)]
_NTU_EDGE_1BASE = [(1, 2), (3, 2), (4, 3), (5, 2), (6, 5), (7, 6), (8, 7), (9, 2), (10, 9), (11, 10), (12, 11),
                   (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (21, 22),
                   (22, 8), (23, 24), (24, 12)]
_COCO_1BASE = [(16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (8, 6), (9, 7),
               (10, 8), (11, 9), (2, 3), (2, 1), (3, 1), (4, 2), (5, 3), (4, 6), (5, 7)]


def _zero_based(pairs: Sequence[Edge]) -> List[Edge]:
    return [(i - 1, j - 1) for i, j in pairs]


LAYOUTS: Dict[str, Tuple[int, List[Edge], int]] = {
    "openpose-18": (18, list(_OPENPOSE_18), 1),
    "openpose-25": (25, list(_OPENPOSE_25), 1),
    "ntu-rgb+d": (25, _zero_based(_NTU_1BASE), 20),
    "ntu_edge": (24, _zero_based(_NTU_EDGE_1BASE), 2),
    "coco": (17, _zero_based(_COCO_1BASE), 0),
}
STRATEGIES = ("uniform", "distance", "spatial", "agcn")
# mmaction2 0.24.1 defines the directed bone lists the ``agcn`` strategy needs only for these layouts.
AGCN_LAYOUTS = ("openpose-25", "ntu-rgb+d")


def hop_distance(num_node: int, edges: Sequence[Edge], max_hop: int = 1) -> np.ndarray:
    """Hops between every pair of joints (``inf`` beyond ``max_hop``, default 1), edges undirected."""
    adjacency = np.zeros((num_node, num_node))
    for i, j in edges:
        adjacency[i, j] = adjacency[j, i] = 1
    hops = np.full((num_node, num_node), np.inf)
    reach = np.stack([np.linalg.matrix_power(adjacency, d) for d in range(max_hop + 1)]) > 0
    for d in range(max_hop, -1, -1):
        hops[reach[d]] = d
    return hops


def normalize_digraph(adjacency: np.ndarray) -> np.ndarray:
    """``A D^-1``: each column divided by its sum (columns summing to 0 stay 0)."""
    degree = adjacency.sum(0)
    inverse = np.zeros_like(degree, dtype=np.float64)
    np.divide(1.0, degree, out=inverse, where=degree > 0)
    return adjacency @ np.diag(inverse)


def edges_to_matrix(edges: Sequence[Edge], num_node: int) -> np.ndarray:
    """``M[j, i] = 1`` for every directed edge ``(i, j)``."""
    matrix = np.zeros((num_node, num_node))
    for i, j in edges:
        matrix[j, i] = 1
    return matrix


class Graph:
    """A skeleton graph and its partitioned adjacency ``A`` (``(K, V, V)`` float64).

    Args:
        layout: ``"openpose-18"`` (default), ``"openpose-25"``, ``"ntu-rgb+d"``, ``"ntu_edge"`` or ``"coco"``.
        strategy: ``"uniform"`` (default; K=1), ``"distance"`` (one subset per hop), ``"spatial"``
            (root / closer to the center / farther; ST-GCN) or ``"agcn"`` (self, inward, outward;
            2s-AGCN, only for ``openpose-25`` and ``ntu-rgb+d`` as in mmaction2).
        max_hop: Largest hop distance that connects two joints. Default 1.
        dilation: Step between the hops used. Default 1.
    """

    def __init__(self, layout: str = "openpose-18", strategy: str = "uniform", max_hop: int = 1, dilation: int = 1):
        if layout not in LAYOUTS:
            raise ConfigError(f"graph layout {layout!r} is not one of {sorted(LAYOUTS)}")
        if strategy not in STRATEGIES:
            raise ConfigError(f"graph strategy {strategy!r} is not one of {list(STRATEGIES)}")
        if strategy == "agcn" and layout not in AGCN_LAYOUTS:
            raise ConfigError(f"graph strategy 'agcn' needs layout {' or '.join(AGCN_LAYOUTS)} (mmaction2 "
                              f"defines the directed bones only there), got {layout!r}")
        if max_hop < 0 or dilation < 1:
            raise ConfigError(f"graph needs max_hop >= 0 and dilation >= 1, got max_hop={max_hop}, dilation={dilation}")
        self.layout, self.strategy, self.max_hop, self.dilation = layout, strategy, max_hop, dilation
        self.num_node, self.neighbor_link, self.center = LAYOUTS[layout]
        self.self_link = [(i, i) for i in range(self.num_node)]
        self.edge = self.self_link + self.neighbor_link
        self.hop_dis = hop_distance(self.num_node, self.edge, max_hop)
        self.A = self._adjacency(strategy)

    def _adjacency(self, strategy: str) -> np.ndarray:
        hops = list(range(0, self.max_hop + 1, self.dilation))
        connected = np.isin(self.hop_dis, hops).astype(np.float64)
        normalized = normalize_digraph(connected)
        if strategy == "uniform":
            return normalized[None]
        if strategy == "distance":
            return np.stack([np.where(self.hop_dis == hop, normalized, 0.0) for hop in hops])
        if strategy == "spatial":
            to_center = self.hop_dis[:, self.center]
            # [j, i]: joint j's distance to the center compared with joint i's
            same = to_center[:, None] == to_center[None, :]
            farther_j = to_center[:, None] > to_center[None, :]
            subsets = []
            for hop in hops:
                at_hop = self.hop_dis == hop
                root = np.where(at_hop & same, normalized, 0.0)
                close = np.where(at_hop & ~same & farther_j, normalized, 0.0)
                further = np.where(at_hop & ~same & ~farther_j, normalized, 0.0)
                subsets.extend([root] if hop == 0 else [root + close, further])
            return np.stack(subsets)
        inward = normalize_digraph(edges_to_matrix(self.neighbor_link, self.num_node))
        outward = normalize_digraph(edges_to_matrix([(j, i) for i, j in self.neighbor_link], self.num_node))
        return np.stack([edges_to_matrix(self.self_link, self.num_node), inward, outward])

"""ST-GCN: Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action Recognition (Yan et al., AAAI 2018)."""

from .configuration_stgcn import STGCNConfig
from .modeling_stgcn import STGCNForVideoClassification, STGCNModel

__all__ = ["STGCNConfig", "STGCNModel", "STGCNForVideoClassification"]

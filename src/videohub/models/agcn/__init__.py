"""2s-AGCN: Two-Stream Adaptive Graph Convolutional Networks for Skeleton-Based Action Recognition (Shi et al., CVPR 2019)."""

from .configuration_agcn import AGCNConfig
from .modeling_agcn import AGCNForVideoClassification, AGCNModel

__all__ = ["AGCNConfig", "AGCNModel", "AGCNForVideoClassification"]

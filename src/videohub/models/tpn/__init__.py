"""TPN: Temporal Pyramid Network for Action Recognition (Yang et al., CVPR 2020)."""

from .configuration_tpn import TPNConfig
from .modeling_tpn import TPNForVideoClassification, TPNModel

__all__ = ["TPNConfig", "TPNModel", "TPNForVideoClassification"]

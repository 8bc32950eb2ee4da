"""TSN: Temporal Segment Networks (Wang et al., ECCV 2016)."""

from .configuration_tsn import TSNConfig
from .modeling_tsn import TSNForVideoClassification, TSNModel

__all__ = ["TSNConfig", "TSNModel", "TSNForVideoClassification"]

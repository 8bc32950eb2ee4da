"""TRN: Temporal Relation Network (Zhou et al., ECCV 2018)."""

from .configuration_trn import TRNConfig
from .modeling_trn import TRNForVideoClassification, TRNModel

__all__ = ["TRNConfig", "TRNModel", "TRNForVideoClassification"]

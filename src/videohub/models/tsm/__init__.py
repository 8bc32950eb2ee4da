"""TSM: Temporal Shift Module (Lin et al., ICCV 2019)."""

from .configuration_tsm import TSMConfig
from .modeling_tsm import TSMForVideoClassification, TSMModel

__all__ = ["TSMConfig", "TSMModel", "TSMForVideoClassification"]

"""TIN: Temporal Interlacing Network (Shao et al., AAAI 2020)."""

from .configuration_tin import TINConfig
from .modeling_tin import TINForVideoClassification, TINModel

__all__ = ["TINConfig", "TINModel", "TINForVideoClassification"]

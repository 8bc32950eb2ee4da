"""TANet: Temporal Adaptive Module (Liu et al., ICCV 2021)."""

from .configuration_tanet import TANetConfig
from .modeling_tanet import TANetForVideoClassification, TANetModel

__all__ = ["TANetConfig", "TANetModel", "TANetForVideoClassification"]

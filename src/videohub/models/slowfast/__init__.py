"""SlowFast Networks for Video Recognition (Feichtenhofer et al., ICCV 2019)."""

from .configuration_slowfast import SlowFastConfig
from .modeling_slowfast import SlowFastForVideoClassification, SlowFastModel

__all__ = ["SlowFastConfig", "SlowFastModel", "SlowFastForVideoClassification"]

"""SlowOnly: the slow pathway of SlowFast Networks for Video Recognition (Feichtenhofer et al., ICCV 2019)."""

from .configuration_slowonly import SlowOnlyConfig
from .modeling_slowonly import SlowOnlyForVideoClassification, SlowOnlyModel

__all__ = ["SlowOnlyConfig", "SlowOnlyModel", "SlowOnlyForVideoClassification"]

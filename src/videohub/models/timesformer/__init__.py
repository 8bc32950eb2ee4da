"""TimeSformer: Is Space-Time Attention All You Need for Video Understanding? (Bertasius et al., ICML 2021)."""

from .configuration_timesformer import TimeSformerConfig
from .modeling_timesformer import TimeSformerForVideoClassification, TimeSformerModel

__all__ = ["TimeSformerConfig", "TimeSformerModel", "TimeSformerForVideoClassification"]

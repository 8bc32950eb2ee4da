"""Audio-only recognition on log-mel spectrograms (ResNetAudio, Xiao et al. 2020; and 2D ResNets)."""

from .configuration_audio import AudioConfig
from .modeling_audio import AudioForVideoClassification, AudioModel

__all__ = ["AudioConfig", "AudioModel", "AudioForVideoClassification"]

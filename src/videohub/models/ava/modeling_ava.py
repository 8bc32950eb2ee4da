"""The AVA detector as a transformers model: SlowOnly/SlowFast backbone + ``AVARoIHead``."""

from __future__ import annotations

from ...modeling_detector import VideoDetectorForSpatioTemporalActionDetection
from ..slowfast.resnet3d_slowfast import ResNet3dSlowFast  # noqa: F401  (the SlowFast backbone: registers it)
from ..slowonly.resnet3d_slowonly import ResNet3dSlowOnly  # noqa: F401  (the default backbone: registers it)
from .acrn_head import ACRNHead  # noqa: F401  (the ACRN shared head: registers it)
from .configuration_ava import AVAConfig
from .detector import AVARoIHead
from .fbo_head import FBOHead  # noqa: F401  (the LFB shared head: registers it)


class AVAForSpatioTemporalActionDetection(VideoDetectorForSpatioTemporalActionDetection):
    """AVA detector: per-person multi-label actions; see :class:`~videohub.modeling_detector.VideoDetectorForSpatioTemporalActionDetection`."""

    config_class = AVAConfig
    roi_head_class = AVARoIHead

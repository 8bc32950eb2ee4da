"""PoseC3D models: features (:class:`PoseC3DModel`) and classification (:class:`PoseC3DForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from ..i3d.i3d_head import I3DHead  # noqa: F401  (the head: registers it for config dicts)
from ..slowonly.resnet3d_slowonly import ResNet3dSlowOnly  # noqa: F401  (the backbone: registers it)
from .configuration_posec3d import PoseC3DConfig


class PoseC3DModel(VideoRecognizerModel):
    """PoseC3D backbone features of heatmap clips; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = PoseC3DConfig


class PoseC3DForVideoClassification(VideoRecognizerForVideoClassification):
    """PoseC3D classifier of heatmap clips; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = PoseC3DConfig
    base_model_class = PoseC3DModel

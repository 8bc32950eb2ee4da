"""I3D models: features (:class:`I3DModel`) and classification (:class:`I3DForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_i3d import I3DConfig
from ...layers.resnet3d import ResNet3d  # noqa: F401  (the backbone: registers it for config dicts)
from .i3d_head import I3DHead  # noqa: F401  (the head: registers it for config dicts)


class I3DModel(VideoRecognizerModel):
    """I3D backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = I3DConfig


class I3DForVideoClassification(VideoRecognizerForVideoClassification):
    """I3D classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = I3DConfig
    base_model_class = I3DModel

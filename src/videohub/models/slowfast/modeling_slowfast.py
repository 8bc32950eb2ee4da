"""SlowFast models: features (:class:`SlowFastModel`) and classification (:class:`SlowFastForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_slowfast import SlowFastConfig
from .resnet3d_slowfast import ResNet3dSlowFast  # noqa: F401  (the backbone: registers it for config dicts)
from .slowfast_head import SlowFastHead  # noqa: F401  (the head: registers it for config dicts)


class SlowFastModel(VideoRecognizerModel):
    """SlowFast backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = SlowFastConfig


class SlowFastForVideoClassification(VideoRecognizerForVideoClassification):
    """SlowFast classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = SlowFastConfig
    base_model_class = SlowFastModel

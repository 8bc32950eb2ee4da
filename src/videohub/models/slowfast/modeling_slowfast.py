"""SlowFast models: features (:class:`SlowFastModel`) and classification (:class:`SlowFastForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_slowfast import SlowFastConfig


class SlowFastModel(VideoRecognizerModel):
    """SlowFast backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = SlowFastConfig


class SlowFastForVideoClassification(VideoRecognizerForVideoClassification):
    """SlowFast classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = SlowFastConfig
    base_model_class = SlowFastModel

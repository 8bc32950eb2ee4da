"""SlowOnly models: features (:class:`SlowOnlyModel`) and classification (:class:`SlowOnlyForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_slowonly import SlowOnlyConfig


class SlowOnlyModel(VideoRecognizerModel):
    """SlowOnly backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = SlowOnlyConfig


class SlowOnlyForVideoClassification(VideoRecognizerForVideoClassification):
    """SlowOnly classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = SlowOnlyConfig
    base_model_class = SlowOnlyModel

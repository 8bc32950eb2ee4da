"""TSM models: features (:class:`TSMModel`) and classification (:class:`TSMForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_tsm import TSMConfig


class TSMModel(VideoRecognizerModel):
    """TSM backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = TSMConfig


class TSMForVideoClassification(VideoRecognizerForVideoClassification):
    """TSM classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = TSMConfig
    base_model_class = TSMModel

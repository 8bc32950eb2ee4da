"""CSN models: features (:class:`CSNModel`) and classification (:class:`CSNForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_csn import CSNConfig


class CSNModel(VideoRecognizerModel):
    """CSN backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = CSNConfig


class CSNForVideoClassification(VideoRecognizerForVideoClassification):
    """CSN classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = CSNConfig
    base_model_class = CSNModel

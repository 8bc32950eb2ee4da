"""TIN models: features (:class:`TINModel`) and classification (:class:`TINForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_tin import TINConfig
from .resnet_tin import ResNetTIN  # noqa: F401  (the backbone: registers it for config dicts)
from ..tsm.tsm_head import TSMHead  # noqa: F401  (the head: registers it for config dicts)


class TINModel(VideoRecognizerModel):
    """TIN backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = TINConfig


class TINForVideoClassification(VideoRecognizerForVideoClassification):
    """TIN classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = TINConfig
    base_model_class = TINModel

"""TSM models: features (:class:`TSMModel`) and classification (:class:`TSMForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_tsm import TSMConfig
from .resnet_tsm import ResNetTSM  # noqa: F401  (the backbone: registers it for config dicts)
from .mobilenet_v2_tsm import MobileNetV2TSM  # noqa: F401  (the backbone of the MobileNetV2 variants: registers it for config dicts)
from .tsm_head import TSMHead  # noqa: F401  (the head: registers it for config dicts)


class TSMModel(VideoRecognizerModel):
    """TSM backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = TSMConfig


class TSMForVideoClassification(VideoRecognizerForVideoClassification):
    """TSM classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = TSMConfig
    base_model_class = TSMModel

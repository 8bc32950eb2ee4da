"""TRN models: features (:class:`TRNModel`) and classification (:class:`TRNForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_trn import TRNConfig
from ...layers.resnet import ResNet  # noqa: F401  (the backbone: registers it for config dicts)
from .trn_head import TRNHead  # noqa: F401  (the head: registers it for config dicts)


class TRNModel(VideoRecognizerModel):
    """TRN backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = TRNConfig


class TRNForVideoClassification(VideoRecognizerForVideoClassification):
    """TRN classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = TRNConfig
    base_model_class = TRNModel

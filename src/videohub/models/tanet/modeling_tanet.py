"""TANet models: features (:class:`TANetModel`) and classification (:class:`TANetForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_tanet import TANetConfig
from .tanet import TANet  # noqa: F401  (the backbone: registers it for config dicts)
from ..tsm.tsm_head import TSMHead  # noqa: F401  (the head: registers it for config dicts)


class TANetModel(VideoRecognizerModel):
    """TANet backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = TANetConfig


class TANetForVideoClassification(VideoRecognizerForVideoClassification):
    """TANet classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = TANetConfig
    base_model_class = TANetModel

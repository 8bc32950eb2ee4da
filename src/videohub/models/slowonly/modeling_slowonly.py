"""SlowOnly models: features (:class:`SlowOnlyModel`) and classification (:class:`SlowOnlyForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_slowonly import SlowOnlyConfig
from .resnet3d_slowonly import ResNet3dSlowOnly  # noqa: F401  (the backbone: registers it for config dicts)
from ..i3d.i3d_head import I3DHead  # noqa: F401  (the head: registers it for config dicts)


class SlowOnlyModel(VideoRecognizerModel):
    """SlowOnly backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = SlowOnlyConfig


class SlowOnlyForVideoClassification(VideoRecognizerForVideoClassification):
    """SlowOnly classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = SlowOnlyConfig
    base_model_class = SlowOnlyModel

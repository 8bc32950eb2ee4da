"""CSN models: features (:class:`CSNModel`) and classification (:class:`CSNForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_csn import CSNConfig
from .resnet3d_csn import ResNet3dCSN  # noqa: F401  (the backbone: registers it for config dicts)
from ..i3d.i3d_head import I3DHead  # noqa: F401  (the head: registers it for config dicts)


class CSNModel(VideoRecognizerModel):
    """CSN backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = CSNConfig


class CSNForVideoClassification(VideoRecognizerForVideoClassification):
    """CSN classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = CSNConfig
    base_model_class = CSNModel

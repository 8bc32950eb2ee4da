"""TPN models: neck features (:class:`TPNModel`) and classification (:class:`TPNForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_tpn import TPNConfig
from ..slowonly.resnet3d_slowonly import ResNet3dSlowOnly  # noqa: F401  (the backbone: registers it for config dicts)
from .tpn_neck import TPN  # noqa: F401  (the neck: registers it for config dicts)
from .tpn_head import TPNHead  # noqa: F401  (the head: registers it for config dicts)


class TPNModel(VideoRecognizerModel):
    """Backbone + TPN neck features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = TPNConfig


class TPNForVideoClassification(VideoRecognizerForVideoClassification):
    """TPN classifier (adds the neck's ``loss_aux`` when training with labels)."""

    config_class = TPNConfig
    base_model_class = TPNModel

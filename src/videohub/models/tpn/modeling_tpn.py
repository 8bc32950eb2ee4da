"""TPN models: neck features (:class:`TPNModel`) and classification (:class:`TPNForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_tpn import TPNConfig


class TPNModel(VideoRecognizerModel):
    """Backbone + TPN neck features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = TPNConfig


class TPNForVideoClassification(VideoRecognizerForVideoClassification):
    """TPN classifier (adds the neck's ``loss_aux`` when training with labels)."""

    config_class = TPNConfig
    base_model_class = TPNModel

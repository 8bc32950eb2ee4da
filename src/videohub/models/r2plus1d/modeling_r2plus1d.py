"""R2Plus1D models: features (:class:`R2Plus1DModel`) and classification (:class:`R2Plus1DForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_r2plus1d import R2Plus1DConfig
from .resnet2plus1d import ResNet2Plus1d  # noqa: F401  (the backbone: registers it for config dicts)
from ..i3d.i3d_head import I3DHead  # noqa: F401  (the head: registers it for config dicts)


class R2Plus1DModel(VideoRecognizerModel):
    """R2Plus1D backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = R2Plus1DConfig


class R2Plus1DForVideoClassification(VideoRecognizerForVideoClassification):
    """R2Plus1D classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = R2Plus1DConfig
    base_model_class = R2Plus1DModel

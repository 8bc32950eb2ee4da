"""R2Plus1D models: features (:class:`R2Plus1DModel`) and classification (:class:`R2Plus1DForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_r2plus1d import R2Plus1DConfig


class R2Plus1DModel(VideoRecognizerModel):
    """R2Plus1D backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = R2Plus1DConfig


class R2Plus1DForVideoClassification(VideoRecognizerForVideoClassification):
    """R2Plus1D classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = R2Plus1DConfig
    base_model_class = R2Plus1DModel

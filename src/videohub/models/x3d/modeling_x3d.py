"""X3D models: features (:class:`X3DModel`) and classification (:class:`X3DForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_x3d import X3DConfig
from .x3d import X3D  # noqa: F401  (the backbone: registers it for config dicts)
from .x3d_head import X3DHead  # noqa: F401  (the head: registers it for config dicts)


class X3DModel(VideoRecognizerModel):
    """X3D backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = X3DConfig


class X3DForVideoClassification(VideoRecognizerForVideoClassification):
    """X3D classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = X3DConfig
    base_model_class = X3DModel

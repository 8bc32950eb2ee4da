"""C3D models: features (:class:`C3DModel`, the 4096-d fc7 output) and classification."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_c3d import C3DConfig
from .c3d import C3D  # noqa: F401  (the backbone: registers it for config dicts)
from ..i3d.i3d_head import I3DHead  # noqa: F401  (the head: registers it for config dicts)


class C3DModel(VideoRecognizerModel):
    """C3D fc7 features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = C3DConfig


class C3DForVideoClassification(VideoRecognizerForVideoClassification):
    """C3D classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = C3DConfig
    base_model_class = C3DModel

"""TimeSformer models: features (:class:`TimeSformerModel`) and classification (:class:`TimeSformerForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_timesformer import TimeSformerConfig
from .timesformer import TimeSformer  # noqa: F401  (the backbone: registers it for config dicts)
from .timesformer_head import TimeSformerHead  # noqa: F401  (the head: registers it for config dicts)


class TimeSformerModel(VideoRecognizerModel):
    """TimeSformer class-token features ``[B*V, embed_dims]``; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = TimeSformerConfig


class TimeSformerForVideoClassification(VideoRecognizerForVideoClassification):
    """TimeSformer classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = TimeSformerConfig
    base_model_class = TimeSformerModel

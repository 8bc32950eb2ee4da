"""Audio models: spectrogram features (:class:`AudioModel`) and classification (``AudioForVideoClassification``)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_audio import AudioConfig


class AudioModel(VideoRecognizerModel):
    """Backbone features of ``input_features`` ``(B, [V,] 1, T, F)``."""

    config_class = AudioConfig
    main_input_name = "input_features"


class AudioForVideoClassification(VideoRecognizerForVideoClassification):
    """Audio classifier of ``input_features`` ``(B, [V,] 1, T, F)``; clip scores averaged per ``average_clips``."""

    config_class = AudioConfig
    base_model_class = AudioModel
    main_input_name = "input_features"

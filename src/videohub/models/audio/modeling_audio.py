"""Audio models: spectrogram features (:class:`AudioModel`) and classification (``AudioForVideoClassification``)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_audio import AudioConfig
from .resnet_audio import ResNetAudio  # noqa: F401  (the backbone: registers it for config dicts)
from .audio_tsn_head import AudioTSNHead  # noqa: F401  (the head: registers it for config dicts)


class AudioModel(VideoRecognizerModel):
    """Backbone features of ``input_features`` ``(B, [V,] 1, T, F)``."""

    config_class = AudioConfig
    main_input_name = "input_features"


class AudioForVideoClassification(VideoRecognizerForVideoClassification):
    """Audio classifier of ``input_features`` ``(B, [V,] 1, T, F)``; clip scores averaged per ``average_clips``."""

    config_class = AudioConfig
    base_model_class = AudioModel
    main_input_name = "input_features"

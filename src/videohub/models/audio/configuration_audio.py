"""Audio recognizer configuration: a spectrogram backbone + ``AudioTSNHead`` in an ``AudioRecognizer``."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class AudioConfig(RecognizerConfig):
    r"""Audio recognizer (mmaction2 ``AudioRecognizer`` + ``ResNetAudio`` or ``ResNet`` + ``AudioTSNHead``).

    Defaults are mmaction2's ``audioonly_r50_64x1x1_100e_kinetics400_audio_feature``:
    ``backbone=dict(type="ResNetAudio", depth=50, pretrained=None, in_channels=1, norm_eval=False)``,
    ``cls_head=dict(type="AudioTSNHead", in_channels=1024, dropout_ratio=0.5, init_std=0.01)``,
    ``recognizer="AudioRecognizer"``, ``average_clips="prob"``, ``num_frames=64`` (spectrogram frames
    per clip). The TSN-audio variants use ``backbone=dict(type="ResNet", depth=18 or 50, in_channels=1)``.
    The models take ``input_features`` of shape ``(B, 1, T, F)`` or ``(B, V, 1, T, F)``. Other fields:
    see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-audio"
    mmaction2_types = {"type": ("AudioRecognizer",), "backbone": ("ResNetAudio",)}
    conversion_priority = 100
    default_backbone = dict(type="ResNetAudio", depth=50, pretrained=None, in_channels=1, norm_eval=False)
    default_cls_head = dict(type="AudioTSNHead", in_channels=1024, dropout_ratio=0.5, init_std=0.01)
    recognizer: str = "AudioRecognizer"
    average_clips: Optional[str] = "prob"
    num_frames: int = 64

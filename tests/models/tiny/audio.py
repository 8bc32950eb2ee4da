"""Tiny audio recognizer for the common model tests: ResNetAudio-50 with base width 8 on 32x16 spectrograms."""

CONFIG = dict(
    backbone=dict(type="ResNetAudio", depth=50, pretrained=None, base_channels=8),
    cls_head=dict(type="AudioTSNHead", in_channels=256, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 1, 32, 16)

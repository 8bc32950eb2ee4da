"""Tiny TSM (ResNetTSM-18, 4 segments) for the common model tests."""

CONFIG = dict(
    backbone=dict(type="ResNetTSM", depth=18, num_segments=4, shift_div=8, norm_eval=False),
    cls_head=dict(type="TSMHead", in_channels=512, num_segments=4, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 4, 3, 32, 32)

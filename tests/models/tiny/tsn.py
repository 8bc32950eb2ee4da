"""Tiny TSN for the common model tests."""

CONFIG = dict(
    backbone=dict(type="ResNet", depth=18, norm_eval=False),
    cls_head=dict(type="TSNHead", in_channels=512, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 3, 3, 32, 32)

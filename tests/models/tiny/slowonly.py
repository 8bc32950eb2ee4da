"""Tiny SlowOnly for the common model tests: ResNet3dSlowOnly-18 at width 8."""

CONFIG = dict(
    backbone=dict(type="ResNet3dSlowOnly", depth=18, base_channels=8, pretrained2d=False),
    cls_head=dict(type="I3DHead", in_channels=64, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 4, 3, 32, 32)

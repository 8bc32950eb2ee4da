"""Tiny-input C3D for the common model tests (C3D's widths are fixed; 16x16x16 clips flatten to 512)."""

CONFIG = dict(
    backbone=dict(type="C3D", out_dim=512, dropout_ratio=0.0),
    cls_head=dict(type="I3DHead", in_channels=4096, spatial_type=None, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 16, 3, 16, 16)

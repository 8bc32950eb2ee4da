"""Tiny X3D for the common model tests: stem width 16, stage depths (1, 1, 3, 2), SE in half the blocks."""

CONFIG = dict(
    backbone=dict(type="X3D", gamma_w=0.5, gamma_b=1.5, gamma_d=0.5),
    cls_head=dict(type="X3DHead", in_channels=192, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 4, 3, 32, 32)

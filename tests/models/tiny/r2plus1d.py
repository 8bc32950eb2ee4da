"""Tiny R(2+1)D for the common model tests: ResNet2Plus1d-18 at width 8, temporal strides (1, 2, 2, 2)."""

CONFIG = dict(
    backbone=dict(type="ResNet2Plus1d", depth=18, base_channels=8, temporal_strides=(1, 2, 2, 2),
                  norm_cfg=dict(type="BN3d", requires_grad=True, eps=1e-3)),
    cls_head=dict(type="I3DHead", in_channels=64, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 8, 3, 32, 32)

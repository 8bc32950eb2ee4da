"""Tiny I3D for the common model tests: ResNet3d-18 at width 8, mixed inflation, one non-local block."""

CONFIG = dict(
    backbone=dict(
        type="ResNet3d", depth=18, base_channels=8, pretrained2d=False, conv1_kernel=(3, 7, 7),
        inflate=((1, 0), (1, 0), (1, 0), (0, 1)), non_local=((0, 0), (0, 1), (0, 0), (0, 0)),
        non_local_cfg=dict(sub_sample=True, use_scale=False, mode="embedded_gaussian",
                           norm_cfg=dict(type="BN3d", requires_grad=True)),
    ),
    cls_head=dict(type="I3DHead", in_channels=64, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 4, 3, 32, 32)

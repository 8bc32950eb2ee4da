"""Tiny SlowFast for the common model tests: R18 pathways of widths 8 (slow) and 2 (fast), tau=alpha=4."""

CONFIG = dict(
    backbone=dict(
        type="ResNet3dSlowFast", resample_rate=4, speed_ratio=4, channel_ratio=4,
        slow_pathway=dict(type="resnet3d", depth=18, base_channels=8, pretrained2d=False, lateral=True,
                          conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1)),
        fast_pathway=dict(type="resnet3d", depth=18, base_channels=2, pretrained2d=False, lateral=False,
                          conv1_kernel=(5, 7, 7), conv1_stride_t=1, pool1_stride_t=1),
    ),
    cls_head=dict(type="SlowFastHead", in_channels=80, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 8, 3, 32, 32)

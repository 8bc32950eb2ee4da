"""Tiny CSN for the common model tests: ip-CSN R50 at width 4 (depthwise 3x3x3 convs)."""

CONFIG = dict(
    backbone=dict(type="ResNet3dCSN", depth=50, base_channels=4, pretrained2d=False, with_pool2=False,
                  bottleneck_mode="ip"),
    cls_head=dict(type="I3DHead", in_channels=128, dropout_ratio=0.0),
    num_labels=5,
    max_testing_views=1,
)
INPUT_SHAPE = (2, 8, 3, 32, 32)

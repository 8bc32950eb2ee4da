"""Tiny TANet (Bottleneck ResNet-50 truncated to 2 stages, 4 segments) for the common model tests."""

CONFIG = dict(
    backbone=dict(type="TANet", depth=50, num_segments=4, num_stages=2, out_indices=[1], strides=[1, 2],
                  dilations=[1, 1], norm_eval=False),
    cls_head=dict(type="TSMHead", in_channels=512, num_segments=4, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 4, 3, 32, 32)

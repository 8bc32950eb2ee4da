"""Tiny PoseC3D for the common model tests: the keypoint topology (3 stages) at base width 8 on 17 heatmaps."""

CONFIG = dict(
    backbone=dict(type="ResNet3dSlowOnly", depth=50, pretrained=None, in_channels=17, base_channels=8, num_stages=3,
                  out_indices=(2,), stage_blocks=(1, 1, 1), conv1_stride_s=1, pool1_stride_s=1, inflate=(0, 1, 1),
                  spatial_strides=(2, 2, 2), temporal_strides=(1, 1, 2), dilations=(1, 1, 1)),
    cls_head=dict(type="I3DHead", in_channels=128, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 4, 17, 16, 16)

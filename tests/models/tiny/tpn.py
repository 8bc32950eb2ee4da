"""Tiny TPN for the common model tests: SlowOnly-18 (base 16) levels (2, 3) + TPN + TPNHead."""

CONFIG = dict(
    backbone=dict(type="ResNet3dSlowOnly", depth=18, pretrained=None, base_channels=16, lateral=False,
                  out_indices=(2, 3), conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                  inflate=(0, 0, 1, 1), norm_eval=False),
    neck=dict(
        type="TPN", in_channels=(64, 128), out_channels=64,
        spatial_modulation_cfg=dict(in_channels=(64, 128), out_channels=128),
        temporal_modulation_cfg=dict(downsample_scales=(4, 4)),
        upsample_cfg=dict(scale_factor=(1, 1, 1)),
        downsample_cfg=dict(downsample_scale=(1, 1, 1)),
        level_fusion_cfg=dict(in_channels=(64, 64), mid_channels=(64, 64), out_channels=128,
                              downsample_scales=((1, 1, 1), (1, 1, 1))),
        aux_head_cfg=dict(out_channels=5, loss_weight=0.5),
    ),
    cls_head=dict(type="TPNHead", in_channels=2048, dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 4, 3, 32, 32)

"""Tiny AVA detector for the common model tests: SlowOnly-18 (base 8) on 4x32x32 clips, 6 classes."""

import torch

CONFIG = dict(
    backbone=dict(type="ResNet3dSlowOnly", depth=18, pretrained=None, pretrained2d=False, lateral=False,
                  base_channels=8, num_stages=4, conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                  spatial_strides=(1, 2, 2, 1)),
    roi_head=dict(bbox_head=dict(type="BBoxHeadAVA", in_channels=64, num_classes=6, multilabel=True,
                                 dropout_ratio=0.0)),
)


def inputs():
    boxes = [torch.tensor([[2.0, 3.0, 20.0, 28.0], [10.0, 0.0, 31.0, 16.0]]), torch.tensor([[0.0, 0.0, 16.0, 16.0]])]
    return {"pixel_values": torch.randn(2, 4, 3, 32, 32), "boxes": boxes}


def labels():
    return torch.tensor([[0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1]], dtype=torch.float32)

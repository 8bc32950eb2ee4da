"""Tiny SSN for the common model tests: ResNet-18 with stride 1 (28x28 frames → a 7x7 map), 4 classes,
2 videos of 4 sampled proposals (1 positive, 1 background, 2 incomplete) of 1 + 2 + 1 segments."""

import torch

CONFIG = dict(
    backbone=dict(type="ResNet", depth=18, pretrained=None, strides=(1, 1, 1, 1), norm_eval=False),
    cls_head=dict(type="SSNHead", dropout_ratio=0.0, in_channels=512, num_classes=4,
                  consensus=dict(type="STPPTrain", stpp_stage=(1, 1, 1), num_segments_list=(1, 2, 1))),
    dropout_ratio=0.0,
    train_cfg=dict(ssn=dict(sampler=dict(num_per_video=4, positive_ratio=1, background_ratio=1, incomplete_ratio=2),
                            loss_weight=dict(comp_loss_weight=0.1, reg_loss_weight=0.1))),
    test_cfg=dict(ssn=dict(sampler=dict(test_interval=6, batch_size=4), evaluater=dict(top_k=20, nms=0.2))))


def inputs():
    start = torch.rand(2, 4) * 0.6
    return {"pixel_values": torch.randn(2, 4, 4, 3, 28, 28), "proposal_scale_factor": torch.rand(2, 4, 2) + 0.5,
            "relative_proposal_list": torch.stack((start, start + 0.1 + torch.rand(2, 4) * 0.3), dim=-1),
            "reg_norm_consts": torch.tensor([[0.0, 0.1], [0.2, 0.3]])}


def labels():
    return {"proposal_type": torch.tensor([[0, 2, 1, 1], [0, 2, 1, 1]]),
            "proposal_labels": torch.tensor([[1, 0, 2, 3], [4, 0, 1, 4]]),
            "reg_targets": torch.randn(2, 4, 2) * 0.1}

"""TSN configuration: 2D backbone + ``TSNHead`` with segmental consensus."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class TSNConfig(RecognizerConfig):
    r"""Temporal Segment Network (mmaction2 ``Recognizer2D`` + ``ResNet`` + ``TSNHead``).

    Defaults are mmaction2's TSN R50 1x1x3: ``backbone=dict(type="ResNet", depth=50, norm_eval=False)``,
    ``cls_head=dict(type="TSNHead", in_channels=2048, spatial_type="avg",
    consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.4, init_std=0.01)``,
    ``recognizer="Recognizer2D"``, ``num_frames=3``. Any 2D backbone (e.g. ``MobileNetV2``) may
    replace the ResNet, including the custom backbones of mmaction2's TSN zoo:
    ``dict(type="mmcls.ResNeXt", depth=101, groups=32, width_per_group=4)`` (mmcls layout),
    ``dict(type="torchvision.densenet161")`` (torchvision layout) and
    ``dict(type="timm.swin_base_patch4_window7_224")`` (timm 0.5 layout). Other fields: see
    :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-tsn"
    mmaction2_types = {"backbone": ("ResNet", "MobileNetV2", "mmcls.ResNeXt", "torchvision.densenet121",
                                    "torchvision.densenet161",
                                    "timm.swin_tiny_patch4_window7_224", "timm.swin_small_patch4_window7_224",
                                    "timm.swin_base_patch4_window7_224", "timm.swin_large_patch4_window7_224")}
    default_backbone = dict(type="ResNet", depth=50, norm_eval=False)
    default_cls_head = dict(
        type="TSNHead", in_channels=2048, spatial_type="avg",
        consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.4, init_std=0.01,
    )
    num_frames: int = 3

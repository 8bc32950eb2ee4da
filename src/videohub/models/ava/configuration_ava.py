"""AVA detector configuration: mmdet ``FastRCNN`` with mmaction2's ``AVARoIHead``."""

from __future__ import annotations

from huggingface_hub.dataclasses import strict

from ...configuration_utils import DetectorConfig


@strict(accept_kwargs=True)
class AVAConfig(DetectorConfig):
    r"""AVA spatio-temporal action detector. Defaults are mmaction2's
    ``slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb``:

    - ``backbone=dict(type="ResNet3dSlowOnly", depth=50, pretrained=None, pretrained2d=False, lateral=False,
      num_stages=4, conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, spatial_strides=(1, 2, 2, 1))``;
    - ``roi_head=dict(type="AVARoIHead", bbox_roi_extractor=dict(type="SingleRoIExtractor3D",
      roi_layer_type="RoIAlign", output_size=8, with_temporal_pool=True), bbox_head=dict(type="BBoxHeadAVA",
      in_channels=2048, multilabel=True, dropout_ratio=0.5))`` (``num_classes`` is ``num_labels``, 81:
      class 0 is reserved, as in mmaction2);
    - ``train_cfg.rcnn``: ``MaxIoUAssignerAVA`` (thresholds 0.9), ``RandomSampler(num=32, pos_fraction=1,
      neg_pos_ub=-1, add_gt_as_proposals=True)``, ``pos_weight=1.0``; ``test_cfg.rcnn.action_thr=0.002``;
    - ``num_frames=4`` (4x16 sampling).

    The SlowFast variants set ``backbone=dict(type="ResNet3dSlowFast", ...)`` and a bbox head with
    ``in_channels=2304``; FBO/LFB variants add ``roi_head.shared_head``. Other fields: see
    :class:`~videohub.DetectorConfig`.
    """

    model_type = "videohub-ava"
    mmaction2_types = {"type": ("FastRCNN",)}
    default_backbone = dict(
        type="ResNet3dSlowOnly", depth=50, pretrained=None, pretrained2d=False, lateral=False, num_stages=4,
        conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, spatial_strides=(1, 2, 2, 1),
    )
    default_roi_head = dict(
        type="AVARoIHead",
        bbox_roi_extractor=dict(type="SingleRoIExtractor3D", roi_layer_type="RoIAlign", output_size=8,
                                with_temporal_pool=True),
        bbox_head=dict(type="BBoxHeadAVA", in_channels=2048, num_classes=81, multilabel=True, dropout_ratio=0.5),
    )
    default_train_cfg = dict(rcnn=dict(
        assigner=dict(type="MaxIoUAssignerAVA", pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.9),
        sampler=dict(type="RandomSampler", num=32, pos_fraction=1, neg_pos_ub=-1, add_gt_as_proposals=True),
        pos_weight=1.0, debug=False,
    ))
    default_test_cfg = dict(rcnn=dict(action_thr=0.002))
    num_frames: int = 4

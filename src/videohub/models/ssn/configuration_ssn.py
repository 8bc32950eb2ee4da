"""SSN configuration: the constructor arguments of mmaction2's ``SSN``."""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Dict, Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import LocalizerConfig
from ...localization.ssn_utils import SSN_THUMOS_TEST_CFG, SSN_THUMOS_TRAIN_CFG
from ...registry import BACKBONES, HEADS, Registry
from . import ssn  # noqa: F401  (registers SSN and SSNHead)


@strict(accept_kwargs=True)
class SSNConfig(LocalizerConfig):
    r"""Structured Segment Network (mmaction2 ``SSN``). Defaults are ``ssn_r50_450e_thumos14_rgb_train``.

    Args:
        backbone (`dict`, defaults to ResNet-50 with `partial_bn=True`, `norm_eval=False`): The 2D
            backbone; its feature map must be 7x7 (the pooling is a fixed 7x7 window).
        cls_head (`dict`, defaults to `SSNHead(dropout_ratio=0.0, in_channels=2048, num_classes=20,
            consensus=STPPTrain(stpp_stage=(1, 1, 1), num_segments_list=(2, 5, 2)), use_regression=True)`):
            The head. The test path builds the matching ``STPPTest`` itself.
        in_channels (`int`, defaults to 3): Input image channels.
        spatial_type (`str`, defaults to `"avg"`): 7x7 pooling, ``"avg"`` or ``"max"``.
        dropout_ratio (`float`, defaults to 0.8): Dropout on the pooled features.
        loss_cls (`dict`, defaults to `{"type": "SSNLoss"}`): The loss.
        train_cfg (`dict`, defaults to the THUMOS'14 config's): ``ssn.assigner``, ``ssn.sampler``
            (``num_per_video`` 8, ratios 1/1/6) and ``ssn.loss_weight`` (0.1/0.1).
        test_cfg (`dict`, defaults to the THUMOS'14 config's): ``ssn.sampler`` (``test_interval`` 6,
            ``batch_size`` 16) and ``ssn.evaluater`` (``top_k`` 2000, ``nms`` 0.2) used by ``post_process``.
    """

    model_type = "videohub-ssn"
    localizer_type = "SSN"
    mmaction2_types = {"type": ("SSN",)}
    part_fields: ClassVar[Dict[str, Registry]] = {"backbone": BACKBONES, "cls_head": HEADS}
    required_parts = ("backbone", "cls_head")
    default_backbone: ClassVar[Optional[Dict[str, Any]]] = {
        "type": "ResNet", "pretrained": None, "depth": 50, "norm_eval": False, "partial_bn": True}
    default_cls_head: ClassVar[Optional[Dict[str, Any]]] = {
        "type": "SSNHead", "dropout_ratio": 0.0, "in_channels": 2048, "num_classes": 20,
        "consensus": {"type": "STPPTrain", "stpp_stage": [1, 1, 1], "num_segments_list": [2, 5, 2]},
        "use_regression": True}

    backbone: Optional[Dict[str, Any]] = None
    cls_head: Optional[Dict[str, Any]] = None
    in_channels: int = 3
    spatial_type: str = "avg"
    dropout_ratio: float = 0.8
    loss_cls: Dict[str, Any] = None

    def derive(self, kwargs: Dict[str, Any]) -> None:
        if self.loss_cls is None:
            self.loss_cls = {"type": "SSNLoss"}
        if self.train_cfg is None:
            self.train_cfg = copy.deepcopy(SSN_THUMOS_TRAIN_CFG)
        if self.test_cfg is None:
            self.test_cfg = copy.deepcopy(SSN_THUMOS_TEST_CFG)


"""The AVA spatio-temporal action detector: mmdet ``FastRCNN`` with mmaction2's ``AVARoIHead``.

Test path with given person proposals: mmdet ``FastRCNN.simple_test`` → ``AVARoIHead.simple_test``
→ ``BBoxHeadAVA.get_det_bboxes`` → ``bbox2result``. Training path: ``FastRCNN.forward_train`` →
``AVARoIHead.forward_train`` (``MaxIoUAssignerAVA`` + ``RandomSampler`` of ``train_cfg.rcnn`` per
clip, ``bbox_target``, ``BBoxHeadAVA.loss``). Submodule names follow mmdet/mmaction2
(``backbone.*``, ``roi_head.bbox_roi_extractor``, ``roi_head.shared_head.*``,
``roi_head.bbox_head.fc_cls.*``), so mmaction2 state dicts load unchanged.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...registry import BACKBONES, HEADS
from .assign_sample import SamplingResult, bbox_target, build_assigner, build_sampler
from .bbox_head_ava import BBoxHeadAVA  # noqa: F401  (registers the head in HEADS)
from .roi_extractor import SingleRoIExtractor3D  # noqa: F401  (registers the extractor in HEADS)

Features = Union[torch.Tensor, Tuple[torch.Tensor, ...]]


def _get(cfg: Any, key: str, default: Any = None) -> Any:
    """``cfg[key]`` for dicts or ``cfg.key`` for attribute configs; ``default`` when absent."""
    if cfg is None:
        return default
    if isinstance(cfg, Mapping):
        return cfg.get(key, default)
    return getattr(cfg, key, default)


def bbox2roi(bbox_list: Sequence[torch.Tensor]) -> torch.Tensor:
    """mmdet ``bbox2roi``: per-image ``[n_i, >=4]`` boxes → ``[sum n_i, 5]`` with the image index first."""
    rois = []
    for img_id, bboxes in enumerate(bbox_list):
        if bboxes.dim() != 2 or bboxes.size(1) < 4:
            raise ShapeError(f"bbox2roi: boxes of image {img_id} must be [n, 4], got {tuple(bboxes.shape)}")
        if bboxes.size(0) > 0:
            inds = bboxes.new_full((bboxes.size(0), 1), img_id)
            rois.append(torch.cat([inds, bboxes[:, :4]], dim=-1))
        else:
            rois.append(bboxes.new_zeros((0, 5)))
    return torch.cat(rois, 0)


def bbox2result(bboxes: torch.Tensor, labels: torch.Tensor, num_classes: int,
                thr: Union[float, Sequence[float]] = 0.01) -> List[np.ndarray]:
    """mmaction2 ``bbox2result``: per class 1..num_classes-1, float32 ``[k, 5]`` = (x1, y1, x2, y2, score).

    Args:
        bboxes: ``[n, 4]`` boxes.
        labels: ``[n, num_classes]`` scores.
        num_classes: Classes including class 0.
        thr: Score threshold (a per-class sequence is allowed); a single negative value selects the
            single-label rule (each box goes to its argmax class). Default 0.01.
    """
    if bboxes.shape[0] == 0:
        return list(np.zeros((num_classes - 1, 0, 5), dtype=np.float32))
    boxes = bboxes.detach().cpu().numpy()
    scores = labels.detach().cpu().numpy()
    if scores.ndim != 2 or scores.shape[1] != num_classes or scores.shape[1] <= 1:
        raise ShapeError(f"bbox2result: scores must be [n, {num_classes}] with num_classes > 1, got {scores.shape}")
    if not hasattr(thr, "__len__"):
        multilabel = thr >= 0
        thr = (thr,) * num_classes
    else:
        multilabel = True
    if len(thr) != num_classes:
        raise ConfigError(f"bbox2result: {len(thr)} thresholds for {num_classes} classes")
    result = []
    for i in range(num_classes - 1):
        if multilabel:
            where = scores[:, i + 1] > thr[i + 1]
        else:
            where = scores[:, 1:].argmax(axis=1) == i
        result.append(np.concatenate((boxes[where, :4], scores[where, i + 1:i + 2]), axis=1))
    return result


def _build_head(cfg: Optional[Mapping[str, Any]]) -> Optional[nn.Module]:
    if cfg is None:
        return None
    return HEADS.build(dict(cfg))


@HEADS.register()
class AVARoIHead(nn.Module):
    """mmaction2 ``AVARoIHead`` (an mmdet ``StandardRoIHead`` without box regression).

    Args:
        bbox_roi_extractor: ``SingleRoIExtractor3D`` config.
        bbox_head: ``BBoxHeadAVA`` config.
        shared_head: Optional ``FBOHead`` / ``LFBInferHead`` config run on the RoI features. Default ``None``.
        train_cfg: ``train_cfg.rcnn``: ``assigner``, ``sampler`` and ``pos_weight`` of training
            (built when given). Default ``None`` (no training with ground-truth boxes).
        test_cfg: Test config with ``action_thr``. Default ``None`` (threshold 0.01, mmaction2's default).
        mask_roi_extractor, mask_head: Not supported (must be ``None``, default).
        pretrained, init_cfg: Accepted for mmdet compatibility. Default ``None``.
    """

    def __init__(
        self,
        bbox_roi_extractor: Optional[Dict[str, Any]] = None,
        bbox_head: Optional[Dict[str, Any]] = None,
        shared_head: Optional[Dict[str, Any]] = None,
        train_cfg: Optional[Any] = None,
        test_cfg: Optional[Any] = None,
        mask_roi_extractor: Optional[Dict[str, Any]] = None,
        mask_head: Optional[Dict[str, Any]] = None,
        pretrained: Optional[str] = None,
        init_cfg: Optional[Dict[str, Any]] = None,
    ):
        super().__init__()
        if bbox_roi_extractor is None or bbox_head is None:
            raise ConfigError("AVARoIHead needs bbox_roi_extractor and bbox_head configs")
        if mask_roi_extractor is not None or mask_head is not None:
            raise ConfigError("AVARoIHead: mask heads are not supported")
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.bbox_roi_extractor = _build_head(bbox_roi_extractor)
        self.bbox_head = _build_head(bbox_head)
        if shared_head is not None:
            self.shared_head = _build_head(shared_head)
        self.bbox_assigner = self.bbox_sampler = None
        if train_cfg is not None:
            self.bbox_assigner = build_assigner(_get(train_cfg, "assigner"))
            self.bbox_sampler = build_sampler(_get(train_cfg, "sampler"))

    @property
    def with_shared_head(self) -> bool:
        return getattr(self, "shared_head", None) is not None

    @property
    def with_bbox(self) -> bool:
        return True

    def init_weights(self) -> None:
        """Initialize the shared head (if any) and the bbox head."""
        if self.with_shared_head:
            self.shared_head.init_weights()
        self.bbox_roi_extractor.init_weights()
        self.bbox_head.init_weights()

    def _bbox_forward(self, x: Features, rois: torch.Tensor, img_metas: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
        """``{cls_score [K, num_classes], bbox_pred None, bbox_feats}`` for ``rois`` on features ``x``."""
        bbox_feat, global_feat = self.bbox_roi_extractor(x, rois)
        if self.with_shared_head:
            bbox_feat = self.shared_head(bbox_feat, feat=global_feat, rois=rois, img_metas=img_metas)
        cls_score, bbox_pred = self.bbox_head(bbox_feat)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feat)

    def assign_and_sample(self, proposal_list: Sequence[torch.Tensor], gt_bboxes: Sequence[torch.Tensor],
                          gt_labels: Sequence[torch.Tensor]) -> List[SamplingResult]:
        """Per clip, ``train_cfg``'s assigner on the proposals then its sampler (mmdet ``StandardRoIHead``)."""
        if self.bbox_assigner is None:
            raise ConfigError("AVARoIHead was built without train_cfg (assigner, sampler): it cannot train "
                              "from ground-truth boxes")
        if not len(proposal_list) == len(gt_bboxes) == len(gt_labels):
            raise ShapeError(f"{len(proposal_list)} proposal lists, {len(gt_bboxes)} gt_bboxes and "
                             f"{len(gt_labels)} gt_labels: expected one of each per clip")
        results = []
        for proposals, boxes, labels in zip(proposal_list, gt_bboxes, gt_labels):
            assigned = self.bbox_assigner.assign(proposals, boxes, labels)
            results.append(self.bbox_sampler.sample(assigned, proposals, boxes, labels))
        return results

    def forward_train(self, x: Features, img_metas: Sequence[Mapping[str, Any]],
                      proposal_list: Sequence[torch.Tensor], gt_bboxes: Sequence[torch.Tensor],
                      gt_labels: Sequence[torch.Tensor]) -> Dict[str, Any]:
        """Training step of the RoI head: ``{rois, labels, cls_score, loss_bbox}`` of the sampled boxes.

        ``loss_bbox`` holds ``loss_action_cls`` and the recall/precision of ``BBoxHeadAVA.loss``.
        """
        sampling_results = self.assign_and_sample(proposal_list, gt_bboxes, gt_labels)
        rois = bbox2roi([res.bboxes for res in sampling_results])
        bbox_results = self._bbox_forward(x, rois, img_metas)
        labels, label_weights = bbox_target(sampling_results, self.bbox_head.num_classes,
                                            float(_get(self.train_cfg, "pos_weight", 1.0)))
        loss_bbox = self.bbox_head.loss(bbox_results["cls_score"], bbox_results["bbox_pred"], rois, labels,
                                        label_weights)
        bbox_results.update(rois=rois, labels=labels, loss_bbox=loss_bbox)
        return bbox_results

    def simple_test_bboxes(self, x: Features, img_metas: Sequence[Mapping[str, Any]],
                           proposals: Sequence[torch.Tensor], rcnn_test_cfg: Any = None,
                           rescale: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(bboxes [K, 4] normalized, scores [K, num_classes])`` of the proposals of one clip."""
        rois = bbox2roi(proposals)
        cls_score = self._bbox_forward(x, rois, img_metas)["cls_score"]
        meta = img_metas[0]
        crop_quadruple = meta.get("crop_quadruple", np.array([0, 0, 1, 1]))
        flip = meta.get("flip", False)
        return self.bbox_head.get_det_bboxes(rois, cls_score, meta["img_shape"], flip=flip,
                                             crop_quadruple=crop_quadruple, cfg=rcnn_test_cfg)

    def simple_test(self, x: Features, proposal_list: Sequence[torch.Tensor], img_metas: Sequence[Mapping[str, Any]],
                    proposals: Optional[Any] = None, rescale: bool = False) -> List[List[np.ndarray]]:
        """``[bbox2result(...)]`` for one clip (batch size 1, as in mmaction2)."""
        batch = (x[0] if isinstance(x, (tuple, list)) else x).shape[0]
        if not batch == 1 == len(img_metas) == len(proposal_list):
            raise ShapeError(f"AVARoIHead.simple_test accepts one clip: got a batch of {batch}, "
                             f"{len(img_metas)} img_metas and {len(proposal_list)} proposal lists")
        det_bboxes, det_scores = self.simple_test_bboxes(x, img_metas, proposal_list, self.test_cfg, rescale=rescale)
        thr = _get(self.test_cfg, "action_thr", 0.01)
        return [bbox2result(det_bboxes, det_scores, self.bbox_head.num_classes, thr=thr)]


class FastRCNN(nn.Module):
    """mmdet ``FastRCNN`` as used by mmaction2's AVA configs: ``backbone`` + ``roi_head``.

    Args:
        backbone: Backbone config (e.g. ``ResNet3dSlowOnly`` / ``ResNet3dSlowFast``).
        roi_head: ``AVARoIHead`` config.
        train_cfg: mmdet train config; its ``rcnn`` part goes to the RoI head. Default ``None``.
        test_cfg: mmdet test config; ``test_cfg.rcnn`` (``action_thr``) goes to the RoI head. Default ``None``.
        neck: Must be ``None`` (default); the AVA configs have no neck.
        pretrained, init_cfg: Accepted for mmdet compatibility. Default ``None``.
    """

    def __init__(
        self,
        backbone: Dict[str, Any],
        roi_head: Dict[str, Any],
        train_cfg: Optional[Any] = None,
        test_cfg: Optional[Any] = None,
        neck: Optional[Dict[str, Any]] = None,
        pretrained: Optional[str] = None,
        init_cfg: Optional[Dict[str, Any]] = None,
    ):
        super().__init__()
        if neck is not None:
            raise ConfigError("FastRCNN: a neck is not supported for the AVA detector (neck must be None)")
        self.backbone = BACKBONES.build(dict(backbone))
        roi_head = dict(roi_head)
        if roi_head.pop("type", "AVARoIHead") != "AVARoIHead":
            raise ConfigError(f"FastRCNN roi_head type must be 'AVARoIHead', got {roi_head!r}")
        roi_head["train_cfg"] = _get(train_cfg, "rcnn")
        roi_head["test_cfg"] = _get(test_cfg, "rcnn")
        self.roi_head = AVARoIHead(**roi_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "FastRCNN":
        """Build from an mmaction2 model config ``dict(type="FastRCNN", backbone=..., roi_head=..., ...)``."""
        cfg = dict(cfg)
        if cfg.pop("type", "FastRCNN") != "FastRCNN":
            raise ConfigError(f"expected a FastRCNN model config, got type {cfg.get('type')!r}")
        return cls(**cfg)

    def init_weights(self) -> None:
        """Initialize backbone and RoI head."""
        self.backbone.init_weights()
        self.roi_head.init_weights()

    def extract_feat(self, img: torch.Tensor) -> Features:
        """Backbone features of a clip batch ``[N, 3, T, H, W]``."""
        if img.dim() != 5:
            raise ShapeError(f"FastRCNN expects clips [N, 3, T, H, W], got {tuple(img.shape)}")
        return self.backbone(img)

    def simple_test(self, img: torch.Tensor, img_metas: Sequence[Mapping[str, Any]],
                    proposals: Sequence[torch.Tensor], rescale: bool = False) -> List[List[np.ndarray]]:
        """Detections of one clip for the given proposals (``[[k_i, 5] per class 1..C-1]``)."""
        x = self.extract_feat(img)
        return self.roi_head.simple_test(x, proposals, img_metas, rescale=rescale)

    def forward_train(self, img: torch.Tensor, img_metas: Sequence[Mapping[str, Any]],
                      gt_bboxes: Sequence[torch.Tensor], gt_labels: Sequence[torch.Tensor],
                      proposals: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """mmdet ``FastRCNN.forward_train``: the RoI head's losses and recall/precision on a clip batch."""
        x = self.extract_feat(img)
        return self.roi_head.forward_train(x, img_metas, proposals, gt_bboxes, gt_labels)["loss_bbox"]

    def forward(self, img: Any, img_metas: Any, proposals: Any, return_loss: bool = False,
                gt_bboxes: Optional[Sequence[torch.Tensor]] = None, gt_labels: Optional[Sequence[torch.Tensor]] = None,
                **kwargs: Any):
        """mmdet ``forward``: with ``return_loss`` the training step (``img [N, 3, T, H, W]``, per-clip
        ``gt_bboxes``/``gt_labels``/``proposals``), else ``forward_test`` for one augmentation
        (``img=[x]``, ``img_metas=[metas]``, ``proposals=[[boxes]]``)."""
        if return_loss:
            if gt_bboxes is None or gt_labels is None:
                raise ConfigError("FastRCNN.forward(return_loss=True) needs gt_bboxes and gt_labels")
            return self.forward_train(img, img_metas, gt_bboxes, gt_labels, proposals)
        if len(img) != 1 or len(img_metas) != 1 or len(proposals) != 1:
            raise ShapeError(f"FastRCNN.forward supports one test augmentation, got {len(img)} images, "
                             f"{len(img_metas)} img_metas, {len(proposals)} proposal lists")
        return self.simple_test(img[0], img_metas[0], proposals[0], **kwargs)

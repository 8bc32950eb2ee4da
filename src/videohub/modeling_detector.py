"""The spatio-temporal action detection task.

:class:`VideoDetectorForSpatioTemporalActionDetection` is the transformers base of every
detector: the config's ``backbone`` and mmaction2's ``AVARoIHead`` (RoI extractor, optional shared
head, multi-label ``BBoxHeadAVA``) as ``backbone`` / ``roi_head``, named as in mmdet's ``FastRCNN``
so mmaction2 state dicts load unchanged. Clips ``(B, T, C, H, W)`` and person boxes in, per-box
multi-label scores out; an architecture sets its config (defaults, mmaction2 types) and may
override how boxes become RoIs or scores become detections.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from .configuration_utils import DetectorConfig
from .errors import ConfigError, ShapeError
from .modeling_outputs import SpatioTemporalActionDetectionOutput
from .modeling_utils import VideoPreTrainedModel, mark_part


def boxes_to_rois(boxes: Sequence[torch.Tensor]) -> torch.Tensor:
    """``[num_boxes, 5]`` RoIs ``(batch index, x1, y1, x2, y2)`` from one ``[k_i, 4]`` box tensor per clip."""
    rois = []
    for index, clip_boxes in enumerate(boxes):
        if clip_boxes.dim() != 2 or clip_boxes.shape[-1] != 4:
            raise ShapeError(f"boxes[{index}] has shape {tuple(clip_boxes.shape)}; expected [num_boxes, 4]")
        rois.append(torch.cat([clip_boxes.new_full((clip_boxes.shape[0], 1), index), clip_boxes[:, :4]], dim=1))
    return torch.cat(rois) if rois else torch.zeros(0, 5)


class VideoDetectorForSpatioTemporalActionDetection(VideoPreTrainedModel):
    """Base of every videohub detector: ``backbone`` + ``roi_head`` (mmaction2 ``AVARoIHead``)."""

    config_class = DetectorConfig
    auto_task = "spatio-temporal-action-detection"
    base_model_prefix = "backbone"
    roi_head_class: type = type(None)

    def __init__(self, config: DetectorConfig):
        super().__init__(config)
        self.backbone = mark_part(config.build_part("backbone"))
        roi_head = {k: v for k, v in config.roi_head_config().items() if k != "type"}
        self.roi_head = mark_part(self.roi_head_class(
            **roi_head, train_cfg=(config.train_cfg or {}).get("rcnn"), test_cfg=(config.test_cfg or {}).get("rcnn")))
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        boxes: Optional[Sequence[torch.Tensor]] = None,
        rois: Optional[torch.Tensor] = None,
        labels: Optional[torch.Tensor] = None,
        gt_boxes: Optional[Sequence[torch.Tensor]] = None,
        gt_labels: Optional[Sequence[torch.Tensor]] = None,
        img_metas: Optional[List[Mapping[str, Any]]] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        **kwargs: Any,
    ) -> Union[SpatioTemporalActionDetectionOutput, Tuple]:
        """Multi-label action scores of person boxes.

        Args:
            pixel_values: Clips ``(B, T, C, H, W)``.
            boxes: Per clip, person boxes (proposals) ``[k_i, 4]`` ``(x1, y1, x2, y2)`` in input
                pixels; or
            rois: ``[num_boxes, 5]`` with the clip index first. One of the two is required unless
                ``gt_boxes`` are given. Default ``None``.
            labels: Multi-hot targets ``[num_boxes, num_labels]`` of the given boxes (class 0
                ignored); gives ``loss``. Default ``None``.
            gt_boxes, gt_labels: Per clip, ground-truth person boxes ``[g_i, 4]`` and their multi-hot
                labels ``[g_i, num_labels]``. In training mode the proposals ``boxes`` (may be
                ``None``) are assigned to them and sampled with ``config.train_cfg.rcnn``
                (``MaxIoUAssignerAVA``, ``RandomSampler``, ground truths added as proposals) as
                mmaction2's ``AVARoIHead.forward_train``, and the output's ``rois`` are the sampled
                boxes; in eval mode every proposal is scored and assigned (no sampling) for the
                loss. ``losses`` then also holds ``recall@thr=0.5``, ``prec@thr=0.5`` and
                ``recall@top{k}``/``prec@top{k}``. Default ``None``.
            img_metas: Per clip, mmaction2 image metas (the long-term feature bank reads
                ``img_key``). Default ``None``.
        """
        if pixel_values.dim() != 5:
            raise ShapeError(f"pixel_values has shape {tuple(pixel_values.shape)}; expected (B, T, C, H, W)")
        batch = pixel_values.shape[0]
        with_gt = gt_boxes is not None or gt_labels is not None
        if with_gt:
            if gt_boxes is None or gt_labels is None:
                raise ShapeError("gt_boxes and gt_labels go together: pass both, one entry per clip")
            if labels is not None or rois is not None:
                raise ShapeError("pass either gt_boxes/gt_labels (with proposals as boxes) or labels for given "
                                 "boxes/rois, not both")
            if len(gt_boxes) != batch or len(gt_labels) != batch or (boxes is not None and len(boxes) != batch):
                raise ShapeError(f"{batch} clips but {len(gt_boxes)} gt_boxes, {len(gt_labels)} gt_labels and "
                                 f"{'no' if boxes is None else len(boxes)} proposal lists; expected one per clip")
            gt_boxes = [b.to(pixel_values) for b in gt_boxes]
            gt_labels = [lab.to(pixel_values) for lab in gt_labels]
            for index, lab in enumerate(gt_labels):
                if lab.dim() != 2 or lab.shape[1] != self.config.num_labels:
                    raise ShapeError(f"gt_labels[{index}] has shape {tuple(lab.shape)}; expected "
                                     f"[num_gt, {self.config.num_labels}] multi-hot rows")
            proposals = ([b.to(pixel_values) for b in boxes] if boxes is not None
                         else [pixel_values.new_zeros((0, 4)) for _ in range(batch)])
        elif rois is None:
            if boxes is None:
                raise ShapeError(f"{type(self).__name__} needs person boxes: pass boxes=[...] or rois=[N, 5]")
            rois = boxes_to_rois([b.to(pixel_values) for b in boxes])
        feat = self.backbone(pixel_values.transpose(1, 2))
        metas = img_metas or [{} for _ in range(batch)]
        loss, losses = None, None
        if with_gt and self.training:
            trained = self.roi_head.forward_train(feat, metas, proposals, gt_boxes, gt_labels)
            logits, rois, losses = trained["cls_score"], trained["rois"], trained["loss_bbox"]
        else:
            if with_gt:
                rois = boxes_to_rois(proposals)
                labels = torch.cat([self._assigned_labels(p, b, lab) for p, b, lab in zip(proposals, gt_boxes, gt_labels)])
            logits = self.roi_head._bbox_forward(feat, rois, metas)["cls_score"]
            if labels is not None:
                losses = self.roi_head.bbox_head.loss(logits, None, rois, labels.to(logits), None)
        if losses is not None:
            loss = sum(v for k, v in losses.items() if "loss" in k)
        want_hidden = output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        hidden = (feat if isinstance(feat, tuple) else (feat,)) if want_hidden else None
        out = SpatioTemporalActionDetectionOutput(loss=loss, logits=logits, rois=rois, losses=losses,
                                                  hidden_states=hidden)
        return out if return_dict is not False else out.to_tuple()

    def _assigned_labels(self, proposals: torch.Tensor, gt_boxes: torch.Tensor, gt_labels: torch.Tensor) -> torch.Tensor:
        """Multi-hot labels ``[k, num_labels]`` of proposals by the training assigner (no sampling)."""
        if self.roi_head.bbox_assigner is None:
            raise ConfigError("this detector's config has no train_cfg.rcnn.assigner: gt_boxes cannot be assigned")
        return self.roi_head.bbox_assigner.assign(proposals, gt_boxes, gt_labels).labels

    def post_process(self, outputs: SpatioTemporalActionDetectionOutput, img_metas: List[Mapping[str, Any]],
                     action_thr: Optional[float] = None) -> List[List[Dict[str, Any]]]:
        """Per clip, ``[{"box": [x1, y1, x2, y2], "label": id, "score": s}]`` above ``action_thr``.

        Boxes are normalized to ``[0, 1]`` of the original frame, with the crop and flip of each
        clip's meta (``img_shape``, ``crop_quadruple``, ``flip``) undone, as mmaction2's
        ``BBoxHeadAVA.get_det_bboxes``. ``action_thr`` defaults to ``test_cfg.rcnn.action_thr``.
        """
        thr = action_thr if action_thr is not None else ((self.config.test_cfg or {}).get("rcnn") or {}).get(
            "action_thr", 0.002)
        results = []
        for index, meta in enumerate(img_metas):
            keep = outputs.rois[:, 0] == index
            bboxes, scores = self.roi_head.bbox_head.get_det_bboxes(
                outputs.rois[keep], outputs.logits[keep], meta["img_shape"], flip=meta.get("flip", False),
                crop_quadruple=meta.get("crop_quadruple"), cfg=None)
            detections = []
            for box, box_scores in zip(bboxes.tolist(), scores):
                for label in range(1, box_scores.shape[0]):
                    if float(box_scores[label]) >= thr:
                        detections.append({"box": box, "label": label, "score": float(box_scores[label])})
            results.append(detections)
        return results

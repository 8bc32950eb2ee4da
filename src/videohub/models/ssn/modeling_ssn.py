"""SSN as a transformers model: frames of sampled proposals (training) or of a whole video (test) in,
activity / completeness / regression scores (and loss) out, THUMOS-style detections from ``post_process``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn.functional as F

from ...errors import ConfigError, ShapeError
from ...localization import perform_regression, temporal_nms
from ...metrics.dataset_evaluation import DEFAULT_SSN_EVALUATER, ssn_results_to_detections
from ...modeling_localizer import VideoLocalizerForTemporalActionLocalization
from ...modeling_outputs import TemporalActionLocalizationOutput
from .configuration_ssn import SSNConfig
from .ssn import SSN, STPPTest, STPPTrain


@dataclass
class SSNOutput(TemporalActionLocalizationOutput):
    """:class:`TemporalActionLocalizationOutput` with SSN's scores (mmaction2's names).

    Args:
        activity_scores: ``[N, num_classes + 1]`` activity logits (class 0 is background).
        completeness_scores: ``[N, num_classes]`` completeness logits.
        bbox_preds: ``[N, num_classes, 2]`` (center, log-scale) regression, or ``None`` without
            regression. Normalized on the training path; de-normalized with ``reg_norm_consts`` on
            the test path, like mmaction2's ``forward_test``.
        relative_proposal_list: ``[B, P, 2]`` proposals in ``[0, 1]`` video units when given.
        reg_norm_consts: ``[2, 2]`` (mean row, std row) still to apply to ``bbox_preds`` (training
            path only, when given).
    """

    activity_scores: Optional[torch.Tensor] = None
    completeness_scores: Optional[torch.Tensor] = None
    bbox_preds: Optional[torch.Tensor] = None
    relative_proposal_list: Optional[torch.Tensor] = None
    reg_norm_consts: Optional[torch.Tensor] = None


class SSNForTemporalActionLocalization(VideoLocalizerForTemporalActionLocalization):
    """SSN detector; the mmaction2 module is ``self.localizer`` (:class:`~videohub.models.ssn.SSN`)."""

    config_class = SSNConfig
    localizer_class = SSN
    main_input_name = "pixel_values"

    def __init__(self, config: SSNConfig):
        super().__init__(config)
        head = self.localizer.cls_head
        consensus = head.consensus
        stages = consensus.stpp_stages if isinstance(consensus, STPPTrain) else consensus.stpp_stage
        # Parameter-free: the test-time pooling matching the training consensus.
        self.test_consensus = STPPTest(head.num_classes, head.use_regression, stages)

    def forward(
        self,
        pixel_values: torch.Tensor,
        proposal_scale_factor: Optional[torch.Tensor] = None,
        labels: Optional[Mapping[str, torch.Tensor]] = None,
        proposal_tick_list: Optional[torch.Tensor] = None,
        scale_factor_list: Optional[torch.Tensor] = None,
        relative_proposal_list: Optional[torch.Tensor] = None,
        reg_norm_consts: Optional[torch.Tensor] = None,
        return_dict: Optional[bool] = None,
        **kwargs: Any,
    ) -> Union[SSNOutput, Tuple]:
        """Training path (``proposal_scale_factor`` given) or test path (``proposal_tick_list`` given).

        Args:
            pixel_values: Training: ``(B, P, S, C, H, W)``, ``S`` segments of each of ``P`` sampled
                proposals. Test: ``(num_crops, num_ticks, C, H, W)`` frames of one video.
            proposal_scale_factor: ``(B, P, 2)`` scales of the starting and ending stages (training).
            labels: ``{"proposal_type": (B, P), "proposal_labels": (B, P), "reg_targets": (B, P, 2)}``
                (training path; types 0 positive, 1 incomplete, 2 background). Default ``None`` (no loss).
            proposal_tick_list: ``(1, P, 4)`` int ticks of each proposal's stages (test path).
            scale_factor_list: ``(1, P, 2)`` stage scales (test path).
            relative_proposal_list: ``(B, P, 2)`` proposals in ``[0, 1]``; needed by ``post_process``.
            reg_norm_consts: ``(1, 2, 2)`` or ``(2, 2)`` regression mean/std rows. Test path: applied
                to ``bbox_preds``; training path: carried for ``post_process``. Default ``None``.
            return_dict: ``False`` returns a tuple. Default ``None`` (a dataclass).
        """
        relative = None if relative_proposal_list is None else relative_proposal_list.reshape(-1, 2)
        norm = None if reg_norm_consts is None else reg_norm_consts.reshape(2, 2)
        if proposal_tick_list is not None:
            if labels is not None:
                raise ConfigError("SSN: labels are for the training path (proposal_scale_factor), "
                                  "not the test path (proposal_tick_list)")
            out = self._test_path(pixel_values, proposal_tick_list, scale_factor_list, norm)
            out.relative_proposal_list = None if relative is None else relative[None]
            return out if return_dict is not False else out.to_tuple()
        if proposal_scale_factor is None:
            raise ConfigError("SSN.forward needs proposal_scale_factor (training path) or proposal_tick_list "
                              "and scale_factor_list (test path)")
        if not isinstance(self.localizer.cls_head.consensus, STPPTrain):
            raise ConfigError("SSN's training path needs cls_head.consensus of type 'STPPTrain'")
        activity, completeness, bbox_preds = self.localizer._forward(pixel_values, proposal_scale_factor)
        loss, losses = None, None
        if labels is not None:
            missing = sorted({"proposal_type", "proposal_labels", "reg_targets"} - set(labels))
            if missing:
                raise ConfigError(f"SSN labels lack {missing}")
            raw = self.localizer.loss_cls(activity, completeness, bbox_preds, labels["proposal_type"],
                                          labels["proposal_labels"], labels["reg_targets"], self.config.train_cfg)
            losses = {name: value.mean() for name, value in raw.items()}  # as mmaction2's _parse_losses
            loss = sum(losses.values())
        batch = pixel_values.shape[0]
        out = SSNOutput(loss=loss, losses=losses, activity_scores=activity, completeness_scores=completeness,
                        bbox_preds=bbox_preds,
                        relative_proposal_list=None if relative is None else relative.reshape(batch, -1, 2),
                        reg_norm_consts=norm)
        return out if return_dict is not False else out.to_tuple()

    def _test_path(self, imgs: torch.Tensor, ticks: torch.Tensor, scale_factors: Optional[torch.Tensor],
                   reg_norm_consts: Optional[torch.Tensor]) -> SSNOutput:
        """mmaction2's ``SSN.forward_test`` with the fused fc computed, not stored as a layer."""
        if scale_factors is None:
            raise ConfigError("SSN test path needs scale_factor_list with proposal_tick_list")
        ticks = ticks.reshape(-1, 4)
        scale_factors = scale_factors.reshape(-1, 2)
        if ticks.shape[0] != scale_factors.shape[0]:
            raise ShapeError(f"SSN: {ticks.shape[0]} proposal ticks but {scale_factors.shape[0]} scale factors")
        head = self.localizer.cls_head
        features = self.localizer.tick_features(imgs)
        weight, bias = head.fused_test_fc(self.test_consensus.num_multipliers)
        activity, completeness, bbox_preds = self.test_consensus(F.linear(features, weight, bias), ticks,
                                                                 scale_factors)
        if bbox_preds is not None:
            if reg_norm_consts is None:
                raise ConfigError("SSN test path with regression needs reg_norm_consts (mean and std rows)")
            bbox_preds = self.localizer.denormalize_regression(bbox_preds, head.num_classes, reg_norm_consts.cpu())
        return SSNOutput(activity_scores=activity, completeness_scores=completeness, bbox_preds=bbox_preds)

    def post_process(self, outputs: SSNOutput,
                     video_metas: List[Mapping[str, Any]]) -> List[List[Dict[str, Any]]]:
        """Per video, detections ``[{"segment": [t0, t1], "score": s, "label": class}]`` in seconds, best first.

        As mmaction2's ``SSNDataset.evaluate``: ``results_to_detections`` (score
        ``softmax(activity[1:]) * exp(completeness)``, ``test_cfg.ssn.evaluater.top_k`` pairs),
        ``perform_regression`` when the head regresses, and per-class ``temporal_nms`` at
        ``evaluater.nms``. ``label`` is the class index (mmaction2's label - 1).
        ``video_metas[i]`` needs ``duration_second``; the output needs ``relative_proposal_list``.
        """
        if outputs.relative_proposal_list is None:
            raise ConfigError("SSN post_process needs relative_proposal_list: pass it to forward")
        evaluater = dict(DEFAULT_SSN_EVALUATER)
        ssn_cfg = (self.config.test_cfg or {}).get("ssn", {})
        evaluater.update(ssn_cfg.get("evaluater", {}))
        proposals = outputs.relative_proposal_list.detach().cpu().numpy()
        if proposals.shape[0] != len(video_metas):
            raise ShapeError(f"SSN post_process: {proposals.shape[0]} videos in the output but "
                             f"{len(video_metas)} video_metas")
        per_video = proposals.shape[1]
        num_classes = self.localizer.cls_head.num_classes
        bbox = outputs.bbox_preds
        if bbox is not None:
            bbox = bbox.detach().cpu().reshape(-1, num_classes, 2)
            if outputs.reg_norm_consts is not None:
                bbox = self.localizer.denormalize_regression(bbox, num_classes, outputs.reg_norm_consts.cpu())
            bbox = bbox.numpy()
        results = []
        for i, meta in enumerate(video_metas):
            if "duration_second" not in meta:
                raise ConfigError(f"SSN post_process: video_metas[{i}] lacks 'duration_second' (have {sorted(meta)})")
            rows = slice(i * per_video, (i + 1) * per_video)
            result = {"relative_proposal_list": proposals[i],
                      "activity_scores": outputs.activity_scores[rows].detach().cpu().numpy(),
                      "completeness_scores": outputs.completeness_scores[rows].detach().cpu().numpy(),
                      "bbox_preds": None if bbox is None else bbox[rows]}
            detections = ssn_results_to_detections([result], [{"video_id": i}], **evaluater)
            video = []
            for class_idx, by_video in enumerate(detections):
                if i not in by_video:
                    continue
                dets = perform_regression(by_video[i]) if bbox is not None else by_video[i]
                for row in temporal_nms(dets, evaluater["nms"]):
                    video.append({"segment": [float(row[0]) * meta["duration_second"],
                                              float(row[1]) * meta["duration_second"]],
                                  "score": float(row[2]), "label": class_idx})
            results.append(sorted(video, key=lambda d: -d["score"]))
        return results

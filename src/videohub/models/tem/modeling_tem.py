"""TEM as a transformers model: feature sequences in, actionness and boundary probabilities (and loss) out."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from ...localization.bsn_utils import candidate_proposals
from ...localization.proposal_utils import post_processing
from ...modeling_localizer import VideoLocalizerForTemporalActionLocalization
from ...modeling_outputs import TemporalActionLocalizationOutput
from ..bsn.tem import TEM
from .configuration_tem import TEMConfig


class TEMForTemporalActionLocalization(VideoLocalizerForTemporalActionLocalization):
    """BSN's TEM; the mmaction2 module is ``self.localizer`` (:class:`~videohub.models.bsn.TEM`)."""

    config_class = TEMConfig
    localizer_class = TEM

    def forward(
        self,
        input_features: torch.Tensor,
        labels: Optional[Sequence[torch.Tensor]] = None,
        return_dict: Optional[bool] = None,
        **kwargs: Any,
    ) -> Union[TemporalActionLocalizationOutput, Tuple]:
        """Actionness, start and end probabilities of feature sequences.

        Args:
            input_features: ``(B, tem_feat_dim, temporal_dim)`` snippet features.
            labels: Per video, the ground-truth segments normalized to ``[0, 1]``, ``[k, 2]``
                (mmaction2's ``gt_bbox``). Default ``None`` (no loss).
            return_dict: ``False`` returns a tuple. Default ``None`` (a dataclass).
        """
        out = self.localizer._forward(input_features)
        loss, losses = None, None
        if labels is not None:
            targets = [t.to(input_features.device) for t in self.localizer.generate_labels(labels)]
            localizer = self.localizer
            losses = {"loss_action": localizer.loss_cls(out[:, 0], targets[0], localizer.match_threshold)
                      * localizer.loss_weight,
                      "loss_start": localizer.loss_cls(out[:, 1], targets[1], localizer.match_threshold),
                      "loss_end": localizer.loss_cls(out[:, 2], targets[2], localizer.match_threshold)}
            loss = losses["loss_action"] + losses["loss_start"] + losses["loss_end"]
        output = TemporalActionLocalizationOutput(loss=loss, action=out[:, 0], start=out[:, 1], end=out[:, 2],
                                                  losses=losses)
        return output if return_dict is not False else output.to_tuple()

    def post_process(self, outputs: TemporalActionLocalizationOutput,
                     video_metas: List[Mapping[str, Any]]) -> List[List[Dict[str, Any]]]:
        """Per video, BSN's candidate proposals of the TEM output, soft-NMSed, in seconds, best first.

        The candidates are those of BSN's proposal generation (``peak_threshold``), scored
        ``start * end`` (BSN without PEM, i.e. a PEM confidence of 1), then post-processed like
        mmaction2's ``PEM.forward_test``. ``video_metas[i]`` needs ``duration_frame`` and ``duration_second``.
        """
        config = self.config
        results = []
        for i, meta in enumerate(video_metas):
            start = outputs.start[i].detach().cpu().numpy()
            end = outputs.end[i].detach().cpu().numpy()
            rows = candidate_proposals(start, end, config.temporal_dim, config.peak_threshold)
            results.append(post_processing(rows, meta, config.soft_nms_alpha, config.soft_nms_low_threshold,
                                           config.soft_nms_high_threshold, config.post_process_top_k,
                                           config.feature_extraction_interval))
        return results

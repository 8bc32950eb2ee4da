"""BMN as a transformers model: feature sequences in, boundary-matching maps (and loss) out."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from ...modeling_localizer import VideoLocalizerForTemporalActionLocalization
from ...modeling_outputs import TemporalActionLocalizationOutput
from .bmn import BMN
from .configuration_bmn import BMNConfig


class BMNForTemporalActionLocalization(VideoLocalizerForTemporalActionLocalization):
    """BMN proposal generator; the mmaction2 module is ``self.localizer`` (:class:`~videohub.models.bmn.BMN`)."""

    config_class = BMNConfig
    localizer_class = BMN

    def forward(
        self,
        input_features: torch.Tensor,
        labels: Optional[Sequence[torch.Tensor]] = None,
        return_dict: Optional[bool] = None,
        **kwargs: Any,
    ) -> Union[TemporalActionLocalizationOutput, Tuple]:
        """Boundary-matching maps of feature sequences.

        Args:
            input_features: ``(B, feat_dim, temporal_dim)`` snippet features.
            labels: Per video, the ground-truth segments normalized to ``[0, 1]``, ``[k, 2]``
                (mmaction2's ``gt_bbox``). Default ``None`` (no loss).
        """
        confidence_map, start, end = self.localizer._forward(input_features)
        loss, losses = None, None
        if labels is not None:
            targets = [t.to(input_features.device) for t in self.localizer.generate_labels(labels)]
            total, boundary, reg, cls = self.localizer.loss_cls(confidence_map, start, end, *targets,
                                                                self.localizer.bm_mask.to(input_features.device))
            loss, losses = total, {"loss": total, "loss_reg": reg, "loss_cls": cls, "loss_tem": boundary}
        out = TemporalActionLocalizationOutput(loss=loss, confidence_map=confidence_map, start=start, end=end,
                                               losses=losses)
        return out if return_dict is not False else out.to_tuple()

    def post_process(self, outputs: TemporalActionLocalizationOutput,
                     video_metas: List[Mapping[str, Any]]) -> List[List[Dict[str, Any]]]:
        """Per video, soft-NMSed proposals ``[{"segment": [t0, t1], "score": s}]`` in seconds, best first.

        ``video_metas[i]`` needs ``duration_frame`` and ``duration_second`` (mmaction2's ``video_meta``).
        """
        return [self.localizer.proposals(outputs.confidence_map[i], outputs.start[i], outputs.end[i], meta)
                for i, meta in enumerate(video_metas)]

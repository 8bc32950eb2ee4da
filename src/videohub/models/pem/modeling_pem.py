"""PEM as a transformers model: BSP features of candidate proposals in, a confidence per proposal (and loss) out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch

from ...errors import ConfigError, ShapeError
from ...modeling_localizer import VideoLocalizerForTemporalActionLocalization
from ...modeling_outputs import TemporalActionLocalizationOutput
from ..bsn.pem import PEM
from .configuration_pem import PEMConfig


@dataclass
class PEMOutput(TemporalActionLocalizationOutput):
    """:class:`TemporalActionLocalizationOutput` with ``proposal_scores`` ``[B, P]`` (mmaction2's
    ``pem_output``) and the candidates' ``tmin``, ``tmax``, ``tmin_score``, ``tmax_score`` ``[B, P]``
    when they were given (``post_process`` needs them)."""

    tmin: Optional[torch.Tensor] = None
    tmax: Optional[torch.Tensor] = None
    tmin_score: Optional[torch.Tensor] = None
    tmax_score: Optional[torch.Tensor] = None


class PEMForTemporalActionLocalization(VideoLocalizerForTemporalActionLocalization):
    """BSN's PEM; the mmaction2 module is ``self.localizer`` (:class:`~videohub.models.bsn.PEM`)."""

    config_class = PEMConfig
    localizer_class = PEM

    def forward(
        self,
        input_features: torch.Tensor,
        tmin: Optional[torch.Tensor] = None,
        tmax: Optional[torch.Tensor] = None,
        tmin_score: Optional[torch.Tensor] = None,
        tmax_score: Optional[torch.Tensor] = None,
        labels: Optional[torch.Tensor] = None,
        return_dict: Optional[bool] = None,
        **kwargs: Any,
    ) -> Union[PEMOutput, Tuple]:
        """Confidence of each candidate proposal.

        Args:
            input_features: ``(B, P, pem_feat_dim)`` BSP features of ``P`` candidates per video.
            tmin, tmax, tmin_score, tmax_score: ``(B, P)`` candidate boundaries (normalized) and
                boundary scores from proposal generation; carried to the output for ``post_process``.
                Default ``None``.
            labels: ``(B, P)`` IoU of each candidate with the ground truth (mmaction2's
                ``reference_temporal_iou``). Default ``None`` (no loss).
            return_dict: ``False`` returns a tuple. Default ``None`` (a dataclass).
        """
        pem_output = self.localizer._forward(input_features)
        batch, num = input_features.shape[:2]
        extras = dict(tmin=tmin, tmax=tmax, tmin_score=tmin_score, tmax_score=tmax_score)
        for name, value in extras.items():
            if value is not None and value.numel() != batch * num:
                raise ShapeError(f"PEM {name} has shape {tuple(value.shape)}; expected ({batch}, {num}) like "
                                 "input_features' first two dimensions")
        loss, losses = None, None
        if labels is not None:
            loss = self.localizer.loss(pem_output, labels.reshape(batch, num))
            losses = {"temporal_iou_loss": loss}
        out = PEMOutput(loss=loss, proposal_scores=pem_output.reshape(batch, num), losses=losses,
                        **{k: None if v is None else v.reshape(batch, num) for k, v in extras.items()})
        return out if return_dict is not False else out.to_tuple()

    def post_process(self, outputs: PEMOutput, video_metas: List[Mapping[str, Any]]) -> List[List[Dict[str, Any]]]:
        """Per video, proposals scored ``confidence * tmin_score * tmax_score``, soft-NMSed, in seconds, best first.

        Exactly mmaction2's ``PEM.forward_test`` per video. ``video_metas[i]`` needs ``duration_frame``
        and ``duration_second``; the output must carry ``tmin``, ``tmax``, ``tmin_score``, ``tmax_score``.
        """
        missing = [name for name in ("tmin", "tmax", "tmin_score", "tmax_score") if getattr(outputs, name) is None]
        if missing:
            raise ConfigError(f"PEM post_process needs the candidates' {missing}: pass them to forward")
        return [self.localizer.proposals(outputs.proposal_scores[i], outputs.tmin[i], outputs.tmax[i],
                                         outputs.tmin_score[i], outputs.tmax_score[i], meta)
                for i, meta in enumerate(video_metas)]

"""Temporal proposal generation and post-processing (``mmaction.localization`` of mmaction2 v0.24).

- ``temporal_iou`` / ``temporal_iop``: overlap of proposals with one ground-truth segment.
- ``soft_nms`` / ``temporal_nms``: proposal suppression (BMN/BSN and SSN post-processing).
- ``generate_candidate_proposals`` / ``generate_bsp_feature`` (and their writers): BSN's PGM stage.
- ``load_localize_proposal_file`` / ``perform_regression`` / ``eval_ap``: SSN proposals and evaluation.
"""

from .bsn_utils import (candidate_proposals, generate_bsp_feature, generate_candidate_proposals, write_bsp_features,
                        write_pgm_proposals)
from .proposal_utils import soft_nms, temporal_iop, temporal_iou, temporal_nms
from .ssn_utils import eval_ap, load_localize_proposal_file, perform_regression

__all__ = [
    "candidate_proposals",
    "eval_ap",
    "generate_bsp_feature",
    "generate_candidate_proposals",
    "load_localize_proposal_file",
    "perform_regression",
    "soft_nms",
    "temporal_iop",
    "temporal_iou",
    "temporal_nms",
    "write_bsp_features",
    "write_pgm_proposals",
]

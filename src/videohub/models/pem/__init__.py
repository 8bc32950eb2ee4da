"""PEM: BSN's Proposal Evaluation Module as a transformers model (the module is in ``models/bsn``)."""

from .configuration_pem import PEMConfig
from .modeling_pem import PEMForTemporalActionLocalization, PEMOutput

__all__ = ["PEMConfig", "PEMForTemporalActionLocalization", "PEMOutput"]

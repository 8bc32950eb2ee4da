"""TEM: BSN's Temporal Evaluation Module as a transformers model (the module is in ``models/bsn``)."""

from .configuration_tem import TEMConfig
from .modeling_tem import TEMForTemporalActionLocalization

__all__ = ["TEMConfig", "TEMForTemporalActionLocalization"]

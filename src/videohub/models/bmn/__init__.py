"""BMN: Boundary-Matching Network for temporal action proposal generation (Lin et al., ICCV 2019)."""

from .bmn import BMN
from .configuration_bmn import BMNConfig
from .modeling_bmn import BMNForTemporalActionLocalization

__all__ = ["BMN", "BMNConfig", "BMNForTemporalActionLocalization"]

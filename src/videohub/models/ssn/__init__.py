"""SSN: Structured Segment Networks for temporal action detection (Zhao et al., ICCV 2017)."""

from .configuration_ssn import SSNConfig
from .modeling_ssn import SSNForTemporalActionLocalization, SSNOutput
from .ssn import SSN, SSNHead, STPPTest, STPPTrain

__all__ = ["SSN", "SSNConfig", "SSNForTemporalActionLocalization", "SSNHead", "SSNOutput", "STPPTest", "STPPTrain"]

"""SSN: Structured Segment Networks for temporal action detection (Zhao et al., ICCV 2017)."""

from .ssn import SSN, SSNHead, STPPTest, STPPTrain

__all__ = ["SSN", "SSNHead", "STPPTest", "STPPTrain"]

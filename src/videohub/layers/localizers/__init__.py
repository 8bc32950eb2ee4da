"""Temporal action localizers of mmaction2 v0.24: BSN (``TEM``, ``PEM``), ``BMN`` and ``SSN``."""

from .base import LOCALIZERS, BaseLocalizer, build_localizer, post_processing
from .bmn import BMN
from .pem import PEM
from .ssn import SSN, SSNHead, STPPTest, STPPTrain
from .tem import TEM

__all__ = ["BMN", "BaseLocalizer", "LOCALIZERS", "PEM", "SSN", "SSNHead", "STPPTest", "STPPTrain", "TEM",
           "build_localizer", "post_processing"]

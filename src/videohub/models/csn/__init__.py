"""CSN: Video Classification with Channel-Separated Convolutional Networks (Tran et al., ICCV 2019)."""

from .configuration_csn import CSNConfig
from .modeling_csn import CSNForVideoClassification, CSNModel

__all__ = ["CSNConfig", "CSNModel", "CSNForVideoClassification"]

"""R(2+1)D: A Closer Look at Spatiotemporal Convolutions for Action Recognition (Tran et al., CVPR 2018)."""

from .configuration_r2plus1d import R2Plus1DConfig
from .modeling_r2plus1d import R2Plus1DForVideoClassification, R2Plus1DModel

__all__ = ["R2Plus1DConfig", "R2Plus1DModel", "R2Plus1DForVideoClassification"]

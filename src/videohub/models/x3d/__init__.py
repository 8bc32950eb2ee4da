"""X3D: Expanding Architectures for Efficient Video Recognition (Feichtenhofer, CVPR 2020)."""

from .configuration_x3d import X3DConfig
from .modeling_x3d import X3DForVideoClassification, X3DModel

__all__ = ["X3DConfig", "X3DModel", "X3DForVideoClassification"]

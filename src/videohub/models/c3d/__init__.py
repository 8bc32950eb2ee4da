"""C3D: Learning Spatiotemporal Features with 3D Convolutional Networks (Tran et al., ICCV 2015)."""

from .configuration_c3d import C3DConfig
from .modeling_c3d import C3DForVideoClassification, C3DModel

__all__ = ["C3DConfig", "C3DModel", "C3DForVideoClassification"]

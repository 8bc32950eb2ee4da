"""I3D: Quo Vadis, Action Recognition? A New Model and the Kinetics Dataset (Carreira & Zisserman, CVPR 2017)."""

from .configuration_i3d import I3DConfig
from .modeling_i3d import I3DForVideoClassification, I3DModel

__all__ = ["I3DConfig", "I3DModel", "I3DForVideoClassification"]

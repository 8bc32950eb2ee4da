"""PoseC3D: Revisiting Skeleton-based Action Recognition (Duan et al., CVPR 2022)."""

from .configuration_posec3d import PoseC3DConfig
from .modeling_posec3d import PoseC3DForVideoClassification, PoseC3DModel

__all__ = ["PoseC3DConfig", "PoseC3DModel", "PoseC3DForVideoClassification"]

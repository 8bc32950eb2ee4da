"""Building blocks shared by several architectures: conv modules, ResNet 2D/3D and MobileNetV2
families, heads' base, non-local, temporal shift, RoIAlign, losses. Importing this package
registers them (see :mod:`videohub.registry`); nothing here defines a whole model."""

from . import (  # noqa: F401  (registration side effects)
    conv, conv2plus1d, conv_audio, heads, losses, losses_localization, mobilenet_v2, non_local, resnet, resnet3d,
)
from .conv import ConvModule, build_activation_layer, build_conv_layer, build_norm_layer  # noqa: F401
from .losses import build_loss  # noqa: F401

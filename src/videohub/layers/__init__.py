"""Building blocks shared by several architectures; importing this fills the layer registries."""

from . import backbones, heads, localizers, losses_localization, necks  # noqa: F401  (registration side effects)
from .conv import ConvModule, build_activation_layer, build_conv_layer, build_norm_layer  # noqa: F401
from .losses import build_loss  # noqa: F401

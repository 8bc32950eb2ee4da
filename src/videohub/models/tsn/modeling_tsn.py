"""TSN models: features (:class:`TSNModel`) and classification (:class:`TSNForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_tsn import TSNConfig
from ...layers.resnet import ResNet  # noqa: F401  (the backbone: registers it for config dicts)
from .densenet import DenseNet161  # noqa: F401  (custom backbone "torchvision.densenet161")
from .resnext import ResNeXt  # noqa: F401  (custom backbone "mmcls.ResNeXt")
from .swin import SwinBase  # noqa: F401  (custom backbone "timm.swin_base_patch4_window7_224")
from .tsn_head import TSNHead  # noqa: F401  (the head: registers it for config dicts)


class TSNModel(VideoRecognizerModel):
    """TSN backbone features; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = TSNConfig


class TSNForVideoClassification(VideoRecognizerForVideoClassification):
    """TSN classifier; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = TSNConfig
    base_model_class = TSNModel

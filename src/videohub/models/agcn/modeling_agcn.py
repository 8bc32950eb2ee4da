"""2s-AGCN models: features (:class:`AGCNModel`) and classification (:class:`AGCNForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from ..stgcn.stgcn_head import STGCNHead  # noqa: F401  (the head, shared with ST-GCN: registers it)
from .agcn import AGCN  # noqa: F401  (the backbone: registers it for config dicts)
from .configuration_agcn import AGCNConfig


class AGCNModel(VideoRecognizerModel):
    """2s-AGCN backbone features of ``keypoints``; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = AGCNConfig
    main_input_name = "keypoints"


class AGCNForVideoClassification(VideoRecognizerForVideoClassification):
    """2s-AGCN classifier of ``keypoints``; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = AGCNConfig
    base_model_class = AGCNModel
    main_input_name = "keypoints"

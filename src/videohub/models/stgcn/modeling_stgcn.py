"""ST-GCN models: features (:class:`STGCNModel`) and classification (:class:`STGCNForVideoClassification`)."""

from ...modeling_recognizer import VideoRecognizerForVideoClassification, VideoRecognizerModel
from .configuration_stgcn import STGCNConfig
from .stgcn import STGCN  # noqa: F401  (the backbone: registers it for config dicts)
from .stgcn_head import STGCNHead  # noqa: F401  (the head: registers it for config dicts)


class STGCNModel(VideoRecognizerModel):
    """ST-GCN backbone features of ``keypoints``; see :class:`~videohub.modeling_recognizer.VideoRecognizerModel`."""

    config_class = STGCNConfig
    main_input_name = "keypoints"


class STGCNForVideoClassification(VideoRecognizerForVideoClassification):
    """ST-GCN classifier of ``keypoints``; see :class:`~videohub.modeling_recognizer.VideoRecognizerForVideoClassification`."""

    config_class = STGCNConfig
    base_model_class = STGCNModel
    main_input_name = "keypoints"

"""videohub: the mmaction2 video-understanding toolbox in the Hugging Face ecosystem.

Importing videohub registers every architecture with transformers' Auto classes, so
``transformers.AutoModelForVideoClassification.from_pretrained`` loads videohub checkpoints.
Architecture classes (``videohub.TSNConfig``, ``videohub.TSNForVideoClassification``, ...) are
available at the top level.
"""

from typing import Any

from .auto import CONFIG_CLASSES, MODEL_CLASSES, AutoVideoConfig, AutoVideoModel, AutoVideoProcessor
from .configuration_utils import VideoConfig
from .modeling_outputs import VideoClassifierOutput, VideoModelOutput
from .modeling_utils import VideoPreTrainedModel
from .processing import VideoProcessor

__version__ = "0.1.0"

__all__ = [
    "AutoVideoConfig", "AutoVideoModel", "AutoVideoProcessor", "VideoConfig", "VideoPreTrainedModel",
    "VideoProcessor", "VideoClassifierOutput", "VideoModelOutput",
    *sorted(cls.__name__ for cls in CONFIG_CLASSES.values()), *sorted(MODEL_CLASSES),
]


def __getattr__(name: str) -> Any:
    """Architecture classes by name, e.g. ``videohub.TSNForVideoClassification``."""
    for cls in list(CONFIG_CLASSES.values()) + list(MODEL_CLASSES.values()):
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module 'videohub' has no attribute {name!r}")

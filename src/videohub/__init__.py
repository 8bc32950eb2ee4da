"""videohub: the mmaction2 video-understanding toolbox in the Hugging Face ecosystem.

``import videohub`` is light: the classes below load on first use. It also makes transformers'
Auto classes know videohub's model types, so ``transformers.AutoModelForVideoClassification``
loads videohub checkpoints. Architecture classes (``videohub.TSNConfig``,
``videohub.TSNForVideoClassification``, ...) are available at the top level.
"""

from typing import Any, List

from . import transformers_hook

__version__ = "0.1.0"

# Public name → the module that defines it.
_LAZY = {
    "AutoVideoConfig": "auto", "AutoVideoModel": "auto", "AutoVideoProcessor": "auto",
    "AutoModelForVideoClassification": "auto", "AutoModelForTemporalActionLocalization": "auto",
    "AutoModelForSpatioTemporalActionDetection": "auto",
    "VideoConfig": "configuration_utils", "RecognizerConfig": "configuration_utils",
    "LocalizerConfig": "configuration_utils", "DetectorConfig": "configuration_utils",
    "VideoPreTrainedModel": "modeling_utils",
    "VideoClassifierOutput": "modeling_outputs", "VideoModelOutput": "modeling_outputs",
    "TemporalActionLocalizationOutput": "modeling_outputs", "SpatioTemporalActionDetectionOutput": "modeling_outputs",
    "VideoProcessor": "processing",
}

transformers_hook.install()


def __getattr__(name: str) -> Any:
    """Load public classes on first use; architecture classes by name (``videohub.TSNForVideoClassification``)."""
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if not name[:1].isupper():  # submodules (``from videohub import cli``) load through the import system
        raise AttributeError(f"module 'videohub' has no attribute {name!r}")
    from .auto import CONFIG_CLASSES, MODEL_CLASSES

    for cls in list(CONFIG_CLASSES.values()) + list(MODEL_CLASSES.values()):
        if cls.__name__ == name:
            return cls
    raise AttributeError(f"module 'videohub' has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))

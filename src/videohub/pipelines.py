"""transformers' ``video-classification`` pipeline, made to find a videohub model's processor.

transformers looks a video model's processor up through ``AutoVideoProcessor``, which exists only
where torchvision is installed. :class:`VideoClassificationPipeline` is transformers' pipeline with
one addition: for a videohub model given no ``video_processor``, it loads the
:class:`~videohub.processing.VideoProcessor` saved beside the model (``preprocessor_config.json``,
from the folder or the Hub), or the default one of its config with a warning. Every other model
goes through transformers' pipeline unchanged. :func:`register` makes it the class behind
``pipeline("video-classification")``; :mod:`videohub.auto` calls it.
"""

from __future__ import annotations

from typing import Any

from transformers.pipelines import PIPELINE_REGISTRY
from transformers.pipelines import VideoClassificationPipeline as TransformersVideoClassificationPipeline

from .modeling_utils import VideoPreTrainedModel
from .processing import VideoProcessor

TASK = "video-classification"


class VideoClassificationPipeline(TransformersVideoClassificationPipeline):
    """transformers' video-classification pipeline that also finds a videohub model's processor."""

    def __init__(self, *args: Any, **kwargs: Any):
        model = kwargs["model"] if "model" in kwargs else (args[0] if args else None)
        if isinstance(model, VideoPreTrainedModel) and kwargs.get("video_processor") is None:
            kwargs["video_processor"] = VideoProcessor.for_model(model.name_or_path, model.config)
        super().__init__(*args, **kwargs)


def register() -> None:
    """Make :class:`VideoClassificationPipeline` the implementation of ``pipeline("video-classification")``."""
    entry = PIPELINE_REGISTRY.supported_tasks[TASK]
    PIPELINE_REGISTRY.supported_tasks[TASK] = dict(entry, impl=VideoClassificationPipeline)

"""Auto classes, and the registration of every videohub model with transformers' Auto classes.

Every package under ``videohub/models/`` is imported; each ``VideoConfig`` subclass it exports is
registered with ``transformers.AutoConfig`` and its model classes with ``AutoModel`` (base models)
and ``AutoModelForVideoClassification`` (classifiers). Adding an architecture needs no edit here.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any, Dict, Type

from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification

from .configuration_utils import VideoConfig
from .errors import ConfigError
from .modeling_recognizer import VideoRecognizerForVideoClassification
from .modeling_utils import VideoPreTrainedModel

CONFIG_CLASSES: Dict[str, Type[VideoConfig]] = {}
MODEL_CLASSES: Dict[str, Type[VideoPreTrainedModel]] = {}
TASK_CLASSES: Dict[str, Type[VideoPreTrainedModel]] = {}  # model_type -> default task model


def _register_module(module) -> None:
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if issubclass(obj, VideoConfig) and obj.model_type.startswith("videohub-"):
            CONFIG_CLASSES[obj.model_type] = obj
            AutoConfig.register(obj.model_type, obj, exist_ok=True)
    for _, obj in inspect.getmembers(module, inspect.isclass):
        config_class = getattr(obj, "config_class", None)
        if not issubclass(obj, VideoPreTrainedModel) or config_class not in CONFIG_CLASSES.values():
            continue
        MODEL_CLASSES[obj.__name__] = obj
        if issubclass(obj, VideoRecognizerForVideoClassification):
            TASK_CLASSES[config_class.model_type] = obj
            AutoModelForVideoClassification.register(config_class, obj, exist_ok=True)
        elif obj.__name__.endswith("Model"):
            AutoModel.register(config_class, obj, exist_ok=True)
        elif config_class.model_type not in TASK_CLASSES:
            TASK_CLASSES[config_class.model_type] = obj


def register_all() -> None:
    """Import every architecture package under ``videohub.models`` and register its classes."""
    from . import models

    for info in pkgutil.iter_modules(models.__path__):
        if info.ispkg:
            _register_module(importlib.import_module(f"{models.__name__}.{info.name}"))


class AutoVideoConfig:
    """Loads or creates the right videohub config class."""

    @staticmethod
    def from_pretrained(name_or_path: str, **kwargs: Any) -> VideoConfig:
        """Load ``config.json`` from a Hub id or folder; raise if it is not a videohub config."""
        config = AutoConfig.from_pretrained(name_or_path, **kwargs)
        if not isinstance(config, VideoConfig):
            raise ConfigError(f"{name_or_path!r} holds a {type(config).__name__} ({config.model_type!r}), "
                              f"not a videohub config; known types are {sorted(CONFIG_CLASSES)}")
        return config

    @staticmethod
    def for_model_type(model_type: str, **kwargs: Any) -> VideoConfig:
        """Create the config of ``model_type`` (e.g. ``"videohub-tsn"``) with ``kwargs``."""
        if model_type not in CONFIG_CLASSES:
            raise ConfigError(f"unknown model type {model_type!r}; known types are {sorted(CONFIG_CLASSES)}")
        return CONFIG_CLASSES[model_type](**kwargs)


class AutoVideoModel:
    """Loads a videohub model as whichever class it was saved as (``config.architectures``)."""

    @staticmethod
    def _class_for(config: VideoConfig) -> Type[VideoPreTrainedModel]:
        for name in config.architectures or []:
            if name in MODEL_CLASSES:
                return MODEL_CLASSES[name]
        if config.model_type not in TASK_CLASSES:
            raise ConfigError(f"no videohub model for type {config.model_type!r}; known types are {sorted(TASK_CLASSES)}")
        return TASK_CLASSES[config.model_type]

    @classmethod
    def from_pretrained(cls, name_or_path: str, **kwargs: Any) -> VideoPreTrainedModel:
        """Load a model from a Hub id (through the huggingface_hub cache) or a local folder."""
        hub_kwargs = {k: kwargs[k] for k in ("revision", "cache_dir", "token", "local_files_only") if k in kwargs}
        config = kwargs.pop("config", None) or AutoVideoConfig.from_pretrained(name_or_path, **hub_kwargs)
        return cls._class_for(config).from_pretrained(name_or_path, config=config, **kwargs)

    @classmethod
    def from_config(cls, config: VideoConfig, **kwargs: Any) -> VideoPreTrainedModel:
        """Create a randomly initialized model (mmaction2 init) of the class ``config`` names."""
        return cls._class_for(config)(config, **kwargs)


class AutoVideoProcessor:
    """Loads the :class:`~videohub.processing.VideoProcessor` saved beside a model."""

    @staticmethod
    def from_pretrained(name_or_path: str, **kwargs: Any):
        from .processing import VideoProcessor

        return VideoProcessor.from_pretrained(name_or_path, **kwargs)


register_all()

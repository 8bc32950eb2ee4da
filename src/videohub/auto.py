"""Auto classes, and the registration of every videohub model with transformers' Auto classes.

Every package under ``videohub/models/`` is imported. Its config class (a ``VideoConfig``
subclass) is registered with ``transformers.AutoConfig``; each of its model classes is registered
by the task base it derives from: the base declares ``auto_task`` (``"video-classification"``,
``"temporal-action-localization"``, ``"spatio-temporal-action-detection"``, or
``"feature-extraction"`` for base models), and :data:`TASKS` says which transformers Auto class,
if any, that task also joins. A new task is one more base class and one more row in ``TASKS``.
``pipeline("video-classification")`` runs :class:`videohub.pipelines.VideoClassificationPipeline`,
which finds a videohub model's processor without torchvision.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, Optional, Type

import transformers
from transformers.utils import is_torchvision_available

from .configuration_utils import VideoConfig
from .errors import ConfigError
from .modeling_utils import VideoPreTrainedModel
from .models import import_all
from .pipelines import register as register_pipelines
from .processing import VideoProcessor

# task → transformers Auto class that also loads it (``None``: only videohub's Auto classes).
TASKS: Dict[str, Optional[str]] = {
    "feature-extraction": "AutoModel",
    "video-classification": "AutoModelForVideoClassification",
    "temporal-action-localization": None,
    "spatio-temporal-action-detection": None,
}

CONFIG_CLASSES: Dict[str, Type[VideoConfig]] = {}
MODEL_CLASSES: Dict[str, Type[VideoPreTrainedModel]] = {}
TASK_MODELS: Dict[str, Dict[str, Type[VideoPreTrainedModel]]] = {task: {} for task in TASKS}
TASK_CLASSES: Dict[str, Type[VideoPreTrainedModel]] = {}  # model_type -> its task model (not the base model)


def _register_module(module) -> None:
    expected_type = "videohub-" + module.__name__.rsplit(".", 1)[-1]
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if issubclass(obj, VideoConfig) and obj.model_type.startswith("videohub-"):
            if obj.model_type != expected_type:
                raise ConfigError(f"{obj.__name__}.model_type is {obj.model_type!r}; the config of "
                                  f"{module.__name__} must be {expected_type!r} (the folder's name)")
            CONFIG_CLASSES[obj.model_type] = obj
            transformers.AutoConfig.register(obj.model_type, obj, exist_ok=True)
            if obj.task == "video-classification" and is_torchvision_available():
                # pipeline("video-classification", model=...) finds the processor through AutoVideoProcessor,
                # which transformers only provides where torchvision is installed.
                transformers.AutoVideoProcessor.register(obj, VideoProcessor, exist_ok=True)
    for _, obj in inspect.getmembers(module, inspect.isclass):
        config_class = getattr(obj, "config_class", None)
        if not issubclass(obj, VideoPreTrainedModel) or config_class not in CONFIG_CLASSES.values():
            continue
        task = getattr(obj, "auto_task", None)
        if task not in TASKS:
            raise ConfigError(f"{obj.__name__} derives from no task base (auto_task={task!r}; known: {sorted(TASKS)})")
        MODEL_CLASSES[obj.__name__] = obj
        TASK_MODELS[task][config_class.model_type] = obj
        if task != "feature-extraction":
            TASK_CLASSES[config_class.model_type] = obj
        if TASKS[task] is not None:
            getattr(transformers, TASKS[task]).register(config_class, obj, exist_ok=True)


def register_all() -> None:
    """Import every architecture package under ``videohub.models`` and register its classes."""
    for module in import_all():
        _register_module(module)


class AutoVideoConfig:
    """Loads or creates the right videohub config class."""

    @staticmethod
    def from_pretrained(name_or_path: str, **kwargs: Any) -> VideoConfig:
        """Load ``config.json`` from a Hub id or folder; raise if it is not a videohub config."""
        config = transformers.AutoConfig.from_pretrained(name_or_path, **kwargs)
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


class _AutoTaskModel:
    """Loads a videohub model of one task (``task = None``: the class the checkpoint was saved as)."""

    task: Optional[str] = None

    @classmethod
    def _class_for(cls, config: VideoConfig) -> Type[VideoPreTrainedModel]:
        table = TASK_CLASSES if cls.task is None else TASK_MODELS[cls.task]
        if cls.task is None:
            for name in config.architectures or []:
                if name in MODEL_CLASSES:
                    return MODEL_CLASSES[name]
        if config.model_type not in table:
            what = "videohub model" if cls.task is None else f"{cls.task} model"
            raise ConfigError(f"no {what} for type {config.model_type!r}; known types are {sorted(table)}")
        return table[config.model_type]

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


class AutoVideoModel(_AutoTaskModel):
    """Loads a videohub model as whichever class it was saved as (``config.architectures``)."""


class AutoModelForVideoClassification(_AutoTaskModel):
    """Loads the action-recognition model of a videohub config."""

    task = "video-classification"


class AutoModelForTemporalActionLocalization(_AutoTaskModel):
    """Loads the temporal action localization model of a videohub config (BSN, BMN, SSN)."""

    task = "temporal-action-localization"


class AutoModelForSpatioTemporalActionDetection(_AutoTaskModel):
    """Loads the spatio-temporal action detection model of a videohub config (AVA)."""

    task = "spatio-temporal-action-detection"


class AutoVideoProcessor:
    """Loads the :class:`~videohub.processing.VideoProcessor` saved beside a model."""

    @staticmethod
    def from_pretrained(name_or_path: str, **kwargs: Any):
        return VideoProcessor.from_pretrained(name_or_path, **kwargs)


register_all()
register_pipelines()

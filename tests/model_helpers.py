"""Helpers of the per-task model tests: the tiny configs in ``tests/models/tiny`` and model building.

A new architecture of any task gets every check of its task by adding ``tests/models/tiny/<arch>.py``
with ``CONFIG`` (kwargs of its config class) and either ``INPUT_SHAPE`` (recognizers: the shape of
``pixel_values`` or ``input_features``) or ``inputs()`` (a dict of model inputs) and ``labels()``.
"""

import copy
import importlib.util
import os
import pkgutil

import torch

from videohub.auto import CONFIG_CLASSES, TASK_CLASSES
from videohub.configuration_utils import DetectorConfig, LocalizerConfig, RecognizerConfig

TINY_DIR = os.path.join(os.path.dirname(__file__), "models", "tiny")
ARCHS = sorted(info.name for info in pkgutil.iter_modules([TINY_DIR]))


def tiny(arch):
    """The module ``tests/models/tiny/<arch>.py``."""
    spec = importlib.util.spec_from_file_location(f"tiny_{arch}", os.path.join(TINY_DIR, f"{arch}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def archs_of(task_config):
    """Architectures with a tiny config whose config class derives from ``task_config``."""
    return [a for a in ARCHS if issubclass(CONFIG_CLASSES[f"videohub-{a}"], task_config)]


RECOGNIZERS = archs_of(RecognizerConfig)
LOCALIZERS = archs_of(LocalizerConfig)
DETECTORS = archs_of(DetectorConfig)


def build(arch, **overrides):
    """``(task model, tiny module)`` of ``arch``, seeded."""
    module = tiny(arch)
    kwargs = copy.deepcopy(module.CONFIG)
    kwargs.update(overrides)
    config = CONFIG_CLASSES[f"videohub-{arch}"](**kwargs)
    torch.manual_seed(0)
    return TASK_CLASSES[config.model_type](config), module


def inputs(model, module, seed=0):
    """Model inputs of a tiny module: ``inputs()`` if it has one, else a random ``INPUT_SHAPE`` tensor."""
    if hasattr(module, "inputs"):
        torch.manual_seed(seed)
        return module.inputs()
    x = torch.randn(*module.INPUT_SHAPE, generator=torch.Generator().manual_seed(seed))
    return {model.main_input_name: x}


def labels(model, module):
    """Training labels of a tiny module: ``labels()`` if it has one, else class ids."""
    if hasattr(module, "labels"):
        return module.labels()
    return torch.arange(module.INPUT_SHAPE[0]) % model.config.num_labels


def tensors(output):
    """Every tensor of a model output, in order (for exact comparisons)."""
    return [v for v in output.to_tuple() if isinstance(v, torch.Tensor)]

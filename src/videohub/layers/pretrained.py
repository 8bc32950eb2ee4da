"""Loading a local backbone checkpoint (the ``pretrained=`` argument of mmaction2 backbones).

Only local files are read: ``.safetensors``, or ``.pth`` through ``torch.load(weights_only=True)``.
torchvision ResNet names (``bn1``, ``downsample.0``) are renamed to mmaction2's ConvModule names.
"""

from __future__ import annotations

import os
import re
from typing import Dict, Iterable

import torch
from torch import nn

from ..errors import CheckpointError
from ..utils import logging

logger = logging.get_logger(__name__)


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Read a state dict from a local ``.safetensors`` or ``.pth`` file (never unpickling objects)."""
    if not os.path.isfile(path):
        raise CheckpointError(f"pretrained checkpoint {path!r} does not exist (only local files are read)")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path!r} holds a {type(obj).__name__}, expected a state dict")
    return obj


_TORCHVISION_RENAMES = [
    (re.compile(r"^conv1\.weight$"), "conv1.conv.weight"),
    (re.compile(r"^bn1\.(.*)$"), r"conv1.bn.\1"),
    (re.compile(r"^(layer\d+\.\d+)\.conv(\d)\.weight$"), r"\1.conv\2.conv.weight"),
    (re.compile(r"^(layer\d+\.\d+)\.bn(\d)\.(.*)$"), r"\1.conv\2.bn.\3"),
    (re.compile(r"^(layer\d+\.\d+)\.downsample\.0\.(.*)$"), r"\1.downsample.conv.\2"),
    (re.compile(r"^(layer\d+\.\d+)\.downsample\.1\.(.*)$"), r"\1.downsample.bn.\2"),
]


def torchvision_to_mmaction(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename torchvision ResNet keys to the ConvModule layout; ``fc.*`` is dropped."""
    out = {}
    for key, value in state_dict.items():
        if key.startswith("fc."):
            continue
        for pattern, repl in _TORCHVISION_RENAMES:
            if pattern.match(key):
                key = pattern.sub(repl, key)
                break
        out[key] = value
    return out


def unwrapped_name(name: str, wrap_names: Iterable[str]) -> str:
    """``name`` with the path segments that wrappers add (e.g. ``net``, ``block``) removed."""
    wrap = set(wrap_names)
    return ".".join(part for part in name.split(".") if part not in wrap)


def load_pretrained(module: nn.Module, path: str, wrap_names: Iterable[str] = ()) -> None:
    """Load ``path`` into ``module`` non-strictly, logging missing and unexpected keys.

    Keys are stripped of a ``backbone.`` prefix and, when ``module.torchvision_pretrain``, renamed
    from torchvision's layout. With ``wrap_names`` (default none), a plain 2D checkpoint also loads
    into a backbone whose blocks were wrapped: a key that is not one of the module's keys is matched
    against the module's keys with those path segments removed (``layer1.0.conv1.conv.weight``
    loads into ``layer1.0.conv1.conv.net.weight`` for ``wrap_names=("net",)``).
    """
    state_dict = read_state_dict(path)
    if any(k.startswith("backbone.") for k in state_dict):
        state_dict = {k[len("backbone."):]: v for k, v in state_dict.items() if k.startswith("backbone.")}
    if getattr(module, "torchvision_pretrain", False):
        state_dict = torchvision_to_mmaction(state_dict)
    own = set(module.state_dict())
    by_unwrapped: Dict[str, str] = {}
    for key in own:
        by_unwrapped.setdefault(unwrapped_name(key, wrap_names), key)
    state_dict = {(by_unwrapped.get(key, key) if key not in own else key): value for key, value in state_dict.items()}
    result = module.load_state_dict(state_dict, strict=False)
    if result.missing_keys:
        logger.warning("%s: missing keys when loading %s: %s", type(module).__name__, path, result.missing_keys)
    if result.unexpected_keys:
        logger.warning("%s: unexpected keys in %s: %s", type(module).__name__, path, result.unexpected_keys)

"""Registries that build layers and pipeline steps from JSON-able dicts.

mmaction2 describes every part of a model or data pipeline as ``dict(type="Name", **kwargs)``.
videohub keeps that form, so an mmaction2 config maps one to one onto a videohub config, and every
dict is checked against the constructor's signature before anything is built: an unknown argument
or a value of the wrong type raises :class:`~videohub.errors.ConfigError` naming the argument.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable, Dict, Optional

from .errors import ConfigError

# The packages whose modules register parts. They are imported by name, once, the first time a
# registry is asked for a name it does not hold: the registries stay a leaf of the import graph
# (parts import the registry, never the other way round), and ``import videohub`` stays light.
PART_PACKAGES = ("videohub.layers", "videohub.models", "videohub.data.pipelines")
_parts_loaded = False


def load_parts() -> None:
    """Import every module that registers layers, architectures' parts and pipeline steps (once)."""
    global _parts_loaded
    if _parts_loaded:
        return
    _parts_loaded = True
    for package in PART_PACKAGES:
        module = importlib.import_module(package)
        getattr(module, "import_all", lambda: None)()

_SEQUENCE = (list, tuple)
# Example values standing for plain annotations of required arguments (``depth: int``).
_EXAMPLES = {"int": 0, "float": 0.0, "bool": False, "str": "", "<class 'int'>": 0, "<class 'float'>": 0.0,
             "<class 'bool'>": False, "<class 'str'>": ""}


def _type_ok(value: Any, default: Any) -> bool:
    """Whether ``value`` may replace ``default`` (types are inferred from non-None defaults)."""
    if default is None or value is None or default is inspect.Parameter.empty:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, _SEQUENCE):
        return isinstance(value, _SEQUENCE)
    if isinstance(default, dict):
        return isinstance(value, dict)
    return True


def _is_union(annotation: Any) -> bool:
    """Whether an annotation (a string under ``from __future__ import annotations``) allows several types."""
    text = str(annotation)
    return text.startswith(("Union[", "typing.Union[")) or " | " in text


def accepted_arguments(fn: Callable) -> Dict[str, inspect.Parameter]:
    """Named parameters of ``fn``; for a class whose ``__init__`` forwards ``**kwargs`` to its base
    (mmaction2's subclass style), the base class's parameters are included, nearest first."""
    params: Dict[str, inspect.Parameter] = {}
    classes = [c for c in fn.__mro__ if c is not object and "__init__" in vars(c)] if inspect.isclass(fn) else [fn]
    for target in classes:
        own = inspect.signature(target).parameters
        for name, param in own.items():
            if name != "self" and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                params.setdefault(name, param)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in own.values()):
            return params
    return {}  # a **kwargs chain that never ends in a closed signature accepts anything


def check_arguments(fn: Callable, kwargs: Dict[str, Any], where: str, complete: bool = False) -> None:
    """Raise :class:`ConfigError` if ``kwargs`` has a key ``fn`` does not take or a badly typed value.

    Args:
        fn: The class or function.
        kwargs: Its keyword arguments.
        where: What is built, for the message.
        complete: ``kwargs`` are all the arguments of the call, so a missing required one is an
            error too. Default ``False`` (a partial dict, e.g. a config part completed later).
    """
    params = accepted_arguments(fn)
    if not params:
        return
    for key, value in kwargs.items():
        if key not in params:
            raise ConfigError(f"{where}: unknown argument {key!r}; allowed arguments are {sorted(params)}")
        default = params[key].default
        if default is inspect.Parameter.empty:
            default = _EXAMPLES.get(str(params[key].annotation), default)
        if _is_union(params[key].annotation):
            continue  # several types allowed (e.g. aug_ratio: a float or a pair); the callee checks
        if not _type_ok(value, default):
            raise ConfigError(
                f"{where}: argument {key!r} is {value!r} ({type(value).__name__}); "
                f"expected a {type(default).__name__}"
            )
    missing = [name for name, param in params.items() if param.default is inspect.Parameter.empty and name not in kwargs]
    if complete and missing:
        raise ConfigError(f"{where}: missing required argument(s) {missing}")


class Registry:
    """A name → class table with ``build(dict(type=..., **kwargs))``.

    Args:
        name: What the registry holds, used in error messages (e.g. ``"backbone"``).
    """

    def __init__(self, name: str):
        self.name = name
        self._items: Dict[str, Callable] = {}

    def register(self, obj: Optional[Callable] = None, *, name: Optional[str] = None, force: bool = False):
        """Register a class or function under its ``__name__`` (or ``name``). Usable as a decorator."""

        def add(item: Callable) -> Callable:
            key = name or item.__name__
            if key in self._items and not force and self._items[key] is not item:
                raise KeyError(f"{key!r} is already registered in the {self.name} registry")
            self._items[key] = item
            return item

        return add(obj) if obj is not None else add

    def get(self, key: str) -> Callable:
        """Return the object registered as ``key``; raise :class:`ConfigError` listing the known names."""
        if key not in self._items:
            load_parts()
        try:
            return self._items[key]
        except KeyError:
            raise ConfigError(f"unknown {self.name} type {key!r}; known types are {sorted(self._items)}") from None

    def __contains__(self, key: str) -> bool:
        if key not in self._items:
            load_parts()
        return key in self._items

    def __iter__(self):
        load_parts()
        return iter(sorted(self._items))

    def build(self, cfg: Dict[str, Any], **default_args: Any) -> Any:
        """Build ``cfg["type"]`` with the remaining keys (plus ``default_args`` where not set)."""
        if not isinstance(cfg, dict) or "type" not in cfg:
            raise ConfigError(f"a {self.name} config must be a dict with a 'type' key, got {cfg!r}")
        kwargs = {k: v for k, v in cfg.items() if k != "type"}
        for key, value in default_args.items():
            kwargs.setdefault(key, value)
        target = self.get(cfg["type"])
        check_arguments(target, kwargs, f"{self.name} {cfg['type']!r}", complete=True)
        return target(**kwargs)


BACKBONES = Registry("backbone")
NECKS = Registry("neck")
HEADS = Registry("head")
LOSSES = Registry("loss")
LOCALIZERS = Registry("localizer")
PIPELINES = Registry("pipeline step")

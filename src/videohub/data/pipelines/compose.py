"""``Compose`` and the base class every pipeline step derives from.

A pipeline step is a callable that takes the ``results`` dict and returns it (mmaction2's
contract). :class:`PipelineStep` adds two things to that contract:

* it remembers the arguments it was built with, so :meth:`PipelineStep.to_config` gives back the
  JSON-able ``{"type": ..., ...}`` dict that rebuilds it (``Compose.to_config`` / ``from_config``
  round-trip a whole pipeline through JSON, e.g. ``preprocessor_config.json``);
* it owns the random sources of random steps. By default these are numpy's global RNG
  (``np.random``) and python's ``random`` module, called in the same order as mmaction2, so seeding
  both globally reproduces mmaction2's samples exactly. A step built with ``seed=<int>`` uses its own
  ``np.random.RandomState(seed)`` and ``random.Random(seed)`` instead; ``seed=<np.random.Generator>``
  draws everything from that generator (not serializable to JSON). A seeded step copied into
  several DataLoader workers repeats the same stream in each; leave ``seed`` unset there and let
  the loader seed the global RNGs per worker.
"""

from __future__ import annotations

import inspect
import json
import random
from collections.abc import Sequence
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np

from ...errors import ConfigError
from ...registry import PIPELINES

SeedLike = Union[None, int, np.random.Generator]


def to_jsonable(value: Any, where: str = "value") -> Any:
    """Convert ``value`` to plain JSON types (tuples/arrays → lists, numpy scalars → python).

    Raises :class:`ConfigError` naming ``where`` if something cannot be represented in JSON.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise ConfigError(f"{where}: dict key {key!r} cannot be stored in JSON (use str or int keys)")
            out[str(key) if isinstance(key, int) else key] = to_jsonable(item, f"{where}[{key!r}]")
        return out
    raise ConfigError(f"{where}: {value!r} ({type(value).__name__}) cannot be stored in a JSON pipeline config")


class _GeneratorRandom:
    """Adapter giving a ``np.random.Generator`` the legacy ``np.random`` and python ``random`` calls."""

    def __init__(self, generator: np.random.Generator):
        self.generator = generator

    # numpy legacy API -------------------------------------------------------------------------
    def randint(self, low, high=None, size=None):
        """``np.random.randint``: integers in ``[low, high)`` (``[0, low)`` when ``high`` is None)."""
        if high is None:
            low, high = 0, low
        return self.generator.integers(low, high, size=size)

    def rand(self, *shape):
        """``np.random.rand``: uniform floats in ``[0, 1)``."""
        return self.generator.random(shape) if shape else self.generator.random()

    def uniform(self, low=0.0, high=1.0, size=None):
        """``np.random.uniform``."""
        return self.generator.uniform(low, high, size)

    def normal(self, loc=0.0, scale=1.0, size=None):
        """``np.random.normal``."""
        return self.generator.normal(loc, scale, size)

    def permutation(self, x):
        """``np.random.permutation``."""
        return self.generator.permutation(x)

    # python ``random`` API (names differ from numpy's, so they get their own methods) ----------
    def py_randint(self, a: int, b: int) -> int:
        """``random.randint``: an integer in the closed range ``[a, b]``."""
        return int(self.generator.integers(a, b + 1))

    def py_choice(self, seq):
        """``random.choice``."""
        return seq[int(self.generator.integers(0, len(seq)))]

    def py_random(self) -> float:
        """``random.random``."""
        return float(self.generator.random())


class _PythonRandom:
    """python ``random``-style calls on the module or a ``random.Random`` instance."""

    def __init__(self, source):
        self.source = source

    def py_randint(self, a: int, b: int) -> int:
        return self.source.randint(a, b)

    def py_choice(self, seq):
        return self.source.choice(seq)

    def py_random(self) -> float:
        return self.source.random()


class PipelineStep:
    """Base class of the pipeline steps: remembers constructor arguments and owns the RNGs.

    Subclasses call :meth:`_init_rng` with their ``seed`` argument if they are random.
    """

    _init_args: Dict[str, Any]

    def __new__(cls, *args: Any, **kwargs: Any):
        obj = super().__new__(cls)
        signature = inspect.signature(cls.__init__)
        # bind_partial: unpickling calls __new__ without arguments and restores __dict__ afterwards.
        bound = signature.bind_partial(obj, *args, **kwargs)
        arguments = dict(bound.arguments)
        arguments.pop(next(iter(signature.parameters)), None)  # ``self``
        for name, param in signature.parameters.items():
            if param.kind is inspect.Parameter.VAR_KEYWORD and name in arguments:
                arguments.update(arguments.pop(name))
            elif param.kind is inspect.Parameter.VAR_POSITIONAL and name in arguments:
                raise ConfigError(f"{cls.__name__} takes its arguments by name")
        obj._init_args = arguments
        return obj

    # randomness ----------------------------------------------------------------------------
    def _init_rng(self, seed: SeedLike) -> None:
        """Set up the random sources: global RNGs for ``None``, private ones for an int/Generator."""
        if seed is None:
            self._np_random = np.random
            self._py_rng = _PythonRandom(random)
        elif isinstance(seed, np.random.Generator):
            adapter = _GeneratorRandom(seed)
            self._np_random = adapter
            self._py_rng = adapter
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            self._np_random = np.random.RandomState(int(seed))
            self._py_rng = _PythonRandom(random.Random(int(seed)))
        else:
            raise ConfigError(
                f"{type(self).__name__}: seed must be None, an int or a numpy.random.Generator, got {seed!r}"
            )

    @property
    def np_random(self):
        """The numpy-style random source (``np.random`` unless a seed was given)."""
        if not hasattr(self, "_np_random"):
            self._init_rng(None)
        return self._np_random

    @property
    def py_random(self):
        """The python-``random``-style source (``py_randint``, ``py_choice``, ``py_random``)."""
        if not hasattr(self, "_py_rng"):
            self._init_rng(None)
        return self._py_rng

    # serialization -------------------------------------------------------------------------
    def to_config(self) -> Dict[str, Any]:
        """The JSON-able dict ``{"type": Name, **arguments}`` that rebuilds this step."""
        name = type(self).__name__
        config: Dict[str, Any] = {"type": name}
        for key, value in self._init_args.items():
            config[key] = to_jsonable(value, f"{name}.{key}")
        return config

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def require_keys(results: Dict[str, Any], keys: Sequence, step: str) -> None:
    """Raise :class:`ConfigError` if one of ``keys`` is missing from ``results``."""
    for key in keys:
        if key not in results:
            raise ConfigError(
                f"{step}: required key {key!r} is missing from the results dict (present keys: {sorted(results)})"
            )


class Compose:
    """Compose a data pipeline from a sequence of steps.

    Args:
        transforms: Step config dicts (built with ``PIPELINES.build``) or callables. No default.
    """

    def __init__(self, transforms: Sequence[Union[Dict[str, Any], Callable]]):
        if isinstance(transforms, (str, bytes, dict)) or not isinstance(transforms, Sequence):
            raise ConfigError(f"Compose: transforms must be a list of dicts or callables, got {type(transforms).__name__}")
        self.transforms: List[Callable] = []
        for index, transform in enumerate(transforms):
            if isinstance(transform, dict):
                try:
                    self.transforms.append(PIPELINES.build(transform))
                except ConfigError as err:
                    raise ConfigError(f"Compose: step {index}: {err}") from None
            elif callable(transform):
                self.transforms.append(transform)
            else:
                raise ConfigError(
                    f"Compose: step {index} must be callable or a dict, but got {type(transform).__name__}"
                )

    @classmethod
    def from_config(cls, config: Union[Sequence[Dict[str, Any]], str]) -> "Compose":
        """Build a pipeline from a list of step dicts, or from its JSON text."""
        if isinstance(config, str):
            try:
                config = json.loads(config)
            except json.JSONDecodeError as err:
                raise ConfigError(f"Compose.from_config: invalid JSON at line {err.lineno}: {err.msg}") from None
        if not isinstance(config, list) or not all(isinstance(c, dict) for c in config):
            raise ConfigError("Compose.from_config: expected a list of step dicts with a 'type' key")
        return cls(config)

    def to_config(self) -> List[Dict[str, Any]]:
        """The list of JSON-able step dicts (``Compose.from_config(p.to_config())`` rebuilds ``p``)."""
        configs = []
        for index, transform in enumerate(self.transforms):
            if not isinstance(transform, PipelineStep):
                raise ConfigError(
                    f"Compose.to_config: step {index} ({transform!r}) is a plain callable, not a pipeline step; "
                    "it has no config dict"
                )
            configs.append(transform.to_config())
        return configs

    def to_json(self, **kwargs: Any) -> str:
        """``json.dumps(self.to_config(), **kwargs)``."""
        return json.dumps(self.to_config(), **kwargs)

    def __call__(self, data: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Run every step in turn; stop and return ``None`` as soon as one returns ``None``."""
        for transform in self.transforms:
            data = transform(data)
            if data is None:
                return None
        return data

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, index: int) -> Callable:
        return self.transforms[index]

    def __repr__(self) -> str:
        text = type(self).__name__ + "("
        for transform in self.transforms:
            text += f"\n    {transform}"
        return text + "\n)"

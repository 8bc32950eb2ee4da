"""Read mmaction2 v0.x (mmcv 1.x) configs without executing them.

An mmaction2 config is a Python file of assignments such as ``model = dict(type=..., ...)``.
mmcv's ``Config.fromfile`` imports it; videohub instead walks the file's syntax tree and evaluates a
small, side-effect-free subset of Python:

* literals (``str``, numbers, ``True``/``False``/``None``), lists, tuples, sets, dict displays;
* names assigned earlier in the same file, tuple unpacking and item assignment
  (``data['test']['test_mode'] = True``) in assignments, ``x += ...``;
* calls of a few pure builtins (``dict``, ``list``, ``tuple``, ``set``, ``len``, ``range``,
  ``int``, ``float``, ``str``, ``bool``, ``min``, ``max``, ``abs``, ``sum``, ``sorted``, ``round``,
  ``enumerate``, ``zip``, ``reversed``)
  with ``*`` / ``**`` unpacking;
* arithmetic, comparisons, ``and``/``or``/``not``, conditional expressions, indexing and slicing,
  f-strings, and list/dict/set comprehensions and generator expressions.

Everything else (imports, attribute access, other calls, lambdas, function or class definitions,
control flow) raises :class:`~videohub.errors.ConfigError` naming the construct and ``file:line``.

Inheritance follows mmcv 1.x exactly: ``_base_`` (a path or a list of paths relative to the file)
is read recursively, keys may not repeat across bases, the child is merged into the bases key by key
(dicts recursively, other values replaced), ``_delete_=True`` in a child dict replaces the base dict
instead of merging, and ``{{_base_.a.b}}`` written as a value (unquoted, as mmcv wants it) is
replaced by that value of the bases. The
predefined variables ``{{ fileDirname }}``, ``{{ fileBasename }}``, ``{{ fileBasenameNoExtension }}``
and ``{{ fileExtname }}`` are substituted in the text first, as mmcv does. ``.json`` and
``.yaml``/``.yml`` configs are read with the standard parsers and take part in inheritance too.

Bounded memory and time
-----------------------
A config may come from an untrusted checkpoint or hub repository, so one load is bounded. Going past
a bound raises :class:`~videohub.errors.ConfigError` naming ``file:line`` (and the bound):

* a config file holds at most :data:`MAX_FILE_BYTES` bytes; one load reads at most :data:`MAX_FILES`
  files, along ``_base_`` chains at most :data:`MAX_BASE_DEPTH` files deep (cycles are refused);
* expressions nest at most :data:`MAX_EXPRESSION_DEPTH` levels; values (lists, tuples, dicts and
  sets, from Python, JSON or YAML files) nest at most :data:`MAX_NESTING` levels;
* an integer has at most :data:`MAX_INT_BITS` bits; a width or precision in an f-string or
  ``%``-format is at most :data:`MAX_FORMAT_WIDTH`;
* every value, the variables of a file together and the merged config, written out as Python text,
  are at most :data:`MAX_VALUE_SIZE` characters long. A list or dict referenced several times
  (``b = [a] * 1000``) and a YAML alias count once per reference, as a consumer would see them;
* one load does at most :data:`MAX_WORK` units of work: 1000 per file opened, one per byte of
  Python or JSON parsed (two per byte of YAML), per expression evaluated and per item of a new
  container measured, and one per 32 items or characters copied, hashed, compared or formatted.

Sizes are checked before a value is built, so a hostile config fails within a fraction of a second
and a few tens of megabytes. The reader's bound is named in each message.
"""

from __future__ import annotations

import ast
import copy
import io
import itertools
import json
import operator
import os
import re
import reprlib
import sys
import tokenize
from typing import Any, Callable, Dict, Iterator, List, MutableMapping, Optional, Tuple

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from ..errors import ConfigError

try:  # libyaml's parser (optional: PyYAML built with libyaml) makes the events faster
    from yaml.cyaml import CParser

    _YAML_PARSER_BASES: Tuple[type, ...] = (CParser,)
except ImportError:
    _YAML_PARSER_BASES = (Reader, Scanner, Parser)

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"
DEPRECATION_KEY = "_deprecation_"

_BASE_VAR = re.compile(r"\{\{\s*_base_\.([\w.]+)\s*\}\}")
# mmcv turns every ``{{_base_.a.b}}`` of the text into a string placeholder before parsing; so do we.
_BASE_MARKER = "__videohub_base_variable__."
_JSON_TOKEN = re.compile(r'["\[\]{}]')
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_PREDEFINED = re.compile(r"\{\{\s*(fileDirname|fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}")

# Bounds that keep a hostile config from exhausting memory or time (see the module docstring).
# Among the 258 mmaction2 0.24.1 configs the largest file is 6.2 KB, the longest _base_ chain 4 files
# (6 files read in all), the largest merged config 13 000 characters written out and the most work
# 21 000 units.
MAX_FILE_BYTES = 128 * 1024
MAX_FILES = 32
MAX_BASE_DEPTH = 8
MAX_EXPRESSION_DEPTH = 100
MAX_NESTING = 32
MAX_INT_BITS = 4096
MAX_FORMAT_WIDTH = 1000
MAX_VALUE_SIZE = 1_000_000
MAX_WORK = 200_000
_BULK = 32  # items or characters handled by C code per unit of work
_FILE_WORK = 1000  # units of work charged for opening a file
_YAML_BYTE_WORK = 2  # units of work per byte of YAML (parsing YAML is about twice as slow as Python)
_FORMAT_SLACK = 400  # characters a formatted number may take beyond its width and precision

_FUNCTIONS: Dict[str, Callable] = {
    "dict": dict,
    "list": list,
    "tuple": tuple,
    "set": set,
    "len": len,
    "range": range,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "min": min,
    "max": max,
    "abs": abs,
    "sum": sum,
    "sorted": sorted,
    "round": round,
    "enumerate": lambda *args, **kwargs: list(enumerate(*args, **kwargs)),
    "zip": lambda *args, **kwargs: list(zip(*args, **kwargs)),
    "reversed": lambda *args: list(reversed(*args)),
}
# The calls whose result may be larger than their arguments' items (others return a scalar or an item),
# and those that walk through their iterable arguments.
_BUILDERS = frozenset({"dict", "list", "tuple", "set", "str", "sum", "sorted", "enumerate", "zip", "reversed"})
_ITERATING = frozenset({"dict", "list", "tuple", "set", "sum", "sorted", "enumerate", "zip", "reversed", "min", "max"})

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitOr: operator.or_,
}

_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}

_PLAIN = (dict, list, tuple, set, str, int, float, bool, type(None), range)
_CONTAINERS = (list, tuple, set, frozenset, dict)
_ITERABLES = (list, tuple, set, dict, str, range)
_SEQUENCES = (str, list, tuple)
_ALIGN = "<>=^"
_DIGITS = "0123456789"

_short_repr = reprlib.Repr()
_short_repr.maxstring = 60
_short_repr.maxother = 60


def _short(value: Any) -> str:
    """A repr of ``value`` cut to a few dozen characters (for error messages)."""
    return _short_repr.repr(value)


class _Limit(Exception):
    """A bound of the reader was reached; the caller adds where (``file:line``) to the message."""


def _too_long(what: str) -> _Limit:
    return _Limit(
        f"{what} would create more than {MAX_VALUE_SIZE} characters of config (written out as Python text, "
        "a list or dict counted once per reference)"
    )


class _Budget:
    """The work one load may do; shared by a config and its ``_base_`` files."""

    def __init__(self) -> None:
        self.left = MAX_WORK
        self.files = 0

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise _Limit(f"the config needs more than {MAX_WORK} units of work to evaluate (the reader's bound)")

    def bulk(self, items: int) -> None:
        """Charge work done by C code over ``items`` items or characters."""
        self.spend(items // _BULK + 1)


def _length(value: Any) -> int:
    """``len(value)``, or ``sys.maxsize`` for a range too long for ``len``."""
    try:
        return len(value)
    except OverflowError:
        return sys.maxsize


def _int_too_large(bits: int) -> _Limit:
    return _Limit(f"an integer of {bits} bits is larger than the reader's bound of {MAX_INT_BITS} bits")


def _leaf_size(value: Any) -> int:
    """Characters of a non-container value written out (an upper bound for printable text)."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        bits = value.bit_length()
        if bits > MAX_INT_BITS:
            raise _int_too_large(bits)
        return bits // 3 + 2
    if isinstance(value, range):
        return len(repr(value))
    if isinstance(value, (bytes, bytearray)):
        return len(value) + 3
    return 32  # float, complex, the dates of YAML: short reprs


_PENDING = object()
_FIXED_SIZES = {float: 32, bool: 5, type(None): 5}


class _Sizer:
    """Size and nesting of values, remembered per container so each is walked once.

    The size of a value is the length of its text written out as Python, where a container that
    appears several times is written each time (so ``[a] * 1000`` is 1000 times the size of ``a``).

    Args:
        budget: The load's work budget, charged one unit per item of a container walked.
    """

    def __init__(self, budget: _Budget):
        self.budget = budget
        self.memo: Dict[int, Any] = {}

    def forget(self) -> None:
        """Drop what is remembered (after a container was changed in place)."""
        self.memo.clear()

    def size(self, value: Any) -> int:
        """The size of ``value``; raises :class:`_Limit` past the bounds or for a value that contains itself."""
        return self.measure(value, 0)[0]

    def measure(self, value: Any, level: int) -> Tuple[int, int]:
        """``(size, height)`` of ``value`` found ``level`` containers deep."""
        kind = type(value)
        if kind is str:
            return len(value) + 2, 0
        if kind is int:
            bits = value.bit_length()
            if bits > MAX_INT_BITS:
                raise _int_too_large(bits)
            return bits // 3 + 2, 0
        if kind in _FIXED_SIZES:
            return _FIXED_SIZES[kind], 0
        if not isinstance(value, _CONTAINERS):
            return _leaf_size(value), 0
        known = self.memo.get(id(value))
        if known is None:
            return self._walk(value, level)
        if known is _PENDING:
            raise _Limit("a list or dict contains itself (a recursive value cannot be a config value)")
        if level + known[2] > MAX_NESTING:
            raise _Limit(f"lists, tuples, dicts and sets nest deeper than the reader's bound of {MAX_NESTING} levels")
        return known[1], known[2]

    def _walk(self, value: Any, level: int) -> Tuple[int, int]:
        if level >= MAX_NESTING:
            raise _Limit(f"lists, tuples, dicts and sets nest deeper than the reader's bound of {MAX_NESTING} levels")
        key = id(value)
        self.memo[key] = _PENDING
        try:
            self.budget.spend(len(value) + 1)
            children = itertools.chain.from_iterable(value.items()) if isinstance(value, dict) else value
            total, height = 2, 0
            for child in children:
                if type(child) is str:  # the common leaf, measured here for speed
                    total += len(child) + 4
                else:
                    size, child_height = self.measure(child, level + 1)
                    total += size + 2
                    if child_height > height:
                        height = child_height
                if total > MAX_VALUE_SIZE:
                    raise _too_long(f"a {type(value).__name__} of {len(value)} items")
        except BaseException:
            del self.memo[key]
            raise
        # Keep the value itself so that its id is not reused while it is remembered.
        self.memo[key] = (value, total, height + 1)
        return total, height + 1


def _format_number(digits: str) -> int:
    """A width or precision of a format, refused past :data:`MAX_FORMAT_WIDTH`."""
    if len(digits) > 6 or int(digits) > MAX_FORMAT_WIDTH:
        raise _Limit(
            f"a width or precision of {_short(digits)} is larger than the reader's bound of {MAX_FORMAT_WIDTH}"
        )
    return int(digits)


def _format_spec_width(spec: str) -> int:
    """The widths and precisions of an f-string format spec (``[[fill]align][sign]...[width][.precision][type]``)."""
    if len(spec) > 1 and spec[1] in _ALIGN:
        rest = spec[2:]
    elif spec[:1] and spec[0] in _ALIGN:
        rest = spec[1:]
    else:
        rest = spec
    return sum(_format_number(digits) for digits in re.findall("[0-9]+", rest))


def _percent_specs(fmt: str) -> Tuple[int, int, bool]:
    """Parse a ``%``-format as CPython does: (conversions, sum of widths and precisions, any mapping key)."""
    count = widths = 0
    keyed = False
    n = len(fmt)
    i = fmt.find("%")
    while i != -1:
        j = i + 1
        if j < n and fmt[j] == "(":
            keyed, level = True, 1
            j += 1
            while j < n and level:
                level += {"(": 1, ")": -1}.get(fmt[j], 0)
                j += 1
        while j < n and fmt[j] in "-+ #0":
            j += 1
        for part in ("width", "precision"):
            if part == "precision":
                if j >= n or fmt[j] != ".":
                    break
                j += 1
            if j < n and fmt[j] == "*":
                raise _Limit(f"a `*` {part} in a %-format is not supported by the reader (write the number)")
            start = j
            while j < n and fmt[j] in _DIGITS:
                j += 1
            if j > start:
                widths += _format_number(fmt[start:j])
        if j < n and fmt[j] in "hlL":
            j += 1
        count += 1
        i = fmt.find("%", j + 1)
    return count, widths, keyed


class _BaseRef:
    """A ``{{_base_.a.b}}`` placeholder, replaced by the bases' value after they are read."""

    def __init__(self, path: str, where: str):
        self.path = path
        self.where = where

    def __repr__(self) -> str:
        return f"{{{{_base_.{self.path}}}}}"


def _describe(node: ast.AST) -> str:
    """A short human description of a syntax node (used in error messages)."""
    try:
        text = ast.unparse(node)
    except Exception:  # ast.unparse can fail on partial or very deep trees
        text = type(node).__name__
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(node).__name__} `{text}`"


class _Evaluator:
    """Evaluates the allowed subset of Python for one config file.

    Args:
        filename: The file being read, used in error messages.
        budget: The work budget of the load this file belongs to.
    """

    def __init__(self, filename: str, budget: _Budget):
        self.filename = filename
        self.budget = budget
        self.sizer = _Sizer(budget)
        self.names: Dict[str, Any] = {}
        self.lines: Dict[str, int] = {}  # the line of each name's last assignment
        self.sizes: Dict[str, int] = {}
        self.total = 0
        self.line = 0

    # -- errors -------------------------------------------------------------------------------
    def error(self, node: ast.AST, message: str) -> ConfigError:
        line = getattr(node, "lineno", "?")
        return ConfigError(f"{self.filename}:{line}: {message}")

    def refuse(self, node: ast.AST, what: Optional[str] = None) -> ConfigError:
        what = what or _describe(node)
        return self.error(
            node,
            f"{what} is not allowed in an mmaction2 config read by videohub (configs are never executed; "
            "only literals, names assigned earlier, dict(...) and a few pure builtins, arithmetic, "
            "indexing, f-strings and comprehensions are evaluated)",
        )

    # -- statements ---------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> Dict[str, Any]:
        """Evaluate every statement of the module and return the names it assigns."""
        for stmt in tree.body:
            self.line = stmt.lineno
            try:
                self.statement(stmt)
            except _Limit as exc:
                raise self.error(stmt, str(exc)) from None
        return self.names

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign):
            value = self.eval(stmt.value, self.names, 0)
            for target in stmt.targets:
                self.assign(target, value, self.names)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.assign(stmt.target, self.eval(stmt.value, self.names, 0), self.names)
        elif isinstance(stmt, ast.AugAssign):
            if not isinstance(stmt.target, ast.Name):
                raise self.refuse(stmt, f"augmented assignment to {_describe(stmt.target)}")
            current = self.lookup(stmt.target, self.names)
            value = self.binary(stmt, stmt.op, current, self.eval(stmt.value, self.names, 0))
            self.assign(stmt.target, value, self.names)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return  # a docstring or a bare literal: no effect
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            raise self.refuse(stmt, f"import statement {_describe(stmt)}")
        else:
            raise self.refuse(stmt, f"statement {_describe(stmt)}")

    def bind(self, name: str, value: Any) -> None:
        """Assign a config variable, keeping the written-out size of all of them within the bound."""
        size = self.sizer.size(value)
        self.total += size - self.sizes.get(name, 0)
        self.sizes[name] = size
        self.names[name] = value
        self.lines[name] = self.line
        if self.total > MAX_VALUE_SIZE:
            raise _too_long(f"assigning {name!r}: the config's variables together")

    def recount(self) -> None:
        """Measure every variable again after a container was changed in place."""
        self.sizer.forget()
        self.sizes = {name: self.sizer.size(value) for name, value in self.names.items()}
        self.total = sum(self.sizes.values())
        if self.total > MAX_VALUE_SIZE:
            raise _too_long("the item assignment: the config's variables together")

    def assign(self, target: ast.AST, value: Any, scope: MutableMapping[str, Any]) -> None:
        if isinstance(target, ast.Name):
            if scope is self.names:
                self.bind(target.id, value)
            else:
                scope[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(elt, ast.Starred) for elt in target.elts):
                raise self.refuse(target, f"starred assignment {_describe(target)}")
            if not isinstance(value, _ITERABLES):
                raise self.error(target, f"cannot unpack {type(value).__name__} into {_describe(target)}")
            count = _length(value)
            if count != len(target.elts):
                raise self.error(
                    target, f"cannot unpack {count} values into {len(target.elts)} names ({_describe(target)})"
                )
            for elt, item in zip(target.elts, list(value)):
                self.assign(elt, item, scope)
        elif isinstance(target, ast.Subscript):
            container = self.plain(target, self.eval(target.value, scope, 0))
            if not isinstance(container, (dict, list)):
                raise self.error(target, f"cannot assign an item of a {type(container).__name__} ({_describe(target)})")
            index = self.index(target.slice, scope, 0)
            if isinstance(container, dict):
                index = self.hashable(target, index)
            self.budget.bulk(self.sizer.size(index))
            self.guard(target, operator.setitem, container, index, value)
            self.recount()
        else:
            raise self.refuse(target, f"assignment to {_describe(target)}")

    def lookup(self, node: ast.Name, scope: MutableMapping[str, Any]) -> Any:
        if node.id in scope:
            return scope[node.id]
        if node.id in _FUNCTIONS:
            raise self.refuse(node, f"using the builtin {node.id!r} other than by calling it")
        raise self.error(
            node, f"name {node.id!r} is not defined (a config may only use names assigned earlier in the same file)"
        )

    # -- expressions --------------------------------------------------------------------------
    def eval(self, node: ast.AST, scope: MutableMapping[str, Any], depth: int) -> Any:
        """Evaluate ``node``; its value is measured, so every value in play stays within the bounds."""
        if depth > MAX_EXPRESSION_DEPTH:
            raise self.error(node, f"expression nested deeper than the reader's bound of {MAX_EXPRESSION_DEPTH} levels")
        try:
            self.budget.spend(1)
            value = self.dispatch(node, scope, depth + 1)
            if not isinstance(node, ast.Name):  # a name's value was measured when it was bound
                self.sizer.size(value)
        except _Limit as exc:
            raise self.error(node, str(exc)) from None
        return value

    def dispatch(self, node: ast.AST, scope: MutableMapping[str, Any], d: int) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and _BASE_MARKER in node.value:
                if node.value.startswith(_BASE_MARKER) and node.value.count(_BASE_MARKER) == 1:
                    return _BaseRef(node.value[len(_BASE_MARKER):], f"{self.filename}:{node.lineno}")
                raise self.error(
                    node, "a {{_base_.x}} base variable inside a string literal is not substituted by mmcv; "
                    "write it unquoted as the whole value"
                )
            if not isinstance(node.value, (str, int, float, bool, type(None))):
                raise self.refuse(node, f"constant of type {type(node.value).__name__}")
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node, scope)
        if isinstance(node, ast.List):
            return self.sequence(node, scope, d)
        if isinstance(node, ast.Tuple):
            return tuple(self.sequence(node, scope, d))
        if isinstance(node, ast.Set):
            return self.new_set(node, self.sequence(node, scope, d))
        if isinstance(node, ast.Dict):
            return self.dict_display(node, scope, d)
        if isinstance(node, ast.Call):
            return self.call(node, scope, d)
        if isinstance(node, ast.BinOp):
            left = self.eval(node.left, scope, d)
            right = self.eval(node.right, scope, d)
            return self.binary(node, node.op, left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self.plain(node, self.eval(node.operand, scope, d))
            if isinstance(node.op, ast.USub):
                return self.guard(node, operator.neg, operand)
            if isinstance(node.op, ast.UAdd):
                return self.guard(node, operator.pos, operand)
            if isinstance(node.op, ast.Not):
                return not operand
            raise self.refuse(node, f"unary operator {type(node.op).__name__}")
        if isinstance(node, ast.BoolOp):
            value = self.eval(node.values[0], scope, d)
            for other in node.values[1:]:
                if isinstance(node.op, ast.And) and not value:
                    return value
                if isinstance(node.op, ast.Or) and value:
                    return value
                value = self.eval(other, scope, d)
            return value
        if isinstance(node, ast.Compare):
            return self.compare(node, scope, d)
        if isinstance(node, ast.IfExp):
            test = self.plain(node, self.eval(node.test, scope, d))
            return self.eval(node.body if test else node.orelse, scope, d)
        if isinstance(node, ast.Subscript):
            container = self.plain(node, self.eval(node.value, scope, d))
            index = self.index(node.slice, scope, d)
            self.budget.bulk(self.sizer.size(index) + (_length(container) if isinstance(index, slice) else 0))
            try:
                return container[index]
            except (KeyError, IndexError, TypeError, ValueError, OverflowError) as exc:
                message = f"cannot evaluate {_describe(node)}: {type(exc).__name__}: {_short(str(exc))}"
                raise self.error(node, message) from None
        if isinstance(node, ast.JoinedStr):
            return self.fstring(node, scope, d)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            items: List[Any] = []
            total = 2
            for local in self.comprehension(node, node.generators, scope, d):
                item = self.eval(node.elt, local, d)
                total += self.sizer.size(item) + 2
                if total > MAX_VALUE_SIZE:
                    raise _too_long(_describe(node))
                items.append(item)
            return self.new_set(node, items) if isinstance(node, ast.SetComp) else items
        if isinstance(node, ast.DictComp):
            out: Dict[Any, Any] = {}
            total = 2
            for local in self.comprehension(node, node.generators, scope, d):
                key = self.hashable(node.key, self.eval(node.key, local, d))
                value = self.eval(node.value, local, d)
                total += self.sizer.size(key) + self.sizer.size(value) + 4
                if total > MAX_VALUE_SIZE:
                    raise _too_long(_describe(node))
                out[key] = value
            return out
        if isinstance(node, ast.Attribute):
            raise self.refuse(node, f"attribute access {_describe(node)}")
        if isinstance(node, ast.Lambda):
            raise self.refuse(node, f"lambda {_describe(node)}")
        raise self.refuse(node)

    def plain(self, node: ast.AST, value: Any) -> Any:
        """Refuse to operate on a ``{{_base_.x}}`` placeholder (it is only a value to be filled in)."""
        if isinstance(value, _BaseRef):
            raise self.error(node, f"the base variable {value!r} can only be assigned or nested, not operated on")
        return value

    def hashable(self, node: ast.AST, key: Any) -> Any:
        self.budget.bulk(self.sizer.size(key))  # hashing a tuple walks it
        try:
            hash(key)
        except TypeError:
            raise self.error(node, f"dict key {_short(key)} is not hashable") from None
        return key

    def new_set(self, node: ast.AST, items: List[Any]) -> set:
        self.budget.bulk(sum(self.sizer.size(item) for item in items))  # hashing the items walks them
        return self.guard(node, set, items)

    def guard(self, node: ast.AST, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(*args, **kwargs)`` turning Python errors into a ConfigError at ``node``."""
        try:
            return fn(*args, **kwargs)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError, IndexError) as exc:
            message = f"cannot evaluate {_describe(node)}: {type(exc).__name__}: {_short(str(exc))}"
            raise self.error(node, message) from None

    def items_size(self, value: Any) -> int:
        """Characters that the items of ``value`` take once unpacked into a list."""
        if isinstance(value, (str, range)):
            return 5 * _length(value)
        return self.sizer.size(value)

    def binary(self, node: ast.AST, op: ast.operator, left: Any, right: Any) -> Any:
        fn = _BINARY.get(type(op))
        if fn is None:
            raise self.refuse(node, f"binary operator {type(op).__name__}")
        left, right = self.plain(node, left), self.plain(node, right)
        left_size, right_size = self.sizer.size(left), self.sizer.size(right)
        self.budget.bulk(left_size + right_size)
        if isinstance(op, ast.Add) and isinstance(left, _SEQUENCES) and type(left) is type(right):
            if left_size + right_size - 2 > MAX_VALUE_SIZE:
                raise _too_long(_describe(node))
        elif isinstance(op, ast.BitOr) and isinstance(left, (dict, set)) and type(left) is type(right):
            if left_size + right_size > MAX_VALUE_SIZE:
                raise _too_long(_describe(node))
        elif isinstance(op, ast.Mult):
            for seq, seq_size, times in ((left, left_size, right), (right, right_size, left)):
                if isinstance(seq, _SEQUENCES) and isinstance(times, int) and len(seq) and times > 0:
                    # a str written out is quoted once; repeated lists are written inside one pair of brackets
                    if (seq_size - 2) * times + 2 > MAX_VALUE_SIZE:
                        raise _too_long(_describe(node))
                    self.budget.bulk(len(seq) * times)
        elif isinstance(op, ast.Pow):
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                if (abs(left).bit_length() - 1) * right + 1 > MAX_INT_BITS:
                    raise _Limit(
                        f"the exponent in {_describe(node)} makes an integer of more than {MAX_INT_BITS} bits "
                        "(the reader's bound)"
                    )
        elif isinstance(op, ast.Mod) and isinstance(left, str):
            for arg in right if isinstance(right, tuple) else (right,):
                if not isinstance(arg, _PLAIN):
                    raise self.error(node, f"cannot format {type(arg).__name__} in {_describe(node)}")
            self.budget.bulk(len(left))
            count, widths, keyed = _percent_specs(left)
            estimate = len(left) + widths + count * _FORMAT_SLACK + right_size * (count if keyed else 1)
            if estimate > MAX_VALUE_SIZE:
                raise _too_long(_describe(node))
            self.budget.bulk(estimate)
        return self.guard(node, fn, left, right)

    def compare(self, node: ast.Compare, scope: MutableMapping[str, Any], d: int) -> bool:
        left = self.plain(node, self.eval(node.left, scope, d))
        for op, comparator in zip(node.ops, node.comparators):
            right = self.plain(node, self.eval(comparator, scope, d))
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise self.refuse(node, f"comparison {type(op).__name__}")
            work = self.sizer.size(left) + self.sizer.size(right)
            if isinstance(right, range) and type(left) is not int:
                work += _length(right)  # `x in range(...)` walks the range unless x is an int
            self.budget.bulk(work)
            if not self.guard(node, fn, left, right):
                return False
            left = right
        return True

    def sequence(self, node: ast.AST, scope: MutableMapping[str, Any], depth: int) -> List[Any]:
        out: List[Any] = []
        total = 2
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                value = self.eval(elt.value, scope, depth)
                items = self.iterable(elt, value)
                total += self.items_size(value) + 2 * len(items)
                if total > MAX_VALUE_SIZE:
                    raise _too_long(_describe(node))
                out.extend(items)
            else:
                value = self.eval(elt, scope, depth)
                total += self.sizer.size(value) + 2
                if total > MAX_VALUE_SIZE:
                    raise _too_long(_describe(node))
                out.append(value)
        return out

    def dict_display(self, node: ast.Dict, scope: MutableMapping[str, Any], depth: int) -> Dict[Any, Any]:
        result: Dict[Any, Any] = {}
        total = 2
        for key, value in zip(node.keys, node.values):
            if key is None:
                mapping = self.mapping(value, scope, depth)
                total += self.sizer.size(mapping)
                if total > MAX_VALUE_SIZE:
                    raise _too_long(_describe(node))
                result.update(mapping)
            else:
                k = self.hashable(key, self.eval(key, scope, depth))
                v = self.eval(value, scope, depth)
                total += self.sizer.size(k) + self.sizer.size(v) + 4
                if total > MAX_VALUE_SIZE:
                    raise _too_long(_describe(node))
                result[k] = v
        return result

    def iterable(self, node: ast.AST, value: Any) -> List[Any]:
        value = self.plain(node, value)
        if not isinstance(value, _ITERABLES):
            raise self.error(node, f"cannot unpack {type(value).__name__} in {_describe(node)}")
        count = _length(value)
        if count * 3 > MAX_VALUE_SIZE:
            raise _too_long(f"unpacking {count} items in {_describe(node)}")
        self.budget.bulk(count)
        return list(value)

    def mapping(self, node: ast.AST, scope: MutableMapping[str, Any], depth: int) -> Dict[Any, Any]:
        value = self.plain(node, self.eval(node, scope, depth))
        if not isinstance(value, dict):
            raise self.error(node, f"`**{_describe(node)}` unpacks a {type(value).__name__}, expected a dict")
        self.budget.bulk(len(value))
        return value

    def index(self, node: ast.AST, scope: MutableMapping[str, Any], depth: int) -> Any:
        if isinstance(node, ast.Slice):
            bounds = (node.lower, node.upper, node.step)
            parts = [None if p is None else self.plain(node, self.eval(p, scope, depth)) for p in bounds]
            return slice(*parts)
        return self.plain(node, self.eval(node, scope, depth))

    def fstring(self, node: ast.JoinedStr, scope: MutableMapping[str, Any], depth: int) -> str:
        parts: List[str] = []
        total = 0
        for part in node.values:
            text = self.fstring_part(part, scope, depth, MAX_VALUE_SIZE - total)
            total += len(text)
            if total > MAX_VALUE_SIZE:
                raise _too_long(_describe(node))
            parts.append(text)
        self.budget.bulk(total)
        return "".join(parts)

    def fstring_part(self, node: ast.AST, scope: MutableMapping[str, Any], depth: int, room: int) -> str:
        """Format one part of an f-string, refusing one that cannot fit in ``room`` characters."""
        if isinstance(node, ast.Constant):
            return str(node.value)
        if isinstance(node, ast.FormattedValue):
            value = self.plain(node, self.eval(node.value, scope, depth))
            spec = "" if node.format_spec is None else self.eval(node.format_spec, scope, depth)
            estimate = self.sizer.size(value) + _format_spec_width(spec) + _FORMAT_SLACK
            if estimate > room + _FORMAT_SLACK:
                raise _too_long(_describe(node))
            self.budget.bulk(estimate)
            if node.conversion == ord("r"):
                value = repr(value)
            elif node.conversion == ord("s"):
                value = str(value)
            elif node.conversion == ord("a"):
                value = ascii(value)
            return self.guard(node, format, value, spec)
        raise self.refuse(node)

    def comprehension(
        self, node: ast.AST, generators: List[ast.comprehension], scope: MutableMapping[str, Any], depth: int
    ) -> Iterator[Dict[str, Any]]:
        """Yield the local scopes of a comprehension (names of the enclosing scope stay visible).

        Each scope is a copy of the enclosing one, charged to the budget per name copied.
        """

        def walk(level: int, local: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
            if level == len(generators):
                yield local
                return
            gen = generators[level]
            if gen.is_async:
                raise self.refuse(node, "async comprehension")
            for item in self.iterable(gen.iter, self.eval(gen.iter, local, depth)):
                self.budget.bulk(len(local))
                inner = dict(local)
                self.assign(gen.target, item, inner)
                if all(self.plain(cond, self.eval(cond, inner, depth)) for cond in gen.ifs):
                    yield from walk(level + 1, inner)

        yield from walk(0, dict(scope))

    def call(self, node: ast.Call, scope: MutableMapping[str, Any], depth: int) -> Any:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node, f"call of {_describe(node.func)}")
        name = node.func.id
        if name in scope:
            raise self.refuse(node, f"call of the config variable {name!r}")
        fn = _FUNCTIONS.get(name)
        if fn is None:
            raise self.refuse(node, f"call of {name!r} (allowed calls: {sorted(_FUNCTIONS)})")
        args: List[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                args.extend(self.iterable(arg, self.eval(arg.value, scope, depth)))
            else:
                args.append(self.plain(arg, self.eval(arg, scope, depth)))
        kwargs: Dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                for key, value in self.mapping(kw.value, scope, depth).items():
                    if not isinstance(key, str):
                        raise self.error(kw.value, f"`**{ast.unparse(kw.value)}` has a non-string key {_short(key)}")
                    if key in kwargs:
                        raise self.error(node, f"{name}() got multiple values for keyword argument {key!r}")
                    kwargs[key] = value
            else:
                if kw.arg in kwargs:
                    raise self.error(node, f"{name}() got multiple values for keyword argument {kw.arg!r}")
                kwargs[kw.arg] = self.eval(kw.value, scope, depth)
        self.check_call(node, name, args, kwargs)
        return self.guard(node, fn, *args, **kwargs)

    def check_call(self, node: ast.Call, name: str, args: List[Any], kwargs: Dict[str, Any]) -> None:
        """Charge the work of a builtin call and refuse one whose result would be too large."""
        values = args + list(kwargs.values())
        iterating = name in _ITERATING
        estimate = sum(self.items_size(v) if iterating and isinstance(v, range) else self.sizer.size(v) for v in values)
        if name in ("enumerate", "zip"):
            estimate += 16 * sum(_length(v) for v in values if isinstance(v, _ITERABLES))
        if name in _BUILDERS and estimate > MAX_VALUE_SIZE:
            raise _too_long(_describe(node))
        work = estimate
        second = args[1] if len(args) > 1 else kwargs.get({"sum": "start", "round": "ndigits"}.get(name, ""))
        if name == "sorted" and args:
            work *= max(1, _length(args[0])).bit_length()
        elif name == "sum" and isinstance(second, (list, tuple)) and args and isinstance(args[0], _ITERABLES):
            # sum() of lists or tuples adds them one by one: the running total is copied each time.
            running, work = self.sizer.size(second), 0
            for item in self.iterable(node, args[0]):
                running += self.sizer.size(item)
                work += running
        elif name == "round" and args and isinstance(args[0], int) and isinstance(second, int):
            if second < -MAX_INT_BITS:
                raise _Limit(f"round() to {_short(second)} digits is beyond the reader's bound of -{MAX_INT_BITS}")
        self.budget.bulk(work)


# ---------------------------------------------------------------------------------------------
# files and inheritance
# ---------------------------------------------------------------------------------------------


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, max(position, 0)) + 1


def _substitute_predefined(text: str, path: str) -> str:
    dirname, basename = os.path.split(path)
    stem, ext = os.path.splitext(basename)
    values = {
        "fileDirname": dirname.replace("\\", "/"),
        "fileBasename": basename,
        "fileBasenameNoExtension": stem,
        "fileExtname": ext,
    }
    growth = 0
    for match in _PREDEFINED.finditer(text):
        growth += len(values[match.group(1)])
        if len(text) + growth > 2 * MAX_FILE_BYTES:
            raise ConfigError(
                f"{path}:{_line_of(text, match.start())}: substituting the predefined variables makes the config "
                f"longer than {2 * MAX_FILE_BYTES} characters (the reader's bound)"
            )
    return _PREDEFINED.sub(lambda m: values[m.group(1)], text)


def _failing_statement_line(text: str) -> int:
    """The first line of the top-level statement that Python's parser cannot handle (nested too deeply)."""
    lines = text.splitlines(keepends=True)
    start = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type != tokenize.NEWLINE:
                continue
            end = token.end[0]
            try:
                ast.parse("".join(lines[start:end]))
            except (RecursionError, MemoryError):
                return start + 1
            except SyntaxError:
                pass
            start = end
    except (tokenize.TokenError, SyntaxError):
        pass
    return start + 1


def _evaluate_text(text: str, filename: str, budget: _Budget) -> Tuple[Dict[str, Any], Dict[str, int]]:
    """Parse and evaluate one config text; names starting with ``__`` are dropped as mmcv does.

    Returns the names and the line where each was last assigned.
    """
    try:
        budget.spend(len(text))
    except _Limit as exc:
        raise ConfigError(f"{filename}:1: {exc}") from None
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        line = exc.lineno or (_line_of(text, text.find("\0")) if "\0" in text else 1)
        raise ConfigError(f"{filename}:{line}: invalid Python syntax in config: {exc.msg}") from None
    except (RecursionError, MemoryError):
        line = _failing_statement_line(text)
        raise ConfigError(f"{filename}:{line}: the statement is nested too deeply for Python's parser") from None
    evaluator = _Evaluator(filename, budget)
    names = evaluator.run(tree)
    return {k: v for k, v in names.items() if not k.startswith("__")}, evaluator.lines


def _substitute_base_variables(text: str) -> str:
    """Replace each ``{{_base_.a.b}}`` by a string placeholder, as mmcv 1.x does before parsing."""
    return _BASE_VAR.sub(lambda m: f"\"{_BASE_MARKER}{m.group(1)}\"", text)


def _read_text(path: str, budget: _Budget) -> str:
    """The UTF-8 text of a config file, refused past :data:`MAX_FILE_BYTES`."""
    try:
        budget.spend(_FILE_WORK)
    except _Limit as exc:
        raise ConfigError(f"{path}:1: {exc}") from None
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            f"{path}:1: config file is larger than {MAX_FILE_BYTES} bytes "
            "(the reader's bound; mmaction2 configs are a few KB)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: config file is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def _read_python(path: str, budget: _Budget) -> Tuple[Dict[str, Any], int]:
    text = _substitute_base_variables(_substitute_predefined(_read_text(path, budget), path))
    cfg, lines = _evaluate_text(text, path, budget)
    return cfg, lines.get(BASE_KEY, 1)


def _json_depth_line(text: str) -> Optional[int]:
    """The line where JSON text nests past :data:`MAX_NESTING` levels, or None (one pass, strings skipped)."""
    level = 0
    match = _JSON_TOKEN.search(text)
    while match is not None:
        token, position = match.group(), match.start()
        if token == '"':
            string = _JSON_STRING.match(text, position)
            if string is None:
                return None  # an unterminated string: json.loads reports it
            position = string.end() - 1
        elif token in "[{":
            level += 1
            if level > MAX_NESTING:
                return _line_of(text, position)
        else:
            level -= 1
        match = _JSON_TOKEN.search(text, position + 1)
    return None


def _load_json(text: str, path: str) -> Tuple[Any, int]:
    line = _json_depth_line(text)
    if line is not None:
        raise ConfigError(
            f"{path}:{line}: lists and objects nest deeper than the reader's bound of {MAX_NESTING} levels"
        )

    def parse_int(digits: str) -> int:
        # 2 ** 4096 has 1234 decimal digits: a longer literal is refused before converting it
        if len(digits.lstrip("-")) > 1234 or int(digits).bit_length() > MAX_INT_BITS:
            raise ConfigError(
                f"{path}:{_line_of(text, text.find(digits))}: an integer of {len(digits)} digits is larger than "
                f"the reader's bound of {MAX_INT_BITS} bits"
            )
        return int(digits)

    try:
        data = json.loads(text, parse_int=parse_int)
    except ConfigError:
        raise
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: cannot parse config: {exc.msg} (column {exc.colno})") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: cannot parse config: {exc}") from None
    position = text.find(f'"{BASE_KEY}"')
    return data, _line_of(text, position) if position >= 0 else 1


def _yaml_loader(path: str, budget: _Budget):
    """A safe YAML loader that measures nodes as they are composed (aliases counted per reference).

    The parser makes the events (libyaml's where PyYAML has it); nodes are composed here, in Python,
    to be measured.
    """

    class BoundedLoader(Composer, *_YAML_PARSER_BASES, SafeConstructor, Resolver):
        """Composes YAML into nodes, refusing deep nesting and documents too large once aliases are expanded."""

        def __init__(self, stream: str):
            _YAML_PARSER_BASES[0].__init__(self, stream)
            for base in _YAML_PARSER_BASES[1:]:
                base.__init__(self)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.sizes: Dict[int, int] = {}
            self.level = 0

        def fail(self, mark: Any, message: str) -> ConfigError:
            return ConfigError(f"{path}:{mark.line + 1}: {message}")

        def compose_node(self, parent: Any, index: Any) -> Any:
            mark = self.peek_event().start_mark
            alias = self.check_event(yaml.AliasEvent)
            self.level += 1
            if self.level > MAX_NESTING:
                raise self.fail(mark, f"lists and mappings nest deeper than the reader's bound of {MAX_NESTING} levels")
            node = super().compose_node(parent, index)
            self.level -= 1
            if alias:
                if id(node) not in self.sizes:
                    raise self.fail(mark, "an alias refers to a node that contains it (a recursive value)")
                return node
            try:
                budget.spend(1)
                self.sizes[id(node)] = self.node_size(node, mark)
            except _Limit as exc:
                raise self.fail(mark, str(exc)) from None
            return node

        def node_size(self, node: Any, mark: Any) -> int:
            if isinstance(node, yaml.ScalarNode):
                if node.tag == "tag:yaml.org,2002:int":
                    try:
                        number = self.construct_yaml_int(node)
                    except ValueError as exc:  # more than the 4300 decimal digits Python converts
                        raise _Limit(f"integer {_short(node.value)}: {exc}") from None
                    _leaf_size(number)
                return len(node.value) + 2
            children = itertools.chain.from_iterable(node.value) if isinstance(node, yaml.MappingNode) else node.value
            total = 2
            for child in children:
                size = self.sizes.get(id(child))
                if size is None:
                    raise self.fail(mark, "an alias refers to a node that contains it (a recursive value)")
                total += size + 2
                if total > MAX_VALUE_SIZE:
                    raise _too_long("expanding the YAML aliases")
            budget.spend(len(node.value))
            return total

    return BoundedLoader


def _load_yaml(text: str, path: str, budget: _Budget) -> Tuple[Any, int]:
    loader = _yaml_loader(path, budget)(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = "; ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError(f"{path}:{mark.line + 1 if mark else 1}: cannot parse config: {reason}") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:  # a bad date raises ValueError
        raise ConfigError(f"{path}: cannot parse config: {exc}") from None
    finally:
        loader.dispose()
    line = 1
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if key.value == BASE_KEY:
                line = key.start_mark.line + 1
    return data, line


def _read_data_file(path: str, budget: _Budget) -> Tuple[Dict[str, Any], int]:
    text = _substitute_predefined(_read_text(path, budget), path)
    is_json = path.endswith(".json")
    try:
        budget.spend(len(text) * (1 if is_json else _YAML_BYTE_WORK))
    except _Limit as exc:
        raise ConfigError(f"{path}:1: {exc}") from None
    data, line = _load_json(text, path) if is_json else _load_yaml(text, path, budget)
    if data is None:
        return {}, line
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping at top level, got {type(data).__name__}")
    try:
        _Sizer(budget).size(data)
    except _Limit as exc:
        raise ConfigError(f"{path}:1: {exc}") from None
    return data, line


class _BaseResolver:
    """Replaces ``{{_base_.a.b}}`` placeholders by copies of the bases' values, bounding what is copied.

    Args:
        bases: The merged ``_base_`` configs.
        budget: The load's work budget.
        where: ``file:line`` of the ``_base_`` assignment, used in error messages.
    """

    def __init__(self, bases: Dict[str, Any], budget: _Budget, where: str):
        self.bases = bases
        self.budget = budget
        self.where = where
        self.sizer = _Sizer(budget)
        self.copied = 0

    def resolve(self, value: Any) -> Any:
        if isinstance(value, _BaseRef):
            current: Any = self.bases
            for part in value.path.split("."):
                if not isinstance(current, dict) or part not in current:
                    raise ConfigError(
                        f"{value.where}: base variable {value!r}: key {part!r} not found in the _base_ files"
                    )
                current = current[part]
            try:
                self.copied += self.sizer.size(current)
                if self.copied > MAX_VALUE_SIZE:
                    raise _too_long("the {{_base_.x}} base variables")
                self.budget.bulk(self.sizer.size(current))
            except _Limit as exc:
                raise ConfigError(f"{value.where}: {exc}") from None
            return copy.deepcopy(current)
        if isinstance(value, (dict, list, tuple)):
            try:
                self.budget.spend(len(value) + 1)
            except _Limit as exc:
                raise ConfigError(f"{self.where}: {exc}") from None
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        return value


def _first_unresolved_ref(value: Any) -> Optional[_BaseRef]:
    """The first ``{{_base_.x}}`` placeholder left in ``value`` (each container looked at once)."""
    seen = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _BaseRef):
            return item
        if isinstance(item, (dict, list, tuple)) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(reversed(list(item.values() if isinstance(item, dict) else item)))
    return None


def merge_a_into_b(a: Dict[str, Any], b: Dict[str, Any], where: str = "config") -> Dict[str, Any]:
    """mmcv 1.x ``Config._merge_a_into_b``: merge the child ``a`` into the base ``b`` (``b`` is not modified).

    A dict value of ``a`` is merged recursively into the dict of ``b`` with the same key, unless it
    holds ``_delete_=True``, in which case it replaces it (the flag is dropped). Any other value
    replaces ``b``'s. As in mmcv, ``_delete_`` is only looked at (and removed) where the key exists
    in the base.

    Args:
        a: The child dict.
        b: The base dict.
        where: Where the child comes from, used in error messages. Default ``"config"``.
    """
    out = dict(b)
    for key, value in a.items():
        if isinstance(value, dict) and key in out and not value.pop(DELETE_KEY, False):
            if not isinstance(out[key], dict):
                raise ConfigError(
                    f"{where}: key {key!r} is a dict in the child config but a {type(out[key]).__name__} in its "
                    f"base config; set `{DELETE_KEY}=True` in the child to replace it"
                )
            out[key] = merge_a_into_b(value, out[key], where)
        else:
            out[key] = value
    return out


def _file_to_dict(path: str, chain: Tuple[Tuple[str, int], ...], budget: _Budget) -> Dict[str, Any]:
    """Read one config file and its ``_base_`` files; ``chain`` holds the including files and their ``_base_`` lines."""
    origin = f"{chain[-1][0]}:{chain[-1][1]}" if chain else path
    if any(path == parent for parent, _ in chain):
        cycle = " -> ".join([parent for parent, _ in chain] + [path])
        raise ConfigError(f"{origin}: circular _base_ inheritance: {cycle}")
    if len(chain) >= MAX_BASE_DEPTH:
        raise ConfigError(
            f"{origin}: _base_ inheritance deeper than the reader's bound of {MAX_BASE_DEPTH} files: "
            + " -> ".join([parent for parent, _ in chain] + [path])
        )
    budget.files += 1
    if budget.files > MAX_FILES:
        raise ConfigError(
            f"{origin}: the config and its _base_ files make more than {MAX_FILES} files to read (the reader's bound)"
        )
    if not os.path.isfile(path):
        listed = f" (listed in _base_ of {chain[-1][0]})" if chain else ""
        raise ConfigError(f"{path}: config file not found{listed}")
    ext = os.path.splitext(path)[1]
    if ext == ".py":
        cfg, base_line = _read_python(path, budget)
    elif ext in (".json", ".yaml", ".yml"):
        cfg, base_line = _read_data_file(path, budget)
    else:
        raise ConfigError(f"{path}: unsupported config file type {ext!r}; expected .py, .json, .yaml or .yml")

    where = f"{path}:{base_line}"
    if BASE_KEY in cfg:
        base_files = cfg.pop(BASE_KEY)
        if isinstance(base_files, str):
            base_files = [base_files]
        if not isinstance(base_files, (list, tuple)) or not all(isinstance(f, str) for f in base_files):
            raise ConfigError(f"{where}: {BASE_KEY} must be a path or a list of paths, got {_short(base_files)}")
        bases: Dict[str, Any] = {}
        for base_file in base_files:
            base_path = os.path.normpath(os.path.join(os.path.dirname(path), base_file))
            base_cfg = _file_to_dict(base_path, chain + ((path, base_line),), budget)
            duplicates = sorted(set(bases) & set(base_cfg))
            if duplicates:
                raise ConfigError(
                    f"{path}: duplicate keys {duplicates} among the {BASE_KEY} files (not allowed by mmcv); "
                    f"{base_path} repeats them"
                )
            bases.update(base_cfg)
        cfg = _BaseResolver(bases, budget, where).resolve(cfg)
        cfg = merge_a_into_b(cfg, bases, path)
        try:
            _Sizer(budget).size(cfg)
        except _Limit as exc:
            raise ConfigError(f"{where}: the config merged with its {BASE_KEY} files: {exc}") from None
    ref = _first_unresolved_ref(cfg)
    if ref is not None:
        raise ConfigError(f"{ref.where}: base variable {ref!r} used in a config without {BASE_KEY}")
    cfg.pop(DEPRECATION_KEY, None)
    return cfg


def load_config(path: str) -> Dict[str, Any]:
    """Read an mmaction2 v0.x config file, with its ``_base_`` files, without executing it.

    Returns the fully merged config as plain dicts, lists, tuples and scalars: the content of
    mmcv 1.x ``Config.fromfile(path)``. Memory and time are bounded (see the module docstring).

    Args:
        path: A ``.py`` (or ``.json``/``.yaml``) mmaction2 config file.

    Raises:
        ConfigError: the file is missing, uses a Python construct outside the evaluated subset
            (the message names the construct and ``file:line``), its inheritance is invalid, or it
            goes past one of the reader's bounds.
    """
    return copy.deepcopy(_file_to_dict(os.path.abspath(os.fspath(path)), (), _Budget()))


def load_config_text(text: str, filename: str = "<config>") -> Dict[str, Any]:
    """Evaluate the text of a single config file (no ``_base_`` resolution), with the bounds of :func:`load_config`.

    Args:
        text: Python source of the config.
        filename: Name used in error messages. Default ``"<config>"``.
    """
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError(f"{filename}:1: config text is longer than {MAX_FILE_BYTES} characters (the reader's bound)")
    cfg, _ = _evaluate_text(text, filename, _Budget())
    if _first_unresolved_ref(cfg) is not None or BASE_KEY in cfg:
        raise ConfigError(f"{filename}: {BASE_KEY} inheritance needs a file path; use load_config(path)")
    return copy.deepcopy(cfg)

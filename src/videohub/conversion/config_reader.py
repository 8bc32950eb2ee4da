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
"""

from __future__ import annotations

import ast
import copy
import json
import operator
import os
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import ConfigError

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"
DEPRECATION_KEY = "_deprecation_"

_BASE_VAR = re.compile(r"\{\{\s*_base_\.([\w.]+)\s*\}\}")
# mmcv turns every ``{{_base_.a.b}}`` of the text into a string placeholder before parsing; so do we.
_BASE_MARKER = "__videohub_base_variable__."
_PREDEFINED = re.compile(r"\{\{\s*(fileDirname|fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}")

# Bounds that keep a hostile config from exhausting memory or time.
_MAX_SEQUENCE = 1_000_000
_MAX_EXPONENT = 256
_MAX_DEPTH = 200

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
    except Exception:  # ast.unparse can fail on partial trees
        text = type(node).__name__
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(node).__name__} `{text}`"


class _Evaluator:
    """Evaluates the allowed subset of Python for one config file.

    Args:
        filename: The file being read, used in error messages.
    """

    def __init__(self, filename: str):
        self.filename = filename
        self.names: Dict[str, Any] = {}

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
                self.names[stmt.target.id] = value
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # a docstring or a bare literal: no effect
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                raise self.refuse(stmt, f"import statement {_describe(stmt)}")
            else:
                raise self.refuse(stmt, f"statement {_describe(stmt)}")
        return self.names

    def assign(self, target: ast.AST, value: Any, scope: Dict[str, Any]) -> None:
        if isinstance(target, ast.Name):
            scope[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            if any(isinstance(elt, ast.Starred) for elt in target.elts):
                raise self.refuse(target, f"starred assignment {_describe(target)}")
            try:
                items = list(value)
            except TypeError:
                raise self.error(target, f"cannot unpack {type(value).__name__} into {_describe(target)}") from None
            if len(items) != len(target.elts):
                raise self.error(
                    target, f"cannot unpack {len(items)} values into {len(target.elts)} names ({_describe(target)})"
                )
            for elt, item in zip(target.elts, items):
                self.assign(elt, item, scope)
        elif isinstance(target, ast.Subscript):
            container = self.plain(target, self.eval(target.value, scope, 0))
            if not isinstance(container, (dict, list)):
                raise self.error(target, f"cannot assign an item of a {type(container).__name__} ({_describe(target)})")
            index = self.index(target.slice, scope, 0)
            if isinstance(container, dict):
                index = self.hashable(target, index)
            self.guard(target, operator.setitem, container, index, value)
        else:
            raise self.refuse(target, f"assignment to {_describe(target)}")

    def lookup(self, node: ast.Name, scope: Dict[str, Any]) -> Any:
        if node.id in scope:
            return scope[node.id]
        if node.id in _FUNCTIONS:
            raise self.refuse(node, f"using the builtin {node.id!r} other than by calling it")
        raise self.error(
            node, f"name {node.id!r} is not defined (a config may only use names assigned earlier in the same file)"
        )

    # -- expressions --------------------------------------------------------------------------
    def eval(self, node: ast.AST, scope: Dict[str, Any], depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise self.error(node, f"expression nested deeper than {_MAX_DEPTH} levels")
        d = depth + 1
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
            return set(self.sequence(node, scope, d))
        if isinstance(node, ast.Dict):
            result: Dict[Any, Any] = {}
            for key, value in zip(node.keys, node.values):
                if key is None:
                    result.update(self.mapping(value, scope, d))
                else:
                    result[self.hashable(key, self.eval(key, scope, d))] = self.eval(value, scope, d)
            return result
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
            left = self.plain(node, self.eval(node.left, scope, d))
            for op, comparator in zip(node.ops, node.comparators):
                right = self.plain(node, self.eval(comparator, scope, d))
                fn = _COMPARE.get(type(op))
                if fn is None:
                    raise self.refuse(node, f"comparison {type(op).__name__}")
                if not self.guard(node, fn, left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            test = self.plain(node, self.eval(node.test, scope, d))
            return self.eval(node.body if test else node.orelse, scope, d)
        if isinstance(node, ast.Subscript):
            container = self.plain(node, self.eval(node.value, scope, d))
            index = self.index(node.slice, scope, d)
            try:
                return container[index]
            except (KeyError, IndexError, TypeError) as exc:
                raise self.error(node, f"cannot evaluate {_describe(node)}: {type(exc).__name__}: {exc}") from None
        if isinstance(node, ast.JoinedStr):
            return "".join(self.fstring_part(part, scope, d) for part in node.values)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            items = [self.eval(node.elt, local, d) for local in self.comprehension(node, node.generators, scope, d)]
            return set(items) if isinstance(node, ast.SetComp) else items
        if isinstance(node, ast.DictComp):
            out = {}
            for local in self.comprehension(node, node.generators, scope, d):
                out[self.hashable(node.key, self.eval(node.key, local, d))] = self.eval(node.value, local, d)
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
        try:
            hash(key)
        except TypeError:
            raise self.error(node, f"dict key {key!r} is not hashable") from None
        return key

    def guard(self, node: ast.AST, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(*args, **kwargs)`` turning Python errors into a ConfigError at ``node``."""
        try:
            return fn(*args, **kwargs)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError, IndexError) as exc:
            raise self.error(node, f"cannot evaluate {_describe(node)}: {type(exc).__name__}: {exc}") from None

    def check_size(self, node: ast.AST, value: Any) -> Any:
        if isinstance(value, (str, list, tuple, range, set, dict)) and len(value) > _MAX_SEQUENCE:
            raise self.error(node, f"{_describe(node)} would create {len(value)} items (limit {_MAX_SEQUENCE})")
        return value

    def binary(self, node: ast.AST, op: ast.operator, left: Any, right: Any) -> Any:
        fn = _BINARY.get(type(op))
        if fn is None:
            raise self.refuse(node, f"binary operator {type(op).__name__}")
        left, right = self.plain(node, left), self.plain(node, right)
        if isinstance(op, ast.Mult):
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
                    if len(seq) * max(times, 0) > _MAX_SEQUENCE:
                        raise self.error(node, f"{_describe(node)} would create more than {_MAX_SEQUENCE} items")
        if isinstance(op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > _MAX_EXPONENT:
            raise self.error(node, f"exponent {right} in {_describe(node)} is larger than {_MAX_EXPONENT}")
        if isinstance(op, ast.Mod) and isinstance(left, str):
            for arg in right if isinstance(right, tuple) else (right,):
                if not isinstance(arg, _PLAIN):
                    raise self.error(node, f"cannot format {type(arg).__name__} in {_describe(node)}")
        return self.check_size(node, self.guard(node, fn, left, right))

    def sequence(self, node: ast.AST, scope: Dict[str, Any], depth: int) -> List[Any]:
        out: List[Any] = []
        for elt in node.elts:
            if isinstance(elt, ast.Starred):
                out.extend(self.iterable(elt, self.eval(elt.value, scope, depth)))
            else:
                out.append(self.eval(elt, scope, depth))
        return self.check_size(node, out)

    def iterable(self, node: ast.AST, value: Any) -> List[Any]:
        value = self.plain(node, value)
        if not isinstance(value, (list, tuple, set, dict, str, range)):
            raise self.error(node, f"cannot unpack {type(value).__name__} in {_describe(node)}")
        self.check_size(node, value)
        return list(value)

    def mapping(self, node: ast.AST, scope: Dict[str, Any], depth: int) -> Dict[Any, Any]:
        value = self.plain(node, self.eval(node, scope, depth))
        if not isinstance(value, dict):
            raise self.error(node, f"`**{ast.unparse(node)}` unpacks a {type(value).__name__}, expected a dict")
        return value

    def index(self, node: ast.AST, scope: Dict[str, Any], depth: int) -> Any:
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.plain(node, self.eval(p, scope, depth)) for p in (node.lower, node.upper, node.step)]
            return slice(*parts)
        return self.plain(node, self.eval(node, scope, depth))

    def fstring_part(self, node: ast.AST, scope: Dict[str, Any], depth: int) -> str:
        if isinstance(node, ast.Constant):
            return str(node.value)
        if isinstance(node, ast.FormattedValue):
            value = self.plain(node, self.eval(node.value, scope, depth))
            if node.conversion == ord("r"):
                value = repr(value)
            elif node.conversion == ord("s"):
                value = str(value)
            elif node.conversion == ord("a"):
                value = ascii(value)
            spec = "" if node.format_spec is None else self.eval(node.format_spec, scope, depth)
            return self.guard(node, format, value, spec)
        raise self.refuse(node)

    def comprehension(self, node: ast.AST, generators: List[ast.comprehension], scope: Dict[str, Any], depth: int):
        """Yield the local scopes of a comprehension (names of the enclosing scope stay visible)."""

        def walk(level: int, local: Dict[str, Any]):
            if level == len(generators):
                yield local
                return
            gen = generators[level]
            if gen.is_async:
                raise self.refuse(node, "async comprehension")
            for item in self.iterable(gen.iter, self.eval(gen.iter, local, depth)):
                inner = dict(local)
                self.assign(gen.target, item, inner)
                if all(self.plain(cond, self.eval(cond, inner, depth)) for cond in gen.ifs):
                    yield from walk(level + 1, inner)

        count = 0
        for local in walk(0, dict(scope)):
            count += 1
            if count > _MAX_SEQUENCE:
                raise self.error(node, f"{_describe(node)} yields more than {_MAX_SEQUENCE} items")
            yield local

    def call(self, node: ast.Call, scope: Dict[str, Any], depth: int) -> Any:
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
                        raise self.error(kw.value, f"`**{ast.unparse(kw.value)}` has a non-string key {key!r}")
                    if key in kwargs:
                        raise self.error(node, f"{name}() got multiple values for keyword argument {key!r}")
                    kwargs[key] = value
            else:
                if kw.arg in kwargs:
                    raise self.error(node, f"{name}() got multiple values for keyword argument {kw.arg!r}")
                kwargs[kw.arg] = self.eval(kw.value, scope, depth)
        return self.check_size(node, self.guard(node, fn, *args, **kwargs))


# ---------------------------------------------------------------------------------------------
# files and inheritance
# ---------------------------------------------------------------------------------------------


def _substitute_predefined(text: str, path: str) -> str:
    dirname, basename = os.path.split(path)
    stem, ext = os.path.splitext(basename)
    values = {
        "fileDirname": dirname.replace("\\", "/"),
        "fileBasename": basename,
        "fileBasenameNoExtension": stem,
        "fileExtname": ext,
    }
    return _PREDEFINED.sub(lambda m: values[m.group(1)], text)


def _evaluate_text(text: str, filename: str) -> Dict[str, Any]:
    """Parse and evaluate one config text; names starting with ``__`` are dropped as mmcv does."""
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        raise ConfigError(f"{filename}:{exc.lineno}: invalid Python syntax in config: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ConfigError(f"{filename}: config is nested too deeply to parse") from None
    names = _Evaluator(filename).run(tree)
    return {k: v for k, v in names.items() if not k.startswith("__")}


def _substitute_base_variables(text: str) -> str:
    """Replace each ``{{_base_.a.b}}`` by a string placeholder, as mmcv 1.x does before parsing."""
    return _BASE_VAR.sub(lambda m: f"\"{_BASE_MARKER}{m.group(1)}\"", text)


def _read_python(path: str) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        text = _substitute_base_variables(_substitute_predefined(f.read(), path))
    return _evaluate_text(text, path)


def _read_data_file(path: str) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        text = _substitute_predefined(f.read(), path)
    try:
        if path.endswith(".json"):
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except ValueError as exc:
        raise ConfigError(f"{path}: cannot parse config: {exc}") from None
    except Exception as exc:  # yaml.YAMLError has no common base with ValueError
        raise ConfigError(f"{path}: cannot parse config: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping at top level, got {type(data).__name__}")
    return data


def _resolve_base_refs(value: Any, bases: Dict[str, Any]) -> Any:
    """Replace every ``{{_base_.a.b}}`` placeholder by a copy of that value of ``bases``."""
    if isinstance(value, _BaseRef):
        current: Any = bases
        for part in value.path.split("."):
            if not isinstance(current, dict) or part not in current:
                raise ConfigError(f"{value.where}: base variable {value!r}: key {part!r} not found in the _base_ files")
            current = current[part]
        return copy.deepcopy(current)
    if isinstance(value, dict):
        return {k: _resolve_base_refs(v, bases) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_base_refs(v, bases) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve_base_refs(v, bases) for v in value)
    return value


def _unresolved_refs(value: Any) -> List[_BaseRef]:
    if isinstance(value, _BaseRef):
        return [value]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _unresolved_refs(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _unresolved_refs(v)]
    return []


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


def _file_to_dict(path: str, chain: Tuple[str, ...]) -> Dict[str, Any]:
    if path in chain:
        raise ConfigError(f"{chain[-1]}: circular _base_ inheritance: {' -> '.join(chain + (path,))}")
    if not os.path.isfile(path):
        origin = f" (listed in _base_ of {chain[-1]})" if chain else ""
        raise ConfigError(f"{path}: config file not found{origin}")
    ext = os.path.splitext(path)[1]
    if ext == ".py":
        cfg = _read_python(path)
    elif ext in (".json", ".yaml", ".yml"):
        cfg = _read_data_file(path)
    else:
        raise ConfigError(f"{path}: unsupported config file type {ext!r}; expected .py, .json, .yaml or .yml")

    if BASE_KEY in cfg:
        base_files = cfg.pop(BASE_KEY)
        if isinstance(base_files, str):
            base_files = [base_files]
        if not isinstance(base_files, (list, tuple)) or not all(isinstance(f, str) for f in base_files):
            raise ConfigError(f"{path}: {BASE_KEY} must be a path or a list of paths, got {base_files!r}")
        bases: Dict[str, Any] = {}
        for base_file in base_files:
            base_path = os.path.normpath(os.path.join(os.path.dirname(path), base_file))
            base_cfg = _file_to_dict(base_path, chain + (path,))
            duplicates = sorted(set(bases) & set(base_cfg))
            if duplicates:
                raise ConfigError(
                    f"{path}: duplicate keys {duplicates} among the {BASE_KEY} files (not allowed by mmcv); "
                    f"{base_path} repeats them"
                )
            bases.update(base_cfg)
        cfg = _resolve_base_refs(cfg, bases)
        cfg = merge_a_into_b(cfg, bases, path)
    refs = _unresolved_refs(cfg)
    if refs:
        raise ConfigError(f"{refs[0].where}: base variable {refs[0]!r} used in a config without {BASE_KEY}")
    cfg.pop(DEPRECATION_KEY, None)
    return cfg


def load_config(path: str) -> Dict[str, Any]:
    """Read an mmaction2 v0.x config file, with its ``_base_`` files, without executing it.

    Returns the fully merged config as plain dicts, lists, tuples and scalars: the content of
    mmcv 1.x ``Config.fromfile(path)``.

    Args:
        path: A ``.py`` (or ``.json``/``.yaml``) mmaction2 config file.

    Raises:
        ConfigError: the file is missing, uses a Python construct outside the evaluated subset
            (the message names the construct and ``file:line``), or its inheritance is invalid.
    """
    return copy.deepcopy(_file_to_dict(os.path.abspath(os.fspath(path)), ()))


def load_config_text(text: str, filename: str = "<config>") -> Dict[str, Any]:
    """Evaluate the text of a single config file (no ``_base_`` resolution).

    Args:
        text: Python source of the config.
        filename: Name used in error messages. Default ``"<config>"``.
    """
    cfg = _evaluate_text(text, filename)
    refs = _unresolved_refs(cfg)
    if refs or BASE_KEY in cfg:
        raise ConfigError(f"{filename}: {BASE_KEY} inheritance needs a file path; use load_config(path)")
    return copy.deepcopy(cfg)

"""``BaseDataset`` (mmaction2 v0.24 semantics), annotation parsing with located errors, the dataset
registry, ``RepeatDataset`` and ``build_dataset``.

Every dataset reads its annotation file into ``video_infos`` (a list of dicts, exactly mmaction2's)
and runs its pipeline lazily in ``__getitem__``. Two additions, both keyword-only:

- ``on_error="raise"`` (default): a malformed annotation line raises
  :class:`~videohub.errors.AnnotationError` naming the file and line; a sample that fails in the
  pipeline (missing or corrupt video, missing frame) re-raises the videohub error with the
  annotation file and line prepended.
- ``on_error="skip"``: bad annotation lines are left out and recorded in
  ``dataset.skipped_annotations``; a sample that fails is replaced by the next sample that loads
  (``idx + 1``, ``idx + 2``, ...), recorded in ``dataset.skipped`` and logged as a warning.
  ``dataset.skip_report()`` summarizes both. (With DataLoader workers each worker process keeps
  its own ``skipped`` list; the warnings are logged from the workers.)

A malformed line is one with wrong fields, a JSON entry of the wrong type (``"total_frames": "10"``,
a sample that is not an object ...; located as ``file line N (entry i)``), or bytes that are not
UTF-8. Annotation files are read as UTF-8 (a byte-order mark is ignored). An annotation file that
is empty, or whose every line was skipped, raises :class:`~videohub.errors.AnnotationError` naming
the file: a dataset is never silently empty.
"""

from __future__ import annotations

import bisect
import copy
import json
import os
import os.path as osp
import re
from abc import ABCMeta, abstractmethod
from collections import defaultdict
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from ...errors import AnnotationError, ConfigError, VideohubError
from ...registry import Registry
from ...utils.logging import get_logger
from ..pipelines.compose import Compose

logger = get_logger(__name__)

#: Registry of dataset classes, used by :func:`build_dataset`.
DATASETS = Registry("dataset")

_ON_ERROR = ("raise", "skip")
_MAX_REFETCH = 50


class AnnotationSource:
    """Reads an annotation file (text lines or a JSON list/object) and reports errors located at
    ``file line N``.

    The file is read as UTF-8 (a leading byte-order mark is ignored). A line or JSON entry holding
    bytes that are not UTF-8 is an error at its line like any other malformed line, so
    ``on_error="skip"`` leaves it out and records it. The counters ``entries`` and ``num_skipped``
    let :meth:`empty_error` say whether the file was empty or every entry was skipped.

    Args:
        path: Annotation file.
        on_error: ``"raise"`` or ``"skip"``. Default: ``"raise"``.
        skipped: List receiving ``(location, message)`` of skipped lines. Default: a new list.
    """

    def __init__(self, path: str, on_error: str = "raise", skipped: Optional[List[Tuple[str, str]]] = None):
        if not osp.isfile(path):
            raise AnnotationError(f"annotation file {path!r} not found")
        self.path = path
        self.on_error = on_error
        self.skipped = skipped if skipped is not None else []
        #: what one entry of the file is, for messages (``"annotation lines"``, ``"JSON entries"`` ...)
        self.unit = "annotation lines"
        #: entries (non-blank lines, JSON entries, video blocks) met so far
        self.entries = 0
        #: entries skipped so far, and the first of them as ``(location, message)``
        self.num_skipped = 0
        self.first_skip: Optional[Tuple[str, str]] = None

    def read_lines(self) -> List[str]:
        """All lines of the file (universal newlines, ends stripped of ``\\n``); bytes that are not
        UTF-8 come back as lone surrogates (see :func:`utf8_problem`)."""
        with open(self.path, "r", encoding="utf-8-sig", errors="surrogateescape") as fin:
            return [line.rstrip("\n") for line in fin]

    def lines(self, sep: Optional[str] = None) -> Iterator[Tuple[int, List[str], str]]:
        """Yield ``(line_number, fields, stripped_line)`` for each non-blank line (1-based numbers).

        A line with bytes that are not UTF-8 is reported through :meth:`error` and not yielded.
        """
        with open(self.path, "r", encoding="utf-8-sig", errors="surrogateescape") as fin:
            for number, line in enumerate(fin, start=1):
                stripped = line.strip()
                if not stripped:
                    continue
                self.entries += 1
                problem = utf8_problem(line)
                if problem:
                    self.error(number, problem)
                    continue
                fields = stripped.split(sep) if sep else stripped.split()
                yield number, fields, stripped

    def json_entries(self, container: type, name: str = "entry") -> Iterator[Tuple[str, Any, Any]]:
        """Yield ``(location, key, value)`` for each entry of a JSON list (``key`` = index) or
        object (``key`` = member name), ``location`` being ``"line N (<name> <key>)"``.

        Raises :class:`AnnotationError` naming the file and line for an empty file, invalid JSON,
        a top-level value that is not a ``container``, or bytes that are not UTF-8 outside any
        entry. An entry holding such bytes is reported through :meth:`error` and not yielded.
        Duplicate object members are reported through :meth:`error` too (the first one is kept).

        Args:
            container: ``list`` or ``dict``.
            name: What an entry is, for locations. Default: ``"entry"``.
        """
        kind = "list" if container is list else "object"
        self.unit = "JSON entries"
        with open(self.path, "r", encoding="utf-8-sig", errors="surrogateescape") as fin:
            doc = _JsonText(self.path, fin.read())
        text = doc.text
        pos = doc.skip(0)
        if pos == len(text):
            raise AnnotationError(f"{self.path} is empty: expected a JSON {kind}")
        if text[pos] != ("[" if container is list else "{"):
            value, _ = doc.value(pos)
            raise AnnotationError(f"{self.path} line {doc.line(pos)}: expected a JSON {kind}, got {describe(value)}")
        closer = "]" if container is list else "}"
        pos = doc.skip(pos + 1)
        seen: Dict[str, int] = {}
        index = 0
        while text[pos : pos + 1] != closer:
            start = pos
            key: Any = index
            if container is dict:
                if text[pos : pos + 1] != '"':
                    raise doc.error_at(pos, "Expecting property name enclosed in double quotes")
                key, pos = doc.value(pos)
                pos = doc.skip(pos)
                if text[pos : pos + 1] != ":":
                    raise doc.error_at(pos, "Expecting ':' delimiter")
                pos = doc.skip(pos + 1)
            value, end = doc.value(pos)
            self.entries += 1
            label = f"entry {index}" if container is list else f"{name} {key!r}"
            bad = _BAD_UTF8.search(text, start, end)
            if bad:
                self.error(f"line {doc.line(bad.start())} ({label})", doc.utf8_problem(bad.start()))
            elif container is dict and key in seen:
                self.error(f"line {doc.line(start)} ({label})", f"duplicate {name} (first at line {seen[key]})")
            else:
                if container is dict:
                    seen[key] = doc.line(start)
                yield f"line {doc.line(start)} ({label})", key, value
            index += 1
            pos = doc.skip(end)
            if text[pos : pos + 1] == ",":
                pos = doc.skip(pos + 1)
                if text[pos : pos + 1] == closer:
                    raise doc.error_at(pos, "Expecting value after ','")
            elif text[pos : pos + 1] != closer:
                raise doc.error_at(pos, f"Expecting ',' delimiter or '{closer}'")
        pos = doc.skip(pos + 1)
        if pos != len(text):
            raise doc.error_at(pos, "Extra data")

    def where(self, line: Union[int, str]) -> str:
        """``"<file> line N"`` (or ``"<file> <line>"`` for a location string such as JSON's)."""
        return f"{self.path} {'line ' + str(line) if isinstance(line, int) else line}"

    def error(self, line: Union[int, str], message: str) -> None:
        """Raise an :class:`AnnotationError` at ``line`` or record the line as skipped."""
        where = self.where(line)
        if self.on_error == "raise":
            raise AnnotationError(f"{where}: {message}")
        logger.warning("skipping %s: %s", where, message)
        self.skipped.append((where, message))
        self.num_skipped += 1
        if self.first_skip is None:
            self.first_skip = (where, message)

    def empty_error(self) -> AnnotationError:
        """The error for a file that gave nothing to load: empty, every entry skipped, or none usable."""
        if self.entries == 0:
            return AnnotationError(f"{self.path} is empty: it has no {self.unit}")
        if self.num_skipped == self.entries:
            where, message = self.first_skip
            return AnnotationError(
                f"{self.path}: all {self.entries} {self.unit} were skipped as malformed, so nothing is left to "
                f"load; the first: {where}: {message}"
            )
        return AnnotationError(
            f"{self.path}: none of its {self.entries} {self.unit} gives a sample ({self.num_skipped} skipped as malformed)"
        )


_BAD_UTF8 = re.compile("[\udc80-\udcff]")
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_DECODER = json.JSONDecoder()


def utf8_problem(text: str) -> Optional[str]:
    """Describe the first byte of ``text`` (decoded with ``errors="surrogateescape"``) that is not
    UTF-8, with its column; None when there is none."""
    bad = _BAD_UTF8.search(text)
    if bad is None:
        return None
    return _bad_byte_message(ord(bad.group()) - 0xDC00, bad.start() + 1)


def _bad_byte_message(byte: int, column: int) -> str:
    return f"byte 0x{byte:02x} at column {column} is not valid UTF-8 (save the annotation file as UTF-8)"


class _JsonText:
    """A JSON document with line lookup, parsed value by value with located errors."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def line(self, pos: int) -> int:
        """1-based line of character ``pos``."""
        return bisect.bisect_left(self._newlines, pos) + 1

    def skip(self, pos: int) -> int:
        """Position of the first non-whitespace character at or after ``pos``."""
        return _JSON_SPACE.match(self.text, pos).end()

    def utf8_problem(self, pos: int) -> str:
        """Message for the undecodable byte at ``pos``."""
        line_start = self._newlines[self.line(pos) - 2] + 1 if self.line(pos) > 1 else 0
        return _bad_byte_message(ord(self.text[pos]) - 0xDC00, pos - line_start + 1)

    def error_at(self, pos: int, message: str) -> AnnotationError:
        """The :class:`AnnotationError` of a syntax error (or undecodable byte) at ``pos``."""
        where = f"{self.path} line {self.line(pos)}"
        if _BAD_UTF8.match(self.text, pos):
            return AnnotationError(f"{where}: {self.utf8_problem(pos)}")
        return AnnotationError(f"{where}: invalid JSON: {message}")

    def value(self, pos: int) -> Tuple[Any, int]:
        """``(value, end position)`` of the JSON value starting at ``pos``."""
        try:
            return _JSON_DECODER.raw_decode(self.text, pos)
        except json.JSONDecodeError as err:
            raise self.error_at(err.pos, err.msg) from None
        except RecursionError:
            raise AnnotationError(f"{self.path} line {self.line(pos)}: JSON value nested too deeply") from None


def describe(value: Any) -> str:
    """A JSON value's type and (shortened) text, e.g. ``string "10"`` or ``array [1, 2]``."""
    if value is None or isinstance(value, bool):
        kind = "boolean" if isinstance(value, bool) else "null"
    else:
        kind = {dict: "object", list: "array", str: "string"}.get(type(value), "number")
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} {shown}"


class BadLine(Exception):
    """Raised inside a line parser; carries the message for :meth:`AnnotationSource.error`.

    Args:
        message: What is wrong and what was expected.
        line: The line at fault when the parser knows it better than its caller. Default: None.
    """

    def __init__(self, message: str, line: Optional[int] = None):
        super().__init__(message)
        self.line = line


def parse_int(text: str, what: str) -> int:
    """``int(text)`` or :class:`BadLine` saying ``what`` must be an integer."""
    try:
        return int(text)
    except ValueError:
        raise BadLine(f"{what} {text!r} is not an integer") from None


def parse_labels(
    fields: Sequence[str], multi_class: bool, num_classes: Optional[int], line: str
) -> Union[int, List[int]]:
    """Parse label fields: one integer (single-class) or several (multi-class), range-checked."""
    if not fields:
        raise BadLine(f"missing label in line {line!r}")
    labels = [parse_int(x, "label") for x in fields]
    if not multi_class and len(labels) != 1:
        raise BadLine(
            f"expected exactly one label, got {len(labels)} ({' '.join(fields)}); set multi_class=True "
            "for several labels per sample"
        )
    for label in labels:
        if label < 0 or (num_classes is not None and label >= num_classes):
            upper = f"{num_classes - 1}" if num_classes is not None else "inf"
            raise BadLine(f"label {label} out of range [0, {upper}]")
    return labels if multi_class else labels[0]


def json_int(value: Any, what: str, minimum: Optional[int] = None) -> int:
    """``value`` if it is a JSON integer (at least ``minimum``), else :class:`BadLine`."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadLine(f"{what} must be an integer, got {describe(value)}")
    if minimum is not None and value < minimum:
        raise BadLine(f"{what} must be at least {minimum}, got {value}")
    return value


def json_number(value: Any, what: str) -> float:
    """``value`` if it is a JSON number, else :class:`BadLine`."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise BadLine(f"{what} must be a number, got {describe(value)}")
    return value


def json_str(value: Any, what: str) -> str:
    """``value`` if it is a non-empty JSON string, else :class:`BadLine`."""
    if not isinstance(value, str) or not value:
        raise BadLine(f"{what} must be a non-empty string, got {describe(value)}")
    return value


def json_object(value: Any, what: str) -> Dict[str, Any]:
    """``value`` if it is a JSON object, else :class:`BadLine`."""
    if not isinstance(value, dict):
        raise BadLine(f"{what} must be an object, got {describe(value)}")
    return value


def json_list(value: Any, what: str) -> List[Any]:
    """``value`` if it is a JSON array, else :class:`BadLine`."""
    if not isinstance(value, list):
        raise BadLine(f"{what} must be an array, got {describe(value)}")
    return value


class BaseDataset(Dataset, metaclass=ABCMeta):
    """Base class of the video datasets (mmaction2 ``BaseDataset``).

    Subclasses implement :meth:`load_annotations`. Items are ``pipeline(results)`` where
    ``results`` is a deep copy of ``video_infos[idx]`` plus ``modality`` and ``start_index``
    (multi-class labels become one-hot float tensors of length ``num_classes``).

    Args:
        ann_file: Path to the annotation file.
        pipeline: Sequence of step dicts or callables (built with ``Compose``).
        data_prefix: Directory the paths in the annotation file are relative to. Default: None.
        test_mode: Build a test/validation dataset. Default: False.
        multi_class: Several labels per sample. Default: False.
        num_classes: Number of classes (needed for multi-class; also range-checks labels). Default: None.
        start_index: Index of the first frame (1 for extracted frames, 0 for videos). Default: 1.
        modality: ``'RGB'``, ``'Flow'`` or ``'Audio'``. Default: ``'RGB'``.
        sample_by_class: Balance classes when sampling (single-class only). Default: False.
        power: Sample with probability proportional to ``class_frequency ** power`` (needs
            ``sample_by_class``; 1 = uniform over samples, 0 = uniform over classes). Default: None.
        on_error: ``'raise'`` or ``'skip'`` (see the module docstring). Default: ``'raise'``.
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: Sequence[Union[Dict[str, Any], Callable]],
        data_prefix: Optional[str] = None,
        test_mode: bool = False,
        multi_class: bool = False,
        num_classes: Optional[int] = None,
        start_index: int = 1,
        modality: str = "RGB",
        sample_by_class: bool = False,
        power: Optional[float] = None,
        *,
        on_error: str = "raise",
    ):
        super().__init__()
        if on_error not in _ON_ERROR:
            raise ConfigError(f"{type(self).__name__}: on_error must be 'raise' or 'skip', got {on_error!r}")
        if multi_class and sample_by_class:
            raise ConfigError(f"{type(self).__name__}: sample_by_class=True needs a single-class dataset (multi_class=False)")
        if multi_class and num_classes is None:
            raise ConfigError(f"{type(self).__name__}: multi_class=True needs num_classes")
        self.ann_file = os.fspath(ann_file) if ann_file is not None else None
        self.data_prefix = (
            osp.realpath(data_prefix) if data_prefix is not None and osp.isdir(data_prefix) else data_prefix
        )
        self.test_mode = test_mode
        self.multi_class = multi_class
        self.num_classes = num_classes
        self.start_index = start_index
        self.modality = modality
        self.sample_by_class = sample_by_class
        self.power = power
        self.on_error = on_error
        self.skipped_annotations: List[Tuple[str, str]] = []
        self.skipped: List[Tuple[int, str]] = []
        self._sources: List[str] = []
        self._main_source: Optional[AnnotationSource] = None
        self.pipeline = Compose(pipeline)
        self.video_infos: List[Dict[str, Any]] = self.load_annotations()
        if not self.video_infos:
            if self._main_source is None:
                raise AnnotationError(f"{type(self).__name__}: {self.ann_file!r} gives no samples")
            raise self._main_source.empty_error()
        if len(self._sources) != len(self.video_infos):
            self._sources = [f"{self.ann_file} sample {i}" for i in range(len(self.video_infos))]
        if self.sample_by_class:
            if self.power is None:
                raise ConfigError(f"{type(self).__name__}: sample_by_class=True needs power (e.g. 0 or 1)")
            self.video_infos_by_class = self.parse_by_class()
            class_prob = [len(samples) / len(self.video_infos) for samples in self.video_infos_by_class.values()]
            class_prob = [x**self.power for x in class_prob]
            total = sum(class_prob)
            self.class_prob = dict(zip(self.video_infos_by_class, [x / total for x in class_prob]))

    # ------------------------------------------------------------------ annotations
    @abstractmethod
    def load_annotations(self) -> List[Dict[str, Any]]:
        """Load ``ann_file`` into ``video_infos`` (implemented by every dataset)."""

    def _source(self, path: Optional[str] = None) -> AnnotationSource:
        """The source reading the samples (``path``, default ``ann_file``); an empty result is its error."""
        self._main_source = AnnotationSource(path or self.ann_file, self.on_error, self.skipped_annotations)
        return self._main_source

    def _join(self, path: str) -> str:
        return osp.join(self.data_prefix, path) if self.data_prefix is not None else path

    def _keep(self, indices: Sequence[int]) -> None:
        """Keep only ``video_infos[i]`` for ``i`` in ``indices`` (and their source locations)."""
        self.video_infos = [self.video_infos[i] for i in indices]
        self._sources = [self._sources[i] for i in indices]

    def load_json_annotations(self) -> List[Dict[str, Any]]:
        """Load a JSON list of ``video_infos`` (``filename`` or ``frame_dir`` joined to ``data_prefix``).

        Single-class entries carry ``label`` as a one-element list, which becomes an int.
        ``total_frames`` and ``offset``, where present, must be integers.
        """
        src = self._source()
        video_infos: List[Dict[str, Any]] = []
        self._sources = []
        for where, _, info in src.json_entries(list):
            try:
                info = self._check_json_sample(info)
            except BadLine as err:
                src.error(where, str(err))
                continue
            video_infos.append(info)
            self._sources.append(src.where(where))
        return video_infos

    def _check_json_sample(self, info: Any) -> Dict[str, Any]:
        """A checked copy of one JSON sample with its path joined and its label parsed."""
        info = dict(json_object(info, "a sample"))
        path_key = "frame_dir" if "frame_dir" in info else "filename"
        if path_key not in info:
            raise BadLine("has neither 'filename' nor 'frame_dir'")
        info[path_key] = self._join(json_str(info[path_key], f"'{path_key}'"))
        for key, minimum in (("total_frames", 1), ("offset", 0)):
            if key in info:
                json_int(info[key], f"'{key}'", minimum)
        if "label" not in info:
            raise BadLine("has no 'label'")
        label = info["label"]
        labels = label if isinstance(label, list) else [label]
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in labels):
            raise BadLine(f"'label' must be an integer or an array of integers, got {describe(label)}")
        info["label"] = parse_labels([str(x) for x in labels], self.multi_class, self.num_classes, str(label))
        return info

    def parse_by_class(self) -> Dict[int, List[Dict[str, Any]]]:
        """Group ``video_infos`` by label (ordered by first appearance)."""
        by_class: Dict[int, List[Dict[str, Any]]] = defaultdict(list)
        for item in self.video_infos:
            by_class[item["label"]].append(item)
        return by_class

    @staticmethod
    def label2array(num: int, label: Union[int, Sequence[int]]) -> np.ndarray:
        """One-hot float32 vector of length ``num`` with ones at ``label``."""
        arr = np.zeros(num, dtype=np.float32)
        arr[label] = 1.0
        return arr

    # ------------------------------------------------------------------ evaluation
    def evaluate(
        self,
        results: List[Any],
        metrics: Union[str, Sequence[str]] = "top_k_accuracy",
        metric_options: Optional[Dict[str, Any]] = None,
        logger: Any = None,
        **deprecated_kwargs: Any,
    ) -> Dict[str, float]:
        """Evaluate ``results`` (one score array per sample) against the labels.

        Delegates to ``videohub.metrics.dataset_evaluation.evaluate_recognition``.
        ``metric_options`` defaults to ``{'top_k_accuracy': {'topk': (1, 5)}}``; extra keyword
        arguments (mmaction2's deprecated ``topk=...``) are merged into the top-k options.
        """
        from ...metrics.dataset_evaluation import evaluate_recognition

        options = copy.deepcopy(metric_options) if metric_options is not None else {"top_k_accuracy": {"topk": (1, 5)}}
        if deprecated_kwargs:
            options["top_k_accuracy"] = dict(options.get("top_k_accuracy", {}), **deprecated_kwargs)
        if not isinstance(results, list):
            raise ConfigError(f"results must be a list, but got {type(results).__name__}")
        if len(results) != len(self):
            raise ConfigError(f"the number of results ({len(results)}) differs from the dataset size ({len(self)})")
        gt_labels = [info["label"] for info in self.video_infos]
        return evaluate_recognition(
            results,
            gt_labels,
            metrics=metrics,
            metric_options=options,
            multi_class=self.multi_class,
            num_classes=self.num_classes,
        )

    @staticmethod
    def dump_results(results: Any, out: str) -> Any:
        """Write ``results`` to ``out`` (json/yaml/pickle by extension; delegates to the metrics package)."""
        from ...metrics.dataset_evaluation import dump_results

        return dump_results(results, out)

    # ------------------------------------------------------------------ items
    def get_results(self, idx: int) -> Dict[str, Any]:
        """The results dict handed to the pipeline for sample ``idx`` (before any step runs)."""
        results = copy.deepcopy(self.video_infos[idx])
        results["modality"] = self.modality
        results["start_index"] = self.start_index
        if self.multi_class and isinstance(results.get("label"), list):
            onehot = torch.zeros(self.num_classes)
            onehot[results["label"]] = 1.0
            results["label"] = onehot
        return results

    def prepare_train_frames(self, idx: int) -> Dict[str, Any]:
        """Run the pipeline on sample ``idx`` for training."""
        return self.pipeline(self.get_results(idx))

    def prepare_test_frames(self, idx: int) -> Dict[str, Any]:
        """Run the pipeline on sample ``idx`` for testing."""
        return self.pipeline(self.get_results(idx))

    def _prepare(self, idx: int) -> Dict[str, Any]:
        return self.prepare_test_frames(idx) if self.test_mode else self.prepare_train_frames(idx)

    def __len__(self) -> int:
        return len(self.video_infos)

    def __getitem__(self, idx: int) -> Dict[str, Any]:
        if idx < 0:
            idx += len(self)
        try:
            return self._prepare(idx)
        except VideohubError as err:
            located = f"{self._sources[idx]}: {err}"
            if self.on_error == "raise":
                raise type(err)(located) from err
            self._record_skip(idx, located)
        for step in range(1, min(len(self), _MAX_REFETCH)):
            other = (idx + step) % len(self)
            try:
                return self._prepare(other)
            except VideohubError as err:
                self._record_skip(other, f"{self._sources[other]}: {err}")
        raise VideohubError(
            f"{type(self).__name__}: sample {idx} and the {min(len(self), _MAX_REFETCH) - 1} samples after it all "
            f"failed to load; see dataset.skipped"
        )

    def _record_skip(self, idx: int, message: str) -> None:
        logger.warning("skipping sample %d: %s", idx, message)
        self.skipped.append((idx, message))

    def skip_report(self) -> str:
        """A summary of the skipped annotation lines and samples (empty string when nothing was skipped)."""
        lines = []
        if self.skipped_annotations:
            lines.append(f"{len(self.skipped_annotations)} annotation line(s) skipped:")
            lines.extend(f"  {where}: {msg}" for where, msg in self.skipped_annotations)
        if self.skipped:
            distinct = sorted({i for i, _ in self.skipped})
            lines.append(f"{len(distinct)} sample(s) failed to load and were replaced:")
            lines.extend(f"  {msg}" for _, msg in self.skipped)
        return "\n".join(lines)


@DATASETS.register()
class RepeatDataset(Dataset):
    """Repeat a dataset ``times`` times (``len = times * len(dataset)``).

    Args:
        dataset: The dataset to repeat.
        times: Number of repeats.
    """

    def __init__(self, dataset: Dataset, times: int):
        self.dataset = dataset
        self.times = times
        self._ori_len = len(dataset)

    def __getitem__(self, idx: int) -> Any:
        return self.dataset[idx % self._ori_len]

    def __len__(self) -> int:
        return self.times * self._ori_len


def build_dataset(cfg: Dict[str, Any], default_args: Optional[Dict[str, Any]] = None) -> Dataset:
    """Build a dataset from ``dict(type=..., **kwargs)`` (``RepeatDataset`` wraps ``cfg['dataset']``).

    Args:
        cfg: Dataset config with a ``type`` key.
        default_args: Arguments used where ``cfg`` does not set them. Default: None.
    """
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ConfigError(f"a dataset config must be a dict with a 'type' key, got {cfg!r}")
    if cfg["type"] == "RepeatDataset":
        if "dataset" not in cfg or "times" not in cfg:
            raise ConfigError("RepeatDataset config needs 'dataset' and 'times'")
        return RepeatDataset(build_dataset(cfg["dataset"], default_args), cfg["times"])
    return DATASETS.build(cfg, **(default_args or {}))

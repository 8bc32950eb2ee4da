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
"""

from __future__ import annotations

import copy
import json
import os
import os.path as osp
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
    """Reads an annotation file line by line and reports errors located at ``file:line``.

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

    def lines(self, sep: Optional[str] = None) -> Iterator[Tuple[int, List[str], str]]:
        """Yield ``(line_number, fields, raw_line)`` for each non-blank line (1-based numbers)."""
        with open(self.path, "r", encoding="utf-8") as fin:
            for number, line in enumerate(fin, start=1):
                stripped = line.strip()
                if not stripped:
                    continue
                fields = stripped.split(sep) if sep else stripped.split()
                yield number, fields, stripped

    def where(self, line: Union[int, str]) -> str:
        """``"<file> line N"`` (or ``"<file> entry N"`` for JSON)."""
        return f"{self.path} {'line ' + str(line) if isinstance(line, int) else line}"

    def error(self, line: Union[int, str], message: str) -> None:
        """Raise an :class:`AnnotationError` at ``line`` or record the line as skipped."""
        where = self.where(line)
        if self.on_error == "raise":
            raise AnnotationError(f"{where}: {message}")
        logger.warning("skipping %s: %s", where, message)
        self.skipped.append((where, message))


class BadLine(Exception):
    """Raised inside a line parser; carries the message for :meth:`AnnotationSource.error`."""


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


def load_json(path: str) -> Any:
    """Load a JSON annotation file, raising :class:`AnnotationError` with the line of a syntax error."""
    if not osp.isfile(path):
        raise AnnotationError(f"annotation file {path!r} not found")
    with open(path, "r", encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            raise AnnotationError(f"{path} line {err.lineno}: invalid JSON: {err.msg}") from None


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
        self.pipeline = Compose(pipeline)
        self.video_infos: List[Dict[str, Any]] = self.load_annotations()
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

    def _source(self) -> AnnotationSource:
        return AnnotationSource(self.ann_file, self.on_error, self.skipped_annotations)

    def _join(self, path: str) -> str:
        return osp.join(self.data_prefix, path) if self.data_prefix is not None else path

    def _keep(self, indices: Sequence[int]) -> None:
        """Keep only ``video_infos[i]`` for ``i`` in ``indices`` (and their source locations)."""
        self.video_infos = [self.video_infos[i] for i in indices]
        self._sources = [self._sources[i] for i in indices]

    def load_json_annotations(self) -> List[Dict[str, Any]]:
        """Load a JSON list of ``video_infos`` (``filename`` or ``frame_dir`` joined to ``data_prefix``).

        Single-class entries carry ``label`` as a one-element list, which becomes an int.
        """
        src = self._source()
        data = load_json(self.ann_file)
        if not isinstance(data, list):
            raise AnnotationError(f"{self.ann_file}: expected a JSON list of samples, got {type(data).__name__}")
        video_infos: List[Dict[str, Any]] = []
        self._sources = []
        for i, info in enumerate(data):
            where = f"entry {i}"
            try:
                if not isinstance(info, dict):
                    raise BadLine(f"expected an object, got {type(info).__name__}")
                path_key = "frame_dir" if "frame_dir" in info else "filename"
                if path_key not in info:
                    raise BadLine("has neither 'filename' nor 'frame_dir'")
                if "label" not in info:
                    raise BadLine("has no 'label'")
                info = dict(info)
                info[path_key] = self._join(info[path_key])
                label = info["label"]
                labels = label if isinstance(label, list) else [label]
                if not all(isinstance(x, int) and not isinstance(x, bool) for x in labels):
                    raise BadLine(f"labels must be integers, got {label!r}")
                checked = parse_labels([str(x) for x in labels], self.multi_class, self.num_classes, str(label))
                info["label"] = checked
            except BadLine as err:
                src.error(where, str(err))
                continue
            video_infos.append(info)
            self._sources.append(src.where(where))
        return video_infos

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

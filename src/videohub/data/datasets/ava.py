"""AVA spatio-temporal action detection dataset, label maps and safe proposal files.

Proposal files of AVA are pickles in the wild (``ava_dense_proposals_*.pkl``). videohub reads:

- ``.json``: ``{"<video_id>,<timestamp:04d>": [[x1, y1, x2, y2(, score)], ...]}``;
- ``.npz``: one array per img key (``np.savez(path, **proposals)``), loaded with ``allow_pickle=False``;
- ``.pkl``: only with ``allow_pickle_proposals=True``, and even then through an unpickler that
  accepts nothing but dicts, lists, tuples, numbers, strings and numpy arrays (no other class can be
  instantiated, so a crafted file cannot run code). :func:`convert_ava_proposals` turns a pickle into
  ``.npz`` or ``.json`` once, after which no pickle is needed.
"""

from __future__ import annotations

import copy
import io
import json
import os
import os.path as osp
import pickle
import re
from collections import defaultdict
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from ...errors import AnnotationError, ConfigError
from ...utils.logging import get_logger
from .base import DATASETS, AnnotationSource, BadLine, BaseDataset, describe, parse_int, utf8_problem

logger = get_logger(__name__)

_ALLOWED_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("collections", "OrderedDict"),
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "tuple"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and plain containers, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise AnnotationError(
            f"refusing to unpickle {module}.{name}: an AVA proposal pickle may only hold dicts of numpy arrays"
        )


def read_labelmap(path: str) -> Tuple[List[Dict[str, Any]], Set[int]]:
    """Read an AVA ``.pbtxt`` label map: ``([{'id': int, 'name': str}, ...], {ids})``.

    Accepts ``id:`` or ``label_id:`` for the class id; raises :class:`AnnotationError` naming the
    line of an unparsable id, an item without a name or bytes that are not UTF-8, and naming the
    file when it holds no item.
    """
    if not osp.isfile(path):
        raise AnnotationError(f"label map {path!r} not found")
    labelmap: List[Dict[str, Any]] = []
    ids: Set[int] = set()
    name: Optional[str] = None
    for number, line in enumerate(AnnotationSource(path).read_lines(), start=1):
        problem = utf8_problem(line)
        if problem:
            raise AnnotationError(f"{path} line {number}: {problem}")
        text = line.strip()
        m = re.match(r'name:\s*"(.*)"', text)
        if m:
            name = m.group(1)
            continue
        m = re.match(r"(label_id|id):\s*(\S+)", text)
        if m:
            try:
                class_id = int(m.group(2))
            except ValueError:
                raise AnnotationError(f"{path} line {number}: class id {m.group(2)!r} is not an integer") from None
            if name is None:
                raise AnnotationError(f"{path} line {number}: id {class_id} has no preceding name")
            labelmap.append({"id": class_id, "name": name})
            ids.add(class_id)
            name = None
    if not labelmap:
        raise AnnotationError(f"label map {path} holds no item (expected 'item {{ name: \"...\" id: N }}' blocks)")
    return labelmap, ids


def _proposal_array(value: Any) -> np.ndarray:
    """One img key's proposals from JSON: an array of ``[x1, y1, x2, y2(, score)]`` rows (an empty
    array means no proposal)."""
    if not isinstance(value, list):
        raise BadLine(f"proposals must be an array of [x1, y1, x2, y2(, score)] rows, got {describe(value)}")
    if not value:
        return np.zeros((0, 4))
    width = len(value[0]) if isinstance(value[0], list) else None
    for i, row in enumerate(value):
        if (
            not isinstance(row, list)
            or len(row) not in (4, 5)
            or len(row) != width
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in row)
        ):
            raise BadLine(
                f"proposal {i} must be [x1, y1, x2, y2] or [x1, y1, x2, y2, score] numbers like the first row, "
                f"got {describe(row)}"
            )
    return np.asarray(value, dtype=np.float64)


def load_ava_proposals(
    path: str,
    allow_pickle_proposals: bool = False,
    *,
    on_error: str = "raise",
    skipped: Optional[List[Tuple[str, str]]] = None,
) -> Dict[str, np.ndarray]:
    """Load an AVA proposal file (``.json``, ``.npz``, or ``.pkl`` with the opt-in) as ``{img_key: array}``.

    A JSON entry that is not an array of 4- or 5-number rows (or holds bytes that are not UTF-8)
    raises :class:`AnnotationError` naming the file and line, or is left out and recorded with
    ``on_error="skip"``. A file that holds no proposals (or whose every entry was skipped) is an error.

    Args:
        path: Proposal file.
        allow_pickle_proposals: Allow ``.pkl`` files (read with an arrays-only unpickler). Default: False.
        on_error: ``"raise"`` or ``"skip"`` for malformed JSON entries. Default: ``"raise"``.
        skipped: List receiving ``(location, message)`` of skipped entries. Default: a new list.
    """
    if not osp.isfile(path):
        raise AnnotationError(f"proposal file {path!r} not found")
    ext = osp.splitext(path)[1].lower()
    if ext == ".json":
        src = AnnotationSource(path, on_error, skipped)
        proposals = {}
        for where, key, value in src.json_entries(dict, name="img key"):
            try:
                proposals[key] = _proposal_array(value)
            except BadLine as err:
                src.error(where, str(err))
        if not proposals:
            raise src.empty_error()
        return proposals
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as data:
            proposals = {key: data[key] for key in data.files}
    elif ext in (".pkl", ".pickle"):
        if not allow_pickle_proposals:
            raise ConfigError(
                f"proposal file {path!r} is a pickle; pass allow_pickle_proposals=True to read it (only numpy "
                "arrays are accepted), or convert it once with videohub.data.datasets.convert_ava_proposals"
            )
        with open(path, "rb") as f:
            raw = _ArrayOnlyUnpickler(io.BytesIO(f.read())).load()
        if not isinstance(raw, dict):
            raise AnnotationError(f"{path}: expected a dict of img_key -> array, got {type(raw).__name__}")
        proposals = {str(k): np.asarray(v) for k, v in raw.items()}
    else:
        raise ConfigError(f"proposal file {path!r}: unsupported extension {ext!r}; use .json, .npz (or .pkl with opt-in)")
    if not proposals:
        raise AnnotationError(f"proposal file {path} holds no proposals")
    return proposals


def convert_ava_proposals(src: str, dst: str) -> str:
    """Convert a proposal pickle (arrays-only unpickler) to ``.npz`` or ``.json`` (by ``dst``'s extension)."""
    proposals = load_ava_proposals(src, allow_pickle_proposals=True)
    ext = osp.splitext(dst)[1].lower()
    if ext == ".npz":
        np.savez(dst, **proposals)
    elif ext == ".json":
        with open(dst, "w", encoding="utf-8") as f:
            json.dump({k: v.tolist() for k, v in proposals.items()}, f)
    else:
        raise ConfigError(f"convert_ava_proposals: destination must end in .npz or .json, got {dst!r}")
    return dst


@DATASETS.register()
class AVADataset(BaseDataset):
    """AVA: csv boxes per (video, second), excluded timestamps, pbtxt label map, person proposals.

    Annotation lines are ``video_id,timestamp,x1,y1,x2,y2,action_id,entity_id`` (box corners
    normalized to [0, 1]). Boxes of the same entity at the same second are merged into one box with
    a multi-hot label vector of length ``num_classes``.

    Args:
        ann_file: ``ava_{train,val}_v2.x.csv``.
        exclude_file: csv of ``video_id,timestamp`` to leave out in training (None: keep all).
        pipeline: Pipeline steps.
        label_file: ``.pbtxt`` label map (needed with ``custom_classes``). Default: None.
        filename_tmpl: Frame file template. Default: ``'img_{:05}.jpg'``.
        proposal_file: Person proposals (``.json``/``.npz``; ``.pkl`` needs ``allow_pickle_proposals``).
            Default: None.
        person_det_score_thr: Keep proposals scoring at least this (or the best one if none does).
            Default: 0.9.
        num_classes: Label vector length (80 actions + 1). Default: 81.
        custom_classes: Subset of action ids to train on (``num_classes == len(custom_classes) + 1``).
            Default: None.
        data_prefix: Directory of the frame folders. Default: None.
        test_mode: Build a test dataset (no exclusion). Default: False.
        modality: ``'RGB'`` or ``'Flow'``. Default: ``'RGB'``.
        num_max_proposals: Proposals kept per key frame. Default: 1000.
        timestamp_start: First annotated second. Default: 900.
        timestamp_end: Last annotated second. Default: 1800.
        allow_pickle_proposals: Accept a ``.pkl`` proposal file. Default: False.
        on_error: ``'raise'`` or ``'skip'``. Default: ``'raise'``.
    """

    _FPS = 30

    def __init__(
        self,
        ann_file: str,
        exclude_file: Optional[str],
        pipeline: Sequence[Any],
        label_file: Optional[str] = None,
        filename_tmpl: str = "img_{:05}.jpg",
        proposal_file: Optional[str] = None,
        person_det_score_thr: float = 0.9,
        num_classes: int = 81,
        custom_classes: Optional[Sequence[int]] = None,
        data_prefix: Optional[str] = None,
        test_mode: bool = False,
        modality: str = "RGB",
        num_max_proposals: int = 1000,
        timestamp_start: int = 900,
        timestamp_end: int = 1800,
        *,
        allow_pickle_proposals: bool = False,
        on_error: str = "raise",
    ):
        self.custom_classes: Optional[Tuple[int, ...]] = None
        if custom_classes is not None:
            custom = list(custom_classes)
            if num_classes != len(custom) + 1:
                raise ConfigError(f"AVADataset: num_classes ({num_classes}) must be len(custom_classes) + 1 ({len(custom) + 1})")
            if 0 in custom:
                raise ConfigError("AVADataset: custom_classes must not contain 0")
            if label_file is None:
                raise ConfigError("AVADataset: custom_classes needs label_file to check the class ids")
            _, known = read_labelmap(label_file)
            unknown = sorted(set(custom) - known)
            if unknown:
                raise ConfigError(f"AVADataset: custom_classes {unknown} are not in the label map {label_file!r}")
            self.custom_classes = tuple([0] + custom)
        if not 0 <= person_det_score_thr <= 1:
            raise ConfigError(f"AVADataset: person_det_score_thr must be in [0, 1], got {person_det_score_thr}")
        self.exclude_file = exclude_file
        self.label_file = label_file
        self.proposal_file = proposal_file
        self.person_det_score_thr = person_det_score_thr
        self.filename_tmpl = filename_tmpl
        self.num_max_proposals = num_max_proposals
        self.timestamp_start = timestamp_start
        self.timestamp_end = timestamp_end
        self.allow_pickle_proposals = allow_pickle_proposals
        super().__init__(
            ann_file, pipeline, data_prefix, test_mode, modality=modality, num_classes=num_classes, on_error=on_error
        )
        self.proposals = (
            load_ava_proposals(
                proposal_file, allow_pickle_proposals, on_error=on_error, skipped=self.skipped_annotations
            )
            if proposal_file is not None
            else None
        )
        if not test_mode:
            valid = self.filter_exclude_file()
            logger.info("%d out of %d frames are valid.", len(valid), len(self.video_infos))
            self._keep(valid)

    def parse_img_record(self, img_records: List[Dict[str, Any]]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Merge records of the same box at the same time: ``(bboxes, multi-hot labels, entity_ids)``."""
        bboxes, labels, entity_ids = [], [], []
        while img_records:
            first = img_records[0]
            same = [x for x in img_records if np.array_equal(x["entity_box"], first["entity_box"])]
            img_records = [x for x in img_records if not np.array_equal(x["entity_box"], first["entity_box"])]
            bboxes.append(first["entity_box"])
            label = np.zeros(self.num_classes, dtype=np.float32)
            label[np.array([x["label"] for x in same])] = 1.0
            labels.append(label)
            entity_ids.append(first["entity_id"])
        return np.stack(bboxes), np.stack(labels), np.stack(entity_ids)

    def filter_exclude_file(self) -> List[int]:
        """Indices of ``video_infos`` not listed in ``exclude_file`` (an empty exclude file excludes
        nothing; one whose every line is malformed and skipped is an error)."""
        if self.exclude_file is None:
            return list(range(len(self.video_infos)))
        src = AnnotationSource(self.exclude_file, self.on_error, self.skipped_annotations)
        excluded = set()
        for number, fields, line in src.lines(sep=","):
            try:
                if len(fields) != 2:
                    raise BadLine(f"expected 'video_id,timestamp', got {len(fields)} fields: {line!r}")
                excluded.add((fields[0], parse_int(fields[1], "timestamp")))
            except BadLine as err:
                src.error(number, str(err))
        if src.entries and src.num_skipped == src.entries:
            raise src.empty_error()
        return [
            i for i, info in enumerate(self.video_infos) if (info["video_id"], info["timestamp"]) not in excluded
        ]

    def load_annotations(self) -> List[Dict[str, Any]]:
        """Load the AVA csv into one entry per (video, second) key frame."""
        src = self._source()
        records = defaultdict(list)
        first_line: Dict[str, int] = {}
        shot_info = (0, (self.timestamp_end - self.timestamp_start) * self._FPS)
        for number, fields, line in src.lines(sep=","):
            try:
                if len(fields) != 8:
                    raise BadLine(
                        f"expected 8 fields 'video_id,timestamp,x1,y1,x2,y2,action_id,entity_id', got {len(fields)}"
                    )
                label = parse_int(fields[6], "action_id")
                if self.custom_classes is None and not 0 <= label < self.num_classes:
                    raise BadLine(f"action_id {label} out of range [0, {self.num_classes - 1}]")
                timestamp = parse_int(fields[1], "timestamp")
                try:
                    box = np.array([float(x) for x in fields[2:6]])
                except ValueError:
                    raise BadLine(f"box coordinates {fields[2:6]} are not numbers") from None
                entity_id = parse_int(fields[7], "entity_id")
            except BadLine as err:
                src.error(number, str(err))
                continue
            if self.custom_classes is not None:
                if label not in self.custom_classes:
                    continue
                label = self.custom_classes.index(label)
            img_key = f"{fields[0]},{timestamp:04d}"
            first_line.setdefault(img_key, number)
            records[img_key].append(
                dict(video_id=fields[0], timestamp=timestamp, entity_box=box, label=label, entity_id=entity_id)
            )
        if self.custom_classes is not None and not records and src.entries > src.num_skipped:
            raise AnnotationError(
                f"{self.ann_file}: none of its {src.entries - src.num_skipped} valid annotation lines has an "
                f"action in custom_classes {list(self.custom_classes[1:])}"
            )
        video_infos = []
        self._sources = []
        for img_key, recs in records.items():
            video_id, timestamp = img_key.split(",")
            bboxes, labels, entity_ids = self.parse_img_record(recs)
            video_infos.append(
                dict(
                    frame_dir=self._join(video_id),
                    video_id=video_id,
                    timestamp=int(timestamp),
                    img_key=img_key,
                    shot_info=shot_info,
                    fps=self._FPS,
                    ann=dict(gt_bboxes=bboxes, gt_labels=labels, entity_ids=entity_ids),
                )
            )
            self._sources.append(src.where(first_line[img_key]))
        return video_infos

    def select_proposals(self, img_key: str) -> Dict[str, np.ndarray]:
        """``{'proposals': ..., 'scores': ...}`` of ``img_key`` after the score threshold (empty dict
        without a proposal file; the whole frame when the key has no proposals)."""
        if self.proposals is None:
            return {}
        if img_key not in self.proposals:
            return {"proposals": np.array([[0, 0, 1, 1]]), "scores": np.array([1])}
        proposals = np.asarray(self.proposals[img_key])
        if proposals.ndim != 2 or proposals.shape[-1] not in (4, 5):
            raise AnnotationError(f"{self.proposal_file}: proposals of {img_key!r} have shape {proposals.shape}; expected (N, 4) or (N, 5)")
        if proposals.shape[-1] == 5:
            thr = min(self.person_det_score_thr, max(proposals[:, 4]))
            proposals = proposals[proposals[:, 4] >= thr][: self.num_max_proposals]
            return {"proposals": proposals[:, :4], "scores": proposals[:, 4]}
        return {"proposals": proposals[: self.num_max_proposals]}

    def get_results(self, idx: int) -> Dict[str, Any]:
        """Results for key frame ``idx``: boxes, labels, proposals and the timestamps."""
        results = copy.deepcopy(self.video_infos[idx])
        results["filename_tmpl"] = self.filename_tmpl
        results["modality"] = self.modality
        results["start_index"] = self.start_index
        results["timestamp_start"] = self.timestamp_start
        results["timestamp_end"] = self.timestamp_end
        results.update(self.select_proposals(results["img_key"]))
        ann = results.pop("ann")
        results["gt_bboxes"] = ann["gt_bboxes"]
        results["gt_labels"] = ann["gt_labels"]
        results["entity_ids"] = ann["entity_ids"]
        return results

    def results2csv(self, results: List[List[np.ndarray]], out_file: str) -> None:
        """Write detections (per key frame: one ``(N, 5)`` array per class) as AVA csv rows."""
        rows = []
        for idx, result in enumerate(results):
            info = self.video_infos[idx]
            for label, boxes in enumerate(result):
                action = self.custom_classes[label + 1] if self.custom_classes is not None else label + 1
                for box in np.asarray(boxes).reshape(-1, 5):
                    rows.append((info["video_id"], info["timestamp"], *box[:4].tolist(), action, float(box[4])))
        with open(out_file, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(",".join(f"{x:.3f}" if isinstance(x, float) else str(x) for x in row) + "\n")

    def dump_results(self, results: List[List[np.ndarray]], out: str) -> None:
        """Dump detections into an AVA csv file (``out`` must end in ``.csv``)."""
        if not out.endswith("csv"):
            raise ConfigError(f"AVADataset.dump_results writes csv; got {out!r}")
        self.results2csv(results, out)

    def evaluate(
        self, results: List[List[np.ndarray]], metrics: Sequence[str] = ("mAP",), metric_options: Any = None, logger: Any = None
    ) -> Dict[str, float]:
        """Frame mAP (writes a temporary csv and delegates to ``evaluate_ava``)."""
        import tempfile

        from ...metrics.dataset_evaluation import evaluate_ava

        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        if metrics != ["mAP"]:
            raise ConfigError(f"AVADataset.evaluate supports metrics=('mAP',) only, got {metrics}")
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = osp.join(tmp, "ava_results.csv")
            self.results2csv(results, csv_path)
            return evaluate_ava(csv_path, self.ann_file, self.exclude_file, self.label_file, custom_classes=self.custom_classes)


_META_KEYS = ("img_key", "video_id", "timestamp", "img_shape", "original_shape", "flip", "crop_quadruple", "scores")


class AVACollator:
    """Collate AVA samples (pipeline results) into detector inputs.

    Each sample is the results dict of an AVA pipeline ending in ``FormatShape('NCTHW', collapse=True)``
    (``imgs`` ``[C, T, H, W]``; ``img`` after mmaction2's ``Rename`` works too) with ``proposals``
    and, for training, ``gt_bboxes`` / ``gt_labels``. The batch has ``pixel_values`` ``(B, T, C, H, W)``,
    ``boxes`` (the proposals, one ``[k_i, 4]`` tensor per clip), ``gt_boxes`` / ``gt_labels`` when
    every sample has them, and ``img_metas`` (``img_key``, ``video_id``, ``timestamp``, ``img_shape``,
    ``flip``, ``crop_quadruple``, ``scores`` where present, merged with a sample's own ``img_metas``).
    Samples skipped by the transform are dropped; the batch counts them in ``num_skipped``.
    """

    def __call__(self, samples: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        import torch

        from ..collate import SKIP_KEY

        kept = [s for s in samples if s is not None and not s.get(SKIP_KEY)]
        if not kept:
            raise AnnotationError(f"every sample of a batch was skipped: {[s.get(SKIP_KEY) for s in samples if s]}")
        clips = []
        for index, sample in enumerate(kept):
            imgs = sample.get("imgs", sample.get("img"))
            if imgs is None:
                raise ConfigError(f"AVA sample {index} has no 'imgs' (keys: {sorted(sample)}); end the pipeline "
                                  "with FormatShape('NCTHW', collapse=True)")
            imgs = torch.as_tensor(np.asarray(imgs) if not isinstance(imgs, torch.Tensor) else imgs)
            if imgs.dim() != 4:
                raise ConfigError(f"AVA sample {index}: imgs has shape {tuple(imgs.shape)}; expected [C, T, H, W] "
                                  "(FormatShape('NCTHW', collapse=True))")
            clips.append(imgs.float())
        if any(c.shape != clips[0].shape for c in clips):
            raise ConfigError(f"the clips of a batch have different shapes {[tuple(c.shape) for c in clips]}; "
                              "crop or resize them to one size")

        def boxes(sample: Dict[str, Any], key: str, width: int) -> "torch.Tensor":
            value = sample.get(key)
            array = np.zeros((0, width), dtype=np.float32) if value is None else np.asarray(value, dtype=np.float32)
            return torch.from_numpy(array.reshape(-1, width) if array.size == 0 else array)

        batch: Dict[str, Any] = {"pixel_values": torch.stack(clips).transpose(1, 2).contiguous(),
                                 "boxes": [boxes(s, "proposals", 4)[:, :4] for s in kept]}
        if all(s.get("gt_bboxes") is not None and s.get("gt_labels") is not None for s in kept):
            batch["gt_boxes"] = [boxes(s, "gt_bboxes", 4) for s in kept]
            batch["gt_labels"] = [boxes(s, "gt_labels", np.asarray(s["gt_labels"]).shape[-1]) for s in kept]
        metas = []
        for sample in kept:
            meta = {k: sample[k] for k in _META_KEYS if k in sample}
            own = sample.get("img_metas")
            if isinstance(own, dict):
                meta.update(own)
            metas.append(meta)
        batch["img_metas"] = metas
        if len(kept) < len(samples):
            batch["num_skipped"] = len(samples) - len(kept)
        return batch

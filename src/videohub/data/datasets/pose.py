"""``PoseDataset``: skeleton annotations (mmaction2 ``PoseDataset``), read without running pickled code.

mmaction2 ships pose annotations as pickles: a list of samples (or ``{"split": {name: [ids]},
"annotations": [...]}``), each a dict with ``frame_dir`` (or ``filename``), ``label``,
``total_frames``, ``img_shape``, ``keypoint`` ``(M, T, V, C)`` and ``keypoint_score`` ``(M, T, V)``.
videohub reads them through an unpickler that can rebuild numpy arrays, numbers, strings and plain
containers, and nothing else (a crafted file cannot run code). :func:`convert_pose_annotations`
writes the same content once as ``.npz`` (arrays plus a JSON header, read with
``allow_pickle=False``), which :class:`PoseDataset` reads too.
"""

from __future__ import annotations

import io
import json
import os
import os.path as osp
import pickle
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...errors import AnnotationError, ConfigError
from .base import DATASETS, BaseDataset

_ALLOWED_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),  # arrays pickled with protocol 5
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # bytes pickled with protocol 2
    ("collections", "OrderedDict"),
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "tuple"),
}
NPZ_HEADER = "__videohub_pose__"
NPZ_VERSION = 1
BOX_THRESHOLDS = ("0.5", "0.6", "0.7", "0.8", "0.9")
_SHAPE_KEYS = ("img_shape", "original_shape")


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays, numbers, strings and plain containers, and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise AnnotationError(f"refusing to unpickle {module}.{name}: a pose annotation pickle may only hold "
                              "numpy arrays, numbers, strings, lists, tuples and dicts")


def read_pose_pickle(path: str) -> Any:
    """Load a pose annotation pickle with the arrays-only unpickler."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return _ArrayOnlyUnpickler(io.BytesIO(data)).load()
    except AnnotationError as err:
        raise AnnotationError(f"{path}: {err}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as err:
        raise AnnotationError(f"{path}: not a readable pose annotation pickle ({type(err).__name__}: {err})") from None


def _read_npz(path: str) -> Any:
    with np.load(path, allow_pickle=False) as data:
        if NPZ_HEADER not in data.files:
            raise AnnotationError(f"{path}: not a videohub pose annotation file (no {NPZ_HEADER!r} entry); "
                                  "write one with convert_pose_annotations")
        header = json.loads(str(data[NPZ_HEADER]))
        if header.get("version") != NPZ_VERSION:
            raise AnnotationError(f"{path}: pose annotation version {header.get('version')!r}, expected {NPZ_VERSION}")
        samples = []
        for index, (fields, arrays) in enumerate(zip(header["samples"], header["arrays"])):
            sample = dict(fields)
            for key in _SHAPE_KEYS:
                if isinstance(sample.get(key), list):
                    sample[key] = tuple(sample[key])
            sample.update({key: data[f"{index}.{key}"] for key in arrays})
            samples.append(sample)
    if header.get("split") is None:
        return samples
    return {"split": header["split"], "annotations": samples}


def read_pose_annotations(path: str) -> Any:
    """The content of a pose annotation file: ``.pkl`` (arrays-only unpickler) or videohub ``.npz``."""
    if not osp.isfile(path):
        raise AnnotationError(f"pose annotation file {path!r} not found")
    ext = osp.splitext(path)[1].lower()
    if ext in (".pkl", ".pickle"):
        return read_pose_pickle(path)
    if ext == ".npz":
        return _read_npz(path)
    raise ConfigError(f"pose annotation file {path!r}: unsupported extension {ext!r}; use .pkl or .npz")


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise AnnotationError(f"{where}: a {type(value).__name__} cannot be stored (only arrays, numbers, strings, "
                          "lists and dicts)")


def write_pose_annotations(content: Any, dst: str, source: str = "pose annotations") -> str:
    """Write pose annotations (a list of samples, or ``{"split": ..., "annotations": [...]}``) to ``dst``.

    ``.npz`` (read back with ``allow_pickle=False``): each sample's top-level arrays become entries,
    the other fields and the split lists a JSON header. ``.pkl``: mmaction2's own layout, a plain
    pickle of ``content`` (which :func:`read_pose_pickle` accepts only if it holds arrays, numbers,
    strings and containers). ``source`` names the content in error messages (default
    ``"pose annotations"``). Returns ``dst``.
    """
    ext = osp.splitext(dst)[1].lower()
    if ext not in (".npz", ".pkl", ".pickle"):
        raise ConfigError(f"pose annotations are written as .npz or .pkl, got {dst!r}")
    split, samples = _split_content(content, source)
    for index, sample in enumerate(samples):
        if not isinstance(sample, dict):
            raise AnnotationError(f"{source} sample {index}: expected a dict, got {type(sample).__name__}")
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    if ext != ".npz":
        with open(dst, "wb") as f:
            pickle.dump(content, f, protocol=pickle.HIGHEST_PROTOCOL)
        return dst
    header: Dict[str, Any] = {"version": NPZ_VERSION, "split": _jsonable(split, source), "samples": [], "arrays": []}
    arrays: Dict[str, np.ndarray] = {}
    for index, sample in enumerate(samples):
        names = sorted(k for k, v in sample.items() if isinstance(v, np.ndarray))
        arrays.update({f"{index}.{k}": sample[k] for k in names})
        header["samples"].append(_jsonable({k: v for k, v in sample.items() if k not in names}, f"{source} sample {index}"))
        header["arrays"].append(names)
    np.savez(dst, **{NPZ_HEADER: np.array(json.dumps(header))}, **arrays)
    return dst


def convert_pose_annotations(src: str, dst: str) -> str:
    """Write the pose annotations of ``src`` (``.pkl``) to ``dst`` (``.npz``, read with ``allow_pickle=False``).

    Each sample's top-level arrays become ``.npz`` entries; the other fields and the split lists go
    to a JSON header. Returns ``dst``.
    """
    if osp.splitext(dst)[1].lower() != ".npz":
        raise ConfigError(f"convert_pose_annotations writes .npz files, got {dst!r}")
    return write_pose_annotations(read_pose_annotations(src), dst, source=src)


def _split_content(content: Any, path: str) -> Tuple[Optional[Dict[str, List[str]]], List[Any]]:
    if isinstance(content, dict):
        if not {"split", "annotations"} <= set(content):
            raise AnnotationError(f"{path}: a dict of pose annotations needs 'split' and 'annotations', "
                                  f"got keys {sorted(content)}")
        return content["split"], list(content["annotations"])
    if isinstance(content, (list, tuple)):
        return None, list(content)
    raise AnnotationError(f"{path}: expected a list of samples (or split + annotations), got {type(content).__name__}")


def check_pose_sample(sample: Any) -> Dict[str, Any]:
    """Validate one annotation; raise ``ValueError`` with what is wrong (the caller adds where)."""
    if not isinstance(sample, dict):
        raise ValueError(f"expected a dict, got {type(sample).__name__}")
    if not isinstance(sample.get("frame_dir", sample.get("filename")), str):
        raise ValueError("needs a 'frame_dir' (or 'filename') string")
    total = sample.get("total_frames")
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 1:
        raise ValueError(f"'total_frames' must be a positive int, got {total!r}")
    label = sample.get("label")
    if label is not None and not (isinstance(label, (int, np.integer, list)) and not isinstance(label, bool)):
        raise ValueError(f"'label' must be an int (or a list of ints), got {label!r}")
    keypoint = sample.get("keypoint")
    if keypoint is None:
        return sample
    if not isinstance(keypoint, np.ndarray) or keypoint.ndim != 4 or keypoint.shape[-1] not in (2, 3):
        raise ValueError(f"'keypoint' must be an array (M, T, V, 2 or 3), got {getattr(keypoint, 'shape', keypoint)!r}")
    if keypoint.shape[1] < total:
        raise ValueError(f"'keypoint' has {keypoint.shape[1]} frames but total_frames is {total}")
    score = sample.get("keypoint_score")
    if score is not None and (not isinstance(score, np.ndarray) or score.shape != keypoint.shape[:-1]):
        raise ValueError(f"'keypoint_score' must be an array of shape {keypoint.shape[:-1]} (keypoint's without C), "
                         f"got {getattr(score, 'shape', score)!r}")
    return sample


@DATASETS.register()
class PoseDataset(BaseDataset):
    """Skeleton samples for ST-GCN, 2s-AGCN and PoseC3D (mmaction2 ``PoseDataset``; ``modality="Pose"``,
    ``start_index=0``).

    Args:
        ann_file: ``.pkl`` (read with an arrays-only unpickler) or ``.npz`` from :func:`convert_pose_annotations`.
        pipeline: Sequence of step dicts or callables.
        split: Use the samples listed under this name in the file's ``split`` dict. Default: None (all).
        valid_ratio: Keep samples whose ``valid_frames`` (``valid@<box_thr>`` with ``box_thr``) is at
            least this fraction of ``total_frames``. Default: None (keep all).
        box_thr: Person-box score threshold, one of ``"0.5"`` ... ``"0.9"``; above ``"0.5"`` each
            sample gets ``anno_inds``, the boxes scoring at least it. Default: None.
        class_prob: ``{label: probability}`` replacing the class sampling probabilities. Default: None.
        data_prefix: Directory prepended to ``frame_dir`` / ``filename``. Default: None.
        test_mode: Build a test/validation dataset. Default: False.
        multi_class: Several labels per sample. Default: False.
        num_classes: Number of classes (multi-class). Default: None.
        sample_by_class: Balance classes when sampling. Default: False.
        power: Class balancing power (with ``sample_by_class``). Default: None.
        on_error: ``"raise"`` or ``"skip"`` bad samples. Default: ``"raise"``.
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: Sequence[Union[Dict[str, Any], Callable]],
        split: Optional[str] = None,
        valid_ratio: Optional[float] = None,
        box_thr: Optional[str] = None,
        class_prob: Optional[Dict[int, float]] = None,
        data_prefix: Optional[str] = None,
        test_mode: bool = False,
        multi_class: bool = False,
        num_classes: Optional[int] = None,
        sample_by_class: bool = False,
        power: Optional[float] = None,
        *,
        on_error: str = "raise",
    ):
        if box_thr is not None and box_thr not in BOX_THRESHOLDS:
            raise ConfigError(f"PoseDataset: box_thr must be one of {BOX_THRESHOLDS}, got {box_thr!r}")
        if valid_ratio is not None and not isinstance(valid_ratio, float):
            raise ConfigError(f"PoseDataset: valid_ratio must be a float, got {valid_ratio!r}")
        self.split = split
        self.valid_ratio = valid_ratio
        self.box_thr = box_thr
        super().__init__(ann_file, pipeline, data_prefix=data_prefix, test_mode=test_mode, multi_class=multi_class,
                         num_classes=num_classes, start_index=0, modality="Pose", sample_by_class=sample_by_class,
                         power=power, on_error=on_error)
        if valid_ratio is not None:
            self._filter_valid()
            if not self.video_infos:
                raise AnnotationError(f"PoseDataset: no sample of {self.ann_file} has valid_ratio >= {valid_ratio}")
        if class_prob is not None:
            self.class_prob = class_prob

    def load_annotations(self) -> List[Dict[str, Any]]:
        split, samples = _split_content(read_pose_annotations(self.ann_file), self.ann_file)
        indices = list(range(len(samples)))
        if self.split is not None:
            if split is None or self.split not in split:
                known = sorted(split) if split else "none"
                raise AnnotationError(f"{self.ann_file}: no split {self.split!r} (splits: {known})")
            wanted = set(split[self.split])
            indices = [i for i in indices if isinstance(samples[i], dict)
                       and samples[i].get("filename", samples[i].get("frame_dir")) in wanted]
        infos, sources = [], []
        for index in indices:
            where = f"{self.ann_file} sample {index}"
            try:
                info = check_pose_sample(samples[index])
            except ValueError as err:
                if self.on_error == "raise":
                    raise AnnotationError(f"{where}: {err}") from None
                self.skipped_annotations.append((where, str(err)))
                continue
            for key in ("filename", "frame_dir"):
                if key in info:
                    info[key] = self._join(info[key])
            infos.append(info)
            sources.append(where)
        self._sources = sources
        return infos

    def _filter_valid(self) -> None:
        key = "valid_frames" if self.box_thr is None else f"valid@{self.box_thr}"
        missing = [s for s, info in zip(self._sources, self.video_infos) if key not in info]
        if missing:
            raise AnnotationError(f"{missing[0]}: valid_ratio needs {key!r} in every sample")
        keep = [i for i, info in enumerate(self.video_infos) if info[key] / info["total_frames"] >= self.valid_ratio]
        self._keep(keep)
        if self.box_thr is not None and self.box_thr != "0.5":
            threshold = float(self.box_thr)
            for info in self.video_infos:
                info["anno_inds"] = np.array([i for i, score in enumerate(info["box_score"]) if score >= threshold])

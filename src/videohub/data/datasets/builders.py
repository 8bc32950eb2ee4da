"""Hugging Face ``datasets`` builders, one per mmaction2 annotation format, and lazy decoding.

``load_dataset(format, ann_file, ...)`` parses the annotation file with the matching videohub
dataset class (same options, same errors), and stores one row of metadata per sample (paths,
labels, frame counts, boxes ...; no pixels) through a ``datasets.GeneratorBasedBuilder``. Decoding
happens lazily: ``ds.with_transform(make_transform(pipeline))`` runs a videohub pipeline on each
row when it is read.

Formats (``load_dataset`` also accepts the mmaction2 class names, e.g. ``"RawframeDataset"``):

=================  =========================  ==================================================
format             dataset class              annotation
=================  =========================  ==================================================
``video``          ``VideoDataset``           ``path label`` lines or ``.json``
``video_folder``   ``VideoDataset``           Kinetics layout ``root/<class>/<video>`` (ClassLabel)
``rawframe``       ``RawframeDataset``        ``frame_dir [offset] total_frames label`` lines
``image``          ``ImageDataset``           ``path label`` lines
``rawvideo``       ``RawVideoDataset``        ``video_dir label num_clips pos...`` lines
``audio``          ``AudioDataset``           ``path total_frames label`` lines
``audio_feature``  ``AudioFeatureDataset``    ``path total_frames label`` lines
``audio_visual``   ``AudioVisualDataset``     rawframe lines + ``audio_prefix``
``hvu``            ``HVUDataset``             ``.json`` with tag categories
``activitynet``    ``ActivityNetDataset``     ``.json`` database
``activitynet_feature`` ``ActivityNetDataset``  ``.json`` database + one feature CSV per video
``ava``            ``AVADataset``             csv + exclude csv + pbtxt + proposals
``ssn``            ``SSNDataset``             TAG proposal file (standard or normalized)
``pose``           ``PoseDataset``            skeleton ``.pkl`` (arrays-only unpickler) or ``.npz``
=================  =========================  ==================================================
"""

from __future__ import annotations

import abc
import copy
import hashlib
import os
import os.path as osp
import random
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Type, Union

import datasets
import numpy as np
import torch

from ...errors import ConfigError, VideohubError
from ...localization.ssn_utils import SSN_THUMOS_TEST_CFG, SSN_THUMOS_TRAIN_CFG
from ...utils.logging import get_logger
from ..pipelines.compose import Compose
from .activitynet import ActivityNetDataset, normalized_segments, read_feature_csv
from .ava import AVADataset
from .base import BaseDataset
from .pose import PoseDataset
from .recognition import (
    AudioDataset,
    AudioFeatureDataset,
    AudioVisualDataset,
    HVUDataset,
    ImageDataset,
    RawframeDataset,
    RawVideoDataset,
    VideoDataset,
    scan_class_folders,
)
from .ssn import SSNDataset, SSNInstance

logger = get_logger(__name__)

_BUILDER_VERSION = "1.0.0"
SKIP_KEY = "__skipped__"


@dataclass
class VideohubBuilderConfig(datasets.BuilderConfig):
    """Options of one annotation format.

    Args:
        ann_files: ``{split: annotation file}`` (a class-folder root for ``video_folder``).
        dataset_kwargs: Arguments of the videohub dataset class (``data_prefix``, ``multi_class``,
            ``num_classes``, ``with_offset``, ``filename_tmpl``, ``on_error`` ...). Default: {}.
    """

    ann_files: Dict[str, str] = field(default_factory=dict)
    dataset_kwargs: Dict[str, Any] = field(default_factory=dict)


def _string() -> datasets.Value:
    return datasets.Value("string")


def _int() -> datasets.Value:
    return datasets.Value("int64")


def _float() -> datasets.Value:
    return datasets.Value("float64")


class _VideohubBuilder(datasets.GeneratorBasedBuilder):
    """Shared machinery: build the videohub dataset per split, turn its samples into rows."""

    BUILDER_CONFIG_CLASS = VideohubBuilderConfig
    DATASET_CLASS: Type[BaseDataset] = BaseDataset
    #: dataset-level attributes copied into every row (results keys the pipeline expects)
    ROW_CONSTANTS: Tuple[str, ...] = ("modality", "start_index")
    #: options naming folders whose files are read when the dataset is built (part of the cache key)
    HASHED_OPTIONS: Tuple[str, ...] = ()

    def _kwargs(self) -> Dict[str, Any]:
        kwargs = dict(self.config.dataset_kwargs)
        kwargs.setdefault("pipeline", [])
        return kwargs

    def _label_feature(self) -> Any:
        kw = self.config.dataset_kwargs
        return datasets.List(_int()) if kw.get("multi_class") else _int()

    def _common(self) -> Dict[str, Any]:
        feats: Dict[str, Any] = {"modality": _string(), "start_index": _int(), "ann_source": _string()}
        if self.config.dataset_kwargs.get("multi_class"):
            feats["num_classes"] = _int()
        return feats

    @abc.abstractmethod
    def _features(self) -> Dict[str, Any]:
        """The ``datasets`` feature of each column of this format."""

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=f"videohub {self.DATASET_CLASS.__name__} metadata (decode lazily with make_transform)",
            features=datasets.Features(self._features()),
        )

    def download_and_prepare(self, *args: Any, **kwargs: Any) -> None:
        """``datasets``' ``download_and_prepare``, except that a videohub error raised while the
        annotation file is parsed reaches the caller as itself (its message names the file and
        line) instead of a generic ``DatasetGenerationError`` that only chains it."""
        try:
            super().download_and_prepare(*args, **kwargs)
        except datasets.exceptions.DatasetGenerationError as err:
            if isinstance(err.__cause__, VideohubError):
                raise err.__cause__ from None
            raise

    def _split_generators(self, dl_manager: Any) -> List[datasets.SplitGenerator]:
        if not self.config.ann_files:
            raise ConfigError(f"{type(self).__name__}: no annotation file given")
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"ann_file": path})
            for split, path in self.config.ann_files.items()
        ]

    def make_dataset(self, ann_file: str) -> BaseDataset:
        """The videohub dataset that parses ``ann_file`` with this config's options."""
        return self.DATASET_CLASS(ann_file=ann_file, **self._kwargs())

    def row(self, ds: BaseDataset, idx: int) -> Dict[str, Any]:
        """Row of sample ``idx``: its ``video_infos`` entry plus the dataset constants."""
        row = dict(ds.video_infos[idx])
        for name in self.ROW_CONSTANTS:
            row[name] = getattr(ds, name)
        if ds.multi_class:
            row["num_classes"] = ds.num_classes
        row["ann_source"] = ds._sources[idx]
        return row

    def _generate_examples(self, ann_file: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
        ds = self.make_dataset(ann_file)
        if ds.skipped_annotations:
            logger.warning("%s: %d annotation line(s) skipped:\n%s", ann_file, len(ds.skipped_annotations), ds.skip_report())
        names = set(self.info.features)
        for idx in range(len(ds)):
            row = _plain(self.row(ds, idx))
            yield idx, {name: row.get(name) for name in names}


def _plain(value: Any) -> Any:
    """numpy/torch values and SSN instances as plain python (lists, dicts, numbers)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, SSNInstance):
        return {
            "start_frame": int(value.start_frame),
            "end_frame": int(value.end_frame),
            "num_video_frames": int(value.num_video_frames),
            "label": int(value.label),
            "best_iou": float(value.best_iou),
            "overlap_self": float(value.overlap_self),
        }
    return value


class VideoBuilder(_VideohubBuilder):
    """``path label`` video lists (``VideoDataset``)."""

    DATASET_CLASS = VideoDataset

    def _features(self) -> Dict[str, Any]:
        return {"filename": _string(), "label": self._label_feature(), **self._common()}


class VideoFolderBuilder(VideoBuilder):
    """Kinetics-style ``root/<class>/<video>`` trees; ``label`` is a ``ClassLabel`` of the folder names."""

    def _label_feature(self) -> Any:
        roots = list(self.config.ann_files.values())
        classes = scan_class_folders(roots[0])[0] if roots else []
        for root in roots[1:]:
            other = scan_class_folders(root)[0]
            if other != classes:
                raise ConfigError(f"class folders of {root!r} ({other}) differ from those of {roots[0]!r} ({classes})")
        return datasets.ClassLabel(names=classes)


class ImageBuilder(VideoBuilder):
    """``path label`` image lists (``ImageDataset``)."""

    DATASET_CLASS = ImageDataset


class RawframeBuilder(_VideohubBuilder):
    """Extracted-frame folders (``RawframeDataset``)."""

    DATASET_CLASS = RawframeDataset
    ROW_CONSTANTS = ("modality", "start_index", "filename_tmpl")

    def _features(self) -> Dict[str, Any]:
        feats = {"frame_dir": _string(), "total_frames": _int(), "label": self._label_feature()}
        if self.config.dataset_kwargs.get("with_offset"):
            feats["offset"] = _int()
        return {**feats, "filename_tmpl": _string(), **self._common()}


class RawVideoBuilder(_VideohubBuilder):
    """OmniSource raw videos (``RawVideoDataset``); the clip is sampled in the transform."""

    DATASET_CLASS = RawVideoDataset
    ROW_CONSTANTS = ("modality", "start_index", "clipname_tmpl", "sampling_strategy")

    def _features(self) -> Dict[str, Any]:
        return {
            "video_dir": _string(),
            "label": _int(),
            "num_clips": _int(),
            "positive_clip_inds": datasets.List(_int()),
            "clipname_tmpl": _string(),
            "sampling_strategy": _string(),
            **self._common(),
        }


class AudioBuilder(_VideohubBuilder):
    """Audio files (``AudioDataset``)."""

    DATASET_CLASS = AudioDataset

    def _features(self) -> Dict[str, Any]:
        return {"audio_path": _string(), "total_frames": _int(), "label": self._label_feature(), **self._common()}


class AudioFeatureBuilder(AudioBuilder):
    """Offline audio features (``AudioFeatureDataset``)."""

    DATASET_CLASS = AudioFeatureDataset


class AudioVisualBuilder(RawframeBuilder):
    """Frames plus audio features (``AudioVisualDataset``)."""

    DATASET_CLASS = AudioVisualDataset

    def _features(self) -> Dict[str, Any]:
        feats = {"audio_path": _string(), **super()._features()}
        if self.config.dataset_kwargs.get("video_prefix"):
            feats["filename"] = _string()
        return feats


class HVUBuilder(_VideohubBuilder):
    """HVU tag categories (``HVUDataset``); ``label`` maps category -> tags (None where absent)."""

    DATASET_CLASS = HVUDataset

    def _features(self) -> Dict[str, Any]:
        kw = self.config.dataset_kwargs
        categories = kw.get("tag_categories") or []
        feats: Dict[str, Any] = {
            "label": {c: datasets.List(_int()) for c in categories},
            "categories": datasets.List(_string()),
            "category_nums": datasets.List(_int()),
            **self._common(),
        }
        if kw.get("filename_tmpl") is None:
            feats["filename"] = _string()
        else:
            feats.update(frame_dir=_string(), total_frames=_int(), filename_tmpl=_string())
        return feats


class ActivityNetBuilder(_VideohubBuilder):
    """ActivityNet JSON databases (``ActivityNetDataset``)."""

    DATASET_CLASS = ActivityNetDataset

    def _features(self) -> Dict[str, Any]:
        return {
            "video_name": _string(),
            "duration_second": _float(),
            "duration_frame": _int(),
            "feature_frame": _int(),
            "fps": _float(),
            "rfps": _float(),
            "annotations": datasets.List({"segment": datasets.List(_float()), "label": _string()}),
            "data_prefix": _string(),
            "ann_source": _string(),
        }

    def row(self, ds: BaseDataset, idx: int) -> Dict[str, Any]:
        row = ds.get_results(idx)
        row["ann_source"] = ds._sources[idx]
        return row


class ActivityNetFeatureBuilder(ActivityNetBuilder):
    """ActivityNet JSON databases with each video's features (``<data_prefix>/<video_name>.csv``,
    mmaction2's layout: a header, one row of ``feat_dim`` numbers per snippet) read into the rows.

    Rows add ``raw_feature`` ``[feat_dim, temporal_dim]`` float32 and ``gt_bbox`` (segments as
    fractions of the featured duration). Builder options besides the dataset's: ``temporal_dim``
    and ``feat_dim`` (checked when given). A missing or malformed feature file raises an
    ``AnnotationError`` naming the file (and line), or with ``on_error="skip"`` the video is left
    out, logged, and counted in the warning.
    """

    HASHED_OPTIONS = ("data_prefix",)
    _OWN_OPTIONS = ("temporal_dim", "feat_dim")

    def _kwargs(self) -> Dict[str, Any]:
        kwargs = super()._kwargs()
        for name in self._OWN_OPTIONS:
            kwargs.pop(name, None)
        if not kwargs.get("data_prefix"):
            raise ConfigError("activitynet_feature needs data_prefix: the folder of the <video_name>.csv features")
        return kwargs

    def _features(self) -> Dict[str, Any]:
        return {**super()._features(),
                "raw_feature": datasets.List(datasets.List(datasets.Value("float32"))),
                "gt_bbox": datasets.List(datasets.List(_float()))}

    def row(self, ds: BaseDataset, idx: int) -> Dict[str, Any]:
        row = super().row(ds, idx)
        options = self.config.dataset_kwargs
        path = osp.join(row["data_prefix"], row["video_name"] + ".csv")
        row["raw_feature"] = read_feature_csv(path, options.get("temporal_dim"), options.get("feat_dim"))
        row["gt_bbox"] = normalized_segments(row)
        return row

    def _generate_examples(self, ann_file: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
        ds = self.make_dataset(ann_file)
        names = set(self.info.features)
        skipped: List[str] = []
        for idx in range(len(ds)):
            try:
                row = _plain(self.row(ds, idx))
            except VideohubError as err:
                if self.config.dataset_kwargs.get("on_error", "raise") != "skip":
                    raise
                ds.skipped_annotations.append((ds._sources[idx], str(err)))
                skipped.append(str(err))
                continue
            yield idx, {name: row.get(name) for name in names}
        if ds.skipped_annotations:
            logger.warning("%s: %d video(s) skipped (%d for their feature file):\n%s", ann_file,
                           len(ds.skipped_annotations), len(skipped), ds.skip_report())


class AVABuilder(_VideohubBuilder):
    """AVA key frames with boxes and (score-filtered) proposals (``AVADataset``)."""

    DATASET_CLASS = AVADataset

    def _features(self) -> Dict[str, Any]:
        box_list = datasets.List(datasets.List(datasets.Value("float32")))
        return {
            "frame_dir": _string(),
            "video_id": _string(),
            "timestamp": _int(),
            "img_key": _string(),
            "shot_info": datasets.List(_int()),
            "fps": _int(),
            "filename_tmpl": _string(),
            "timestamp_start": _int(),
            "timestamp_end": _int(),
            "gt_bboxes": box_list,
            "gt_labels": box_list,
            "entity_ids": datasets.List(_int()),
            "proposals": box_list,
            "scores": datasets.List(datasets.Value("float32")),
            **self._common(),
        }

    def make_dataset(self, ann_file: str) -> BaseDataset:
        kwargs = self._kwargs()
        if "exclude_file" not in kwargs:
            kwargs["exclude_file"] = None
        return AVADataset(ann_file=ann_file, **kwargs)

    def row(self, ds: BaseDataset, idx: int) -> Dict[str, Any]:
        row = ds.get_results(idx)
        row["ann_source"] = ds._sources[idx]
        return row


class SSNBuilder(_VideohubBuilder):
    """SSN proposal files (``SSNDataset``): ground truths and proposals per video.

    Proposal sampling for training draws from pools of the whole dataset, so training uses
    ``SSNDataset`` itself; these rows serve inspection and testing pipelines.
    """

    DATASET_CLASS = SSNDataset
    ROW_CONSTANTS = ("modality", "start_index", "filename_tmpl")

    def _kwargs(self) -> Dict[str, Any]:
        """The dataset options; ``train_cfg`` / ``test_cfg`` default to the THUMOS'14 configs'."""
        kwargs = super()._kwargs()
        kwargs.setdefault("train_cfg", copy.deepcopy(SSN_THUMOS_TRAIN_CFG))
        kwargs.setdefault("test_cfg", copy.deepcopy(SSN_THUMOS_TEST_CFG))
        return kwargs

    def _features(self) -> Dict[str, Any]:
        instance = {
            "start_frame": _int(),
            "end_frame": _int(),
            "num_video_frames": _int(),
            "label": _int(),
            "best_iou": _float(),
            "overlap_self": _float(),
        }
        return {
            "frame_dir": _string(),
            "video_id": _string(),
            "total_frames": _int(),
            "gts": datasets.List(instance),
            "proposals": datasets.List(instance),
            "filename_tmpl": _string(),
            **self._common(),
        }


class PoseBuilder(_VideohubBuilder):
    """Skeleton samples (``PoseDataset``): keypoints ``(M, T, V, C)`` and scores ``(M, T, V)`` as float32 lists.

    ``load_dataset``'s ``split`` names the ``datasets`` split, so the annotation file's own split
    (``PoseDataset(split=...)``, e.g. ``"xsub_train"``) is passed as ``pose_split``.
    """

    DATASET_CLASS = PoseDataset

    def make_dataset(self, ann_file: str) -> BaseDataset:
        kwargs = self._kwargs()
        if "pose_split" in kwargs:
            kwargs["split"] = kwargs.pop("pose_split")
        return PoseDataset(ann_file=ann_file, **kwargs)

    def _features(self) -> Dict[str, Any]:
        nested = datasets.Value("float32")
        for _ in range(3):
            nested = datasets.List(nested)
        return {
            "frame_dir": _string(),
            "label": self._label_feature(),
            "total_frames": _int(),
            "img_shape": datasets.List(_int()),
            "original_shape": datasets.List(_int()),
            "keypoint": datasets.List(nested),
            "keypoint_score": nested,
            **self._common(),
        }


BUILDERS: Dict[str, Type[_VideohubBuilder]] = {
    "video": VideoBuilder,
    "video_folder": VideoFolderBuilder,
    "rawframe": RawframeBuilder,
    "image": ImageBuilder,
    "rawvideo": RawVideoBuilder,
    "audio": AudioBuilder,
    "audio_feature": AudioFeatureBuilder,
    "audio_visual": AudioVisualBuilder,
    "hvu": HVUBuilder,
    "activitynet": ActivityNetBuilder,
    "activitynet_feature": ActivityNetFeatureBuilder,
    "ava": AVABuilder,
    "ssn": SSNBuilder,
    "pose": PoseBuilder,
}

_CLASS_ALIASES = {
    "VideoDataset": "video",
    "RawframeDataset": "rawframe",
    "ImageDataset": "image",
    "RawVideoDataset": "rawvideo",
    "AudioDataset": "audio",
    "AudioFeatureDataset": "audio_feature",
    "AudioVisualDataset": "audio_visual",
    "HVUDataset": "hvu",
    "ActivityNetDataset": "activitynet",
    "AVADataset": "ava",
    "SSNDataset": "ssn",
    "PoseDataset": "pose",
}


def _fingerprint(ann_files: Sequence[str], option_values: Sequence[Any]) -> str:
    """Hash of the annotation files' identity (path, size, mtime; a class-folder root by its file
    listing) and of any option that names an existing file (exclude, label and proposal files).
    Folders named by options (``data_prefix``) are not listed: their videos are read lazily."""
    h = hashlib.sha256(_BUILDER_VERSION.encode())

    def add_file(path: str) -> None:
        st = os.stat(path)
        h.update(f"{osp.realpath(path)}|{st.st_size}|{st.st_mtime_ns}".encode())

    for path in ann_files:
        if osp.isfile(path):
            add_file(path)
        elif osp.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    add_file(osp.join(root, name))
    for value in option_values:
        if isinstance(value, str) and osp.isfile(value):
            add_file(value)
    return h.hexdigest()[:16]


def load_dataset(
    format: str,
    ann_file: Optional[Union[str, "os.PathLike[str]"]] = None,
    *,
    split: str = "train",
    ann_files: Optional[Dict[str, str]] = None,
    cache_dir: Optional[str] = None,
    **dataset_kwargs: Any,
) -> Union[datasets.Dataset, datasets.DatasetDict]:
    """Parse an annotation file of ``format`` into a metadata ``datasets.Dataset``.

    Args:
        format: One of :data:`BUILDERS` (or an mmaction2 dataset class name).
        ann_file: The annotation file (or class-folder root); becomes split ``split``.
        split: Split name for ``ann_file``. Default: ``"train"``.
        ann_files: ``{split: file}`` for several splits at once (returns a ``DatasetDict``).
            Default: None.
        cache_dir: Where ``datasets`` stores the Arrow files. Default: the ``datasets`` cache.
        **dataset_kwargs: Options of the dataset class (``data_prefix``, ``multi_class``,
            ``num_classes``, ``with_offset``, ``filename_tmpl``, ``modality``, ``on_error``, ...).

    Returns:
        A ``datasets.Dataset`` (one file) or ``DatasetDict`` (``ann_files``) of metadata rows.

    Raises:
        AnnotationError: A malformed, non-UTF-8 or empty annotation file, with the dataset class's
            own message (``"<file> line N: ..."``), not wrapped in a ``datasets`` error. With
            ``on_error="skip"`` the skipped lines are logged as a warning with their count.
    """
    name = _CLASS_ALIASES.get(format, format)
    if name not in BUILDERS:
        raise ConfigError(f"unknown dataset format {format!r}; known formats: {sorted(BUILDERS)}")
    if (ann_file is None) == (ann_files is None):
        raise ConfigError("load_dataset needs exactly one of ann_file and ann_files")
    files = {split: os.fspath(ann_file)} if ann_file is not None else {k: os.fspath(v) for k, v in ann_files.items()}
    if "pipeline" in dataset_kwargs:
        raise ConfigError("load_dataset stores metadata only; pass the pipeline to make_transform() instead")
    builder_cls = BUILDERS[name]
    builder = builder_cls(
        cache_dir=cache_dir,
        dataset_name=f"videohub_{name}",
        config_name=name,
        hash=_fingerprint(list(files.values()) + [dataset_kwargs[k] for k in builder_cls.HASHED_OPTIONS
                                                  if isinstance(dataset_kwargs.get(k), str)],
                          list(dataset_kwargs.values())),
        ann_files=files,
        dataset_kwargs=dataset_kwargs,
    )
    builder.download_and_prepare()
    if ann_file is not None:
        return builder.as_dataset(split=split)
    return builder.as_dataset()


# ----------------------------------------------------------------------------- lazy decoding
_ARRAY_KEYS = {
    "gt_bboxes": np.float32,
    "gt_labels": np.float32,
    "proposals": np.float32,
    "scores": np.float32,
    "entity_ids": np.int64,
}


def sample_raw_video_clip(results: Dict[str, Any], rng: Any = random) -> Dict[str, Any]:
    """``RawVideoDataset.sample_clip`` for a metadata row (python ``random`` by default)."""
    if results["sampling_strategy"] == "positive":
        ind = rng.choice(results["positive_clip_inds"])
    else:
        ind = rng.randint(0, results["num_clips"] - 1)
    tmpl = results["clipname_tmpl"]
    name = tmpl.format(ind)
    results["filename"] = osp.join(results["video_dir"], name) if tmpl[0].isalpha() else results["video_dir"] + name
    return results


def row_to_results(row: Dict[str, Any]) -> Dict[str, Any]:
    """Turn a metadata row back into the results dict a pipeline expects (as the dataset classes do)."""
    results = dict(row)
    is_ssn = isinstance(results.get("gts"), list)
    if is_ssn:
        results["gts"] = [_instance(x) for x in results["gts"]]
        results["proposals"] = [_instance(x) for x in results.get("proposals") or []]
    for key, dtype in _ARRAY_KEYS.items():
        if is_ssn and key == "proposals":
            continue
        if results.get(key) is not None:
            arr = np.asarray(results[key], dtype=dtype)
            if key in ("gt_bboxes", "proposals") and arr.size == 0:
                arr = arr.reshape(0, 4)
            results[key] = arr
        elif key in results:
            del results[key]
    if results.get("shot_info") is not None:
        results["shot_info"] = tuple(results["shot_info"])
    label = results.get("label")
    if isinstance(label, list) and results.get("num_classes") is not None:
        onehot = torch.zeros(int(results["num_classes"]))
        onehot[label] = 1.0
        results["label"] = onehot
    elif isinstance(label, dict):
        results["label"] = {k: v for k, v in label.items() if v is not None}
    if "video_dir" in results and "clipname_tmpl" in results:
        sample_raw_video_clip(results)
    return results


def _instance(d: Dict[str, Any]) -> SSNInstance:
    return SSNInstance(d["start_frame"], d["end_frame"], d["num_video_frames"], d["label"], d["best_iou"], d["overlap_self"])


class PipelineTransform:
    """Batch transform for ``datasets.Dataset.with_transform``: runs a videohub pipeline per row.

    Args:
        pipeline: Pipeline step dicts/callables or a built ``Compose``.
        on_error: ``"raise"``: a failing row raises its videohub error (naming the file);
            ``"skip"``: the row comes back as ``{"__skipped__": message}`` (other columns None),
            which :func:`videohub.data.collate` drops and counts; ``transform.skipped`` lists them.
            Default: ``"raise"``.
    """

    def __init__(self, pipeline: Union[Compose, Sequence[Any]], on_error: str = "raise"):
        if on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.pipeline = pipeline if isinstance(pipeline, Compose) else Compose(pipeline)
        self.on_error = on_error
        self.skipped: List[str] = []

    def _one(self, row: Dict[str, Any]) -> Dict[str, Any]:
        try:
            out = self.pipeline(row_to_results(row))
        except VideohubError as err:
            where = row.get("ann_source")
            message = f"{where}: {err}" if where else str(err)
            if self.on_error == "raise":
                raise type(err)(message) from err
            logger.warning("skipping sample: %s", message)
            self.skipped.append(message)
            return {SKIP_KEY: message}
        if out is None:
            return {SKIP_KEY: f"{row.get('ann_source')}: the pipeline returned None"}
        return out

    def __call__(self, batch: Dict[str, List[Any]]) -> Dict[str, List[Any]]:
        keys = list(batch)
        n = len(batch[keys[0]]) if keys else 0
        outputs = [self._one({k: batch[k][i] for k in keys}) for i in range(n)]
        columns: List[str] = []
        for out in outputs:
            for key in out:
                if key not in columns:
                    columns.append(key)
        return {key: [out.get(key) for out in outputs] for key in columns}


def make_transform(pipeline: Union[Compose, Sequence[Any]], on_error: str = "raise") -> PipelineTransform:
    """A ``with_transform`` callable that decodes rows lazily with ``pipeline`` (see :class:`PipelineTransform`)."""
    return PipelineTransform(pipeline, on_error=on_error)

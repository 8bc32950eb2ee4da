"""Recognition datasets: videos, extracted frames, images, OmniSource raw videos, audio, HVU."""

from __future__ import annotations

import os
import os.path as osp
import random
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from ...errors import AnnotationError, ConfigError
from .base import (
    DATASETS,
    BadLine,
    BaseDataset,
    describe,
    json_int,
    json_list,
    json_object,
    json_str,
    parse_int,
    parse_labels,
)

#: File extensions recognized as videos in the folder-per-class layout.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv")

PipelineLike = Sequence[Union[Dict[str, Any], Callable]]


def scan_class_folders(root: str, extensions: Sequence[str] = VIDEO_EXTENSIONS):
    """List a Kinetics-style tree ``root/<class name>/<file>``.

    Returns ``(classes, samples)``: class names sorted alphabetically (label = position) and
    ``(path, label)`` pairs sorted by class then file name. Raises :class:`AnnotationError` when
    ``root`` holds no class folder or no file with one of ``extensions``.
    """
    if not osp.isdir(root):
        raise AnnotationError(f"class-folder root {root!r} not found")
    classes = sorted(d for d in os.listdir(root) if osp.isdir(osp.join(root, d)) and not d.startswith("."))
    if not classes:
        raise AnnotationError(f"{root!r} has no class sub-folders (expected root/<class>/<video>)")
    exts = tuple(e.lower() for e in extensions)
    samples = []
    for label, name in enumerate(classes):
        folder = osp.join(root, name)
        for fname in sorted(os.listdir(folder)):
            if fname.lower().endswith(exts) and osp.isfile(osp.join(folder, fname)):
                samples.append((osp.join(folder, fname), label))
    if not samples:
        raise AnnotationError(f"{root!r}: no files with extensions {list(exts)} under its class folders")
    return classes, samples


@DATASETS.register()
class VideoDataset(BaseDataset):
    """Video dataset for action recognition: one ``path label`` line per video.

    ``ann_file`` may also be a directory laid out Kinetics-style (``root/<class>/<video>``): the
    classes are its sub-folders in alphabetical order (``dataset.classes``), labels their positions.
    A ``.json`` ``ann_file`` is read with :meth:`load_json_annotations`.

    Args:
        ann_file: Annotation file (``path label`` per line; ``path l1 l2 ...`` if multi-class),
            ``.json`` list, or class-folder root.
        pipeline: Pipeline steps.
        start_index: Index of the first frame; 0 for videos. Default: 0.
        **kwargs: ``BaseDataset`` arguments (data_prefix, test_mode, multi_class, num_classes,
            modality, sample_by_class, power, on_error).
    """

    def __init__(self, ann_file: str, pipeline: PipelineLike, start_index: int = 0, **kwargs: Any):
        self.classes: Optional[List[str]] = None
        super().__init__(ann_file, pipeline, start_index=start_index, **kwargs)

    def load_annotations(self) -> List[Dict[str, Any]]:
        """Load annotation file (or class folders) to get video information."""
        if osp.isdir(self.ann_file):
            self.classes, samples = scan_class_folders(self.ann_file)
            self._sources = [f"{path} (class folder)" for path, _ in samples]
            return [dict(filename=path, label=label) for path, label in samples]
        if self.ann_file.endswith(".json"):
            return self.load_json_annotations()
        src = self._source()
        video_infos = []
        self._sources = []
        for number, fields, line in src.lines():
            try:
                if self.multi_class:
                    if len(fields) < 2:
                        raise BadLine(f"expected 'path label [label ...]', got {len(fields)} field(s): {line!r}")
                elif len(fields) != 2:
                    raise BadLine(f"expected 2 fields 'path label', got {len(fields)}: {line!r}")
                label = parse_labels(fields[1:], self.multi_class, self.num_classes, line)
            except BadLine as err:
                src.error(number, str(err))
                continue
            video_infos.append(dict(filename=self._join(fields[0]), label=label))
            self._sources.append(src.where(number))
        return video_infos


@DATASETS.register()
class ImageDataset(VideoDataset):
    """Image dataset (OmniSource): ``path label`` lines naming images; ``start_index`` is None.

    Args:
        ann_file: Annotation file.
        pipeline: Pipeline steps (typically ``ImageDecode`` + ``BuildPseudoClip``).
        **kwargs: ``BaseDataset`` arguments.
    """

    def __init__(self, ann_file: str, pipeline: PipelineLike, **kwargs: Any):
        super().__init__(ann_file, pipeline, start_index=None, **kwargs)


@DATASETS.register()
class RawframeDataset(BaseDataset):
    """Dataset of extracted frames: ``frame_dir [offset] total_frames label [label ...]`` per line.

    Args:
        ann_file: Annotation file (or ``.json`` list).
        pipeline: Pipeline steps.
        data_prefix: Directory the frame folders are relative to. Default: None.
        test_mode: Build a test dataset. Default: False.
        filename_tmpl: Frame file name template. Default: ``'img_{:05}.jpg'``.
        with_offset: Lines carry a start-frame offset before ``total_frames``. Default: False.
        multi_class: Several labels per line. Default: False.
        num_classes: Number of classes. Default: None.
        start_index: Index of the first frame file. Default: 1.
        modality: ``'RGB'`` or ``'Flow'``. Default: ``'RGB'``.
        sample_by_class: Class-balanced sampling. Default: False.
        power: Class-frequency power for sampling. Default: None.
        on_error: ``'raise'`` or ``'skip'``. Default: ``'raise'``.
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: PipelineLike,
        data_prefix: Optional[str] = None,
        test_mode: bool = False,
        filename_tmpl: str = "img_{:05}.jpg",
        with_offset: bool = False,
        multi_class: bool = False,
        num_classes: Optional[int] = None,
        start_index: int = 1,
        modality: str = "RGB",
        sample_by_class: bool = False,
        power: Optional[float] = None,
        *,
        on_error: str = "raise",
    ):
        self.filename_tmpl = filename_tmpl
        self.with_offset = with_offset
        super().__init__(
            ann_file,
            pipeline,
            data_prefix,
            test_mode,
            multi_class,
            num_classes,
            start_index,
            modality,
            sample_by_class,
            power,
            on_error=on_error,
        )

    def _parse_frame_line(self, fields: List[str], line: str) -> Dict[str, Any]:
        head = 3 if self.with_offset else 2
        layout = "'frame_dir offset total_frames label'" if self.with_offset else "'frame_dir total_frames label'"
        if (self.multi_class and len(fields) < head + 1) or (not self.multi_class and len(fields) != head + 1):
            expected = f"at least {head + 1}" if self.multi_class else f"{head + 1}"
            raise BadLine(f"expected {expected} fields {layout}, got {len(fields)}: {line!r}")
        info: Dict[str, Any] = {"frame_dir": self._join(fields[0])}
        idx = 1
        if self.with_offset:
            info["offset"] = parse_int(fields[1], "offset")
            idx = 2
        info["total_frames"] = parse_int(fields[idx], "total_frames")
        if info["total_frames"] <= 0:
            raise BadLine(f"total_frames must be positive, got {info['total_frames']}")
        info["label"] = parse_labels(fields[idx + 1 :], self.multi_class, self.num_classes, line)
        return info

    def load_annotations(self) -> List[Dict[str, Any]]:
        """Load annotation file to get frame-folder information."""
        if self.ann_file.endswith(".json"):
            return self.load_json_annotations()
        src = self._source()
        video_infos = []
        self._sources = []
        for number, fields, line in src.lines():
            try:
                info = self._parse_frame_line(fields, line)
            except BadLine as err:
                src.error(number, str(err))
                continue
            video_infos.append(info)
            self._sources.append(src.where(number))
        return video_infos

    def get_results(self, idx: int) -> Dict[str, Any]:
        """Results for sample ``idx``, with ``filename_tmpl`` added."""
        results = super().get_results(idx)
        results["filename_tmpl"] = self.filename_tmpl
        return results


@DATASETS.register()
class RawVideoDataset(BaseDataset):
    """OmniSource raw videos cut into clips: ``video_dir label num_clips pos_ind [pos_ind ...]``.

    Each item picks one clip (``clipname_tmpl.format(i)`` inside ``video_dir``): a random positive
    clip (``'positive'``) or any clip (``'random'``), with python's ``random`` like mmaction2.

    Args:
        ann_file: Annotation file (or ``.json`` list).
        pipeline: Pipeline steps.
        clipname_tmpl: Clip file name template. Default: ``'part_{}.mp4'``.
        sampling_strategy: ``'positive'`` or ``'random'``. Default: ``'positive'``.
        **kwargs: ``BaseDataset`` arguments (multi_class must stay False).
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: PipelineLike,
        clipname_tmpl: str = "part_{}.mp4",
        sampling_strategy: str = "positive",
        **kwargs: Any,
    ):
        if kwargs.get("multi_class"):
            raise ConfigError("RawVideoDataset: multi_class must be False")
        if sampling_strategy not in ("positive", "random"):
            raise ConfigError(f"RawVideoDataset: sampling_strategy must be 'positive' or 'random', got {sampling_strategy!r}")
        self.clipname_tmpl = clipname_tmpl
        self.sampling_strategy = sampling_strategy
        super().__init__(ann_file, pipeline, start_index=0, **kwargs)
        if self.sampling_strategy == "positive":
            self._keep([i for i, x in enumerate(self.video_infos) if len(x["positive_clip_inds"])])

    def load_annotations(self) -> List[Dict[str, Any]]:
        """Load annotation file to get raw-video information."""
        if self.ann_file.endswith(".json"):
            return self.load_json_annotations()
        src = self._source()
        video_infos = []
        self._sources = []
        for number, fields, line in src.lines():
            try:
                if len(fields) < 3:
                    raise BadLine(f"expected 'video_dir label num_clips [positive_clip ...]', got {len(fields)} field(s): {line!r}")
                label = parse_labels(fields[1:2], False, self.num_classes, line)
                num_clips = parse_int(fields[2], "num_clips")
                positive = [parse_int(x, "positive clip index") for x in fields[3:]]
                bad = [p for p in positive if not 0 <= p < num_clips]
                if bad:
                    raise BadLine(f"positive clip indices {bad} out of range [0, {num_clips - 1}]")
            except BadLine as err:
                src.error(number, str(err))
                continue
            video_infos.append(
                dict(video_dir=self._join(fields[0]), label=label, num_clips=num_clips, positive_clip_inds=positive)
            )
            self._sources.append(src.where(number))
        return video_infos

    def load_json_annotations(self) -> List[Dict[str, Any]]:
        """Load a JSON list of ``{video_dir, label, num_clips, positive_clip_inds}`` (``label`` an
        integer or a one-element array, as mmaction2 writes it)."""
        src = self._source()
        infos = []
        self._sources = []
        for where, _, info in src.json_entries(list):
            try:
                info = dict(json_object(info, "a sample"))
                missing = [k for k in ("video_dir", "label", "num_clips", "positive_clip_inds") if k not in info]
                if missing:
                    raise BadLine(f"missing keys {missing}")
                info["video_dir"] = self._join(json_str(info["video_dir"], "'video_dir'"))
                label = info["label"]
                labels = label if isinstance(label, list) else [label]
                if not all(isinstance(x, int) and not isinstance(x, bool) for x in labels):
                    raise BadLine(f"'label' must be an integer or a one-element array, got {describe(label)}")
                info["label"] = parse_labels([str(x) for x in labels], False, self.num_classes, str(label))
                num_clips = json_int(info["num_clips"], "'num_clips'", 1)
                positive = json_list(info["positive_clip_inds"], "'positive_clip_inds'")
                for p in positive:
                    json_int(p, "a positive clip index")
                bad = [p for p in positive if not 0 <= p < num_clips]
                if bad:
                    raise BadLine(f"positive clip indices {bad} out of range [0, {num_clips - 1}]")
            except BadLine as err:
                src.error(where, str(err))
                continue
            infos.append(info)
            self._sources.append(src.where(where))
        return infos

    def sample_clip(self, results: Dict[str, Any]) -> Dict[str, Any]:
        """Pick a clip of the raw video by ``sampling_strategy`` and set ``results['filename']``."""
        if self.sampling_strategy == "positive":
            ind = random.choice(results["positive_clip_inds"])
        else:
            ind = random.randint(0, results["num_clips"] - 1)
        clipname = self.clipname_tmpl.format(ind)
        # a template starting with a letter is a file name inside video_dir; otherwise a suffix
        if self.clipname_tmpl[0].isalpha():
            results["filename"] = osp.join(results["video_dir"], clipname)
        else:
            results["filename"] = results["video_dir"] + clipname
        return results

    def get_results(self, idx: int) -> Dict[str, Any]:
        """Results for sample ``idx`` with a sampled clip as ``filename``."""
        return self.sample_clip(super().get_results(idx))


@DATASETS.register()
class AudioDataset(BaseDataset):
    """Audio files decoded on the fly: ``path total_frames label [label ...]`` per line.

    A path without ``suffix`` gets it appended when ``data_prefix`` is set (as mmaction2).

    Args:
        ann_file: Annotation file (or ``.json`` list).
        pipeline: Pipeline steps.
        suffix: Audio file suffix. Default: ``'.wav'``.
        **kwargs: ``BaseDataset`` arguments; ``modality`` is ``'Audio'``.
    """

    def __init__(self, ann_file: str, pipeline: PipelineLike, suffix: str = ".wav", **kwargs: Any):
        self.suffix = suffix
        kwargs.pop("modality", None)
        super().__init__(ann_file, pipeline, modality="Audio", **kwargs)

    def load_annotations(self) -> List[Dict[str, Any]]:
        """Load annotation file to get audio information."""
        if self.ann_file.endswith(".json"):
            return self.load_json_annotations()
        src = self._source()
        video_infos = []
        self._sources = []
        for number, fields, line in src.lines():
            try:
                if (self.multi_class and len(fields) < 3) or (not self.multi_class and len(fields) != 3):
                    raise BadLine(f"expected 'path total_frames label', got {len(fields)} field(s): {line!r}")
                filename = fields[0]
                if self.data_prefix is not None:
                    if not filename.endswith(self.suffix):
                        filename = osp.join(self.data_prefix, filename + self.suffix)
                    else:
                        filename = osp.join(self.data_prefix, filename)
                total_frames = parse_int(fields[1], "total_frames")
                label = parse_labels(fields[2:], self.multi_class, self.num_classes, line)
            except BadLine as err:
                src.error(number, str(err))
                continue
            video_infos.append(dict(audio_path=filename, total_frames=total_frames, label=label))
            self._sources.append(src.where(number))
        return video_infos


@DATASETS.register()
class AudioFeatureDataset(AudioDataset):
    """Audio features extracted offline (``.npy``): same annotation format as ``AudioDataset``.

    Args:
        ann_file: Annotation file.
        pipeline: Pipeline steps (typically ``LoadAudioFeature``).
        suffix: Feature file suffix. Default: ``'.npy'``.
        **kwargs: ``BaseDataset`` arguments.
    """

    def __init__(self, ann_file: str, pipeline: PipelineLike, suffix: str = ".npy", **kwargs: Any):
        super().__init__(ann_file, pipeline, suffix=suffix, **kwargs)


@DATASETS.register()
class AudioVisualDataset(RawframeDataset):
    """Frames plus audio features: rawframe annotation lines; audio at ``audio_prefix/<name>.npy``.

    Args:
        ann_file: Annotation file (rawframe format).
        pipeline: Pipeline steps.
        audio_prefix: Directory of the audio feature files.
        **kwargs: ``RawframeDataset`` arguments; ``video_prefix`` (directory of ``<name>.mp4``)
            adds ``filename`` for video pipelines.
    """

    def __init__(self, ann_file: str, pipeline: PipelineLike, audio_prefix: str, **kwargs: Any):
        self.audio_prefix = audio_prefix
        self.video_prefix = kwargs.pop("video_prefix", None)
        super().__init__(ann_file, pipeline, **kwargs)

    def load_annotations(self) -> List[Dict[str, Any]]:
        """Load annotation file to get frame, audio (and video) paths."""
        src = self._source()
        video_infos = []
        self._sources = []
        for number, fields, line in src.lines():
            try:
                info = self._parse_frame_line(fields, line)
            except BadLine as err:
                src.error(number, str(err))
                continue
            name = fields[0]
            ordered: Dict[str, Any] = {}
            if self.audio_prefix is not None:
                ordered["audio_path"] = osp.join(self.audio_prefix, name + ".npy")
            if self.video_prefix:
                ordered["filename"] = osp.join(self.video_prefix, name + ".mp4")
            ordered.update(info)
            video_infos.append(ordered)
            self._sources.append(src.where(number))
        return video_infos


@DATASETS.register()
class HVUDataset(BaseDataset):
    """HVU: JSON list of videos (``filename``) or frame folders (``frame_dir`` + ``total_frames``)
    with tags grouped by category (``label = {category: [tag, ...]}``).

    Args:
        ann_file: JSON annotation file.
        pipeline: Pipeline steps (``LoadHVULabel`` turns the tag dict into tensors).
        tag_categories: Category names.
        tag_category_nums: Number of tags of each category.
        filename_tmpl: Frame template for frame folders; None means videos. Default: None.
        **kwargs: ``BaseDataset`` arguments (``start_index`` defaults to 0).
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: PipelineLike,
        tag_categories: Sequence[str],
        tag_category_nums: Sequence[int],
        filename_tmpl: Optional[str] = None,
        **kwargs: Any,
    ):
        if len(tag_categories) != len(tag_category_nums):
            raise ConfigError(
                f"HVUDataset: {len(tag_categories)} tag_categories but {len(tag_category_nums)} tag_category_nums"
            )
        self.tag_categories = list(tag_categories)
        self.tag_category_nums = list(tag_category_nums)
        self.filename_tmpl = filename_tmpl
        self.num_categories = len(self.tag_categories)
        self.num_tags = sum(self.tag_category_nums)
        self.category2num = dict(zip(self.tag_categories, self.tag_category_nums))
        self.start_idx = [0]
        for i in range(self.num_categories - 1):
            self.start_idx.append(self.start_idx[-1] + self.tag_category_nums[i])
        self.category2startidx = dict(zip(self.tag_categories, self.start_idx))
        self.start_index = kwargs.pop("start_index", 0)
        self.dataset_type: Optional[str] = None
        super().__init__(ann_file, pipeline, start_index=self.start_index, **kwargs)

    def load_annotations(self) -> List[Dict[str, Any]]:
        """Load the JSON annotation file (HVU has no text format)."""
        if not self.ann_file.endswith(".json"):
            raise AnnotationError(f"HVUDataset needs a .json annotation file, got {self.ann_file!r}")
        return self.load_json_annotations()

    def load_json_annotations(self) -> List[Dict[str, Any]]:
        """Load the JSON list and attach the category tables to every entry.

        The first valid entry decides between videos (``filename``) and frame folders
        (``frame_dir`` plus an integer ``total_frames``); every entry must use the same key.
        """
        src = self._source()
        video_infos = []
        self._sources = []
        for where, _, info in src.json_entries(list):
            try:
                info = self._check_hvu_sample(info)
            except BadLine as err:
                src.error(where, str(err))
                continue
            video_infos.append(info)
            self._sources.append(src.where(where))
        return video_infos

    def _check_hvu_sample(self, info: Any) -> Dict[str, Any]:
        """A checked copy of one HVU sample (the first valid one fixes ``dataset_type``)."""
        info = dict(json_object(info, "a sample"))
        if ("filename" in info) == ("frame_dir" in info):
            raise BadLine("needs exactly one of 'filename' and 'frame_dir'")
        path_key = "filename" if "filename" in info else "frame_dir"
        dataset_type = "video" if path_key == "filename" else "rawframe"
        if self.dataset_type is not None and dataset_type != self.dataset_type:
            expected = "filename" if self.dataset_type == "video" else "frame_dir"
            raise BadLine(f"has {path_key!r} but the samples before it have {expected!r}")
        if dataset_type == "rawframe" and self.filename_tmpl is None:
            raise ConfigError("HVUDataset: frame folders need filename_tmpl")
        info[path_key] = self._join(json_str(info[path_key], f"'{path_key}'"))
        if dataset_type == "rawframe":
            if "total_frames" not in info:
                raise BadLine("a frame folder needs 'total_frames'")
            json_int(info["total_frames"], "'total_frames'", 1)
        if "label" not in info:
            raise BadLine("has no 'label' (an object of category -> tags)")
        for category, tags in json_object(info["label"], "'label'").items():
            if category not in self.category2num:
                raise BadLine(f"unknown tag category {category!r}; known: {self.tag_categories}")
            json_list(tags, f"the tags of category {category!r}")
            for tag in tags:
                json_int(tag, f"a tag of category {category!r}")
            num = self.category2num[category]
            bad = [t for t in tags if not 0 <= t < num]
            if bad:
                raise BadLine(f"tags {bad} of category {category!r} out of range [0, {num - 1}]")
        self.dataset_type = dataset_type
        info["categories"] = self.tag_categories
        info["category_nums"] = self.tag_category_nums
        if dataset_type == "rawframe":
            info["filename_tmpl"] = self.filename_tmpl
        return info

    def evaluate(
        self,
        results: List[Any],
        metrics: Union[str, Sequence[str]] = "mean_average_precision",
        metric_options: Optional[Dict[str, Any]] = None,
        logger: Any = None,
    ) -> Dict[str, float]:
        """Per-category mAP (delegates to ``videohub.metrics.dataset_evaluation.evaluate_hvu``)."""
        from ...metrics.dataset_evaluation import evaluate_hvu

        if not isinstance(results, list) or len(results) != len(self):
            raise ConfigError(f"results must be a list of {len(self)} score arrays")
        gt_labels = [info["label"] for info in self.video_infos]
        return evaluate_hvu(results, gt_labels, self.tag_categories, self.tag_category_nums, metrics=metrics)

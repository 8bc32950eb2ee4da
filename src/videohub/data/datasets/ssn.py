"""SSN (Structured Segment Networks) proposal dataset, with standard and normalized proposal files."""

from __future__ import annotations

import copy
import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ...errors import AnnotationError, ConfigError
from ...utils.logging import get_logger
from .base import DATASETS, BadLine, BaseDataset, utf8_problem

logger = get_logger(__name__)


class _AttrDict(dict):
    """A dict whose keys are also attributes, recursively (mmcv ``ConfigDict`` access)."""

    def __init__(self, data: Mapping[str, Any]):
        super().__init__({k: _AttrDict(v) if isinstance(v, Mapping) else v for k, v in data.items()})

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise ConfigError(f"SSNDataset config has no key {name!r}; present keys: {sorted(self)}") from None


class SSNInstance:
    """One proposal (or ground truth) of SSN, frames ``[start_frame, end_frame)``.

    Args:
        start_frame: First frame.
        end_frame: End frame (clipped to ``num_video_frames``).
        num_video_frames: Frames of the video.
        label: Class label; None means -1. Default: None.
        best_iou: Best IoU with a ground truth. Default: 0.
        overlap_self: Fraction of the proposal inside a ground truth. Default: 0.
    """

    def __init__(
        self,
        start_frame: int,
        end_frame: int,
        num_video_frames: int,
        label: Optional[int] = None,
        best_iou: float = 0,
        overlap_self: float = 0,
    ):
        self.start_frame = start_frame
        self.end_frame = min(end_frame, num_video_frames)
        self.num_video_frames = num_video_frames
        self.label = label if label is not None else -1
        self.coverage = (end_frame - start_frame) / num_video_frames
        self.best_iou = best_iou
        self.overlap_self = overlap_self
        self.loc_reg: Optional[float] = None
        self.size_reg: Optional[float] = None
        self.regression_targets = [0.0, 0.0]

    def compute_regression_targets(self, gt_list: List["SSNInstance"], positive_threshold: float) -> None:
        """Set centre/size regression targets towards the ground truth of highest IoU."""
        from ...localization.proposal_utils import temporal_iou

        ious = [temporal_iou(self.start_frame, self.end_frame, gt.start_frame, gt.end_frame) for gt in gt_list]
        best = gt_list[int(np.argmax(ious))]
        proposal_center = (self.start_frame + self.end_frame - 1) / 2
        gt_center = (best.start_frame + best.end_frame - 1) / 2
        proposal_size = self.end_frame - self.start_frame
        gt_size = best.end_frame - best.start_frame
        self.loc_reg = (gt_center - proposal_center) / proposal_size
        self.size_reg = np.log(gt_size / proposal_size)
        self.regression_targets = [self.loc_reg, self.size_reg] if self.loc_reg is not None else [0.0, 0.0]

    def __repr__(self) -> str:
        return f"SSNInstance({self.start_frame}, {self.end_frame}, label={self.label}, best_iou={self.best_iou})"


def _proposal_blocks(lines: List[str]) -> List[List[Tuple[int, str]]]:
    """The video blocks of a proposal file: runs of lines between ``#`` lines, as ``(line number,
    stripped text)``; blank lines stay inside a block (they count in its layout, as in mmaction2)
    and all-blank blocks are dropped."""
    blocks: List[List[Tuple[int, str]]] = []
    current: List[Tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("#"):
            blocks.append(current)
            current = []
        else:
            current.append((number, line.strip()))
    blocks.append(current)
    return [block for block in blocks if any(text for _, text in block)]


def _number(text: str, what: str, line: int) -> float:
    """``float(text)`` (finite) or :class:`BadLine` at ``line``."""
    try:
        value = float(text)
    except ValueError:
        raise BadLine(f"{what} {text!r} is not a number", line) from None
    if not np.isfinite(value):
        raise BadLine(f"{what} {text!r} is not finite", line)
    return value


def _integer(text: str, what: str, line: int, minimum: Optional[int] = None) -> int:
    """``int(text)`` (at least ``minimum``) or :class:`BadLine` at ``line``."""
    try:
        value = int(text)
    except ValueError:
        raise BadLine(f"{what} {text!r} is not an integer", line) from None
    if minimum is not None and value < minimum:
        raise BadLine(f"{what} must be at least {minimum}, got {value}", line)
    return value


def _instance_of(value: Union[SSNInstance, Mapping[str, Any]]) -> SSNInstance:
    """An :class:`SSNInstance` from itself or from its builder-row dict."""
    if isinstance(value, SSNInstance):
        return value
    return SSNInstance(int(value["start_frame"]), int(value["end_frame"]), int(value["num_video_frames"]),
                       int(value["label"]), float(value["best_iou"]), float(value["overlap_self"]))


@DATASETS.register()
class SSNDataset(BaseDataset):
    """Proposal frame dataset for SSN (standard or normalized TAG proposal files).

    A file whose name contains ``normalized_`` holds start/end as fractions of the video: its
    denormalized sibling (name without ``normalized_``) is read when it exists, otherwise the
    fractions are converted here with each video's frame count.

    Args:
        ann_file: Proposal file.
        pipeline: Pipeline steps.
        train_cfg: Training config with ``ssn.assigner`` and ``ssn.sampler`` (dicts or attribute dicts).
        test_cfg: Test config with ``ssn.sampler.test_interval`` and ``ssn.evaluater``.
        data_prefix: Directory of the frame folders.
        test_mode: Build a test dataset. Default: False.
        filename_tmpl: Frame template. Default: ``'img_{:05d}.jpg'``.
        start_index: First frame index. Default: 1.
        modality: ``'RGB'`` or ``'Flow'``. Default: ``'RGB'``.
        video_centric: Sample proposals from the same video (else from the whole dataset). Default: True.
        reg_normalize_constants: ``[[loc_mean, size_mean], [loc_std, size_std]]``; None computes them.
            Default: None.
        body_segments: Segments in the course stage. Default: 5.
        aug_segments: Segments in the starting and ending stages. Default: (2, 2).
        aug_ratio: Augmented length over proposal length. Default: (0.5, 0.5).
        clip_len: Frames per clip. Default: 1.
        frame_interval: Interval of sampled frames. Default: 1.
        filter_gt: Drop videos without ground truth. Default: True.
        use_regression: Regress boundaries at evaluation. Default: True.
        verbose: Log proposal statistics. Default: False.
        on_error: ``'raise'`` or ``'skip'`` for malformed video blocks (and, with
            ``check_frame_dirs``, videos without a frame folder). Default: ``'raise'``.
        check_frame_dirs: A video whose frame folder ``data_prefix/video_id`` does not exist is a bad
            block (error naming the file and the block's line, or skipped and counted). Default: False
            (mmaction2 reads the frames only when a sample is drawn).
        video_infos: Rows of ``load_dataset("ssn", ...)`` (dicts with ``frame_dir``, ``video_id``,
            ``total_frames``, ``gts``, ``proposals`` and ``ann_source``) used instead of parsing
            ``ann_file`` again, so the builder's checks and skips carry over. Default: None.
    """

    def __init__(
        self,
        ann_file: str,
        pipeline: Sequence[Any],
        train_cfg: Mapping[str, Any],
        test_cfg: Mapping[str, Any],
        data_prefix: Optional[str],
        test_mode: bool = False,
        filename_tmpl: str = "img_{:05d}.jpg",
        start_index: int = 1,
        modality: str = "RGB",
        video_centric: bool = True,
        reg_normalize_constants: Optional[Sequence[Sequence[float]]] = None,
        body_segments: int = 5,
        aug_segments: Sequence[int] = (2, 2),
        aug_ratio: Union[float, Sequence[float]] = (0.5, 0.5),
        clip_len: int = 1,
        frame_interval: int = 1,
        filter_gt: bool = True,
        use_regression: bool = True,
        verbose: bool = False,
        *,
        on_error: str = "raise",
        check_frame_dirs: bool = False,
        video_infos: Optional[Sequence[Mapping[str, Any]]] = None,
    ):
        self.proposal_file: Optional[str] = None
        self.check_frame_dirs = check_frame_dirs
        self._given_rows = video_infos
        super().__init__(
            ann_file,
            pipeline,
            data_prefix=data_prefix,
            test_mode=test_mode,
            start_index=start_index,
            modality=modality,
            on_error=on_error,
        )
        self.train_cfg = _AttrDict(train_cfg)
        self.test_cfg = _AttrDict(test_cfg)
        self.assigner = self.train_cfg.ssn.assigner
        self.sampler = self.train_cfg.ssn.sampler
        self.evaluater = self.test_cfg.ssn.evaluater
        self.verbose = verbose
        self.filename_tmpl = filename_tmpl
        if filter_gt or not test_mode:
            valid = [i for i, info in enumerate(self.video_infos) if len(info["gts"]) > 0]
            logger.info("%d out of %d videos are valid.", len(valid), len(self.video_infos))
            self._keep(valid)
        self.positive_pool: List[Tuple[str, SSNInstance]] = []
        self.background_pool: List[Tuple[str, SSNInstance]] = []
        self.incomplete_pool: List[Tuple[str, SSNInstance]] = []
        self.construct_proposal_pools()
        if reg_normalize_constants is None:
            self.reg_norm_consts = self._compute_reg_normalize_constants()
        else:
            self.reg_norm_consts = np.asarray(reg_normalize_constants, dtype=np.float64)
        self.video_centric = video_centric
        self.body_segments = body_segments
        self.aug_segments = aug_segments
        ratio = aug_ratio if isinstance(aug_ratio, (list, tuple)) else (aug_ratio, aug_ratio)
        if len(ratio) != 2 or not all(isinstance(x, (int, float)) for x in ratio):
            raise ConfigError(f"SSNDataset: aug_ratio must be a number or a pair of numbers, got {aug_ratio!r}")
        self.aug_ratio = tuple(ratio)
        total = self.sampler.positive_ratio + self.sampler.background_ratio + self.sampler.incomplete_ratio
        self.positive_per_video = int(self.sampler.num_per_video * (self.sampler.positive_ratio / total))
        self.background_per_video = int(self.sampler.num_per_video * (self.sampler.background_ratio / total))
        self.incomplete_per_video = self.sampler.num_per_video - self.positive_per_video - self.background_per_video
        self.test_interval = self.test_cfg.ssn.sampler.test_interval
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.filter_gt = filter_gt
        self.use_regression = use_regression
        self.test_mode = test_mode
        if self.verbose:
            logger.info(
                "SSNDataset: %s parsed; %d positive, %d incomplete, %d background proposals from %d videos",
                self.proposal_file,
                len(self.positive_pool),
                len(self.incomplete_pool),
                len(self.background_pool),
                len(self.video_infos),
            )

    def load_annotations(self) -> List[Dict[str, Any]]:
        """Parse the (standard or normalized) proposal file into ``video_infos``.

        Each video block (after a ``# index`` line) is ``video_id``, ``num_frames``, ``fps``,
        ``num_gts``, that many ``label start end`` lines, ``num_proposals`` and that many
        ``label best_iou overlap_self start end`` lines (start/end as fractions of the video in a
        normalized file). A malformed block raises :class:`AnnotationError` naming the file and
        line, or is skipped and recorded with ``on_error="skip"``.
        """
        self.proposal_file = self.ann_file
        if self._given_rows is not None:
            return self._infos_of_rows(self._given_rows)
        normalized = "normalized_" in osp.basename(self.ann_file)
        if normalized:
            sibling = osp.join(osp.dirname(self.ann_file), osp.basename(self.ann_file).replace("normalized_", ""))
            if osp.isfile(sibling):
                self.proposal_file, normalized = sibling, False
        src = self._source(self.proposal_file)
        src.unit = "video blocks"
        lines = src.read_lines()
        video_infos = []
        self._sources = []
        for block in _proposal_blocks(lines):
            src.entries += 1
            try:
                info = self._parse_block(block, lines, normalized)
            except BadLine as err:
                src.error(err.line or block[0][0], str(err))
                continue
            video_infos.append(info)
            self._sources.append(f"{self.proposal_file} line {block[0][0]} (video {info['video_id']!r})")
        return video_infos

    def _parse_block(self, block: List[Tuple[int, str]], lines: List[str], normalized: bool) -> Dict[str, Any]:
        """``video_infos`` entry of one video block (see :meth:`load_annotations`)."""
        for number, _ in block:
            problem = utf8_problem(lines[number - 1])
            if problem:
                raise BadLine(problem, number)

        def at(offset: int, what: str) -> Tuple[int, str]:
            if offset >= len(block):
                raise BadLine(f"the block of video {block[0][1]!r} ends early; expected {what}", block[-1][0])
            return block[offset]

        def frame(text: str, what: str, line: int, num_frames: int) -> int:
            if normalized:
                return int(_number(text, what, line) * num_frames)
            return _integer(text, what, line)

        video_id = block[0][1]
        (frames_line, frames_text), (fps_line, fps_text) = at(1, "num_frames"), at(2, "fps")
        num_frames = int(_number(frames_text, "num_frames", frames_line) * _number(fps_text, "fps", fps_line))
        if num_frames <= 0:
            raise BadLine(f"num_frames * fps must be positive, got {frames_text} * {fps_text}", frames_line)
        gts, proposals = [], []
        line, text = at(3, "the number of ground truths")
        num_gts = _integer(text, "the number of ground truths", line, 0)
        for i in range(num_gts):
            line, text = at(4 + i, f"ground truth {i + 1} of {num_gts} ('label start end')")
            fields = text.split()
            if len(fields) < 3:
                raise BadLine(f"expected a ground truth 'label start end', got {text!r}", line)
            label = _integer(fields[0], "label", line)
            start, end = frame(fields[1], "start", line, num_frames), frame(fields[2], "end", line, num_frames)
            if end > start and start < num_frames:
                gts.append(SSNInstance(start, end, num_frames, label=label, best_iou=1.0))
        line, text = at(4 + num_gts, "the number of proposals")
        num_proposals = _integer(text, "the number of proposals", line, 0)
        for i in range(num_proposals):
            line, text = at(5 + num_gts + i, f"proposal {i + 1} of {num_proposals}")
            fields = text.split()
            if len(fields) < 5:
                raise BadLine(f"expected a proposal 'label best_iou overlap_self start end', got {text!r}", line)
            label = _integer(fields[0], "label", line)
            best_iou, overlap_self = _number(fields[1], "best_iou", line), _number(fields[2], "overlap_self", line)
            start, end = frame(fields[3], "start", line, num_frames), frame(fields[4], "end", line, num_frames)
            if end > start and start < num_frames:
                proposals.append(
                    SSNInstance(start, end, num_frames, label=label, best_iou=best_iou, overlap_self=overlap_self)
                )
        frame_dir = osp.join(self.data_prefix, video_id) if self.data_prefix is not None else video_id
        if self.check_frame_dirs and not osp.isdir(frame_dir):
            raise BadLine(f"frame folder {frame_dir!r} of video {video_id!r} does not exist", block[0][0])
        return dict(frame_dir=frame_dir, video_id=video_id, total_frames=num_frames, gts=gts, proposals=proposals)

    def _infos_of_rows(self, rows: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """``video_infos`` (and source locations) of builder rows; see the ``video_infos`` argument."""
        infos = []
        self._sources = []
        for index, row in enumerate(rows):
            missing = sorted({"frame_dir", "video_id", "total_frames", "gts", "proposals"} - set(row))
            if missing:
                raise ConfigError(f"SSNDataset: row {index} lacks {missing}; pass rows of load_dataset('ssn', ...)")
            infos.append(dict(frame_dir=row["frame_dir"], video_id=row["video_id"],
                              total_frames=int(row["total_frames"]),
                              gts=[_instance_of(x) for x in row["gts"]],
                              proposals=[_instance_of(x) for x in row["proposals"] or []]))
            self._sources.append(row.get("ann_source") or f"{self.ann_file} row {index}")
        return infos

    # ------------------------------------------------------------------ proposal pools
    @staticmethod
    def get_positives(
        gts: List[SSNInstance], proposals: List[SSNInstance], positive_threshold: float, with_gt: bool = True
    ) -> List[SSNInstance]:
        """Proposals with ``best_iou > positive_threshold`` (plus the ground truths if ``with_gt``),
        with regression targets computed."""
        positives = [p for p in proposals if p.best_iou > positive_threshold]
        if with_gt:
            positives.extend(gts)
        for proposal in positives:
            proposal.compute_regression_targets(gts, positive_threshold)
        return positives

    @staticmethod
    def get_negatives(
        proposals: List[SSNInstance],
        incomplete_iou_threshold: float,
        background_iou_threshold: float,
        background_coverage_threshold: float = 0.01,
        incomplete_overlap_threshold: float = 0.7,
    ) -> Tuple[List[SSNInstance], List[SSNInstance]]:
        """``(incompletes, backgrounds)``: low-IoU proposals mostly inside a ground truth, and
        low-IoU proposals covering enough of the video."""
        incompletes, backgrounds = [], []
        for p in proposals:
            if p.best_iou < incomplete_iou_threshold and p.overlap_self > incomplete_overlap_threshold:
                incompletes.append(p)
            elif p.best_iou < background_iou_threshold and p.coverage > background_coverage_threshold:
                backgrounds.append(p)
        return incompletes, backgrounds

    def _negatives_of(self, proposals: List[SSNInstance]):
        a = self.assigner
        return self.get_negatives(
            proposals,
            a.incomplete_iou_threshold,
            a.background_iou_threshold,
            a.background_coverage_threshold,
            a.incomplete_overlap_threshold,
        )

    def construct_proposal_pools(self) -> None:
        """Fill the positive, incomplete and background pools of the whole dataset."""
        for info in self.video_infos:
            positives = self.get_positives(
                info["gts"], info["proposals"], self.assigner.positive_iou_threshold, self.sampler.add_gt_as_proposals
            )
            self.positive_pool.extend((info["video_id"], p) for p in positives)
            incompletes, backgrounds = self._negatives_of(info["proposals"])
            self.incomplete_pool.extend((info["video_id"], p) for p in incompletes)
            self.background_pool.extend((info["video_id"], p) for p in backgrounds)

    def get_all_gts(self) -> Dict[int, Dict[str, List[List[float]]]]:
        """``{class_idx: {video_id: [[rel_start, rel_end], ...]}}`` (class_idx = label - 1)."""
        gts: Dict[int, Dict[str, List[List[float]]]] = {}
        for info in self.video_infos:
            for gt in info["gts"]:
                rel = [gt.start_frame / info["total_frames"], gt.end_frame / info["total_frames"]]
                gts.setdefault(gt.label - 1, {}).setdefault(info["video_id"], []).append(rel)
        return gts

    def _compute_reg_normalize_constants(self) -> np.ndarray:
        targets = []
        for info in self.video_infos:
            for p in self.get_positives(info["gts"], info["proposals"], self.assigner.positive_iou_threshold, False):
                targets.append(list(p.regression_targets))
        if not targets:
            raise AnnotationError(
                f"{self.proposal_file}: no positive proposals to compute regression constants from; "
                "pass reg_normalize_constants"
            )
        return np.array((np.mean(targets, axis=0), np.std(targets, axis=0)))

    def _video_centric_sampling(self, record: Dict[str, Any]) -> List[Tuple[Tuple[str, SSNInstance], int]]:
        positives = self.get_positives(
            record["gts"], record["proposals"], self.assigner.positive_iou_threshold, self.sampler.add_gt_as_proposals
        )
        incompletes, backgrounds = self._negatives_of(record["proposals"])

        def sample(kind: int, pool: List[SSNInstance], num: int, dataset_pool: List[Tuple[str, SSNInstance]]):
            if len(pool) == 0:
                idx = np.random.choice(len(dataset_pool), num, replace=False)
                return [(dataset_pool[x], kind) for x in idx]
            idx = np.random.choice(len(pool), num, replace=len(pool) < num)
            return [((record["video_id"], pool[x]), kind) for x in idx]

        out = sample(0, positives, self.positive_per_video, self.positive_pool)
        out.extend(sample(1, incompletes, self.incomplete_per_video, self.incomplete_pool))
        out.extend(sample(2, backgrounds, self.background_per_video, self.background_pool))
        return out

    def _random_sampling(self) -> List[Tuple[Tuple[str, SSNInstance], int]]:
        out = []
        for kind, pool, num in (
            (0, self.positive_pool, self.positive_per_video),
            (1, self.incomplete_pool, self.incomplete_per_video),
            (2, self.background_pool, self.background_per_video),
        ):
            idx = np.random.choice(len(pool), num, replace=len(pool) < num)
            out.extend((pool[x], kind) for x in idx)
        return out

    def _get_stage(self, proposal: SSNInstance, num_frames: int) -> Tuple[float, float, List[int]]:
        start_frame, end_frame = proposal.start_frame, proposal.end_frame
        ori_clip_len = self.clip_len * self.frame_interval
        duration = end_frame - start_frame
        if duration == 0:
            raise AnnotationError(f"{self.proposal_file}: proposal {proposal!r} has zero length")
        valid_starting = max(0, start_frame - int(duration * self.aug_ratio[0]))
        valid_ending = min(num_frames - ori_clip_len + 1, end_frame - 1 + int(duration * self.aug_ratio[1]))
        valid_starting_length = start_frame - valid_starting - ori_clip_len
        valid_ending_length = (valid_ending - end_frame + 1) - ori_clip_len
        starting_scale = (valid_starting_length + ori_clip_len + 1) / (duration * self.aug_ratio[0])
        ending_scale = (valid_ending_length + ori_clip_len + 1) / (duration * self.aug_ratio[1])
        aug_start, aug_end = self.aug_segments
        stage_split = [aug_start, aug_start + self.body_segments, aug_start + self.body_segments + aug_end]
        return starting_scale, ending_scale, stage_split

    # ------------------------------------------------------------------ items
    def _base_results(self, idx: int) -> Dict[str, Any]:
        results = copy.deepcopy(self.video_infos[idx])
        results["filename_tmpl"] = self.filename_tmpl
        results["modality"] = self.modality
        results["start_index"] = self.start_index
        return results

    def prepare_train_frames(self, idx: int) -> Dict[str, Any]:
        """Sample proposals (video-centric or dataset-wide) and their targets, then run the pipeline."""
        results = self._base_results(idx)
        if self.video_centric:
            results["out_proposals"] = self._video_centric_sampling(self.video_infos[idx])
        else:
            results["out_proposals"] = self._random_sampling()
        scale_factors, types, labels, reg_targets = [], [], [], []
        for (_, proposal), kind in results["out_proposals"]:
            starting, ending, _ = self._get_stage(proposal, proposal.num_video_frames)
            label = 0 if kind == 2 else proposal.label
            scale_factors.append([starting, ending])
            labels.append(int(label))
            types.append(kind)
            targets = proposal.regression_targets
            if kind == 0:
                c = self.reg_norm_consts
                targets = ((targets[0] - c[0][0]) / c[1][0], (targets[1] - c[0][1]) / c[1][1])
            reg_targets.append(targets)
        results["reg_targets"] = np.array(reg_targets, dtype=np.float32)
        results["proposal_scale_factor"] = np.array(scale_factors, dtype=np.float32)
        results["proposal_labels"] = np.array(labels)
        results["proposal_type"] = np.array(types)
        return self.pipeline(results)

    def prepare_test_frames(self, idx: int) -> Dict[str, Any]:
        """Relative proposals, their ticks and scale factors for testing, then the pipeline."""
        results = self._base_results(idx)
        proposals = results["proposals"]
        num_frames = results["total_frames"]
        ori_clip_len = self.clip_len * self.frame_interval
        frame_ticks = np.arange(0, num_frames - ori_clip_len, self.test_interval, dtype=int) + 1
        num_sampled = len(frame_ticks)
        if len(proposals) == 0:
            proposals.append(SSNInstance(0, num_frames - 1, num_frames))
        rel_list, tick_list, scale_list = [], [], []
        for p in proposals:
            rel = (p.start_frame / num_frames, p.end_frame / num_frames)
            rel_duration = rel[1] - rel[0]
            start_dur = rel_duration * self.aug_ratio[0]
            end_dur = rel_duration * self.aug_ratio[1]
            real_start = max(0.0, rel[0] - start_dur)
            real_end = min(1.0, rel[1] + end_dur)
            starting_scale = (rel[0] - real_start) / start_dur
            ending_scale = (real_end - rel[1]) / end_dur
            ticks = (np.array((real_start, *rel, real_end)) * num_sampled).astype(np.int32)
            rel_list.append(rel)
            tick_list.append(ticks)
            scale_list.append((starting_scale, ending_scale))
        results["relative_proposal_list"] = np.array(rel_list, dtype=np.float32)
        results["scale_factor_list"] = np.array(scale_list, dtype=np.float32)
        results["proposal_tick_list"] = np.array(tick_list, dtype=np.int32)
        results["reg_norm_consts"] = self.reg_norm_consts
        return self.pipeline(results)

    # ------------------------------------------------------------------ evaluation
    def results_to_detections(
        self, results: List[Dict[str, Any]], top_k: int = 2000, softmax_before_filter: bool = True, cls_top_k: int = 2, **kwargs: Any
    ) -> List[Dict[str, np.ndarray]]:
        """Per class ``{video_id: [[rel_start, rel_end, score, center_reg, size_reg], ...]}``."""
        from ...metrics.classification import softmax

        num_classes = results[0]["activity_scores"].shape[1] - 1
        detections: List[Dict[str, np.ndarray]] = [dict() for _ in range(num_classes)]
        for idx in range(len(self)):
            video_id = self.video_infos[idx]["video_id"]
            rel = results[idx]["relative_proposal_list"]
            if len(rel[0].shape) == 3:
                rel = np.squeeze(rel, 0)
            activity = results[idx]["activity_scores"]
            completeness = results[idx]["completeness_scores"]
            regression = results[idx]["bbox_preds"]
            if regression is None:
                regression = np.zeros((len(rel), num_classes, 2), dtype=np.float32)
            regression = regression.reshape((-1, num_classes, 2))
            combined = softmax(activity[:, 1:], dim=1) * np.exp(completeness)
            if top_k <= 0:
                for i in range(num_classes):
                    detections[i][video_id] = np.concatenate(
                        (rel, combined[:, i][:, None], regression[:, i, 0][:, None], regression[:, i, 1][:, None]), axis=1
                    )
            else:
                keep = np.argsort(combined.ravel())[-top_k:]
                for k in keep:
                    c, p = k % num_classes, k // num_classes
                    item = [rel[p, 0], rel[p, 1], combined[p, c], regression[p, c, 0], regression[p, c, 1]]
                    if video_id not in detections[c]:
                        detections[c][video_id] = np.array([item])
                    else:
                        detections[c][video_id] = np.vstack([detections[c][video_id], item])
        return detections

    def evaluate(
        self,
        results: List[Dict[str, Any]],
        metrics: Union[str, Sequence[str]] = "mAP",
        metric_options: Optional[Dict[str, Any]] = None,
        logger: Any = None,
        **deprecated_kwargs: Any,
    ) -> Dict[str, float]:
        """THUMOS14 mAP at tIoU 0.1..0.9 after optional regression and per-class temporal NMS
        (delegates to ``videohub.metrics.dataset_evaluation.evaluate_ssn``).

        ``metric_options`` defaults to ``{'mAP': {'eval_dataset': 'thumos14'}}``.
        """
        from ...metrics.dataset_evaluation import evaluate_ssn

        options = copy.deepcopy(metric_options) if metric_options is not None else {"mAP": {"eval_dataset": "thumos14"}}
        if deprecated_kwargs:
            options["mAP"] = dict(options.get("mAP", {}), **deprecated_kwargs)
        if not isinstance(results, list) or len(results) != len(self):
            raise ConfigError(f"results must be a list of {len(self)} results")
        return evaluate_ssn(
            results,
            self.video_infos,
            metrics=metrics,
            metric_options=options,
            evaluater=dict(self.evaluater),
            use_regression=self.use_regression,
        )

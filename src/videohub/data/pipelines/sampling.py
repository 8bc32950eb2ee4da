"""Frame sampling steps: which frame indices of a video a clip is made of.

The random draws (``randint``, ``uniform``) are the same calls, in the same order, as mmaction2
0.24, so with numpy's global RNG seeded the indices are identical to mmaction2's.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...errors import ConfigError
from ...registry import PIPELINES
from .compose import PipelineStep, SeedLike, require_keys

_OUT_OF_BOUND_OPTS = ("loop", "repeat_last")


def _warn_start_index(start_index: Optional[int], step: str) -> None:
    if start_index is not None:
        warnings.warn(
            f'{step}: "start_index" is no longer an argument of the sampling step; it is a field of the '
            "dataset (set it there, see mmaction2 PR #89). The value given here is ignored.",
            DeprecationWarning,
            stacklevel=3,
        )


def _check_positive_int(value: Any, name: str, step: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{step}: {name} must be a positive int, got {value!r}")


@PIPELINES.register()
class SampleFrames(PipelineStep):
    """Sample clips of frame indices from a video.

    Required keys: ``total_frames``, ``start_index``. Added or modified keys: ``frame_inds``,
    ``clip_len``, ``frame_interval``, ``num_clips``.

    Args:
        clip_len: Frames per clip. No default.
        frame_interval: Temporal stride between the frames of a clip. Default: 1.
        num_clips: Number of clips. Default: 1.
        temporal_jitter: Add a random offset in ``[0, frame_interval)`` to every index. Default: False.
        twice_sample: In test mode, also sample the clips without the half-interval shift (TSM
            testing), giving ``2 * num_clips`` clips. Default: False.
        out_of_bound_opt: ``'loop'`` (wrap indices modulo ``total_frames``) or ``'repeat_last'``
            (replace out-of-range indices of a clip by its last valid one). Default: ``'loop'``.
        test_mode: Deterministic, evenly spaced clips. Default: False.
        start_index: Deprecated; the dataset sets ``results['start_index']``. Default: None.
        keep_tail_frames: Sample train clip starts from real-valued intervals so the tail of the
            video can be reached. Default: False.
        seed: None (numpy's global RNG, as mmaction2), an int or a ``numpy.random.Generator``.
            Default: None.
    """

    def __init__(
        self,
        clip_len: int,
        frame_interval: int = 1,
        num_clips: int = 1,
        temporal_jitter: bool = False,
        twice_sample: bool = False,
        out_of_bound_opt: str = "loop",
        test_mode: bool = False,
        start_index: Optional[int] = None,
        keep_tail_frames: bool = False,
        seed: SeedLike = None,
    ):
        name = type(self).__name__
        _check_positive_int(clip_len, "clip_len", name)
        _check_positive_int(frame_interval, "frame_interval", name)
        _check_positive_int(num_clips, "num_clips", name)
        if out_of_bound_opt not in _OUT_OF_BOUND_OPTS:
            raise ConfigError(f"{name}: out_of_bound_opt must be one of {_OUT_OF_BOUND_OPTS}, got {out_of_bound_opt!r}")
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.num_clips = num_clips
        self.temporal_jitter = temporal_jitter
        self.twice_sample = twice_sample
        self.out_of_bound_opt = out_of_bound_opt
        self.test_mode = test_mode
        self.keep_tail_frames = keep_tail_frames
        _warn_start_index(start_index, name)
        self._init_rng(seed)

    def _get_train_clips(self, num_frames: int) -> np.ndarray:
        """Random clip starts: one per segment of ``num_frames`` (mmaction2's train sampling)."""
        span = self.clip_len * self.frame_interval
        if self.keep_tail_frames:
            avg_interval = (num_frames - span + 1) / float(self.num_clips)
            if num_frames > span - 1:
                base = np.arange(self.num_clips) * avg_interval
                jitter = self.np_random.uniform(0, avg_interval, self.num_clips)
                return (base + jitter).astype(np.int64)
            return np.zeros((self.num_clips,), dtype=np.int64)

        avg_interval = (num_frames - span + 1) // self.num_clips
        if avg_interval > 0:
            base = np.arange(self.num_clips) * avg_interval
            return base + self.np_random.randint(avg_interval, size=self.num_clips)
        if num_frames > max(self.num_clips, span):
            return np.sort(self.np_random.randint(num_frames - span + 1, size=self.num_clips))
        if avg_interval == 0:
            ratio = (num_frames - span + 1.0) / self.num_clips
            return np.around(np.arange(self.num_clips) * ratio)
        return np.zeros((self.num_clips,), dtype=np.int64)

    def _get_test_clips(self, num_frames: int) -> np.ndarray:
        """Evenly spaced clip starts shifted by half an interval (plus the unshifted ones if twice)."""
        span = self.clip_len * self.frame_interval
        avg_interval = (num_frames - span + 1) / float(self.num_clips)
        if num_frames > span - 1:
            base = np.arange(self.num_clips) * avg_interval
            offsets = (base + avg_interval / 2.0).astype(np.int64)
            if self.twice_sample:
                offsets = np.concatenate([offsets, base])
            return offsets
        return np.zeros((self.num_clips,), dtype=np.int64)

    def _sample_clips(self, num_frames: int) -> np.ndarray:
        if self.test_mode:
            return self._get_test_clips(num_frames)
        return self._get_train_clips(num_frames)

    def _handle_out_of_bound(self, frame_inds: np.ndarray, total_frames: int) -> np.ndarray:
        frame_inds = frame_inds.reshape((-1, self.clip_len))
        if self.out_of_bound_opt == "loop":
            return np.mod(frame_inds, total_frames)
        inside = frame_inds < total_frames
        last_inside = np.max(inside * frame_inds, axis=1)
        return np.where(inside, frame_inds, last_inside[:, None])

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("total_frames", "start_index"), type(self).__name__)
        total_frames = results["total_frames"]
        if total_frames <= 0:
            raise ConfigError(f"{type(self).__name__}: total_frames must be positive, got {total_frames!r}")
        clip_offsets = self._sample_clips(total_frames)
        frame_inds = (clip_offsets[:, None] + np.arange(self.clip_len)[None, :] * self.frame_interval).reshape(-1)
        if self.temporal_jitter:
            frame_inds = frame_inds + self.np_random.randint(self.frame_interval, size=len(frame_inds))
        frame_inds = self._handle_out_of_bound(frame_inds, total_frames)
        frame_inds = frame_inds.reshape(-1) + results["start_index"]
        results["frame_inds"] = frame_inds.astype(np.int64)
        results["clip_len"] = self.clip_len
        results["frame_interval"] = self.frame_interval
        results["num_clips"] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, frame_interval={self.frame_interval}, "
            f"num_clips={self.num_clips}, temporal_jitter={self.temporal_jitter}, "
            f"twice_sample={self.twice_sample}, out_of_bound_opt={self.out_of_bound_opt}, "
            f"test_mode={self.test_mode})"
        )


@PIPELINES.register()
class UntrimmedSampleFrames(PipelineStep):
    """Sample clips centred every ``frame_interval`` frames over a whole (untrimmed) video.

    Required keys: ``total_frames``, ``start_index``. Added or modified keys: ``frame_inds``,
    ``clip_len``, ``frame_interval``, ``num_clips``.

    Args:
        clip_len: Frames per clip. Default: 1.
        frame_interval: Distance between clip centres. Default: 16.
        start_index: Deprecated (set by the dataset). Default: None.
    """

    def __init__(self, clip_len: int = 1, frame_interval: int = 16, start_index: Optional[int] = None):
        _check_positive_int(clip_len, "clip_len", "UntrimmedSampleFrames")
        _check_positive_int(frame_interval, "frame_interval", "UntrimmedSampleFrames")
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        _warn_start_index(start_index, "UntrimmedSampleFrames")

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("total_frames", "start_index"), "UntrimmedSampleFrames")
        total_frames = results["total_frames"]
        centres = np.arange(self.frame_interval // 2, total_frames, self.frame_interval)
        half = self.clip_len // 2
        frame_inds = centres[:, None] + np.arange(-half, self.clip_len - half)[None, :]
        frame_inds = np.clip(frame_inds, 0, total_frames - 1).reshape(-1) + results["start_index"]
        results["frame_inds"] = frame_inds.astype(np.int64)
        results["clip_len"] = self.clip_len
        results["frame_interval"] = self.frame_interval
        results["num_clips"] = centres.shape[0]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(clip_len={self.clip_len}, frame_interval={self.frame_interval})"


@PIPELINES.register()
class DenseSampleFrames(SampleFrames):
    """Dense sampling: clips inside a window of ``sample_range`` frames.

    Required keys: ``total_frames``, ``start_index``. Added or modified keys: ``frame_inds``,
    ``clip_len``, ``frame_interval``, ``num_clips``.

    Args:
        clip_len: Frames per clip. No default.
        frame_interval: Temporal stride inside a clip. Default: 1.
        num_clips: Clips per window. Default: 1.
        sample_range: Length of the sampling window. Default: 64.
        num_sample_positions: Window start positions in test mode (so test mode yields
            ``num_sample_positions * num_clips`` clips). Default: 10.
        temporal_jitter: Random per-frame offset in ``[0, frame_interval)``. Default: False.
        out_of_bound_opt: ``'loop'`` or ``'repeat_last'``. Default: ``'loop'``.
        test_mode: Evenly spaced window starts instead of a random one. Default: False.
        seed: None (global numpy RNG), an int or a ``numpy.random.Generator``. Default: None.
    """

    def __init__(
        self,
        clip_len: int,
        frame_interval: int = 1,
        num_clips: int = 1,
        sample_range: int = 64,
        num_sample_positions: int = 10,
        temporal_jitter: bool = False,
        out_of_bound_opt: str = "loop",
        test_mode: bool = False,
        seed: SeedLike = None,
    ):
        super().__init__(
            clip_len,
            frame_interval,
            num_clips,
            temporal_jitter,
            out_of_bound_opt=out_of_bound_opt,
            test_mode=test_mode,
            seed=seed,
        )
        _check_positive_int(sample_range, "sample_range", "DenseSampleFrames")
        _check_positive_int(num_sample_positions, "num_sample_positions", "DenseSampleFrames")
        self.sample_range = sample_range
        self.num_sample_positions = num_sample_positions

    def _get_train_clips(self, num_frames: int) -> np.ndarray:
        sample_position = max(1, 1 + num_frames - self.sample_range)
        interval = self.sample_range // self.num_clips
        start = 0 if sample_position == 1 else self.np_random.randint(0, sample_position - 1)
        return (np.arange(self.num_clips) * interval + start) % num_frames

    def _get_test_clips(self, num_frames: int) -> np.ndarray:
        sample_position = max(1, 1 + num_frames - self.sample_range)
        interval = self.sample_range // self.num_clips
        starts = np.linspace(0, sample_position - 1, num=self.num_sample_positions, dtype=int)
        base = np.arange(self.num_clips) * interval
        return ((starts[:, None] + base[None, :]) % num_frames).reshape(-1)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, frame_interval={self.frame_interval}, "
            f"num_clips={self.num_clips}, sample_range={self.sample_range}, "
            f"num_sample_positions={self.num_sample_positions}, temporal_jitter={self.temporal_jitter}, "
            f"out_of_bound_opt={self.out_of_bound_opt}, test_mode={self.test_mode})"
        )


@PIPELINES.register()
class SampleAVAFrames(SampleFrames):
    """Sample one clip centred on an AVA keyframe, kept inside its shot.

    Required keys: ``fps``, ``timestamp``, ``timestamp_start``, ``shot_info``; optional
    ``start_index`` (default 0). Added or modified keys: ``frame_inds``, ``clip_len``,
    ``frame_interval``, ``num_clips``, ``crop_quadruple``.

    Args:
        clip_len: Frames per clip. No default.
        frame_interval: Temporal stride. Default: 2.
        test_mode: No random per-frame offsets. Default: False.
        seed: None (global numpy RNG), an int or a ``numpy.random.Generator``. Default: None.
    """

    def __init__(self, clip_len: int, frame_interval: int = 2, test_mode: bool = False, seed: SeedLike = None):
        super().__init__(clip_len, frame_interval, test_mode=test_mode, seed=seed)

    def _get_clips(self, center_index: int, skip_offsets: np.ndarray, shot_info: Sequence[int]) -> np.ndarray:
        start = center_index - (self.clip_len // 2) * self.frame_interval
        end = center_index + ((self.clip_len + 1) // 2) * self.frame_interval
        frame_inds = np.arange(start, end, self.frame_interval)
        if not self.test_mode:
            frame_inds = frame_inds + skip_offsets
        return np.clip(frame_inds, shot_info[0], shot_info[1] - 1)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("fps", "timestamp", "timestamp_start", "shot_info"), "SampleAVAFrames")
        center = results["fps"] * (results["timestamp"] - results["timestamp_start"]) + 1
        if float(center) != int(center):
            raise ConfigError(
                f"SampleAVAFrames: the keyframe index fps * (timestamp - timestamp_start) + 1 = {center!r} "
                "is not an integer; fps, timestamp and timestamp_start must give a whole frame number"
            )
        # mmaction2 draws the offsets in test mode too; keep the draw so the RNG stream matches.
        skip_offsets = self.np_random.randint(
            (-self.frame_interval) // 2, (self.frame_interval + 1) // 2, size=self.clip_len
        )
        frame_inds = self._get_clips(int(center), skip_offsets, results["shot_info"])
        results["frame_inds"] = np.asarray(frame_inds, dtype=np.int64) + results.get("start_index", 0)
        results["clip_len"] = self.clip_len
        results["frame_interval"] = self.frame_interval
        results["num_clips"] = 1
        results["crop_quadruple"] = np.array([0, 0, 1, 1], dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, frame_interval={self.frame_interval}, "
            f"test_mode={self.test_mode})"
        )


def _proposal_bounds(proposal: Any, index: int) -> Tuple[int, int]:
    """``(start_frame, end_frame)`` of an SSN proposal (an object with those attributes, or a dict)."""
    if isinstance(proposal, dict):
        try:
            return int(proposal["start_frame"]), int(proposal["end_frame"])
        except KeyError as err:
            raise ConfigError(f"SampleProposalFrames: proposal {index} has no key {err.args[0]!r}") from None
    try:
        return int(proposal.start_frame), int(proposal.end_frame)
    except AttributeError:
        raise ConfigError(
            f"SampleProposalFrames: proposal {index} ({type(proposal).__name__}) has no start_frame/end_frame"
        ) from None


@PIPELINES.register()
class SampleProposalFrames(SampleFrames):
    """Sample frames from the starting, course and ending stages of SSN proposals.

    Required keys: ``total_frames``, ``start_index`` and, in train/val mode, ``out_proposals`` (a
    list whose items ``p`` hold the proposal at ``p[0][1]``, an object or dict with ``start_frame``
    and ``end_frame``). Added or modified keys: ``frame_inds``, ``clip_len``, ``frame_interval``,
    ``num_clips``, ``num_proposals`` (train/val).

    Args:
        clip_len: Frames per clip. No default.
        body_segments: Segments in the course stage. No default.
        aug_segments: Segments in the starting and ending stages (two ints). No default.
        aug_ratio: Length of the starting/ending stage relative to the proposal (one number or two).
            No default.
        frame_interval: Temporal stride. Default: 1.
        test_interval: Distance between clip starts in test mode. Default: 6.
        temporal_jitter: Random per-frame offset. Default: False.
        mode: ``'train'``, ``'val'`` or ``'test'``. Default: ``'train'``.
        seed: None (global numpy RNG), an int or a ``numpy.random.Generator``. Default: None.
    """

    def __init__(
        self,
        clip_len: int,
        body_segments: int,
        aug_segments: Sequence[int],
        aug_ratio: Union[int, float, Sequence[Union[int, float]]],
        frame_interval: int = 1,
        test_interval: int = 6,
        temporal_jitter: bool = False,
        mode: str = "train",
        seed: SeedLike = None,
    ):
        super().__init__(clip_len, frame_interval=frame_interval, temporal_jitter=temporal_jitter, seed=seed)
        if isinstance(aug_ratio, (list, tuple)):
            aug_ratio = tuple(aug_ratio)
        else:
            aug_ratio = (aug_ratio, aug_ratio)
        if len(aug_ratio) != 2 or not all(
            isinstance(r, (int, float)) and not isinstance(r, bool) for r in aug_ratio
        ):
            raise ConfigError(f"SampleProposalFrames: aug_ratio must be a number or two numbers, got {aug_ratio!r}")
        if not isinstance(aug_segments, (list, tuple)) or len(aug_segments) != 2:
            raise ConfigError(f"SampleProposalFrames: aug_segments must be two ints, got {aug_segments!r}")
        if mode not in ("train", "val", "test"):
            raise ConfigError(f"SampleProposalFrames: mode must be 'train', 'val' or 'test', got {mode!r}")
        self.body_segments = body_segments
        self.aug_segments = tuple(aug_segments)
        self.aug_ratio = aug_ratio
        self.mode = mode
        self.test_interval = test_interval

    def _get_train_indices(self, valid_length: int, num_segments: int) -> np.ndarray:
        avg_interval = (valid_length + 1) // num_segments
        if avg_interval > 0:
            base = np.arange(num_segments) * avg_interval
            return base + self.np_random.randint(avg_interval, size=num_segments)
        return np.zeros((num_segments,), dtype=np.int64)

    @staticmethod
    def _get_val_indices(valid_length: int, num_segments: int) -> np.ndarray:
        if valid_length >= num_segments:
            avg_interval = valid_length / float(num_segments)
            base = np.arange(num_segments) * avg_interval
            return (base + avg_interval / 2.0).astype(np.int64)
        return np.zeros((num_segments,), dtype=np.int64)

    def _get_proposal_clips(self, bounds: Tuple[int, int], num_frames: int) -> np.ndarray:
        start_frame, end_frame = bounds
        span = self.clip_len * self.frame_interval
        duration = end_frame - start_frame
        if duration == 0:
            raise ConfigError(f"SampleProposalFrames: proposal [{start_frame}, {end_frame}) has zero length")
        valid_length = duration - span
        valid_starting = max(0, start_frame - int(duration * self.aug_ratio[0]))
        valid_ending = min(num_frames - span + 1, end_frame - 1 + int(duration * self.aug_ratio[1]))
        valid_starting_length = start_frame - valid_starting - span
        valid_ending_length = (valid_ending - end_frame + 1) - span
        pick = self._get_train_indices if self.mode == "train" else self._get_val_indices
        starting = pick(valid_starting_length, self.aug_segments[0]) + valid_starting
        course = pick(valid_length, self.body_segments) + start_frame
        ending = pick(valid_ending_length, self.aug_segments[1]) + end_frame
        return np.concatenate((starting, course, ending))

    def _sample_proposal_clips(self, num_frames: int, proposals: Optional[List[Any]]) -> np.ndarray:
        if self.mode == "test":
            span = self.clip_len * self.frame_interval
            return np.arange(0, num_frames - span, self.test_interval, dtype=np.int64)
        if proposals is None:
            raise ConfigError(f"SampleProposalFrames: mode {self.mode!r} needs results['out_proposals']")
        offsets = np.zeros((0,), dtype=np.float64)
        for index, proposal in enumerate(proposals):
            bounds = _proposal_bounds(proposal[0][1], index)
            offsets = np.concatenate([offsets, self._get_proposal_clips(bounds, num_frames)])
        return offsets

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("total_frames", "start_index"), "SampleProposalFrames")
        total_frames = results["total_frames"]
        proposals = results.get("out_proposals", None)
        clip_offsets = self._sample_proposal_clips(total_frames, proposals)
        frame_inds = (clip_offsets[:, None] + np.arange(self.clip_len)[None, :] * self.frame_interval).reshape(-1)
        if self.temporal_jitter:
            frame_inds = frame_inds + self.np_random.randint(self.frame_interval, size=len(frame_inds))
        frame_inds = np.mod(frame_inds, total_frames) + results["start_index"]
        results["frame_inds"] = np.asarray(frame_inds).astype(np.int64)
        results["clip_len"] = self.clip_len
        results["frame_interval"] = self.frame_interval
        results["num_clips"] = self.body_segments + self.aug_segments[0] + self.aug_segments[1]
        if self.mode in ("train", "val"):
            results["num_proposals"] = len(proposals)
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, body_segments={self.body_segments}, "
            f"aug_segments={self.aug_segments}, aug_ratio={self.aug_ratio}, "
            f"frame_interval={self.frame_interval}, test_interval={self.test_interval}, "
            f"temporal_jitter={self.temporal_jitter}, mode={self.mode})"
        )

"""Pose pipeline steps (mmaction2 ``pose_loading.py`` and the pose parts of ``augmentations.py`` / ``formatting.py``).

A pose sample holds ``keypoint`` ``(M, T, V, 2 or 3)`` (M persons, T frames, V joints; pixel
coordinates, a coordinate of 0 meaning "not detected"), optionally ``keypoint_score`` ``(M, T, V)``,
``total_frames`` and ``img_shape``. The sampling steps write ``frame_inds``; :class:`PoseDecode`
selects those frames. Then either :class:`GeneratePoseTarget` renders heatmaps ``imgs`` for PoseC3D
(after :class:`PoseCompact` and the keypoint-aware ``Resize`` / crops / ``Flip`` of
``augmentations``), or :class:`FormatGCNInput` (after :class:`JointToBone` / :class:`PoseNormalize`)
emits the ``(C, T, V, M)`` keypoints of ST-GCN and 2s-AGCN.

Random choices use numpy's global RNG like mmaction2 (``np.random.seed`` replays the reference);
:class:`UniformSampleFrames` in test mode draws from its own ``RandomState(seed)``, which gives the
reference's indices without reseeding the global RNG.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ...errors import ConfigError, ShapeError
from ...registry import PIPELINES
from .compose import PipelineStep, require_keys

COCO_SKELETON = ((0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8), (8, 10), (5, 11), (11, 13),
                 (13, 15), (6, 12), (12, 14), (14, 16), (11, 12))
COCO_LEFT_KP = (1, 3, 5, 7, 9, 11, 13, 15)
COCO_RIGHT_KP = (2, 4, 6, 8, 10, 12, 14, 16)
# JointToBone: (joint, the joint it hangs from) per dataset layout; a root points at itself (bone 0)
BONE_PAIRS = {
    "nturgb+d": ((0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20), (9, 8), (10, 9),
                 (11, 10), (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18), (21, 22),
                 (20, 20), (22, 7), (23, 24), (24, 11)),
    "openpose-18": ((0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9),
                    (11, 5), (12, 11), (13, 12), (14, 0), (15, 0), (16, 14), (17, 15)),
    "coco": ((0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7), (10, 8), (11, 0),
             (12, 0), (13, 11), (14, 12), (15, 13), (16, 14)),
}
HEATMAP_EPS = 1e-4  # joints (or limbs) scored below this are not drawn


def _positive_int(value: Any, name: str, step: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{step}: {name} must be a positive int, got {value!r}")


def _keypoints(results: Dict[str, Any], step: str, ndim: int = 4) -> np.ndarray:
    require_keys(results, ("keypoint",), step)
    keypoint = np.asarray(results["keypoint"])
    if keypoint.ndim != ndim:
        layout = "(M, T, V, C)" if ndim == 4 else f"{ndim} axes"
        raise ShapeError(f"{step}: results['keypoint'] must be {layout}, got shape {keypoint.shape}")
    return keypoint


# ---------------------------------------------------------------------------------------------
# sampling and decoding
# ---------------------------------------------------------------------------------------------


@PIPELINES.register()
class UniformSampleFrames(PipelineStep):
    """Split the video into ``clip_len`` equal segments and take one frame of each (PoseC3D's sampler).

    Videos shorter than ``clip_len`` are read from a random start and looped; videos shorter than
    twice ``clip_len`` get ``total_frames - clip_len`` random one-frame gaps. Required keys:
    ``total_frames``, ``start_index``; added: ``frame_inds``, ``clip_len``, ``frame_interval`` (None),
    ``num_clips``.

    Args:
        clip_len: Frames per clip.
        num_clips: Clips (test mode only; training draws one). Default 1.
        test_mode: Sample reproducibly from ``RandomState(seed)``. Default ``False``.
        seed: The test-mode seed. Default 255.
    """

    def __init__(self, clip_len: int, num_clips: int = 1, test_mode: bool = False, seed: int = 255):
        _positive_int(clip_len, "clip_len", "UniformSampleFrames")
        _positive_int(num_clips, "num_clips", "UniformSampleFrames")
        if not test_mode and num_clips != 1:
            raise ConfigError(f"UniformSampleFrames: training samples one clip, got num_clips={num_clips} "
                              "(set test_mode=True for several)")
        self.clip_len = clip_len
        self.num_clips = num_clips
        self.test_mode = test_mode
        self.seed = seed

    def _one_clip(self, rng, num_frames: int) -> np.ndarray:
        clip_len = self.clip_len
        if num_frames < 2 * clip_len:
            # one frame per step, with num_frames - clip_len steps of two frames at random positions
            gaps = rng.choice(clip_len + 1, num_frames - clip_len, replace=False)
            offset = np.zeros(clip_len + 1, dtype=np.int64)
            offset[gaps] = 1
            return np.arange(clip_len) + np.cumsum(offset)[:-1]
        bounds = np.array([i * num_frames // clip_len for i in range(clip_len + 1)])
        return bounds[:clip_len] + rng.randint(np.diff(bounds))

    def _train_clips(self, num_frames: int) -> np.ndarray:
        rng = self.np_random
        if num_frames < self.clip_len:
            start = rng.randint(0, num_frames)
            return np.arange(start, start + self.clip_len)
        return self._one_clip(rng, num_frames)

    def _test_clips(self, num_frames: int) -> np.ndarray:
        rng = np.random.RandomState(self.seed)
        if num_frames < self.clip_len:
            if num_frames < self.num_clips:
                starts = list(range(self.num_clips))
            else:
                starts = [i * num_frames // self.num_clips for i in range(self.num_clips)]
            return np.concatenate([np.arange(s, s + self.clip_len) for s in starts])
        return np.concatenate([self._one_clip(rng, num_frames) for _ in range(self.num_clips)])

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("total_frames", "start_index"), "UniformSampleFrames")
        num_frames = int(results["total_frames"])
        if num_frames < 1:
            raise ShapeError(f"UniformSampleFrames: total_frames must be >= 1, got {num_frames}")
        inds = self._test_clips(num_frames) if self.test_mode else self._train_clips(num_frames)
        results["frame_inds"] = (np.mod(inds, num_frames) + results["start_index"]).astype(np.int64)
        results["clip_len"] = self.clip_len
        results["frame_interval"] = None
        results["num_clips"] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(clip_len={self.clip_len}, num_clips={self.num_clips}, "
                f"test_mode={self.test_mode}, seed={self.seed})")


@PIPELINES.register()
class PaddingWithLoop(PipelineStep):
    """Take frames ``0 .. clip_len - 1``, looping short videos (ST-GCN's sampler).

    Required key: ``total_frames``; added: ``frame_inds``, ``clip_len``, ``frame_interval`` (None),
    ``num_clips``.

    Args:
        clip_len: Frames per clip.
        num_clips: Recorded as ``num_clips``. Default 1.
    """

    def __init__(self, clip_len: int, num_clips: int = 1):
        _positive_int(clip_len, "clip_len", "PaddingWithLoop")
        _positive_int(num_clips, "num_clips", "PaddingWithLoop")
        self.clip_len = clip_len
        self.num_clips = num_clips

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("total_frames",), "PaddingWithLoop")
        if int(results["total_frames"]) < 1:
            raise ShapeError(f"PaddingWithLoop: total_frames must be >= 1, got {results['total_frames']}")
        results["frame_inds"] = np.mod(np.arange(self.clip_len), int(results["total_frames"])).astype(np.int64)
        results["clip_len"] = self.clip_len
        results["frame_interval"] = None
        results["num_clips"] = self.num_clips
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(clip_len={self.clip_len}, num_clips={self.num_clips})"


@PIPELINES.register()
class PoseDecode(PipelineStep):
    """Select the sampled frames of ``keypoint`` and ``keypoint_score`` (as float32).

    Uses ``frame_inds`` (default: every frame) plus ``offset`` (default 0). Modified keys:
    ``keypoint``, ``keypoint_score``, ``frame_inds``.
    """

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        if "frame_inds" not in results:
            require_keys(results, ("total_frames",), "PoseDecode")
            results["frame_inds"] = np.arange(results["total_frames"])
        if results["frame_inds"].ndim != 1:
            results["frame_inds"] = np.squeeze(results["frame_inds"])
        frame_inds = results["frame_inds"] + results.get("offset", 0)
        for key in ("keypoint_score", "keypoint"):
            if key in results:
                values = np.asarray(results[key])
                last = int(frame_inds.max()) if frame_inds.size else -1
                if values.ndim < 2 or last >= values.shape[1]:
                    raise ShapeError(f"PoseDecode: results[{key!r}] has shape {values.shape}; frame index {last} "
                                     "needs (M, T, ...) with T above it")
                results[key] = values[:, frame_inds].astype(np.float32)
        return results


# ---------------------------------------------------------------------------------------------
# geometry
# ---------------------------------------------------------------------------------------------


@PIPELINES.register()
class PoseCompact(PipelineStep):
    """Crop the frame to the box around every detected joint, enlarged by ``padding``.

    Keypoints move into the box (undetected ones stay 0); ``img_shape`` becomes the box's size and
    ``crop_quadruple`` composes it. Nothing changes when the joints span less than ``threshold``
    pixels in x or y. Required keys: ``img_shape``, ``keypoint``.

    Args:
        padding: Relative enlargement of the tight box (0.25: 1.25x width and height). Default 0.25.
        threshold: Smallest joint span (pixels) that is compacted. Default 10.
        hw_ratio: Least height/width ratio of the box (a float, or ``(min h/w, min w/h)`` as a pair). Default ``None``.
        allow_imgpad: Let the box extend past the image to meet ``hw_ratio``. Default ``True``.
    """

    def __init__(self, padding: float = 0.25, threshold: int = 10,
                 hw_ratio: Optional[Union[float, Sequence[float]]] = None, allow_imgpad: bool = True):
        if padding < 0:
            raise ConfigError(f"PoseCompact: padding must be >= 0, got {padding}")
        if hw_ratio is not None:
            hw_ratio = tuple(hw_ratio) if isinstance(hw_ratio, (list, tuple)) else (hw_ratio, hw_ratio)
            if len(hw_ratio) != 2:
                raise ConfigError(f"PoseCompact: hw_ratio must be a number or a pair, got {hw_ratio!r}")
        self.padding = padding
        self.threshold = threshold
        self.hw_ratio = hw_ratio
        self.allow_imgpad = allow_imgpad

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("img_shape",), "PoseCompact")
        h, w = results["img_shape"]
        kp = _keypoints(results, "PoseCompact")
        kp[np.isnan(kp)] = 0.0
        kp_x, kp_y = kp[..., 0], kp[..., 1]
        min_x = np.min(kp_x[kp_x != 0], initial=np.inf)
        min_y = np.min(kp_y[kp_y != 0], initial=np.inf)
        max_x = np.max(kp_x[kp_x != 0], initial=-np.inf)
        max_y = np.max(kp_y[kp_y != 0], initial=-np.inf)
        if max_x - min_x < self.threshold or max_y - min_y < self.threshold:
            results["keypoint"] = kp
            return results
        center = ((max_x + min_x) / 2, (max_y + min_y) / 2)
        half_width = (max_x - min_x) / 2 * (1 + self.padding)
        half_height = (max_y - min_y) / 2 * (1 + self.padding)
        if self.hw_ratio is not None:
            half_height = max(self.hw_ratio[0] * half_width, half_height)
            half_width = max(1 / self.hw_ratio[1] * half_height, half_width)
        min_x, max_x = center[0] - half_width, center[0] + half_width
        min_y, max_y = center[1] - half_height, center[1] + half_height
        if self.allow_imgpad:
            min_x, min_y, max_x, max_y = int(min_x), int(min_y), int(max_x), int(max_y)
        else:
            min_x, min_y = int(max(0, min_x)), int(max(0, min_y))
            max_x, max_y = int(min(w, max_x)), int(min(h, max_y))
        kp_x[kp_x != 0] -= min_x
        kp_y[kp_y != 0] -= min_y
        results["keypoint"] = kp
        results["img_shape"] = (max_y - min_y, max_x - min_x)
        old = results.get("crop_quadruple", (0.0, 0.0, 1.0, 1.0))
        new = (min_x / w, min_y / h, (max_x - min_x) / w, (max_y - min_y) / h)
        results["crop_quadruple"] = (old[0] + old[2] * new[0], old[1] + old[3] * new[1], old[2] * new[2], old[3] * new[3])
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(padding={self.padding}, threshold={self.threshold}, "
                f"hw_ratio={self.hw_ratio}, allow_imgpad={self.allow_imgpad})")


# ---------------------------------------------------------------------------------------------
# heatmaps (PoseC3D)
# ---------------------------------------------------------------------------------------------


@PIPELINES.register()
class GeneratePoseTarget(PipelineStep):
    """Render keypoints as Gaussian heatmaps ``imgs`` ``(T, H, W, K)`` (float32) at ``img_shape``.

    Each channel is one keypoint (``with_kp``) and/or one limb (``with_limb``: the Gaussian of the
    distance to the segment between two joints); several persons combine by maximum. Required keys:
    ``keypoint`` ``(M, T, V, 2)``, ``img_shape``, optionally ``keypoint_score``.

    Args:
        sigma: Std of the Gaussians, in pixels. Default 0.6.
        use_score: Scale each Gaussian by the joint's score (a limb by the smaller of its two). Default ``True``.
        with_kp: Keypoint channels. Default ``True``.
        with_limb: Limb channels, one per pair of ``skeletons``. Default ``False``.
        skeletons: Limbs as joint-index pairs. Default: the 17 COCO limbs.
        double: Also render the horizontally flipped sample (``Flip`` with ``left_kp``/``right_kp``)
            and stack it after the original: ``2T`` frames. Default ``False``.
        left_kp: Left joints swapped with ``right_kp`` when flipping. Default: COCO's.
        right_kp: Right joints. Default: COCO's.
    """

    def __init__(self, sigma: float = 0.6, use_score: bool = True, with_kp: bool = True, with_limb: bool = False,
                 skeletons: Sequence[Sequence[int]] = COCO_SKELETON, double: bool = False,
                 left_kp: Sequence[int] = COCO_LEFT_KP, right_kp: Sequence[int] = COCO_RIGHT_KP):
        if not (with_kp or with_limb):
            raise ConfigError("GeneratePoseTarget: at least one of with_kp and with_limb must be True")
        if sigma <= 0:
            raise ConfigError(f"GeneratePoseTarget: sigma must be > 0, got {sigma}")
        if any(len(limb) != 2 for limb in skeletons):
            raise ConfigError(f"GeneratePoseTarget: skeletons must be joint pairs, got {skeletons!r}")
        if len(left_kp) != len(right_kp):
            raise ConfigError(f"GeneratePoseTarget: left_kp and right_kp differ in length ({len(left_kp)} vs {len(right_kp)})")
        self.sigma = sigma
        self.use_score = use_score
        self.with_kp = with_kp
        self.with_limb = with_limb
        self.skeletons = tuple(tuple(limb) for limb in skeletons)
        self.double = double
        self.left_kp = tuple(left_kp)
        self.right_kp = tuple(right_kp)

    def keypoint_heatmap(self, img_h: int, img_w: int, centers: np.ndarray, max_values: np.ndarray) -> np.ndarray:
        """``(img_h, img_w)`` map: the maximum over persons of ``value * exp(-d^2 / 2 sigma^2)`` around each center."""
        heatmap = np.zeros((img_h, img_w), dtype=np.float32)
        sigma = self.sigma
        for (mu_x, mu_y), max_value in zip(centers[:, :2], max_values):
            if max_value < HEATMAP_EPS:
                continue
            st_x, ed_x = max(int(mu_x - 3 * sigma), 0), min(int(mu_x + 3 * sigma) + 1, img_w)
            st_y, ed_y = max(int(mu_y - 3 * sigma), 0), min(int(mu_y + 3 * sigma) + 1, img_h)
            x = np.arange(st_x, ed_x, 1, np.float32)
            y = np.arange(st_y, ed_y, 1, np.float32)[:, None]
            if not (x.size and y.size):
                continue  # the Gaussian lies outside the frame
            patch = np.exp(-((x - mu_x) ** 2 + (y - mu_y) ** 2) / 2 / sigma ** 2) * max_value
            heatmap[st_y:ed_y, st_x:ed_x] = np.maximum(heatmap[st_y:ed_y, st_x:ed_x], patch)
        return heatmap

    def limb_heatmap(self, img_h: int, img_w: int, starts: np.ndarray, ends: np.ndarray,
                     start_values: np.ndarray, end_values: np.ndarray) -> np.ndarray:
        """``(img_h, img_w)`` map: the maximum over persons of the Gaussian of the distance to segment ``start-end``."""
        heatmap = np.zeros((img_h, img_w), dtype=np.float32)
        sigma = self.sigma
        for start, end, start_value, end_value in zip(starts[:, :2], ends[:, :2], start_values, end_values):
            value = min(start_value, end_value)
            if value < HEATMAP_EPS:
                continue
            min_x = max(int(min(start[0], end[0]) - 3 * sigma), 0)
            max_x = min(int(max(start[0], end[0]) + 3 * sigma) + 1, img_w)
            min_y = max(int(min(start[1], end[1]) - 3 * sigma), 0)
            max_y = min(int(max(start[1], end[1]) + 3 * sigma) + 1, img_h)
            x = np.arange(min_x, max_x, 1, np.float32)
            y = np.arange(min_y, max_y, 1, np.float32)[:, None]
            if not (x.size and y.size):
                continue
            d2_ab = (start[0] - end[0]) ** 2 + (start[1] - end[1]) ** 2
            if d2_ab < 1:  # a degenerate limb is drawn as its start joint
                point = self.keypoint_heatmap(img_h, img_w, start[None], np.array([start_value]))
                heatmap = np.maximum(heatmap, point)
                continue
            d2_start = (x - start[0]) ** 2 + (y - start[1]) ** 2
            d2_end = (x - end[0]) ** 2 + (y - end[1]) ** 2
            coeff = (d2_start - d2_end + d2_ab) / 2.0 / d2_ab  # projection onto the segment, 0 at start, 1 at end
            position = np.stack(np.broadcast_arrays(x, y), axis=-1)
            projection = start + coeff[..., None] * (end - start)
            d2_line = ((position - projection) ** 2).sum(-1, dtype=np.float32)
            d2_seg = np.where(coeff <= 0, d2_start, np.where(coeff >= 1, d2_end, d2_line)).astype(np.float64)
            patch = np.exp(-d2_seg / 2.0 / sigma ** 2) * value
            heatmap[min_y:max_y, min_x:max_x] = np.maximum(heatmap[min_y:max_y, min_x:max_x], patch)
        return heatmap

    def _frames(self, results: Dict[str, Any]) -> List[np.ndarray]:
        kps = _keypoints(results, "GeneratePoseTarget")
        require_keys(results, ("img_shape",), "GeneratePoseTarget")
        scores = results.get("keypoint_score")
        scores = np.ones(kps.shape[:-1], dtype=np.float32) if scores is None else np.asarray(scores)
        if scores.shape != kps.shape[:-1]:
            raise ShapeError(f"GeneratePoseTarget: keypoint_score has shape {scores.shape}, expected {kps.shape[:-1]} "
                             "(the keypoint shape without its last axis)")
        num_joints = kps.shape[2]
        used = [j for limb in self.skeletons for j in limb] if self.with_limb else []
        if used and max(used) >= num_joints:
            raise ShapeError(f"GeneratePoseTarget: skeletons use joint {max(used)}, but keypoint has {num_joints} joints")
        img_h, img_w = (int(v) for v in results["img_shape"])
        frames = []
        for t in range(kps.shape[1]):
            frame_kps = kps[:, t]
            values = scores[:, t] if self.use_score else np.ones(scores[:, t].shape, dtype=np.float32)
            maps = []
            if self.with_kp:
                maps += [self.keypoint_heatmap(img_h, img_w, frame_kps[:, j], values[:, j]) for j in range(num_joints)]
            if self.with_limb:
                maps += [self.limb_heatmap(img_h, img_w, frame_kps[:, a], frame_kps[:, b], values[:, a], values[:, b])
                         for a, b in self.skeletons]
            frames.append(np.stack(maps, axis=-1))
        return frames

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        if not self.double:
            results["imgs"] = np.stack(self._frames(results))
            return results
        flip = PIPELINES.build(dict(type="Flip", flip_ratio=1, left_kp=list(self.left_kp), right_kp=list(self.right_kp)))
        flipped = flip(copy.deepcopy(results))
        results["imgs"] = np.concatenate([self._frames(results), self._frames(flipped)])
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(sigma={self.sigma}, use_score={self.use_score}, with_kp={self.with_kp}, "
                f"with_limb={self.with_limb}, skeletons={self.skeletons}, double={self.double}, "
                f"left_kp={self.left_kp}, right_kp={self.right_kp})")


# ---------------------------------------------------------------------------------------------
# graph input (ST-GCN, 2s-AGCN)
# ---------------------------------------------------------------------------------------------


@PIPELINES.register()
class PoseNormalize(PipelineStep):
    """``(keypoint - mean) / (max_value - min_value)`` per channel of ``(C, T, V, M)`` keypoints.

    Adds ``keypoint_norm_cfg``. Args (one value per channel):
        mean: Default ``(960., 540., 0.5)``.
        min_value: Default ``(0., 0., 0.)``.
        max_value: Default ``(1920, 1080, 1.)``.
    """

    def __init__(self, mean: Sequence[float] = (960.0, 540.0, 0.5), min_value: Sequence[float] = (0.0, 0.0, 0.0),
                 max_value: Sequence[float] = (1920, 1080, 1.0)):
        if not len(mean) == len(min_value) == len(max_value):
            raise ConfigError(f"PoseNormalize: mean, min_value and max_value need one value per channel, got "
                              f"{len(mean)}, {len(min_value)} and {len(max_value)}")
        self.mean = np.array(mean, dtype=np.float32).reshape(-1, 1, 1, 1)
        self.min_value = np.array(min_value, dtype=np.float32).reshape(-1, 1, 1, 1)
        self.max_value = np.array(max_value, dtype=np.float32).reshape(-1, 1, 1, 1)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        keypoint = _keypoints(results, "PoseNormalize")
        if keypoint.shape[0] != self.mean.shape[0]:
            raise ShapeError(f"PoseNormalize: keypoint must be (C, T, V, M) with C={self.mean.shape[0]} "
                             f"(after FormatGCNInput), got shape {keypoint.shape}")
        results["keypoint"] = (keypoint - self.mean) / (self.max_value - self.min_value)
        results["keypoint_norm_cfg"] = dict(mean=self.mean, min_value=self.min_value, max_value=self.max_value)
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(mean={self.mean.ravel().tolist()}, min_value={self.min_value.ravel().tolist()}, "
                f"max_value={self.max_value.ravel().tolist()})")


@PIPELINES.register()
class JointToBone(PipelineStep):
    """Replace each joint by its bone: ``joint - parent`` (2s-AGCN's bone stream).

    With 3 channels on ``openpose-18`` / ``coco``, channel 2 is the mean score of the two joints.

    Args:
        dataset: ``"nturgb+d"`` (default), ``"openpose-18"`` or ``"coco"``.
    """

    def __init__(self, dataset: str = "nturgb+d"):
        if dataset not in BONE_PAIRS:
            raise ConfigError(f"JointToBone: dataset {dataset!r} is not one of {sorted(BONE_PAIRS)}")
        self.dataset = dataset
        self.pairs = BONE_PAIRS[dataset]

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        keypoint = _keypoints(results, "JointToBone")
        channels, joints = keypoint.shape[3], keypoint.shape[2]
        if channels not in (2, 3) or joints != len(self.pairs):
            raise ShapeError(f"JointToBone: keypoint must be (M, T, {len(self.pairs)}, 2 or 3) for {self.dataset}, "
                             f"got shape {keypoint.shape}")
        child = [v for v, _ in self.pairs]
        parent = [p for _, p in self.pairs]
        bone = np.zeros(keypoint.shape, dtype=np.float32)
        bone[..., child, :] = keypoint[..., child, :] - keypoint[..., parent, :]
        if channels == 3 and self.dataset in ("openpose-18", "coco"):
            bone[..., child, 2] = (keypoint[..., child, 2] + keypoint[..., parent, 2]) / 2
        results["keypoint"] = bone
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dataset_type='{self.dataset}')"


@PIPELINES.register()
class FormatGCNInput(PipelineStep):
    """``keypoint`` ``(M, T, V, C)`` (+ ``keypoint_score`` as one more channel) → ``(C, T, V, num_person)``.

    Persons beyond ``num_person`` are dropped, missing ones are zeros. Adds ``input_shape``.

    Args:
        input_format: Only ``"NCTVM"`` (the batch axis comes from collation).
        num_person: Persons ``M`` of the output. Default 2.
    """

    def __init__(self, input_format: str, num_person: int = 2):
        if input_format != "NCTVM":
            raise ConfigError(f"FormatGCNInput: input_format must be 'NCTVM', got {input_format!r}")
        _positive_int(num_person, "num_person", "FormatGCNInput")
        self.input_format = input_format
        self.num_person = num_person

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        keypoint = _keypoints(results, "FormatGCNInput")
        if "keypoint_score" in results:
            score = np.asarray(results["keypoint_score"])
            if score.shape != keypoint.shape[:-1]:
                raise ShapeError(f"FormatGCNInput: keypoint_score has shape {score.shape}, expected {keypoint.shape[:-1]}")
            keypoint = np.concatenate((keypoint, score[..., None]), axis=-1)
        keypoint = np.transpose(keypoint, (3, 1, 2, 0))  # M T V C -> C T V M
        persons = keypoint.shape[-1]
        if persons < self.num_person:
            pad = np.zeros(keypoint.shape[:-1] + (self.num_person - persons,), dtype=keypoint.dtype)
            keypoint = np.concatenate((keypoint, pad), axis=-1)
        elif persons > self.num_person:
            keypoint = keypoint[..., :self.num_person]
        results["keypoint"] = keypoint
        results["input_shape"] = keypoint.shape
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_format='{self.input_format}')"


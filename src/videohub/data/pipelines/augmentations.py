"""Geometric and photometric steps: resize, crops, flip, colour jitter and normalization.

Every step keeps mmaction2 0.24's contract (required / added keys, random calls and their order,
``repr``). Images are ``H x W x C`` numpy arrays (``H x W`` for flow), in a list or one array.
Box keys ``gt_bboxes`` / ``proposals`` (pixels, ``x1, y1, x2, y2``) and pose keys ``keypoint``
(``M x T x V x 2``) follow the geometry as in mmaction2.
"""

from __future__ import annotations

import random
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...errors import ConfigError, ShapeError
from ...registry import PIPELINES
from .compose import PipelineStep, SeedLike, _PythonRandom, require_keys
from .lazy import (
    FLIP_DIRECTIONS,
    check_interpolation,
    imflip,
    iminvert,
    imnormalize_,
    imresize,
    init_lazy_if_proper,
    lazy_crop,
    rescale_size,
)


def _pair_of_ints(value: Any, name: str, step: str) -> Tuple[int, int]:
    """``torch``'s ``_pair`` plus a check: an int ``n`` gives ``(n, n)``, a pair stays a pair."""
    pair = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise ConfigError(f"{step}: {name} must be an int or a pair of ints (w, h), got {value!r}")
    return tuple(int(v) for v in pair)


def _float_pair(value: Any, name: str, step: str) -> Tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"{step}: {name} must be a pair of numbers, got {value!r}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise ConfigError(f"{step}: {name} must be a pair of numbers, got {value!r}")
    return tuple(float(v) for v in value)


def _update_crop_quadruple(results: Dict[str, Any], left, top, new_w, new_h, img_w, img_h) -> None:
    """Compose the crop into ``results['crop_quadruple']`` (normalized ``x, y, w, h``; float32)."""
    if "crop_quadruple" not in results:
        results["crop_quadruple"] = np.array([0, 0, 1, 1], dtype=np.float32)
    x_ratio, y_ratio = left / img_w, top / img_h
    w_ratio, h_ratio = new_w / img_w, new_h / img_h
    old = results["crop_quadruple"]
    results["crop_quadruple"] = np.array(
        [old[0] + x_ratio * old[2], old[1] + y_ratio * old[3], w_ratio * old[2], h_ratio * old[3]],
        dtype=np.float32,
    )


def _box_crop(box: np.ndarray, crop_bbox: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = crop_bbox
    img_w, img_h = x2 - x1, y2 - y1
    out = box.copy()
    out[..., 0::2] = np.clip(box[..., 0::2] - x1, 0, img_w - 1)
    out[..., 1::2] = np.clip(box[..., 1::2] - y1, 0, img_h - 1)
    return out


def _crop_boxes(results: Dict[str, Any], crop_bbox: np.ndarray, step: str) -> None:
    results["gt_bboxes"] = _box_crop(results["gt_bboxes"], crop_bbox)
    proposals = results.get("proposals")
    if proposals is not None:
        if proposals.shape[1] != 4:
            raise ShapeError(f"{step}: results['proposals'] must be N x 4, got shape {tuple(proposals.shape)}")
        results["proposals"] = _box_crop(proposals, crop_bbox)


def _crop_frames(imgs: Union[List[np.ndarray], np.ndarray], bbox: Sequence[int]) -> List[np.ndarray]:
    x1, y1, x2, y2 = bbox
    return [img[y1:y2, x1:x2] for img in imgs]


class _CropBase(PipelineStep):
    """Shared tail of the single-crop steps: quadruple, keypoints, boxes, lazy bookkeeping."""

    lazy: bool

    def _apply_crop(self, results: Dict[str, Any], bbox: Tuple[Any, Any, Any, Any], img_shape: Tuple[int, int]):
        left, top, right, bottom = bbox
        img_h, img_w = img_shape
        new_w, new_h = right - left, bottom - top
        crop_bbox = np.array([left, top, right, bottom])
        results["crop_bbox"] = crop_bbox
        results["img_shape"] = (new_h, new_w)
        _update_crop_quadruple(results, left, top, new_w, new_h, img_w, img_h)
        if not self.lazy:
            if "keypoint" in results:
                results["keypoint"] = results["keypoint"] - crop_bbox[:2]
            if "imgs" in results:
                results["imgs"] = _crop_frames(results["imgs"], crop_bbox)
        else:
            lazy_crop(results["lazy"], (left, top, right, bottom), img_shape)
        if "gt_bboxes" in results:
            if self.lazy:
                raise ConfigError(f"{type(self).__name__}: boxes (gt_bboxes) are not supported with lazy=True")
            _crop_boxes(results, results["crop_bbox"], type(self).__name__)
        return results

    def _start(self, results: Dict[str, Any]) -> Tuple[int, int]:
        init_lazy_if_proper(results, self.lazy)
        if "keypoint" in results and self.lazy:
            raise ConfigError(f"{type(self).__name__}: keypoint augmentations are not compatible with lazy=True")
        return results["img_shape"]


@PIPELINES.register()
class RandomCrop(_CropBase):
    """Random square crop of side ``size``.

    Required keys: ``img_shape`` and ``imgs`` / ``keypoint`` (optional). Added or modified keys:
    ``imgs``, ``keypoint``, ``crop_bbox``, ``crop_quadruple``, ``img_shape``, ``lazy``.

    Args:
        size: Side of the square crop. No default.
        lazy: Record the crop for ``Fuse`` instead of cropping. Default: False.
        seed: None (global numpy RNG), an int or a ``numpy.random.Generator``. Default: None.
    """

    def __init__(self, size: int, lazy: bool = False, seed: SeedLike = None):
        if not isinstance(size, int) or isinstance(size, bool):
            raise ConfigError(f"RandomCrop: size must be an int, but got {type(size).__name__}")
        self.size = size
        self.lazy = lazy
        self._init_rng(seed)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        img_h, img_w = self._start(results)
        if self.size > img_h or self.size > img_w:
            raise ShapeError(f"RandomCrop: crop size {self.size} is larger than the image ({img_h} x {img_w})")
        y_offset = int(self.np_random.randint(0, img_h - self.size)) if img_h > self.size else 0
        x_offset = int(self.np_random.randint(0, img_w - self.size)) if img_w > self.size else 0
        bbox = (x_offset, y_offset, x_offset + self.size, y_offset + self.size)
        return self._apply_crop(results, bbox, (img_h, img_w))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, lazy={self.lazy})"


@PIPELINES.register()
class RandomResizedCrop(_CropBase):
    """Random crop with an area fraction and aspect ratio drawn from ranges (Inception-style).

    Required keys: ``img_shape`` and ``imgs`` / ``keypoint`` (optional). Added or modified keys:
    ``imgs``, ``keypoint``, ``crop_bbox``, ``crop_quadruple``, ``img_shape``, ``lazy``.

    Args:
        area_range: Range of the crop area as a fraction of the image. Default: (0.08, 1.0).
        aspect_ratio_range: Range of the crop's w/h ratio. Default: (3 / 4, 4 / 3).
        lazy: Record the crop for ``Fuse``. Default: False.
        seed: None (global numpy and python RNGs), an int or a ``numpy.random.Generator``. Default: None.
    """

    def __init__(
        self,
        area_range: Tuple[float, float] = (0.08, 1.0),
        aspect_ratio_range: Tuple[float, float] = (3 / 4, 4 / 3),
        lazy: bool = False,
        seed: SeedLike = None,
    ):
        self.area_range = _float_pair(area_range, "area_range", "RandomResizedCrop")
        self.aspect_ratio_range = _float_pair(aspect_ratio_range, "aspect_ratio_range", "RandomResizedCrop")
        if not 0 < self.area_range[0] <= self.area_range[1] <= 1:
            raise ConfigError(f"RandomResizedCrop: area_range must satisfy 0 < a <= b <= 1, got {self.area_range}")
        if not 0 < self.aspect_ratio_range[0] <= self.aspect_ratio_range[1]:
            raise ConfigError(
                f"RandomResizedCrop: aspect_ratio_range must satisfy 0 < a <= b, got {self.aspect_ratio_range}"
            )
        self.lazy = lazy
        self._init_rng(seed)

    @staticmethod
    def get_crop_bbox(
        img_shape: Tuple[int, int],
        area_range: Tuple[float, float],
        aspect_ratio_range: Tuple[float, float],
        max_attempts: int = 10,
        np_random: Any = np.random,
        py_random: Any = None,
    ) -> Tuple[int, int, int, int]:
        """A crop box ``(left, top, right, bottom)`` within the area and aspect-ratio ranges.

        ``max_attempts`` (default 10) candidates are drawn at once; the first that fits is placed
        at a random position, otherwise the centred square of the short side is returned.
        ``np_random`` (default ``np.random``) and ``py_random`` (default python's ``random``)
        are the random sources.
        """
        if py_random is None:
            py_random = _PythonRandom(random)
        img_h, img_w = img_shape
        area = img_h * img_w
        min_ar, max_ar = aspect_ratio_range
        aspect_ratios = np.exp(np_random.uniform(np.log(min_ar), np.log(max_ar), size=max_attempts))
        target_areas = np_random.uniform(*area_range, size=max_attempts) * area
        crop_ws = np.round(np.sqrt(target_areas * aspect_ratios)).astype(np.int32)
        crop_hs = np.round(np.sqrt(target_areas / aspect_ratios)).astype(np.int32)
        for crop_w, crop_h in zip(crop_ws, crop_hs):
            if crop_h <= img_h and crop_w <= img_w:
                x_offset = py_random.py_randint(0, img_w - crop_w)
                y_offset = py_random.py_randint(0, img_h - crop_h)
                return x_offset, y_offset, x_offset + crop_w, y_offset + crop_h
        side = min(img_h, img_w)
        x_offset = (img_w - side) // 2
        y_offset = (img_h - side) // 2
        return x_offset, y_offset, x_offset + side, y_offset + side

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        img_h, img_w = self._start(results)
        bbox = self.get_crop_bbox(
            (img_h, img_w), self.area_range, self.aspect_ratio_range, np_random=self.np_random, py_random=self.py_random
        )
        return self._apply_crop(results, bbox, (img_h, img_w))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(area_range={self.area_range}, "
            f"aspect_ratio_range={self.aspect_ratio_range}, lazy={self.lazy})"
        )


@PIPELINES.register()
class MultiScaleCrop(_CropBase):
    """Crop with width and height drawn from ``scales`` times the short side (TSN-style).

    Required keys: ``img_shape`` and ``imgs`` / ``keypoint`` (optional). Added or modified keys:
    ``imgs``, ``keypoint``, ``crop_bbox``, ``crop_quadruple``, ``img_shape``, ``scales``, ``lazy``.

    Args:
        input_size: ``(w, h)`` of the network input (an int means square); crop sides within 3
            pixels of it snap to it. No default.
        scales: Candidate scales of the short side. Default: (1,).
        max_wh_scale_gap: Largest allowed index gap between the width and height scales. Default: 1.
        random_crop: Random position instead of one of the fixed positions. Default: False.
        num_fixed_crops: 5 (corners + centre) or 13 (plus 8 more) fixed positions. Default: 5.
        lazy: Record the crop for ``Fuse``. Default: False.
        seed: None (python's global ``random``, as mmaction2), an int or a ``numpy.random.Generator``.
            Default: None.
    """

    def __init__(
        self,
        input_size: Union[int, Tuple[int, int]],
        scales: Tuple[float, ...] = (1,),
        max_wh_scale_gap: int = 1,
        random_crop: bool = False,
        num_fixed_crops: int = 5,
        lazy: bool = False,
        seed: SeedLike = None,
    ):
        self.input_size = _pair_of_ints(input_size, "input_size", "MultiScaleCrop")
        if not isinstance(scales, (list, tuple)) or not scales:
            raise ConfigError(f"MultiScaleCrop: scales must be a non-empty tuple, but got {scales!r}")
        if num_fixed_crops not in (5, 13):
            raise ConfigError(f"MultiScaleCrop: num_fixed_crops must be 5 or 13, but got {num_fixed_crops!r}")
        self.scales = tuple(scales)
        self.max_wh_scale_gap = max_wh_scale_gap
        self.random_crop = random_crop
        self.num_fixed_crops = num_fixed_crops
        self.lazy = lazy
        self._init_rng(seed)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        img_h, img_w = self._start(results)
        base_size = min(img_h, img_w)
        crop_sizes = [int(base_size * s) for s in self.scales]
        candidate_sizes = [
            [w, h]
            for i, h in enumerate(crop_sizes)
            for j, w in enumerate(crop_sizes)
            if abs(i - j) <= self.max_wh_scale_gap
        ]
        crop_size = list(self.py_random.py_choice(candidate_sizes))
        for i in range(2):
            if abs(crop_size[i] - self.input_size[i]) < 3:
                crop_size[i] = self.input_size[i]
        crop_w, crop_h = crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ShapeError(
                f"MultiScaleCrop: crop {crop_w} x {crop_h} (w x h) does not fit the image {img_w} x {img_h}; "
                f"input_size {self.input_size} is larger than the image"
            )
        if self.random_crop:
            x_offset = self.py_random.py_randint(0, img_w - crop_w)
            y_offset = self.py_random.py_randint(0, img_h - crop_h)
        else:
            w_step = (img_w - crop_w) // 4
            h_step = (img_h - crop_h) // 4
            candidates = [(0, 0), (4 * w_step, 0), (0, 4 * h_step), (4 * w_step, 4 * h_step), (2 * w_step, 2 * h_step)]
            if self.num_fixed_crops == 13:
                candidates += [
                    (0, 2 * h_step),
                    (4 * w_step, 2 * h_step),
                    (2 * w_step, 4 * h_step),
                    (2 * w_step, 0 * h_step),
                    (1 * w_step, 1 * h_step),
                    (3 * w_step, 1 * h_step),
                    (1 * w_step, 3 * h_step),
                    (3 * w_step, 3 * h_step),
                ]
            x_offset, y_offset = self.py_random.py_choice(candidates)
        results["scales"] = self.scales
        return self._apply_crop(results, (x_offset, y_offset, x_offset + crop_w, y_offset + crop_h), (img_h, img_w))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, scales={self.scales}, "
            f"max_wh_scale_gap={self.max_wh_scale_gap}, random_crop={self.random_crop}, "
            f"num_fixed_crops={self.num_fixed_crops}, lazy={self.lazy})"
        )


@PIPELINES.register()
class CenterCrop(_CropBase):
    """Crop the centre ``crop_size = (w, h)`` of the images.

    Required keys: ``img_shape`` and ``imgs`` / ``keypoint`` (optional). Added or modified keys:
    ``imgs``, ``keypoint``, ``crop_bbox``, ``crop_quadruple``, ``img_shape``, ``lazy``.

    Args:
        crop_size: ``(w, h)`` of the crop, or an int for a square. No default.
        lazy: Record the crop for ``Fuse``. Default: False.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]], lazy: bool = False):
        self.crop_size = _pair_of_ints(crop_size, "crop_size", "CenterCrop")
        self.lazy = lazy

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        img_h, img_w = self._start(results)
        crop_w, crop_h = self.crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ShapeError(
                f"CenterCrop: crop (w, h) = {self.crop_size} is larger than the image {img_w} x {img_h}; "
                "resize first"
            )
        left = (img_w - crop_w) // 2
        top = (img_h - crop_h) // 2
        return self._apply_crop(results, (left, top, left + crop_w, top + crop_h), (img_h, img_w))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(crop_size={self.crop_size}, lazy={self.lazy})"


def _multi_crop(results: Dict[str, Any], offsets, crop_w: int, crop_h: int, with_flip: bool) -> Dict[str, Any]:
    imgs = results["imgs"]
    crops: List[np.ndarray] = []
    boxes: List[List[int]] = []
    for x_offset, y_offset in offsets:
        bbox = [x_offset, y_offset, x_offset + crop_w, y_offset + crop_h]
        crop = [img[y_offset : y_offset + crop_h, x_offset : x_offset + crop_w] for img in imgs]
        crops.extend(crop)
        copies = 1
        if with_flip:
            crops.extend(np.flip(c, axis=1).copy() for c in crop)
            copies = 2
        boxes.extend([bbox] * (len(imgs) * copies))
    results["imgs"] = crops
    results["crop_bbox"] = np.array(boxes)
    results["img_shape"] = crops[0].shape[:2]
    return results


@PIPELINES.register()
class ThreeCrop(PipelineStep):
    """Three crops along the long side (left/centre/right or top/centre/bottom) for testing.

    Required keys: ``imgs``, ``img_shape``. Added or modified keys: ``imgs`` (3x as many),
    ``crop_bbox`` (one row per output frame), ``img_shape``. One side of ``crop_size`` must equal
    the image's.

    Args:
        crop_size: ``(w, h)`` of the crops, or an int for squares. No default.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]]):
        self.crop_size = _pair_of_ints(crop_size, "crop_size", "ThreeCrop")

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        init_lazy_if_proper(results, False)
        if "gt_bboxes" in results or "proposals" in results:
            warnings.warn("ThreeCrop cannot process bounding boxes")
        img_h, img_w = results["imgs"][0].shape[:2]
        crop_w, crop_h = self.crop_size
        if crop_h == img_h:
            w_step = (img_w - crop_w) // 2
            offsets = [(0, 0), (2 * w_step, 0), (w_step, 0)]
        elif crop_w == img_w:
            h_step = (img_h - crop_h) // 2
            offsets = [(0, 0), (0, 2 * h_step), (0, h_step)]
        else:
            raise ShapeError(
                f"ThreeCrop: crop_size (w, h) = {self.crop_size} must match the image width {img_w} or "
                f"height {img_h}; resize the short side to the crop size first"
            )
        return _multi_crop(results, offsets, crop_w, crop_h, with_flip=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(crop_size={self.crop_size})"


@PIPELINES.register()
class TenCrop(PipelineStep):
    """Five crops (four corners and centre) and their horizontal flips, for testing.

    Required keys: ``imgs``, ``img_shape``. Added or modified keys: ``imgs`` (10x as many),
    ``crop_bbox``, ``img_shape``.

    Args:
        crop_size: ``(w, h)`` of the crops, or an int for squares. No default.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]]):
        self.crop_size = _pair_of_ints(crop_size, "crop_size", "TenCrop")

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        init_lazy_if_proper(results, False)
        if "gt_bboxes" in results or "proposals" in results:
            warnings.warn("TenCrop cannot process bounding boxes")
        img_h, img_w = results["imgs"][0].shape[:2]
        crop_w, crop_h = self.crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ShapeError(f"TenCrop: crop (w, h) = {self.crop_size} is larger than the image {img_w} x {img_h}")
        w_step = (img_w - crop_w) // 4
        h_step = (img_h - crop_h) // 4
        offsets = [(0, 0), (4 * w_step, 0), (0, 4 * h_step), (4 * w_step, 4 * h_step), (2 * w_step, 2 * h_step)]
        return _multi_crop(results, offsets, crop_w, crop_h, with_flip=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(crop_size={self.crop_size})"


@PIPELINES.register()
class MultiGroupCrop(PipelineStep):
    """``groups`` random crops of ``crop_size``, each applied to every frame.

    Required keys: ``imgs``. Added or modified keys: ``imgs`` (``groups`` x as many),
    ``crop_bbox``, ``img_shape``.

    Args:
        crop_size: ``(w, h)`` of the crops, or an int for squares. No default.
        groups: Number of crops. No default.
        seed: None (python's global ``random``, as mmaction2), an int or a ``numpy.random.Generator``.
            Default: None.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]], groups: int, seed: SeedLike = None):
        self.crop_size = _pair_of_ints(crop_size, "crop_size", "MultiGroupCrop")
        if not isinstance(groups, int) or isinstance(groups, bool):
            raise ConfigError(f"MultiGroupCrop: groups must be int, but got {type(groups).__name__}")
        if groups <= 0:
            raise ConfigError(f"MultiGroupCrop: groups must be positive, got {groups}")
        self.groups = groups
        self._init_rng(seed)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("imgs",), "MultiGroupCrop")
        img_h, img_w = results["imgs"][0].shape[:2]
        crop_w, crop_h = self.crop_size
        if crop_w > img_w or crop_h > img_h:
            raise ShapeError(f"MultiGroupCrop: crop (w, h) = {self.crop_size} is larger than the image {img_w} x {img_h}")
        offsets = []
        for _ in range(self.groups):
            x_offset = self.py_random.py_randint(0, img_w - crop_w)
            y_offset = self.py_random.py_randint(0, img_h - crop_h)
            offsets.append((x_offset, y_offset))
        return _multi_crop(results, offsets, crop_w, crop_h, with_flip=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(crop_size={self.crop_size}, groups={self.groups})"


@PIPELINES.register()
class Resize(PipelineStep):
    """Resize the images (OpenCV, mmcv semantics).

    Required keys: ``img_shape`` and ``imgs`` / ``keypoint`` (optional). Added or modified keys:
    ``imgs``, ``img_shape``, ``keep_ratio``, ``scale_factor``, ``keypoint``, ``gt_bboxes``,
    ``proposals``, ``lazy`` (its ``interpolation``).

    Args:
        scale: With ``keep_ratio``: a float factor, or a tuple ``(long, short)`` bound of the
            output (``(-1, s)`` resizes the short side to ``s``). Without: the output ``(w, h)``.
            No default.
        keep_ratio: Keep the aspect ratio. Default: True.
        interpolation: ``'nearest'``, ``'bilinear'``, ``'bicubic'``, ``'area'`` or ``'lanczos'``.
            Default: ``'bilinear'``.
        lazy: Record the interpolation for ``Fuse`` instead of resizing. Default: False.
    """

    def __init__(
        self,
        scale: Union[float, Tuple[int, int]],
        keep_ratio: bool = True,
        interpolation: str = "bilinear",
        lazy: bool = False,
    ):
        if isinstance(scale, float):
            if scale <= 0:
                raise ConfigError(f"Resize: invalid scale {scale}, must be positive.")
            if not keep_ratio:
                raise ConfigError("Resize: a float scale needs keep_ratio=True; give the output size (w, h) instead")
        elif isinstance(scale, (tuple, list)):
            scale = tuple(scale)
            if len(scale) != 2 or not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scale):
                raise ConfigError(f"Resize: scale must be a float or a pair of ints, got {scale!r}")
            if min(scale) == -1:
                if not keep_ratio:
                    raise ConfigError(f"Resize: scale {scale} with -1 needs keep_ratio=True")
                # the long side is unbounded: only the short side decides
                scale = (np.inf, max(scale))
            elif min(scale) <= 0:
                raise ConfigError(f"Resize: scale sides must be positive (or -1), got {scale!r}")
        else:
            raise ConfigError(f"Resize: scale must be float or tuple of int, but got {type(scale).__name__}")
        check_interpolation(interpolation, "Resize")
        self.scale = scale
        self.keep_ratio = keep_ratio
        self.interpolation = interpolation
        self.lazy = lazy

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        init_lazy_if_proper(results, self.lazy)
        if "keypoint" in results and self.lazy:
            raise ConfigError("Resize: keypoint augmentations are not compatible with lazy=True")
        if "scale_factor" not in results:
            results["scale_factor"] = np.array([1, 1], dtype=np.float32)
        img_h, img_w = results["img_shape"]
        if self.keep_ratio:
            new_w, new_h = rescale_size((img_w, img_h), self.scale)
        else:
            new_w, new_h = self.scale
        scale_factor = np.array([new_w / img_w, new_h / img_h], dtype=np.float32)
        results["img_shape"] = (new_h, new_w)
        results["keep_ratio"] = self.keep_ratio
        results["scale_factor"] = results["scale_factor"] * scale_factor
        if not self.lazy:
            if "imgs" in results:
                results["imgs"] = [imresize(img, (new_w, new_h), self.interpolation) for img in results["imgs"]]
            if "keypoint" in results:
                results["keypoint"] = results["keypoint"] * scale_factor
        else:
            lazyop = results["lazy"]
            if lazyop["flip"]:
                raise ConfigError("Resize: lazy resize after Flip is not supported; put Flip last")
            lazyop["interpolation"] = self.interpolation
        if "gt_bboxes" in results:
            if self.lazy:
                raise ConfigError("Resize: boxes (gt_bboxes) are not supported with lazy=True")
            factor4 = np.concatenate([scale_factor, scale_factor])
            results["gt_bboxes"] = results["gt_bboxes"] * factor4
            proposals = results.get("proposals")
            if proposals is not None:
                if proposals.shape[1] != 4:
                    raise ShapeError(f"Resize: results['proposals'] must be N x 4, got {tuple(proposals.shape)}")
                results["proposals"] = proposals * factor4
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(scale={self.scale}, keep_ratio={self.keep_ratio}, "
            f"interpolation={self.interpolation}, lazy={self.lazy})"
        )


@PIPELINES.register()
class RandomRescale(PipelineStep):
    """Resize so that the short side is a random length in ``scale_range`` (inclusive).

    Required keys: ``imgs``, ``img_shape``. Added or modified keys: those of :class:`Resize` and
    ``short_edge``.

    Args:
        scale_range: ``(low, high)`` of the short side, ``0 < low < high``. No default.
        interpolation: As :class:`Resize`. Default: ``'bilinear'``.
        seed: None (global numpy RNG), an int or a ``numpy.random.Generator``. Default: None.
    """

    def __init__(self, scale_range: Tuple[int, int], interpolation: str = "bilinear", seed: SeedLike = None):
        if (
            not isinstance(scale_range, (list, tuple))
            or len(scale_range) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in scale_range)
            or not 0 < scale_range[0] < scale_range[1]
        ):
            raise ConfigError(f"RandomRescale: scale_range must be two ints 0 < low < high, got {scale_range!r}")
        check_interpolation(interpolation, "RandomRescale")
        self.scale_range = tuple(scale_range)
        self.keep_ratio = True
        self.interpolation = interpolation
        self._init_rng(seed)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        short_edge = self.np_random.randint(self.scale_range[0], self.scale_range[1] + 1)
        results = Resize((-1, int(short_edge)), keep_ratio=True, interpolation=self.interpolation)(results)
        results["short_edge"] = short_edge
        return results

    def __repr__(self) -> str:
        low, high = self.scale_range
        return f"{type(self).__name__}(scale_range=({low}, {high}), interpolation={self.interpolation})"


@PIPELINES.register()
class RandomScale(PipelineStep):
    """Resize with a scale chosen at random from ``scales``.

    Required keys: ``imgs``, ``img_shape``. Added or modified keys: those of :class:`Resize` and
    ``scale``.

    Args:
        scales: Candidate scales (tuples). With one, it is used as is. With two in ``'range'``
            mode, the long and short sides are drawn from the ranges their entries span. In
            ``'value'`` mode one tuple is picked. No default.
        mode: ``'range'`` or ``'value'``. Default: ``'range'``.
        seed: None (global numpy / python RNGs), an int or a ``numpy.random.Generator``. Default: None.
        **kwargs: Arguments of :class:`Resize` (``keep_ratio``, ``interpolation``, ``lazy``).
    """

    def __init__(self, scales: Sequence[Tuple[int, int]], mode: str = "range", seed: SeedLike = None, **kwargs: Any):
        if mode not in ("range", "value"):
            raise ConfigError(f"RandomScale: mode should be 'range' or 'value', but got {mode!r}")
        if not isinstance(scales, (list, tuple)) or not scales:
            raise ConfigError(f"RandomScale: scales must be a non-empty list of scales, got {scales!r}")
        if len(scales) > 2 and mode != "value":
            raise ConfigError("RandomScale: only 'value' mode supports more than 2 image scales")
        unknown = set(kwargs) - {"keep_ratio", "interpolation", "lazy"}
        if unknown:
            raise ConfigError(f"RandomScale: unknown Resize arguments {sorted(unknown)}")
        self.mode = mode
        self.scales = [tuple(s) if isinstance(s, list) else s for s in scales]
        self.kwargs = kwargs
        self._init_rng(seed)

    def select_scale(self, scales: Sequence[Tuple[int, int]]) -> Union[float, Tuple[int, int]]:
        """Pick a scale as described in the class docstring."""
        if len(scales) == 1:
            return scales[0]
        if len(scales) == 2 and self.mode == "range":
            scale_long = [max(s) for s in scales]
            scale_short = [min(s) for s in scales]
            long_edge = self.np_random.randint(min(scale_long), max(scale_long) + 1)
            short_edge = self.np_random.randint(min(scale_short), max(scale_short) + 1)
            return (int(long_edge), int(short_edge))
        return self.py_random.py_choice(scales)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        scale = self.select_scale(self.scales)
        results["scale"] = scale
        return Resize(scale, **self.kwargs)(results)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scales={self.scales}, mode={self.mode})"


@PIPELINES.register()
class Flip(PipelineStep):
    """Flip the images with probability ``flip_ratio``.

    Required keys: ``img_shape``, ``modality`` and ``imgs`` / ``keypoint`` (optional). Added or
    modified keys: ``imgs``, ``keypoint``, ``keypoint_score``, ``label`` (with
    ``flip_label_map``), ``flip``, ``flip_direction``, ``gt_bboxes``, ``proposals``, ``lazy``.
    For Flow clips the x-flow frames (even positions) are inverted (``255 - x``).

    Args:
        flip_ratio: Probability of flipping. Default: 0.5.
        direction: ``'horizontal'`` or ``'vertical'``. Default: ``'horizontal'``.
        flip_label_map: ``{label: flipped label}`` applied when flipped (for direction-sensitive
            classes). Keys may be ints or int strings (JSON turns int keys into strings).
            Default: None.
        left_kp: Indices of left keypoints, swapped with ``right_kp`` on flip. Default: None.
        right_kp: Indices of right keypoints. Default: None.
        lazy: Record the flip for ``Fuse``. Default: False.
        seed: None (global numpy RNG), an int or a ``numpy.random.Generator``. Default: None.
    """

    _directions = list(FLIP_DIRECTIONS)

    def __init__(
        self,
        flip_ratio: float = 0.5,
        direction: str = "horizontal",
        flip_label_map: Optional[Dict[int, int]] = None,
        left_kp: Optional[Sequence[int]] = None,
        right_kp: Optional[Sequence[int]] = None,
        lazy: bool = False,
        seed: SeedLike = None,
    ):
        if direction not in self._directions:
            raise ConfigError(
                f"Flip: direction {direction!r} is not supported. Currently supported ones are {self._directions}"
            )
        if flip_label_map is not None:
            if not isinstance(flip_label_map, dict):
                raise ConfigError(f"Flip: flip_label_map must be a dict, got {type(flip_label_map).__name__}")
            converted = {}
            for key, value in flip_label_map.items():
                try:
                    converted[int(key)] = int(value)
                except (TypeError, ValueError):
                    raise ConfigError(f"Flip: flip_label_map entry {key!r}: {value!r} is not int -> int") from None
            flip_label_map = converted
        self.flip_ratio = flip_ratio
        self.direction = direction
        self.flip_label_map = flip_label_map
        self.left_kp = left_kp
        self.right_kp = right_kp
        self.lazy = lazy
        self._init_rng(seed)

    def _flip_imgs(self, imgs, modality: str) -> List[np.ndarray]:
        imgs = [imflip(img, self.direction) for img in imgs]
        if modality == "Flow":
            imgs = [iminvert(img) if i % 2 == 0 else img for i, img in enumerate(imgs)]
        return imgs

    def _flip_kps(self, kps: np.ndarray, kpscores: Optional[np.ndarray], img_width: int):
        kps = kps.copy()
        kp_x = kps[..., 0]
        kp_x[kp_x != 0] = img_width - kp_x[kp_x != 0]
        new_order = list(range(kps.shape[2]))
        if self.left_kp is not None and self.right_kp is not None:
            for left, right in zip(self.left_kp, self.right_kp):
                new_order[left] = right
                new_order[right] = left
        kps = kps[:, :, new_order]
        if kpscores is not None:
            kpscores = kpscores[:, :, new_order]
        return kps, kpscores

    @staticmethod
    def _box_flip(box: np.ndarray, img_width: int) -> np.ndarray:
        out = box.copy()
        out[..., 0::4] = img_width - box[..., 2::4]
        out[..., 2::4] = img_width - box[..., 0::4]
        return out

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        init_lazy_if_proper(results, self.lazy)
        if "keypoint" in results:
            if self.lazy:
                raise ConfigError("Flip: keypoint augmentations are not compatible with lazy=True")
            if self.direction != "horizontal":
                raise ConfigError("Flip: only horizontal flips are supported for human keypoints")
        require_keys(results, ("modality",), "Flip")
        modality = results["modality"]
        if modality == "Flow" and self.direction != "horizontal":
            raise ConfigError("Flip: Flow clips can only be flipped horizontally")
        flip = bool(self.np_random.rand() < self.flip_ratio)
        results["flip"] = flip
        results["flip_direction"] = self.direction
        img_width = results["img_shape"][1]
        if self.flip_label_map is not None and flip:
            results["label"] = self.flip_label_map.get(results["label"], results["label"])
        if not self.lazy:
            if flip:
                if "imgs" in results:
                    flipped = self._flip_imgs(results["imgs"], modality)
                    results["imgs"] = np.stack(flipped) if isinstance(results["imgs"], np.ndarray) else flipped
                if "keypoint" in results:
                    kp, kpscore = self._flip_kps(results["keypoint"], results.get("keypoint_score"), img_width)
                    results["keypoint"] = kp
                    if "keypoint_score" in results:
                        results["keypoint_score"] = kpscore
        else:
            lazyop = results["lazy"]
            if lazyop["flip"]:
                raise ConfigError("Flip: use one Flip in lazy mode")
            lazyop["flip"] = flip
            lazyop["flip_direction"] = self.direction
        if "gt_bboxes" in results and flip:
            if self.lazy or self.direction != "horizontal":
                raise ConfigError("Flip: boxes can only be flipped horizontally and without lazy mode")
            results["gt_bboxes"] = self._box_flip(results["gt_bboxes"], img_width)
            proposals = results.get("proposals")
            if proposals is not None:
                if proposals.shape[1] != 4:
                    raise ShapeError(f"Flip: results['proposals'] must be N x 4, got {tuple(proposals.shape)}")
                results["proposals"] = self._box_flip(proposals, img_width)
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(flip_ratio={self.flip_ratio}, direction={self.direction}, "
            f"flip_label_map={self.flip_label_map}, lazy={self.lazy})"
        )


# ImageNet statistics (RGB, 0-255) that mmaction2's RGB configs normalize with.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@PIPELINES.register()
class Normalize(PipelineStep):
    """Subtract ``mean`` and divide by ``std`` per channel; stack the frames into one float32 array.

    Required keys: ``imgs``, ``modality`` (``'RGB'`` or ``'Flow'``); for Flow with
    ``adjust_magnitude`` also ``scale_factor``. Added or modified keys: ``imgs``
    (``N x H x W x C`` float32), ``img_norm_cfg``.

    Args:
        mean: Per-channel means (2 for Flow). No default.
        std: Per-channel standard deviations. No default.
        to_bgr: Reverse the channel order (RGB → BGR) before normalizing. Default: False.
        adjust_magnitude: For Flow, multiply x/y flow by ``scale_factor`` (the resize factor).
            Default: False.
    """

    def __init__(
        self, mean: Sequence[float], std: Sequence[float], to_bgr: bool = False, adjust_magnitude: bool = False
    ):
        for name, value in (("mean", mean), ("std", std)):
            if not isinstance(value, (list, tuple, np.ndarray)):
                raise ConfigError(f"Normalize: {name} must be list, tuple or np.ndarray, but got {type(value).__name__}")
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise ConfigError(f"Normalize: mean {mean!r} and std {std!r} must be 1-d and of the same length")
        if np.any(self.std == 0):
            raise ConfigError(f"Normalize: std must not contain 0, got {std!r}")
        self.to_bgr = to_bgr
        self.adjust_magnitude = adjust_magnitude

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("imgs", "modality"), "Normalize")
        modality = results["modality"]
        if modality == "RGB":
            first = results["imgs"][0]
            if first.ndim != 3 or first.shape[2] != self.mean.shape[0]:
                raise ShapeError(
                    f"Normalize: RGB frames must be H x W x {self.mean.shape[0]}, got shape {tuple(first.shape)}"
                )
            n = len(results["imgs"])
            h, w, c = first.shape
            imgs = np.empty((n, h, w, c), dtype=np.float32)
            for i, img in enumerate(results["imgs"]):
                imgs[i] = img
            # All frames at once as one (n*h) x w image: the same per-pixel OpenCV arithmetic as mmcv.
            imnormalize_(imgs.reshape(n * h, w, c), self.mean, self.std, self.to_bgr)
            results["imgs"] = imgs
            results["img_norm_cfg"] = dict(mean=self.mean, std=self.std, to_bgr=self.to_bgr)
            return results
        if modality == "Flow":
            num_imgs = len(results["imgs"])
            if num_imgs % 2 != 0:
                raise ShapeError(f"Normalize: a Flow clip needs x/y frame pairs, got {num_imgs} frames")
            if self.mean.shape[0] != 2:
                raise ConfigError(f"Normalize: Flow needs 2 means and stds, got {self.mean.tolist()}")
            n = num_imgs // 2
            h, w = results["imgs"][0].shape[:2]
            x_flow = np.empty((n, h, w), dtype=np.float32)
            y_flow = np.empty((n, h, w), dtype=np.float32)
            for i in range(n):
                x_flow[i] = results["imgs"][2 * i]
                y_flow[i] = results["imgs"][2 * i + 1]
            x_flow = (x_flow - self.mean[0]) / self.std[0]
            y_flow = (y_flow - self.mean[1]) / self.std[1]
            if self.adjust_magnitude:
                require_keys(results, ("scale_factor",), "Normalize(adjust_magnitude=True)")
                x_flow = x_flow * results["scale_factor"][0]
                y_flow = y_flow * results["scale_factor"][1]
            results["imgs"] = np.stack([x_flow, y_flow], axis=-1)
            results["img_norm_cfg"] = dict(
                mean=self.mean, std=self.std, to_bgr=self.to_bgr, adjust_magnitude=self.adjust_magnitude
            )
            return results
        raise ConfigError(f"Normalize: modality must be 'RGB' or 'Flow', got {modality!r}")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(mean={self.mean}, std={self.std}, to_bgr={self.to_bgr}, "
            f"adjust_magnitude={self.adjust_magnitude})"
        )


@PIPELINES.register()
class ColorJitter(PipelineStep):
    """Random brightness/contrast/saturation/hue distortion and PCA lighting noise (mmaction2 v0.x).

    Images must be RGB in ``[0, 255]``. Required keys: ``imgs``. Added or modified keys: ``imgs``
    (float32), ``eig_val``, ``eig_vec``, ``alpha_std``, ``color_space_aug``.

    The PCA noise adds ``eig_vec @ (alpha * eig_val)`` with ``alpha ~ N(0, alpha_std)`` to every
    pixel (AlexNet lighting). With ``color_space_aug`` the clip first gets a random brightness
    shift in ``[-32, 32)``, contrast and saturation factors in ``[0.6, 1.4)`` and a hue rotation
    in ``[-18, 18)`` (each applied with probability 1/2, in one of two orders).

    Args:
        color_space_aug: Apply the colour-space distortions before the PCA noise. Default: False.
        alpha_std: Std of the PCA coefficients. Default: 0.1.
        eig_val: 3 eigenvalues of the RGB covariance. Default: None (ImageNet's
            ``[55.46, 4.794, 1.148]``).
        eig_vec: 3 x 3 eigenvectors (columns). Default: None (ImageNet's).
        seed: None (global numpy RNG), an int or a ``numpy.random.Generator``. Default: None.
    """

    def __init__(
        self,
        color_space_aug: bool = False,
        alpha_std: float = 0.1,
        eig_val: Optional[Sequence[float]] = None,
        eig_vec: Optional[Sequence[Sequence[float]]] = None,
        seed: SeedLike = None,
    ):
        if eig_val is None:
            self.eig_val = np.array([55.46, 4.794, 1.148], dtype=np.float32)
        else:
            self.eig_val = np.asarray(eig_val, dtype=np.float32)
        if eig_vec is None:
            self.eig_vec = np.array(
                [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]], dtype=np.float32
            )
        else:
            self.eig_vec = np.asarray(eig_vec, dtype=np.float32)
        if self.eig_val.shape != (3,) or self.eig_vec.shape != (3, 3):
            raise ConfigError(
                f"ColorJitter: eig_val must have 3 values and eig_vec be 3 x 3, got shapes "
                f"{self.eig_val.shape} and {self.eig_vec.shape}"
            )
        self.alpha_std = alpha_std
        self.color_space_aug = color_space_aug
        self._init_rng(seed)

    def brightness(self, img: np.ndarray, delta: float) -> np.ndarray:
        """Add ``delta`` (in ``[-32, 32)``) with probability 1/2."""
        if self.np_random.rand() > 0.5:
            img = img + np.float32(delta)
        return img

    def contrast(self, img: np.ndarray, alpha: float) -> np.ndarray:
        """Multiply by ``alpha`` (in ``[0.6, 1.4)``) with probability 1/2."""
        if self.np_random.rand() > 0.5:
            img = img * np.float32(alpha)
        return img

    def saturation(self, img: np.ndarray, alpha: float) -> np.ndarray:
        """Blend with the grey image (weight ``1 - alpha``) with probability 1/2."""
        if self.np_random.rand() > 0.5:
            gray = img * np.array([0.299, 0.587, 0.114], dtype=np.float32)
            gray = np.sum(gray, 2, keepdims=True)
            gray *= 1.0 - alpha
            img = img * alpha
            img = img + gray
        return img

    def hue(self, img: np.ndarray, alpha: float) -> np.ndarray:
        """Rotate the hue by ``alpha * pi`` in YIQ space with probability 1/2."""
        if self.np_random.rand() > 0.5:
            u = np.cos(alpha * np.pi)
            w = np.sin(alpha * np.pi)
            bt = np.array([[1.0, 0.0, 0.0], [0.0, u, -w], [0.0, w, u]], dtype=np.float32)
            tyiq = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.321], [0.211, -0.523, 0.311]], dtype=np.float32)
            ityiq = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.107, 1.705]], dtype=np.float32)
            t = np.array(np.dot(np.dot(ityiq, bt), tyiq).T, dtype=np.float32)
            img = np.dot(img, t)
        return img

    def pca_noise(self, alpha: np.ndarray) -> np.ndarray:
        """The RGB offset ``eig_vec @ (alpha * eig_val)`` (float32, shape 1 x 1 x 3)."""
        rgb = np.array(np.dot(self.eig_vec * alpha, self.eig_val), dtype=np.float32)
        return rgb[None, None, ...]

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("imgs",), "ColorJitter")
        imgs = results["imgs"]
        if self.color_space_aug:
            bright_delta = self.np_random.uniform(-32, 32)
            contrast_alpha = self.np_random.uniform(0.6, 1.4)
            saturation_alpha = self.np_random.uniform(0.6, 1.4)
            hue_alpha = self.np_random.uniform(-18, 18)
            jitter_coin = self.np_random.rand()
            out = []
            for img in imgs:
                img = self.brightness(img, bright_delta)
                if jitter_coin > 0.5:
                    img = self.contrast(img, contrast_alpha)
                    img = self.saturation(img, saturation_alpha)
                    img = self.hue(img, hue_alpha)
                else:
                    img = self.saturation(img, saturation_alpha)
                    img = self.hue(img, hue_alpha)
                    img = self.contrast(img, contrast_alpha)
                out.append(img)
        else:
            out = imgs
        alpha = self.np_random.normal(0, self.alpha_std, size=(3,))
        rgb = self.pca_noise(alpha)
        results["imgs"] = [img + rgb for img in out]
        results["eig_val"] = self.eig_val
        results["eig_vec"] = self.eig_vec
        results["alpha_std"] = self.alpha_std
        results["color_space_aug"] = self.color_space_aug
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(color_space_aug={self.color_space_aug}, alpha_std={self.alpha_std}, "
            f"eig_val={self.eig_val}, eig_vec={self.eig_vec})"
        )

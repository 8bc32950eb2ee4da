"""Lazy mode (``lazy=True``) and ``Fuse``, plus the mmcv image operations the geometric steps use.

In lazy mode, crops, resizes and flips only record what they would do in ``results['lazy']``
(crop box in original-image coordinates, interpolation, flip); ``Fuse`` then applies one crop,
one resize and one flip. For a chain of crops followed by a single resize and a flip, lazy and
eager give the same pixels.

The image helpers follow ``mmcv`` 1.x (``imresize``, ``rescale_size``, ``imflip_``, ``iminvert``,
``imnormalize_``) with OpenCV as backend, so results match mmaction2's bit for bit.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple, Union

import cv2
import numpy as np

from ...errors import ConfigError
from ...registry import PIPELINES
from .compose import PipelineStep, require_keys

CV2_INTERP_CODES = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}

FLIP_DIRECTIONS = ("horizontal", "vertical")


def check_interpolation(interpolation: str, step: str) -> None:
    """Raise :class:`ConfigError` unless ``interpolation`` is one of mmcv's names."""
    if interpolation not in CV2_INTERP_CODES:
        raise ConfigError(f"{step}: interpolation must be one of {sorted(CV2_INTERP_CODES)}, got {interpolation!r}")


def imresize(img: np.ndarray, size: Tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """Resize ``img`` to ``size = (w, h)`` with OpenCV (``mmcv.imresize``)."""
    return cv2.resize(img, (int(size[0]), int(size[1])), interpolation=CV2_INTERP_CODES[interpolation])


def rescale_size(old_size: Tuple[int, int], scale: Union[float, int, Tuple[float, float]]) -> Tuple[int, int]:
    """New ``(w, h)`` of an image of ``old_size = (w, h)`` rescaled by ``scale`` (``mmcv.rescale_size``).

    A number scales both sides; a tuple ``(a, b)`` gives the largest size whose long side is at
    most ``max(a, b)`` and short side at most ``min(a, b)``.
    """
    w, h = old_size
    if isinstance(scale, (float, int)) and not isinstance(scale, bool):
        if scale <= 0:
            raise ConfigError(f"Invalid scale {scale}, must be positive.")
        factor = scale
    elif isinstance(scale, tuple):
        factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    else:
        raise ConfigError(f"Scale must be a number or tuple of int, but got {type(scale).__name__}")
    return int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)


def imflip(img: np.ndarray, direction: str = "horizontal") -> np.ndarray:
    """A flipped copy of an ``H x W [x C]`` image (the result of ``mmcv.imflip_``)."""
    axis = 1 if direction == "horizontal" else 0
    return np.ascontiguousarray(np.flip(img, axis=axis))


def iminvert(img: np.ndarray) -> np.ndarray:
    """``255 - img`` in the image's dtype (``mmcv.iminvert``)."""
    return np.full_like(img, 255) - img


def imnormalize_(img: np.ndarray, mean: np.ndarray, std: np.ndarray, swap_channels: bool) -> np.ndarray:
    """In-place ``(img[..., ::-1 if swap] - mean) / std`` on a float ``H x W x 3`` image, as mmcv does it.

    The subtraction and the multiplication by ``1 / std`` are OpenCV calls with float64 scalars,
    exactly like ``mmcv.imnormalize_``, so the float32 results match bit for bit.
    """
    mean64 = np.float64(np.asarray(mean).reshape(1, -1))
    stdinv = 1 / np.float64(np.asarray(std).reshape(1, -1))
    if swap_channels:
        cv2.cvtColor(img, cv2.COLOR_BGR2RGB, img)
    cv2.subtract(img, mean64, img)
    cv2.multiply(img, stdinv, img)
    return img


def init_lazy_if_proper(results: Dict[str, Any], lazy: bool) -> None:
    """Fill ``img_shape`` if absent; start ``results['lazy']`` for a lazy step.

    A non-lazy geometric step after lazy ones (without ``Fuse`` in between) is an error.
    """
    if "img_shape" not in results:
        require_keys(results, ("imgs",), "lazy init")
        results["img_shape"] = results["imgs"][0].shape[:2]
    if lazy:
        if "lazy" not in results:
            img_h, img_w = results["img_shape"]
            results["lazy"] = {
                "original_shape": results["img_shape"],
                "crop_bbox": np.array([0, 0, img_w, img_h], dtype=np.float32),
                "flip": False,
                "flip_direction": None,
                "interpolation": None,
            }
    elif "lazy" in results:
        raise ConfigError(
            "a non-lazy geometric step follows lazy ones: put Fuse after the lazy operations "
            "(results already holds a 'lazy' entry)"
        )


def lazy_crop(lazyop: Dict[str, Any], bbox: Sequence[int], img_shape: Tuple[int, int]) -> None:
    """Compose a crop ``bbox = (left, top, right, bottom)`` of the current image into ``lazyop``."""
    if lazyop["flip"]:
        raise ConfigError("lazy mode: a crop after Flip is not supported; put Flip last")
    img_h, img_w = img_shape
    left, top, right, bottom = bbox
    lazy_left, lazy_top, lazy_right, lazy_bottom = lazyop["crop_bbox"]
    # Same operation order as mmaction2 (value * width / img_w), so the float32 box is identical.
    left = left * (lazy_right - lazy_left) / img_w
    right = right * (lazy_right - lazy_left) / img_w
    top = top * (lazy_bottom - lazy_top) / img_h
    bottom = bottom * (lazy_bottom - lazy_top) / img_h
    lazyop["crop_bbox"] = np.array(
        [lazy_left + left, lazy_top + top, lazy_left + right, lazy_top + bottom], dtype=np.float32
    )


@PIPELINES.register()
class Fuse(PipelineStep):
    """Apply the recorded lazy operations: crop, then resize, then flip.

    Required keys: ``imgs``, ``img_shape``, ``lazy``. Modified keys: ``imgs``; ``lazy`` is removed.
    Unlike mmaction2, the x-flow frames of a Flow clip are inverted when the lazy flip is
    horizontal, as the eager ``Flip`` does.
    """

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        if "lazy" not in results:
            raise ConfigError("Fuse: no lazy operation detected (results has no 'lazy' entry)")
        require_keys(results, ("imgs", "img_shape"), "Fuse")
        lazyop = results["lazy"]
        left, top, right, bottom = lazyop["crop_bbox"].round().astype(int)
        img_h, img_w = results["img_shape"]
        interpolation = lazyop["interpolation"] or "bilinear"
        imgs: List[np.ndarray] = [
            imresize(img[top:bottom, left:right], (img_w, img_h), interpolation=interpolation)
            for img in results["imgs"]
        ]
        if lazyop["flip"]:
            direction = lazyop["flip_direction"]
            imgs = [imflip(img, direction) for img in imgs]
            if results.get("modality") == "Flow" and direction == "horizontal":
                imgs = [iminvert(img) if i % 2 == 0 else img for i, img in enumerate(imgs)]
        results["imgs"] = imgs
        del results["lazy"]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

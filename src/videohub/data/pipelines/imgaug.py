"""``Imgaug``: mmaction2's imgaug-based augmentation step, re-implemented without imgaug.

imgaug is unmaintained and does not run on current numpy. This module provides the augmenters
mmaction2 configs use, under imgaug's names and argument names, implemented with numpy, OpenCV
and Pillow (the ``Enhance*``, ``Autocontrast``, ``Equalize`` and ``Posterize`` augmenters are
imgaug's ``pillike`` wrappers around Pillow, so they call Pillow directly). See
``docs/imgaug.md`` for the table of augmenters and the differences to imgaug.

As in mmaction2 (``aug.to_deterministic()``), the random parameters are drawn once per call and
applied to every frame of the clip; boxes (``gt_bboxes``, ``proposals``) follow the geometric
augmenters.

Stochastic arguments follow imgaug's conventions: a number is a constant, a tuple ``(a, b)`` a
uniform range (inclusive integer range for integer arguments), a list a set to choose from.
Because JSON has no tuples, a range can also be written ``{"range": [a, b]}`` and a choice
``{"choice": [...]}``; ``Imgaug.to_config`` writes ranges that way so a config survives JSON.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from ...errors import ConfigError, ShapeError
from ...registry import PIPELINES
from .compose import PipelineStep, SeedLike, require_keys, to_jsonable

AUGMENTERS: Dict[str, type] = {}


def _register(cls: type) -> type:
    AUGMENTERS[cls.__name__] = cls
    return cls


class _Draw:
    """Random draws for one clip: numpy-style source (``np.random`` or a seeded one)."""

    def __init__(self, np_random: Any):
        self.np_random = np_random

    def uniform(self, low: float, high: float) -> float:
        return float(self.np_random.uniform(low, high))

    def integer(self, low: int, high: int) -> int:
        """An integer in the closed range ``[low, high]``."""
        return int(self.np_random.randint(low, high + 1))

    def index(self, n: int) -> int:
        return int(self.np_random.randint(0, n))

    def coin(self, p: float) -> bool:
        return bool(self.np_random.rand() < p)

    def subset(self, n: int, k: int) -> List[int]:
        """``k`` distinct indices of ``range(n)``, in increasing order."""
        return sorted(int(i) for i in self.np_random.permutation(n)[:k])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


class Param:
    """An imgaug-style stochastic parameter (constant, ``(a, b)`` range, list of choices).

    Args:
        value: The specification. No default.
        name: Argument name, for error messages. No default.
        integer: Draw integers (ranges inclusive). Default: False.
    """

    def __init__(self, value: Any, name: str, integer: bool = False):
        self.name = name
        self.integer = integer
        if isinstance(value, dict) and set(value) == {"range"}:
            value = tuple(value["range"])
        elif isinstance(value, dict) and set(value) == {"choice"}:
            value = list(value["choice"])
        if _is_number(value):
            self.kind, self.value = "const", value
        elif isinstance(value, tuple) and len(value) == 2 and all(_is_number(v) for v in value):
            low, high = value
            if low > high:
                raise ConfigError(f"Imgaug: {name} range {value} has low > high")
            self.kind, self.value = "range", (low, high)
        elif isinstance(value, list) and value and all(_is_number(v) for v in value):
            self.kind, self.value = "choice", list(value)
        else:
            raise ConfigError(
                f"Imgaug: {name} must be a number, a (low, high) tuple, a list of numbers, "
                f"{{'range': [a, b]}} or {{'choice': [...]}}; got {value!r}"
            )

    def draw(self, draw: _Draw) -> float:
        """One value."""
        if self.kind == "const":
            return self.value
        if self.kind == "choice":
            return self.value[draw.index(len(self.value))]
        low, high = self.value
        if self.integer:
            return draw.integer(int(low), int(high))
        return draw.uniform(low, high)

    def spec(self) -> Any:
        """JSON-able form (ranges as ``{"range": [a, b]}``)."""
        if self.kind == "range":
            return {"range": list(self.value)}
        return self.value

    def __repr__(self) -> str:
        return repr(tuple(self.value) if self.kind == "range" else self.value)


class Augmenter:
    """Base class: ``sample`` draws the clip's parameters, ``image``/``boxes`` apply them."""

    geometric = False

    def sample(self, draw: _Draw, shape: Tuple[int, ...]) -> Any:
        """Parameters for one clip of frames of ``shape``."""
        return None

    def image(self, img: np.ndarray, params: Any) -> np.ndarray:
        return img

    def boxes(self, boxes: np.ndarray, params: Any, shape: Tuple[int, ...]) -> np.ndarray:
        """Boxes ``N x 4`` (x1, y1, x2, y2) after the augmentation (unchanged if not geometric)."""
        return boxes

    def _args(self) -> Dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._args().items())
        return f"{type(self).__name__}({args})"


# ------------------------------------------------------------------------------ meta augmenters
class _Meta(Augmenter):
    children: List[Augmenter]

    def _apply_children(self, children: Sequence[Tuple[Augmenter, Any]], img: np.ndarray) -> np.ndarray:
        for child, params in children:
            img = child.image(img, params)
        return img

    def _sample_children(self, indices: Sequence[int], draw: _Draw, shape) -> List[Tuple[Augmenter, Any]]:
        return [(self.children[i], self.children[i].sample(draw, shape)) for i in indices]

    def image(self, img: np.ndarray, params: Any) -> np.ndarray:
        return self._apply_children(params, img)

    def boxes(self, boxes: np.ndarray, params: Any, shape) -> np.ndarray:
        for child, child_params in params:
            boxes = child.boxes(boxes, child_params, shape)
        return boxes


@_register
class Sequential(_Meta):
    """Apply all children in order (or in a random order with ``random_order=True``).

    Args:
        children: Augmenters. Default: None (none).
        random_order: Shuffle the order per clip. Default: False.
    """

    def __init__(self, children: Optional[List[Augmenter]] = None, random_order: bool = False):
        self.children = list(children or [])
        self.random_order = random_order

    def sample(self, draw: _Draw, shape):
        order = list(range(len(self.children)))
        if self.random_order:
            order = [int(i) for i in draw.np_random.permutation(len(self.children))]
        return self._sample_children(order, draw, shape)

    def _args(self):
        return {"children": self.children, "random_order": self.random_order}


@_register
class SomeOf(_Meta):
    """Apply ``n`` randomly chosen children (in their listed order unless ``random_order``).

    Args:
        n: How many: an int, a ``(low, high)`` range (``high`` None means all) or None (all).
            Default: None.
        children: Augmenters. Default: None.
        random_order: Shuffle the chosen ones. Default: False.
    """

    def __init__(self, n: Any = None, children: Optional[List[Augmenter]] = None, random_order: bool = False):
        self.children = list(children or [])
        if isinstance(n, dict) and set(n) == {"range"}:
            n = tuple(n["range"])
        if isinstance(n, (list, tuple)) and len(n) == 2 and n[1] is None:
            n = (n[0], len(self.children))
        self.n = None if n is None else Param(n, "SomeOf.n", integer=True)
        self.random_order = random_order

    def sample(self, draw: _Draw, shape):
        count = len(self.children) if self.n is None else int(self.n.draw(draw))
        count = max(0, min(count, len(self.children)))
        chosen = draw.subset(len(self.children), count)
        if self.random_order:
            chosen = [chosen[i] for i in draw.np_random.permutation(len(chosen))]
        return self._sample_children(chosen, draw, shape)

    def _args(self):
        return {"n": self.n, "children": self.children, "random_order": self.random_order}


@_register
class OneOf(SomeOf):
    """Apply exactly one randomly chosen child.

    Args:
        children: Augmenters. No default.
    """

    def __init__(self, children: List[Augmenter]):
        super().__init__(n=1, children=children)

    def _args(self):
        return {"children": self.children}


@_register
class Sometimes(_Meta):
    """Apply ``then_list`` with probability ``p``, else ``else_list``.

    Args:
        p: Probability. Default: 0.5.
        then_list: Augmenters applied with probability ``p``. Default: None.
        else_list: Augmenters applied otherwise. Default: None.
    """

    def __init__(self, p: float = 0.5, then_list: Optional[List[Augmenter]] = None, else_list=None):
        self.p = p
        self.then_list = Sequential(then_list or [])
        self.else_list = Sequential(else_list or [])
        self.children = [self.then_list, self.else_list]

    def sample(self, draw: _Draw, shape):
        branch = 0 if draw.coin(self.p) else 1
        return self._sample_children([branch], draw, shape)

    def _args(self):
        return {"p": self.p, "then_list": self.then_list.children, "else_list": self.else_list.children}


# ------------------------------------------------------------------------------ geometric
def _transform_boxes(boxes: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map the 4 corners of each box by the 2 x 3 ``matrix``; the new box is their hull."""
    if len(boxes) == 0:
        return boxes
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    corners = np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x1, y2], 1), np.stack([x2, y2], 1)], 1)
    mapped = corners @ matrix[:, :2].T + matrix[:, 2]
    return np.concatenate([mapped.min(1), mapped.max(1)], axis=1).astype(np.float32)


@_register
class Fliplr(Augmenter):
    """Mirror left-right with probability ``p``.

    Args:
        p: Probability. Default: 1.
    """

    geometric = True

    def __init__(self, p: float = 1):
        self.p = p

    def sample(self, draw, shape):
        return draw.coin(self.p)

    def image(self, img, flip):
        return np.ascontiguousarray(img[:, ::-1]) if flip else img

    def boxes(self, boxes, flip, shape):
        if not flip:
            return boxes
        w = shape[1]
        return np.stack([w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]], 1).astype(np.float32)

    def _args(self):
        return {"p": self.p}


@_register
class Flipud(Fliplr):
    """Mirror top-bottom with probability ``p``.

    Args:
        p: Probability. Default: 1.
    """

    def image(self, img, flip):
        return np.ascontiguousarray(img[::-1]) if flip else img

    def boxes(self, boxes, flip, shape):
        if not flip:
            return boxes
        h = shape[0]
        return np.stack([boxes[:, 0], h - boxes[:, 3], boxes[:, 2], h - boxes[:, 1]], 1).astype(np.float32)


_ORDERS = {0: cv2.INTER_NEAREST, 1: cv2.INTER_LINEAR, 3: cv2.INTER_CUBIC}
_MODES = {
    "constant": cv2.BORDER_CONSTANT,
    "edge": cv2.BORDER_REPLICATE,
    "symmetric": cv2.BORDER_REFLECT,
    "reflect": cv2.BORDER_REFLECT_101,
    "wrap": cv2.BORDER_WRAP,
}


@_register
class Affine(Augmenter):
    """Affine transform about the image centre (imgaug's ``Affine``).

    The matrix is ``T(centre + translation) @ A @ T(-centre)`` with ``A = [[sx cos r,
    -sy sin(r + s)], [sx sin r, sy cos(r + s)]]`` (``r`` = rotate, ``s`` = shear, in degrees; y
    points down, so a positive rotation turns the image clockwise on screen).

    Args:
        scale: Zoom factor (or ``{"x": .., "y": ..}``). Default: 1.0.
        translate_percent: Shift as a fraction of width/height (number or ``{"x", "y"}``).
            Default: None.
        translate_px: Shift in pixels (number or ``{"x", "y"}``). Default: None.
        rotate: Degrees. Default: 0.0.
        shear: Degrees (number), or ``{"x": .., "y": ..}`` for pure x / y shears. Default: 0.0.
        order: Interpolation: 0 nearest, 1 bilinear, 3 bicubic. Default: 1.
        cval: Fill value of new pixels. Default: 0.
        mode: ``'constant'``, ``'edge'``, ``'symmetric'``, ``'reflect'`` or ``'wrap'``. Default: ``'constant'``.
    """

    geometric = True

    def __init__(
        self,
        scale: Any = 1.0,
        translate_percent: Any = None,
        translate_px: Any = None,
        rotate: Any = 0.0,
        shear: Any = 0.0,
        order: int = 1,
        cval: Any = 0,
        mode: str = "constant",
    ):
        if translate_percent is not None and translate_px is not None:
            raise ConfigError("Imgaug Affine: give translate_percent or translate_px, not both")
        if order not in _ORDERS:
            raise ConfigError(f"Imgaug Affine: order must be one of {sorted(_ORDERS)}, got {order!r}")
        if mode not in _MODES:
            raise ConfigError(f"Imgaug Affine: mode must be one of {sorted(_MODES)}, got {mode!r}")
        self.scale = self._xy(scale, "scale")
        self.translate_kind = "px" if translate_px is not None else "percent"
        self.translate = self._xy(translate_px if translate_px is not None else (translate_percent or 0), "translate")
        self.rotate = Param(rotate, "rotate")
        self.shear_xy = isinstance(shear, dict)
        self.shear = self._xy(shear, "shear") if self.shear_xy else Param(shear, "shear")
        self.order = order
        self.cval = Param(cval, "cval")
        self.mode = mode

    @staticmethod
    def _xy(value: Any, name: str) -> Tuple[Param, Param]:
        if isinstance(value, dict) and set(value) <= {"x", "y"} and set(value):
            return Param(value.get("x", 0 if name != "scale" else 1), f"{name}.x"), Param(
                value.get("y", 0 if name != "scale" else 1), f"{name}.y"
            )
        param = Param(value, name)
        return param, param

    def sample(self, draw: _Draw, shape):
        h, w = shape[:2]
        sx = self.scale[0].draw(draw)
        sy = sx if self.scale[1] is self.scale[0] else self.scale[1].draw(draw)
        tx = self.translate[0].draw(draw)
        ty = tx if self.translate[1] is self.translate[0] else self.translate[1].draw(draw)
        if self.translate_kind == "percent":
            tx, ty = tx * w, ty * h
        rot = math.radians(self.rotate.draw(draw))
        cx, cy = w / 2.0 - 0.5, h / 2.0 - 0.5
        if self.shear_xy:
            shx = math.tan(math.radians(self.shear[0].draw(draw)))
            shy = math.tan(math.radians(self.shear[1].draw(draw)))
            core = np.array([[sx * math.cos(rot), -sy * math.sin(rot)], [sx * math.sin(rot), sy * math.cos(rot)]])
            core = core @ np.array([[1.0, shx], [shy, 1.0]])
        else:
            shear = math.radians(self.shear.draw(draw))
            core = np.array(
                [[sx * math.cos(rot), -sy * math.sin(rot + shear)], [sx * math.sin(rot), sy * math.cos(rot + shear)]]
            )
        centre = np.array([cx, cy])
        offset = centre + np.array([tx, ty]) - core @ centre
        matrix = np.concatenate([core, offset[:, None]], axis=1)
        return matrix, self.cval.draw(draw)

    def image(self, img, params):
        matrix, cval = params
        h, w = img.shape[:2]
        channels = 1 if img.ndim == 2 else img.shape[2]
        return cv2.warpAffine(
            img,
            matrix,
            (w, h),
            flags=_ORDERS[self.order],
            borderMode=_MODES[self.mode],
            borderValue=(cval,) * min(channels, 4),
        )

    def boxes(self, boxes, params, shape):
        return _transform_boxes(boxes, params[0])

    def _args(self):
        xy = lambda pair: pair[0] if pair[0] is pair[1] else {"x": pair[0], "y": pair[1]}  # noqa: E731
        return {
            "scale": xy(self.scale),
            f"translate_{self.translate_kind}": xy(self.translate),
            "rotate": self.rotate,
            "shear": xy(self.shear) if self.shear_xy else self.shear,
            "order": self.order,
            "cval": self.cval,
            "mode": self.mode,
        }


@_register
class Rotate(Affine):
    """``Affine(rotate=rotate)``.

    Args:
        rotate: Degrees. Default: (-30, 30).
        order: Interpolation order. Default: 1.
        cval: Fill value. Default: 0.
        mode: Border mode. Default: ``'constant'``.
    """

    def __init__(self, rotate: Any = (-30, 30), order: int = 1, cval: Any = 0, mode: str = "constant"):
        super().__init__(rotate=rotate, order=order, cval=cval, mode=mode)


@_register
class ShearX(Affine):
    """Pure horizontal shear: row ``y`` moves by ``tan(shear) * (y - cy)`` pixels.

    Args:
        shear: Degrees. Default: (-30, 30).
        order: Interpolation order. Default: 1.
        cval: Fill value. Default: 0.
        mode: Border mode. Default: ``'constant'``.
    """

    def __init__(self, shear: Any = (-30, 30), order: int = 1, cval: Any = 0, mode: str = "constant"):
        super().__init__(shear={"x": shear}, order=order, cval=cval, mode=mode)


@_register
class ShearY(Affine):
    """Pure vertical shear: column ``x`` moves by ``tan(shear) * (x - cx)`` pixels.

    Args:
        shear: Degrees. Default: (-30, 30).
        order: Interpolation order. Default: 1.
        cval: Fill value. Default: 0.
        mode: Border mode. Default: ``'constant'``.
    """

    def __init__(self, shear: Any = (-30, 30), order: int = 1, cval: Any = 0, mode: str = "constant"):
        super().__init__(shear={"y": shear}, order=order, cval=cval, mode=mode)


@_register
class TranslateX(Affine):
    """Horizontal shift by ``percent`` of the width or by ``px`` pixels.

    Args:
        percent: Fraction of the width. Default: None.
        px: Pixels. Default: None (then ``percent`` defaults to ``(-0.25, 0.25)``).
        order: Interpolation order. Default: 1.
        cval: Fill value. Default: 0.
        mode: Border mode. Default: ``'constant'``.
    """

    axis = "x"

    def __init__(self, percent: Any = None, px: Any = None, order: int = 1, cval: Any = 0, mode: str = "constant"):
        if percent is None and px is None:
            percent = (-0.25, 0.25)
        other = "y" if self.axis == "x" else "x"
        super().__init__(
            translate_percent=None if percent is None else {self.axis: percent, other: 0},
            translate_px=None if px is None else {self.axis: px, other: 0},
            order=order,
            cval=cval,
            mode=mode,
        )


@_register
class TranslateY(TranslateX):
    """Vertical shift by ``percent`` of the height or by ``px`` pixels (arguments as ``TranslateX``)."""

    axis = "y"


# ------------------------------------------------------------------------------ photometric
def _check_uint8_rgb(img: np.ndarray, name: str) -> None:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ShapeError(f"Imgaug {name}: needs uint8 H x W x 3 RGB frames, got {img.dtype} {img.shape}")


class _Pillow(Augmenter):
    """Augmenters that are Pillow operations (imgaug's ``pillike`` module)."""

    def _pil(self, img: np.ndarray, fn: Callable[[Image.Image], Image.Image]) -> np.ndarray:
        _check_uint8_rgb(img, type(self).__name__)
        return np.asarray(fn(Image.fromarray(img)), dtype=np.uint8)


class _Enhance(_Pillow):
    enhancer: Callable

    def __init__(self, factor: Any = (0.0, 3.0)):
        self.factor = Param(factor, f"{type(self).__name__}.factor")

    def sample(self, draw, shape):
        return self.factor.draw(draw)

    def image(self, img, factor):
        return self._pil(img, lambda im: type(self).enhancer(im).enhance(factor))

    def _args(self):
        return {"factor": self.factor}


@_register
class EnhanceColor(_Enhance):
    """``PIL.ImageEnhance.Color`` (0 = grey, 1 = unchanged). Args: factor (default (0.0, 3.0))."""

    enhancer = ImageEnhance.Color


@_register
class EnhanceContrast(_Enhance):
    """``PIL.ImageEnhance.Contrast``. Args: factor (default (0.0, 3.0))."""

    enhancer = ImageEnhance.Contrast


@_register
class EnhanceBrightness(_Enhance):
    """``PIL.ImageEnhance.Brightness``. Args: factor (default (0.0, 3.0))."""

    enhancer = ImageEnhance.Brightness


@_register
class EnhanceSharpness(_Enhance):
    """``PIL.ImageEnhance.Sharpness``. Args: factor (default (0.0, 3.0))."""

    enhancer = ImageEnhance.Sharpness


@_register
class Autocontrast(_Pillow):
    """``PIL.ImageOps.autocontrast`` per channel.

    Args:
        cutoff: Percent of darkest/brightest pixels ignored. Default: (0, 20).
    """

    def __init__(self, cutoff: Any = (0, 20)):
        self.cutoff = Param(cutoff, "Autocontrast.cutoff", integer=True)

    def sample(self, draw, shape):
        return self.cutoff.draw(draw)

    def image(self, img, cutoff):
        return self._pil(img, lambda im: ImageOps.autocontrast(im, cutoff=cutoff))

    def _args(self):
        return {"cutoff": self.cutoff}


@_register
class Equalize(_Pillow):
    """``PIL.ImageOps.equalize`` (histogram equalization per channel). No arguments."""

    def image(self, img, params):
        return self._pil(img, ImageOps.equalize)


@_register
class Posterize(_Pillow):
    """Keep the ``nb_bits`` most significant bits of every channel (``PIL.ImageOps.posterize``).

    Args:
        nb_bits: Bits kept, 1..8. Default: (1, 8).
    """

    def __init__(self, nb_bits: Any = (1, 8)):
        self.nb_bits = Param(nb_bits, "Posterize.nb_bits", integer=True)

    def sample(self, draw, shape):
        bits = int(self.nb_bits.draw(draw))
        if not 1 <= bits <= 8:
            raise ConfigError(f"Imgaug Posterize: nb_bits must be in 1..8, got {bits}")
        return bits

    def image(self, img, bits):
        return self._pil(img, lambda im: ImageOps.posterize(im, bits))

    def _args(self):
        return {"nb_bits": self.nb_bits}


@_register
class Invert(Augmenter):
    """``255 - img`` with probability ``p``.

    Args:
        p: Probability. Default: 1.
    """

    def __init__(self, p: float = 1):
        self.p = p

    def sample(self, draw, shape):
        return draw.coin(self.p)

    def image(self, img, invert):
        return (255 - img).astype(img.dtype) if invert else img

    def _args(self):
        return {"p": self.p}


@_register
class Solarize(Augmenter):
    """Invert the pixels at or above ``threshold`` with probability ``p``.

    Args:
        p: Probability. Default: 1.
        threshold: Threshold. Default: (64, 192).
    """

    def __init__(self, p: float = 1, threshold: Any = (64, 192)):
        self.p = p
        self.threshold = Param(threshold, "Solarize.threshold")

    def sample(self, draw, shape):
        return draw.coin(self.p), self.threshold.draw(draw)

    def image(self, img, params):
        apply, threshold = params
        if not apply:
            return img
        return np.where(img >= threshold, 255 - img, img).astype(img.dtype)

    def _args(self):
        return {"p": self.p, "threshold": self.threshold}


@_register
class Cutout(Augmenter):
    """Fill ``nb_iterations`` rectangles with ``cval``.

    Each rectangle is ``size * W`` wide and ``size * H`` high (one ``size`` for both when
    ``squared``, else one per side), centred at a uniformly random point, clipped to the image.

    Args:
        nb_iterations: Rectangles per clip. Default: 1.
        size: Size as a fraction of the image side. Default: 0.2.
        squared: One size fraction for both sides. Default: True.
        cval: Fill value. Default: 128.
    """

    def __init__(self, nb_iterations: Any = 1, size: Any = 0.2, squared: bool = True, cval: Any = 128):
        self.nb_iterations = Param(nb_iterations, "Cutout.nb_iterations", integer=True)
        self.size = Param(size, "Cutout.size")
        self.squared = squared
        self.cval = Param(cval, "Cutout.cval")

    def sample(self, draw, shape):
        h, w = shape[:2]
        rects = []
        for _ in range(int(self.nb_iterations.draw(draw))):
            size_w = self.size.draw(draw)
            size_h = size_w if self.squared else self.size.draw(draw)
            cx, cy = draw.uniform(0, 1) * w, draw.uniform(0, 1) * h
            rw, rh = size_w * w, size_h * h
            x1, x2 = int(round(max(cx - rw / 2, 0))), int(round(min(cx + rw / 2, w)))
            y1, y2 = int(round(max(cy - rh / 2, 0))), int(round(min(cy + rh / 2, h)))
            rects.append((x1, y1, x2, y2, self.cval.draw(draw)))
        return rects

    def image(self, img, rects):
        out = img.copy()
        for x1, y1, x2, y2, cval in rects:
            out[y1:y2, x1:x2] = cval
        return out

    def _args(self):
        return {"nb_iterations": self.nb_iterations, "size": self.size, "squared": self.squared, "cval": self.cval}


@_register
class GaussianBlur(Augmenter):
    """Gaussian blur with standard deviation ``sigma`` (OpenCV, kernel size from sigma).

    Args:
        sigma: Standard deviation in pixels. Default: (0.0, 3.0).
    """

    def __init__(self, sigma: Any = (0.0, 3.0)):
        self.sigma = Param(sigma, "GaussianBlur.sigma")

    def sample(self, draw, shape):
        return self.sigma.draw(draw)

    def image(self, img, sigma):
        if sigma < 0.01:
            return img
        return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)

    def _args(self):
        return {"sigma": self.sigma}


class _PixelArithmetic(Augmenter):
    def _finish(self, img: np.ndarray, values: np.ndarray) -> np.ndarray:
        if img.dtype == np.uint8:
            return np.clip(np.round(values), 0, 255).astype(np.uint8)
        return values.astype(img.dtype)


@_register
class Add(_PixelArithmetic):
    """Add ``value`` to every pixel (clipped to ``[0, 255]`` for uint8).

    Args:
        value: Amount. Default: (-20, 20).
    """

    def __init__(self, value: Any = (-20, 20)):
        self.value = Param(value, "Add.value")

    def sample(self, draw, shape):
        return self.value.draw(draw)

    def image(self, img, value):
        return self._finish(img, img.astype(np.float32) + value)

    def _args(self):
        return {"value": self.value}


@_register
class Multiply(_PixelArithmetic):
    """Multiply every pixel by ``mul`` (clipped for uint8).

    Args:
        mul: Factor. Default: (0.8, 1.2).
    """

    def __init__(self, mul: Any = (0.8, 1.2)):
        self.mul = Param(mul, "Multiply.mul")

    def sample(self, draw, shape):
        return self.mul.draw(draw)

    def image(self, img, mul):
        return self._finish(img, img.astype(np.float32) * mul)

    def _args(self):
        return {"mul": self.mul}


@_register
class LinearContrast(_PixelArithmetic):
    """``128 + alpha * (img - 128)`` (clipped for uint8).

    Args:
        alpha: Contrast factor. Default: (0.6, 1.4).
    """

    def __init__(self, alpha: Any = (0.6, 1.4)):
        self.alpha = Param(alpha, "LinearContrast.alpha")

    def sample(self, draw, shape):
        return self.alpha.draw(draw)

    def image(self, img, alpha):
        return self._finish(img, 128 + alpha * (img.astype(np.float32) - 128))

    def _args(self):
        return {"alpha": self.alpha}


@_register
class GammaContrast(_PixelArithmetic):
    """``255 * (img / 255) ** gamma`` (uint8 images).

    Args:
        gamma: Exponent. Default: (0.7, 1.7).
    """

    def __init__(self, gamma: Any = (0.7, 1.7)):
        self.gamma = Param(gamma, "GammaContrast.gamma")

    def sample(self, draw, shape):
        return self.gamma.draw(draw)

    def image(self, img, gamma):
        return self._finish(img, 255.0 * (img.astype(np.float32) / 255.0) ** gamma)

    def _args(self):
        return {"gamma": self.gamma}


@_register
class AdditiveGaussianNoise(_PixelArithmetic):
    """Add ``N(loc, scale)`` noise, drawn per pixel (and per channel if ``per_channel``).

    The noise is drawn per frame from the clip's random source.

    Args:
        loc: Mean. Default: 0.
        scale: Standard deviation (pixel units). Default: (0, 15).
        per_channel: Independent noise per channel. Default: False.
    """

    def __init__(self, loc: Any = 0, scale: Any = (0, 15), per_channel: bool = False):
        self.loc = Param(loc, "AdditiveGaussianNoise.loc")
        self.scale = Param(scale, "AdditiveGaussianNoise.scale")
        self.per_channel = per_channel

    def sample(self, draw, shape):
        return self.loc.draw(draw), self.scale.draw(draw), draw

    def image(self, img, params):
        loc, scale, draw = params
        noise_shape = img.shape if (self.per_channel or img.ndim == 2) else img.shape[:2] + (1,)
        noise = draw.np_random.normal(loc, scale, size=noise_shape) if scale > 0 else np.full(noise_shape, loc)
        return self._finish(img, img.astype(np.float32) + noise)

    def _args(self):
        return {"loc": self.loc, "scale": self.scale, "per_channel": self.per_channel}


@_register
class Grayscale(Augmenter):
    """Blend towards the grey image (``alpha`` = 1: fully grey; ITU-R 601 luma).

    Args:
        alpha: Blend factor. Default: 1.
    """

    def __init__(self, alpha: Any = 1):
        self.alpha = Param(alpha, "Grayscale.alpha")

    def sample(self, draw, shape):
        return self.alpha.draw(draw)

    def image(self, img, alpha):
        _check_uint8_rgb(img, "Grayscale")
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None].astype(np.float32)
        out = (1 - alpha) * img.astype(np.float32) + alpha * gray
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def _args(self):
        return {"alpha": self.alpha}


# ------------------------------------------------------------------------------ the pipeline step
def _default_transforms(choice: Callable[[Sequence[int]], int]) -> List[Dict[str, Any]]:
    """mmaction2's RandAugment-style default (magnitude 9 of 10, two augmenters per clip).

    ``choice`` is python ``random.choice`` (or its seeded equivalent); it is called five times
    for the signs of the shears, translations and rotation, in mmaction2's order.
    """
    num_augmenters = 2
    cur_magnitude, max_magnitude = 9, 10
    cur_level = 1.0 * cur_magnitude / max_magnitude
    return [
        dict(
            type="SomeOf",
            n=num_augmenters,
            children=[
                dict(type="ShearX", shear=17.19 * cur_level * choice([-1, 1])),
                dict(type="ShearY", shear=17.19 * cur_level * choice([-1, 1])),
                dict(type="TranslateX", percent=0.2 * cur_level * choice([-1, 1])),
                dict(type="TranslateY", percent=0.2 * cur_level * choice([-1, 1])),
                dict(type="Rotate", rotate=30 * cur_level * choice([-1, 1])),
                dict(type="Posterize", nb_bits=max(1, int(4 * cur_level))),
                dict(type="Solarize", threshold=256 * cur_level),
                dict(type="EnhanceColor", factor=1.8 * cur_level + 0.1),
                dict(type="EnhanceContrast", factor=1.8 * cur_level + 0.1),
                dict(type="EnhanceBrightness", factor=1.8 * cur_level + 0.1),
                dict(type="EnhanceSharpness", factor=1.8 * cur_level + 0.1),
                dict(type="Autocontrast", cutoff=0),
                dict(type="Equalize"),
                dict(type="Invert", p=1.0),
                dict(type="Cutout", nb_iterations=1, size=0.2 * cur_level, squared=True),
            ],
        )
    ]


def _encode_ranges(value: Any) -> Any:
    """Tuples → ``{"range": [...]}`` so that JSON keeps imgaug's tuple/list distinction."""
    if isinstance(value, tuple):
        return {"range": [_encode_ranges(v) for v in value]}
    if isinstance(value, list):
        return [_encode_ranges(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode_ranges(v) for k, v in value.items()}
    return value


@PIPELINES.register()
class Imgaug(PipelineStep):
    """imgaug-style augmentation of RGB clips, without imgaug (see the module docstring).

    Required keys: ``imgs``, ``modality`` (``'RGB'``), ``img_shape`` if ``gt_bboxes`` is present.
    Added or modified keys: ``imgs``, ``img_shape``, ``gt_bboxes``, ``proposals`` (boxes are
    clipped to the image). Like mmaction2, it does not add ``crop_bbox``, ``flip_direction``...

    Args:
        transforms: ``'default'`` (mmaction2's RandAugment set) or a list of augmenter dicts
            ``{"type": Name, **arguments}`` (``children``/``then_list``/``else_list`` nest). The
            names are in ``videohub.data.pipelines.imgaug.AUGMENTERS``. No default.
        seed: None (global numpy RNG for the per-clip draws and python ``random`` for the
            ``'default'`` signs, as mmaction2), an int or a ``numpy.random.Generator``. Default: None.
    """

    def __init__(self, transforms: Union[str, List[Dict[str, Any]]], seed: SeedLike = None):
        self._init_rng(seed)
        if transforms == "default":
            self.transforms = _default_transforms(self.py_random.py_choice)
        elif isinstance(transforms, list) and all(isinstance(t, dict) for t in transforms):
            self.transforms = transforms
        else:
            raise ConfigError("Imgaug: transforms must be 'default' or a list of dicts with a 'type' key")
        self.aug = Sequential([self.imgaug_builder(t) for t in self.transforms])

    def default_transforms(self) -> List[Dict[str, Any]]:
        """mmaction2's default RandAugment set (draws the five signs from this step's python RNG)."""
        return _default_transforms(self.py_random.py_choice)

    def imgaug_builder(self, cfg: Dict[str, Any]) -> Augmenter:
        """Build one augmenter (and its children) from ``{"type": Name, **arguments}``."""
        if not isinstance(cfg, dict) or "type" not in cfg:
            raise ConfigError(f"Imgaug: an augmenter config must be a dict with a 'type' key, got {cfg!r}")
        args = dict(cfg)
        name = args.pop("type")
        if not isinstance(name, str) or name not in AUGMENTERS:
            raise ConfigError(f"Imgaug: unknown augmenter {name!r}; available: {sorted(AUGMENTERS)}")
        for key in ("children", "then_list", "else_list"):
            if key in args and args[key] is not None:
                if not isinstance(args[key], list):
                    raise ConfigError(f"Imgaug {name}: {key} must be a list of augmenter dicts")
                args[key] = [self.imgaug_builder(child) for child in args[key]]
        try:
            return AUGMENTERS[name](**args)
        except TypeError as err:
            raise ConfigError(f"Imgaug {name}: {err}") from None

    def to_config(self) -> Dict[str, Any]:
        """``{"type": "Imgaug", "transforms": [...]}`` with ranges written as ``{"range": [a, b]}``."""
        config = super().to_config()
        if self._init_args.get("transforms") != "default":
            config["transforms"] = to_jsonable(_encode_ranges(self.transforms), "Imgaug.transforms")
        return config

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("imgs", "modality"), "Imgaug")
        if results["modality"] != "RGB":
            raise ConfigError(f"Imgaug: only RGB clips are supported, got modality {results['modality']!r}")
        imgs = results["imgs"]
        shape = imgs[0].shape
        in_dtype = imgs[0].dtype
        params = self.aug.sample(_Draw(self.np_random), shape)
        out = [self.aug.image(frame, params) for frame in imgs]
        if out[0].dtype != in_dtype:
            raise ConfigError(f"Imgaug: the augmenters changed the dtype from {in_dtype} to {out[0].dtype}")
        img_h, img_w = out[0].shape[:2]
        if "gt_bboxes" in results:
            require_keys(results, ("img_shape",), "Imgaug")
            for key in ("gt_bboxes", "proposals"):
                if key in results and results[key] is not None:
                    boxes = np.asarray(results[key], dtype=np.float32).reshape(-1, 4)
                    boxes = self.aug.boxes(boxes, params, shape)
                    boxes[:, 0] = np.maximum(boxes[:, 0], 0)
                    boxes[:, 1] = np.maximum(boxes[:, 1], 0)
                    boxes[:, 2] = np.minimum(boxes[:, 2], img_w)
                    boxes[:, 3] = np.minimum(boxes[:, 3], img_h)
                    results[key] = boxes
        results["imgs"] = out
        results["img_shape"] = (img_h, img_w)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(transforms={self.aug})"

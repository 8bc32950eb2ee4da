"""Formatting steps: array layout (``FormatShape``), tensors, key selection (``Collect``), and
:class:`ToModelInputs`, the last step of a videohub recognition pipeline.

``ToModelInputs`` replaces mmaction2's ``FormatShape`` + ``Collect`` + ``ToTensor`` tail: it lays the
frames out as the model takes them (``pixel_values`` ``(views, T, C, H, W)``, the transformers
video convention) and names them like the model's arguments, so nothing later has to transpose
an ``NCTHW`` clip back. ``FormatShape`` keeps mmaction2's layouts for pipelines that need them.

``Collect`` returns the meta information as a plain dict (mmaction2 wraps it in an mmcv
``DataContainer``). videohub does not need ``DataContainer``: mmcv used it to tell its
``collate`` and ``MMDataParallel`` which fields to stack, pad, or keep on the CPU. In videohub the
batch collate function (``videohub.data``'s collate for ``torch.utils.data.DataLoader``) stacks
tensors of equal shape and keeps everything else (meta dicts, variable-size boxes) as lists, so
no wrapper is needed. ``ToDataContainer`` still exists for configs that use it: it wraps values
in the small :class:`DataContainer` below, which records the same flags and whose ``.data`` gives
the value back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Dict, Sequence as SequenceT

import numpy as np
import torch

from ...errors import ConfigError, ShapeError
from ...registry import PIPELINES
from .compose import PipelineStep, require_keys


def to_tensor(data: Any) -> torch.Tensor:
    """Convert ``data`` to a ``torch.Tensor`` (mmaction2's ``to_tensor``).

    Tensors pass through; arrays share memory (``torch.from_numpy``, copied first if they have
    negative strides); sequences go through ``torch.tensor``; an int becomes a 1-element
    ``LongTensor`` and a float a 1-element ``FloatTensor`` (numpy scalars likewise).
    """
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        if any(s < 0 for s in data.strides):
            data = np.ascontiguousarray(data)
        return torch.from_numpy(data)
    if isinstance(data, Sequence) and not isinstance(data, str):
        return torch.tensor(data)
    if isinstance(data, (bool, np.bool_)):
        raise ConfigError(f"to_tensor: a bool ({data!r}) cannot be converted to a tensor")
    if isinstance(data, (int, np.integer)):
        return torch.LongTensor([int(data)])
    if isinstance(data, (float, np.floating)):
        return torch.FloatTensor([float(data)])
    raise ConfigError(f"to_tensor: type {type(data).__name__} cannot be converted to tensor.")


def _check_keys(keys: Any, step: str) -> None:
    if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
        raise ConfigError(f"{step}: keys must be a list of key names, got {keys!r}")


@PIPELINES.register()
class ToTensor(PipelineStep):
    """Convert ``results[key]`` to ``torch.Tensor`` for each of ``keys`` (see :func:`to_tensor`).

    Args:
        keys: Names of the values to convert. No default.
    """

    def __init__(self, keys: SequenceT[str]):
        _check_keys(keys, "ToTensor")
        self.keys = keys

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, self.keys, "ToTensor")
        for key in self.keys:
            try:
                results[key] = to_tensor(results[key])
            except ConfigError as err:
                raise ConfigError(f"ToTensor: key {key!r}: {err}") from None
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys})"


@PIPELINES.register()
class Rename(PipelineStep):
    """Rename keys of ``results``; a key that is absent is left alone.

    Args:
        mapping: ``{old name: new name}``. No default.
    """

    def __init__(self, mapping: Dict[str, str]):
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise ConfigError(f"Rename: mapping must be a dict of str -> str, got {mapping!r}")
        self.mapping = mapping

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        for key, value in self.mapping.items():
            if key in results:
                if value in results:
                    raise ConfigError(f"Rename: cannot rename {key!r} to {value!r}: the new name already exists")
                results[value] = results.pop(key)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mapping={self.mapping})"


class DataContainer:
    """A value plus mmcv's collate flags (``stack``, ``padding_value``, ``cpu_only``, ``pad_dims``).

    Only a record: videohub's collate unwraps it with ``.data`` (stacking when ``stack`` is True
    and shapes agree, else keeping a list).

    Args:
        data: The wrapped value. No default.
        stack: Stack the values of a batch into one tensor. Default: False.
        padding_value: Padding value when stacking tensors of different sizes. Default: 0.
        cpu_only: Keep on the CPU (meta information). Default: False.
        pad_dims: Number of trailing dims to pad (None, 1, 2 or 3). Default: 2.
    """

    def __init__(self, data: Any, stack: bool = False, padding_value: float = 0, cpu_only: bool = False, pad_dims=2):
        if pad_dims not in (None, 1, 2, 3):
            raise ConfigError(f"DataContainer: pad_dims must be None, 1, 2 or 3, got {pad_dims!r}")
        self._data = data
        self.stack = stack
        self.padding_value = padding_value
        self.cpu_only = cpu_only
        self.pad_dims = pad_dims

    @property
    def data(self) -> Any:
        """The wrapped value."""
        return self._data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


@PIPELINES.register()
class ToDataContainer(PipelineStep):
    """Wrap values in :class:`DataContainer` (kept for mmaction2 configs; not needed in videohub).

    Args:
        fields: Dicts with ``key`` (a name or a list of names) and the :class:`DataContainer` flags,
            e.g. ``[{"key": "gt_bbox", "stack": False}]``. No default.
    """

    def __init__(self, fields: SequenceT[Dict[str, Any]]):
        if not isinstance(fields, (list, tuple)) or not all(isinstance(f, dict) and "key" in f for f in fields):
            raise ConfigError(f"ToDataContainer: fields must be a list of dicts with a 'key', got {fields!r}")
        allowed = {"key", "stack", "padding_value", "cpu_only", "pad_dims"}
        for field in fields:
            unknown = set(field) - allowed
            if unknown:
                raise ConfigError(f"ToDataContainer: unknown field options {sorted(unknown)} in {field!r}")
        self.fields = fields

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        for field in self.fields:
            options = {k: v for k, v in field.items() if k != "key"}
            keys = field["key"] if isinstance(field["key"], list) else [field["key"]]
            require_keys(results, keys, "ToDataContainer")
            for key in keys:
                results[key] = DataContainer(results[key], **options)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fields={self.fields})"


@PIPELINES.register()
class ImageToTensor(PipelineStep):
    """Convert ``H x W x C`` images to ``C x H x W`` tensors.

    Args:
        keys: Names of the images to convert. No default.
    """

    def __init__(self, keys: SequenceT[str]):
        _check_keys(keys, "ImageToTensor")
        self.keys = keys

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, self.keys, "ImageToTensor")
        for key in self.keys:
            value = np.asarray(results[key])
            if value.ndim != 3:
                raise ShapeError(f"ImageToTensor: {key!r} must be H x W x C, got shape {value.shape}")
            results[key] = to_tensor(value.transpose(2, 0, 1))
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys})"


@PIPELINES.register()
class Transpose(PipelineStep):
    """Transpose arrays to a given axis order.

    Args:
        keys: Names of the arrays. No default.
        order: The new axis order. No default.
    """

    def __init__(self, keys: SequenceT[str], order: SequenceT[int]):
        _check_keys(keys, "Transpose")
        self.keys = keys
        self.order = order

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, self.keys, "Transpose")
        for key in self.keys:
            value = results[key]
            if value.ndim != len(self.order):
                raise ShapeError(
                    f"Transpose: {key!r} has {value.ndim} dims (shape {tuple(value.shape)}) but order is {self.order}"
                )
            if isinstance(value, torch.Tensor):
                results[key] = value.permute(*self.order)
            else:
                results[key] = value.transpose(self.order)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys}, order={self.order})"


DEFAULT_META_KEYS = ("filename", "label", "original_shape", "img_shape", "pad_shape", "flip_direction", "img_norm_cfg")


@PIPELINES.register()
class Collect(PipelineStep):
    """Keep only ``keys`` and gather ``meta_keys`` into one dict under ``meta_name``.

    Returns a new dict ``{key: results[key] for key in keys}`` plus, if ``meta_keys`` is not
    empty, ``{meta_name: {k: results[k] for k in meta_keys}}`` (a plain dict; see the module
    docstring for why there is no ``DataContainer``).

    Args:
        keys: Keys to keep. No default.
        meta_keys: Keys gathered into the meta dict. Default: ``('filename', 'label',
            'original_shape', 'img_shape', 'pad_shape', 'flip_direction', 'img_norm_cfg')``.
        meta_name: Name of the meta dict. Default: ``'img_metas'``.
        nested: Wrap every value in a one-element list. Default: False.
    """

    def __init__(
        self,
        keys: SequenceT[str],
        meta_keys: SequenceT[str] = DEFAULT_META_KEYS,
        meta_name: str = "img_metas",
        nested: bool = False,
    ):
        _check_keys(keys, "Collect")
        _check_keys(meta_keys, "Collect (meta_keys)")
        self.keys = keys
        self.meta_keys = meta_keys
        self.meta_name = meta_name
        self.nested = nested

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, self.keys, "Collect")
        data: Dict[str, Any] = {key: results[key] for key in self.keys}
        if len(self.meta_keys) != 0:
            require_keys(results, self.meta_keys, "Collect (meta_keys)")
            data[self.meta_name] = {key: results[key] for key in self.meta_keys}
        if self.nested:
            data = {key: [value] for key, value in data.items()}
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(keys={self.keys}, meta_keys={self.meta_keys}, nested={self.nested})"


_INPUT_FORMATS = ("NCTHW", "NCHW", "NCHW_Flow", "NPTCHW")


@PIPELINES.register()
class FormatShape(PipelineStep):
    """Arrange the frames ``M x H x W x C`` (``M = crops * clips * clip_len``) for the model.

    Required keys: ``imgs``, ``num_clips``, ``clip_len`` (and ``num_proposals`` for NPTCHW).
    Added or modified keys: ``imgs``, ``input_shape``.

    * ``NCHW``: ``M x C x H x W``.
    * ``NCTHW``: ``(crops * clips) x C x clip_len x H x W``.
    * ``NCHW_Flow``: ``(crops * clips) x (clip_len * C) x H x W``.
    * ``NPTCHW``: ``proposals x (clips * clip_len) x C x H x W``.

    Args:
        input_format: One of the formats above. No default.
        collapse: Drop the leading axis when it is 1 (for detectors); requires ``num_clips == 1``.
            Default: False.
    """

    def __init__(self, input_format: str, collapse: bool = False):
        if input_format not in _INPUT_FORMATS:
            raise ConfigError(f"FormatShape: the input format {input_format!r} is invalid; use one of {_INPUT_FORMATS}")
        self.input_format = input_format
        self.collapse = collapse

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("imgs",), "FormatShape")
        if not isinstance(results["imgs"], np.ndarray):
            results["imgs"] = np.array(results["imgs"])
        imgs = results["imgs"]
        if self.collapse and results.get("num_clips") != 1:
            raise ConfigError(f"FormatShape: collapse=True needs num_clips == 1, got {results.get('num_clips')!r}")
        if self.input_format == "NCHW":
            if imgs.ndim != 4:
                raise ShapeError(f"FormatShape(NCHW): imgs must be M x H x W x C, got shape {imgs.shape}")
            imgs = np.transpose(imgs, (0, 3, 1, 2))
        else:
            require_keys(results, ("num_clips", "clip_len"), "FormatShape")
            num_clips, clip_len = results["num_clips"], results["clip_len"]
            if imgs.ndim != 4:
                raise ShapeError(f"FormatShape({self.input_format}): imgs must be M x H x W x C, got shape {imgs.shape}")
            if self.input_format == "NPTCHW":
                require_keys(results, ("num_proposals",), "FormatShape(NPTCHW)")
                group = results["num_proposals"] * num_clips * clip_len
            else:
                group = num_clips * clip_len
            if imgs.shape[0] % group != 0:
                raise ShapeError(
                    f"FormatShape({self.input_format}): {imgs.shape[0]} frames are not a multiple of "
                    f"{group} (num_clips={num_clips} x clip_len={clip_len}"
                    + (f" x num_proposals={results['num_proposals']})" if self.input_format == "NPTCHW" else ")")
                )
            if self.input_format == "NCTHW":
                imgs = imgs.reshape((-1, num_clips, clip_len) + imgs.shape[1:])
                imgs = np.transpose(imgs, (0, 1, 5, 2, 3, 4))
                imgs = imgs.reshape((-1,) + imgs.shape[2:])
            elif self.input_format == "NCHW_Flow":
                imgs = imgs.reshape((-1, num_clips, clip_len) + imgs.shape[1:])
                imgs = np.transpose(imgs, (0, 1, 2, 5, 3, 4))
                imgs = imgs.reshape((-1, imgs.shape[2] * imgs.shape[3]) + imgs.shape[4:])
            else:
                imgs = imgs.reshape((results["num_proposals"], num_clips * clip_len) + imgs.shape[1:])
                imgs = np.transpose(imgs, (0, 1, 4, 2, 3))
        if self.collapse:
            if imgs.shape[0] != 1:
                raise ShapeError(f"FormatShape: collapse=True needs a leading axis of 1, got shape {imgs.shape}")
            imgs = imgs.squeeze(0)
        results["imgs"] = imgs
        results["input_shape"] = imgs.shape
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_format='{self.input_format}')"


@PIPELINES.register()
class FormatAudioShape(PipelineStep):
    """Add the channel axis to audio features: ``clips x T x F`` → ``clips x 1 x T x F``.

    Required keys: ``audios``. Added or modified keys: ``audios``, ``input_shape``.

    Args:
        input_format: Only ``'NCTF'``. No default.
    """

    def __init__(self, input_format: str):
        if input_format not in ("NCTF",):
            raise ConfigError(f"FormatAudioShape: the input format {input_format!r} is invalid; use 'NCTF'")
        self.input_format = input_format

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("audios",), "FormatAudioShape")
        audios = results["audios"]
        if audios.ndim != 3:
            raise ShapeError(f"FormatAudioShape: audios must be clips x T x F, got shape {tuple(audios.shape)}")
        clip, sample, freq = audios.shape
        audios = audios.reshape(clip, 1, sample, freq)
        results["audios"] = audios
        results["input_shape"] = audios.shape
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_format='{self.input_format}')"


@PIPELINES.register()
class ToModelInputs(PipelineStep):
    """Last step of a recognition pipeline: the model's inputs, as tensors named like its arguments.

    * ``imgs`` (``M x H x W x C`` frames, ``M = views * clip_len``, ``views = crops * clips``) →
      ``pixel_values``: float32 ``(views, clip_len, C, H, W)``. ``clip_len`` is read from the
      results (set by the sampling step); without it every frame is a view of one frame (2D data).
      2D models fold ``views * clip_len`` into their batch, 3D models permute each view to
      ``C x T x H x W``: one transpose in all, inside the model.
    * ``audios`` (``clips x T x F``) → ``input_features``: float32 ``(clips, 1, T, F)``.
    * ``label`` → ``labels``: a class id becomes a 0-dim int64 tensor (a batch stacks to ``(B,)``);
      a multi-label vector becomes a tensor.
    * ``meta_keys`` are gathered into ``img_metas`` (a plain dict), as :class:`Collect` does.

    Every other key is dropped. Required keys: ``imgs`` or ``audios`` (and the ``meta_keys``).
    Added keys: ``pixel_values`` or ``input_features``, ``labels`` (when ``label`` is present and not
    ``None``), ``img_metas`` (when ``meta_keys`` is not empty).

    Args:
        meta_keys: Keys gathered into ``img_metas``. Default: ``()`` (no ``img_metas``).
    """

    def __init__(self, meta_keys: SequenceT[str] = ()):
        _check_keys(meta_keys, "ToModelInputs (meta_keys)")
        self.meta_keys = meta_keys

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        if "imgs" in results:
            out["pixel_values"] = _video_inputs(results["imgs"], int(results.get("clip_len", 1)))
        elif "audios" in results:
            audios = np.asarray(results["audios"], dtype=np.float32)
            if audios.ndim != 3:
                raise ShapeError(f"ToModelInputs: audios must be clips x T x F, got shape {audios.shape}")
            out["input_features"] = torch.from_numpy(np.ascontiguousarray(audios[:, None]))
        else:
            raise ConfigError(f"ToModelInputs: the results have neither 'imgs' nor 'audios'; keys: {sorted(results)}")
        label = results.get("label")
        if label is not None:
            is_id = isinstance(label, (int, np.integer)) and not isinstance(label, (bool, np.bool_))
            out["labels"] = torch.tensor(int(label), dtype=torch.long) if is_id else to_tensor(label)
        if len(self.meta_keys) != 0:
            require_keys(results, self.meta_keys, "ToModelInputs (meta_keys)")
            out["img_metas"] = {key: results[key] for key in self.meta_keys}
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(meta_keys={self.meta_keys})"


def _video_inputs(imgs: Any, clip_len: int) -> torch.Tensor:
    """``M x H x W x C`` frames → contiguous float32 ``(M / clip_len, clip_len, C, H, W)``."""
    if not isinstance(imgs, np.ndarray):
        if len(imgs) == 0:
            raise ShapeError("ToModelInputs: imgs holds no frames")
        shapes = {np.shape(frame) for frame in imgs}
        if len(shapes) > 1:
            raise ShapeError(f"ToModelInputs: the frames have different shapes {sorted(shapes)}; "
                             "resize or crop them to one size first")
        imgs = np.stack(imgs)
    frames = imgs.astype(np.float32, copy=False)
    if frames.ndim != 4:
        raise ShapeError(f"ToModelInputs: imgs must be M x H x W x C frames, got shape {frames.shape}")
    if clip_len < 1 or frames.shape[0] % clip_len != 0:
        raise ShapeError(f"ToModelInputs: {frames.shape[0]} frames are not a whole number of clips of "
                         f"clip_len={clip_len}")
    clips = frames.reshape((-1, clip_len) + frames.shape[1:])  # (views, T, H, W, C)
    return torch.from_numpy(np.ascontiguousarray(clips.transpose(0, 1, 4, 2, 3)))

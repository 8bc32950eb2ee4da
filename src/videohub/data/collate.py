"""Batch collation for videohub samples (what mmcv's ``collate`` + ``DataContainer`` did).

Per key, over the samples of a batch:

- tensors (or numpy arrays) of one shape are stacked into one tensor; of different shapes they
  stay a list (multi-view clips of equal size stack to ``(B, V, ...)``; variable-size boxes stay
  lists);
- python numbers become a tensor;
- dicts (the ``img_metas`` of ``Collect``), strings and everything else stay a list, one entry per
  sample;
- a ``DataContainer`` is unwrapped; with ``stack=True`` its tensors are padded with
  ``padding_value`` on the last ``pad_dims`` dims to the largest size and stacked.

Samples marked as skipped by :class:`videohub.data.PipelineTransform` (``{"__skipped__": msg}``)
or ``None`` samples are dropped; the batch then carries ``num_skipped`` and ``skipped`` (messages).

:class:`VideoCollator` is the batch contract of the recognition models: ``collate``, then
:func:`to_model_batch` (``pixel_values``, ``input_features``, ``labels``). It is the collator of
the training loop and of ``transformers.Trainer``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

import numpy as np
import torch

from ..errors import ShapeError
from ..utils.logging import get_logger

logger = get_logger(__name__)

SKIP_KEY = "__skipped__"


def _is_skipped(sample: Any) -> bool:
    return sample is None or (isinstance(sample, dict) and sample.get(SKIP_KEY) is not None)


def _pad_stack(tensors: List[torch.Tensor], padding_value: float, pad_dims: Any) -> Any:
    if all(t.shape == tensors[0].shape for t in tensors):
        return torch.stack(tensors)
    if pad_dims is None or any(t.dim() != tensors[0].dim() for t in tensors):
        return tensors
    lead = tensors[0].dim() - pad_dims
    if any(t.shape[:lead] != tensors[0].shape[:lead] for t in tensors):
        return tensors
    max_tail = [max(t.shape[lead + d] for t in tensors) for d in range(pad_dims)]
    out = tensors[0].new_full((len(tensors), *tensors[0].shape[:lead], *max_tail), padding_value)
    for i, t in enumerate(tensors):
        out[(i, ...) + tuple(slice(0, s) for s in t.shape[lead:])] = t
    return out


def _collate_values(values: List[Any]) -> Any:
    first = values[0]
    if type(first).__name__ == "DataContainer":
        datas = [v.data for v in values]
        if getattr(first, "stack", False) and all(isinstance(d, torch.Tensor) for d in datas):
            return _pad_stack(datas, first.padding_value, first.pad_dims)
        return datas
    if isinstance(first, (torch.Tensor, np.ndarray)) and all(isinstance(v, type(first)) for v in values):
        tensors = [torch.as_tensor(v) if isinstance(v, np.ndarray) else v for v in values]
        if all(t.shape == tensors[0].shape and t.dtype == tensors[0].dtype for t in tensors):
            return torch.stack(tensors)
        return tensors
    if isinstance(first, bool) or isinstance(first, np.bool_):
        return torch.tensor([bool(v) for v in values]) if all(isinstance(v, (bool, np.bool_)) for v in values) else list(values)
    if isinstance(first, (int, float, np.integer, np.floating)) and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values
    ):
        return torch.tensor([v.item() if isinstance(v, np.generic) else v for v in values])
    return list(values)


def collate(batch: Sequence[Any]) -> Dict[str, Any]:
    """Collate a list of sample dicts into a batch dict (see the module docstring)."""
    kept = [s for s in batch if not _is_skipped(s)]
    messages = [s.get(SKIP_KEY) if isinstance(s, dict) else "sample is None" for s in batch if _is_skipped(s)]
    out: Dict[str, Any] = {}
    if kept:
        if not all(isinstance(s, dict) for s in kept):
            raise TypeError(f"collate expects dict samples, got {type(kept[0]).__name__}")
        keys: List[str] = []
        for sample in kept:
            for key in sample:
                if key not in keys and key != SKIP_KEY:
                    keys.append(key)
        for key in keys:
            values = [s.get(key) for s in kept]
            out[key] = list(values) if any(v is None for v in values) else _collate_values(values)
    if messages:
        for message in messages:
            logger.warning("dropped a skipped sample from the batch: %s", message)
        out["num_skipped"] = len(messages)
        out["skipped"] = messages
    return out


class VideoCollator:
    """Collate recognition samples into model inputs (also a ``transformers.Trainer`` data collator).

    :func:`collate`, then :func:`to_model_batch`. Samples of a pipeline ending in
    :class:`~videohub.data.pipelines.formatting.ToModelInputs` are stacked as they are.

    Args:
        keep_keys: Extra batch keys to keep (``img_metas`` ...). Default ``()``.

    Raises:
        ShapeError: Every sample of the batch was skipped, or the clips cannot be stacked.
    """

    def __init__(self, keep_keys: Sequence[str] = ()):
        self.keep_keys = tuple(keep_keys)

    def __call__(self, samples: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
        batch = collate(samples)
        if not batch or ("num_skipped" in batch and len(batch) == 2):
            raise ShapeError(f"every sample of a batch was skipped: {batch.get('skipped')}")
        return to_model_batch(batch, self.keep_keys)


def to_model_batch(batch: Dict[str, Any], keep_keys: Sequence[str] = ()) -> Dict[str, Any]:
    """The model inputs of a collated batch: ``pixel_values``, ``input_features``, ``labels``.

    Batches of :class:`~videohub.data.pipelines.formatting.ToModelInputs` samples already are in
    the model's layout and pass through. Batches of an mmaction2 pipeline ending in
    ``FormatShape`` + ``Collect`` are renamed: ``imgs`` → ``pixel_values`` (``NCHW`` batches
    ``(B, N, C, H, W)`` are kept; ``NCTHW`` batches ``(B, V, C, T, H, W)`` become
    ``(B, V, T, C, H, W)``), ``audios`` → ``input_features``, ``keypoint`` → ``keypoints``, ``label`` → ``labels`` (``(B, 1)`` →
    ``(B,)``). Other keys are dropped unless ``keep_keys`` names them.

    Args:
        batch: Output of :func:`collate`.
        keep_keys: Extra batch keys to keep. Default ``()``.
    """
    out: Dict[str, Any] = {}
    if "pixel_values" in batch or "imgs" in batch:
        imgs = batch.get("pixel_values", batch.get("imgs"))
        if not isinstance(imgs, torch.Tensor):
            raise ShapeError("the clips of a batch have different shapes and cannot be stacked "
                             f"(shapes {[tuple(x.shape) for x in imgs]}); use a fixed crop size")
        if "pixel_values" not in batch:
            if imgs.dim() == 6:  # FormatShape('NCTHW'): (B, V, C, T, H, W)
                imgs = imgs.transpose(2, 3)
            elif imgs.dim() != 5:
                raise ShapeError(f"imgs of a batch has shape {tuple(imgs.shape)}; expected (B, N, C, H, W) from "
                                 "FormatShape('NCHW') or (B, V, C, T, H, W) from FormatShape('NCTHW')")
        # FormatShape's numpy transposes reach the batch as strided views; the model gets dense memory
        out["pixel_values"] = imgs.contiguous()
    if "audios" in batch or "input_features" in batch:
        out["input_features"] = batch.get("input_features", batch.get("audios"))
    if "keypoint" in batch or "keypoints" in batch:  # FormatGCNInput: (B, C, T, V, M)
        out["keypoints"] = batch.get("keypoints", batch.get("keypoint"))
    labels = batch.get("labels", batch.get("label"))
    if labels is not None:
        labels = torch.as_tensor(labels) if not isinstance(labels, torch.Tensor) else labels
        if labels.dim() == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        out["labels"] = labels
    if not out:
        raise ShapeError(f"a batch has none of imgs/pixel_values/audios/input_features/keypoint; keys: {sorted(batch)}")
    for key in keep_keys:
        if key in batch:
            out[key] = batch[key]
    return out

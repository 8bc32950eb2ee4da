"""Data: decoding (``VideoReader``), pipelines, datasets (torch-style and HF ``datasets``),
batching (collate, samplers, blending, ``build_dataloader``).

Attributes are imported on first use, so ``import videohub.data`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any, Dict

_LAZY: Dict[str, str] = {
    # decoding
    "VideoReader": ".video_reader",
    "clear_index_cache": ".video_reader",
    # datasets
    "load_dataset": ".datasets",
    "make_transform": ".datasets",
    "PipelineTransform": ".datasets",
    "row_to_results": ".datasets",
    "BUILDERS": ".datasets",
    "DATASETS": ".datasets",
    "build_dataset": ".datasets",
    "BaseDataset": ".datasets",
    "VideoDataset": ".datasets",
    "RawframeDataset": ".datasets",
    "ImageDataset": ".datasets",
    "RawVideoDataset": ".datasets",
    "AudioDataset": ".datasets",
    "AudioFeatureDataset": ".datasets",
    "AudioVisualDataset": ".datasets",
    "HVUDataset": ".datasets",
    "ActivityNetDataset": ".datasets",
    "AVADataset": ".datasets",
    "SSNDataset": ".datasets",
    "RepeatDataset": ".datasets",
    "convert_ava_proposals": ".datasets",
    # batching
    "collate": ".collate",
    "build_dataloader": ".loader",
    "worker_init_fn": ".loader",
    "DistributedSampler": ".samplers",
    "DistributedPowerSampler": ".samplers",
    "ClassSpecificDistributedSampler": ".samplers",
    "BaseMiniBatchBlending": ".blending",
    "MixupBlending": ".blending",
    "CutmixBlending": ".blending",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

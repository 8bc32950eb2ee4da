"""``LFBInferHead`` (mmaction2 0.24): collect RoI features into a long-term feature bank on disk.

**Difference from mmaction2.** mmaction2 pickles the bank with ``torch.save`` to
``<lfb_prefix_path>/lfb_<dataset_mode>.pkl`` from ``__del__``. videohub writes
``lfb_<dataset_mode>.safetensors`` (format: :mod:`videohub.models.ava.lfb`) and never
pickles; call :meth:`LFBInferHead.save` when inference is done (``__del__`` still saves unsaved
features as a fallback, like mmaction2). In a distributed run every rank writes
``_lfb_<mode>_<rank>.safetensors``; rank 0 merges them into the final file and removes them.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch
from torch import nn

from ...errors import ShapeError
from ...registry import HEADS
from .bbox_head_ava import _pool
from .lfb import dist_info, load_lfb, save_lfb


def merge_rank_banks(paths: Sequence[str]) -> Dict[str, Dict[int, List[torch.Tensor]]]:
    """Merge per-rank bank files (a video's seconds from later files update earlier ones)."""
    bank: Dict[str, Dict[int, List[torch.Tensor]]] = {}
    for path in paths:
        for video_id, seconds in load_lfb(path).items():
            bank.setdefault(video_id, {}).update(seconds)
    return bank


@HEADS.register()
class LFBInferHead(nn.Module):
    """Pool RoI features, keep them with their ``img_key`` and write them as an LFB; returns ``x`` unchanged.

    Args:
        lfb_prefix_path: Directory of the bank (created by every rank if missing).
        dataset_mode: ``"train"``, ``"val"`` or ``"test"``: the file is ``lfb_<mode>.safetensors``. Default ``"train"``.
        use_half_precision: Store float16 features. Default ``True``.
        temporal_pool_type: ``"avg"`` (default) or ``"max"``.
        spatial_pool_type: ``"avg"`` or ``"max"`` (default).
    """

    def __init__(
        self,
        lfb_prefix_path: str,
        dataset_mode: str = "train",
        use_half_precision: bool = True,
        temporal_pool_type: str = "avg",
        spatial_pool_type: str = "max",
    ):
        super().__init__()
        self.temporal_pool = _pool(temporal_pool_type, (1, None, None), "LFBInferHead temporal_pool_type")
        self.spatial_pool = _pool(spatial_pool_type, (None, 1, 1), "LFBInferHead spatial_pool_type")
        os.makedirs(lfb_prefix_path, exist_ok=True)
        self.lfb_prefix_path = lfb_prefix_path
        self.dataset_mode = dataset_mode
        self.use_half_precision = use_half_precision
        self.all_features: List[torch.Tensor] = []
        self.all_metadata: List[str] = []

    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """No parameters to initialize (``pretrained`` ignored, default ``None``)."""

    def forward(self, x: torch.Tensor, rois: torch.Tensor, img_metas: Sequence[Mapping[str, Any]], **kwargs: Any) -> torch.Tensor:
        """Record the pooled ``[C]`` feature and ``img_key`` of each RoI; return ``x`` ([K, C, T, H, W])."""
        if x.dim() != 5 or rois.dim() != 2 or rois.size(0) != x.size(0):
            raise ShapeError(f"LFBInferHead expects x [K, C, T, H, W] and rois [K, 5], got {tuple(x.shape)} and {tuple(rois.shape)}")
        features = self.spatial_pool(self.temporal_pool(x))
        if self.use_half_precision:
            features = features.half()
        for ind in rois[:, 0].long().tolist():
            self.all_metadata.append(img_metas[ind]["img_key"])
        self.all_features += [f.detach().reshape(-1).cpu() for f in features]
        return x

    def collected_bank(self) -> Dict[str, Dict[int, List[torch.Tensor]]]:
        """The features recorded so far as ``{video_id: {second: [feature, ...]}}``."""
        if len(self.all_features) != len(self.all_metadata):
            raise ShapeError(f"LFBInferHead: {len(self.all_features)} features but {len(self.all_metadata)} img_keys")
        bank: Dict[str, Dict[int, List[torch.Tensor]]] = {}
        for feature, key in zip(self.all_features, self.all_metadata):
            video_id, _, second = key.rpartition(",")
            bank.setdefault(video_id, {}).setdefault(int(second), []).append(feature)
        return bank

    def save(self) -> Optional[str]:
        """Write the bank; return the final file path on rank 0 (``None`` on other ranks)."""
        rank, world_size = dist_info()
        final = os.path.normpath(os.path.join(self.lfb_prefix_path, f"lfb_{self.dataset_mode}.safetensors"))
        if world_size == 1:
            save_lfb(self.collected_bank(), final)
        else:
            part = os.path.join(self.lfb_prefix_path, f"_lfb_{self.dataset_mode}_{rank}.safetensors")
            save_lfb(self.collected_bank(), part)
            torch.distributed.barrier()
            if rank == 0:
                parts = [os.path.join(self.lfb_prefix_path, f"_lfb_{self.dataset_mode}_{r}.safetensors")
                         for r in range(world_size)]
                save_lfb(merge_rank_banks(parts), final)
                for path in parts:
                    os.remove(path)
        self.all_features, self.all_metadata = [], []
        return final if rank == 0 else None

    def __del__(self):
        if getattr(self, "all_features", None):
            self.save()

"""Process-level setup of a training run: the shared seed, deterministic kernels, trackers, devices."""

from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch

from ..utils import logging

logger = logging.get_logger(__name__)


def shared_seed(seed: Optional[int], accelerator: Any) -> int:
    """``seed``, or (when ``None``) one drawn on the main process and broadcast to all."""
    if seed is not None:
        return int(seed)
    from accelerate.utils import broadcast_object_list

    drawn = [int(np.random.SeedSequence().generate_state(1)[0]) if accelerator.is_main_process else 0]
    broadcast_object_list(drawn, from_process=0)
    return drawn[0]


def enable_determinism() -> None:
    """Deterministic cuDNN/cuBLAS kernels (slower); ops without a deterministic kernel only warn.

    Call it before the first CUDA operation (``CUBLAS_WORKSPACE_CONFIG`` is read when cuBLAS starts).
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True, warn_only=True)


def available_trackers(report_to: Union[str, Sequence[str]]) -> List[str]:
    """The trackers of ``report_to`` whose package is installed (``"all"``: every installed one)."""
    from accelerate.tracking import get_available_trackers

    installed = [str(getattr(t, "value", t)) for t in get_available_trackers()]
    wanted = [report_to] if isinstance(report_to, str) else list(report_to)
    if "all" in wanted:
        return installed
    chosen = [t for t in wanted if t in installed]
    for name in sorted(set(wanted) - set(chosen) - {"none"}):
        logger.warning("tracker %r is not installed; its logs are skipped", name)
    return chosen


def has_accelerator_device() -> bool:
    """Whether torch sees a GPU (or another accelerator device)."""
    accelerator_api = getattr(torch, "accelerator", None)
    if accelerator_api is not None and hasattr(accelerator_api, "is_available"):
        return bool(accelerator_api.is_available())
    return torch.cuda.is_available()

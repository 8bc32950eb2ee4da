"""``BaseLocalizer``, the ``LOCALIZERS`` registry, ``build_localizer`` and BSN/BMN post-processing."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ...errors import ConfigError
from ...localization import soft_nms
from ...registry import BACKBONES, HEADS, Registry

LOCALIZERS = Registry("localizer")


def build_localizer(cfg: Dict[str, Any]) -> nn.Module:
    """Build a localizer (``TEM``, ``PEM``, ``BMN``, ``SSN``) from ``dict(type=..., **kwargs)``."""
    from . import bmn, ssn, tem, pem  # noqa: F401  (register the localizers)

    return LOCALIZERS.build(cfg)


def cfg_get(cfg: Any, key: str, where: str) -> Any:
    """``cfg.key`` of an attribute-style config (mmcv ``ConfigDict``) or ``cfg[key]`` of a dict."""
    if isinstance(cfg, Mapping):
        if key not in cfg:
            raise ConfigError(f"{where}: missing key {key!r} (have {sorted(cfg)})")
        return cfg[key]
    if not hasattr(cfg, key):
        raise ConfigError(f"{where}: missing attribute {key!r}")
    return getattr(cfg, key)


class BaseLocalizer(nn.Module):
    """Base of localizers with a backbone and a head (mmaction2 ``BaseLocalizer``).

    Args:
        backbone: Backbone config, built with ``BACKBONES``.
        cls_head: Head config, built with ``HEADS``.
        train_cfg: Training config. Default ``None``.
        test_cfg: Testing config. Default ``None``.

    Subclasses implement ``forward_train`` and ``forward_test``. TEM, PEM and BMN, as in mmaction2,
    skip this constructor (they have neither backbone nor head).
    """

    def __init__(self, backbone: Dict[str, Any], cls_head: Dict[str, Any], train_cfg: Optional[Any] = None,
                 test_cfg: Optional[Any] = None):
        super().__init__()
        self.backbone = BACKBONES.build(backbone)
        self.cls_head = HEADS.build(cls_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.init_weights()

    def init_weights(self) -> None:
        """Initialize the backbone and the head; TEM, PEM and BMN have neither and keep PyTorch's init."""
        for name in ("backbone", "cls_head"):
            part = getattr(self, name, None)
            if part is not None:
                part.init_weights()

    def extract_feat(self, imgs: torch.Tensor) -> torch.Tensor:
        """Backbone features of ``imgs``."""
        return self.backbone(imgs)

    def forward_train(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward_train")

    def forward_test(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward_test")

    def forward(self, imgs: torch.Tensor, return_loss: bool = True, **kwargs):
        """``forward_train`` when ``return_loss`` (default ``True``), else ``forward_test``."""
        if return_loss:
            return self.forward_train(imgs, **kwargs)
        return self.forward_test(imgs, **kwargs)

    @staticmethod
    def _parse_losses(losses: Dict[str, Any]) -> Tuple[torch.Tensor, Dict[str, float]]:
        """Sum the entries whose name contains ``loss``; return ``(loss, log_vars)``."""
        log_vars: Dict[str, Any] = OrderedDict()
        for name, value in losses.items():
            if isinstance(value, torch.Tensor):
                log_vars[name] = value.mean()
            elif isinstance(value, list):
                log_vars[name] = sum(v.mean() for v in value)
            else:
                raise TypeError(f"{name} is not a tensor or list of tensors")
        loss = sum(v for k, v in log_vars.items() if "loss" in k)
        log_vars["loss"] = loss
        for name, value in log_vars.items():
            if dist.is_available() and dist.is_initialized():
                value = value.data.clone()
                dist.all_reduce(value.div_(dist.get_world_size()))
            log_vars[name] = value.item()
        return loss, log_vars

    def train_step(self, data_batch: Dict[str, Any], optimizer: Any = None, **kwargs) -> Dict[str, Any]:
        """Forward with loss; return ``loss``, ``log_vars`` and ``num_samples``."""
        loss, log_vars = self._parse_losses(self.forward(**data_batch))
        return dict(loss=loss, log_vars=log_vars, num_samples=len(next(iter(data_batch.values()))))

    def val_step(self, data_batch: Dict[str, Any], optimizer: Any = None, **kwargs) -> Dict[str, Any]:
        """Forward in test mode; return ``dict(results=...)``."""
        return dict(results=self.forward(return_loss=False, **data_batch))


def temporal_anchors(temporal_dim: int, tmin_offset: float = 0.0, tmax_offset: float = 1.0) -> Tuple[List[float], List[float]]:
    """Anchor starts ``(i + tmin_offset) / T`` and ends ``(i + tmax_offset) / T`` (defaults 0 and 1)."""
    gap = 1.0 / temporal_dim
    return ([gap * (i + tmin_offset) for i in range(temporal_dim)],
            [gap * (i + tmax_offset) for i in range(temporal_dim)])


def post_processing(result: np.ndarray, video_info: Mapping[str, Any], soft_nms_alpha: float,
                    soft_nms_low_threshold: float, soft_nms_high_threshold: float, post_process_top_k: int,
                    feature_extraction_interval: int) -> List[Dict[str, Any]]:
    """Soft-NMS the proposals ``[n, k]`` (tmin, tmax, ..., score) and scale them to seconds.

    The video length used is ``duration_frame // feature_extraction_interval *
    feature_extraction_interval / duration_frame * duration_second``; at most ``post_process_top_k``
    ``{'score', 'segment': [t0, t1]}`` dicts are returned, best first.
    """
    for key in ("duration_frame", "duration_second"):
        if key not in video_info:
            raise ConfigError(f"post_processing: video_meta lacks {key!r} (have {sorted(video_info)})")
    if len(result) > 1:
        result = soft_nms(result, soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold,
                          post_process_top_k)
    result = result[result[:, -1].argsort()[::-1]]
    frames = video_info["duration_frame"]
    video_duration = float(frames // feature_extraction_interval * feature_extraction_interval) / frames \
        * video_info["duration_second"]
    proposals = []
    for j in range(min(post_process_top_k, len(result))):
        proposals.append(dict(score=float(result[j, -1]),
                              segment=[max(0, result[j, 0]) * video_duration,
                                       min(1, result[j, 1]) * video_duration]))
    return proposals

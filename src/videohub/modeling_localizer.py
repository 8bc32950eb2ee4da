"""The temporal action localization task.

- :class:`BaseLocalizer`: mmaction2's module-level base of ``TEM``, ``PEM``, ``BMN`` and ``SSN``
  (``forward(..., return_loss=...)``, ``train_step``), kept for mmaction2 users.
- :class:`VideoLocalizerForTemporalActionLocalization`: the transformers base of every localizer
  model. It holds the architecture's mmaction2 localizer as ``localizer`` (built from the
  config's fields, which are that class's constructor arguments); an architecture sets
  ``localizer_class``, its config, and writes ``forward`` (its inputs differ: feature sequences,
  proposal features, frames) and ``post_process``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .errors import ConfigError
from .configuration_utils import LocalizerConfig
from .modeling_utils import VideoPreTrainedModel, mark_part
from .registry import BACKBONES, HEADS


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


class VideoLocalizerForTemporalActionLocalization(VideoPreTrainedModel):
    """Base of every videohub localizer: ``self.localizer`` is the mmaction2 module of the architecture."""

    config_class = LocalizerConfig
    auto_task = "temporal-action-localization"
    main_input_name = "input_features"
    base_model_prefix = "localizer"
    supports_gradient_checkpointing = False
    localizer_class: type = BaseLocalizer

    def __init__(self, config: LocalizerConfig):
        super().__init__(config)
        self.localizer = mark_part(self.localizer_class(**config.localizer_kwargs()))
        self.post_init()

    def post_process(self, outputs: Any, video_metas: List[Mapping[str, Any]]) -> List[List[Dict[str, Any]]]:
        """Per video, the proposals ``[{"segment": [t0, t1], "score": s}, ...]`` in seconds, best first."""
        raise NotImplementedError(f"{type(self).__name__} must implement post_process")

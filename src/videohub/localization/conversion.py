"""mmaction2 localizer checkpoints (``BMN``, ``TEM``, ``PEM``, ``SSN``) → videohub localization models.

The videohub model holds the mmaction2 module as ``localizer`` with mmaction2's own submodule
names, so the state dict converts by prefixing ``localizer.``.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping

import torch

from ..builder import LOCALIZER_TYPES
from ..errors import CheckpointError

__all__ = ["LOCALIZER_TYPES", "localizer_from_mmaction2"]


def localizer_from_mmaction2(model_cfg: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor],
                             source: str = "checkpoint") -> Any:
    """The videohub model of an mmaction2 localizer ``model_cfg`` with ``state_dict`` loaded strictly (eval mode).

    Args:
        model_cfg: mmaction2 ``model`` dict (``type`` one of :data:`LOCALIZER_TYPES`; for SSN its
            ``train_cfg`` / ``test_cfg`` included or ``None``).
        state_dict: mmaction2 state dict (its key names).
        source: Name of the checkpoint in error messages. Default ``"checkpoint"``.

    Raises:
        CheckpointError: Keys missing from or unexpected in ``state_dict`` (all named).
    """
    from ..builder import build_localization_model

    cfg: Dict[str, Any] = {k: v for k, v in dict(model_cfg).items() if v is not None or k not in ("train_cfg", "test_cfg")}
    cfg.pop("pretrained", None)
    if isinstance(cfg.get("backbone"), dict):
        cfg["backbone"] = dict(cfg["backbone"], pretrained=None)
    model = build_localization_model(cfg)
    converted = {f"localizer.{k}": v for k, v in state_dict.items()}
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(converted)), sorted(set(converted) - expected)
    if missing or unexpected:
        strip = len("localizer.")
        raise CheckpointError(f"{source}: missing keys {[k[strip:] for k in missing]}, unexpected keys "
                              f"{[k[strip:] for k in unexpected]} for mmaction2 {cfg['type']}")
    model.load_state_dict(converted, strict=True)
    return model.eval()

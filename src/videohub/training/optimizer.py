"""Optimizers and parameter groups with mmaction2 semantics.

- :func:`tsm_param_groups` / :class:`TSMOptimizerConstructor`: the TSM learning-rate policy.
- :func:`param_groups`: mmcv's ``paramwise_cfg`` options (bias / norm multipliers, custom keys).
- :class:`CopyOfSGD`: plain ``torch.optim.SGD`` under mmaction2's name.
- :func:`build_optimizer`: ``dict(type="SGD", lr=..., ...)`` → optimizer, with either policy.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from ..errors import ConfigError

ParamGroup = Dict[str, Any]
_NORMS = (_BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)


class CopyOfSGD(torch.optim.SGD):
    """A clone of ``torch.optim.SGD`` (mmaction2 registers it as an example of a custom optimizer).

    Args: as ``torch.optim.SGD``: ``lr`` (required), ``momentum=0``, ``dampening=0``,
    ``weight_decay=0``, ``nesterov=False``.
    """


def tsm_param_groups(model: nn.Module, base_lr: float, base_wd: float, fc_lr5: bool = True) -> List[ParamGroup]:
    """Parameter groups of mmaction2's ``TSMOptimizerConstructor``, in its order.

    1. first conv weight (lr, wd); 2. first conv bias (2x lr, no wd);
    3. other conv / linear weights (lr, wd); 4. their biases (2x lr, no wd);
    5. norm-layer parameters that require grad (lr, no wd);
    6. last linear weight (5x lr, wd) and 7. its bias (10x lr, no wd) when ``fc_lr5``
       (otherwise they join groups 3 and 4).

    Raises:
        ConfigError: A leaf module with parameters is none of conv, linear or norm.
    """
    first_w, first_b, normal_w, normal_b, norm, lr5_w, lr10_b = [], [], [], [], [], [], []
    convs = 0
    for name, module in model.named_modules():
        params = list(module.parameters(recurse=False))
        if isinstance(module, _ConvNd):
            convs += 1
            weights, biases = (first_w, first_b) if convs == 1 else (normal_w, normal_b)
            weights.append(module.weight)
            if module.bias is not None:
                biases.append(module.bias)
        elif isinstance(module, nn.Linear):
            normal_w.append(module.weight)
            if module.bias is not None:
                normal_b.append(module.bias)
        elif isinstance(module, _NORMS):
            norm.extend(p for p in params if p.requires_grad)
        elif params and not list(module.children()):
            raise ConfigError(f"TSM parameter groups: module {name!r} ({type(module).__name__}) has parameters but "
                              "is not a conv, linear or norm layer; give it a learning policy")
    if fc_lr5:
        lr5_w.append(normal_w.pop())
        lr10_b.append(normal_b.pop())
    return [
        {"params": first_w, "lr": base_lr, "weight_decay": base_wd},
        {"params": first_b, "lr": base_lr * 2, "weight_decay": 0},
        {"params": normal_w, "lr": base_lr, "weight_decay": base_wd},
        {"params": normal_b, "lr": base_lr * 2, "weight_decay": 0},
        {"params": norm, "lr": base_lr, "weight_decay": 0},
        {"params": lr5_w, "lr": base_lr * 5, "weight_decay": base_wd},
        {"params": lr10_b, "lr": base_lr * 10, "weight_decay": 0},
    ]


def param_groups(model: nn.Module, base_lr: float, base_wd: float = 0.0,
                 paramwise_cfg: Optional[Dict[str, Any]] = None) -> List[ParamGroup]:
    """One group per parameter with mmcv ``DefaultOptimizerConstructor`` multipliers.

    ``paramwise_cfg`` keys (all optional): ``bias_lr_mult`` (1), ``bias_decay_mult`` (1),
    ``norm_decay_mult`` (1), ``dwconv_decay_mult`` (1), ``custom_keys`` (``{substring: dict(lr_mult=,
    decay_mult=)}``, the longest matching key wins). Frozen parameters are left out.
    """
    cfg = dict(paramwise_cfg or {})
    known = {"bias_lr_mult", "bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult", "custom_keys"}
    if set(cfg) - known:
        raise ConfigError(f"paramwise_cfg: unknown key(s) {sorted(set(cfg) - known)}; allowed {sorted(known)}")
    custom = sorted(cfg.get("custom_keys", {}).items(), key=lambda kv: -len(kv[0]))
    groups = []
    for module_name, module in model.named_modules():
        for pname, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            full = f"{module_name}.{pname}" if module_name else pname
            lr, wd = base_lr, base_wd
            matched = next((mults for key, mults in custom if key in full), None)
            if matched is not None:
                lr *= matched.get("lr_mult", 1.0)
                wd *= matched.get("decay_mult", 1.0)
            elif isinstance(module, _NORMS):
                wd *= cfg.get("norm_decay_mult", 1.0)
            elif pname == "bias":
                lr *= cfg.get("bias_lr_mult", 1.0)
                wd *= cfg.get("bias_decay_mult", 1.0)
            elif isinstance(module, _ConvNd) and module.groups > 1 and module.groups == module.in_channels:
                wd *= cfg.get("dwconv_decay_mult", 1.0)
            groups.append({"params": [param], "lr": lr, "weight_decay": wd, "name": full})
    return groups


OPTIMIZERS = {"SGD": torch.optim.SGD, "CopyOfSGD": CopyOfSGD, "Adam": torch.optim.Adam,
              "AdamW": torch.optim.AdamW, "RMSprop": torch.optim.RMSprop}


def build_optimizer(model: nn.Module, cfg: Dict[str, Any]) -> torch.optim.Optimizer:
    """Build ``cfg`` = ``dict(type="SGD", lr=..., weight_decay=..., paramwise_cfg=..., constructor=...)``.

    ``constructor="TSMOptimizerConstructor"`` uses the TSM policy (``paramwise_cfg=dict(fc_lr5=True)``);
    otherwise :func:`param_groups`.
    """
    cfg = dict(cfg)
    kind = cfg.pop("type", "SGD")
    if kind not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer type {kind!r}; known types are {sorted(OPTIMIZERS)}")
    constructor = cfg.pop("constructor", "DefaultOptimizerConstructor")
    paramwise = cfg.pop("paramwise_cfg", None)
    if "lr" not in cfg:
        raise ConfigError(f"optimizer config {cfg!r} needs 'lr'")
    lr, wd = cfg["lr"], cfg.get("weight_decay", 0.0)
    if constructor == "TSMOptimizerConstructor":
        groups = tsm_param_groups(model, lr, wd, fc_lr5=(paramwise or {}).get("fc_lr5", True))
    elif constructor == "DefaultOptimizerConstructor":
        groups = param_groups(model, lr, wd, paramwise)
    else:
        raise ConfigError(f"unknown optimizer constructor {constructor!r}")
    return OPTIMIZERS[kind]([g for g in groups if g["params"]], **cfg)


class TSMOptimizerConstructor:
    """mmaction2's ``TSMOptimizerConstructor(optimizer_cfg, paramwise_cfg=None)``; call it with a model.

    ``paramwise_cfg=dict(fc_lr5=True)`` (default when ``None``) gives the last fc 5x lr (weight)
    and 10x lr (bias); see :func:`tsm_param_groups`.
    """

    def __init__(self, optimizer_cfg: Dict[str, Any], paramwise_cfg: Optional[Dict[str, Any]] = None):
        self.optimizer_cfg = dict(optimizer_cfg)
        self.paramwise_cfg = dict(paramwise_cfg or {"fc_lr5": True})

    def add_params(self, params: List[ParamGroup], model: nn.Module) -> None:
        """Append the TSM parameter groups of ``model`` to ``params`` (mmaction2's method)."""
        params.extend(tsm_param_groups(model, self.optimizer_cfg["lr"], self.optimizer_cfg.get("weight_decay", 0.0),
                                       self.paramwise_cfg.get("fc_lr5", True)))

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        return build_optimizer(model, dict(self.optimizer_cfg, constructor="TSMOptimizerConstructor",
                                           paramwise_cfg=self.paramwise_cfg))


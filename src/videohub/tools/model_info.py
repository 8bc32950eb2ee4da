"""Parameters and FLOPs of a recognizer, in total and per stage (mmaction2 ``tools/analysis/get_flops.py``).

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` during one forward pass on a
zero input: convolutions, matrix products and attention count ``2 * multiply-accumulates``;
normalization, activations and pooling count nothing. (mmaction2's tool reports mmcv's count,
which is multiply-accumulates and adds small terms for BN/ReLU/pooling, so its "FLOPs" are about
half of the numbers here: the ``macs`` field gives them.)

Stages: each direct child of the backbone (``conv1``, ``layer1``, ... for ResNets; pathways for
SlowFast), then the neck and the head. Parameters registered outside these modules, and FLOPs of
functions called outside them, are reported as ``(other)``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..errors import ConfigError, ShapeError

_MMACTION2_CONFIG_EXTS = (".py", ".json", ".yaml", ".yml")


@dataclass
class StageInfo:
    """One row of the table: a module's qualified name, its parameters and the FLOPs it ran."""

    name: str
    params: int
    flops: int

    @property
    def macs(self) -> int:
        return self.flops // 2


@dataclass
class ModelInfo:
    """Totals and per-stage numbers of one model on one input shape."""

    model: str
    model_type: str
    input_name: str
    input_shape: Tuple[int, ...]
    params: int
    trainable_params: int
    flops: int
    stages: List[StageInfo] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able dict (``macs`` added beside every ``flops``)."""
        out = asdict(self)
        out["input_shape"] = list(self.input_shape)
        out["macs"] = self.flops // 2
        for row in out["stages"]:
            row["macs"] = row["flops"] // 2
        return out


def load_model(spec: str) -> Tuple[nn.Module, str]:
    """A randomly initialized model built from ``spec``'s configuration (weights do not change the counts).

    ``spec`` is a videohub model folder, an mmaction2 config file (``.py``/``.json``/``.yaml``), a
    preset name (``tsn_r50_1x1x3_100e_kinetics400_rgb``) or a Hub id (only ``config.json`` is
    downloaded). Returns the model in eval mode and a description of where it came from.

    Raises:
        ConfigError: ``spec`` is none of these, or its configuration is invalid.
    """
    from ..auto import AutoVideoConfig, AutoVideoModel
    from ..conversion.mmaction2 import config_from_mmaction2

    if os.path.isfile(spec) and spec.endswith(_MMACTION2_CONFIG_EXTS):
        from ..conversion.config_reader import load_config

        config, source = config_from_mmaction2(load_config(spec)), f"mmaction2 config {spec}"
    elif os.path.isdir(spec):
        if not os.path.isfile(os.path.join(spec, "config.json")):
            raise ConfigError(f"model folder {spec!r} has no config.json")
        config, source = AutoVideoConfig.from_pretrained(spec), f"folder {spec}"
    else:
        preset = _find_preset(spec)
        if preset is not None:
            config = config_from_mmaction2(preset["model"], preset.get("test_pipeline"))
            source = f"preset {spec}"
        else:
            try:
                config = AutoVideoConfig.from_pretrained(spec)
            except (OSError, ValueError) as err:
                if isinstance(err, ConfigError):
                    raise
                raise ConfigError(f"{spec!r} is not a model folder, an mmaction2 config file, a preset name "
                                  f"or a reachable Hub id: {err}") from None
            source = f"Hub id {spec}"
    return AutoVideoModel.from_config(config).eval(), source


def _find_preset(name: str) -> Optional[Dict[str, Any]]:
    from ..conversion.presets import list_presets

    return next((e for e in list_presets() if e["name"] == name), None)


def default_input_shape(config: Any, input_shape: Optional[Sequence[int]] = None) -> Tuple[str, Tuple[int, ...]]:
    """The model input name and full shape for ``input_shape`` (see :func:`model_info`)."""
    audio = config.recognizer == "AudioRecognizer"
    dims = tuple(int(d) for d in input_shape) if input_shape is not None else None
    if dims is not None and any(d < 1 for d in dims):
        raise ShapeError(f"--input-shape {list(dims)}: every size must be >= 1")
    if audio:
        if dims is None:
            return "input_features", (1, 1, 128, 80)
        if len(dims) == 2:
            return "input_features", (1, 1) + dims
        if len(dims) in (4, 5):
            return "input_features", dims
        raise ShapeError(f"--input-shape {list(dims)} for an audio model: expected T F, B 1 T F or B V 1 T F")
    channels = int((config.backbone or {}).get("in_channels", 3))
    if dims is None:
        return "pixel_values", (1, int(config.num_frames), channels, 224, 224)
    if len(dims) == 2:
        return "pixel_values", (1, int(config.num_frames), channels) + dims
    if len(dims) == 3:
        return "pixel_values", (1, dims[0], channels) + dims[1:]
    if len(dims) in (5, 6):
        return "pixel_values", dims
    raise ShapeError(f"--input-shape {list(dims)}: expected H W, T H W, B T C H W or B V T C H W")


def model_stages(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """The stages of ``model``: the backbone's direct children, then every other top-level part.

    Wrappers (``model`` in ``TSNForVideoClassification.model.backbone``) are looked through.
    Returns ``(qualified name, module)`` pairs in registration order.
    """
    stages: List[Tuple[str, nn.Module]] = []

    def visit(prefix: str, module: nn.Module) -> None:
        for name, child in module.named_children():
            qualified = prefix + name
            if name == "backbone":
                stages.extend((f"{qualified}.{sub}", grand) for sub, grand in child.named_children())
            elif any(sub.rsplit(".", 1)[-1] == "backbone" for sub, _ in child.named_modules() if sub):
                visit(qualified + ".", child)
            else:
                stages.append((qualified, child))

    visit("", model)
    return stages


def count_flops(model: nn.Module, inputs: Dict[str, torch.Tensor]) -> Tuple[int, Dict[str, int]]:
    """Total FLOPs of ``model(**inputs)`` and the FLOPs per qualified module name ("" is the model)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(**inputs)
    root = type(model).__name__
    per_module = {}
    for key, ops in counter.get_flop_counts().items():
        if key == "Global":
            continue
        name = "" if key == root else key[len(root) + 1:] if key.startswith(root + ".") else None
        if name is not None:
            per_module[name] = int(sum(ops.values()))
    return int(counter.get_total_flops()), per_module


def model_info(model: nn.Module, input_shape: Optional[Sequence[int]] = None, name: str = "") -> ModelInfo:
    """Parameters and FLOPs of a videohub recognizer, in total and per stage.

    Args:
        model: A videohub ``...ForVideoClassification`` model.
        input_shape: Size of one input. ``H W`` (``config.num_frames`` frames), ``T H W``, the full
            ``pixel_values`` shape ``B T C H W`` or ``B V T C H W``; for audio models ``T F`` or the
            full ``input_features`` shape. Default ``None``: ``1 x num_frames x C x 224 x 224``
            (audio: ``1 x 1 x 128 x 80``).
        name: How the model is named in the result. Default ``""``.
    """
    config = model.config
    if not hasattr(config, "recognizer"):
        raise ConfigError(f"info counts FLOPs of recognizers; {type(model).__name__} is not one")
    input_name, shape = default_input_shape(config, input_shape)
    inputs = {input_name: torch.zeros(shape, dtype=next(model.parameters()).dtype)}
    was_training = model.training
    model.eval()
    try:
        total_flops, per_module = count_flops(model, inputs)
    except (RuntimeError, ValueError) as err:
        raise ShapeError(f"{type(model).__name__} cannot run on {input_name} of shape {list(shape)}: {err}") from None
    finally:
        model.train(was_training)
    params = list(model.parameters())
    stages = [StageInfo(qualified, sum(p.numel() for p in module.parameters()), per_module.get(qualified, 0))
              for qualified, module in model_stages(model)]
    stages = [s for s in stages if s.params or s.flops]
    total_params = sum(p.numel() for p in params)
    other = StageInfo("(other)", total_params - sum(s.params for s in stages),
                      total_flops - sum(s.flops for s in stages))
    if other.params or other.flops:
        stages.append(other)
    return ModelInfo(model=name, model_type=config.model_type, input_name=input_name, input_shape=shape,
                     params=total_params, trainable_params=sum(p.numel() for p in params if p.requires_grad),
                     flops=total_flops, stages=stages)


def _human(value: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value:.0f}"


def format_table(info: ModelInfo) -> str:
    """The human-readable report: totals, then one row per stage with shares of the totals."""
    lines = [
        f"model:       {info.model} ({info.model_type})",
        f"input:       {info.input_name} {' x '.join(str(d) for d in info.input_shape)}",
        f"parameters:  {info.params:,} ({_human(info.params)}; trainable {info.trainable_params:,})",
        f"FLOPs:       {info.flops:,} ({_human(info.flops)}FLOPs = {_human(info.flops / 2)}MACs)",
        "",
    ]
    width = max([len("stage")] + [len(s.name) for s in info.stages])
    lines.append(f"{'stage':<{width}}  {'params':>14}  {'%':>6}  {'FLOPs':>18}  {'%':>6}")
    for stage in info.stages:
        p_share = 100.0 * stage.params / info.params if info.params else 0.0
        f_share = 100.0 * stage.flops / info.flops if info.flops else 0.0
        lines.append(f"{stage.name:<{width}}  {stage.params:>14,}  {p_share:>6.2f}  "
                     f"{stage.flops:>18,}  {f_share:>6.2f}")
    return "\n".join(lines)

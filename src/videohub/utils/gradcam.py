"""Grad-CAM heat maps over video frames (mmaction2 ``GradCAM``), for 2D and 3D recognizers.

The class score's gradient at a backbone layer weights that layer's activation channels; the
rectified sum, upsampled to the input size and scaled to [0, 1] per sample, is the localization
map. It is coloured with a colormap and alpha-blended onto the de-normalized input frames.

Inputs are ``pixel_values`` exactly as :class:`~videohub.processing.VideoProcessor` returns them,
``(B, V, T, C, H, W)``, or a single view ``(B, T, C, H, W)``; maps keep that leading layout.
The built-in colormap is ``"jet"`` (matplotlib's, reproduced: no extra dependency); any other
matplotlib colormap name works when matplotlib is installed (``pip install "videohub[vis]"``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.pipelines.augmentations import IMAGENET_MEAN, IMAGENET_STD
from ..errors import ConfigError, ShapeError

# matplotlib's "jet" segment data: (x, value) control points per channel, linearly interpolated.
_JET = (
    ((0.0, 0.0), (0.35, 0.0), (0.66, 1.0), (0.89, 1.0), (1.0, 0.5)),
    ((0.0, 0.0), (0.125, 0.0), (0.375, 1.0), (0.64, 1.0), (0.91, 0.0), (1.0, 0.0)),
    ((0.0, 0.5), (0.11, 1.0), (0.34, 1.0), (0.65, 0.0), (1.0, 0.0)),
)
_LUT_SIZE = 256


def apply_colormap(values: np.ndarray, name: str = "jet") -> np.ndarray:
    """Colours ``(..., 3)`` float in [0, 1] of ``values`` in [0, 1] (256-entry lookup, as matplotlib).

    Args:
        values: Array of values in [0, 1] (clipped).
        name: ``"jet"`` (default, built in) or any matplotlib colormap name (needs matplotlib).

    Raises:
        ConfigError: ``name`` is not ``"jet"`` and matplotlib is missing, or it is not a colormap.
    """
    values = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    if name == "jet":
        grid = np.linspace(0.0, 1.0, _LUT_SIZE)
        lut = np.stack([np.interp(grid, [p[0] for p in ch], [p[1] for p in ch]) for ch in _JET], axis=-1)
        return lut[np.minimum((values * _LUT_SIZE).astype(np.int64), _LUT_SIZE - 1)]
    try:
        import matplotlib
    except ImportError:
        raise ConfigError(f"colormap {name!r} needs matplotlib: pip install \"videohub[vis]\" "
                          "(the built-in colormap 'jet' needs nothing)") from None
    try:
        colormap = matplotlib.colormaps[name]
    except KeyError:
        raise ConfigError(f"unknown matplotlib colormap {name!r}; e.g. 'jet', 'viridis', 'inferno'") from None
    return colormap(values)[..., :3]


def normalization_of(processor: Any) -> Dict[str, Any]:
    """``{"mean", "std", "to_bgr"}`` of the processor's ``Normalize`` step (mean 0, std 1 when it has none)."""
    for step in getattr(processor, "transforms", None) or []:
        if isinstance(step, dict) and step.get("type") == "Normalize":
            return dict(mean=tuple(step["mean"]), std=tuple(step["std"]), to_bgr=bool(step.get("to_bgr", False)))
    return dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), to_bgr=False)


def display_frames(pixel_values: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
                   std: Sequence[float] = IMAGENET_STD, to_bgr: bool = False) -> np.ndarray:
    """Undo ``Normalize``: ``(..., C, H, W)`` normalized input -> ``(..., H, W, 3)`` RGB float in [0, 1].

    Args:
        pixel_values: Normalized frames, channels third from last.
        mean, std: The normalization (0-255 scale). Defaults: ImageNet.
        to_bgr: The normalization reversed the channels (they are put back in RGB order). Default ``False``.
    """
    frames = pixel_values.detach().float().cpu().movedim(-3, -1).numpy()
    if frames.shape[-1] != 3:
        raise ShapeError(f"frames to display need 3 colour channels, got shape {tuple(pixel_values.shape)}")
    frames = frames * np.asarray(std, dtype=np.float32) + np.asarray(mean, dtype=np.float32)
    if to_bgr:
        frames = frames[..., ::-1]
    return np.clip(frames / 255.0, 0.0, 1.0)


def _resolve(model: nn.Module, name: str) -> nn.Module:
    """Find ``name`` (``/`` or ``.`` separated, mmaction2 style ``backbone/layer4/1/relu``) in ``model``."""
    parts = [p for p in name.replace("/", ".").split(".") if p]
    roots = [model] + [m for m in (getattr(model, "model", None),) if m is not None]
    for root in roots:
        module = root
        try:
            for part in parts:
                module = module[int(part)] if part.isdigit() else getattr(module, part)
            if isinstance(module, nn.Module):
                return module
        except (AttributeError, IndexError, TypeError):
            continue
    raise ConfigError(f"GradCAM: no layer {name!r} in {type(model).__name__} "
                      "(names look like 'backbone/layer4' or 'model.backbone.layer4.1.relu')")


def _backbone(model: nn.Module) -> Tuple[str, nn.Module]:
    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] == "backbone":
            return name, module
    raise ConfigError(f"GradCAM: {type(model).__name__} has no backbone; pass a target layer name")


class GradCAM:
    """Grad-CAM for a videohub video classifier (2D or 3D recognizer).

    Args:
        model: A ``...ForVideoClassification`` model.
        target_layer_name: Layer whose activations are weighted, e.g. ``"backbone/layer4/1/relu"``.
            Default ``None``: the last module of the backbone whose output is a frame (2D) or clip
            (3D) feature map that the score depends on, found by a probe on the first input
            (``layer4`` for ResNets).
        colormap: Colormap of the heat map. Default ``"jet"`` (built in; other names need matplotlib).
    """

    def __init__(self, model: nn.Module, target_layer_name: Optional[str] = None, colormap: str = "jet"):
        recognizer = getattr(getattr(model, "config", None), "recognizer", None)
        if recognizer not in ("Recognizer2D", "Recognizer3D"):
            raise ConfigError(f"GradCAM needs a 2D or 3D video recognizer; {type(model).__name__} is {recognizer!r}")
        self.model = model
        self.is_2d = recognizer == "Recognizer2D"
        self.colormap = colormap
        self.target_layer_name = target_layer_name
        self.layer = _resolve(model, target_layer_name) if target_layer_name else None

    def _is_feature_map(self, output: Any, batch_views: int) -> bool:
        """Whether a module output is a feature map: ``(B*V*T', C, h, w)`` for 2D, ``(N, C, t, h, w)`` for 3D."""
        if not isinstance(output, torch.Tensor) or output.dim() != (4 if self.is_2d else 5):
            return False
        return not self.is_2d or output.shape[0] % batch_views == 0

    def find_target_layer(self, pixel_values: torch.Tensor) -> str:
        """The default target layer: the backbone module finishing last with a feature map the score depends on.

        Runs one forward and backward pass on ``pixel_values``; returns the layer's qualified name.
        """
        x = pixel_values if pixel_values.dim() == 6 else pixel_values.unsqueeze(1)
        prefix, backbone = _backbone(self.model)
        finished: List[Tuple[str, torch.Tensor]] = []

        def record(name: str, output: Any) -> None:
            if self._is_feature_map(output, x.shape[0] * x.shape[1]) and output.requires_grad:
                finished.append((name, output))

        handles = [module.register_forward_hook(lambda _m, _i, out, name=name: record(name, out))
                   for name, module in backbone.named_modules() if name]
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.enable_grad():
                logits = self.model(pixel_values=x).logits
                score = (logits if logits.dim() == 2 else logits.mean(dim=1)).max(-1).values.sum()
                grads = torch.autograd.grad(score, [out for _, out in finished], allow_unused=True) if finished else []
        finally:
            for handle in handles:
                handle.remove()
            self.model.train(was_training)
        used = [name for (name, _), grad in zip(finished, grads) if grad is not None]
        if not used:
            raise ConfigError(f"GradCAM: no module of {prefix} returns a feature map the class score depends on; "
                              "pass a target layer name")
        return f"{prefix}.{used[-1]}"

    def localization_map(self, pixel_values: torch.Tensor, labels: Optional[torch.Tensor] = None
                         ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Maps in [0, 1] for the predicted (or given) classes, and the logits.

        Args:
            pixel_values: ``(B, V, T, C, H, W)`` as the processor returns it, or ``(B, T, C, H, W)``.
            labels: ``(B,)`` class ids to explain. Default ``None``: the predicted classes.

        Returns:
            ``(maps, logits)``: maps ``(B, V, T, H, W)`` (``(B, T, H, W)`` for a 5-d input), each
            sample scaled to [0, 1] over all its views and frames.
        """
        if pixel_values.dim() not in (5, 6):
            raise ShapeError(f"GradCAM: pixel_values has shape {tuple(pixel_values.shape)}; expected "
                             "(B, V, T, C, H, W) or (B, T, C, H, W)")
        x = pixel_values if pixel_values.dim() == 6 else pixel_values.unsqueeze(1)
        batch, views, frames, _, height, width = x.shape
        if self.layer is None:
            self.target_layer_name = self.find_target_layer(x)
            self.layer = _resolve(self.model, self.target_layer_name)
        acts: List[torch.Tensor] = []
        grads: Dict[int, torch.Tensor] = {}

        def keep(module: nn.Module, inputs: tuple, output: Any) -> None:
            if not isinstance(output, torch.Tensor) or not output.requires_grad:
                return
            index = len(acts)
            acts.append(output.detach())
            output.register_hook(lambda grad: grads.__setitem__(index, grad.detach()))

        handle = self.layer.register_forward_hook(keep)
        was_training = self.model.training
        self.model.eval()
        try:
            self.model.zero_grad()
            with torch.enable_grad():
                logits = self.model(pixel_values=x).logits
                scores = logits if logits.dim() == 2 else logits.mean(dim=1)  # average_clips=None: (B, clips, C)
                target = labels.to(scores.device).view(-1) if labels is not None else scores.argmax(-1)
                scores.gather(1, target.view(-1, 1)).sum().backward()
        finally:
            handle.remove()
            self.model.train(was_training)
        if self.is_2d or (acts and acts[-1].shape[0] == batch * views):
            # a module called several times on the whole input (a ReLU shared inside a block): its last call
            used = [len(acts) - 1]
        else:  # a 3D model running its views in chunks (max_testing_views): one call per chunk
            used = list(range(len(acts)))
        if not acts or any(i not in grads for i in used):
            raise ConfigError(f"GradCAM: layer {self.target_layer_name!r} returned no tensor that the class score "
                              "depends on")
        act, grad = torch.cat([acts[i] for i in used]), torch.cat([grads[i] for i in used])
        if act.dim() == 4 and act.shape[0] % (batch * views) == 0:  # 2D: (B*V*T', C, h, w)
            act = act.view(batch * views, -1, *act.shape[1:]).transpose(1, 2)
            grad = grad.view(batch * views, -1, *grad.shape[1:]).transpose(1, 2)
        elif not (act.dim() == 5 and act.shape[0] == batch * views):
            raise ShapeError(f"GradCAM: layer {self.target_layer_name!r} returns shape {tuple(act.shape)}; expected "
                             f"a feature map (N, C, [T,] h, w) with N a multiple of batch x views = {batch * views}")
        weights = grad.mean(dim=(2, 3, 4), keepdim=True)
        cam = F.relu((weights * act).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam.float(), size=(frames, height, width), mode="trilinear", align_corners=False)
        cam = cam.view(batch, views, frames, height, width)
        low = cam.flatten(1).min(1).values.view(-1, 1, 1, 1, 1)
        high = cam.flatten(1).max(1).values.view(-1, 1, 1, 1, 1)
        cam = (cam - low) / (high - low).clamp_min(1e-12)
        return (cam if pixel_values.dim() == 6 else cam[:, 0]), logits.detach()

    def __call__(self, pixel_values: torch.Tensor, use_labels: bool = False, labels: Optional[torch.Tensor] = None,
                 alpha: float = 0.5, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD,
                 to_bgr: bool = False) -> np.ndarray:
        """Blended frames, uint8 ``(B, [V,] T, H, W, 3)``: ``alpha * heatmap + (1 - alpha) * frame``.

        Args:
            pixel_values: Normalized input, ``(B, V, T, C, H, W)`` or ``(B, T, C, H, W)``.
            use_labels: Explain ``labels`` instead of the predicted classes. Default ``False``.
            labels: Class ids when ``use_labels``. Default ``None``.
            alpha: Heat-map weight. Default 0.5.
            mean, std, to_bgr: The normalization to undo for display (see :func:`normalization_of`).
                Defaults: ImageNet mean/std (0-255 scale), RGB.
        """
        if use_labels and labels is None:
            raise ConfigError("GradCAM: use_labels=True needs labels")
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"GradCAM: alpha must be in [0, 1], got {alpha}")
        cam, _ = self.localization_map(pixel_values, labels if use_labels else None)
        heat = apply_colormap(cam.numpy(), self.colormap)
        frames = display_frames(pixel_values, mean, std, to_bgr)
        return (np.clip(alpha * heat + (1 - alpha) * frames, 0, 1) * 255).astype(np.uint8)

"""Grad-CAM heat maps over video frames (mmaction2 ``GradCAM``).

The class score's gradient at a backbone layer weights that layer's activation channels; the
rectified sum, upsampled to the input size and scaled to [0, 1], is the localization map. It is
coloured with a matplotlib colormap and alpha-blended onto the input frames.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError


def _resolve(model: nn.Module, name: str) -> nn.Module:
    """Find ``name`` (``/`` or ``.`` separated, mmaction2 style ``backbone/layer4/1/relu``) in ``model``."""
    parts = [p for p in name.replace("/", ".").split(".") if p]
    roots = [model] + [m for m in (getattr(model, "model", None),) if m is not None]
    for root in roots:
        module = root
        try:
            for part in parts:
                module = module[int(part)] if part.isdigit() else getattr(module, part)
            return module
        except (AttributeError, IndexError, TypeError):
            continue
    raise ConfigError(f"GradCAM: no layer {name!r} in {type(model).__name__}")


class GradCAM:
    """Grad-CAM for a videohub classifier.

    Args:
        model: A ``...ForVideoClassification`` model.
        target_layer_name: Layer whose activations are weighted, e.g. ``"backbone/layer4/1/relu"``.
        colormap: Matplotlib colormap of the heat map. Default ``"viridis"``.
    """

    def __init__(self, model: nn.Module, target_layer_name: str, colormap: str = "viridis"):
        self.model = model
        self.target_layer_name = target_layer_name
        self.colormap = colormap
        self.layer = _resolve(model, target_layer_name)

    def localization_map(self, pixel_values: torch.Tensor, labels: Optional[torch.Tensor] = None
                         ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Maps ``(B, T, H, W)`` in [0, 1] for the predicted (or given) classes, and the logits.

        ``pixel_values`` is a single-view batch ``(B, T, C, H, W)``.
        """
        store = {}

        def keep(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            store["act"] = output
            output.register_hook(lambda grad: store.__setitem__("grad", grad))

        handles = [self.layer.register_forward_hook(keep)]
        was_training = self.model.training
        self.model.eval()
        try:
            self.model.zero_grad()
            logits = self.model(pixel_values=pixel_values).logits
            target = labels if labels is not None else logits.argmax(-1)
            logits.gather(1, target.view(-1, 1)).sum().backward()
        finally:
            for handle in handles:
                handle.remove()
            self.model.train(was_training)
        act, grad = store["act"].detach(), store["grad"].detach()
        batch, frames, _, height, width = pixel_values.shape
        if act.dim() == 4:  # 2D backbone: (B*T, C, h, w) -> (B, C, T, h, w)
            act = act.view(batch, -1, *act.shape[1:]).transpose(1, 2)
            grad = grad.view(batch, -1, *grad.shape[1:]).transpose(1, 2)
        weights = grad.mean(dim=(2, 3, 4), keepdim=True)
        cam = F.relu((weights * act).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=(frames, height, width), mode="trilinear", align_corners=False)[:, 0]
        low = cam.flatten(1).min(1).values.view(-1, 1, 1, 1)
        high = cam.flatten(1).max(1).values.view(-1, 1, 1, 1)
        return (cam - low) / (high - low).clamp_min(1e-12), logits.detach()

    def __call__(self, pixel_values: torch.Tensor, use_labels: bool = False, labels: Optional[torch.Tensor] = None,
                 alpha: float = 0.5, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375)) -> np.ndarray:
        """Blended frames ``(B, T, H, W, 3)`` uint8: ``alpha * heatmap + (1 - alpha) * frame``.

        Args:
            pixel_values: Normalized input ``(B, T, C, H, W)``.
            use_labels: Explain ``labels`` instead of the predicted classes. Default ``False``.
            labels: Class ids when ``use_labels``. Default ``None``.
            alpha: Heat-map weight. Default 0.5.
            mean, std: The normalization to undo for display. Defaults: ImageNet (0-255 scale).
        """
        import matplotlib

        if use_labels and labels is None:
            raise ConfigError("GradCAM: use_labels=True needs labels")
        cam, _ = self.localization_map(pixel_values, labels if use_labels else None)
        heat = matplotlib.colormaps[self.colormap](cam.numpy())[..., :3]
        frames = pixel_values.detach().permute(0, 1, 3, 4, 2).numpy()
        frames = np.clip((frames * np.asarray(std) + np.asarray(mean)) / 255.0, 0, 1)
        return (np.clip(alpha * heat + (1 - alpha) * frames, 0, 1) * 255).astype(np.uint8)

"""``videohub gradcam VIDEO --model M --output out.mp4|gif``: Grad-CAM heat maps of a recognizer over a video."""

from __future__ import annotations

import argparse
from typing import Any, Optional

NAME = "gradcam"
HELP = "write a video of Grad-CAM heat maps showing where a model looks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the model on VIDEO through its processor and write the processed frames blended with the "
        "Grad-CAM heat map of the predicted (or --label) class: every view and frame of the input, in order. "
        "Works for 2D and 3D recognizers. The built-in colormap is jet; other matplotlib colormaps need "
        "matplotlib (pip install \"videohub[vis]\").")
    parser.add_argument("video", metavar="VIDEO", help="video file")
    parser.add_argument("--model", required=True, help="model folder, Hub id or mmaction2 config file")
    parser.add_argument("--output", required=True, help="output file, .mp4 (PyAV) or .gif (Pillow)")
    parser.add_argument("--target-layer", default=None,
                        help="layer to explain, e.g. backbone/layer4/1/relu or model.backbone.layer4 "
                             "(default: the backbone's last feature map)")
    parser.add_argument("--label", default=None, help="class name or id to explain (default: the predicted class)")
    parser.add_argument("--colormap", default="jet", help="heat-map colormap (default: jet)")
    parser.add_argument("--alpha", type=float, default=0.5, help="heat-map weight in the blend (default: 0.5)")
    parser.add_argument("--fps", type=float, default=5.0, help="frame rate of the output (default: 5)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")


def resolve_label(label: Optional[str], config: Any) -> Optional[int]:
    """Class id of ``label`` (a name from ``config.id2label`` or an integer id); ``None`` stays ``None``."""
    from ..errors import ConfigError

    if label is None:
        return None
    names = {str(v): int(k) for k, v in (config.id2label or {}).items()}
    if label in names:
        return names[label]
    if label.lstrip("-").isdigit() and 0 <= int(label) < config.num_labels:
        return int(label)
    some = ", ".join(list(names)[:8]) + (", ..." if len(names) > 8 else "")
    raise ConfigError(f"--label {label!r} is neither a class name of the model ({some}) "
                      f"nor a class id in 0..{config.num_labels - 1}")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..apis import init_recognizer
    from ..tools.scores import class_probabilities, top_labels
    from ..tools.video_io import check_output_path, write_frames
    from ..utils.gradcam import GradCAM, normalization_of

    check_output_path(args.output)
    model = init_recognizer(args.model, device=args.device)
    target = resolve_label(args.label, model.config)
    gradcam = GradCAM(model, args.target_layer, colormap=args.colormap)
    device = next(model.parameters()).device
    pixel_values = model.processor(args.video)["pixel_values"].to(device)
    labels = torch.tensor([target], device=device) if target is not None else None
    blended = gradcam(pixel_values, use_labels=labels is not None, labels=labels, alpha=args.alpha,
                      **normalization_of(model.processor))
    with torch.no_grad():
        probs = class_probabilities(model(pixel_values=pixel_values).logits)[0]
    frames = blended[0].reshape((-1,) + blended.shape[-3:])  # every view's frames, in order
    count = write_frames(args.output, frames, fps=args.fps)
    explained = target if target is not None else int(probs.argmax())
    name = (model.config.id2label or {}).get(explained, str(explained))
    print(f"target layer: {gradcam.target_layer_name}")
    print(f"explained class: {name} (id {explained}, probability {float(probs[explained]):.4f})")
    print("top predictions: " + ", ".join(f"{lab} {p:.4f}" for lab, p in top_labels(probs, model.config.id2label, 3)))
    print(f"wrote {count} frames to {args.output}")
    return 0

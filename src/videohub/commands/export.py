"""``videohub export onnx``: write a model as ONNX (dynamic batch) and check it with onnxruntime."""

from __future__ import annotations

import argparse
from typing import Optional, Tuple

NAME = "export"
HELP = "export a model to ONNX and check the graph with onnxruntime"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``onnx`` sub-command and its options to ``parser``."""
    formats = parser.add_subparsers(dest="format", required=True, metavar="FORMAT")
    onnx = formats.add_parser(
        "onnx", help="export to ONNX with a dynamic batch axis",
        description="Export a recognizer to ONNX (opset 17 by default, dynamic batch axis), run the graph "
                    "with onnxruntime on a random clip of another batch size and report the largest "
                    "difference to PyTorch; fails if it is above 1e-4 of the largest score. Needs the "
                    "optional packages onnx and onnxruntime (pip install \"videohub[onnx]\").")
    onnx.add_argument("--model", required=True, help="Hub repo id (org/name) or local model folder")
    onnx.add_argument("--output", required=True, help="the .onnx file to write")
    onnx.add_argument("--opset", type=int, default=17, help="ONNX opset version (default: 17)")
    onnx.add_argument("--optimize", action="store_true",
                      help="write the graph as onnxruntime optimizes it (fused operators of onnxruntime: "
                           "faster there, but the file then needs onnxruntime)")
    onnx.add_argument("--frames", type=int, default=None,
                      help="frames per clip of the traced input (default: the model's num_frames; for audio "
                           "models, 128 time steps)")
    onnx.add_argument("--size", type=int, default=None,
                      help="height and width of the traced input (default: 224; for audio models, 80 "
                           "frequency bins)")
    onnx.add_argument("--revision", default=None, help="Hub revision: branch, tag or commit (default: main)")


def input_shape(model, frames: Optional[int] = None, size: Optional[int] = None) -> Tuple[int, ...]:
    """Batch-1 input shape for ``model``: ``(1, T, 3, H, W)`` video, or ``(1, 1, 1, T, F)`` audio."""
    if getattr(model, "main_input_name", "pixel_values") == "input_features":
        return (1, 1, 1, frames or 128, size or 80)
    return (1, frames or getattr(model.config, "num_frames", 8), 3, size or 224, size or 224)


def run(args: argparse.Namespace) -> int:
    """Export and check; print the report. User mistakes raise videohub errors (exit code 2 from the CLI)."""
    from ..auto import AutoVideoModel
    from ..deploy.errors import DeployError
    from ..deploy.onnx import export_onnx, require_onnx

    require_onnx()  # fail before loading the model when the extra is missing
    for option in ("opset", "frames", "size"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise DeployError(f"--{option} must be a positive integer, got {value}")
    model = AutoVideoModel.from_pretrained(args.model, revision=args.revision).eval()
    shape = input_shape(model, args.frames, args.size)
    report = export_onnx(model, args.output, shape, opset=args.opset, optimize=args.optimize)
    optimized = f", optimized by onnxruntime from {report.exported_nodes}" if args.optimize else ""
    print(f"wrote {report.path} (opset {report.opset}, {report.nodes} nodes{optimized}, dynamic batch; "
          f"traced with input {report.export_shape})")
    print(f"onnxruntime vs PyTorch on a random clip {report.check_shape}: max abs diff {report.max_abs_diff:.3g} "
          f"({report.relative_diff:.2g} of the largest score {report.max_abs_ref:.3g}; limit 1e-4)")
    return 0

"""The ``videohub`` command: ``predict``, ``hub serve`` and ``convert``.

Run ``videohub COMMAND --help`` for the options of each command.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional, Sequence

DTYPES = ("float32", "bfloat16", "float16")


def predict(
    videos: Sequence[str],
    model: str,
    top_k: int = 5,
    device: str = "cpu",
    dtype: str = "float32",
    revision: Optional[str] = None,
) -> List[dict]:
    """Classify ``videos`` with the model ``model`` (Hub id or folder).

    Args:
        videos: Video file paths.
        model: Hub repo id or local folder holding the model and its processor.
        top_k: Labels reported per video. Default 5.
        device: Torch device. Default ``"cpu"``.
        dtype: ``"float32"`` (default), ``"bfloat16"`` or ``"float16"``.
        revision: Hub revision (branch, tag or commit). Default ``None`` (main).

    Returns:
        ``[{"video": path, "predictions": [{"label": str, "score": float}, ...]}, ...]``.
    """
    import torch

    from .auto import AutoVideoModel, AutoVideoProcessor

    torch_dtype = getattr(torch, dtype)
    net = AutoVideoModel.from_pretrained(model, revision=revision).to(device=device, dtype=torch_dtype).eval()
    processor = AutoVideoProcessor.from_pretrained(model, revision=revision)
    results = []
    for path in videos:
        inputs = processor(path, num_frames=None)
        with torch.inference_mode():
            logits = net(pixel_values=inputs["pixel_values"].to(device=device, dtype=torch_dtype)).logits
        probs = logits.float().softmax(-1)[0] if net.config.average_clips != "prob" else logits.float()[0]
        k = min(top_k, probs.numel())
        scores, ids = probs.topk(k)
        labels = [net.config.id2label.get(int(i), str(int(i))) for i in ids]
        results.append({"video": path, "predictions": [
            {"label": label, "score": round(float(s), 6)} for label, s in zip(labels, scores)]})
    return results


def _run_predict(args: argparse.Namespace) -> int:
    results = predict(args.videos, args.model, args.top_k, args.device, args.dtype, args.revision)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for item in results:
        print(item["video"])
        for rank, pred in enumerate(item["predictions"], 1):
            print(f"  {rank}. {pred['label']:<30} {pred['score']:.4f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videohub", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("predict", help="classify video files with a model from the Hub or a folder",
                            description="Classify video files and print the top labels with their scores.")
    p.add_argument("videos", nargs="+", help="video files")
    p.add_argument("--model", required=True, help="Hub repo id (org/name) or local model folder")
    p.add_argument("--top-k", type=int, default=5, help="labels to print per video (default: 5)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--dtype", choices=DTYPES, default="float32", help="compute dtype (default: float32)")
    p.add_argument("--revision", default=None, help="Hub revision: branch, tag or commit (default: main)")
    p.set_defaults(func=_run_predict)

    from .hub.server import add_cli_parser

    add_cli_parser(commands)

    p = commands.add_parser("convert", add_help=False, help="convert an mmaction2 checkpoint (see convert --help)",
                            description="Convert an mmaction2 config + checkpoint into a videohub model folder.")
    p.set_defaults(func=_run_convert, passthrough=True)
    return parser


def _run_convert(args: argparse.Namespace) -> int:
    from .conversion.mmaction2 import main as convert_main

    return convert_main(args.extra)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``videohub`` console script."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    from .errors import VideohubError

    try:
        return args.func(args) or 0
    except VideohubError as err:
        print(f"videohub {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""``videohub info MODEL``: parameters and FLOPs of a model, in total and per stage."""

from __future__ import annotations

import argparse
import json

NAME = "info"
HELP = "count a model's parameters and FLOPs, in total and per stage"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print the parameters and FLOPs (torch.utils.flop_counter: 2 x multiply-accumulates of convolutions "
        "and matrix products) of a model, in total and per stage: the backbone's stages, the neck, the head. "
        "The model is built from its configuration only; no weights are loaded.")
    parser.add_argument("model", metavar="MODEL",
                        help="model folder, Hub id, mmaction2 config file (.py/.json/.yaml) or preset name")
    parser.add_argument("--input-shape", type=int, nargs="+", default=None, metavar="N",
                        help="input size: H W (config num_frames frames), T H W, or the full pixel_values shape "
                             "B T C H W / B V T C H W; audio models: T F or B 1 T F "
                             "(default: 1 x num_frames x 3 x 224 x 224; audio 1 x 1 x 128 x 80)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from ..tools.model_info import format_table, load_model, model_info

    model, source = load_model(args.model)
    info = model_info(model, args.input_shape, name=source)
    print(json.dumps(info.to_dict(), indent=2) if args.json else format_table(info))
    return 0

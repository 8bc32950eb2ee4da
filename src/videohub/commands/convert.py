"""``videohub convert``: an mmaction2 v0.x checkpoint → a videohub model folder (docs/conversion.md)."""

from __future__ import annotations

import argparse
import os

from ..errors import UsageError

NAME = "convert"
HELP = "convert an mmaction2 v0.x checkpoint into a videohub (Hugging Face) model folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Convert an mmaction2 v0.x checkpoint (recognizer, skeleton recognizer, temporal action localizer or "
        "spatio-temporal action detector) into a videohub model folder (model.safetensors, config.json, "
        "README.md, and preprocessor_config.json for RGB recognizers). Give --preset NAME for a published "
        "checkpoint (downloaded unless --checkpoint is given), or --config FILE.py with --checkpoint FILE.pth. "
        "BSN is two presets, bsn_tem_... and bsn_pem_..., converted one by one.")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", help="mmaction2 config file (.py); read without executing it")
    source.add_argument("--preset", help="name of a published mmaction2 checkpoint (see --list-presets)")
    parser.add_argument("--checkpoint", help="mmaction2 .pth file (default with --preset: download the published one)")
    parser.add_argument("--output", help="output folder (required unless --list-presets)")
    parser.add_argument("--push-to-hub", metavar="ORG/NAME", help="upload the folder to this Hub repo")
    parser.add_argument("--label-map", metavar="LABELS.TXT", help="class names, one per line")
    parser.add_argument("--cache-dir",
                        help="download folder for preset checkpoints (default: ~/.cache/videohub/mmaction2)")
    parser.add_argument("--list-presets", action="store_true", help="print the preset names and exit")


def _check_inputs(args: argparse.Namespace) -> None:
    """Raise ``UsageError`` for a missing input file or an output that is not a folder."""
    if not args.output:
        raise UsageError("--output is required: the folder to write the model to")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"--output {args.output} is a file; expected a folder")
    for option, path in (("--config", args.config), ("--checkpoint", args.checkpoint), ("--label-map", args.label_map)):
        if path is not None and not os.path.isfile(path):
            raise UsageError(f"{option} {path}: no such file")
    if args.checkpoint is None and args.preset is None:
        raise UsageError("--checkpoint is required unless --preset names a published checkpoint")


def run(args: argparse.Namespace) -> int:
    from urllib.error import URLError

    from ..conversion import presets
    from ..conversion.converter import convert

    if args.list_presets:
        for entry in presets.list_presets():
            print(f"{entry['name']}\t{entry['arch']}\t{entry['dataset']}")
        return 0
    _check_inputs(args)
    entry = presets.get_preset(args.preset) if args.preset else None
    if args.push_to_hub:
        from huggingface_hub import constants

        from . import unreachable

        reason = unreachable(constants.ENDPOINT)
        if reason is not None:
            raise UsageError(f"--push-to-hub: cannot reach the Hub at {constants.ENDPOINT} ({reason}); "
                             "convert without --push-to-hub and upload the folder later")
    try:
        convert(output=args.output, checkpoint=args.checkpoint, config=args.config, preset=args.preset,
                label_map=args.label_map, push_to_hub=args.push_to_hub, cache_dir=args.cache_dir)
    except (URLError, ConnectionError, TimeoutError) as exc:
        if entry is None or args.checkpoint is not None:
            raise
        reason = getattr(exc, "reason", None) or exc
        reason = getattr(reason, "strerror", None) or reason
        raise UsageError(
            f"cannot download the checkpoint of preset {args.preset}: {entry['checkpoint_url']} is unreachable "
            f"({reason}). Download it where the URL can be reached and pass the file with --checkpoint FILE.pth "
            "(the preset still supplies the config)") from None
    print(f"wrote {args.output}")
    return 0

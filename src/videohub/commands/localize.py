"""``videohub localize``: temporal action proposals of a raw video.

The video's snippet features come from a videohub recognizer (``--features-model``), resampled
to the localizer's ``temporal_dim``; the localizer (``--model``, a BMN or TEM taking feature
sequences) scores them and its ``post_process`` gives the soft-NMSed proposals in seconds.
"""

from __future__ import annotations

import argparse
import json
import os

from ..errors import UsageError
from . import positive_int, resolve_model, select_device

NAME = "localize"
HELP = "temporal action proposals of a raw video (recognizer features + a BMN/TEM localizer)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print the temporal action proposals of a video: snippet features from a videohub recognizer "
        "(--features-model), resampled to the localizer's temporal_dim, scored by a localizer (--model).")
    parser.add_argument("video", help="video file")
    parser.add_argument("--model", required=True, help="localizer (BMN or TEM): Hub id or folder")
    parser.add_argument("--features-model", required=True,
                        help="recognizer whose pooled features feed the localizer: Hub id or folder")
    parser.add_argument("--snippet-frames", type=positive_int, default=16, help="frames per snippet (default 16)")
    parser.add_argument("--top-k", type=positive_int, default=10, help="proposals printed (default 10)")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="snippets per forward pass (default 8)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")


def run(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.video):
        raise UsageError(f"{args.video}: no such video file")
    import torch

    from ..auto import AutoModelForTemporalActionLocalization, AutoVideoConfig
    from ..localization.features import rescale, snippet_features
    from ..processing import VideoProcessor

    device = select_device(args.device)
    localizer = AutoModelForTemporalActionLocalization.from_pretrained(resolve_model(args.model)).to(device).eval()
    config = localizer.config
    if not hasattr(config, "temporal_dim"):
        raise UsageError(f"--model {args.model} is a {config.model_type} localizer; localize needs one that takes "
                         "feature sequences (BMN or TEM)")
    feat_dim = getattr(config, "feat_dim", None) or getattr(config, "tem_feat_dim")
    recognizer_dir = resolve_model(args.features_model)
    from transformers import AutoModel

    if AutoVideoConfig.from_pretrained(recognizer_dir).task != "video-classification":
        raise UsageError(f"--features-model {args.features_model} is not a videohub recognizer")
    recognizer = AutoModel.from_pretrained(recognizer_dir).to(device).eval()
    processor = VideoProcessor.from_pretrained(recognizer_dir)
    features, meta = snippet_features(args.video, recognizer, processor, args.snippet_frames, args.batch_size,
                                      device=device, progress=not args.json)
    if features.shape[1] != feat_dim:
        raise UsageError(f"--features-model gives {features.shape[1]}-channel features but --model expects "
                         f"feat_dim={feat_dim}")
    x = torch.from_numpy(rescale(features, config.temporal_dim).T.copy())[None].to(device)
    with torch.no_grad():
        proposals = localizer.post_process(localizer(input_features=x), [meta])[0][:args.top_k]
    if args.json:
        print(json.dumps({"video": args.video, "duration_second": meta["duration_second"], "proposals": proposals}))
    else:
        for p in proposals:
            print(f"{p['segment'][0]:9.2f}s - {p['segment'][1]:9.2f}s  score {p['score']:.4f}")
    return 0

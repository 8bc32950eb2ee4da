"""``videohub demo long-video | stream``: sliding-window recognition over a long video or a live source."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "demo"
HELP = "recognize actions over a long video (timeline + labelled mp4) or a live stream"


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model folder, Hub id or mmaction2 config file")
    parser.add_argument("--window", type=float, default=2.0, help="window length in seconds (default: 2)")
    parser.add_argument("--stride", type=float, default=1.0, help="seconds between windows (default: 1)")
    parser.add_argument("--top-k", type=int, default=3, help="labels per window (default: 3)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Sliding-window action recognition demos."
    modes = parser.add_subparsers(dest="demo_command", required=True, metavar="MODE")

    p = modes.add_parser("long-video", help="classify windows of a long video; write a timeline and a labelled mp4",
                         description="Classify a window of --window seconds every --stride seconds (the model's "
                                     "processor samples its frames inside each window). Prints one line per "
                                     "window; --timeline writes the JSON timeline and --output an mp4 whose "
                                     "frames show the top labels of the nearest window.")
    p.add_argument("video", metavar="VIDEO", help="video file")
    _model_arguments(p)
    p.add_argument("--timeline", default=None, help="write the JSON timeline here")
    p.add_argument("--output", default=None, help="write the labelled video here (.mp4)")

    p = modes.add_parser("stream", help="classify a live source (file, rtsp/http URL, webcam) as it plays",
                         description="Read any source FFmpeg opens through PyAV: a file, an rtsp:// or http:// "
                                     "URL, or a webcam such as /dev/video0 (format v4l2 on Linux, avfoundation "
                                     "on macOS, dshow on Windows), and print the top labels of the last "
                                     "--window seconds every --stride seconds. Stops at the end of the stream "
                                     "or after --max-seconds of video.")
    p.add_argument("source", metavar="SOURCE", help="file, URL or capture device")
    _model_arguments(p)
    p.add_argument("--format", default=None, help="FFmpeg input format, e.g. v4l2 (default: probed; v4l2 for "
                                                  "/dev/video*)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="FFmpeg input option, repeatable, e.g. video_size=640x480 or rtsp_transport=tcp")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="stop after this many seconds of video (default: run to the end)")
    p.add_argument("--timeout", type=float, default=10.0, help="network timeout in seconds (default: 10)")


def _options(pairs: list) -> dict:
    from ..errors import ConfigError

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option {pair!r}: expected KEY=VALUE, e.g. video_size=640x480")
        options[key] = value
    return options


def run(args: argparse.Namespace) -> int:
    from ..apis import init_recognizer
    from ..tools import demo

    if args.demo_command == "stream":
        options = _options(args.option)
        model = init_recognizer(args.model, device=args.device)
        for prediction in demo.classify_stream(model, model.processor, args.source, window=args.window,
                                               stride=args.stride, top_k=args.top_k, max_seconds=args.max_seconds,
                                               fmt=args.format, options=options, timeout=args.timeout):
            print(json.dumps(vars(prediction)) if args.json else prediction.describe(), flush=True)
        return 0
    model = init_recognizer(args.model, device=args.device)
    timeline = demo.classify_long_video(model, model.processor, args.video, window=args.window, stride=args.stride,
                                        top_k=args.top_k, output=args.output)
    if args.timeline:
        demo.write_timeline(args.timeline, timeline)
    if args.json:
        json.dump(timeline, sys.stdout, indent=2)
        print()
    else:
        for window in timeline["windows"]:
            print(demo.WindowPrediction(**window).describe())
        for what, path in (("timeline", args.timeline), ("video", args.output)):
            if path:
                print(f"wrote the {what} to {path}")
    return 0

"""``videohub data ...``: the data preparation tools of mmaction2's tools/data folder."""

from __future__ import annotations

import argparse
import os

NAME = "data"
HELP = "prepare data: file lists, rawframes, resized videos, audio tracks and audio features"

_LEVEL_HELP = "folder depth of the inputs: 2 for SRC/<class>/<file> (default), 1 for SRC/<file>"


def _common(parser: argparse.ArgumentParser, exts_default: str) -> None:
    parser.add_argument("src", metavar="SRC", help="input folder")
    parser.add_argument("out", metavar="OUT", help="output folder (the same tree is created inside)")
    parser.add_argument("--level", type=int, choices=(1, 2), default=2, help=_LEVEL_HELP)
    parser.add_argument("--ext", nargs="+", default=None, metavar="EXT",
                        help=f"input file extensions (default: {exts_default})")
    parser.add_argument("--num-workers", type=int, default=min(8, os.cpu_count() or 1),
                        help="worker processes (default: the number of CPUs, at most 8)")
    parser.add_argument("--resume", action="store_true", help="skip inputs whose output is already complete")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Data preparation. Inputs that are missing, unreadable or corrupt are counted and "
                          "listed at the end; the others are still processed, and the exit code is then 1.")
    tools = parser.add_subparsers(dest="data_command", required=True, metavar="TOOL")

    p = tools.add_parser("build-file-list", help="write mmaction2 annotation lists from a class-per-folder tree",
                         description="Write mmaction2 annotation lists for SRC/<class>/<video> (or rawframe "
                                     "folders): 'path label' lines for videos, 'path total_frames label' for "
                                     "rawframes; labels are the sorted class folder names. Files: "
                                     "NAME_SPLIT_list_FORMAT.txt and NAME_label_map.txt.")
    p.add_argument("src", metavar="SRC", help="folder with one sub-folder per class")
    p.add_argument("out", metavar="OUT", help="folder for the list files")
    p.add_argument("--format", choices=("videos", "rawframes"), default="videos",
                   help="list videos or rawframe folders (default: videos)")
    p.add_argument("--name", default=None, help="file name prefix (default: the name of SRC)")
    p.add_argument("--split", default=None, metavar="NAME=FRACTION,...",
                   help="stratified splits, e.g. train=0.8,val=0.2 (default: one list with everything)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split assignment and --shuffle (default: 0)")
    p.add_argument("--shuffle", action="store_true", help="shuffle the lines (default: sorted by path)")
    p.add_argument("--ext", nargs="+", default=None, metavar="EXT",
                   help="video extensions (default: mp4 avi webm mkv mov m4v flv mpg mpeg)")
    p.add_argument("--rgb-prefix", default="img_", help="frame file prefix counted in rawframe folders "
                                                        "(default: img_)")
    p.add_argument("--check-videos", action="store_true", help="open every video and leave out unreadable ones")

    p = tools.add_parser("build-rawframes", help="extract video frames as img_00001.jpg ... (multi-process)",
                         description="Extract every frame of every video into OUT/<class>/<video>/img_00001.jpg "
                                     "... (RGB JPEG, mmaction2 naming), one process per worker, resumable.")
    _common(p, "mp4 avi webm mkv mov m4v flv mpg mpeg")
    p.add_argument("--new-short", type=int, default=0, help="resize frames to this short side (default: 0, keep)")
    p.add_argument("--new-width", type=int, default=0, help="resize frames to this width (default: 0, keep)")
    p.add_argument("--new-height", type=int, default=0, help="resize frames to this height (default: 0, keep)")
    p.add_argument("--quality", type=int, default=95, help="JPEG quality 1-100 (default: 95)")

    p = tools.add_parser("resize-videos", help="re-encode videos with a given short side (H.264 mp4)",
                         description="Re-encode every video into OUT/<class>/<video>.mp4 with its short side "
                                     "resized, keeping every frame and the first audio track (as AAC).")
    _common(p, "mp4 avi webm mkv mov m4v flv mpg mpeg")
    p.add_argument("--short-side", type=int, default=256, help="short side in pixels, even (default: 256)")

    p = tools.add_parser("extract-audio", help="write the audio track of every video as a .wav",
                         description="Write the first audio track of every video to OUT/<class>/<video>.wav "
                                     "(16-bit PCM).")
    _common(p, "mp4 avi webm mkv mov m4v flv mpg mpeg")
    p.add_argument("--sample-rate", type=int, default=None, help="output sample rate in Hz (default: the source's)")
    p.add_argument("--channels", type=int, choices=(1, 2), default=None,
                   help="output channels (default: the source's)")

    p = tools.add_parser("audio-features", help="write mmaction2's log-mel features (.npy) of audio files",
                         description="Write the log-mel spectrogram of every audio file to OUT/<class>/<file>.npy "
                                     "as mmaction2's build_audio_features does: time x mel float32 in [0, 1], "
                                     "80 mel bands, 50 rows a second at the defaults.")
    _common(p, "wav")
    p.add_argument("--sample-rate", type=int, default=16000, help="decoding sample rate in Hz (default: 16000)")
    p.add_argument("--fft-size", type=int, default=1280, help="frame length in samples (default: 1280)")
    p.add_argument("--hop-size", type=int, default=320, help="frame shift in samples (default: 320)")
    p.add_argument("--num-mels", type=int, default=80, help="mel bands (default: 80)")


def run(args: argparse.Namespace) -> int:
    if args.data_command == "build-file-list":
        from ..data.tools.file_list import build_file_list, parse_splits

        written, report = build_file_list(args.src, args.out, fmt=args.format, name=args.name,
                                          splits=parse_splits(args.split), seed=args.seed, shuffle=args.shuffle,
                                          exts=args.ext, rgb_prefix=args.rgb_prefix, check_videos=args.check_videos)
        for split, path in written.items():
            print(f"{split}: {path}")
        print(report.summary(f"listed {args.format}"))
        return 1 if report.failed else 0
    common = dict(level=args.level, exts=args.ext, num_workers=args.num_workers, resume=args.resume)
    if args.data_command == "build-rawframes":
        from ..data.tools.rawframes import build_rawframes

        report = build_rawframes(args.src, args.out, new_short=args.new_short, new_width=args.new_width,
                                 new_height=args.new_height, quality=args.quality, **common)
    elif args.data_command == "resize-videos":
        from ..data.tools.resize import resize_videos

        report = resize_videos(args.src, args.out, short_side=args.short_side, **common)
    elif args.data_command == "extract-audio":
        from ..data.tools.audio import extract_audios

        report = extract_audios(args.src, args.out, sample_rate=args.sample_rate, channels=args.channels, **common)
    else:
        from ..data.tools.audio import build_audio_features

        common["exts"] = args.ext or ("wav",)
        report = build_audio_features(args.src, args.out, sample_rate=args.sample_rate, fft_size=args.fft_size,
                                      hop_size=args.hop_size, num_mels=args.num_mels, **common)
    print(report.summary(args.data_command))
    return 1 if report.failed else 0

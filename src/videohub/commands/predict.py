"""``videohub predict``: classify videos with a model from the Hub or a folder, one or millions.

Inputs are video files, folders (searched recursively for video files), glob patterns and list
files (``.txt``/``.lst``/``.list``: one path per line, or mmaction2 annotation lines
``path [total_frames] label``, relative to the list file's folder or ``--list-root``; blank lines
and ``#`` comments are skipped). Without ``--output`` the top labels are printed as each
video finishes (or as one JSON array with ``--json``). With ``--output FILE`` every prediction is
appended to FILE as a JSON line ``{"video": PATH, "predictions": [{"label", "score"}, ...]}``; a
rerun skips the videos already in FILE, so an interrupted run resumes where it stopped.

Under ``accelerate launch`` or ``torchrun`` (N processes; on CPUs with ``--device cpu``) process i
classifies every N-th remaining video on its own device, appending to ``FILE.part<i>``; at the end
the main process merges the parts into FILE and removes them (parts left by a crashed run are
merged, and skipped, on the next run).

Videos that cannot be decoded do not stop the run: they are counted, listed with the reason at
the end, and the exit code is 1. They are not written to FILE, so a rerun tries them again.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import glob
import json
import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from ..errors import UsageError, VideohubError
from . import positive_int, resolve_model, select_device

NAME = "predict"
HELP = "classify videos (files, folders, globs or list files) with a model from the Hub or a folder"

DTYPES = ("float32", "bfloat16", "float16")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp",
                    ".ogv", ".ts")
LIST_EXTENSIONS = (".txt", ".lst", ".list")
CROP_STEPS = {1: "CenterCrop", 3: "ThreeCrop", 10: "TenCrop"}
EXIT_SOME_FAILED = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Classify videos and print (or write as JSON lines) the top labels with their scores. VIDEO is a video "
        "file, a folder (searched recursively for " + " ".join(VIDEO_EXTENSIONS) + " files), a glob pattern "
        "(quote it) or a list file (.txt, .lst, .list: one path per line, or mmaction2 annotation lines 'path "
        "label'; relative to the list file's folder or --list-root). With "
        "--output the run is resumable and can be spread over processes: 'accelerate launch --multi_gpu "
        "--num_processes N -m videohub.cli predict ...' on GPUs, 'torchrun --nproc_per_node N -m videohub.cli "
        "predict ... --device cpu' on CPUs. Videos that fail to decode are counted and listed with the reason at "
        "the end; the exit code is then 1.")
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="video file, folder, glob pattern or list file")
    parser.add_argument("--model", required=True, help="Hub repo id (org/name) or local model folder")
    parser.add_argument("--list-root", metavar="DIR", default=None,
                        help="folder that relative paths in list files start from (default: the list file's folder)")
    parser.add_argument("--top-k", type=positive_int, default=5, metavar="K",
                        help="labels reported per video (default: 5)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON array instead of text")
    out.add_argument("--output", metavar="FILE.jsonl",
                     help="append one JSON line per video to FILE; videos already in FILE are skipped "
                          "(default: print to stdout)")
    parser.add_argument("--num-clips", type=positive_int, default=None, metavar="N",
                        help="clips sampled per video, replacing the num_clips of the model's test protocol "
                             "(preprocessor_config.json) (default: the protocol's)")
    parser.add_argument("--num-crops", type=int, choices=sorted(CROP_STEPS), default=None,
                        help="spatial views per clip: 1 = centre crop, 3 = three square crops along the long "
                             "side (as wide as the short side after resizing), 10 = corners, centre and their "
                             "flips (default: the protocol's)")
    parser.add_argument("--device", default=None,
                        help="torch device; falls back to the CPU with a warning when it is missing (default: "
                             "the process's GPU under accelerate launch, else cuda if available, else cpu)")
    parser.add_argument("--dtype", choices=DTYPES, default="float32", help="compute dtype (default: float32)")
    parser.add_argument("--optimize", action="store_true",
                        help="run model.optimize_for_inference() on the loaded model (batch norms folded into the "
                             "convolutions, the faster memory layout) (default: off)")
    parser.add_argument("--num-workers", type=int, default=0, metavar="N",
                        help="processes decoding videos ahead of the model (default: 0, decode in the main process)")
    parser.add_argument("--revision", default=None, help="Hub revision: branch, tag or commit (default: main)")


# ------------------------------------------------------------------------------------------------
# inputs


def _videos_in(folder: str) -> List[str]:
    """Video files under ``folder`` (recursively, hidden files skipped), sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files)
                     if not f.startswith(".") and f.lower().endswith(VIDEO_EXTENSIONS))
    return found


def read_list_file(path: str, root: Optional[str] = None) -> List[str]:
    """Videos listed in ``path``: one path per line, or mmaction2 annotation lines ``path [frames] label``.

    A line names the file it spells out when that exists, else the file of its first field.

    Args:
        path: The list file (UTF-8; blank lines and ``#`` comments are skipped).
        root: Folder that relative paths start from. Default ``None``: the list file's folder.

    Raises:
        UsageError: The file is not UTF-8 text or lists no path.
    """
    base = os.path.dirname(path) if root is None else root
    videos = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                entry = line.strip()
                if not entry or entry.startswith("#"):
                    continue
                video = os.path.join(base, entry)
                if not os.path.exists(video) and len(entry.split()) > 1:
                    video = os.path.join(base, entry.split()[0])
                videos.append(video)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: a list file must be UTF-8 text, one path per line ({exc.reason} at byte "
                         f"{exc.start})") from None
    if not videos:
        raise UsageError(f"{path}: the list file names no video (expected one path per line)")
    return videos


def collect_videos(inputs: Sequence[str], list_root: Optional[str] = None) -> List[str]:
    """Expand files, folders, globs and list files into one list of video paths (first occurrence kept).

    Args:
        inputs: Video files, folders (searched recursively), glob patterns and list files.
        list_root: Folder the relative paths of list files start from. Default ``None``: each
            list file's folder.

    Raises:
        UsageError: An input is none of these, a glob matches nothing, or a folder holds no video.
    """
    videos: List[str] = []
    for item in inputs:
        if os.path.isdir(item):
            found = _videos_in(item)
            if not found:
                raise UsageError(f"{item}: no video files ({' '.join(VIDEO_EXTENSIONS)}) in this folder or below")
        elif os.path.isfile(item):
            found = read_list_file(item, list_root) if item.lower().endswith(LIST_EXTENSIONS) else [item]
        elif any(char in item for char in "*?["):
            found = sorted(p for p in glob.glob(item, recursive=True) if os.path.isfile(p))
            if not found:
                raise UsageError(f"no file matches the pattern {item!r}")
        else:
            raise UsageError(f"{item}: no such video file, folder or list file")
        videos.extend(os.path.normpath(p) for p in found)
    return list(dict.fromkeys(videos))


# ------------------------------------------------------------------------------------------------
# the JSON-lines output: reading, repairing, merging


def iter_records(path: str) -> Iterator[Dict[str, Any]]:
    """The records of a predict output file; a torn last line (a crash mid-write) is ignored.

    Raises:
        UsageError: A complete line is not a JSON object with a ``"video"`` string (naming file:line).
    """
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n") or not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError as exc:
                raise UsageError(f"{path}:{number}: not a line written by videohub predict ({exc}); "
                                 "move the file away or choose another --output") from None
            if not isinstance(record, dict) or not isinstance(record.get("video"), str):
                raise UsageError(f"{path}:{number}: expected a JSON object with a \"video\" path, got {raw[:80]!r}")
            yield record


def part_files(output: str) -> List[str]:
    """The per-process files ``<output>.part<i>`` next to ``output``, by process index."""
    prefix = output + ".part"
    parts = [p for p in glob.glob(glob.escape(output) + ".part*") if p[len(prefix):].isdigit()]
    return sorted(parts, key=lambda p: int(p[len(prefix):]))


def done_videos(output: str) -> Set[str]:
    """Videos already predicted in ``output`` or in its part files."""
    done = set()
    for path in ([output] if os.path.isfile(output) else []) + part_files(output):
        done.update(record["video"] for record in iter_records(path))
    return done


def repair_tail(path: str) -> None:
    """Cut a torn last line (no newline: the writer died mid-line) off ``path`` before appending to it."""
    if not os.path.isfile(path):
        return
    with open(path, "rb+") as f:
        end = pos = f.seek(0, os.SEEK_END)
        cut = 0
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            f.seek(pos)
            newline = f.read(step).rfind(b"\n")
            if newline >= 0:
                cut = pos + newline + 1
                break
        if cut < end:
            from ..utils.logging import get_logger

            get_logger(__name__).warning("%s: dropping a torn last line of %d bytes (an interrupted write)",
                                         path, end - cut)
            f.truncate(cut)


def merge_parts(output: str) -> int:
    """Append the records of ``<output>.part<i>`` files not yet in ``output`` to it, then remove the parts.

    Returns:
        The number of records added.
    """
    parts = part_files(output)
    if not parts:
        return 0
    done = {record["video"] for record in iter_records(output)} if os.path.isfile(output) else set()
    repair_tail(output)
    added = 0
    with open(output, "a", encoding="utf-8") as out:
        for part in parts:
            for record in iter_records(part):
                if record["video"] not in done:
                    out.write(json.dumps(record) + "\n")
                    done.add(record["video"])
                    added += 1
        out.flush()
        os.fsync(out.fileno())
    for part in parts:
        os.remove(part)
    return added


# ------------------------------------------------------------------------------------------------
# the test protocol's views


def _short_side(steps: Sequence[Dict[str, Any]]) -> Optional[int]:
    """The image's short side after the last ``Resize`` of ``steps``, when that is known for any video."""
    for step in reversed(steps):
        if step.get("type") != "Resize":
            continue
        scale = step.get("scale")
        if not isinstance(scale, (list, tuple)) or len(scale) != 2:
            return None
        if step.get("keep_ratio", True):
            return int(max(scale)) if min(scale) == -1 else None
        return int(min(scale))
    return None


def override_views(sampler: Dict[str, Any], transforms: List[Dict[str, Any]], num_clips: Optional[int] = None,
                   num_crops: Optional[int] = None) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """The test protocol ``(sampler, transforms)`` with ``num_clips`` clips and ``num_crops`` crops.

    Args:
        sampler: The processor's sampling step (``SampleFrames``, ``DenseSampleFrames``, ...).
        transforms: The processor's steps after decoding.
        num_clips: Replaces the sampler's ``num_clips``. Default ``None`` (unchanged).
        num_crops: 1 (``CenterCrop``), 3 (``ThreeCrop`` of the short side after ``Resize``) or 10
            (``TenCrop``), replacing the protocol's crop step; the crop size is kept for 1 and 10.
            Default ``None`` (unchanged).

    Returns:
        New ``(sampler, transforms)``; the inputs are not modified.

    Raises:
        UsageError: The sampler has no ``num_clips``, or the protocol has no crop step to replace
            (or, for 3 crops, no ``Resize`` that fixes the short side).
    """
    sampler, transforms = copy.deepcopy(sampler), copy.deepcopy(transforms)
    if num_clips is not None:
        if sampler.get("type") not in ("SampleFrames", "DenseSampleFrames"):
            raise UsageError(f"--num-clips: the model's test protocol samples frames with {sampler.get('type')}, "
                             "which has no num_clips")
        sampler["num_clips"] = num_clips
    if num_crops is not None:
        index = next((i for i, step in enumerate(transforms) if step.get("type") in CROP_STEPS.values()), None)
        if index is None:
            steps = ", ".join(str(s.get("type")) for s in transforms)
            raise UsageError(f"--num-crops: the model's test protocol has no CenterCrop, ThreeCrop or TenCrop step "
                             f"to replace (its steps: {steps})")
        crop = transforms[index]
        if crop["type"] != CROP_STEPS[num_crops]:
            size = crop["crop_size"]
            if num_crops == 3:
                size = _short_side(transforms[:index])
                if size is None:
                    steps = ", ".join(str(s.get("type")) for s in transforms)
                    raise UsageError("--num-crops 3 takes three square crops as wide as the image's short side, "
                                     "which needs a Resize step with scale (-1, S) (or a fixed size) before the "
                                     f"crop; the protocol's steps are {steps}")
            transforms[index] = dict(type=CROP_STEPS[num_crops], crop_size=size)
    return sampler, transforms


# ------------------------------------------------------------------------------------------------
# the run


class _VideoInputs:
    """Map-style dataset: index → ``(path, pixel_values or None, failure reason or None)``."""

    def __init__(self, videos: Sequence[str], processor: Any) -> None:
        self.videos = list(videos)
        self.processor = processor

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> Tuple[str, Any, Optional[str]]:
        path = self.videos[index]
        try:
            return path, self.processor(path)["pixel_values"], None
        except VideohubError as err:
            return path, None, str(err)


def _load(args: argparse.Namespace, device: Any) -> Tuple[Any, Any]:
    """The model (eval mode, on ``device`` in ``args.dtype``) and processor (views overridden)."""
    import torch

    from .. import AutoVideoModel, VideoProcessor

    folder = resolve_model(args.model, args.revision)
    if not os.path.isfile(os.path.join(folder, "preprocessor_config.json")):
        raise UsageError(f"{args.model} has no preprocessor_config.json, the test protocol (frame sampling, resize, "
                         "crop, normalization) the model expects; save one beside the model with "
                         "VideoProcessor(...).save_pretrained(folder)")
    dtype = getattr(torch, args.dtype)
    if dtype != torch.float32 and device.type == "cpu":
        from ..deploy.quantize import warn_if_slow_dtype

        warn_if_slow_dtype(dtype)
    model = AutoVideoModel.from_pretrained(folder, use_safetensors=True).to(device=device, dtype=dtype).eval()
    if args.optimize:  # after the move: the memory format and fused kernels depend on the device and dtype
        model = model.optimize_for_inference()
    processor = VideoProcessor.from_pretrained(folder)
    if args.num_clips is not None or args.num_crops is not None:
        sampler, transforms = override_views(processor.sampler, processor.transforms, args.num_clips, args.num_crops)
        processor = VideoProcessor(sampler=sampler, transforms=transforms)
    return model, processor


def _format_text(record: Dict[str, Any]) -> str:
    lines = [record["video"]]
    lines += [f"  {rank}. {p['label']:<30} {p['score']:.4f}" for rank, p in enumerate(record["predictions"], 1)]
    return "\n".join(lines)


def _check_output(output: Optional[str], processes: int) -> None:
    """Raise ``UsageError`` when ``--output`` cannot be written (or is missing for a multi-process run)."""
    if output is None:
        if processes > 1:
            raise UsageError(f"a run over {processes} processes needs --output FILE.jsonl "
                             "(each process writes FILE.part<i>)")
        return
    if os.path.isdir(output):
        raise UsageError(f"--output {output} is a folder; expected a file (JSON lines)")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise UsageError(f"--output {output}: the folder {folder} does not exist")


def _predict(videos: Sequence[str], args: argparse.Namespace, device: Any, target: Optional[str], show_bar: bool,
             desc: str) -> Tuple[List[Dict[str, Any]], List[Tuple[str, str]]]:
    """Classify ``videos``; each record goes to ``target`` (appended), stdout (text) or the returned list (--json).

    Returns:
        ``(records kept for --json, [(video, failure reason), ...])``.
    """
    import torch
    from tqdm import tqdm

    from ..tools.scores import class_probabilities

    model, processor = _load(args, device)
    id2label = model.config.id2label
    records: List[Dict[str, Any]] = []
    failures: List[Tuple[str, str]] = []
    loader = torch.utils.data.DataLoader(_VideoInputs(videos, processor), batch_size=None,
                                         num_workers=args.num_workers)
    if target is not None:
        repair_tail(target)
    with open(target, "a", encoding="utf-8") if target else contextlib.nullcontext() as sink:
        bar = tqdm(loader, total=len(videos), desc=desc, unit="video", disable=not show_bar, file=sys.stderr)
        for path, pixel_values, reason in bar:
            if reason is not None:
                failures.append((path, reason))
                bar.set_postfix(failed=len(failures))
                continue
            with torch.inference_mode():
                logits = model(pixel_values=pixel_values.to(device=device, dtype=model.dtype)).logits
            probs = class_probabilities(logits)[0]
            scores, ids = probs.topk(min(args.top_k, probs.numel()))
            record = {"video": path, "predictions": [
                {"label": id2label.get(int(i), str(int(i))), "score": round(float(s), 6)} for s, i in zip(scores, ids)]}
            if sink is not None:
                sink.write(json.dumps(record) + "\n")
                sink.flush()
            elif args.json:
                records.append(record)
            else:
                tqdm.write(_format_text(record), file=sys.stdout)
                sys.stdout.flush()
        bar.close()
    return records, failures


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState
    from accelerate.utils import gather_object

    if args.num_workers < 0:
        raise UsageError(f"--num-workers must be 0 or more, got {args.num_workers}")
    state = PartialState(cpu=args.device == "cpu")  # cpu=True: torchrun/mpirun processes on CPUs share the list
    count, index = state.num_processes, state.process_index
    output = args.output
    _check_output(output, count)
    videos = collect_videos(args.videos, args.list_root)
    done = done_videos(output) if output is not None else set()
    todo = [v for v in videos if v not in done]
    mine = todo[index::count]
    state.wait_for_everyone()  # every process has read the outputs before any appends to them

    records: List[Dict[str, Any]] = []
    failures: List[Tuple[str, str]] = []
    if mine:
        if args.device is None:
            device = state.device
        else:
            device = select_device(args.device)
            if device.type == state.device.type and device.index is None and count > 1:
                device = state.device  # "--device cuda" under accelerate launch: this process's GPU
        target = output
        if output is not None and count > 1:
            target = f"{output}.part{index}"
        desc = "predict" if count == 1 else f"predict [process {index}/{count}]"
        records, failures = _predict(mine, args, device, target, state.is_main_process, desc)

    state.wait_for_everyone()
    if output is not None and state.is_main_process:
        merge_parts(output)
    if args.json:
        print(json.dumps(records, indent=2))
    totals = gather_object([(len(mine) - len(failures), failures)])
    failed = [item for _, items in totals for item in items]
    if state.is_main_process:
        _report(sum(n for n, _ in totals), len(videos) - len(todo), failed, output)
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():  # a clean teardown: no process dies in its exit handlers
        dist.barrier()
        dist.destroy_process_group()
    return EXIT_SOME_FAILED if failed else 0


def _report(predicted: int, skipped: int, failed: Sequence[Tuple[str, str]], output: Optional[str]) -> None:
    """Print the run's summary (and every failed video with its reason) to stderr."""
    parts = [f"{predicted} video(s) predicted"]
    if output is not None:
        parts[0] += f" into {output}"
        parts.append(f"{skipped} already there")
    parts.append(f"{len(failed)} failed")
    print(", ".join(parts), file=sys.stderr)
    for path, reason in failed:
        print(f"  failed: {path}: {reason}", file=sys.stderr)

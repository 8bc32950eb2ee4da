"""Annotation lists from a class-per-folder tree (mmaction2 ``tools/data/build_file_list.py``).

Input: ``src_dir/<class>/<video file>`` or ``src_dir/<class>/<rawframe folder>/img_00001.jpg ...``.
Classes are the folder names in sorted order; class ``i`` has label ``i``. Output, in ``out_dir``:

* ``{name}_{split}_list_{format}.txt`` per split (``{name}_list_{format}.txt`` without splits),
  with mmaction2's line formats: ``videos``: ``class/video.mp4 label``; ``rawframes``:
  ``class/video total_frames label`` (``total_frames`` = files starting with ``rgb_prefix``);
* ``{name}_label_map.txt``: one class name a line, line ``i`` is label ``i``.

Splits are stratified: each class's items are shuffled with ``seed`` and cut by the fractions
(rounded so the counts add up). Lines are sorted by path unless ``shuffle``.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ...errors import ConfigError
from ...utils.logging import get_logger
from .common import JobReport, check_dirs, find_files

logger = get_logger(__name__)

FORMATS = ("videos", "rawframes")


def parse_splits(text: Optional[str]) -> Optional[List[Tuple[str, float]]]:
    """``"train=0.8,val=0.2"`` -> ``[("train", 0.8), ("val", 0.2)]``; ``None`` or ``""`` -> ``None``."""
    if not text:
        return None
    splits = []
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            fraction = float(value)
        except ValueError:
            fraction = -1.0
        if not sep or not name.strip() or not fraction > 0:
            raise ConfigError(f"split {part!r} in {text!r}: expected NAME=FRACTION with a fraction > 0, "
                              "e.g. train=0.8,val=0.2")
        splits.append((name.strip(), fraction))
    names = [n for n, _ in splits]
    if len(set(names)) != len(names):
        raise ConfigError(f"splits {text!r} name a split twice")
    return splits


def _count_frames(folder: str, prefix: str) -> int:
    return sum(1 for f in os.listdir(folder) if f.startswith(prefix))


def _video_frames(path: str) -> int:
    from ..video_reader import VideoReader

    return VideoReader(path).num_frames


def build_file_list(
    src_dir: str,
    out_dir: str,
    fmt: str = "videos",
    name: Optional[str] = None,
    splits: Optional[Sequence[Tuple[str, float]]] = None,
    seed: int = 0,
    shuffle: bool = False,
    exts: Optional[Sequence[str]] = None,
    rgb_prefix: str = "img_",
    check_videos: bool = False,
) -> Tuple[Dict[str, str], JobReport]:
    """Write mmaction2 annotation lists for the class-per-folder tree ``src_dir``.

    Args:
        src_dir: ``src_dir/<class>/<video or rawframe folder>``.
        out_dir: Where the lists go (created).
        fmt: ``"videos"`` (default) or ``"rawframes"``.
        name: File name prefix. Default ``None``: the name of ``src_dir``.
        splits: ``[(split, fraction), ...]``, e.g. ``[("train", 0.8), ("val", 0.2)]``. Default
            ``None``: one list with everything.
        seed: Seed of the split assignment and of ``shuffle``. Default 0.
        shuffle: Shuffle the lines of each list (else sorted by path). Default ``False``.
        exts: Video extensions (``fmt="videos"``). Default ``None``: common video extensions.
        rgb_prefix: Frame file prefix counted as ``total_frames`` (``fmt="rawframes"``). Default ``"img_"``.
        check_videos: Open every video (``fmt="videos"``) and leave out those that cannot be read.
            Default ``False``.

    Returns:
        ``({split or "all": list path, "label_map": path}, report)``; the report counts the items
        listed as done and names the ones left out (empty rawframe folders, unreadable videos).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {fmt!r}")
    check_dirs(src_dir)
    classes = sorted(d for d in os.listdir(src_dir)
                     if not d.startswith(".") and os.path.isdir(os.path.join(src_dir, d)))
    if not classes:
        raise ConfigError(f"{src_dir!r} has no class folders; expected {src_dir}/<class>/<{fmt[:-1]}>")
    items = find_files(src_dir, 2, exts, dirs=fmt == "rawframes")
    report = JobReport()
    entries: List[Tuple[str, int, int]] = []  # (relative path, total frames or -1, label)
    label_of = {c: i for i, c in enumerate(classes)}
    from tqdm.auto import tqdm

    for rel in tqdm(items, desc=f"list {fmt}", unit="item", disable=len(items) < 100 and not check_videos):
        path = os.path.join(src_dir, rel)
        label = label_of[rel.split(os.sep, 1)[0]]
        try:
            if fmt == "rawframes":
                frames = _count_frames(path, rgb_prefix)
                if frames == 0:
                    raise ConfigError(f"no frames named {rgb_prefix}* in {path!r}")
            else:
                frames = _video_frames(path) if check_videos else -1
        except Exception as err:  # the item is left out and reported; the others are listed
            report.failed.append((rel, f"{type(err).__name__}: {err}"))
            continue
        entries.append((rel.replace(os.sep, "/"), frames, label))
        report.done.append(rel)
    if not entries:
        raise ConfigError(f"{src_dir!r} has no usable {fmt} at <class>/<item> (found {len(items)}, "
                          f"{len(report.failed)} unusable)")
    rng = np.random.default_rng(seed)
    named = [("all", 1.0)] if not splits else list(splits)
    by_split: Dict[str, List[Tuple[str, int, int]]] = {n: [] for n, _ in named}
    bounds = np.cumsum([0.0] + [f for _, f in named])
    for label in range(len(classes)):
        members = [e for e in entries if e[2] == label]
        if splits:
            members = [members[i] for i in rng.permutation(len(members))]
        cuts = np.round(bounds / bounds[-1] * len(members)).astype(int)
        for (split, _), lo, hi in zip(named, cuts[:-1], cuts[1:]):
            by_split[split] += members[lo:hi]
    prefix = name or os.path.basename(os.path.normpath(os.path.abspath(src_dir)))
    os.makedirs(out_dir, exist_ok=True)
    written: Dict[str, str] = {}
    for split, lines in by_split.items():
        lines = sorted(lines)
        if shuffle:
            lines = [lines[i] for i in rng.permutation(len(lines))]
        stem = f"{prefix}_list_{fmt}" if split == "all" and not splits else f"{prefix}_{split}_list_{fmt}"
        path = os.path.join(out_dir, stem + ".txt")
        with open(path, "w", encoding="utf-8") as f:
            for rel, frames, label in lines:
                f.write(f"{rel} {frames} {label}\n" if fmt == "rawframes" else f"{rel} {label}\n")
        written[split] = path
    label_map = os.path.join(out_dir, f"{prefix}_label_map.txt")
    with open(label_map, "w", encoding="utf-8") as f:
        f.writelines(f"{c}\n" for c in classes)
    written["label_map"] = label_map
    return written, report

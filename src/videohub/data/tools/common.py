"""What the data tools share: finding input files, running jobs in a pool, reporting failures."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from ...errors import ConfigError
from ...utils.logging import get_logger

logger = get_logger(__name__)

#: Extensions looked for when none are given (lower case, without the dot).
VIDEO_EXTS: Tuple[str, ...] = ("mp4", "avi", "webm", "mkv", "mov", "m4v", "flv", "mpg", "mpeg")

DONE, SKIPPED = "done", "skipped"


@dataclass
class JobReport:
    """Outcome of a tool run: files done, skipped (already there, when resuming) and failed with the reason."""

    done: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)

    def summary(self, what: str) -> str:
        """One line, e.g. ``"rawframes: 10 done, 2 skipped (already there), 1 failed"``, then one line per failure."""
        lines = [f"{what}: {len(self.done)} done, {len(self.skipped)} skipped (already there), "
                 f"{len(self.failed)} failed"]
        lines += [f"  failed: {path}: {reason}" for path, reason in self.failed]
        return "\n".join(lines)


def normalize_exts(exts: Optional[Iterable[str]]) -> Tuple[str, ...]:
    """Extensions as lower-case names without dots; ``None`` gives :data:`VIDEO_EXTS`."""
    if exts is None:
        return VIDEO_EXTS
    out = tuple(e.lower().lstrip(".") for e in exts if e.strip("."))
    if not out:
        raise ConfigError(f"no file extension given (got {list(exts)!r})")
    return out


def check_dirs(src_dir: str, out_dir: Optional[str] = None) -> None:
    """Raise :class:`ConfigError` unless ``src_dir`` is a folder and ``out_dir`` is not inside it."""
    if not os.path.isdir(src_dir):
        raise ConfigError(f"input folder {src_dir!r} does not exist or is not a folder")
    if out_dir is not None:
        src, out = os.path.realpath(src_dir), os.path.realpath(out_dir)
        if out == src or out.startswith(src + os.sep):
            raise ConfigError(f"output folder {out_dir!r} must not be inside the input folder {src_dir!r}")


def find_files(src_dir: str, level: int, exts: Optional[Sequence[str]] = None, dirs: bool = False) -> List[str]:
    """Relative paths (sorted) of the entries exactly ``level`` folders deep under ``src_dir``.

    ``level=1``: ``src_dir/<name>``; ``level=2``: ``src_dir/<class>/<name>`` (mmaction2's ``--level``).
    Hidden entries (``.name``) are ignored everywhere.

    Args:
        src_dir: The input tree.
        level: Depth of the entries, 1 or more.
        exts: File extensions to keep. Default ``None``: :data:`VIDEO_EXTS` (ignored with ``dirs``).
        dirs: Return folders (rawframe folders) instead of files. Default ``False``.
    """
    if level < 1:
        raise ConfigError(f"level must be >= 1, got {level}")
    check_dirs(src_dir)
    wanted = normalize_exts(exts)
    found = []
    for root, subdirs, files in os.walk(src_dir):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        rel_root = os.path.relpath(root, src_dir)
        depth = 0 if rel_root == "." else rel_root.count(os.sep) + 1
        if depth == level - 1:
            names = subdirs if dirs else [f for f in files if not f.startswith(".")
                                          and os.path.splitext(f)[1].lower().lstrip(".") in wanted]
            found += [os.path.normpath(os.path.join(rel_root, n)) for n in names]
            subdirs[:] = []
    return sorted(found)


def find_inputs(src_dir: str, level: int, exts: Optional[Sequence[str]] = None) -> List[str]:
    """:func:`find_files`, raising :class:`ConfigError` (naming the folder, depth and extensions) when none match."""
    found = find_files(src_dir, level, exts)
    if not found:
        pattern = "/".join(["<class>"] * (level - 1) + ["<name>"])
        raise ConfigError(f"no input files in {src_dir!r} at {src_dir}/{pattern} with extension(s) "
                          f"{', '.join(normalize_exts(exts))}; check --level and --ext")
    return found


def run_jobs(job: Callable[[str], str], items: Sequence[str], num_workers: int = 1, desc: str = "") -> JobReport:
    """Run ``job(item)`` for every item, in ``num_workers`` processes, with a progress bar.

    ``job`` returns :data:`DONE` or :data:`SKIPPED`; an exception marks the item failed with the
    exception's message, and the run goes on. ``job`` must be picklable (a module-level function or
    a ``functools.partial`` of one) when ``num_workers > 1``.

    Args:
        job: The work for one item.
        items: Relative paths (what the report names).
        num_workers: Processes. Default 1 (run in this process).
        desc: Progress bar label. Default ``""``.
    """
    from tqdm.auto import tqdm

    report = JobReport()
    if num_workers < 1:
        raise ConfigError(f"num_workers must be >= 1, got {num_workers}")
    bar = tqdm(total=len(items), desc=desc, unit="file")
    try:
        if num_workers == 1 or len(items) <= 1:
            outcomes = (_guarded(job, item) for item in items)
            _collect(report, outcomes, bar)
        else:
            with multiprocessing.get_context().Pool(min(num_workers, len(items))) as pool:
                outcomes = pool.imap_unordered(_GuardedJob(job), items)
                _collect(report, outcomes, bar)
    finally:
        bar.close()
    report.done.sort()
    report.skipped.sort()
    report.failed.sort()
    for path, reason in report.failed:
        logger.warning("%s: %s", path, reason)
    return report


def _guarded(job: Callable[[str], str], item: str) -> Tuple[str, str, str]:
    try:
        return item, job(item), ""
    except Exception as err:  # a bad file must not stop the run: it is reported instead
        return item, "failed", f"{type(err).__name__}: {err}"


class _GuardedJob:
    """Picklable ``_guarded`` bound to one job (for the process pool)."""

    def __init__(self, job: Callable[[str], str]):
        self.job = job

    def __call__(self, item: str) -> Tuple[str, str, str]:
        return _guarded(self.job, item)


def _collect(report: JobReport, outcomes: Iterable[Tuple[str, str, str]], bar) -> None:
    for item, status, reason in outcomes:
        if status == DONE:
            report.done.append(item)
        elif status == SKIPPED:
            report.skipped.append(item)
        else:
            report.failed.append((item, reason))
        bar.update(1)

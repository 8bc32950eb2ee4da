"""Fast, frame-exact video reading with PyAV.

:class:`VideoReader` returns, for every requested index ``i``, exactly the ``i``-th frame that a
full sequential decode of the video would produce, while decoding as little as the indices allow.

How it works
------------
*Counting and indexing.* Opening a video demuxes its video packets once (no decoding; this reads
the compressed bytes only and costs about 1% of a decode). Every packet that carries data and is
not flagged as discarded becomes one frame; its presentation timestamp (pts) fixes its place in
display order. The frame count is therefore the number of such packets, not the container's
``frames`` field, which is often missing or wrong. When the container's own index lists more
samples than the file holds (a truncated mp4 whose ``moov`` box is intact) the video is rejected
as truncated. The index is cached per file (path, size and modification time) so a dataset
reading the same video every epoch demuxes it once per process.

*Planning.* Frame ``i`` (display order) can be decoded starting at the last keyframe that precedes
it in decode order and does not follow it in display order (so open-GOP leading pictures start
one GOP earlier). Requested frames are visited in display order; for each one the reader either
keeps decoding from where it is, or seeks to that frame's keyframe when the keyframe lies more
than ``seek_threshold`` packets ahead of the current decode position. With dense keyframes this
seeks to each needed GOP; with a keyframe every ~250 frames the keyframes are rarely ahead of the
position and the reader decodes straight through, stopping after the last needed frame. Both
regimes were measured in ``docs/benchmarks.md``.

*Decoding less.* Packets that are not wanted are sent to the decoder with
``skip_frame="NONREF"``: a frame that no other frame references is then not reconstructed at all,
which is exact because nothing later depends on it. Only the frames that are returned are
converted to RGB.

*Exactness.* Decoded frames are matched to requests by pts, never by counting after a seek, and
every frame leaving the decoder is checked: its pts must be known and later (in display order)
than the previous frame's. Timestamps that fail this (or a requested pts that never comes out)
switch the video to a plain sequential decode that counts frames, which is exact by definition.
Streams without timestamps, with repeated timestamps, or whose timestamps show no reordering
while the decoder reorders (B-frames in AVI) use the sequential mode from the start.
Conversion to RGB uses one swscale context per call, giving the same pixels as
``frame.to_rgb()`` (mmaction2's conversion).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import VideoDecodeError
from ..utils.logging import get_logger

logger = get_logger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

#: Number of packets a seek is worth: a keyframe closer than this to the current decode position is
#: reached by decoding on rather than by seeking (seek + decoder flush + refill cost about this much).
DEFAULT_SEEK_THRESHOLD = 12

_INDEX_CACHE_SIZE = 512
_index_cache: "OrderedDict[Tuple[str, int, int], _VideoIndex]" = OrderedDict()
_index_lock = threading.Lock()


def _av():
    try:
        import av  # noqa: WPS433 (imported lazily: av is heavy)
    except ImportError as exc:  # pragma: no cover - av is a hard dependency
        raise ImportError('PyAV is required to read videos: run "pip install av"') from exc
    return av


@dataclass
class _VideoIndex:
    """What demuxing a video once tells: frame timestamps, keyframes and stream facts."""

    num_frames: int
    fps: float
    width: int
    height: int
    time_base: Any
    exact_pts: bool  # False: no usable timestamps, frames are located by counting
    display_pts: np.ndarray  # pts of display-order frame i (int64)
    decode_pos: np.ndarray  # decode-order position of display-order frame i
    start_key: np.ndarray  # decode position of the keyframe to start from for frame i
    seek_ts: np.ndarray  # per decode position: timestamp to seek to (pts, else dts)
    packet_key: np.ndarray  # per decode position: (pts, dts) to recognize packets after a seek
    keyframe_display: np.ndarray  # display indices of keyframes, sorted
    rank_of_pts: Dict[int, int]  # pts -> display index


def _open_container(path: Any, what: str):
    av = _av()
    if isinstance(path, (str, os.PathLike)):
        if not os.path.exists(path):
            raise VideoDecodeError(f"video file {what!r} not found")
        if os.path.isdir(path):
            raise VideoDecodeError(f"video path {what!r} is a directory, expected a video file")
    elif hasattr(path, "seek"):
        path.seek(0)  # a file object is read again from its start by every container
    try:
        container = av.open(path if not isinstance(path, os.PathLike) else os.fspath(path))
    except Exception as exc:  # av raises many error classes (InvalidDataError, EOFError, ...)
        raise VideoDecodeError(f"cannot open {what!r} as a video (corrupt, truncated or not a video): {exc}") from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"{what!r} has no video frames (no video stream)")
    return container


def _build_index(path: Any, what: str) -> _VideoIndex:
    """Demux every video packet of ``path`` (no decoding) and build the frame index."""
    container = _open_container(path, what)
    try:
        stream = container.streams.video[0]
        pts_list: List[Optional[int]] = []
        dts_list: List[Optional[int]] = []
        key_list: List[bool] = []
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or getattr(packet, "is_discard", False):
                    continue
                pts_list.append(packet.pts)
                dts_list.append(packet.dts)
                key_list.append(bool(packet.is_keyframe))
        except Exception as exc:
            raise VideoDecodeError(f"{what!r} is corrupt or truncated: reading its packets failed: {exc}") from exc
        n = len(pts_list)
        if n == 0:
            raise VideoDecodeError(f"{what!r} has no video frames (0 packets in its video stream)")
        entries = getattr(stream, "index_entries", None)
        if entries is not None and container.format.name.startswith("mov"):
            listed = sum(1 for e in entries if not (e.flags & 2))  # 2 = AVINDEX_DISCARD_FRAME
            if listed > n:
                raise VideoDecodeError(
                    f"{what!r} is truncated: its index lists {listed} frames but only {n} are in the file"
                )
        codec = stream.codec_context
        width, height = int(codec.width), int(codec.height)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        time_base = stream.time_base
        exact = all(p is not None for p in pts_list) and len(set(pts_list)) == n
        if exact and n > 1 and all(a < b for a, b in zip(pts_list, pts_list[1:])):
            # Timestamps in decode order show no reordering. That is right for streams without
            # B-frames, and wrong for containers that cannot store B-frame timestamps (AVI, raw
            # streams): there the decoder reports reordering, and frames must be counted instead.
            exact = not _decoder_reorders(container, stream)
        if exact:
            pts = np.asarray(pts_list, dtype=np.int64)
            order = np.argsort(pts, kind="stable")
        else:
            pts = np.arange(n, dtype=np.int64)
            order = np.arange(n)
        if not fps and exact and n > 1 and time_base:
            span = float((pts.max() - pts.min()) * time_base)
            fps = (n - 1) / span if span > 0 else 0.0
        keys = np.flatnonzero(np.asarray(key_list))
        if keys.size == 0 or keys[0] != 0:
            # Frames before the first keyframe can only be reached by decoding from the start.
            keys = np.concatenate([[0], keys]).astype(np.int64)
        display_pts = pts[order]
        start_key = np.empty(n, dtype=np.int64)
        for i in range(n):
            d = order[i]
            j = int(np.searchsorted(keys, d, side="right")) - 1
            # open-GOP leading pictures (shown before their keyframe) start one GOP earlier
            while j > 0 and pts[keys[j]] > display_pts[i]:
                j -= 1
            start_key[i] = keys[j]
        # demuxers (mov/mp4, matroska) seek on presentation time, so seek to the keyframe's pts
        seek_ts = np.array(
            [p if p is not None else (d if d is not None else -1) for p, d in zip(pts_list, dts_list)], dtype=np.int64
        )
        packet_key = np.array(
            [(p if p is not None else -(2**62), d if d is not None else -(2**62)) for p, d in zip(pts_list, dts_list)],
            dtype=np.int64,
        ).reshape(n, 2)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        keyframe_display = np.sort(rank[np.flatnonzero(np.asarray(key_list))]) if any(key_list) else np.array([0])
        return _VideoIndex(
            num_frames=n,
            fps=fps,
            width=width,
            height=height,
            time_base=time_base,
            exact_pts=exact,
            display_pts=display_pts,
            decode_pos=order.astype(np.int64),
            start_key=start_key,
            seek_ts=seek_ts,
            packet_key=packet_key,
            keyframe_display=keyframe_display.astype(np.int64),
            rank_of_pts={int(p): i for i, p in enumerate(display_pts.tolist())},
        )
    finally:
        container.close()


def _decoder_reorders(container, stream, max_packets: int = 16) -> bool:
    """Decode the first packets and report whether the decoder delays frames for reordering."""
    try:
        container.seek(0, stream=stream)
        codec = stream.codec_context
        for count, packet in enumerate(container.demux(stream)):
            frames = packet.decode()
            if codec.has_b_frames or count >= max_packets:
                break
            if frames and count > 0:
                break
        return bool(codec.has_b_frames)
    except Exception:
        return True  # cannot tell: count frames, which is always exact


def _cached_index(path: Any, what: str) -> _VideoIndex:
    if not isinstance(path, (str, os.PathLike)):
        return _build_index(path, what)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise VideoDecodeError(f"video file {what!r} not found") from None
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    with _index_lock:
        if key in _index_cache:
            _index_cache.move_to_end(key)
            return _index_cache[key]
    index = _build_index(path, what)
    with _index_lock:
        _index_cache[key] = index
        while len(_index_cache) > _INDEX_CACHE_SIZE:
            _index_cache.popitem(last=False)
    return index


def clear_index_cache() -> None:
    """Forget every cached video index (e.g. after rewriting videos in place)."""
    with _index_lock:
        _index_cache.clear()


def _new_reformatter():
    """A swscale context kept across the frames of one call (the same pixels as ``frame.to_rgb()``)."""
    try:
        from av.video.reformatter import VideoReformatter
    except ImportError:  # pragma: no cover - very old PyAV
        return None
    return VideoReformatter()


def _to_rgb(frame, apply_rotation: bool, reformatter=None) -> np.ndarray:
    if reformatter is not None:
        img = reformatter.reformat(frame, format="rgb24").to_ndarray()
    else:
        img = frame.to_rgb().to_ndarray()
    if apply_rotation:
        rotation = int(getattr(frame, "rotation", 0) or 0)
        if rotation % 360:
            img = np.ascontiguousarray(np.rot90(img, k=(rotation // 90) % 4))
    return img


class VideoReader:
    """Read chosen frames of a video exactly and fast.

    Args:
        path: Video file path (or a binary file object; then the index is not cached).
        multi_thread: Let FFmpeg decode with several threads (``thread_type="AUTO"``).
            Default: ``False``.
        seek_threshold: A needed keyframe more than this many packets ahead of the current decode
            position is reached by seeking, a closer one by decoding on.
            Default: ``DEFAULT_SEEK_THRESHOLD`` (12).
        apply_rotation: Rotate returned frames by the stream's display matrix (phone videos).
            ``False`` returns frames as stored, like mmaction2 and a plain PyAV decode.
            Default: ``False``.
        skip_nonref: Do not reconstruct unwanted frames that no other frame references
            (exact; disable only to compare timings). Default: ``True``.

    Attributes:
        num_frames: Exact number of frames (see the module docstring for how it is counted).
        fps: Average frame rate (frames per second) of the stream.
        width, height: Frame size as stored.
    """

    def __init__(
        self,
        path: PathLike,
        multi_thread: bool = False,
        seek_threshold: int = DEFAULT_SEEK_THRESHOLD,
        apply_rotation: bool = False,
        skip_nonref: bool = True,
    ):
        self.path = path
        self._what = os.fspath(path) if isinstance(path, (str, os.PathLike)) else repr(path)
        self.multi_thread = multi_thread
        self.seek_threshold = int(seek_threshold)
        self.apply_rotation = apply_rotation
        self.skip_nonref = skip_nonref
        self._index = _cached_index(path, self._what)
        self._sequential_only = not self._index.exact_pts
        self.num_frames: int = self._index.num_frames
        self.fps: float = self._index.fps
        self.width: int = self._index.width
        self.height: int = self._index.height
        #: Counters of the last :meth:`get_frames` call: ``packets`` sent to the decoder, ``seeks``.
        self.last_stats: Dict[str, int] = {"packets": 0, "seeks": 0}

    def __len__(self) -> int:
        return self.num_frames

    def __repr__(self) -> str:
        return f"VideoReader({self._what!r}, num_frames={self.num_frames}, fps={self.fps:.3f})"

    @property
    def keyframe_indices(self) -> np.ndarray:
        """Display-order indices of the keyframes."""
        return self._index.keyframe_display.copy()

    def nearest_keyframes(self, indices: Iterable[int]) -> np.ndarray:
        """For each index, the index of the last keyframe at or before it (display order)."""
        idx = self._check(indices)
        kf = self._index.keyframe_display
        pos = np.searchsorted(kf, idx, side="right") - 1
        return kf[np.maximum(pos, 0)]

    def get_frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as an ``HxWx3`` uint8 RGB array."""
        return self.get_frames([index])[0]

    def get_frames(self, indices: Iterable[int]) -> List[np.ndarray]:
        """Frames at ``indices`` (any order, repeats allowed) as ``HxWx3`` uint8 RGB arrays.

        Raises:
            VideoDecodeError: an index is out of ``[0, num_frames)``, or the video cannot be decoded.
        """
        idx = self._check(indices)
        if idx.size == 0:
            return []
        wanted = np.unique(idx)
        if self._sequential_only:
            got = self._decode_sequential(wanted)
        else:
            try:
                got = self._decode_planned(wanted)
            except _TimestampMismatch as exc:
                logger.info("%s: timestamps do not describe frames (%s); decoding sequentially", self._what, exc)
                self._sequential_only = True
                got = self._decode_sequential(wanted)
        out = []
        first: Dict[int, bool] = {}
        for i in idx.tolist():
            img = got[i]
            # a repeated index gets its own copy so later in-place edits stay independent
            out.append(img if i not in first else img.copy())
            first[i] = True
        return out

    # ------------------------------------------------------------------ internals
    def _check(self, indices: Iterable[int]) -> np.ndarray:
        idx = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices).reshape(-1)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            if np.all(np.mod(idx, 1) == 0):
                idx = idx.astype(np.int64)
            else:
                raise VideoDecodeError(f"{self._what!r}: frame indices must be integers, got {idx[:5].tolist()}...")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_frames):
            bad = idx[(idx < 0) | (idx >= self.num_frames)][:5].tolist()
            raise VideoDecodeError(
                f"{self._what!r}: frame indices {bad} out of range; the video has {self.num_frames} frames "
                f"(valid indices 0..{self.num_frames - 1})"
            )
        return idx

    def _open_stream(self):
        container = _open_container(self.path, self._what)
        stream = container.streams.video[0]
        if self.multi_thread:
            stream.thread_type = "AUTO"
        return container, stream

    def _decode_error(self, exc: Exception, where: str) -> VideoDecodeError:
        return VideoDecodeError(f"{self._what!r} is corrupt or truncated: decoding failed {where}: {exc}")

    def _decode_planned(self, wanted: np.ndarray) -> Dict[int, np.ndarray]:
        ix = self._index
        pts_to_display = {int(ix.display_pts[i]): int(i) for i in wanted.tolist()}
        key_to_pos = {(int(a), int(b)): n for n, (a, b) in enumerate(ix.packet_key.tolist())}
        target_packet_pts = set(pts_to_display)
        got: Dict[int, np.ndarray] = {}
        container, stream = self._open_stream()
        codec = stream.codec_context
        can_skip = self.skip_nonref and hasattr(codec, "skip_frame")
        skip_state = None
        packets = container.demux(stream)
        pos = -1  # decode position of the last packet sent to the decoder
        exhausted = False
        stats = {"packets": 0, "seeks": 0}

        last_rank = [-1]  # display index of the last frame out of the decoder in this run
        reformatter = _new_reformatter()

        def take(frames) -> None:
            for frame in frames:
                p = frame.pts
                rank = ix.rank_of_pts.get(int(p)) if p is not None else None
                if rank is None or rank <= last_rank[0]:
                    # frames leave the decoder in display order: timestamps that are unknown or go
                    # backwards do not describe the frames
                    raise _TimestampMismatch(f"decoded frame with pts {p} out of order")
                last_rank[0] = rank
                i = pts_to_display.get(int(p))
                if i is not None and i not in got:
                    got[i] = _to_rgb(frame, self.apply_rotation, reformatter)

        try:
            for target in wanted.tolist():
                if target in got:
                    continue
                key = int(ix.start_key[target])
                fresh = pos == -1  # a fresh container starts at decode position 0
                far = key > pos + self.seek_threshold or (key > pos and exhausted)
                if far and not (fresh and key == 0):
                    container.seek(int(ix.seek_ts[key]), stream=stream, backward=True, any_frame=False)
                    last_rank[0] = -1
                    stats["seeks"] += 1
                    packets = container.demux(stream)
                    exhausted = False
                    pos = None  # unknown until the first packet is read
                while target not in got:
                    if exhausted:
                        raise _TimestampMismatch(f"frame {target} (pts {int(ix.display_pts[target])}) never decoded")
                    try:
                        packet = next(packets)
                    except StopIteration:
                        exhausted = True
                        take(codec.decode(None))
                        continue
                    if packet.size == 0:
                        take(packet.decode())
                        exhausted = True
                        continue
                    if getattr(packet, "is_discard", False):
                        continue
                    pk = (
                        packet.pts if packet.pts is not None else -(2**62),
                        packet.dts if packet.dts is not None else -(2**62),
                    )
                    n = key_to_pos.get(pk)
                    if pos is None:
                        # first packet after a seek: it must not be past the keyframe we need
                        if n is None or n > key:
                            container.close()
                            container, stream = self._open_stream()
                            codec = stream.codec_context
                            skip_state = None
                            packets = container.demux(stream)
                            pos = -1
                            last_rank[0] = -1
                            continue
                    if n is not None:
                        pos = n
                    if can_skip:
                        state = "DEFAULT" if packet.pts in target_packet_pts else "NONREF"
                        if state != skip_state:
                            codec.skip_frame = state
                            skip_state = state
                    stats["packets"] += 1
                    try:
                        frames = packet.decode()
                    except Exception as exc:
                        raise self._decode_error(exc, f"at packet {pos}") from exc
                    take(frames)
        finally:
            container.close()
        self.last_stats = stats
        return got

    def _decode_sequential(self, wanted: np.ndarray) -> Dict[int, np.ndarray]:
        want = set(wanted.tolist())
        last = int(wanted.max())
        got: Dict[int, np.ndarray] = {}
        container, stream = self._open_stream()
        reformatter = _new_reformatter()
        count = 0
        try:
            try:
                for frame in container.decode(stream):
                    if count in want:
                        got[count] = _to_rgb(frame, self.apply_rotation, reformatter)
                    count += 1
                    if count > last:
                        break
            except Exception as exc:
                raise self._decode_error(exc, f"after frame {count}") from exc
        finally:
            container.close()
        self.last_stats = {"packets": count, "seeks": 0}
        missing = sorted(want - set(got))
        if missing:
            raise VideoDecodeError(
                f"{self._what!r} is corrupt or truncated: it decodes to {count} frames, "
                f"frames {missing[:5]} requested (its packets promised {self.num_frames})"
            )
        return got


class _TimestampMismatch(Exception):
    """The stream's timestamps do not identify its decoded frames."""


def iter_frames(path: PathLike, apply_rotation: bool = False) -> Iterator[np.ndarray]:
    """Every frame of ``path`` in display order as RGB arrays (a plain sequential decode)."""
    what = os.fspath(path) if isinstance(path, (str, os.PathLike)) else repr(path)
    container = _open_container(path, what)
    try:
        for frame in container.decode(container.streams.video[0]):
            yield _to_rgb(frame, apply_rotation)
    finally:
        container.close()


def read_frames_baseline(path: PathLike, indices: Sequence[int]) -> List[np.ndarray]:
    """mmaction2's ``PyAVDecode`` strategy: decode and convert every frame up to the last index.

    Kept as the benchmark baseline; indices past the decoded frames wrap around as in mmaction2.
    """
    av = _av()
    container = av.open(os.fspath(path))
    imgs: List[np.ndarray] = []
    last = max(indices)
    try:
        for i, frame in enumerate(container.decode(video=0)):
            if i > last + 1:
                break
            imgs.append(frame.to_rgb().to_ndarray())
    finally:
        container.close()
    return [imgs[i % len(imgs)] for i in indices]

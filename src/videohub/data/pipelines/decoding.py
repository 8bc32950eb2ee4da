"""Decoding pipeline steps: PyAV, OpenCV, decord, raw frames and images (mmaction2 v0.24 contracts).

Every step takes the results dict, adds the keys its docstring names and returns the same dict.
Frames come out as lists of ``HxWx3`` uint8 RGB arrays (``HxW`` for optical-flow images).

Differences from mmaction2, all in the direction of correctness:

- ``PyAVInit`` counts frames exactly (:mod:`videohub.data.video_reader`) instead of trusting the
  container's ``frames`` field, and puts a :class:`~videohub.data.video_reader.VideoReader` (not an
  ``av`` container) in ``results["video_reader"]``; ``PyAVDecode`` decodes only what the indices
  need and returns the same pixels as mmaction2's sequential decode.
- Only local files are read (``io_backend="disk"``); other backends raise
  :class:`~videohub.errors.ConfigError`.
- A missing or broken file raises :class:`~videohub.errors.VideoDecodeError` naming the file
  (and the frame index for raw frames) instead of an ``AssertionError``/``None`` frame.
"""

from __future__ import annotations

import os
import os.path as osp
import warnings
from typing import Any, Dict, List, Optional

import numpy as np

from ...errors import ConfigError, VideoDecodeError
from ...registry import PIPELINES
from ..video_reader import VideoReader
from .compose import PipelineStep

__all__ = [
    "PyAVInit",
    "PyAVDecode",
    "PyAVDecodeMotionVector",
    "OpenCVInit",
    "OpenCVDecode",
    "DecordInit",
    "DecordDecode",
    "RawFrameDecode",
    "ImageDecode",
    "FrameSelector",
    "BuildPseudoClip",
    "OpenCVVideoReader",
    "imread",
]


# ----------------------------------------------------------------------------- helpers
def _check_backend(step: str, io_backend: str, kwargs: Dict[str, Any]) -> None:
    """Only local disk reading is supported; raise a ConfigError naming anything else."""
    if io_backend != "disk":
        raise ConfigError(
            f"{step}: io_backend={io_backend!r} is not supported; videohub reads local files only "
            "(io_backend='disk'). Mount or copy remote storage to a local path."
        )
    if kwargs:
        raise ConfigError(
            f"{step}: unexpected file-client arguments {sorted(kwargs)}; the 'disk' backend takes none"
        )


def _require(results: Dict[str, Any], key: str, step: str, hint: str = "") -> Any:
    if key not in results:
        raise ConfigError(
            f"{step} needs results[{key!r}], which is missing (keys present: {sorted(results)}){hint}"
        )
    return results[key]


def _flat_inds(results: Dict[str, Any], step: str) -> np.ndarray:
    inds = np.asarray(_require(results, "frame_inds", step, "; put a sampling step such as SampleFrames first"))
    if inds.ndim != 1:
        inds = inds.reshape(-1)  # mmaction2 squeezes; flattening also covers (num_clips, clip_len)
        results["frame_inds"] = inds
    return inds


def imread(path: str, flag: str = "color", channel_order: str = "rgb", backend: str = "cv2") -> np.ndarray:
    """Read an image file as uint8 (``HxWx3`` in ``channel_order`` or ``HxW`` for ``flag="grayscale"``).

    Args:
        path: Image file.
        flag: ``"color"`` or ``"grayscale"``. Default: ``"color"``.
        channel_order: ``"rgb"`` or ``"bgr"`` for colour images. Default: ``"rgb"``.
        backend: ``"cv2"`` or ``"pillow"``. Default: ``"cv2"``.

    Raises:
        VideoDecodeError: the file is missing or is not a readable image.
    """
    if not osp.isfile(path):
        raise VideoDecodeError(f"image file {path!r} not found")
    if backend == "cv2":
        import cv2

        data = np.fromfile(path, dtype=np.uint8)
        mode = cv2.IMREAD_GRAYSCALE if flag == "grayscale" else cv2.IMREAD_COLOR
        img = cv2.imdecode(data, mode) if data.size else None
        if img is None:
            raise VideoDecodeError(f"image file {path!r} is corrupt or not an image")
        if flag != "grayscale" and channel_order == "rgb":
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return img
    if backend == "pillow":
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                img = np.asarray(im.convert("L" if flag == "grayscale" else "RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise VideoDecodeError(f"image file {path!r} is corrupt or not an image: {exc}") from exc
        if flag != "grayscale" and channel_order == "bgr":
            img = img[..., ::-1]
        return np.ascontiguousarray(img)
    raise ConfigError(f"decoding_backend={backend!r} is not supported; use 'cv2' or 'pillow'")


# ----------------------------------------------------------------------------- PyAV
@PIPELINES.register()
class PyAVInit(PipelineStep):
    """Open a video with the fast exact reader.

    Required keys are "filename", added or modified keys are "video_reader" and "total_frames".
    ``total_frames`` is the exact frame count (demuxed packets), not the container's metadata.

    Args:
        io_backend: Where the video is stored; only ``"disk"``. Default: ``"disk"``.
        kwargs: File-client arguments of mmaction2; the disk backend takes none.
    """

    def __init__(self, io_backend: str = "disk", **kwargs: Any):
        _check_backend(type(self).__name__, io_backend, kwargs)
        self.io_backend = io_backend
        self.kwargs = kwargs

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        filename = _require(results, "filename", type(self).__name__)
        reader = VideoReader(filename)
        results["video_reader"] = reader
        results["total_frames"] = reader.num_frames
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(io_backend={self.io_backend})"


@PIPELINES.register()
class PyAVDecode(PipelineStep):
    """Decode the frames at "frame_inds" from the reader of ``PyAVInit``.

    Required keys are "video_reader" and "frame_inds", added or modified keys are "imgs",
    "img_shape" and "original_shape".

    Args:
        multi_thread: Decode with FFmpeg threads. Default: ``False``.
        mode: ``"accurate"`` returns exactly the frames at the indices (indices past the end wrap
            around, as in mmaction2); ``"efficient"`` returns, for each index, the nearest keyframe
            at or before it (mmaction2's fast inexact mode, decoding keyframes only).
            Default: ``"accurate"``.
    """

    def __init__(self, multi_thread: bool = False, mode: str = "accurate"):
        if mode not in ("accurate", "efficient"):
            raise ConfigError(f"{type(self).__name__}: mode must be 'accurate' or 'efficient', got {mode!r}")
        self.multi_thread = multi_thread
        self.mode = mode

    def _reader(self, results: Dict[str, Any]) -> VideoReader:
        reader = _require(results, "video_reader", type(self).__name__, "; put PyAVInit first")
        if not isinstance(reader, VideoReader):
            raise ConfigError(
                f"{type(self).__name__}: results['video_reader'] is a {type(reader).__name__}; "
                "expected the VideoReader that PyAVInit sets"
            )
        return reader

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        reader = self._reader(results)
        inds = _flat_inds(results, type(self).__name__)
        reader.multi_thread = self.multi_thread
        wrapped = np.mod(inds.astype(np.int64), reader.num_frames)
        if self.mode == "efficient":
            wrapped = reader.nearest_keyframes(wrapped)
        imgs = reader.get_frames(wrapped)
        results["imgs"] = imgs
        results["original_shape"] = imgs[0].shape[:2]
        results["img_shape"] = imgs[0].shape[:2]
        results["video_reader"] = None
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(multi_thread={self.multi_thread}, mode={self.mode})"


@PIPELINES.register()
class PyAVDecodeMotionVector(PyAVDecode):
    """Decode the codec's motion vectors of the frames at "frame_inds".

    Required keys are "video_reader" and "frame_inds", added or modified keys are
    "motion_vectors" (``N x H x W x 2`` int8: the x/y displacement of each pixel's block, clipped
    to the int8 range; zeros on keyframes) and "frame_inds".

    Args:
        multi_thread: Decode with FFmpeg threads. Default: ``False``.
        mode: Kept for signature compatibility with ``PyAVDecode``; motion vectors are always
            read exactly. Default: ``"accurate"``.
    """

    @staticmethod
    def _parse_vectors(mv: np.ndarray, vectors: np.ndarray, height: int, width: int) -> np.ndarray:
        """Paint each block's displacement ``(dst - src)`` into ``mv`` (blocks fully inside only)."""
        w, h = vectors["w"].astype(np.int64), vectors["h"].astype(np.int64)
        dst_x, dst_y = vectors["dst_x"].astype(np.int64), vectors["dst_y"].astype(np.int64)
        val_x = np.clip(dst_x - vectors["src_x"], -128, 127)
        val_y = np.clip(dst_y - vectors["src_y"], -128, 127)
        start_x, start_y = dst_x - w // 2, dst_y - h // 2
        end_x, end_y = start_x + w, start_y + h
        for sx, ex, sy, ey, vx, vy in zip(start_x, end_x, start_y, end_y, val_x, val_y):
            if sx >= 0 and ex < width and sy >= 0 and ey < height:
                mv[sy:ey, sx:ex] = (vx, vy)
        return mv

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        import av

        reader = self._reader(results)
        inds = _flat_inds(results, type(self).__name__)
        last = int(np.max(inds))
        reader.multi_thread = self.multi_thread
        container, stream = reader._open_stream()
        stream.codec_context.options = {"flags2": "+export_mvs"}
        vectors_per_frame: List[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                if len(vectors_per_frame) > last:
                    break
                mv = np.zeros((frame.height, frame.width, 2), dtype=np.int8)
                side = frame.side_data.get("MOTION_VECTORS")
                if side is not None and len(side) > 0:
                    mv = self._parse_vectors(mv, side.to_ndarray(), frame.height, frame.width)
                vectors_per_frame.append(mv)
        except av.error.FFmpegError as exc:
            raise VideoDecodeError(f"{reader.path!r} is corrupt: decoding motion vectors failed: {exc}") from exc
        finally:
            container.close()
        if not vectors_per_frame:
            raise VideoDecodeError(f"{reader.path!r} decoded to no frames")
        results["motion_vectors"] = np.array([vectors_per_frame[i % len(vectors_per_frame)] for i in inds])
        results["video_reader"] = None
        return results


# ----------------------------------------------------------------------------- decord
@PIPELINES.register()
class DecordInit(PipelineStep):
    """Open a video with decord (optional dependency: ``pip install decord``).

    Required keys are "filename", added or modified keys are "video_reader" and "total_frames".

    Args:
        io_backend: Only ``"disk"``. Default: ``"disk"``.
        num_threads: decord decoding threads. Default: 1.
        kwargs: File-client arguments of mmaction2; the disk backend takes none.

    Raises:
        ImportError: decord is not installed (the message says ``pip install decord``).
    """

    def __init__(self, io_backend: str = "disk", num_threads: int = 1, **kwargs: Any):
        _check_backend(type(self).__name__, io_backend, kwargs)
        try:
            import decord  # noqa: F401
        except ImportError:
            raise ImportError(
                "DecordInit needs decord, which is not installed: run `pip install decord` "
                "(or use PyAVInit/PyAVDecode, which need nothing extra)"
            ) from None
        self.io_backend = io_backend
        self.num_threads = num_threads
        self.kwargs = kwargs

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        import decord

        filename = _require(results, "filename", type(self).__name__)
        if not osp.isfile(filename):
            raise VideoDecodeError(f"video file {filename!r} not found")
        try:
            container = decord.VideoReader(filename, num_threads=self.num_threads)
        except Exception as exc:  # decord raises its own DECORDError
            raise VideoDecodeError(f"decord cannot open {filename!r}: {exc}") from exc
        results["video_reader"] = container
        results["total_frames"] = len(container)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(io_backend={self.io_backend}, num_threads={self.num_threads})"


@PIPELINES.register()
class DecordDecode(PipelineStep):
    """Decode the frames at "frame_inds" with the reader of ``DecordInit``.

    Required keys are "video_reader", "filename" and "frame_inds", added or modified keys are
    "imgs", "img_shape" and "original_shape".

    Args:
        mode: ``"accurate"`` (exact frames) or ``"efficient"`` (decord's keyframe seeking).
            Default: ``"accurate"``.
    """

    def __init__(self, mode: str = "accurate"):
        if mode not in ("accurate", "efficient"):
            raise ConfigError(f"DecordDecode: mode must be 'accurate' or 'efficient', got {mode!r}")
        self.mode = mode

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        container = _require(results, "video_reader", "DecordDecode", "; put DecordInit first")
        inds = _flat_inds(results, "DecordDecode")
        if self.mode == "accurate":
            imgs = list(container.get_batch(inds).asnumpy())
        else:
            container.seek(0)
            imgs = []
            for idx in inds:
                container.seek(int(idx))
                imgs.append(container.next().asnumpy())
        results["video_reader"] = None
        results["imgs"] = imgs
        results["original_shape"] = imgs[0].shape[:2]
        results["img_shape"] = imgs[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mode={self.mode})"


# ----------------------------------------------------------------------------- OpenCV
class OpenCVVideoReader:
    """Index an OpenCV ``VideoCapture`` like a list of BGR frames (mmcv.VideoReader semantics).

    ``len()`` is OpenCV's ``CAP_PROP_FRAME_COUNT``; ``reader[i]`` reads on when ``i`` is at most
    ``max_grab`` frames ahead (skipping frames with ``grab()``, which decodes without converting)
    and seeks otherwise (mmcv always seeks unless ``i`` is the next frame; OpenCV's seeking is slow
    and not always frame-exact); it returns ``None`` past the readable end.

    Args:
        filename: Video file.
        max_grab: Largest forward gap read through instead of seeking. Default: 64.
    """

    def __init__(self, filename: str, max_grab: int = 64):
        import cv2

        if not osp.isfile(filename):
            raise VideoDecodeError(f"video file {filename!r} not found")
        self._cv2 = cv2
        self._cap = cv2.VideoCapture(filename)
        if not self._cap.isOpened():
            raise VideoDecodeError(f"OpenCV cannot open {filename!r} as a video (corrupt or unsupported)")
        self.filename = filename
        self.frame_cnt = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        self.max_grab = max_grab
        self._position = 0

    def __len__(self) -> int:
        return self.frame_cnt

    def __getitem__(self, index: int) -> Optional[np.ndarray]:
        index = int(index)
        if index < 0:
            index += self.frame_cnt
        gap = index - self._position
        if self._position >= 0 and 0 < gap <= self.max_grab:
            for _ in range(gap):
                if not self._cap.grab():
                    self._position = -1
                    return None
        elif gap != 0:
            self._cap.set(self._cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = self._cap.read()
        self._position = index + 1 if ok else -1
        return frame if ok else None

    def release(self) -> None:
        """Close the capture."""
        self._cap.release()


@PIPELINES.register()
class OpenCVInit(PipelineStep):
    """Open a video with OpenCV.

    Required keys are "filename", added or modified keys are "new_path", "video_reader" and
    "total_frames" (OpenCV's frame count).

    Args:
        io_backend: Only ``"disk"``. Default: ``"disk"``.
        kwargs: File-client arguments of mmaction2; the disk backend takes none.
    """

    def __init__(self, io_backend: str = "disk", **kwargs: Any):
        _check_backend(type(self).__name__, io_backend, kwargs)
        self.io_backend = io_backend
        self.kwargs = kwargs

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        filename = _require(results, "filename", type(self).__name__)
        container = OpenCVVideoReader(filename)
        if len(container) <= 0:
            raise VideoDecodeError(f"{filename!r} has no video frames (OpenCV frame count {len(container)})")
        results["new_path"] = filename
        results["video_reader"] = container
        results["total_frames"] = len(container)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(io_backend={self.io_backend})"


@PIPELINES.register()
class OpenCVDecode(PipelineStep):
    """Decode the frames at "frame_inds" with the reader of ``OpenCVInit`` (as RGB).

    Required keys are "video_reader", "filename" and "frame_inds", added or modified keys are
    "imgs", "img_shape" and "original_shape". An unreadable frame is replaced by the last
    readable one before it, as in mmaction2.
    """

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        container = _require(results, "video_reader", "OpenCVDecode", "; put OpenCVInit first")
        inds = _flat_inds(results, "OpenCVDecode")
        imgs = []
        for frame_ind in inds:
            ind = int(frame_ind)
            cur = container[ind]
            while cur is None and ind > 0:
                ind -= 1
                cur = container[ind]
            if cur is None:
                raise VideoDecodeError(f"OpenCV could not decode any frame up to {int(frame_ind)} of {results.get('filename')!r}")
            imgs.append(cur[:, :, ::-1])
        results["video_reader"] = None
        results["imgs"] = [np.ascontiguousarray(img) for img in imgs]
        results["original_shape"] = imgs[0].shape[:2]
        results["img_shape"] = imgs[0].shape[:2]
        return results

    def __repr__(self) -> str:
        return type(self).__name__


# ----------------------------------------------------------------------------- frames and images
@PIPELINES.register()
class RawFrameDecode(PipelineStep):
    """Load the extracted frames at "frame_inds" from "frame_dir".

    Required keys are "frame_dir", "filename_tmpl", "modality" and "frame_inds", added or modified
    keys are "imgs", "img_shape" and "original_shape" (and "gt_bboxes"/"proposals", scaled from
    normalized to pixel coordinates, when present, as for AVA). RGB frames are read as
    ``filename_tmpl.format(idx + offset)``; Flow frames as ``filename_tmpl.format("x", idx)`` and
    ``filename_tmpl.format("y", idx)`` (grayscale, appended x then y). Repeated indices are read once.

    Args:
        io_backend: Only ``"disk"``. Default: ``"disk"``.
        decoding_backend: ``"cv2"`` or ``"pillow"``. Default: ``"cv2"``.
        kwargs: File-client arguments of mmaction2; the disk backend takes none.
    """

    def __init__(self, io_backend: str = "disk", decoding_backend: str = "cv2", **kwargs: Any):
        _check_backend(type(self).__name__, io_backend, kwargs)
        if decoding_backend not in ("cv2", "pillow"):
            raise ConfigError(
                f"{type(self).__name__}: decoding_backend={decoding_backend!r} is not supported; use 'cv2' or 'pillow'"
            )
        self.io_backend = io_backend
        self.decoding_backend = decoding_backend
        self.kwargs = kwargs

    def _read(self, directory: str, name: str, idx: int, flag: str) -> np.ndarray:
        path = osp.join(directory, name)
        if not osp.isfile(path):
            if not osp.isdir(directory):
                raise VideoDecodeError(f"frame directory {directory!r} not found")
            raise VideoDecodeError(f"frame {idx} of {directory!r} is missing: file {path!r} not found")
        return imread(path, flag=flag, channel_order="rgb", backend=self.decoding_backend)

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        step = type(self).__name__
        directory = _require(results, "frame_dir", step)
        filename_tmpl = _require(results, "filename_tmpl", step)
        modality = results.get("modality", "RGB")
        if modality not in ("RGB", "Flow"):
            raise ConfigError(f"{step}: modality must be 'RGB' or 'Flow', got {modality!r}")
        if not osp.isdir(directory):
            raise VideoDecodeError(f"frame directory {directory!r} not found")
        inds = _flat_inds(results, step)
        offset = int(results.get("offset", 0))
        imgs: List[np.ndarray] = []
        first_pos: Dict[int, int] = {}
        for i, frame_idx in enumerate(inds.tolist()):
            frame_idx = int(frame_idx)
            if frame_idx in first_pos:
                j = first_pos[frame_idx]
                if modality == "RGB":
                    imgs.append(imgs[j].copy())
                else:
                    imgs.extend([imgs[2 * j].copy(), imgs[2 * j + 1].copy()])
                continue
            first_pos[frame_idx] = i
            idx = frame_idx + offset
            if modality == "RGB":
                imgs.append(self._read(directory, filename_tmpl.format(idx), idx, "color"))
            else:
                imgs.append(self._read(directory, filename_tmpl.format("x", idx), idx, "grayscale"))
                imgs.append(self._read(directory, filename_tmpl.format("y", idx), idx, "grayscale"))
        if not imgs:
            raise ConfigError(f"{step}: results['frame_inds'] is empty")
        results["imgs"] = imgs
        results["original_shape"] = imgs[0].shape[:2]
        results["img_shape"] = imgs[0].shape[:2]
        if "gt_bboxes" in results:
            h, w = results["img_shape"]
            scale = np.array([w, h, w, h])
            results["gt_bboxes"] = (np.asarray(results["gt_bboxes"]) * scale).astype(np.float32)
            if results.get("proposals") is not None:
                results["proposals"] = (np.asarray(results["proposals"]) * scale).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(io_backend={self.io_backend}, decoding_backend={self.decoding_backend})"


@PIPELINES.register()
class FrameSelector(RawFrameDecode):
    """Deprecated name of :class:`RawFrameDecode` (warns with ``FutureWarning``); same arguments."""

    def __init__(self, *args: Any, **kwargs: Any):
        warnings.warn('"FrameSelector" is deprecated, please switch to "RawFrameDecode"', FutureWarning, stacklevel=2)
        super().__init__(*args, **kwargs)


@PIPELINES.register()
class ImageDecode(PipelineStep):
    """Load one image as a one-frame clip.

    Required key is "filename", added or modified keys are "imgs", "img_shape" and "original_shape".

    Args:
        io_backend: Only ``"disk"``. Default: ``"disk"``.
        decoding_backend: ``"cv2"`` or ``"pillow"``. Default: ``"cv2"``.
        kwargs: File-client arguments of mmaction2; the disk backend takes none.
    """

    def __init__(self, io_backend: str = "disk", decoding_backend: str = "cv2", **kwargs: Any):
        _check_backend(type(self).__name__, io_backend, kwargs)
        if decoding_backend not in ("cv2", "pillow"):
            raise ConfigError(f"ImageDecode: decoding_backend={decoding_backend!r} is not supported; use 'cv2' or 'pillow'")
        self.io_backend = io_backend
        self.decoding_backend = decoding_backend
        self.kwargs = kwargs

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        filename = _require(results, "filename", "ImageDecode")
        img = imread(filename, backend=self.decoding_backend)
        results["imgs"] = [img]
        results["original_shape"] = img.shape[:2]
        results["img_shape"] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(io_backend={self.io_backend}, decoding_backend={self.decoding_backend})"


@PIPELINES.register()
class BuildPseudoClip(PipelineStep):
    """Repeat the single image in "imgs" ``clip_len`` times to make a clip.

    Required key is "imgs" (one image), added or modified keys are "imgs", "num_clips" (1) and
    "clip_len".

    Args:
        clip_len: Frames of the generated pseudo clip.
    """

    def __init__(self, clip_len: int):
        self.clip_len = clip_len

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        imgs = _require(results, "imgs", "BuildPseudoClip", "; put ImageDecode first")
        if len(imgs) != 1:
            raise ConfigError(f"BuildPseudoClip expects exactly one image in results['imgs'], got {len(imgs)}")
        im = imgs[0]
        results["imgs"] = [im] + [np.copy(im) for _ in range(1, self.clip_len)]
        results["clip_len"] = self.clip_len
        results["num_clips"] = 1
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(clip_len={self.clip_len})"

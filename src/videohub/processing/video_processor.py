"""``VideoProcessor``: video file / frames → ``pixel_values`` for a videohub model.

It runs mmaction2's test pipeline: a sampling step (``SampleFrames`` and friends) picks frame
indices, only those frames are decoded (:class:`~videohub.data.video_reader.VideoReader` for video
files, ``RawFrameDecode`` for rawframe folders), the remaining steps (``Resize``,
``CenterCrop``/``ThreeCrop``/``TenCrop``, ``Normalize``, ...) run unchanged from
:mod:`videohub.data.pipelines`, and ``ToModelInputs`` lays the clips out as the model takes them,
exactly as the training and evaluation pipelines do
(:func:`videohub.data.pipeline_translation.pipeline_from_processor`). The steps are stored as JSON
dicts in ``preprocessor_config.json`` so the processor travels with the model.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from transformers.feature_extraction_utils import BatchFeature
from transformers.utils import PushToHubMixin

from ..data.pipeline_translation import SAMPLER_STEPS, processor_steps
from ..data.pipelines.augmentations import IMAGENET_MEAN, IMAGENET_STD
from ..errors import ConfigError, ShapeError, VideoDecodeError
from ..utils import logging

logger = logging.get_logger(__name__)

PROCESSOR_CONFIG_NAME = "preprocessor_config.json"
RAWFRAME_TEMPLATE = "img_{:05}.jpg"

VideoInput = Union[str, os.PathLike, np.ndarray, torch.Tensor, Sequence[Any]]


def _frames_from_array(video: Union[np.ndarray, torch.Tensor, Sequence[Any]]) -> np.ndarray:
    """Decoded frames as a ``(T, H, W, 3)`` uint8 array (accepts arrays, tensors, lists of frames/PIL)."""
    if isinstance(video, torch.Tensor):
        video = video.detach().cpu().numpy()
    if not isinstance(video, np.ndarray):
        video = np.stack([np.asarray(frame) for frame in video])
    if video.ndim != 4:
        raise ShapeError(f"video frames have shape {video.shape}; expected (T, H, W, 3) or (T, 3, H, W)")
    if video.shape[-1] != 3 and video.shape[1] == 3:
        video = video.transpose(0, 2, 3, 1)
    if video.shape[-1] != 3:
        raise ShapeError(f"video frames have shape {video.shape}; expected 3 colour channels")
    if video.shape[0] == 0:
        raise VideoDecodeError("the video has no frames")
    return video


def _count_rawframes(folder: str, filename_tmpl: str) -> int:
    """Frames ``filename_tmpl.format(1)``, ``.format(2)``, ... present in ``folder``, counted until the first gap."""
    count = 0
    while os.path.isfile(os.path.join(folder, filename_tmpl.format(count + 1))):
        count += 1
    if count == 0:
        raise VideoDecodeError(f"rawframe folder {folder!r} has no frame {filename_tmpl.format(1)!r}")
    return count


class VideoProcessor(PushToHubMixin):
    """Turns videos into ``pixel_values`` ``(B, V, T, C, H, W)`` with mmaction2 test semantics.

    Args:
        sampler: Frame-sampling step. Default
            ``dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=8, test_mode=True)``.
        transforms: Steps applied to the decoded frames. Default: ``Resize(scale=(-1, 256))``,
            ``CenterCrop(crop_size=224)``, ``Normalize`` with ImageNet mean/std (RGB).
    """

    model_input_names = ["pixel_values"]

    def __init__(self, sampler: Optional[Dict[str, Any]] = None, transforms: Optional[List[Dict[str, Any]]] = None):
        from ..data.pipelines.compose import Compose

        self.sampler = copy.deepcopy(sampler) if sampler is not None else dict(
            type="SampleFrames", clip_len=1, frame_interval=1, num_clips=8, test_mode=True)
        self.transforms = copy.deepcopy(transforms) if transforms is not None else [
            dict(type="Resize", scale=[-1, 256]),
            dict(type="CenterCrop", crop_size=224),
            dict(type="Normalize", mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD), to_bgr=False),
        ]
        if not isinstance(self.sampler, dict) or self.sampler.get("type") not in SAMPLER_STEPS:
            raise ConfigError(f"VideoProcessor.sampler must be a dict of type {SAMPLER_STEPS}, got {self.sampler!r}")
        self._sample = Compose([self.sampler])
        self._transform = Compose([*self.transforms, dict(type="ToModelInputs")])

    # ------------------------------------------------------------------ construction
    @classmethod
    def for_config(cls, config: Any) -> "VideoProcessor":
        """The default processor of a recognizer config (no saved test protocol).

        It samples ``config.num_frames`` frames: as that many one-frame segments for a 2D
        recognizer, as one clip of that length otherwise; the transforms are the defaults.
        """
        key = "num_clips" if getattr(config, "recognizer", None) == "Recognizer2D" else "clip_len"
        sampler = dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=1, test_mode=True)
        sampler[key] = int(config.num_frames)
        return cls(sampler=sampler)

    @classmethod
    def for_model(cls, name_or_path: Union[str, os.PathLike], config: Any, **kwargs: Any) -> "VideoProcessor":
        """The processor saved beside a model, or :meth:`for_config` with a warning when it has none.

        Args:
            name_or_path: The model's folder or Hub id.
            config: The model's config.
            **kwargs: Hub arguments of :meth:`from_pretrained` (``revision``, ``token``, ...).
        """
        from huggingface_hub.errors import EntryNotFoundError

        try:
            return cls.from_pretrained(name_or_path, **kwargs)
        except (OSError, ValueError, EntryNotFoundError) as err:
            logger.warning("%s has no readable %s (%s); using the default processor for its config: %s frames, "
                           "resize to 256, centre crop 224, ImageNet normalization",
                           name_or_path, PROCESSOR_CONFIG_NAME, err, config.num_frames)
            return cls.for_config(config)

    @classmethod
    def from_mmaction2_pipeline(cls, test_pipeline: Sequence[Dict[str, Any]]) -> "VideoProcessor":
        """Build from an mmaction2 ``test_pipeline`` (decoding, formatting and collecting are replaced;
        see :func:`~videohub.data.pipeline_translation.processor_steps`)."""
        sampler, transforms = processor_steps(test_pipeline)
        return cls(sampler=sampler, transforms=transforms)

    def to_dict(self) -> Dict[str, Any]:
        return {"processor_class": type(self).__name__, "sampler": self.sampler, "transforms": self.transforms}

    def save_pretrained(self, save_directory: Union[str, os.PathLike], **kwargs: Any) -> List[str]:
        """Write ``preprocessor_config.json`` into ``save_directory`` (``push_to_hub`` uploads it)."""
        os.makedirs(save_directory, exist_ok=True)
        path = os.path.join(save_directory, PROCESSOR_CONFIG_NAME)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2)
        return [path]

    @classmethod
    def from_pretrained(cls, name_or_path: Union[str, os.PathLike], **kwargs: Any) -> "VideoProcessor":
        """Load from a folder or a Hub id (``revision``, ``cache_dir``, ``token``, ``local_files_only``)."""
        path = os.path.join(name_or_path, PROCESSOR_CONFIG_NAME)
        if not os.path.isfile(path):
            from huggingface_hub import hf_hub_download

            hub_kwargs = {k: kwargs[k] for k in ("revision", "cache_dir", "token", "local_files_only") if k in kwargs}
            path = hf_hub_download(str(name_or_path), PROCESSOR_CONFIG_NAME, **hub_kwargs)
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        data.pop("processor_class", None)
        unknown = set(data) - {"sampler", "transforms"}
        if unknown:
            raise ConfigError(f"{path}: unknown processor key(s) {sorted(unknown)}; expected 'sampler', 'transforms'")
        return cls(**data)

    # ------------------------------------------------------------------ processing
    def sample_indices(self, total_frames: int) -> np.ndarray:
        """Frame indices the sampler picks from a video of ``total_frames`` frames."""
        results = self._sample(dict(total_frames=total_frames, start_index=0))
        return np.asarray(results["frame_inds"]).reshape(-1)

    def _process_one(self, video: VideoInput, sampler: Any, filename_tmpl: str) -> torch.Tensor:
        if isinstance(video, (str, os.PathLike)) and os.path.isdir(video):
            from ..data.pipelines.decoding import RawFrameDecode

            folder = os.fspath(video)
            results = sampler(dict(frame_dir=folder, total_frames=_count_rawframes(folder, filename_tmpl),
                                   start_index=1, filename_tmpl=filename_tmpl, modality="RGB"))
            results = RawFrameDecode()(results)
        else:
            if isinstance(video, (str, os.PathLike)):
                from ..data.video_reader import VideoReader

                reader = VideoReader(os.fspath(video))
                results = sampler(dict(total_frames=reader.num_frames, start_index=0, filename=os.fspath(video)))
                frames = reader.get_frames(np.asarray(results["frame_inds"]).reshape(-1))
            else:
                array = _frames_from_array(video)
                results = sampler(dict(total_frames=len(array), start_index=0))
                frames = [array[i] for i in np.asarray(results["frame_inds"]).reshape(-1)]
            height, width = frames[0].shape[:2]
            results.update(imgs=frames, original_shape=(height, width), img_shape=(height, width), modality="RGB")
        return self._transform(results)["pixel_values"]  # (views, T, C, H, W)

    def __call__(
        self,
        videos: Union[VideoInput, List[VideoInput]],
        num_frames: Optional[int] = None,
        do_sample_frames: bool = True,
        return_tensors: Optional[str] = "pt",
        filename_tmpl: str = RAWFRAME_TEMPLATE,
        **kwargs: Any,
    ) -> BatchFeature:
        """Process one video or a list of videos into ``BatchFeature(pixel_values=(B, V, T, C, H, W))``.

        Args:
            videos: A video file, a rawframe folder (frames ``filename_tmpl.format(i)`` for
                ``i = 1, 2, ...``, mmaction2's layout), decoded frames ``(T, H, W, 3)`` (array,
                tensor or list of images), or a list of those.
            num_frames: Override the frames per clip (``clip_len``), or the number of clips when
                ``clip_len == 1`` (TSN-style sampling). Default ``None`` keeps the sampler's setting.
            do_sample_frames: Accepted for transformers' pipeline; sampling always follows ``sampler``.
            return_tensors: ``"pt"`` (default) or ``None`` for a tensor in a plain dict.
            filename_tmpl: File names of a rawframe folder's frames. Default ``"img_{:05}.jpg"``.
        """
        from ..data.pipelines.compose import Compose

        sampler_cfg = dict(self.sampler)
        if num_frames is not None:
            key = "num_clips" if sampler_cfg.get("clip_len", 1) == 1 else "clip_len"
            sampler_cfg[key] = int(num_frames)
        sampler = Compose([sampler_cfg]) if sampler_cfg != self.sampler else self._sample
        batch = videos if isinstance(videos, list) and not self._is_frame_list(videos) else [videos]
        pixel_values = torch.stack([self._process_one(v, sampler, filename_tmpl) for v in batch])
        return BatchFeature(data={"pixel_values": pixel_values}, tensor_type=return_tensors)

    @staticmethod
    def _is_frame_list(videos: list) -> bool:
        """A list of frames (images) rather than a list of videos."""
        return len(videos) > 0 and not isinstance(videos[0], (str, os.PathLike)) and np.asarray(videos[0]).ndim == 3

    def __repr__(self) -> str:
        return f"{type(self).__name__}({json.dumps(self.to_dict(), indent=2)})"

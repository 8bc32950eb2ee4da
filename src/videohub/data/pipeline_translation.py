"""Translation between mmaction2 pipelines, :class:`~videohub.VideoProcessor` and the model layout.

- :func:`processor_steps`: the sampler and transforms a processor keeps from an mmaction2 test
  pipeline (decoding, formatting and collecting are the processor's own business).
- :func:`pipeline_from_processor`: the pipeline a processor stands for, ending in
  :class:`~videohub.data.pipelines.formatting.ToModelInputs`.
- :func:`to_model_pipeline`: an mmaction2 recognition pipeline with its ``FormatShape`` /
  ``FormatAudioShape`` + ``Collect`` + ``ToTensor`` tail replaced by ``ToModelInputs``.
- :func:`adapt_decoding`: a pipeline's decoding steps made to fit a dataset format.

Pipelines are lists of JSON-able step dicts; nothing here builds a step, so importing this module
is cheap.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import ConfigError

SAMPLER_STEPS = ("SampleFrames", "DenseSampleFrames", "UntrimmedSampleFrames")
INIT_STEPS = ("PyAVInit", "DecordInit", "OpenCVInit")
DECODE_STEPS = ("PyAVDecode", "DecordDecode", "OpenCVDecode", "RawFrameDecode", "FrameSelector", "ImageDecode")
FORMAT_STEPS = ("FormatShape", "FormatAudioShape", "Collect", "ToTensor", "ToModelInputs")
DECODE_KINDS = ("video", "rawframe")
# FormatShape layouts that ToModelInputs reproduces (in the model's axis order).
_MODEL_FORMATS = {"FormatShape": ("NCHW", "NCTHW"), "FormatAudioShape": ("NCTF",)}
_INPUT_KEYS = {"imgs", "audios", "label"}


def processor_steps(test_pipeline: Sequence[Mapping[str, Any]]) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """``(sampler, transforms)`` of an mmaction2 test pipeline, for a :class:`~videohub.VideoProcessor`.

    The sampling step (one of :data:`SAMPLER_STEPS`) is the sampler; every step that is not
    decoding (:data:`INIT_STEPS`, :data:`DECODE_STEPS`) or formatting (:data:`FORMAT_STEPS`) is a
    transform, in order.

    Raises:
        ConfigError: The pipeline has no sampling step.
    """
    sampler: Optional[Dict[str, Any]] = None
    transforms: List[Dict[str, Any]] = []
    for step in test_pipeline:
        kind = step.get("type")
        if kind in SAMPLER_STEPS:
            sampler = dict(step)
        elif kind not in INIT_STEPS + DECODE_STEPS + FORMAT_STEPS:
            transforms.append(dict(step))
    if sampler is None:
        raise ConfigError(f"the mmaction2 test pipeline has no sampling step ({SAMPLER_STEPS}): {list(test_pipeline)!r}")
    return sampler, transforms


def pipeline_from_processor(processor: Any, decode: str = "video") -> List[Dict[str, Any]]:
    """The pipeline a :class:`~videohub.VideoProcessor` stands for.

    ``[init, sampler, decode, *transforms, ToModelInputs]``: decoding is PyAV for
    ``decode="video"`` and ``RawFrameDecode`` (no init step) for ``"rawframe"``. Its samples are
    the processor's ``pixel_values`` for one video, plus ``labels``.

    Args:
        processor: Anything with ``sampler`` (a step dict) and ``transforms`` (a list of step dicts).
        decode: ``"video"`` or ``"rawframe"``. Default ``"video"``.
    """
    if decode not in DECODE_KINDS:
        raise ConfigError(f"decode must be one of {DECODE_KINDS}, got {decode!r}")
    steps: List[Dict[str, Any]] = [{"type": "PyAVInit"}] if decode == "video" else []
    steps.append(dict(processor.sampler))
    steps.append({"type": "PyAVDecode"} if decode == "video" else {"type": "RawFrameDecode"})
    steps.extend(dict(t) for t in processor.transforms)
    steps.append({"type": "ToModelInputs"})
    return steps


def to_model_pipeline(pipeline: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """``pipeline`` with its mmaction2 recognition tail replaced by one ``ToModelInputs`` step.

    The tail is a last ``FormatShape`` (``NCHW`` or ``NCTHW``) or ``FormatAudioShape`` followed
    only by ``Collect`` (keys among ``imgs``, ``audios``, ``label``; not ``nested``) and
    ``ToTensor`` steps. ``Collect``'s ``meta_keys`` (its default when not given) carry over.
    A pipeline without such a tail (flow stacking, localization, detection, already translated)
    comes back unchanged.
    """
    steps = [dict(s) for s in pipeline]
    starts = [i for i, s in enumerate(steps) if s.get("type") in _MODEL_FORMATS]
    if not starts:
        return steps
    start = starts[-1]
    fmt = steps[start]
    if fmt.get("input_format") not in _MODEL_FORMATS[fmt["type"]] or fmt.get("collapse"):
        return steps
    meta_keys: Sequence[str] = ()
    for step in steps[start + 1:]:
        kind = step.get("type")
        if kind == "Collect":
            if step.get("nested") or not set(step.get("keys", ())) <= _INPUT_KEYS:
                return steps
            if step.get("meta_name", "img_metas") != "img_metas":
                return steps
            from .pipelines.formatting import DEFAULT_META_KEYS

            meta_keys = list(step.get("meta_keys", DEFAULT_META_KEYS))
        elif kind != "ToTensor" or not set(step.get("keys", ())) <= _INPUT_KEYS:
            return steps
    tail: Dict[str, Any] = {"type": "ToModelInputs"}
    if meta_keys:
        tail["meta_keys"] = list(meta_keys)
    return steps[:start] + [tail]


def adapt_decoding(pipeline: Sequence[Mapping[str, Any]], dataset_format: str) -> List[Dict[str, Any]]:
    """Make a pipeline's decoding steps fit ``dataset_format``.

    ``rawframe``: init steps are dropped and every decode step becomes ``RawFrameDecode``.
    ``video``/``video_folder``: ``RawFrameDecode``/``FrameSelector`` become ``PyAVDecode`` with a
    ``PyAVInit`` first. Other formats: unchanged.
    """
    steps = [dict(s) for s in pipeline]
    if dataset_format == "rawframe":
        out = []
        for step in steps:
            if step.get("type") in INIT_STEPS:
                continue
            if step.get("type") in DECODE_STEPS and step.get("type") != "RawFrameDecode":
                step = {"type": "RawFrameDecode"}
            out.append(step)
        return out
    if dataset_format in ("video", "video_folder"):
        has_init = any(s.get("type") in INIT_STEPS for s in steps)
        out = []
        for step in steps:
            if step.get("type") in ("RawFrameDecode", "FrameSelector"):
                step = {"type": "PyAVDecode"}
            out.append(step)
        if not has_init:
            out.insert(0, {"type": "PyAVInit"})
        return out
    return steps

"""Model cards of converted mmaction2 checkpoints.

:func:`preset_card` writes the card of a published checkpoint from its preset facts alone, with
the content of its family (recognizer, skeleton recognizer, localizer, detector): the task and its
input, a usage snippet with that task's Auto class (and ``post_process`` for localizers and
detectors), the ``model-index`` of mmaction2's published metrics (with the test views they were
measured with, for classifiers), the conversion command and provenance. The text says plainly that
these numbers are mmaction2's measurement; videohub reproduces the model's outputs (checked by the
parity tests), it did not re-run the benchmark. A BSN network's card names its pipeline and the
other network. :func:`conversion_card` is the card of a user's own checkpoint (no published metrics).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..configuration_utils import VideoConfig
from ..model_card import build_model_card
from ..models.stgcn.graph import LAYOUTS
from .mmaction2 import num_frames_from_pipeline, takes_rgb_video
from .presets import FAMILIES, MMACTION2_VERSION, SKELETON_INPUTS, collection, get_preset

DEFAULT_ORG = "videohub"
LICENSE = "apache-2.0"
MMACTION2_REPO = "https://github.com/open-mmlab/mmaction2"
MMACTION2_CITATION = """@misc{2020mmaction2,
    title={OpenMMLab's Next Generation Video Understanding Toolbox and Benchmark},
    author={MMAction2 Contributors},
    howpublished={\\url{https://github.com/open-mmlab/mmaction2}},
    year={2020}
}"""

# family -> the transformers pipeline tag that runs it (none fits pose input, feature sequences or
# person boxes: those families have no tag)
PIPELINE_TAGS = {"recognizer": "video-classification"}
# family of a preset -> its task (the ``task`` of the videohub config classes of that family)
TASK_TYPES = {**{family: task for task, family in FAMILIES.items()},
              "skeleton": "skeleton-based-action-recognition"}
# family -> (task in words, the Auto class of its task models)
TASK_TEXT = {
    "recognizer": ("action recognition (video classification)", "AutoModelForVideoClassification"),
    "skeleton": ("skeleton-based action recognition", "AutoModelForVideoClassification"),
    "localizer": ("temporal action localization", "AutoModelForTemporalActionLocalization"),
    "detector": ("spatio-temporal action detection", "AutoModelForSpatioTemporalActionDetection"),
}
# families whose published metrics were measured over the views of the config's test pipeline
_VIEW_FAMILIES = ("recognizer", "skeleton")


def repo_id_for(entry: Dict[str, Any], org: str = DEFAULT_ORG) -> str:
    """``<org>/<arch>-<backbone>-<sampling>-<dataset>`` of a preset (e.g. ``videohub/tsn-r50-1x1x3-kinetics400``)."""
    return f"{org}/{entry['repo_name']}"


def _metric_type(name: str) -> str:
    low = name.lower()
    if "accuracy" in low and "delta" not in low and "[" not in low and not low.startswith("mean"):
        return "accuracy"
    return re.sub(r"[^a-z0-9@.]+", "_", low).strip("_")


def _metric_config(name: str) -> Optional[str]:
    match = re.search(r"top\s*(\d)", name.lower())
    return f"top{match.group(1)}" if match else None


def _qualified(name: str) -> bool:
    """Metrics with a qualifier (``(efficient)``, ``[w. RGB]``) use another protocol than the config's."""
    return bool(re.search(r"[\(\[]", name))


def _views_text(protocol: Optional[Dict[str, Any]]) -> str:
    if not protocol:
        return "as in the mmaction2 test config"
    crop = protocol.get("crop") or "no crop"
    return f"{protocol['num_clips']} clip(s) x {protocol['num_crops']} crop(s) ({crop}) = {protocol['views']} views"


def _protocol(entry: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The test views of a classifier's metrics (``None`` for localizers and detectors, measured per video/box)."""
    return entry.get("test_protocol") if entry["family"] in _VIEW_FAMILIES else None


def eval_results_for(entry: Dict[str, Any]) -> List[EvalResult]:
    """The published metrics of a preset as ``model-index`` results, with the test views of classifiers."""
    protocol = _protocol(entry)
    results = []
    for name, value in entry["metrics"].items():
        args: Dict[str, Any] = {"source": "mmaction2 model zoo (published, not re-measured by videohub)"}
        if _qualified(name):
            args["protocol"] = "as published by mmaction2; differs from the config's test pipeline"
        elif protocol:
            args.update(num_clips=protocol["num_clips"], num_crops=protocol["num_crops"], views=protocol["views"])
        if entry.get("pipeline"):
            args["pipeline"] = f"the whole {entry['pipeline']['name']} pipeline ({', '.join(entry['pipeline']['presets'])})"
        results.append(EvalResult(
            task_type=TASK_TYPES[entry["family"]],
            dataset_type=entry["dataset_slug"],
            dataset_name=entry["dataset"],
            dataset_split="validation",
            metric_type=_metric_type(name),
            metric_name=name,
            metric_value=value,
            metric_config=_metric_config(name),
            metric_args=args,
            verified=False,
            source_name="mmaction2 v0.24.1 model zoo",
            source_url=_readme_url(entry),
        ))
    return results


def _readme_url(entry: Dict[str, Any]) -> str:
    readme = collection(entry["collections"][0]).get("readme")
    if readme:
        return f"{MMACTION2_REPO}/blob/v{MMACTION2_VERSION}/{readme}"
    return MMACTION2_REPO


def _tags(entry: Dict[str, Any]) -> List[str]:
    tags = [TASK_TYPES[entry["family"]], "videohub", "mmaction2", entry["arch"], entry["dataset_slug"]]
    tags += [c.lower() for c in entry["collections"] if c.lower() not in tags]
    if entry.get("modality") and entry["modality"].lower() != "rgb":
        tags.append(entry["modality"].lower())
    if entry["family"] == "skeleton":
        tags.append(SKELETON_INPUTS[entry["arch"]])
    return tags


def _part(cfg: Optional[Dict[str, Any]]) -> str:
    if not cfg:
        return "none"
    return f"`{cfg['type']}` " + json.dumps({k: v for k, v in cfg.items() if k != "type"}, sort_keys=True)


def _step(pipeline: Optional[List[Dict[str, Any]]], step_type: str) -> Dict[str, Any]:
    return next((s for s in pipeline or () if s.get("type") == step_type), {})


# ---------------------------------------------------------------------------------------------
# the task, the input and a usage snippet, per family
# ---------------------------------------------------------------------------------------------


def _keypoint_shape(entry: Dict[str, Any]) -> Dict[str, Any]:
    """``C``, ``T``, ``V``, ``M`` of an ST-GCN/2s-AGCN preset's keypoints and the graph layout."""
    model = entry["model"]
    layout = (model["backbone"].get("graph_cfg") or {}).get("layout", "openpose-18")
    padding = _step(entry.get("test_pipeline"), "PaddingWithLoop")
    return {"C": model["backbone"].get("in_channels", 3), "T": padding.get("clip_len"),
            "V": LAYOUTS[layout][0], "M": model["cls_head"].get("num_person", 2), "layout": layout}


def _modality(entry: Dict[str, Any]) -> str:
    """The published modality, else what the family's models see."""
    if entry.get("modality"):
        return entry["modality"]
    if entry["family"] == "skeleton":
        return "poses"
    if entry["arch"] in ("bmn", "tem", "pem"):
        return "snippet features"
    return "RGB"


def _input_text(entry: Dict[str, Any]) -> str:
    """What the model takes, in words and shapes."""
    model, family, arch = entry.get("model") or {}, entry["family"], entry["arch"]
    if family == "skeleton" and arch == "posec3d":
        target = _step(entry.get("test_pipeline"), "GeneratePoseTarget")
        kind = "limb" if target.get("with_limb") else "keypoint"
        sampler = _step(entry.get("test_pipeline"), "UniformSampleFrames")
        return (f"pose heatmaps as `pixel_values` `(batch, views, time, channels, height, width)`: "
                f"{model['backbone']['in_channels']} {kind} heatmap channels drawn by `GeneratePoseTarget` "
                f"(sigma {target.get('sigma')}) from 2D poses, {sampler.get('clip_len')} frames per clip "
                f"(`UniformSampleFrames`), {sampler.get('num_clips', 1)} clip(s) at test time")
    if family == "skeleton":
        shape = _keypoint_shape(entry)
        length = f"T = {shape['T']} frames (`PaddingWithLoop`)" if shape["T"] else "T frames (any length)"
        return (f"keypoints `(B, C, T, V, M)`: C = {shape['C']} values per joint, {length}, V = {shape['V']} joints "
                f"of the `{shape['layout']}` layout, M = {shape['M']} person(s)")
    if arch in ("bmn", "tem"):
        feat_dim = model.get("feat_dim", model.get("tem_feat_dim"))
        return (f"snippet features `input_features` `(B, feat_dim, T)` with feat_dim = {feat_dim} and "
                f"T = {model['temporal_dim']} (the video's features rescaled to {model['temporal_dim']} steps)")
    if arch == "pem":
        return (f"BSP features `input_features` `(B, P, {model['pem_feat_dim']})` of P candidate proposals made "
                "from the TEM output by BSN's proposal generation, with their boundaries and boundary scores")
    if arch == "ssn":
        return ("RGB frames of one video at the ticks of its proposals' starting, course and ending stages "
                "(mmaction2's `SampleProposalFrames` in test mode), 224x224 after `CenterCrop`")
    if family == "detector":
        return ("a clip of RGB frames around a key frame as `pixel_values` `(B, T, 3, H, W)` plus person boxes "
                "per clip (`boxes`, `(x1, y1, x2, y2)` in input pixels)")
    if arch == "audio":
        return "audio features `input_features` (log-mel spectrogram clips)"
    if not takes_rgb_video(model):
        return f"optical flow `pixel_values` with {model['backbone']['in_channels']} stacked flow channels per time step"
    return "RGB video, decoded and transformed by the saved video processor into `pixel_values` `(B, T, 3, H, W)`"


def _usage_classifier(entry: Dict[str, Any], repo_id: str) -> str:
    model = entry.get("model") or {}
    if entry["family"] == "skeleton" and entry["arch"] == "posec3d":
        target = _step(entry.get("test_pipeline"), "CenterCrop").get("crop_size", 64)
        sampler = _step(entry.get("test_pipeline"), "UniformSampleFrames")
        views, frames = sampler.get("num_clips", 1), sampler.get("clip_len", 48)
        return f"""```python
import torch
import videohub
from videohub import AutoModelForVideoClassification

model = AutoModelForVideoClassification.from_pretrained("{repo_id}").eval()
# pose heatmaps (batch, views, time, channels, height, width), as mmaction2's pose test pipeline draws them
heatmaps = torch.rand(1, {views}, {frames}, {model['backbone']['in_channels']}, {target}, {target})
with torch.no_grad():
    logits = model(pixel_values=heatmaps).logits  # the {views} views averaged ({model.get('test_cfg', {}).get('average_clips')})
print(model.config.id2label[int(logits.argmax(-1))])
```"""
    if entry["family"] == "skeleton":
        shape = _keypoint_shape(entry)
        return f"""```python
import torch
import videohub
from videohub import AutoModelForVideoClassification

model = AutoModelForVideoClassification.from_pretrained("{repo_id}").eval()
# keypoints (batch, C, T, V, M): {shape['C']} values per joint, {shape['T'] or 100} frames, {shape['V']} joints, {shape['M']} person(s)
keypoints = torch.randn(1, {shape['C']}, {shape['T'] or 100}, {shape['V']}, {shape['M']})
with torch.no_grad():
    logits = model(keypoints=keypoints).logits
print(model.config.id2label[int(logits.argmax(-1))])
```"""
    if entry["arch"] != "audio" and not takes_rgb_video(model):
        channels = model["backbone"]["in_channels"]
        frames = num_frames_from_pipeline(model["type"], entry.get("test_pipeline")) or 8
        return f"""This model takes optical flow, not RGB frames: each of the {frames} time steps of `pixel_values`
stacks {channels} flow channels (as mmaction2's flow pipeline gives them), so no video processor is saved.

```python
import torch
import videohub
from videohub import AutoVideoModel

model = AutoVideoModel.from_pretrained("{repo_id}").eval()
flow = torch.randn(1, {frames}, {channels}, 224, 224)  # (batch, time, channels, height, width)
logits = model(pixel_values=flow).logits
```"""
    if entry["arch"] == "audio":
        return f"""```python
import torch
import videohub
from videohub import AutoVideoModel

model = AutoVideoModel.from_pretrained("{repo_id}").eval()
# audio features (e.g. log-mel spectrogram clips) shaped (batch, clips, 1, time, frequency)
features = torch.randn(1, 1, 1, 64, 80)
logits = model(input_features=features).logits
```"""
    return f"""```python
import videohub
from videohub import AutoVideoModel, AutoVideoProcessor

model = AutoVideoModel.from_pretrained("{repo_id}").eval()
processor = AutoVideoProcessor.from_pretrained("{repo_id}")
inputs = processor("video.mp4", return_tensors="pt")  # the mmaction2 test pipeline
logits = model(**inputs).logits
print(model.config.id2label[int(logits.argmax(-1))])
```

or on the command line: `videohub predict video.mp4 --model {repo_id}`."""


_LOCALIZER_HEAD = """```python
import torch
import videohub
from videohub import AutoModelForTemporalActionLocalization

model = AutoModelForTemporalActionLocalization.from_pretrained("{repo_id}").eval()
"""


def _usage_localizer(entry: Dict[str, Any], repo_id: str) -> str:
    model, arch = entry["model"], entry["arch"]
    head = _LOCALIZER_HEAD.format(repo_id=repo_id)
    meta = '[{"duration_second": 120.0, "duration_frame": 3600}]'
    if arch in ("bmn", "tem"):
        feat_dim = model.get("feat_dim", model.get("tem_feat_dim"))
        what = "boundary-matching confidence map and boundaries" if arch == "bmn" else "actionness, start and end"
        return head + f"""# one video's snippet features (batch, feat_dim, temporal_dim), e.g. from scripts/extract_features.py
features = torch.randn(1, {feat_dim}, {model['temporal_dim']})
with torch.no_grad():
    outputs = model(input_features=features)  # {what} probabilities
proposals = model.post_process(outputs, {meta})
print(proposals[0][:5])  # [{{"segment": [t0, t1], "score": s}}, ...] in seconds, best first
```"""
    if arch == "pem":
        return head + f"""# BSP features of 50 candidate proposals of one video (BSN's proposal generation on the TEM output)
features = torch.randn(1, 50, {model['pem_feat_dim']})
tmin = torch.rand(1, 50) * 0.5
tmax = tmin + 0.1 + torch.rand(1, 50) * 0.4
tmin_score, tmax_score = torch.rand(1, 50), torch.rand(1, 50)  # the candidates' boundary probabilities
with torch.no_grad():
    outputs = model(input_features=features, tmin=tmin, tmax=tmax, tmin_score=tmin_score, tmax_score=tmax_score)
proposals = model.post_process(outputs, {meta})
print(proposals[0][:5])  # [{{"segment": [t0, t1], "score": s}}, ...] in seconds, best first
```"""
    return head + """# one video: 1 crop x 24 frames (3 x 224 x 224) at the ticks of 2 proposals, as mmaction2's SSN test
# pipeline (SampleProposalFrames, mode="test") samples them; ticks = the proposals' stage boundaries
frames = torch.randn(1, 24, 3, 224, 224)
ticks = torch.tensor([[[0, 4, 16, 20], [6, 8, 20, 24]]])
scale_factors = torch.ones(1, 2, 2)
relative_proposals = torch.tensor([[[0.1, 0.5], [0.3, 0.9]]])  # the proposals in [0, 1] of the video
reg_norm_consts = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])  # regression mean and std of the training set
with torch.no_grad():
    outputs = model(pixel_values=frames, proposal_tick_list=ticks, scale_factor_list=scale_factors,
                    relative_proposal_list=relative_proposals, reg_norm_consts=reg_norm_consts)
detections = model.post_process(outputs, [{"duration_second": 60.0}])
print(detections[0][:5])  # [{"segment": [t0, t1], "score": s, "label": class}, ...] in seconds, best first
```"""


def _usage_detector(entry: Dict[str, Any], repo_id: str) -> str:
    frames = num_frames_from_pipeline(entry["model"]["type"], entry.get("test_pipeline")) or 4
    shared = (entry["model"].get("roi_head") or {}).get("shared_head") or {}
    lfb = shared.get("type") == "FBOHead"
    metas = '[{"img_shape": (256, 320), "img_key": "video_id,0902"}]' if lfb else '[{"img_shape": (256, 320)}]'
    note = ""
    if lfb:
        note = (f"""
This model's FBO head reads a long-term feature bank (`lfb_cfg.lfb_prefix_path`, `{shared['lfb_cfg']['lfb_prefix_path']}`,
written by an `LFBInferHead` model over the dataset) when it first scores boxes, and looks each clip up by its
`img_key` (`"video_id,second"`); the bank is data, not weights, so it is not part of this repo.
""")
    return note + f"""
```python
import torch
import videohub
from videohub import AutoModelForSpatioTemporalActionDetection

model = AutoModelForSpatioTemporalActionDetection.from_pretrained("{repo_id}").eval()
# {frames} frames around a key frame (batch, time, channels, height, width), normalized as the test pipeline
clip = torch.randn(1, {frames}, 3, 256, 320)
boxes = [torch.tensor([[40.0, 30.0, 200.0, 250.0]])]  # person boxes of each clip (x1, y1, x2, y2), input pixels
with torch.no_grad():
    outputs = model(pixel_values=clip, boxes=boxes, img_metas={metas})
detections = model.post_process(outputs, {metas})
print(detections[0][:5])  # [{{"box": [x1, y1, x2, y2] in [0, 1], "label": class id, "score": s}}, ...]
```"""


def _usage(entry: Dict[str, Any], repo_id: str) -> str:
    if entry["family"] == "localizer":
        return _usage_localizer(entry, repo_id)
    if entry["family"] == "detector":
        return _usage_detector(entry, repo_id).strip()
    return _usage_classifier(entry, repo_id)


def _metrics_table(entry: Dict[str, Any]) -> str:
    protocol = _protocol(entry)
    views = _views_text(protocol) if entry["family"] in _VIEW_FAMILIES else "as in the mmaction2 test config"
    rows = ["| metric | value | test views |", "| --- | --- | --- |"]
    for name, value in entry["metrics"].items():
        note = "other protocol, see the mmaction2 README" if _qualified(name) else views
        rows.append(f"| {name} | {value} | {note} |")
    return "\n".join(rows)


def _model_lines(entry: Dict[str, Any]) -> str:
    model = entry.get("model") or {}
    lines = [f"- videohub architecture: `videohub-{entry['arch']}` (mmaction2 `{model.get('type', '?')}`)"]
    if entry["family"] == "localizer" and "backbone" not in model:
        arguments = {k: v for k, v in model.items() if k != "type"}
        lines.append(f"- constructor arguments: `{json.dumps(arguments, sort_keys=True)}`")
    elif entry["family"] == "detector":
        roi_head = model.get("roi_head") or {}
        lines += [f"- backbone: {_part(model.get('backbone'))}",
                  f"- RoI extractor: {_part(roi_head.get('bbox_roi_extractor'))}",
                  f"- shared head: {_part(roi_head.get('shared_head'))}",
                  f"- box head: {_part(roi_head.get('bbox_head'))}",
                  f"- test_cfg: `{json.dumps(model.get('test_cfg'))}`"]
    else:
        lines += [f"- backbone: {_part(model.get('backbone'))}",
                  f"- neck: {_part(model.get('neck'))}",
                  f"- head: {_part(model.get('cls_head'))}"]
        test_cfg = model.get("test_cfg")
        lines.append(f"- test-time averaging (`test_cfg`): `{json.dumps(test_cfg)}`" if entry["family"] in _VIEW_FAMILIES
                     else f"- test_cfg: `{json.dumps(test_cfg)}`")
    return "\n".join(lines)


def _test_lines(entry: Dict[str, Any]) -> str:
    protocol = entry.get("test_protocol") or {}
    steps = " → ".join(f"`{s.get('type')}`" for s in entry.get("test_pipeline") or ()) or "none published"
    lines = [f"- test pipeline: {steps}"]
    if entry.get("test_config"):
        lines.append(f"- from the test config `{entry['test_config']}` (the metafile names the training config)")
    if entry["family"] in _VIEW_FAMILIES and protocol:
        lines += [f"- sampling: `{json.dumps(protocol.get('sampler'))}`",
                  f"- resize: `{protocol.get('resize_scale')}`, crop: `{protocol.get('crop')}` {protocol.get('crop_size') or ''}",
                  f"- views: {_views_text(protocol)}"]
    return "\n".join(lines)


def _pipeline_text(entry: Dict[str, Any], org: str) -> str:
    """The BSN pipeline a TEM or PEM preset belongs to (empty for other presets)."""
    pipeline = entry.get("pipeline")
    if not pipeline:
        return ""
    others = [f"[`{name}`](https://huggingface.co/{org}/{get_preset(name)['repo_name']})"
              for name in pipeline["presets"] if name != entry["name"]]
    steps = "\n".join(f"- `{step['config']}`: `{json.dumps(step['settings'], sort_keys=True)}`"
                      for step in pipeline.get("steps", ()))
    return f"""
**Part of a pipeline.** mmaction2 publishes `{pipeline['name']}` as one result of BSN's three steps:
TEM (boundary and actionness probabilities) → proposal generation and BSP features (no weights) → PEM
(proposal confidence). This checkpoint is the {entry['arch'].upper()}; the other network is {', '.join(others)}.
The metrics below are the whole pipeline's. The proposal-generation settings of the published run:

{steps}
"""


def _citation(entry: Dict[str, Any]) -> str:
    lines = []
    for name in entry["collections"]:
        info = collection(name)
        if info.get("paper_title"):
            lines.append(f"- {name}: *{info['paper_title']}* ({info.get('paper_url') or 'no URL published'})")
    papers = "\n".join(lines) or "- see the mmaction2 README of this model"
    return f"Please cite the paper of the method:\n\n{papers}\n\nand mmaction2, which trained this checkpoint:\n\n```bibtex\n{MMACTION2_CITATION}\n```"


def preset_card(entry: Dict[str, Any], repo_id: Optional[str] = None, sha256: Optional[str] = None,
                org: str = DEFAULT_ORG) -> ModelCard:
    """The model card of a preset: its task and input, published results, usage, model, provenance.

    Args:
        entry: A preset (:func:`videohub.conversion.presets.get_preset`).
        repo_id: Hub repo id. Default ``<org>/<repo_name>``.
        sha256: sha256 of the converted ``.pth``. Default ``None``: the card says it is recorded at
            conversion time.
        org: Hub organization of the default repo id and of the links to a pipeline's other presets.
            Default ``"videohub"``.
    """
    repo_id = repo_id or repo_id_for(entry, org)
    data = ModelCardData(
        library_name="videohub",
        pipeline_tag=PIPELINE_TAGS.get(entry["family"]),
        license=LICENSE,
        tags=_tags(entry),
        datasets=[entry["dataset_slug"]],
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results_for(entry),
    )
    meta = entry.get("metadata") or {}
    task, auto_class = TASK_TEXT[entry["family"]]
    config = entry["config"] if isinstance(entry["config"], str) else ", ".join(entry["config"])
    checkpoint_url = entry["checkpoint_url"] if isinstance(entry["checkpoint_url"], str) else ", ".join(entry["checkpoint_url"])
    sha_line = f"`{sha256}`" if sha256 else "recorded by `videohub convert` when the checkpoint is converted"
    facts = [f"- {k}: {v}" for k, v in meta.items()]
    folder = repo_id.split("/")[-1]
    text = f"""---
{data.to_yaml()}
---

# {folder}

{", ".join(entry['collections'])} ({entry['arch']}) trained with mmaction2 on {entry['dataset']}
({_modality(entry)}), converted to videohub from the published mmaction2
checkpoint `{entry['name']}`.

- task: {task} (`{auto_class}`)
- input: {_input_text(entry)}
{_pipeline_text(entry, org)}
## Published results

{_metrics_table(entry)}

**About these numbers.** They are mmaction2's own measurement, copied from the mmaction2
v{MMACTION2_VERSION} model zoo (`model-index.yml` and its metafiles); videohub did not re-run the benchmark.
What videohub verifies is parity of the network: `scripts/check_parity.py` compares videohub's
outputs for this architecture with the reference mmaction2 implementation on fixed inputs
(tolerance 1e-4 x max|output| + 1e-5). Decoding, feature extraction and resizing libraries can
differ slightly, so a re-run of the benchmark may not reproduce the last decimal.

## Usage

{_usage(entry, repo_id)}

## Model

{_model_lines(entry)}

## Test protocol

{_test_lines(entry)}

## Training (as published)

{chr(10).join(facts) or '- not published'}

## Conversion provenance

- source checkpoint: {checkpoint_url}
- checkpoint file: `{entry['checkpoint_file'] if isinstance(entry['checkpoint_file'], str) else ', '.join(entry['checkpoint_file'])}`
- sha256: {sha_line}
- mmaction2 config: `{config}` (mmaction2 v{MMACTION2_VERSION})
- training log: {entry.get('training_log') or 'not published'}
- converted with: `videohub convert --preset {entry['name']} --output {folder}` (or `--checkpoint FILE.pth` for a downloaded file)
- license: Apache-2.0, as mmaction2 and its model zoo; the terms of the {entry['dataset']} dataset apply to its use.

## Citation

{_citation(entry)}
"""
    return ModelCard(text)


def conversion_card(config: VideoConfig, repo_id: str, source: str, sha256: Optional[str] = None) -> ModelCard:
    """The card of a user's converted checkpoint: the model description plus its provenance.

    Args:
        config: The videohub config of the converted model.
        repo_id: Hub repo id (or folder name) shown in the usage snippet.
        source: Path or URL of the mmaction2 checkpoint.
        sha256: sha256 of the checkpoint file. Default ``None``.
    """
    provenance = f"""
## Conversion provenance

- converted from the mmaction2 checkpoint `{source}` with `scripts/convert_mmaction2_checkpoint.py`
- sha256: `{sha256 or 'not recorded'}`
- videohub reproduces mmaction2's logits for this architecture (parity tests); no accuracy was measured.
"""
    return build_model_card(config, repo_id=repo_id,
                            summary="An mmaction2 checkpoint converted to videohub.", extra=provenance)

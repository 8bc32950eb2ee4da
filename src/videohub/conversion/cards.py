"""Model cards of converted mmaction2 checkpoints.

:func:`preset_card` writes the card of a published checkpoint from its preset facts alone: the
``model-index`` holds mmaction2's published metrics with the test views they were measured with,
and the text says plainly that these numbers are mmaction2's measurement; videohub reproduces the
model's logits (checked by the parity tests), it did not re-run the benchmark.
:func:`conversion_card` is the card of a user's own checkpoint (no published metrics).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..configuration_utils import VideoConfig
from ..model_card import build_model_card
from .mmaction2 import num_frames_from_pipeline, takes_rgb_video
from .presets import FAMILIES, MMACTION2_VERSION, collection

DEFAULT_ORG = "videohub"
LICENSE = "apache-2.0"
MMACTION2_REPO = "https://github.com/open-mmlab/mmaction2"
MMACTION2_CITATION = """@misc{2020mmaction2,
    title={OpenMMLab's Next Generation Video Understanding Toolbox and Benchmark},
    author={MMAction2 Contributors},
    howpublished={\\url{https://github.com/open-mmlab/mmaction2}},
    year={2020}
}"""

PIPELINE_TAGS = {"recognizer": "video-classification"}
# family of a preset -> its task (the ``task`` of the videohub config classes of that family)
TASK_TYPES = {family: task for task, family in FAMILIES.items()}


def repo_id_for(entry: Dict[str, Any], org: str = DEFAULT_ORG) -> str:
    """``<org>/<arch>-<backbone>-<sampling>-<dataset>`` of a preset (e.g. ``videohub/tsn-r50-1x1x3-kinetics400``)."""
    return f"{org}/{entry['repo_name']}"


def _metric_type(name: str) -> str:
    low = name.lower()
    if "accuracy" in low and "delta" not in low and "[" not in low:
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


def eval_results_for(entry: Dict[str, Any]) -> List[EvalResult]:
    """The published metrics of a preset as ``model-index`` results, with the test views."""
    protocol = entry.get("test_protocol")
    results = []
    for name, value in entry["metrics"].items():
        args: Dict[str, Any] = {"source": "mmaction2 model zoo (published, not re-measured by videohub)"}
        if _qualified(name):
            args["protocol"] = "as published by mmaction2; differs from the config's test pipeline"
        elif protocol:
            args.update(num_clips=protocol["num_clips"], num_crops=protocol["num_crops"], views=protocol["views"])
        results.append(EvalResult(
            task_type=TASK_TYPES.get(entry["family"], "video-classification"),
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
    tags = ["video-classification" if entry["family"] == "recognizer" else entry["family"], "videohub", "mmaction2",
            entry["arch"], entry["dataset_slug"]]
    tags += [c.lower() for c in entry["collections"] if c.lower() not in tags]
    if entry.get("modality") and entry["modality"].lower() != "rgb":
        tags.append(entry["modality"].lower())
    return tags


def _part(cfg: Optional[Dict[str, Any]]) -> str:
    if not cfg:
        return "none"
    return f"`{cfg['type']}` " + json.dumps({k: v for k, v in cfg.items() if k != "type"}, sort_keys=True)


def _usage(entry: Dict[str, Any], repo_id: str) -> str:
    model = entry.get("model") or {}
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


def _metrics_table(entry: Dict[str, Any]) -> str:
    views = _views_text(entry.get("test_protocol"))
    rows = ["| metric | value | test views |", "| --- | --- | --- |"]
    for name, value in entry["metrics"].items():
        note = "other protocol, see the mmaction2 README" if _qualified(name) else views
        rows.append(f"| {name} | {value} | {note} |")
    return "\n".join(rows)


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
    """The model card of a preset.

    Args:
        entry: A preset (:func:`videohub.conversion.presets.get_preset`).
        repo_id: Hub repo id. Default ``<org>/<repo_name>``.
        sha256: sha256 of the converted ``.pth``. Default ``None``: the card says it is recorded at
            conversion time.
        org: Hub organization of the default repo id. Default ``"videohub"``.
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
    model = entry.get("model") or {}
    meta = entry.get("metadata") or {}
    protocol = entry.get("test_protocol") or {}
    config = entry["config"] if isinstance(entry["config"], str) else ", ".join(entry["config"])
    checkpoint_url = entry["checkpoint_url"] if isinstance(entry["checkpoint_url"], str) else ", ".join(entry["checkpoint_url"])
    sha_line = f"`{sha256}`" if sha256 else "recorded by `convert_mmaction2_checkpoint.py` when the checkpoint is converted"
    facts = [f"- {k}: {v}" for k, v in meta.items()]
    text = f"""---
{data.to_yaml()}
---

# {repo_id.split('/')[-1]}

{", ".join(entry['collections'])} ({entry['arch']}) trained with mmaction2 on {entry['dataset']}
({entry.get('modality') or 'RGB'}), converted to videohub from the published mmaction2
checkpoint `{entry['name']}`.

## Published results

{_metrics_table(entry)}

**About these numbers.** They are mmaction2's own measurement, copied from the mmaction2
v{MMACTION2_VERSION} model zoo (`model-index.yml`); videohub did not re-run the benchmark.
What videohub verifies is parity of the network: `scripts/check_parity.py` compares videohub's
logits for this architecture with the reference mmaction2 implementation on fixed inputs
(tolerance 1e-4 x max|logit| + 1e-5). Video decoding and resizing libraries can differ slightly,
so a re-run of the benchmark may not reproduce the last decimal.

## Usage

{_usage(entry, repo_id)}

## Model

- videohub architecture: `videohub-{entry['arch']}` (mmaction2 `{model.get('type', '?')}`)
- backbone: {_part(model.get('backbone'))}
- neck: {_part(model.get('neck'))}
- head: {_part(model.get('cls_head'))}
- test-time averaging (`test_cfg`): `{json.dumps(model.get('test_cfg'))}`

## Test protocol

- sampling: `{json.dumps(protocol.get('sampler'))}`
- resize: `{protocol.get('resize_scale')}`, crop: `{protocol.get('crop')}` {protocol.get('crop_size') or ''}
- views: {_views_text(protocol or None)}

## Training (as published)

{chr(10).join(facts) or '- not published'}

## Conversion provenance

- source checkpoint: {checkpoint_url}
- checkpoint file: `{entry['checkpoint_file'] if isinstance(entry['checkpoint_file'], str) else ', '.join(entry['checkpoint_file'])}`
- sha256: {sha_line}
- mmaction2 config: `{config}` (mmaction2 v{MMACTION2_VERSION})
- training log: {entry.get('training_log') or 'not published'}
- converted with: `python scripts/convert_mmaction2_checkpoint.py --preset {entry['name']} --output {repo_id.split('/')[-1]}`
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

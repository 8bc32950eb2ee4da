"""Model cards (``README.md``) written beside every saved videohub model."""

from __future__ import annotations

from typing import Dict, List, Optional

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .configuration_utils import VideoConfig

_TEMPLATE = """---
{card_data}
---

# {title}

{summary}

## Architecture

- videohub model type: `{model_type}` (`{architecture}`)
{details}

## Usage

{usage}
{extra}
"""

_USAGE = {
    "video-classification": """```python
import videohub
from videohub import AutoVideoModel, AutoVideoProcessor

model = AutoVideoModel.from_pretrained("{repo_id}")
processor = AutoVideoProcessor.from_pretrained("{repo_id}")
logits = model(**processor("video.mp4")).logits
print(model.config.id2label[int(logits.argmax(-1))])
```

or `videohub predict video.mp4 --model {repo_id}`.""",
    "temporal-action-localization": """```python
from videohub import AutoVideoModel

model = AutoVideoModel.from_pretrained("{repo_id}")
outputs = model(input_features=features)  # (batch, feat_dim, temporal_dim) snippet features
proposals = model.post_process(outputs, video_metas)  # [{{"segment": [t0, t1], "score": s}}, ...] per video
```""",
    "spatio-temporal-action-detection": """```python
from videohub import AutoVideoModel

model = AutoVideoModel.from_pretrained("{repo_id}")
outputs = model(pixel_values=clips, boxes=person_boxes)  # clips (B, T, C, H, W), boxes [k, 4] per clip
detections = model.post_process(outputs, img_metas)  # [{{"box", "label", "score"}}, ...] per clip
```""",
}


def build_model_card(
    config: VideoConfig,
    repo_id: str = "path/to/model",
    summary: Optional[str] = None,
    metrics: Optional[Dict[str, float]] = None,
    dataset: Optional[str] = None,
    license: Optional[str] = "apache-2.0",
    tags: Optional[List[str]] = None,
    extra: str = "",
) -> ModelCard:
    """Build the card of a model.

    Args:
        config: The model's config.
        repo_id: Hub id used in the usage snippet. Default ``"path/to/model"``.
        summary: Paragraph under the title. Default: a one-line description of the architecture.
        metrics: ``{name: value}`` measured on ``dataset``; written as ``model-index`` results. Default ``None``.
        dataset: Dataset name of ``metrics``. Default ``None``.
        license: SPDX license id. Default ``"apache-2.0"``.
        tags: Extra tags. Default ``None``.
        extra: Markdown appended at the end (provenance, citation). Default ``""``.
    """
    architecture = (config.architectures or ["?"])[0]
    arch = config.model_type.replace("videohub-", "")
    eval_results = None
    if metrics:
        eval_results = [
            EvalResult(task_type=config.task, dataset_type=dataset or "custom",
                       dataset_name=dataset or "custom", metric_type=name, metric_name=name, metric_value=value)
            for name, value in metrics.items()
        ]
    data = ModelCardData(
        library_name="videohub",
        pipeline_tag=config.task if config.task == "video-classification" else None,
        license=license,
        tags=[config.task, "videohub", "mmaction2", arch] + list(tags or []),
        datasets=[dataset] if dataset else None,
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results,
    )
    text = _TEMPLATE.format(
        card_data=data.to_yaml(),
        title=repo_id.split("/")[-1],
        summary=summary or f"A {arch.upper()} {config.task.replace('-', ' ')} model made with videohub.",
        model_type=config.model_type,
        architecture=architecture,
        details="\n".join(f"- {line}" for line in config.card_lines()),
        usage=_USAGE[config.task].format(repo_id=repo_id),
        extra=extra,
    )
    return ModelCard(text)

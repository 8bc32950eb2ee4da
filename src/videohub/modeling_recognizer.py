"""The generic recognizer behind every action-recognition architecture.

It reproduces mmaction2's ``Recognizer2D``, ``Recognizer3D``, ``AudioRecognizer`` and ``SkeletonGCN``:

- 2D: ``(B, V, T, C, H, W)`` is folded to ``(B*V*T, C, H, W)``; the head gets ``num_segs = V*T``.
- 3D: ``(B, V, T, C, H, W)`` becomes ``(B*V, C, T, H, W)``, optionally in chunks of
  ``max_testing_views`` views.
- Audio: ``(B, V, 1, T, F)`` spectrogram clips become ``(B*V, 1, T, F)``.
- Skeleton (``SkeletonGCN``): ``keypoints`` ``(B, V, C, T, J, M)`` (J joints, M persons) become
  ``(B*V, C, T, J, M)``.

The head's clip scores are averaged per ``config.average_clips`` exactly like
``BaseRecognizer.average_clip`` (``scores`` of the output); ``logits`` are true logits whose
softmax is the averaged class probability. An architecture subclasses these two classes and
imports its parts (backbone, neck, head) explicitly.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F

from .configuration_utils import RecognizerConfig
from .errors import ShapeError
from .modeling_outputs import VideoClassifierOutput, VideoModelOutput
from .modeling_utils import VideoPreTrainedModel, mark_part

Feature = Union[torch.Tensor, Tuple[torch.Tensor, ...]]
# recognizer type -> (its input argument, rank of that input without a view axis, layout for messages)
INPUT_LAYOUTS = {
    "AudioRecognizer": ("input_features", 4, "(B, [V,] 1, T, F)"),
    "SkeletonGCN": ("keypoints", 5, "(B, [V,] C, T, J, M)"),
}
VIDEO_INPUT_LAYOUT = ("pixel_values", 5, "(B, T, C, H, W) or (B, V, T, C, H, W)")


def average_clip(cls_score: torch.Tensor, num_segs: int, average_clips: Optional[str]) -> torch.Tensor:
    """Average ``[B*num_segs, C]`` scores into ``[B, C]`` (mmaction2 ``BaseRecognizer.average_clip``).

    ``"prob"`` averages softmax probabilities, ``"score"`` raw scores; ``None`` keeps every clip,
    returned as ``[B, num_segs, C]`` (``[B, C]`` when ``num_segs == 1``).
    """
    batch = cls_score.shape[0] // num_segs
    cls_score = cls_score.view(batch, num_segs, -1)
    if average_clips is None:
        return cls_score[:, 0] if num_segs == 1 else cls_score
    if average_clips == "prob":
        return F.softmax(cls_score, dim=2).mean(dim=1)
    return cls_score.mean(dim=1)


def scores_to_logits(scores: torch.Tensor, average_clips: Optional[str]) -> torch.Tensor:
    """Logits ``[B, C]`` from mmaction2's averaged ``scores``: ``softmax(logits)`` is the class probability.

    ``"prob"`` averages probabilities, so the logits are their log; ``"score"`` averages logits;
    with ``None`` (``[B, V, C]`` per-view scores) the views' logits are averaged.
    """
    if average_clips == "prob":
        return scores.clamp_min(torch.finfo(scores.dtype).tiny).log()
    if average_clips is None and scores.dim() == 3:
        return scores.mean(dim=1)
    return scores


class VideoRecognizerModel(VideoPreTrainedModel):
    """Base model: backbone (+ neck) features of video clips, and their pooled average."""

    config_class = RecognizerConfig
    auto_task = "feature-extraction"

    def __init__(self, config: RecognizerConfig):
        super().__init__(config)
        self.backbone = mark_part(config.build_part("backbone"))
        self.neck = mark_part(config.build_part("neck")) if config.neck is not None else None
        self.post_init()

    # ----------------------------------------------------------------- input layout
    def _input(self, pixel_values: Optional[torch.Tensor], input_features: Optional[torch.Tensor],
               keypoints: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Return the input as ``(B, V, ...)`` with a view axis, checking its rank."""
        expected, base_rank, layout = INPUT_LAYOUTS.get(self.config.recognizer, VIDEO_INPUT_LAYOUT)
        given = [(n, v) for n, v in (("keypoints", keypoints), ("input_features", input_features),
                                     ("pixel_values", pixel_values)) if v is not None]
        if not given:
            raise ShapeError(f"{type(self).__name__} needs {expected}")
        name, x = given[0]
        if x.dim() == base_rank:
            return x.unsqueeze(1)
        if x.dim() == base_rank + 1:
            return x
        raise ShapeError(f"{name} has shape {tuple(x.shape)}; expected {layout}")

    def extract_features(
        self,
        pixel_values: Optional[torch.Tensor] = None,
        input_features: Optional[torch.Tensor] = None,
        labels: Optional[torch.Tensor] = None,
        fcn_test: bool = False,
        keypoints: Optional[torch.Tensor] = None,
    ) -> Tuple[Feature, int, int, Dict[str, torch.Tensor]]:
        """Run backbone and neck; return ``(features, batch, num_segs, aux_losses)``.

        ``fcn_test`` (2D only) keeps the features as ``[N, C, num_segments, H, W]`` maps for a
        fully-convolutional head, like mmaction2's ``Recognizer2D._do_fcn_test``.
        """
        x = self._input(pixel_values, input_features, keypoints)
        batch, views = x.shape[:2]
        if self.config.recognizer == "Recognizer2D":
            return self._features_2d(x.flatten(0, 2), batch, labels, fcn_test)
        if self.config.recognizer == "Recognizer3D":
            feat, aux = self._features_3d(x.flatten(0, 1).transpose(1, 2), labels)  # (B*V, C, T, H, W)
            return feat, batch, views, aux
        return self.backbone(x.flatten(0, 1)), batch, views, {}

    def _features_2d(self, x: torch.Tensor, batch: int, labels: Optional[torch.Tensor], fcn_test: bool = False):
        num_segs = x.shape[0] // batch
        if fcn_test:
            num_segs = getattr(self.backbone, "num_segments", num_segs)
        feat = self.backbone(x)
        aux: Dict[str, torch.Tensor] = {}

        def to_5d(f: torch.Tensor) -> torch.Tensor:
            return f.reshape((-1, num_segs) + f.shape[1:]).transpose(1, 2).contiguous()

        if self.neck is not None:
            levels = feat if isinstance(feat, (tuple, list)) else (feat,)
            feat, aux = self._run_neck([to_5d(f) for f in levels], labels)
            if not fcn_test:
                feat = feat.squeeze(2)
                num_segs = 1
        elif fcn_test:
            feat = to_5d(feat)
        return feat, batch, num_segs, aux

    def _features_3d(self, x: torch.Tensor, labels: Optional[torch.Tensor]):
        chunk = self.config.max_testing_views
        if chunk is None or self.training or x.shape[0] <= chunk:
            feat = self.backbone(x)
            return self._run_neck(feat, labels) if self.neck is not None else (feat, {})
        pieces: List[Feature] = []
        for start in range(0, x.shape[0], chunk):
            part = self.backbone(x[start:start + chunk])
            if self.neck is not None:
                part, _ = self._run_neck(part, None)
            pieces.append(part)
        if isinstance(pieces[0], (tuple, list)):
            return tuple(torch.cat([p[i] for p in pieces]) for i in range(len(pieces[0]))), {}
        return torch.cat(pieces), {}

    def _run_neck(self, feat, labels):
        if labels is not None and self.training:
            out, aux = self.neck(feat, labels.squeeze())
        else:
            out, aux = self.neck(feat)
        return out, dict(aux or {})

    # ----------------------------------------------------------------- pooled output
    @staticmethod
    def pool(feat: Feature, batch: int) -> torch.Tensor:
        """Spatio-temporal average of each clip's feature, then the mean over clips: ``[B, C]``."""

        def flat(f: torch.Tensor) -> torch.Tensor:
            return f.flatten(2).mean(-1) if f.dim() > 2 else f

        pooled = torch.cat([flat(f) for f in feat], dim=1) if isinstance(feat, (tuple, list)) else flat(feat)
        return pooled.reshape(batch, -1, pooled.shape[-1]).mean(dim=1)

    def forward(
        self,
        pixel_values: Optional[torch.Tensor] = None,
        input_features: Optional[torch.Tensor] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        keypoints: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Union[VideoModelOutput, Tuple]:
        """Features of ``pixel_values`` ``(B, [V,] T, C, H, W)`` (or audio ``input_features``, skeleton ``keypoints``)."""
        feat, batch, _, _ = self.extract_features(pixel_values, input_features, keypoints=keypoints)
        hidden = (feat if isinstance(feat, tuple) else (feat,)) if output_hidden_states else None
        out = VideoModelOutput(last_hidden_state=feat, pooler_output=self.pool(feat, batch), hidden_states=hidden)
        return out if return_dict is not False else out.to_tuple()


class VideoRecognizerForVideoClassification(VideoPreTrainedModel):
    """Base model + mmaction2 classification head; returns averaged logits and, with labels, the loss."""

    config_class = RecognizerConfig
    base_model_class = VideoRecognizerModel
    auto_task = "video-classification"

    def __init__(self, config: RecognizerConfig):
        super().__init__(config)
        self.model = self.base_model_class(config)
        self.cls_head = mark_part(config.build_part("cls_head"))
        self.post_init()

    def forward(
        self,
        pixel_values: Optional[torch.Tensor] = None,
        labels: Optional[torch.Tensor] = None,
        input_features: Optional[torch.Tensor] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        keypoints: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Union[VideoClassifierOutput, Tuple]:
        """Classify clips.

        Args:
            pixel_values: ``(B, T, C, H, W)`` or multi-view ``(B, V, T, C, H, W)``.
            labels: ``(B,)`` class ids, or ``(B, num_labels)`` multi-hot / soft targets. Default ``None``.
            input_features: Audio spectrograms ``(B, [V,] 1, T, F)`` for audio models.
            output_hidden_states: Also return the backbone features. Default ``config.output_hidden_states``.
            keypoints: Skeletons ``(B, [V,] C, T, J, M)`` for ``SkeletonGCN`` models. Default ``None``.
        """
        cfg = self.config
        fcn_test = cfg.fcn_test and cfg.recognizer == "Recognizer2D" and not self.training
        feat, batch, num_segs, aux = self.model.extract_features(pixel_values, input_features, labels, fcn_test, keypoints)
        if fcn_test:
            clip_scores = self.cls_head(feat, fcn_test=True)
        elif cfg.recognizer == "Recognizer2D":
            clip_scores = self.cls_head(feat, num_segs)
        else:
            clip_scores = self.cls_head(feat)
        per_sample = clip_scores.shape[0] // batch
        scores = average_clip(clip_scores, per_sample, cfg.average_clips)

        loss, losses = None, None
        if labels is not None:
            train_scores = clip_scores if per_sample == 1 else clip_scores.view(batch, per_sample, -1).mean(1)
            if labels.dim() == 2 and labels.shape[1] == 1:
                labels = labels.squeeze(1)
            losses = {**self.cls_head.loss(train_scores, labels), **aux}
            loss = sum(v for k, v in losses.items() if "loss" in k)
        want_hidden = output_hidden_states if output_hidden_states is not None else cfg.output_hidden_states
        hidden = (feat if isinstance(feat, tuple) else (feat,)) if want_hidden else None
        out = VideoClassifierOutput(loss=loss, logits=scores_to_logits(scores, cfg.average_clips), scores=scores,
                                    clip_logits=clip_scores, losses=losses, hidden_states=hidden)
        return out if return_dict is not False else out.to_tuple()

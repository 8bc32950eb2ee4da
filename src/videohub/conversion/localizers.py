"""Parity checks of the localizer golden kinds ``tem``, ``pem``, ``bmn`` and ``ssn``.

:data:`KIND_HANDLERS` maps each kind to its check (:mod:`~videohub.conversion.parity` dispatches
on it). Every golden file is converted like a checkpoint: its ``config`` becomes the videohub config
(:func:`~videohub.conversion.mmaction2.config_from_mmaction2`: ``TEMConfig``, ``PEMConfig``,
``BMNConfig``, ``SSNConfig``) and its ``state_dict`` loads through the localizer key table into the
task model (:func:`~videohub.conversion.golden.golden_model`, so also through the Hub round trip
inside :func:`~videohub.conversion.golden.pretrained_round_trip`). BMN is checked through the task
model's ``forward`` and ``post_process``; TEM, PEM and
SSN through the mmaction2 module the task model wraps (``model.localizer``), whose methods the
golden files recorded.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

import torch
from torch import nn

from ..auto import AutoVideoModel
from .comparison import Comparison, compare
from .golden import golden_model
from .mmaction2 import config_from_mmaction2


def load_localizer(config: Dict[str, Any], state_dict: Dict[str, torch.Tensor],
                   source: str = "checkpoint") -> nn.Module:
    """The mmaction2 localizer module of a model ``config`` with ``state_dict`` loaded strictly.

    Built as a checkpoint converts: the videohub config and task model of ``config``, the weights
    through the localizer key table; the task model's ``localizer`` is returned, in eval mode.
    ``source`` names the weights in error messages (default ``"checkpoint"``).
    """
    return golden_model(config_from_mmaction2(config), state_dict, source).localizer


def _extra(golden: Dict[str, Any]) -> Dict[str, Any]:
    return golden.get("extra") or {}


def check_tem(golden: Dict[str, Any]) -> Comparison:
    """``_forward`` output and the per-video ``forward_test`` arrays."""
    model = load_localizer(golden["config"], golden["state_dict"], str(golden.get("name")))
    with torch.no_grad():
        comparison = compare(golden["output"], model._forward(golden["input"]), "output")
        if "forward_test" in _extra(golden):
            out = model(golden["input"], video_meta=golden["video_meta"], return_loss=False)
            comparison.merge(compare(_extra(golden)["forward_test"], out, "extra.forward_test"))
    return comparison


def check_pem(golden: Dict[str, Any]) -> Comparison:
    """``_forward`` output and the soft-NMS proposal list of ``forward_test``."""
    model = load_localizer(golden["config"], golden["state_dict"], str(golden.get("name")))
    extra = _extra(golden)
    with torch.no_grad():
        comparison = compare(golden["output"], model._forward(golden["input"]), "output")
        if "forward_test" in extra:
            out = model(golden["input"], return_loss=False, video_meta=golden["video_meta"],
                        **extra["forward_test_inputs"])
            comparison.merge(compare(extra["forward_test"], out, "extra.forward_test"))
    return comparison


def check_bmn(golden: Dict[str, Any]) -> Comparison:
    """The golden BMN converted to ``BMNForTemporalActionLocalization``.

    Compared: the ``sample_mask`` videohub builds itself (before the stored one is loaded), the
    confidence map/start/end of the model's ``forward``, mmaction2's ``forward_test`` of the
    wrapped module, and the model's ``post_process`` (the same proposals).
    """
    config = config_from_mmaction2(golden["config"])
    extra = _extra(golden)
    comparison = Comparison()
    if "bm_sample_mask" in extra:
        fresh = AutoVideoModel.from_config(config)
        comparison.merge(compare(extra["bm_sample_mask"], fresh.localizer.sample_mask.detach(), "extra.bm_sample_mask"))
    model = golden_model(config, golden["state_dict"], str(golden.get("name")))
    with torch.no_grad():
        out = model(input_features=golden["input"])
        maps = dict(confidence_map=out.confidence_map, start=out.start, end=out.end)
        comparison.merge(compare(golden["output"], maps, "output"))
        if "post_processed" in extra:
            reference = extra["post_processed"]
            tested = model.localizer(golden["input"], return_loss=False, video_meta=golden["video_meta"])
            comparison.merge(compare(reference, tested, "extra.post_processed"))
            proposals = model.post_process(out, golden["video_meta"])
            comparison.merge(compare([video["proposal_list"] for video in reference], proposals,
                                     "extra.post_processed (post_process)"))
    return comparison


def check_ssn(golden: Dict[str, Any]) -> Comparison:
    """Training-path scores in eval mode, the fused ``test_fc``, per-tick features/scores and ``forward_test``."""
    model = load_localizer(golden["config"], golden["state_dict"], str(golden.get("name")))
    extra = _extra(golden)
    with torch.no_grad():
        activity, completeness, bbox_preds = model._forward(golden["input"], golden["proposal_scale_factor"])
        comparison = compare(golden["output"], dict(activity_scores=activity, completeness_scores=completeness,
                                                     bbox_preds=bbox_preds), "output")
        if "test_output" in extra and "test_config" in golden:
            test_model = load_localizer(golden["test_config"], golden["state_dict"], str(golden.get("name")))
            out = test_model(golden["test_input"], return_loss=False, **golden["test_kwargs"])
            comparison.merge(compare(extra["test_output"], out, "extra.test_output"))
            fc = test_model.cls_head.test_fc
            if "test_fc" in extra:
                comparison.merge(compare(extra["test_fc"], dict(weight=fc.weight, bias=fc.bias), "extra.test_fc"))
            if "test_tick_feat" in extra:
                imgs = golden["test_input"].reshape((-1, test_model.in_channels) + golden["test_input"].shape[3:])
                feat = test_model.pool(test_model.extract_feat(imgs)).flatten(1)
                comparison.merge(compare(extra["test_tick_feat"], feat, "extra.test_tick_feat"))
                if "test_scores" in extra:
                    comparison.merge(compare(extra["test_scores"], fc(extra["test_tick_feat"]), "extra.test_scores"))
    return comparison


# golden kind -> check(golden) -> Comparison
KIND_HANDLERS: Dict[str, Callable[[Dict[str, Any]], Comparison]] = {
    "tem": check_tem,
    "pem": check_pem,
    "bmn": check_bmn,
    "ssn": check_ssn,
}

"""Parity handlers of the localizer golden kinds ``tem``, ``pem``, ``bmn`` and ``ssn``.

Importing this module registers the handlers with :func:`videohub.conversion.parity.register_kind`.
The localizers keep mmaction2's module names, so a golden ``state_dict`` loads with
``load_state_dict(strict=True)`` as it is (no key table is needed for these plain layers).
"""

from __future__ import annotations

from typing import Any, Dict

import torch
from torch import nn

from ..errors import CheckpointError
from ..builder import build_localizer
from .parity import Comparison, compare, register_kind

LOCALIZER_KINDS = ("tem", "pem", "bmn", "ssn")


def _strip(config: Dict[str, Any]) -> Dict[str, Any]:
    """The model config without ``None`` train/test configs the layer does not take."""
    cfg = dict(config)
    for key in ("train_cfg", "test_cfg"):
        if key in cfg and cfg[key] is None and cfg.get("type") != "SSN":
            cfg.pop(key)
    return cfg


def load_localizer(config: Dict[str, Any], state_dict: Dict[str, torch.Tensor], source: str = "checkpoint") -> nn.Module:
    """Build the localizer of an mmaction2 model ``config`` and load ``state_dict`` strictly (eval mode)."""
    model = build_localizer(_strip(config))
    result = model.load_state_dict(state_dict, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"{source}: missing keys {sorted(result.missing_keys)}, "
                              f"unexpected keys {sorted(result.unexpected_keys)}")
    return model.eval()


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
    """Confidence map/start/end, the post-processed proposals and the rebuilt ``sample_mask``."""
    model = build_localizer(_strip(golden["config"]))
    extra = _extra(golden)
    comparison = Comparison()
    if "bm_sample_mask" in extra:  # the mask videohub builds itself, before loading the stored one
        comparison.merge(compare(extra["bm_sample_mask"], model.sample_mask.detach(), "extra.bm_sample_mask"))
    model = load_localizer(golden["config"], golden["state_dict"], str(golden.get("name")))
    with torch.no_grad():
        confidence_map, start, end = model._forward(golden["input"])
        comparison.merge(compare(golden["output"], dict(confidence_map=confidence_map, start=start, end=end),
                                 "output"))
        if "post_processed" in extra:
            out = model(golden["input"], return_loss=False, video_meta=golden["video_meta"])
            comparison.merge(compare(extra["post_processed"], out, "extra.post_processed"))
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


register_kind("tem", check_tem)
register_kind("pem", check_pem)
register_kind("bmn", check_bmn)
register_kind("ssn", check_ssn)

"""Parity checks of the AVA detection golden kinds.

:data:`KIND_HANDLERS` maps the kinds ``roi_extractor``, ``bbox_head_ava``, ``fbo_head``,
``ava_detector`` and ``backbone`` (``shared/parity/README.md`` §3, §3a) to their checks
(:mod:`~videohub.conversion.parity` dispatches on it). The whole detector is converted like a
checkpoint: :func:`~videohub.conversion.mmaction2.config_from_mmaction2` gives an
:class:`~videohub.models.ava.AVAConfig`, the detector key table loads the weights into
``AVAForSpatioTemporalActionDetection`` (:func:`~videohub.conversion.golden.golden_model`, also
through the Hub round trip inside :func:`~videohub.conversion.golden.pretrained_round_trip`). The parts
(RoI extractor, heads, backbone) are mmaction2 modules built from the golden ``config`` that load
the golden ``state_dict`` as it is.

Banks: a golden ``lfb`` is written to a temporary directory as ``lfb_<mode>.safetensors`` (the
videohub bank format, never a pickle) and that directory replaces the ``'<LFB_DIR>'`` placeholder
of the stored config, so the real loading path is exercised. LFB sampling replays mmaction2's
``np.random.choice`` calls after ``np.random.seed(0)``.
"""

from __future__ import annotations

import tempfile
from typing import Any, Callable, Dict, Mapping

import numpy as np
import torch

from ..models.ava import BBoxHeadAVA, FBOHead, SingleRoIExtractor3D, save_lfb
from ..registry import BACKBONES
from .comparison import Comparison, compare
from .golden import golden_model
from .mmaction2 import config_from_mmaction2
from .state_dict import load_part_weights

LFB_PLACEHOLDER = "<LFB_DIR>"


def _plain(value: Any) -> Any:
    """Config values as plain python (tuples kept), with tensors left alone."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _replace_placeholder(value: Any, directory: str) -> Any:
    if isinstance(value, Mapping):
        return {k: _replace_placeholder(v, directory) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_replace_placeholder(v, directory) for v in value)
    if isinstance(value, str) and LFB_PLACEHOLDER in value:
        return value.replace(LFB_PLACEHOLDER, directory)
    return value


def _find_lfb_cfgs(value: Any) -> list:
    found = []
    if isinstance(value, Mapping):
        if "lfb_cfg" in value and isinstance(value["lfb_cfg"], Mapping):
            found.append(value["lfb_cfg"])
        for v in value.values():
            found.extend(_find_lfb_cfgs(v))
    return found


def _write_golden_banks(golden: Mapping[str, Any], directory: str) -> None:
    bank = golden.get("lfb")
    if bank is None:
        return
    for lfb_cfg in _find_lfb_cfgs(golden["config"]):
        modes = lfb_cfg.get("dataset_modes", ("train", "val"))
        for mode in (modes,) if isinstance(modes, str) else modes:
            save_lfb(bank, f"{directory}/lfb_{mode}.safetensors")


def _config_without_type(config: Mapping[str, Any]) -> Dict[str, Any]:
    cfg = dict(_plain(config))
    cfg.pop("type", None)
    return cfg


def check_roi_extractor(golden: Dict[str, Any]) -> Comparison:
    """``SingleRoIExtractor3D(**config)(input, rois)``: RoI features and the pooled map."""
    module = SingleRoIExtractor3D(**_config_without_type(golden["config"])).eval()
    with torch.no_grad():
        roi_feats, global_feat = module(golden["input"], golden["rois"])
    comparison = compare(golden["output"], roi_feats, "output")
    ref_global = (golden.get("extra") or {}).get("global_feat")
    if ref_global is not None:
        comparison.merge(compare(ref_global, global_feat, "extra.global_feat"))
    return comparison


def check_bbox_head_ava(golden: Dict[str, Any]) -> Comparison:
    """``BBoxHeadAVA(input)[0]`` and ``get_det_bboxes`` of the stored inputs."""
    head = BBoxHeadAVA(**_config_without_type(golden["config"]))
    load_part_weights(head, golden["state_dict"], str(golden.get("name")))
    with torch.no_grad():
        cls_score, bbox_pred = head(golden["input"])
    comparison = compare(golden["output"], cls_score, "output")
    extra = golden.get("extra") or {}
    if "bbox_pred" in extra and extra["bbox_pred"] is None and bbox_pred is not None:
        comparison.failures.append("extra.bbox_pred: expected None")
    det = extra.get("get_det_bboxes")
    if det is not None:
        inputs = det["inputs"]
        with torch.no_grad():
            out = head.get_det_bboxes(inputs["rois"].clone(), cls_score, inputs["img_shape"],
                                      flip=inputs.get("flip", False), crop_quadruple=inputs.get("crop_quadruple"))
        comparison.merge(compare(det["output"], out, "extra.get_det_bboxes"))
    return comparison


def check_fbo_head(golden: Dict[str, Any]) -> Comparison:
    """``FBOHead(input, rois, img_metas)`` with the stored bank, and ``sample_lfb``."""
    with tempfile.TemporaryDirectory() as directory:
        _write_golden_banks(golden, directory)
        cfg = _config_without_type(_replace_placeholder(golden["config"], directory))
        head = FBOHead(**cfg)
    load_part_weights(head, golden["state_dict"], str(golden.get("name")))
    comparison = Comparison()
    ref_lt = (golden.get("extra") or {}).get("lt_feat")
    if ref_lt is not None:
        np.random.seed(0)
        comparison.merge(compare(ref_lt, head.sample_lfb(golden["rois"], golden["img_metas"]), "extra.lt_feat"))
    np.random.seed(0)
    with torch.no_grad():
        out = head(golden["input"], golden["rois"], golden["img_metas"])
    comparison.merge(compare(golden["output"], out, "output"))
    return comparison


def check_ava_detector(golden: Dict[str, Any]) -> Comparison:
    """The golden FastRCNN converted to ``AVAForSpatioTemporalActionDetection``.

    Compared are the backbone features, the model's ``forward`` logits of the stored RoIs (mmaction2's raw
    RoI scores), the RoI features, ``simple_test_bboxes`` and mmdet's ``simple_test`` of the RoI head,
    and the long-term features of a shared head.
    """
    with tempfile.TemporaryDirectory() as directory:
        _write_golden_banks(golden, directory)
        config = config_from_mmaction2(_replace_placeholder(_plain(golden["config"]), directory))
        model = golden_model(config, golden["state_dict"], source=str(golden.get("name")))
    extra = golden.get("extra") or {}
    x, rois, img_metas = golden["input"], golden["rois"], golden["img_metas"]
    comparison = Comparison()
    with torch.no_grad():
        feat = model.backbone(x)
        if "backbone_feat" in extra:
            comparison.merge(compare(extra["backbone_feat"], feat, "extra.backbone_feat"))
        np.random.seed(0)
        # the golden clips are NCTHW, pixel_values (B, T, C, H, W)
        logits = model(pixel_values=x.transpose(1, 2), rois=rois, img_metas=img_metas).logits
        comparison.merge(compare(golden["output"], logits, "output"))
        np.random.seed(0)
        results = model.roi_head._bbox_forward(feat, rois, img_metas)
        if "roi_feat" in extra:
            comparison.merge(compare(extra["roi_feat"], results["bbox_feats"], "extra.roi_feat"))
        if "det_bboxes" in extra:
            np.random.seed(0)
            bboxes, scores = model.roi_head.simple_test_bboxes(feat, img_metas, [golden["proposals"]])
            comparison.merge(compare(extra["det_bboxes"], {"bboxes": bboxes, "scores": scores}, "extra.det_bboxes"))
        if "simple_test" in extra:
            np.random.seed(0)
            out = model.roi_head.simple_test(feat, [golden["proposals"]], img_metas)
            comparison.merge(compare(extra["simple_test"], out, "extra.simple_test"))
        if "lt_feat" in extra and model.roi_head.with_shared_head:
            np.random.seed(0)
            lt_feat = model.roi_head.shared_head.sample_lfb(rois, img_metas)
            comparison.merge(compare(extra["lt_feat"], lt_feat, "extra.lt_feat"))
    return comparison


def check_backbone(golden: Dict[str, Any]) -> Comparison:
    """A bare backbone (``config`` is the backbone cfg): ``backbone(input)``."""
    backbone = BACKBONES.build(dict(_plain(golden["config"])))
    load_part_weights(backbone, golden["state_dict"], str(golden.get("name")))
    with torch.no_grad():
        out = backbone(golden["input"])
    return compare(golden["output"], out, "output")


# golden kind -> check(golden) -> Comparison
KIND_HANDLERS: Dict[str, Callable[[Dict[str, Any]], Comparison]] = {
    "roi_extractor": check_roi_extractor,
    "bbox_head_ava": check_bbox_head_ava,
    "fbo_head": check_fbo_head,
    "ava_detector": check_ava_detector,
    "backbone": check_backbone,
}

"""State-dict key table and parity handlers of the AVA detection parts.

Importing this module registers

* the key table of ``"videohub-ava"`` (in :mod:`.ava_config`, with the config conversion
  ``detector_config_from_mmaction2``): mmaction2/mmdet detector keys (``backbone.*``,
  ``roi_head.*``) are videohub keys unchanged, since :class:`~videohub.models.ava.FastRCNN`
  keeps their submodule names;
* the golden-file kinds ``roi_extractor``, ``bbox_head_ava``, ``fbo_head``, ``ava_detector`` and
  ``backbone`` (``shared/parity/README.md`` §3, §3a) with :func:`~videohub.conversion.parity.register_kind`.

Banks: a golden ``lfb`` is written to a temporary directory as ``lfb_<mode>.safetensors`` (the
videohub bank format, never a pickle) and that directory replaces the ``'<LFB_DIR>'`` placeholder
of the stored config, so the real loading path is exercised. LFB sampling replays mmaction2's
``np.random.choice`` calls after ``np.random.seed(0)``.
"""

from __future__ import annotations

import tempfile
from typing import Any, Dict, Mapping

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError
from .parity import Comparison, compare, register_kind
from .ava_config import DETECTOR_TABLE, detector_config_from_mmaction2
from .state_dict import KeyTable

LFB_PLACEHOLDER = "<LFB_DIR>"


def load_mmaction2_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor], table: KeyTable,
                              source: str = "checkpoint") -> None:
    """Load an mmaction2 state dict into ``model`` through ``table``, strictly (all problems listed)."""
    converted: Dict[str, torch.Tensor] = {}
    leftover = []
    for key, value in state_dict.items():
        new_key = table.to_videohub(key)
        if new_key is None:
            if not table.ignored(key):
                leftover.append(key)
            continue
        converted[new_key] = value
    expected = model.state_dict()
    missing = sorted(set(expected) - set(converted))
    unexpected = sorted(set(converted) - set(expected))
    shapes = [f"{k}: {tuple(v.shape)} vs model {tuple(expected[k].shape)}" for k, v in converted.items()
              if k in expected and v.shape != expected[k].shape]
    problems = []
    if leftover:
        problems.append(f"keys outside the {table.name} prefixes: {sorted(leftover)[:25]}")
    if missing:
        problems.append(f"missing keys: {missing[:25]}")
    if unexpected:
        problems.append(f"unexpected keys: {unexpected[:25]}")
    if shapes:
        problems.append(f"shape mismatches: {shapes[:25]}")
    if problems:
        raise CheckpointError(f"{source}: " + " | ".join(problems))
    model.load_state_dict(converted, strict=True)


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
    from ..models.ava.lfb import save_lfb

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
    from ..models.ava import SingleRoIExtractor3D

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
    from ..models.ava import BBoxHeadAVA

    head = BBoxHeadAVA(**_config_without_type(golden["config"]))
    load_mmaction2_state_dict(head, golden["state_dict"], KeyTable("bbox_head_ava", (("", ""),)), str(golden.get("name")))
    head.eval()
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
    from ..models.ava import FBOHead

    with tempfile.TemporaryDirectory() as directory:
        _write_golden_banks(golden, directory)
        cfg = _config_without_type(_replace_placeholder(golden["config"], directory))
        head = FBOHead(**cfg)
    load_mmaction2_state_dict(head, golden["state_dict"], KeyTable("fbo_head", (("", ""),)), str(golden.get("name")))
    head.eval()
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
    """FastRCNN + AVARoIHead: raw RoI scores, RoI/backbone features, ``get_det_bboxes`` and ``simple_test``."""
    from ..models.ava import FastRCNN

    x, rois, img_metas = golden["input"], golden["rois"], golden["img_metas"]
    comparison = Comparison()
    with tempfile.TemporaryDirectory() as directory:
        _write_golden_banks(golden, directory)
        model_cfg = _replace_placeholder(_plain(golden["config"]), directory)
        model = FastRCNN.from_config(model_cfg)
        comparison.merge(_via_pretrained(model_cfg, golden, directory))
    load_mmaction2_state_dict(model, golden["state_dict"], DETECTOR_TABLE, str(golden.get("name")))
    model.eval()
    extra = golden.get("extra") or {}
    with torch.no_grad():
        feat = model.extract_feat(x)
        if "backbone_feat" in extra:
            comparison.merge(compare(extra["backbone_feat"], feat, "extra.backbone_feat"))
        np.random.seed(0)
        results = model.roi_head._bbox_forward(feat, rois, img_metas)
        comparison.merge(compare(golden["output"], results["cls_score"], "output"))
        if "roi_feat" in extra:
            comparison.merge(compare(extra["roi_feat"], results["bbox_feats"], "extra.roi_feat"))
        if "det_bboxes" in extra:
            np.random.seed(0)
            bboxes, scores = model.roi_head.simple_test_bboxes(feat, img_metas, [golden["proposals"]])
            comparison.merge(compare(extra["det_bboxes"], {"bboxes": bboxes, "scores": scores}, "extra.det_bboxes"))
        if "simple_test" in extra:
            np.random.seed(0)
            out = model(img=[x], img_metas=[img_metas], proposals=[[golden["proposals"]]], return_loss=False)
            comparison.merge(compare(extra["simple_test"], out, "extra.simple_test"))
        if "lt_feat" in extra and model.roi_head.with_shared_head:
            np.random.seed(0)
            lt_feat = model.roi_head.shared_head.sample_lfb(rois, img_metas)
            comparison.merge(compare(extra["lt_feat"], lt_feat, "extra.lt_feat"))
    return comparison


def _via_pretrained(model_cfg: Dict[str, Any], golden: Dict[str, Any], directory: str) -> Comparison:
    """The Hub round trip: ``AVAForSpatioTemporalActionDetection`` of the converted config with the
    converted weights, saved and reloaded by ``AutoVideoModel``, scores the golden RoIs."""
    from ..auto import AutoVideoModel
    from ..models.ava import AVAForSpatioTemporalActionDetection

    model = AVAForSpatioTemporalActionDetection(detector_config_from_mmaction2(model_cfg))
    load_mmaction2_state_dict(model, golden["state_dict"], DETECTOR_TABLE, str(golden.get("name")))
    folder = f"{directory}/hub"
    model.save_pretrained(folder)
    reloaded = AutoVideoModel.from_pretrained(folder).eval()
    with torch.no_grad():
        np.random.seed(0)
        out = reloaded(golden["input"].transpose(1, 2), rois=golden["rois"], img_metas=golden["img_metas"])
    return compare(golden["output"], out.logits, "via_pretrained.output")


def check_backbone(golden: Dict[str, Any]) -> Comparison:
    """A bare backbone (``config`` is the backbone cfg): ``backbone(input)``."""
    from ..registry import BACKBONES

    backbone = BACKBONES.build(dict(_plain(golden["config"])))
    load_mmaction2_state_dict(backbone, golden["state_dict"], KeyTable("backbone", (("", ""),)), str(golden.get("name")))
    backbone.eval()
    with torch.no_grad():
        out = backbone(golden["input"])
    return compare(golden["output"], out, "output")


register_kind("roi_extractor", check_roi_extractor)
register_kind("bbox_head_ava", check_bbox_head_ava)
register_kind("fbo_head", check_fbo_head)
register_kind("ava_detector", check_ava_detector)
register_kind("backbone", check_backbone)

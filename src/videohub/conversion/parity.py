"""Parity of videohub with the reference mmaction2 0.24.1 outputs (golden files).

:func:`check_golden_dir` discovers every ``*.pt`` file of a golden directory (format:
``shared/parity/README.md``), decides from each file's ``kind`` what to build, runs it and compares
with the stored reference; :func:`check_funcs` does the same for ``golden_funcs.pt`` (metrics,
localization functions and pipeline steps). A comparison passes when
``|a - b| <= 1e-4 * max|ref| + 1e-5`` holds for every element (NaN must match NaN; see
:mod:`~videohub.conversion.comparison`). One exception, stated in the golden README: uint8 images
produced by interpolating steps (``Resize`` through ``cv2.resize``) may differ by one intensity
level, because OpenCV's SIMD code paths differ between CPUs (on the machine videohub was developed
on, ``cv2.resize`` itself, same OpenCV 5.0.0, differs by 1 in one pixel of the bicubic case). So
those images get an absolute tolerance of 1.

:data:`KIND_HANDLERS` maps each kind to its check: the recognizer kinds (``rec2d``, ``rec3d``,
``audio``, ``skeleton``) here, the localizer kinds from :mod:`~videohub.conversion.localizers` and
the detection kinds from :mod:`~videohub.conversion.detection`. A file of a kind without a handler
fails with "not yet supported: <kind>". With ``via_pretrained`` every whole model
(:data:`WHOLE_MODEL_KINDS`) is checked after ``save_pretrained`` and ``AutoVideoModel.from_pretrained``.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import os
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
import transformers

from ..registry import PIPELINES
from . import detection, localizers
from .comparison import Comparison, compare
from .golden import golden_model, materialize_state_dict, pretrained_round_trip
from .mmaction2 import config_from_mmaction2

RECOGNIZER_KINDS = ("rec2d", "rec3d", "audio")
FUNCS_KIND = "funcs"
# Error of a file whose kind no handler checks yet (an architecture not built yet).
UNSUPPORTED_PREFIX = "not yet supported: "
# mmaction2 module -> videohub module of the functions in golden_funcs.pt
FUNCTION_MODULES = {
    "mmaction.core.evaluation": "videohub.metrics",
    "mmaction.localization": "videohub.localization",
}
PIPELINE_MODULE = "mmaction.datasets.pipelines"
# Pipeline steps whose uint8 ``imgs`` come from cv2 interpolation (tolerance: one intensity level).
INTERPOLATING_STEPS = ("Resize",)
UINT8_INTERPOLATION_ATOL = 1.0


@dataclass
class Result:
    """Outcome of one golden file."""

    name: str
    kind: str
    comparison: Comparison
    error: Optional[str] = None
    details: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.comparison.ok

    def line(self) -> str:
        status = "PASS" if self.ok else "FAIL"
        text = f"{self.name:<40} {self.kind:<8} max_abs_err={self.comparison.max_abs:.3e} rel_err={self.comparison.rel:.3e} {status}"
        if self.error:
            text += f"  {self.error}"
        elif self.comparison.failures:
            text += f"  {self.comparison.failures[0]}"
        return text


# ---------------------------------------------------------------------------------------------
# model kinds
# ---------------------------------------------------------------------------------------------


def recognizer_inputs(kind: str, x: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The mmaction2 recognizer input in videohub's layout.

    - ``rec2d``: ``(N, segments, C, H, W)`` is already ``pixel_values`` ``(B, T, C, H, W)``.
    - ``rec3d``: ``(N, clips, C, T, H, W)`` becomes ``(B, V, T, C, H, W)``.
    - ``audio``: ``(N, clips, 1, T, F)`` is ``input_features`` as it is.
    """
    if kind == "rec2d":
        return {"pixel_values": x}
    if kind == "rec3d":
        return {"pixel_values": x.permute(0, 1, 3, 2, 4, 5).contiguous()}
    if kind == "audio":
        return {"input_features": x}
    raise ValueError(f"not a recognizer kind: {kind!r}")


def check_recognizer(golden: Dict[str, Any]) -> Comparison:
    """Convert a recognizer golden file, run it, compare clip scores and averaged test output."""
    config = config_from_mmaction2(golden["config"])
    model = golden_model(config, golden["state_dict"], source=str(golden.get("name")))
    inputs = recognizer_inputs(golden["kind"], golden["input"])
    np.random.seed(0)  # TRN-MultiScale samples its relations with numpy's global RNG, as the reference
    with torch.no_grad():
        out = model(**inputs)
    comparison = compare(golden["output"], out.clip_logits, "output")
    test_ref = (golden.get("extra") or {}).get("test_output")
    if test_ref is not None:
        logits = out.scores
        if logits.shape != test_ref.shape and logits.numel() == test_ref.numel():
            logits = logits.reshape(test_ref.shape)  # average_clips=None: [B, V, C] vs mmaction2's [B*V, C]
        comparison.merge(compare(test_ref, logits, "extra.test_output"))
    return comparison


def check_skeleton(golden: Dict[str, Any]) -> Comparison:
    """Kind ``skeleton`` (mmaction2 ``SkeletonGCN``): keypoints ``(N, C, T, V, M)`` are ``keypoints`` as
    they are; compare the head's scores, ``extra.test_output`` and ``extra.backbone_feat``."""
    config = config_from_mmaction2(golden["config"])
    model = golden_model(config, golden["state_dict"], source=str(golden.get("name")))
    with torch.no_grad():
        out = model(keypoints=golden["input"], output_hidden_states=True)
    comparison = compare(golden["output"], out.clip_logits, "output")
    extra = golden.get("extra") or {}
    if extra.get("test_output") is not None:
        comparison.merge(compare(extra["test_output"], out.scores, "extra.test_output"))
    if extra.get("backbone_feat") is not None:
        comparison.merge(compare(extra["backbone_feat"], out.hidden_states[0], "extra.backbone_feat"))
    return comparison


# Kinds whose golden file holds a whole converted model (the others hold parts: heads, extractors, backbones).
WHOLE_MODEL_KINDS = RECOGNIZER_KINDS + ("skeleton",) + tuple(localizers.KIND_HANDLERS) + ("ava_detector",)

# golden kind -> check(golden) -> Comparison
KIND_HANDLERS: Dict[str, Callable[[Dict[str, Any]], Comparison]] = {
    **{kind: check_recognizer for kind in RECOGNIZER_KINDS},
    "skeleton": check_skeleton,
    **localizers.KIND_HANDLERS,
    **detection.KIND_HANDLERS,
}


# ---------------------------------------------------------------------------------------------
# golden_funcs.pt
# ---------------------------------------------------------------------------------------------


def _as_numpy_tree(value: Any) -> Any:
    """Tensors back to numpy (as mmaction2 called the functions), recursively."""
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, dict):
        return {k: _as_numpy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_numpy_tree(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_as_numpy_tree(v) for v in value)
    return value


def videohub_function(mm_name: str) -> Callable:
    """The videohub function for an mmaction2 import path (``mmaction.core.evaluation.x`` → ``videohub.metrics.x``)."""
    for prefix, target in FUNCTION_MODULES.items():
        if mm_name.startswith(prefix + "."):
            module = importlib.import_module(target)
            attr = mm_name.rsplit(".", 1)[-1]
            if not hasattr(module, attr):
                raise AttributeError(f"{target} has no {attr!r} (for {mm_name})")
            return getattr(module, attr)
    raise AttributeError(f"no videohub module for {mm_name!r}; known: {sorted(FUNCTION_MODULES)}")


def check_function_case(case: Dict[str, Any]) -> Comparison:
    """Call the videohub counterpart of ``case["func"]`` with the case's arguments; compare its result."""
    fn = videohub_function(case["func"])
    args = _as_numpy_tree(tuple(case["args"]))
    kwargs = _as_numpy_tree(dict(case["kwargs"]))
    return compare(case["output"], fn(*args, **kwargs), case["func"].rsplit(".", 1)[-1])


def check_pipeline_case(case: Dict[str, Any]) -> Comparison:
    """Build the pipeline step ``case["op"]``, run it on ``results_in`` (seeded), compare with ``results_out``."""
    op = case["op"]
    if not op.startswith(PIPELINE_MODULE + "."):
        raise AttributeError(f"unknown pipeline module in {op!r}")
    step = PIPELINES.build(dict(type=op.rsplit(".", 1)[-1], **_as_numpy_tree(dict(case["init"]))))
    results = _as_numpy_tree(dict(case["results_in"]))
    if case.get("seed") is not None:
        np.random.seed(case["seed"])
        random.seed(case["seed"])
    out = step(results)
    name = op.rsplit(".", 1)[-1]
    atol = UINT8_INTERPOLATION_ATOL if name in INTERPOLATING_STEPS else 0.0
    comparison = compare(case["results_out"], out, name, uint8_atol=atol)
    extra = sorted(set(out) - set(case["results_out"]))
    if extra:
        comparison.failures.append(f"{name}: keys not added by mmaction2: {extra}")
    return comparison


def check_funcs(data: Dict[str, Any]) -> Tuple[Comparison, List[str]]:
    """Check every function and pipeline case; return the overall comparison and per-case failures."""
    overall = Comparison()
    details: List[str] = []
    cases = [("function", c, check_function_case) for c in data.get("functions", [])]
    cases += [("pipeline", c, check_pipeline_case) for c in data.get("pipelines", [])]
    for index, (what, case, check) in enumerate(cases):
        label = case.get("func") or case.get("op")
        try:
            comparison = check(case)
        except Exception as exc:  # a missing function or a crash is a failure of that case
            comparison = Comparison(failures=[f"{type(exc).__name__}: {exc}"])
        overall.merge(comparison)
        if not comparison.ok:
            init = case.get("init") or case.get("kwargs") or ""
            details.append(f"{what} #{index} {label} {init}: {comparison.failures[0]}")
    return overall, details


# ---------------------------------------------------------------------------------------------
# the directory
# ---------------------------------------------------------------------------------------------


def golden_kind(data: Dict[str, Any]) -> str:
    """The kind of a loaded golden file (``funcs`` for the functions file)."""
    if "kind" in data:
        return str(data["kind"])
    if "functions" in data or "pipelines" in data:
        return FUNCS_KIND
    return "unknown"


def check_file(path: str, kinds: Optional[Iterable[str]] = None, via_pretrained: bool = False) -> Optional[Result]:
    """Check one golden file; ``None`` when its kind is not in ``kinds``.

    Args:
        path: The golden ``.pt`` file.
        kinds: Only files of these kinds. Default ``None``: every kind.
        via_pretrained: Check whole models after the Hub round trip. Default ``False``.
    """
    name = os.path.basename(path)
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        return Result(name, "?", Comparison(), error=f"cannot read: {exc}")
    if not isinstance(data, dict):
        return Result(name, "?", Comparison(), error=f"not a golden file ({type(data).__name__})")
    kind = golden_kind(data)
    if kinds is not None and kind not in set(kinds):
        return None
    if kind == FUNCS_KIND:
        comparison, details = check_funcs(data)
        error = f"{len(details)} case(s) failed" if details else None
        return Result(name, kind, comparison, error=error, details=details)
    handler = KIND_HANDLERS.get(kind)
    if handler is None:
        return Result(name, kind, Comparison(), error=f"{UNSUPPORTED_PREFIX}{kind}")
    try:
        if isinstance(data.get("state_dict"), dict):
            data["state_dict"] = materialize_state_dict(data["state_dict"])
        with pretrained_round_trip(via_pretrained):
            comparison = handler(data)
    except Exception as exc:
        return Result(name, kind, Comparison(), error=f"{type(exc).__name__}: {exc}")
    return Result(name, kind, comparison)


def check_golden_dir(directory: str, kinds: Optional[Sequence[str]] = None,
                     via_pretrained: bool = False) -> List[Result]:
    """Check every ``*.pt`` file of ``directory``, sorted by name.

    Args:
        directory: The golden directory.
        kinds: Only files of these kinds (files that cannot be read are always reported). Default
            ``None``: every kind.
        via_pretrained: Check whole models after the Hub round trip. Default ``False``.
    """
    results = []
    for path in sorted(glob.glob(os.path.join(directory, "*.pt"))):
        result = check_file(path, kinds, via_pretrained)
        if result is not None:
            results.append(result)
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line of ``scripts/check_parity.py``: one line per file, exit 1 if any fails."""
    parser = argparse.ArgumentParser(
        prog="check_parity",
        description="Compare videohub with the mmaction2 golden files of one or more directories.",
    )
    parser.add_argument("golden_dir", nargs="+",
                        help="directories of golden .pt files (shared/parity/golden, shared/parity/golden_zoo)")
    parser.add_argument("--kinds", nargs="+", metavar="KIND",
                        help=f"only these kinds, e.g. {' '.join(RECOGNIZER_KINDS)} {FUNCS_KIND} (default: all)")
    parser.add_argument("--skip-unsupported", action="store_true",
                        help="report files of a kind no videohub architecture handles yet as SKIP, not FAIL")
    parser.add_argument("--via-pretrained", action="store_true",
                        help="save every converted whole model (kinds: " + ", ".join(WHOLE_MODEL_KINDS) + ") with "
                             "save_pretrained, reload it with AutoVideoModel.from_pretrained and only then compare")
    parser.add_argument("--verbose", action="store_true", help="print every failing case of golden_funcs.pt")
    args = parser.parse_args(argv)
    for directory in args.golden_dir:
        if not os.path.isdir(directory):
            parser.error(f"{directory} is not a directory")
    torch.set_num_threads(min(4, torch.get_num_threads()))
    if args.via_pretrained:
        transformers.utils.logging.disable_progress_bar()  # one line per golden file, not two bars per model
        print("whole models are checked after save_pretrained and AutoVideoModel.from_pretrained", flush=True)
    results = [r for directory in args.golden_dir for r in check_golden_dir(directory, args.kinds, args.via_pretrained)]
    skipped = 0
    for result in results:
        if args.skip_unsupported and (result.error or "").startswith(UNSUPPORTED_PREFIX):
            skipped += 1
            print(f"{result.name:<40} {result.kind:<8} SKIP  architecture not built yet "
                  f"({result.error})", flush=True)
            continue
        print(result.line(), flush=True)
        shown = result.details if args.verbose else result.details[:10]
        for detail in shown:
            print(f"    {detail}")
        if len(result.details) > len(shown):
            print(f"    ... {len(result.details) - len(shown)} more (use --verbose)")
    failed = sum(not r.ok for r in results) - skipped
    print(f"{len(results) - failed - skipped} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    if not results:
        print(f"no golden file of kinds {args.kinds} in {' '.join(args.golden_dir)}")
        return 1
    return 1 if failed else 0

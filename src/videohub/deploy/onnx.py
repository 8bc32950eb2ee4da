"""ONNX export of videohub recognizers, checked with onnxruntime.

:func:`export_onnx` writes the model's averaged class scores (``logits``) as an ONNX graph whose batch
axis is dynamic, then runs the graph with onnxruntime on a random clip of a *different* batch size
and compares with PyTorch: the export fails (:class:`~videohub.deploy.errors.DeployError`) if the
largest difference is above 1e-4 of the largest score. ``onnx`` and ``onnxruntime`` are the optional
``onnx`` extra (``pip install "videohub[onnx]"``); without them a
:class:`~videohub.deploy.errors.MissingDependencyError` says so.

Checked architectures (tests): TSN, TSM (temporal shift), TIN, I3D, SlowFast, X3D, C3D, R(2+1)D, CSN.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

import torch
from torch import nn

from ..utils.logging import get_logger
from .errors import DeployError, MissingDependencyError

logger = get_logger(__name__)

DEFAULT_OPSET = 17
TOLERANCE = 1e-4  # relative to the largest reference score
INPUT_NAME = "pixel_values"
OUTPUT_NAME = "logits"


def require_onnx() -> Tuple[Any, Any]:
    """Import and return ``(onnx, onnxruntime)``, or raise :class:`MissingDependencyError`."""
    try:
        import onnx
        import onnxruntime
    except ImportError as err:
        raise MissingDependencyError(
            f"ONNX export needs the optional packages onnx and onnxruntime ({err}); install them with "
            "pip install \"videohub[onnx]\" (or pip install onnx onnxruntime)") from err
    return onnx, onnxruntime


@dataclass
class OnnxExportReport:
    """Outcome of :func:`export_onnx`.

    Attributes:
        path: The written ``.onnx`` file.
        opset: ONNX opset of the graph.
        export_shape: Input shape used to trace the graph.
        check_shape: Input shape of the onnxruntime check (another batch size).
        max_abs_diff: Largest ``|onnxruntime - PyTorch|`` over the checked scores.
        max_abs_ref: Largest ``|PyTorch|`` score (``max_abs_diff / max_abs_ref`` is the relative error).
        nodes: Number of nodes of the written graph.
        exported_nodes: Number of nodes of the graph before onnxruntime's optimization (equal to
            ``nodes`` without ``optimize``).
    """

    path: str
    opset: int
    export_shape: Tuple[int, ...]
    check_shape: Tuple[int, ...]
    max_abs_diff: float
    max_abs_ref: float
    nodes: int
    exported_nodes: int

    @property
    def relative_diff(self) -> float:
        return self.max_abs_diff / self.max_abs_ref if self.max_abs_ref > 0 else self.max_abs_diff


class _ScoresOnly(nn.Module):
    """``model(**{input_name: x}).logits`` as a one-input, one-output module for the exporter."""

    def __init__(self, model: nn.Module, input_name: str):
        super().__init__()
        self.model = model
        self.input_name = input_name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(**{self.input_name: x}).logits


def export_onnx(
    model: nn.Module,
    output: str,
    input_shape: Sequence[int],
    *,
    opset: int = DEFAULT_OPSET,
    optimize: bool = False,
    check_batch_size: Optional[int] = None,
    seed: int = 0,
) -> OnnxExportReport:
    """Export ``model`` to ONNX (dynamic batch axis) and check it with onnxruntime.

    Args:
        model: A videohub recognizer in eval mode (a model in training mode is refused).
        output: Path of the ``.onnx`` file to write (its folder is created).
        input_shape: Shape of one input, batch first, e.g. ``(1, 8, 3, 224, 224)`` for
            ``pixel_values``; audio models take ``input_features``.
        opset: ONNX opset version. Default 17.
        optimize: Write the graph as onnxruntime optimizes it (``ORT_ENABLE_EXTENDED``: conv +
            activation fusions and other rewrites into onnxruntime's own operators), which loads
            and runs faster in onnxruntime but needs onnxruntime to run. Default ``False``: standard
            ONNX operators only (the exporter already folds eval-mode BatchNorm into the convs).
        check_batch_size: Batch size of the onnxruntime check. Default ``None``: the export batch
            size plus one, so the dynamic batch axis is exercised.
        seed: Seed of the random clips. Default 0.

    Returns:
        An :class:`OnnxExportReport`.

    Raises:
        MissingDependencyError: ``onnx`` or ``onnxruntime`` is not installed.
        DeployError: The model is in training mode, or onnxruntime's scores differ from PyTorch's by
            more than 1e-4 of the largest score.
    """
    onnx, ort = require_onnx()
    from .optimize import check_eval_mode

    check_eval_mode(model, "export_onnx")
    input_shape = tuple(int(v) for v in input_shape)
    if len(input_shape) < 2 or min(input_shape) < 1:
        raise DeployError(f"input_shape must be a batch-first shape of positive sizes, got {input_shape}")
    input_name = getattr(model, "main_input_name", INPUT_NAME)
    wrapper = _ScoresOnly(model, input_name).eval()
    gen = torch.Generator().manual_seed(seed)
    example = torch.randn(*input_shape, generator=gen)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    exported = output + ".plain" if optimize else output
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(wrapper, (example,), exported, dynamo=False, opset_version=opset,
                          input_names=[input_name], output_names=[OUTPUT_NAME],
                          dynamic_axes={input_name: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    graph = onnx.load(exported)
    onnx.checker.check_model(graph)
    exported_nodes = nodes = len(graph.graph.node)
    if optimize:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = output
        ort.InferenceSession(exported, options, providers=["CPUExecutionProvider"])
        os.remove(exported)
        nodes = len(onnx.load(output).graph.node)

    batch = check_batch_size if check_batch_size is not None else input_shape[0] + 1
    check_shape = (batch,) + input_shape[1:]
    clip = torch.randn(*check_shape, generator=gen)
    with torch.no_grad():
        reference = wrapper(clip).numpy()
    session = ort.InferenceSession(output, providers=["CPUExecutionProvider"])
    result = session.run([OUTPUT_NAME], {input_name: clip.numpy()})[0]
    if result.shape != reference.shape:
        raise DeployError(f"onnxruntime returned scores of shape {result.shape} for input {check_shape}, "
                          f"PyTorch {reference.shape}: the exported graph does not handle batch {batch}")
    report = OnnxExportReport(
        path=output, opset=opset, export_shape=input_shape, check_shape=check_shape,
        max_abs_diff=float(abs(result - reference).max()), max_abs_ref=float(abs(reference).max()),
        nodes=nodes, exported_nodes=exported_nodes)
    logger.info("exported %s: %d nodes, onnxruntime vs PyTorch max |diff| %.3g (%.2g relative)", output,
                report.nodes, report.max_abs_diff, report.relative_diff)
    if report.max_abs_diff > TOLERANCE * report.max_abs_ref:
        raise DeployError(
            f"{output}: onnxruntime's scores differ from PyTorch's by {report.max_abs_diff:.3g} "
            f"({report.relative_diff:.2g} of the largest score {report.max_abs_ref:.3g}; allowed {TOLERANCE:g})")
    return report

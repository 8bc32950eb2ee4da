"""Deployment: fast inference (:func:`optimize_for_inference`), int8 quantization and ONNX export.

The ONNX functions need the optional ``onnx`` extra (``pip install "videohub[onnx]"``); they import
``onnx`` and ``onnxruntime`` only when called.
"""

from .errors import DeployError, MissingDependencyError
from .onnx import export_onnx
from .optimize import FusedConv, fold_batch_norms, fuse_convolutions, optimize_for_inference, resolve_memory_format
from .quantize import quantize_int8, warn_if_slow_dtype

__all__ = [
    "DeployError", "MissingDependencyError", "FusedConv", "export_onnx", "fold_batch_norms", "fuse_convolutions",
    "optimize_for_inference", "quantize_int8", "resolve_memory_format", "warn_if_slow_dtype",
]

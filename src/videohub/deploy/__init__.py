"""Deployment: fast inference (:func:`optimize_for_inference`), int8 quantization and ONNX export.

The ONNX functions need the optional ``onnx`` extra (``pip install videohub[onnx]``); they import
``onnx`` and ``onnxruntime`` only when called.
"""

from .errors import DeployError, MissingDependencyError
from .optimize import FusedConv, fold_batch_norms, fuse_convolutions, optimize_for_inference, resolve_memory_format

__all__ = [
    "DeployError", "MissingDependencyError", "FusedConv", "fold_batch_norms", "fuse_convolutions",
    "optimize_for_inference", "resolve_memory_format",
]

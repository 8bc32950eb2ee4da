"""Errors of :mod:`videohub.deploy`."""

from __future__ import annotations

from ..errors import VideohubError


class DeployError(VideohubError, ValueError):
    """A model cannot be optimized, quantized or exported as asked (training mode, bad argument, parity)."""


class MissingDependencyError(VideohubError, ImportError):
    """An optional dependency (``onnx``, ``onnxruntime``) is not installed; the message says how to get it."""

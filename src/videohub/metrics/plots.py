"""PNG pictures of evaluation results: confusion matrix and AR@AN curve (matplotlib, imported lazily)."""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import ShapeError
from .classification import normalize_matrix

__all__ = ["plot_ar_an", "plot_confusion_matrix"]


def _figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` on the Agg canvas (no pyplot state, no display needed)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("videohub's plots need matplotlib: pip install 'videohub[vis]' "
                          "(or pip install matplotlib)") from err
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: str) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    figure.savefig(path, format="png", bbox_inches="tight")
    return path


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], path: str, normalize: Optional[str] = None,
                          title: Optional[str] = None, cmap: str = "Blues") -> str:
    """Draw a confusion matrix (rows: true class, columns: predicted class) to a PNG file.

    Args:
        cm: ``[C, C]`` counts (e.g. from ``confusion_matrix``) or rates.
        class_names: ``C`` names written on both axes.
        path: Output ``.png`` path (folders are created).
        normalize: ``"true"``, ``"pred"``, ``"all"`` or ``None`` (as drawn). Default ``None``.
        title: Figure title. Default ``None`` ("Confusion matrix", with the normalization).
        cmap: Matplotlib colormap name. Default ``"Blues"``.

    Returns:
        ``path``. Cell values are written when there are at most 30 classes.
    """
    matrix = np.asarray(cm)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ShapeError(f"cm has shape {matrix.shape}; expected a square [num_classes, num_classes] matrix")
    if len(class_names) != matrix.shape[0]:
        raise ShapeError(f"class_names has {len(class_names)} names but cm has {matrix.shape[0]} classes")
    matrix = normalize_matrix(matrix.astype(float), normalize)
    size = matrix.shape[0]
    side = min(max(4.0, 0.45 * size + 2.5), 40.0)
    figure = _figure(side + 1.5, side)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(matrix, interpolation="nearest", cmap=cmap, vmin=0.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    font = max(5, min(10, int(180 / max(size, 1))))
    axes.set_xticks(np.arange(size))
    axes.set_yticks(np.arange(size))
    axes.set_xticklabels(class_names, rotation=45, ha="right", rotation_mode="anchor", fontsize=font)
    axes.set_yticklabels(class_names, fontsize=font)
    axes.set_xlabel("Predicted label")
    axes.set_ylabel("True label")
    suffix = f" (normalized over {normalize})" if normalize else ""
    axes.set_title(title if title is not None else f"Confusion matrix{suffix}")
    if size <= 30:
        threshold = matrix.max() / 2.0 if matrix.size else 0.0
        integral = normalize is None and np.allclose(matrix, np.round(matrix))
        for row in range(size):
            for col in range(size):
                value = matrix[row, col]
                text = f"{int(round(value))}" if integral else f"{value:.2f}"
                axes.text(col, row, text, ha="center", va="center", fontsize=font,
                          color="white" if value > threshold else "black")
    return _save(figure, path)


def plot_ar_an(proposals_per_video: np.ndarray, average_recall: np.ndarray, path: str,
               recall: Optional[np.ndarray] = None, temporal_iou_thresholds: Optional[Sequence[float]] = None,
               auc: Optional[float] = None, title: Optional[str] = None) -> str:
    """Draw the AR@AN curve (average recall vs. average number of proposals per video) to a PNG file.

    Args:
        proposals_per_video: ``[K]`` x values (from ``average_recall_at_avg_proposals``).
        average_recall: ``[K]`` average recall over the tIoU thresholds.
        path: Output ``.png`` path (folders are created).
        recall: Optional ``[T, K]`` recall per tIoU threshold, drawn as thin lines. Default ``None``.
        temporal_iou_thresholds: The ``T`` thresholds labelling ``recall``. Default ``None``.
        auc: Area under the curve shown in the legend. Default ``None``.
        title: Figure title. Default ``None`` ("AR@AN").

    Returns:
        ``path``.
    """
    x = np.asarray(proposals_per_video, dtype=float).reshape(-1)
    y = np.asarray(average_recall, dtype=float).reshape(-1)
    if x.shape != y.shape or x.size == 0:
        raise ShapeError(f"proposals_per_video {x.shape} and average_recall {y.shape} must be non-empty and equal")
    figure = _figure(7.0, 5.0)
    axes = figure.add_subplot(1, 1, 1)
    if recall is not None:
        per_threshold = np.asarray(recall, dtype=float)
        if per_threshold.ndim != 2 or per_threshold.shape[1] != x.size:
            raise ShapeError(f"recall has shape {per_threshold.shape}; expected [num_thresholds, {x.size}]")
        labels = (list(temporal_iou_thresholds) if temporal_iou_thresholds is not None
                  else [None] * per_threshold.shape[0])
        if len(labels) != per_threshold.shape[0]:
            raise ShapeError(f"temporal_iou_thresholds has {len(labels)} values but recall has "
                             f"{per_threshold.shape[0]} rows")
        import matplotlib

        palette = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, per_threshold.shape[0]))
        for row, label, color in zip(per_threshold, labels, palette):
            axes.plot(x, row, linewidth=1.0, color=color, label=f"tIoU={label:.2f}" if label is not None else None)
    label = "average recall" + (f" (AUC={auc:.2f})" if auc is not None else "")
    axes.plot(x, y, linewidth=2.5, color="tab:red", label=label)
    axes.set_xlabel("Average number of proposals per video")
    axes.set_ylabel("Recall")
    axes.set_xlim(0, x.max())
    axes.set_ylim(0, 1.02)
    axes.grid(True, linestyle=":", linewidth=0.6)
    axes.set_title(title if title is not None else "AR@AN")
    axes.legend(loc="lower right", fontsize=8)
    return _save(figure, path)

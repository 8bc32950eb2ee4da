"""The PNG writers: files are real PNGs of a sensible size with drawn content; bad input is refused."""

import sys

import numpy as np
import pytest
from PIL import Image

from videohub.errors import ConfigError, ShapeError
from videohub.metrics import average_recall_at_avg_proposals, confusion_matrix, plot_ar_an, plot_confusion_matrix

pytest.importorskip("matplotlib", reason="the plots need the optional matplotlib ([vis] / [dev] extra)")


def _load(path):
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(path).convert("RGB"))


def test_plot_confusion_matrix(tmp_path):
    rng = np.random.default_rng(0)
    real = rng.integers(0, 5, 200)
    pred = np.where(rng.random(200) < 0.7, real, rng.integers(0, 5, 200))
    cm = confusion_matrix(pred, real)
    names = ["jump", "run", "swim", "climb", "dance"]
    raw = _load(plot_confusion_matrix(cm, names, str(tmp_path / "cm.png")))
    normalized = _load(plot_confusion_matrix(cm, names, str(tmp_path / "sub" / "cm_true.png"), normalize="true"))
    assert raw.shape[0] > 200 and raw.shape[1] > 200
    assert len(np.unique(raw.reshape(-1, 3), axis=0)) > 20  # a drawn picture, not a blank canvas
    assert raw.shape != normalized.shape or not np.array_equal(raw, normalized)
    with pytest.raises(ShapeError, match="class_names has 4 names but cm has 5"):
        plot_confusion_matrix(cm, names[:4], str(tmp_path / "x.png"))
    with pytest.raises(ShapeError, match="square"):
        plot_confusion_matrix(cm[:4], names, str(tmp_path / "x.png"))
    with pytest.raises(ConfigError, match="normalize"):
        plot_confusion_matrix(cm, names, str(tmp_path / "x.png"), normalize="rows")


def test_plot_ar_an(tmp_path):
    rng = np.random.default_rng(1)
    gt = {f"v{i}": np.array([[10.0 * i, 10.0 * i + 8]]) for i in range(5)}
    props = {k: np.stack([rng.random(30) * 50, rng.random(30) * 50 + 50, rng.random(30)], axis=1) for k in gt}
    thresholds = np.linspace(0.5, 0.95, 10)
    recall, avg, per_video, auc = average_recall_at_avg_proposals(gt, props, 150, 30, thresholds)
    image = _load(plot_ar_an(per_video, avg, str(tmp_path / "ar_an.png"), recall=recall,
                             temporal_iou_thresholds=thresholds, auc=auc))
    assert image.shape[0] > 200 and len(np.unique(image.reshape(-1, 3), axis=0)) > 20
    with pytest.raises(ShapeError, match="recall has shape"):
        plot_ar_an(per_video, avg, str(tmp_path / "x.png"), recall=recall[:, :50])
    with pytest.raises(ShapeError, match="must be non-empty and equal"):
        plot_ar_an(per_video[:10], avg, str(tmp_path / "x.png"))


def test_missing_matplotlib_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    with pytest.raises(ImportError, match="need matplotlib: pip install 'videohub\\[vis\\]'"):
        plot_ar_an(np.arange(1.0, 4.0), np.array([0.1, 0.2, 0.3]), str(tmp_path / "x.png"))

"""Recognition metrics against hand-worked values, brute-force loops and scikit-learn.

scikit-learn coincides with mmaction2 for: ``confusion_matrix`` (given the sorted union of labels
and the same normalize names), ``average_precision_score`` (the same step-wise AP, per class or per
sample) and ``top_k_accuracy_score`` when scores have no ties. It differs where mmaction2 keeps only
the labels seen (sklearn takes ``labels=``), on ties (sklearn counts tied scores differently) and for
classes without positives (mmaction2: NaN, skipped by ``mean_average_precision``).
"""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import top_k_accuracy_score

from videohub.errors import ConfigError, ShapeError, VideohubError
from videohub.metrics import classification
from videohub.metrics.classification import (binary_precision_recall_curve, confusion_matrix, get_weighted_score,
                                             mean_average_precision, mean_class_accuracy,
                                             mmit_mean_average_precision, softmax, top_k_accuracy, top_k_classes)


@pytest.fixture()
def rng():
    return np.random.default_rng(7)


def _topk_loop(scores, labels, k):
    """Per-sample mmaction2 definition: label among the last k of a stable-free argsort of the row."""
    hits = 0
    for row, label in zip(scores, labels):
        hits += label in np.argsort(row)[-k:]
    return hits / len(labels)


def test_top_k_accuracy_hand_worked():
    scores = [np.array([0.1, 0.5, 0.4]), np.array([0.7, 0.2, 0.1]), np.array([0.3, 0.3, 0.4])]
    labels = [2, 0, 1]
    # sample 0: label 2 is 2nd; sample 1: 1st; sample 2: label 1 ties with 0 behind class 2.
    top1, top2, top3 = top_k_accuracy(scores, labels, (1, 2, 3))
    assert top1 == pytest.approx(1 / 3)
    assert top2 == pytest.approx(_topk_loop(np.stack(scores), labels, 2))
    assert top3 == 1.0
    assert isinstance(top1, np.float64)


def test_top_k_accuracy_random_against_loop_and_sklearn(rng):
    scores = rng.random((300, 12))
    labels = rng.integers(0, 12, 300)
    ks = (1, 3, 5, 11)
    got = top_k_accuracy(scores, labels.tolist(), ks)
    for k, value in zip(ks, got):
        assert value == pytest.approx(_topk_loop(scores, labels, k))
        assert value == pytest.approx(top_k_accuracy_score(labels, scores, k=k, labels=np.arange(12)))


def test_top_k_accuracy_ties_follow_argsort(rng, monkeypatch):
    # Heavily tied integer-valued scores: the result must equal np.argsort's tie order row by row,
    # also when the rows are split into several chunks.
    monkeypatch.setattr(classification, "_TOPK_ROWS", 37)
    scores = rng.integers(0, 3, (200, 40)).astype(np.float32)
    labels = rng.integers(0, 40, 200)
    scores[5, 3] = np.nan  # NaN sorts last
    scores[9, labels[9]] = np.nan  # a NaN labelled score
    scores[11, :] = np.nan
    ranked = np.argsort(scores, axis=1)
    for k, value in zip((1, 5, 17), top_k_accuracy(scores, labels, (1, 5, 17))):
        expected = np.mean([labels[i] in ranked[i, -k:] for i in range(200)])
        assert value == pytest.approx(expected)


def test_top_k_accuracy_errors():
    with pytest.raises(ShapeError, match="labels\\[1\\] = 5"):
        top_k_accuracy(np.zeros((2, 3)), [0, 5])
    with pytest.raises(ShapeError, match="2 entries"):
        top_k_accuracy(np.zeros((2, 3)), [0])
    with pytest.raises(ConfigError, match=">= 1"):
        top_k_accuracy(np.zeros((2, 3)), [0, 1], topk=(0,))
    with pytest.raises(TypeError):
        top_k_accuracy(np.zeros((2, 3)), [0, 1], topk=[1.5])
    with pytest.raises(TypeError, match="integer"):
        top_k_accuracy(np.zeros((2, 3)), [0.0, 1.0])


def test_confusion_matrix_hand_worked():
    cm = confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 1, 1])
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [0, 1, 1]])
    assert cm.dtype == np.int64
    np.testing.assert_allclose(confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 1, 1], "true"),
                               [[1, 0, 0], [0, 0.5, 0.5], [0, 0.5, 0.5]])
    # only labels that occur are kept (5 and 9 -> rows 0 and 1)
    np.testing.assert_array_equal(confusion_matrix(np.array([9, 9]), np.array([5, 9])), [[0, 1], [0, 1]])


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_against_sklearn(rng, normalize):
    pred = rng.integers(0, 30, 500)
    real = rng.integers(2, 28, 500)
    labels = np.unique(np.concatenate((pred, real)))
    expected = sk_confusion_matrix(real, pred, labels=labels, normalize=normalize)
    np.testing.assert_allclose(confusion_matrix(pred, real, normalize), expected)
    # large label values go through np.unique; same result
    np.testing.assert_allclose(confusion_matrix(pred * 10 ** 9, real * 10 ** 9, normalize), expected)


def test_confusion_matrix_errors():
    with pytest.raises(ConfigError, match="normalize"):
        confusion_matrix([0], [0], normalize="rows")
    with pytest.raises(TypeError, match="y_pred.*dtype float64"):
        confusion_matrix(np.array([0.0, 1.0]), [0, 1])
    with pytest.raises(VideohubError, match="y_real must be a list"):
        confusion_matrix([0, 1], "01")
    with pytest.raises(ShapeError, match="y_pred has 3 entries but y_real has 2"):
        confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ShapeError, match="y_real\\[1\\] = -1"):
        confusion_matrix([0, 1], [0, -1])
    with pytest.raises(ShapeError, match="empty"):
        confusion_matrix([], [])
    # any integer dtype is accepted (mmaction2 insists on int64)
    np.testing.assert_array_equal(confusion_matrix(np.array([0, 1], np.int32), np.array([1, 1], np.uint8)),
                                  [[0, 0], [1, 1]])


def test_mean_class_accuracy_and_top_k_classes_hand_worked():
    scores = np.eye(4)[[0, 0, 1, 3, 3, 3]]  # predictions 0 0 1 3 3 3
    labels = [0, 1, 1, 3, 3, 2]
    # classes 0..3: class0 1/1, class1 1/2, class2 0/1, class3 2/2
    assert mean_class_accuracy(scores, labels) == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    accurate = top_k_classes(scores, labels, k=2)
    assert [int(i) for i, _ in accurate] == [3, 0]
    assert [float(v) for _, v in top_k_classes(scores, labels, k=2, mode="inaccurate")] == [0.0, 0.5]
    # a predicted class without samples counts with accuracy 0
    assert mean_class_accuracy(np.eye(3)[[2, 0]], [0, 0]) == pytest.approx(0.25)
    with pytest.raises(ConfigError, match="mode"):
        top_k_classes(scores, labels, mode="best")


def test_mean_class_accuracy_against_loop(rng):
    scores = rng.random((400, 9))
    labels = rng.integers(0, 9, 400)
    pred = scores.argmax(1)
    seen = sorted(set(pred) | set(labels))
    per_class = [np.mean(pred[labels == c] == c) if np.any(labels == c) else 0.0 for c in seen]
    assert mean_class_accuracy(list(scores), labels.tolist()) == pytest.approx(np.mean(per_class))


def _ap_loop(score, truth):
    """Average precision by walking the ranking: precision at the end of each tie group per positive."""
    order = sorted(range(len(score)), key=lambda i: -score[i])
    total, hits, ap = sum(truth), 0, 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and score[order[j + 1]] == score[order[i]]:
            j += 1
        group = [truth[order[m]] for m in range(i, j + 1)]
        hits += sum(group)
        ap += sum(group) * hits / (j + 1)
        i = j + 1
    return ap / total if total else float("nan")


def test_average_precision_against_sklearn_and_loop(rng):
    scores = rng.random((60, 7)).round(2)  # rounding creates ties
    labels = (rng.random((60, 7)) < 0.3).astype(int)
    labels[:, 3] = 0  # class without positives: skipped
    per_class = [average_precision_score(labels[:, c], scores[:, c]) for c in range(7) if c != 3]
    assert mean_average_precision(list(scores), list(labels)) == pytest.approx(np.mean(per_class))
    assert mean_average_precision(scores, labels) == pytest.approx(
        np.mean([_ap_loop(scores[:, c], labels[:, c]) for c in range(7) if c != 3]))
    labels[labels.sum(1) == 0, 0] = 1
    per_sample = [average_precision_score(labels[i], scores[i]) for i in range(60)]
    assert mmit_mean_average_precision(scores, labels) == pytest.approx(np.mean(per_sample))


def test_average_precision_chunks_and_nan(monkeypatch, rng):
    monkeypatch.setattr(classification, "_CHUNK_ROWS", 4)
    scores = rng.random((10, 5))
    labels = (rng.random((10, 5)) < 0.5).astype(int)
    labels[:, 0] = 1
    labels[2] = 0  # a sample without positives -> MMIT NaN
    assert np.isnan(mmit_mean_average_precision(scores, labels))
    assert np.isnan(mean_average_precision(scores, np.zeros_like(labels)))
    expected = np.mean([_ap_loop(scores[:, c], labels[:, c]) for c in range(5) if labels[:, c].any()])
    assert mean_average_precision(scores, labels) == pytest.approx(expected)
    with pytest.raises(ShapeError, match="same shape"):
        mean_average_precision(scores, labels[:, :4])


def test_binary_precision_recall_curve_hand_worked():
    precision, recall, thresholds = binary_precision_recall_curve(np.array([0.9, 0.8, 0.8, 0.3, 0.1]),
                                                                  np.array([1, 0, 1, 0, 1]))
    # thresholds 0.9, 0.8 (two samples), 0.3, 0.1; full recall first reached at 0.1
    np.testing.assert_allclose(thresholds, [0.1, 0.3, 0.8, 0.9])
    np.testing.assert_allclose(precision, [3 / 5, 2 / 4, 2 / 3, 1 / 1, 1])
    np.testing.assert_allclose(recall, [1, 2 / 3, 2 / 3, 1 / 3, 0])
    with pytest.raises(TypeError):
        binary_precision_recall_curve([0.1], np.array([1]))
    with pytest.raises(ShapeError):
        binary_precision_recall_curve(np.array([0.1, 0.2]), np.array([1]))


def test_softmax_and_weighted_score(rng):
    x = rng.normal(size=(4, 6)) * 30
    out = softmax(x)
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(softmax(x, dim=0).sum(axis=0), np.ones(6))

    sets = [rng.random((5, 3)) for _ in range(3)]
    coeffs = [0.5, -1.0, 2.0]
    weighted = get_weighted_score([list(s) for s in sets], coeffs)
    assert isinstance(weighted, list) and len(weighted) == 5
    for n in range(5):
        for c in range(3):
            assert weighted[n][c] == pytest.approx(sum(k * s[n, c] for k, s in zip(coeffs, sets)))
    with pytest.raises(ShapeError, match="score_list\\[1\\] has shape"):
        get_weighted_score([sets[0], sets[1][:, :2]], [1, 1])
    with pytest.raises(ShapeError, match="coeff_list"):
        get_weighted_score(sets, [1.0])

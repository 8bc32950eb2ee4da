"""Top-k accuracy with mmaction2 semantics, as an offline `evaluate` metric module."""

import datasets
import evaluate

from videohub.metrics.classification import top_k_accuracy

_DESCRIPTION = """
Top-k accuracy: the fraction of samples whose label is among the k highest class scores
(ties broken as mmaction2's `np.argsort(scores, axis=1)[:, -k:]`).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): class scores of each sample.
    references (`list` of `int`): ground-truth class index of each sample.
    topk (`int` or `tuple` of `int`): the k values. Default `(1,)`.
Returns:
    `dict`: `{"top1_acc": ..., "top5_acc": ...}`, one key per k.
Examples:
    >>> metric = videohub.metrics.load("top_k_accuracy")
    >>> metric.compute(predictions=[[0.1, 0.9], [0.8, 0.2]], references=[1, 1], topk=(1, 2))
    {'top1_acc': 0.5, 'top2_acc': 1.0}
"""

_CITATION = """
@misc{2020mmaction2,
  title={OpenMMLab's Next Generation Video Understanding Toolbox and Benchmark},
  author={MMAction2 Contributors},
  howpublished={\\url{https://github.com/open-mmlab/mmaction2}},
  year={2020}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class TopKAccuracy(evaluate.Metric):
    """Top-k accuracy of class scores."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("float64")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, topk=(1,)):
        ks = (topk,) if isinstance(topk, int) else tuple(topk)
        values = top_k_accuracy(predictions, references, ks)
        return {f"top{k}_acc": float(value) for k, value in zip(ks, values)}

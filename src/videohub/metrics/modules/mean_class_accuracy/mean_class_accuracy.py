"""Mean class accuracy with mmaction2 semantics, as an offline `evaluate` metric module."""

import datasets
import evaluate

from videohub.metrics.classification import mean_class_accuracy

_DESCRIPTION = """
Mean class accuracy: the accuracy of each class (argmax prediction vs. label), averaged over the classes
seen in the labels or the predictions (a predicted class without samples counts as 0, as in mmaction2).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): class scores of each sample.
    references (`list` of `int`): ground-truth class index of each sample.
Returns:
    `dict`: `{"mean_class_accuracy": float}`.
Examples:
    >>> metric = videohub.metrics.load("mean_class_accuracy")
    >>> metric.compute(predictions=[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], references=[1, 1, 0])
    {'mean_class_accuracy': 0.25}
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
class MeanClassAccuracy(evaluate.Metric):
    """Mean per-class accuracy of class scores."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("float64")), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references):
        return {"mean_class_accuracy": float(mean_class_accuracy(predictions, references))}

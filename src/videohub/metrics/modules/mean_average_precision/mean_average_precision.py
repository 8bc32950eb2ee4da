"""Multi-label mean average precision with mmaction2 semantics, as an offline `evaluate` metric module."""

import datasets
import evaluate

from videohub.metrics.classification import mean_average_precision
from videohub.metrics.classification import mmit_mean_average_precision

_DESCRIPTION = """
Mean average precision for multi-label recognition: the average precision of each class (classes
without positive samples skipped), averaged. With `mmit=True`, the MMIT variant: average precision of
each sample over its classes, averaged over samples.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `list` of `float`): class scores of each sample.
    references (`list` of `list` of `int`): many-hot ground truth of each sample.
    mmit (`bool`): compute the MMIT per-sample variant. Default `False`.
Returns:
    `dict`: `{"mean_average_precision": float}` or `{"mmit_mean_average_precision": float}`.
Examples:
    >>> metric = videohub.metrics.load("mean_average_precision")
    >>> metric.compute(predictions=[[0.9, 0.2], [0.4, 0.8]], references=[[1, 0], [0, 1]])
    {'mean_average_precision': 1.0}
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
class MeanAveragePrecision(evaluate.Metric):
    """Multi-label mAP of class scores."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("float64")),
                    "references": datasets.Sequence(datasets.Value("int64")),
                }
            ),
        )

    def _compute(self, predictions, references, mmit=False):
        if mmit:
            return {"mmit_mean_average_precision": float(mmit_mean_average_precision(predictions, references))}
        return {"mean_average_precision": float(mean_average_precision(predictions, references))}

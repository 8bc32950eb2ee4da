"""ActivityNet proposal metric AR@AN (average recall vs. average number of proposals) and its AUC,
with mmaction2 semantics, as an offline `evaluate` metric module."""

import datasets
import evaluate
import numpy

from videohub.metrics.localization import average_recall_at_avg_proposals

_DESCRIPTION = """
AR@AN: recall of the ground-truth segments by the best-scored proposals of each video, averaged over
tIoU thresholds, as a function of the average number of proposals per video; `auc` is the area under
that curve (in percent). One example per video.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `dict`): per video, `{"segments": [[t_start, t_end], ...], "scores": [...]}`.
    references (`list` of `dict`): per video, `{"segments": [[t_start, t_end], ...]}`.
    max_avg_proposals (`int`): largest average number of proposals per video. Default `100`.
    temporal_iou_thresholds (`list` of `float`): tIoU thresholds. Default `numpy.linspace(0.5, 0.95, 10)`.
Returns:
    `dict`: `{"auc": ..., "AR@1": ..., "AR@5": ..., "AR@10": ..., "AR@100": ...}` (ActivityNetDataset keys).
Examples:
    >>> metric = videohub.metrics.load("ar_an")
    >>> metric.compute(predictions=[{"segments": [[0.0, 5.0]], "scores": [0.9]}],
    ...                references=[{"segments": [[0.0, 5.0]]}])["AR@100"]
    1.0
"""

_CITATION = """
@inproceedings{caba2015activitynet,
  title={ActivityNet: A Large-Scale Video Benchmark for Human Activity Understanding},
  author={Caba Heilbron, Fabian and Escorcia, Victor and Ghanem, Bernard and Niebles, Juan Carlos},
  booktitle={CVPR},
  year={2015}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class ArAn(evaluate.Metric):
    """Average recall at average number of proposals (AR@AN) and AUC."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": {
                        "segments": datasets.Sequence(datasets.Sequence(datasets.Value("float64"))),
                        "scores": datasets.Sequence(datasets.Value("float64")),
                    },
                    "references": {"segments": datasets.Sequence(datasets.Sequence(datasets.Value("float64")))},
                }
            ),
        )

    def _compute(self, predictions, references, max_avg_proposals=100, temporal_iou_thresholds=None):
        thresholds = numpy.linspace(0.5, 0.95, 10) if temporal_iou_thresholds is None else temporal_iou_thresholds
        ground_truth = {}
        proposals = {}
        total = 0
        for index, (prediction, reference) in enumerate(zip(predictions, references)):
            ground_truth[index] = numpy.asarray(reference["segments"], dtype=float).reshape(-1, 2)
            rows = [list(segment[:2]) + [score] for segment, score in zip(prediction["segments"], prediction["scores"])]
            proposals[index] = numpy.asarray(rows, dtype=float).reshape(-1, 3)
            total += len(rows)
        recall, _, _, auc = average_recall_at_avg_proposals(
            ground_truth, proposals, total, max_avg_proposals=max_avg_proposals, temporal_iou_thresholds=thresholds
        )
        result = {"auc": float(auc)}
        for k in (1, 5, 10, 100):
            result[f"AR@{k}"] = float(numpy.mean(recall[:, k - 1]))
        return result

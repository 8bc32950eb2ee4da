"""AVA frame-level mAP@0.5IOU (official AVA protocol, mmaction2's `ava_eval`) as an offline `evaluate`
metric module."""

import datasets
import evaluate

from videohub.metrics.ava import frame_map
from videohub.metrics.ava import read_csv
from videohub.metrics.ava import read_exclusions
from videohub.metrics.ava import read_labelmap

_DESCRIPTION = """
AVA spatio-temporal action detection mAP: Pascal VOC average precision of each action over the person
boxes of every key frame (IoU 0.5), averaged over the actions with ground truth. One example per key
frame; boxes are normalized `[x1, y1, x2, y2]`.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `dict`): per key frame, `{"bboxes": [[x1, y1, x2, y2], ...], "labels": [...],
        "scores": [...]}` (one row per detected (box, action)).
    references (`list` of `dict`): per key frame, `{"video_id": str, "timestamp": int,
        "bboxes": [[x1, y1, x2, y2], ...], "labels": [...]}`.
    label_file (`str`): AVA label map `.pbtxt`; default `None` evaluates the actions of `references`.
    exclude_file (`str`): CSV of excluded `video_id,timestamp`; default `None`.
    custom_classes (`list` of `int`): evaluated subset of action ids; default `None`.
Returns:
    `dict`: `{"mAP@0.5IOU": float}`.
Examples:
    >>> metric = videohub.metrics.load("ava_map")
    >>> metric.compute(predictions=[{"bboxes": [[0.1, 0.1, 0.5, 0.9]], "labels": [12], "scores": [0.8]}],
    ...                references=[{"video_id": "vid", "timestamp": 902, "bboxes": [[0.1, 0.1, 0.5, 0.9]],
    ...                             "labels": [12]}])
    {'mAP@0.5IOU': 1.0}
"""

_CITATION = """
@inproceedings{gu2018ava,
  title={AVA: A Video Dataset of Spatio-temporally Localized Atomic Visual Actions},
  author={Gu, Chunhui and Sun, Chen and Ross, David A and others},
  booktitle={CVPR},
  year={2018}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AvaMap(evaluate.Metric):
    """AVA frame-level mAP@0.5IOU."""

    def _info(self):
        boxes = datasets.Sequence(datasets.Sequence(datasets.Value("float64")))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": {
                        "bboxes": boxes,
                        "labels": datasets.Sequence(datasets.Value("int64")),
                        "scores": datasets.Sequence(datasets.Value("float64")),
                    },
                    "references": {
                        "video_id": datasets.Value("string"),
                        "timestamp": datasets.Value("int64"),
                        "bboxes": boxes,
                        "labels": datasets.Sequence(datasets.Value("int64")),
                    },
                }
            ),
        )

    def _compute(self, predictions, references, label_file=None, exclude_file=None, custom_classes=None):
        gt_rows = []
        det_rows = []
        for prediction, reference in zip(predictions, references):
            frame = [reference["video_id"], reference["timestamp"]]
            for box, label in zip(reference["bboxes"], reference["labels"]):
                gt_rows.append(frame + list(box[:4]) + [label])
            for box, label, score in zip(prediction["bboxes"], prediction["labels"], prediction["scores"]):
                det_rows.append(frame + list(box[:4]) + [label, score])
        if label_file is not None:
            categories, class_ids = read_labelmap(label_file)
        else:
            class_ids = {row[6] for row in gt_rows}
            categories = [{"id": class_id, "name": str(class_id)} for class_id in sorted(class_ids)]
        if custom_classes is not None:
            chosen = [class_id for class_id in custom_classes if class_id != 0]
            categories = [cat for cat in categories if cat["id"] in chosen]
            class_ids = set(chosen)
        gt_boxes, gt_labels, _ = read_csv(gt_rows, class_ids)
        detections = read_csv(det_rows, class_ids)
        metrics = frame_map((gt_boxes, gt_labels), detections, categories, read_exclusions(exclude_file))
        return {"mAP@0.5IOU": float(metrics["mAP@0.5IOU"])}

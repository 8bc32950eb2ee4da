"""HVU evaluation: mean average precision of each tag category (mmaction2 ``HVUDataset.evaluate``)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Sequence

import numpy as np

from ..errors import ConfigError, ShapeError
from ._validation import as_score_matrix
from .classification import mean_average_precision

__all__ = ["hvu_category_map", "label2array"]


def label2array(num: int, label: Any) -> np.ndarray:
    """Many-hot float32 vector of length ``num`` with ones at ``label`` (an index or a list of indices)."""
    array = np.zeros(num, dtype=np.float32)
    array[label] = 1.0
    return array


def hvu_category_map(results: Sequence[np.ndarray], gt_labels_per_category: Sequence[Mapping[str, Sequence[int]]],
                     categories: Sequence[str], category_nums: Sequence[int]) -> Dict[str, float]:
    """mAP of each tag category over the videos annotated in that category.

    Args:
        results: Per video, scores of all tags ``[sum(category_nums)]``, categories concatenated in
            the order of ``categories``.
        gt_labels_per_category: Per video, ``{category: [tag indices within the category]}``.
        categories: Tag category names, e.g. ``["action", "attribute", "concept", ...]``.
        category_nums: Number of tags of each category.

    Returns:
        ``{"<category>_mAP": value}`` (NaN for a category without annotated video).
    """
    if len(categories) != len(category_nums):
        raise ConfigError(f"categories has {len(categories)} names but category_nums has {len(category_nums)}")
    if len(results) != len(gt_labels_per_category):
        raise ShapeError(f"results has {len(results)} videos but gt_labels_per_category has "
                         f"{len(gt_labels_per_category)}")
    total = int(sum(category_nums))
    scores = as_score_matrix(results, "results")
    if scores.shape[1] != total:
        raise ShapeError(f"results has shape {scores.shape}; expected [num_videos, {total}] (sum of category_nums)")
    starts = np.concatenate(([0], np.cumsum(category_nums)[:-1])).astype(int)
    eval_results: Dict[str, float] = {}
    for category, start, num in zip(categories, starts, category_nums):
        annotated = [i for i, labels in enumerate(gt_labels_per_category) if category in labels]
        if not annotated:
            eval_results[f"{category}_mAP"] = np.nan
            continue
        try:
            truth = np.stack([label2array(num, gt_labels_per_category[i][category]) for i in annotated])
        except IndexError as err:
            raise ShapeError(f"a '{category}' tag index is outside the {num} tags of that category ({err})") from err
        eval_results[f"{category}_mAP"] = mean_average_precision(scores[annotated, start:start + num], truth)
    return eval_results

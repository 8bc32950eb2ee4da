"""``LoadHVULabel``: HVU multi-category tags → multi-hot label and masks."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

import torch

from ...errors import AnnotationError, ConfigError
from ...registry import PIPELINES
from .compose import PipelineStep, require_keys


@PIPELINES.register()
class LoadHVULabel(PipelineStep):
    """Convert the HVU label dict ``{category: [tag indices]}`` to tensors.

    The tags of all categories share one multi-hot vector: category ``c`` owns the slice
    ``[start_c, start_c + category_nums[c])`` in the order of ``categories``.

    Required keys: ``label``, ``categories``, ``category_nums``. Added or modified keys:
    ``label`` (multi-hot, float), ``mask`` (1 on the slices of the categories this video is
    annotated for), ``category_mask`` (1 per annotated category). Categories absent from
    ``categories`` are skipped.

    Args:
        **kwargs: Accepted and ignored (mmaction2 signature). The category layout comes from the
            first ``results`` seen.
    """

    def __init__(self, **kwargs: Any):
        self.hvu_initialized = False
        self.kwargs = kwargs

    def init_hvu_info(self, categories: Sequence[str], category_nums: Sequence[int]) -> None:
        """Record the category order and sizes and each category's start index."""
        if len(categories) != len(category_nums):
            raise ConfigError(
                f"LoadHVULabel: {len(categories)} categories but {len(category_nums)} category_nums"
            )
        self.categories = list(categories)
        self.category_nums = list(category_nums)
        self.num_categories = len(self.categories)
        self.num_tags = sum(self.category_nums)
        self.category2num = dict(zip(self.categories, self.category_nums))
        starts: List[int] = [0]
        for num in self.category_nums[:-1]:
            starts.append(starts[-1] + num)
        self.start_idx = starts
        self.category2startidx = dict(zip(self.categories, starts))
        self.hvu_initialized = True

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        require_keys(results, ("label", "categories", "category_nums"), "LoadHVULabel")
        if not self.hvu_initialized:
            self.init_hvu_info(results["categories"], results["category_nums"])
        onehot = torch.zeros(self.num_tags)
        onehot_mask = torch.zeros(self.num_tags)
        category_mask = torch.zeros(self.num_categories)
        for category, tags in results["label"].items():
            if category not in self.categories:
                continue
            category_mask[self.categories.index(category)] = 1.0
            start = self.category2startidx[category]
            size = self.category2num[category]
            for tag in tags:
                if not 0 <= tag < size:
                    raise AnnotationError(
                        f"LoadHVULabel: tag {tag} of category {category!r} is out of range [0, {size}) "
                        f"(video {results.get('filename', results.get('frame_dir', '?'))!r})"
                    )
            onehot[[tag + start for tag in tags]] = 1.0
            onehot_mask[start : start + size] = 1.0
        results["label"] = onehot
        results["mask"] = onehot_mask
        results["category_mask"] = category_mask
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(hvu_initialized={self.hvu_initialized})"

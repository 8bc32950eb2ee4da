"""Golden parity of the detection parts (shared/parity/README.md §3, §3a)."""

import os

import pytest

import videohub.conversion.detection  # noqa: F401  (registers the kinds)
from videohub.conversion.parity import check_file

DETECTION_FILES = [
    "roi_align_aligned", "roi_align_legacy_global", "roi_align_max_s2_tframes", "roi_align_two_pathway",
    "ava_bbox_head_avg_max", "ava_bbox_head_max_avg", "fbo_avg", "fbo_max", "fbo_non_local",
    "ava_fastrcnn_slowonly_r18", "ava_slowfast_r18_backbone",
]


@pytest.mark.parametrize("name", DETECTION_FILES)
def test_golden(golden_path, name):
    path = os.path.join(golden_path, name + ".pt")
    if not os.path.exists(path):
        pytest.skip(f"golden file {path!r} not found")
    result = check_file(path)
    assert result is not None
    assert result.ok, result.line()

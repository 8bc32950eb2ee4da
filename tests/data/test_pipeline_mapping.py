"""docs/mmaction2_mapping.md: every non-decoding pipeline name of the reference maps and resolves."""

import importlib
import os
import re

import pytest

import videohub.data.pipelines  # noqa: F401
from videohub.registry import PIPELINES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAPPING = os.path.join(ROOT, "docs", "mmaction2_mapping.md")
REFERENCE = os.path.join(ROOT, "..", "shared", "reference", "mmaction2-v0-api.txt")
DECODING = {
    "PyAVInit", "PyAVDecode", "PyAVDecodeMotionVector", "DecordInit", "DecordDecode", "OpenCVInit",
    "OpenCVDecode", "RawFrameDecode", "ImageDecode", "FrameSelector", "BuildPseudoClip",
}


def _rows():
    text = open(MAPPING).read()
    return re.findall(r"^\| `(mmaction\.datasets\.pipelines\.[^`]+)` \| `([^`]+)` \|", text, flags=re.M)


def _resolve(path):
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def test_every_mapping_row_resolves():
    rows = _rows()
    assert len(rows) >= 40
    for source, target in rows:
        obj = _resolve(target)
        assert obj.__name__ == source.rsplit(".", 1)[-1], (source, target)


def test_every_reference_step_is_mapped_and_registered():
    if not os.path.exists(REFERENCE):
        pytest.skip(f"reference {REFERENCE} not found")
    names = set(re.findall(r"^class mmaction\.datasets\.pipelines\.(\w+)[(\[]", open(REFERENCE).read(), flags=re.M))
    mapped = {source.rsplit(".", 1)[-1] for source, _ in _rows()}
    mine = names - DECODING
    assert mine <= mapped, sorted(mine - mapped)
    assert (mine - {"Compose"}) <= set(PIPELINES), sorted(mine - set(PIPELINES))

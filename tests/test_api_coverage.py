"""docs/mmaction2_mapping.md maps every public name of the mmaction2 v0.x reference to a videohub object."""

import importlib
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAPPING = os.path.join(ROOT, "docs", "mmaction2_mapping.md")
REFERENCE = os.path.join(ROOT, "..", "shared", "reference", "mmaction2-v0-api.txt")
MODULES = {"apis", "core", "datasets", "localization", "models", "utils"}


def rows():
    text = open(MAPPING, encoding="utf-8").read()
    return dict(re.findall(r"^\| `(mmaction\.[^`]+)` \| `([^`]+)` \|", text, flags=re.M))


def resolves(target):
    if not target.startswith("videohub"):
        return os.path.exists(os.path.join(ROOT, target))
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_every_row_resolves():
    broken = [f"{src} -> {dst}" for src, dst in rows().items() if not resolves(dst)]
    assert not broken, broken


def test_every_reference_name_is_mapped():
    if not os.path.exists(REFERENCE):
        pytest.skip(f"mmaction2 API reference {REFERENCE} not found")
    pattern = re.compile(r"^(?:class )?(mmaction\.[A-Za-z0-9_.]+)")
    with open(REFERENCE, encoding="utf-8") as f:
        names = {m.group(1) for line in f if (m := pattern.match(line)) and m.group(1).split(".")[-1] not in MODULES}
    mapped = rows()
    short = {name.rsplit(".", 1)[-1] for name in mapped}
    missing = sorted(n for n in names if n not in mapped and n.rsplit(".", 1)[-1] not in short)
    assert not missing, missing

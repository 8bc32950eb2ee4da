"""Helpers shared by the layer-level golden tests (imported as ``golden_helpers``)."""

import os
import zipfile

import pytest

from videohub.conversion.golden import golden_dir


def golden_params(type_names):
    """Golden files whose pickled config mentions one of ``type_names`` (confirmed on load)."""
    path = golden_dir()
    if not os.path.isdir(path):
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"golden directory {path!r} not found"))]
    names = []
    for fname in sorted(os.listdir(path)):
        if not fname.endswith(".pt") or fname == "golden_funcs.pt":
            continue
        with zipfile.ZipFile(os.path.join(path, fname)) as zf:
            data = zf.read(next(n for n in zf.namelist() if n.endswith("data.pkl")))
        if any(t.encode() in data for t in type_names):
            names.append(fname[:-3])
    return names


def part(state_dict, prefix):
    return {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}


def assert_close_to_ref(actual, ref, what):
    bound = 1e-4 * ref.abs().max().item() + 1e-5
    err = (actual - ref).abs().max().item()
    assert actual.shape == ref.shape, f"{what}: shape {tuple(actual.shape)} vs {tuple(ref.shape)}"
    assert err <= bound, f"{what}: max |a-b| = {err:.3g} > {bound:.3g}"

"""Shared fixtures: the parity golden directory, small synthetic data, a fresh Accelerate state."""

import os

import pytest
import torch

from videohub.conversion.golden import golden_dir, load_golden

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def golden_path():
    """Directory of mmaction2 golden files; tests using it skip when it is absent."""
    path = golden_dir()
    if not os.path.isdir(path):
        pytest.skip(f"parity golden directory {path!r} not found (set VIDEOHUB_GOLDEN_DIR)")
    return path


@pytest.fixture(scope="session")
def golden(golden_path):
    """``golden("tsn_r18")`` loads ``<golden dir>/tsn_r18.pt`` (skips if that file is absent)."""
    cache = {}

    def load(name):
        path = os.path.join(golden_path, name if name.endswith(".pt") else name + ".pt")
        if not os.path.exists(path):
            pytest.skip(f"golden file {path!r} not found")
        if path not in cache:
            cache[path] = load_golden(path)
        return cache[path]

    return load


def _reset_accelerate():
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture
def fresh_accelerate():
    """Each in-process run gets its own Accelerate state (as a new process would); one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    _reset_accelerate()
    yield _reset_accelerate
    _reset_accelerate()
    torch.set_num_threads(threads)

"""Fixtures of the layer tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are small: one intra-op thread is faster than several on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

"""Fixtures of the localization tests: small synthetic BSN-chain files and SSN frame folders."""

from __future__ import annotations

import pytest
from localization.synthetic_localization import make_pem_data, make_ssn_data


@pytest.fixture(scope="module")
def small_pem_data(tmp_path_factory):
    """``(root, splits)``: PGM proposals and BSP features of 6 training and 3 validation videos."""
    root = tmp_path_factory.mktemp("pem_chain")
    return root, make_pem_data(root, num_train=6, num_val=3)


@pytest.fixture(scope="module")
def small_ssn_data(tmp_path_factory):
    """``(root, blocks)``: frame folders and proposal files of 4 training and 3 validation videos."""
    root = tmp_path_factory.mktemp("ssn_frames")
    return root, make_ssn_data(root, num_train=4, num_val=3)

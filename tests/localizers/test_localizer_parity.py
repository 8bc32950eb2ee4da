"""Golden parity of TEM, PEM, BMN and SSN with mmaction2 0.24.1 (shared/parity/golden)."""

import copy

import pytest
import torch

from videohub.conversion.localizers import check_bmn, check_pem, check_ssn, check_tem, load_localizer
from videohub.conversion.parity import check_file
from videohub.errors import CheckpointError

CASES = [("tem_small", check_tem), ("tem_small_ratio1", check_tem), ("pem_small", check_pem),
         ("pem_small_ratio1", check_pem), ("bmn_small", check_bmn), ("ssn_r18_stpp111", check_ssn)]


@pytest.mark.parametrize("name,check", CASES, ids=[c[0] for c in CASES])
def test_golden_parity(golden, name, check):
    data = golden(name)
    comparison = check(data)
    assert comparison.ok, comparison.failures
    assert comparison.max_abs <= 1e-4 * comparison.max_ref + 1e-5


def test_check_file_dispatches_by_kind(golden_path):
    result = check_file(f"{golden_path}/tem_small_ratio1.pt")
    assert result.kind == "tem" and result.ok, result.line()


def test_parity_detects_a_changed_weight(golden):
    data = copy.deepcopy(golden("tem_small_ratio1"))
    data["state_dict"]["conv3.bias"] = data["state_dict"]["conv3.bias"] + 0.5
    assert not check_tem(data).ok


def test_bmn_forward_test_proposals(golden):
    data = golden("bmn_small")
    model = load_localizer(data["config"], data["state_dict"])
    with torch.no_grad():
        out = model(data["input"], return_loss=False, video_meta=data["video_meta"])
    ref = data["extra"]["post_processed"][0]["proposal_list"]
    assert len(out[0]["proposal_list"]) == len(ref) == data["config"]["post_process_top_k"]
    got = [v for p in out[0]["proposal_list"] for v in p["segment"]]
    assert got == pytest.approx([v for p in ref for v in p["segment"]], abs=1e-5)


def test_missing_key_is_reported(golden):
    data = golden("pem_small")
    state = {k: v for k, v in data["state_dict"].items() if k != "fc2.bias"}
    with pytest.raises(CheckpointError, match="fc2.bias"):
        load_localizer(data["config"], state, "pem_small")

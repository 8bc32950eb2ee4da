"""The parity checker: comparison rules, input layouts, and the run on the shared golden files."""

import math
import os

import numpy as np
import pytest
import torch

from videohub.conversion import parity
from videohub.conversion.comparison import compare
from videohub.conversion.detection import check_ava_detector
from videohub.conversion.golden import golden_zoo_dir
from videohub.conversion.localizers import check_bmn
from videohub.conversion.parity import (
    KIND_HANDLERS, RECOGNIZER_KINDS, UNSUPPORTED_PREFIX, WHOLE_MODEL_KINDS, check_file, check_golden_dir,
    recognizer_inputs,
)
from videohub.errors import CheckpointError


def test_compare_tolerance_boundary():
    ref = torch.tensor([10.0, -20.0])
    limit = 1e-4 * 20 + 1e-5  # 0.00201
    assert compare(ref, ref + torch.tensor([0.0, 0.002])).ok
    bad = compare(ref, ref + torch.tensor([0.0, 0.0021]))
    assert not bad.ok and math.isclose(bad.max_abs, 0.0021, rel_tol=1e-4) and bad.max_ref == 20.0
    assert "max |a-b| = 2.100e-03 > 0.0001 * 2.000e+01 + 1e-05" in bad.failures[0]
    assert limit < 0.0021


def test_compare_nested_values_and_nan():
    ref = {"a": [1, 2.5, (3, "x")], "b": torch.tensor([float("nan"), 1.0], dtype=torch.float64)}
    out = {"a": [1, 2.5, (3, "x")], "b": np.array([np.nan, 1.0])}
    assert compare(ref, out).ok
    assert "NaN at different positions" in compare(ref, dict(out, b=np.array([0.0, 1.0]))).failures[0]
    assert "missing keys ['b']" in compare(ref, {"a": out["a"]}).failures[0]
    assert "'y' != expected 'x'" in compare(ref, dict(out, a=[1, 2.5, (3, "y")])).failures[0]
    assert "shape (3,), expected (2,)" in compare(torch.zeros(2), np.zeros(3)).failures[0]
    assert "expected 3 items, got 2" in compare([(0, 0.1), (1, 0.2), "z"], [(0, 0.1), (1, 0.2)]).failures[0]


def test_compare_uint8_tolerance_only_where_asked():
    ref = np.array([[10, 200]], dtype=np.uint8)
    out = np.array([[11, 200]], dtype=np.uint8)
    assert not compare(ref, out).ok
    assert compare(ref, out, uint8_atol=1.0).ok
    assert not compare(ref, out + np.uint8(1), uint8_atol=1.0).ok


def test_recognizer_input_layouts():
    x = torch.arange(2 * 3 * 3 * 4 * 5 * 6, dtype=torch.float32).reshape(2, 3, 3, 4, 5, 6)  # N, clips, C, T, H, W
    v = recognizer_inputs("rec3d", x)["pixel_values"]
    assert v.shape == (2, 3, 4, 3, 5, 6)  # B, V, T, C, H, W
    assert v[1, 2, 3, 0, 4, 5] == x[1, 2, 0, 3, 4, 5]
    y = torch.zeros(1, 8, 3, 4, 4)
    assert recognizer_inputs("rec2d", y)["pixel_values"] is y
    assert recognizer_inputs("audio", y)["input_features"] is y


def test_every_kind_of_the_golden_readme_has_a_handler():
    assert set(KIND_HANDLERS) == {"rec2d", "rec3d", "audio", "skeleton", "tem", "pem", "bmn", "ssn", "roi_extractor",
                                  "bbox_head_ava", "fbo_head", "ava_detector", "backbone"}


def _perturbed(data, key, delta):
    data = dict(data, state_dict=dict(data["state_dict"]))
    data["state_dict"][key] = data["state_dict"][key] + delta
    return data


def test_bmn_golden_goes_through_the_videohub_model(golden):
    """check_bmn converts the golden BMN to BMNForTemporalActionLocalization: a changed weight shows in
    the model's outputs and in its post-processed proposals."""
    data = golden("bmn_small")
    assert check_bmn(data).ok
    failures = check_bmn(_perturbed(data, "x_1d_p.0.bias", 0.5)).failures
    assert any(f.startswith("output['confidence_map']") for f in failures), failures
    assert any(f.startswith("extra.post_processed (post_process)") for f in failures), failures


def test_ava_golden_goes_through_the_videohub_model(golden):
    data = golden("ava_fastrcnn_slowonly_r18")
    assert check_ava_detector(data).ok
    failures = check_ava_detector(_perturbed(data, "roi_head.bbox_head.fc_cls.bias", 0.5)).failures
    assert any(f.startswith("output") for f in failures), failures
    assert not any(f.startswith("extra.backbone_feat") for f in failures), failures  # the backbone is untouched
    wrong_name = dict(data, state_dict={k.replace("roi_head.", "head.", 1): v for k, v in data["state_dict"].items()})
    with pytest.raises(CheckpointError, match=r"keys outside the detector prefixes \['backbone.', 'roi_head.'\]"):
        check_ava_detector(wrong_name)


def test_unknown_and_unsupported_kinds_fail(tmp_path):
    torch.save({"kind": "hologram", "name": "h", "config": {}, "state_dict": {}}, tmp_path / "h.pt")
    (tmp_path / "broken.pt").write_bytes(b"nope")
    results = {r.name: r for r in check_golden_dir(str(tmp_path))}
    assert results["h.pt"].error == "not yet supported: hologram" and not results["h.pt"].ok
    assert results["broken.pt"].error.startswith("cannot read")
    assert results["h.pt"].line().endswith("FAIL  not yet supported: hologram")
    assert [r.name for r in check_golden_dir(str(tmp_path), kinds=["rec2d"])] == ["broken.pt"]  # kind unknown: reported


def test_main_exit_codes(tmp_path, capsys):
    torch.save({"kind": "hologram", "name": "t", "config": {}, "state_dict": {}}, tmp_path / "t.pt")
    assert parity.main([str(tmp_path)]) == 1
    assert "not yet supported: hologram" in capsys.readouterr().out
    assert parity.main([str(tmp_path), "--kinds", "rec2d"]) == 1  # nothing of that kind: not a pass
    assert "no golden file of kinds ['rec2d']" in capsys.readouterr().out


def test_main_skips_unsupported_kinds_only_when_asked(tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    torch.save({"kind": "hologram", "name": "t", "config": {}, "state_dict": {}}, first / "t.pt")
    (second / "broken.pt").write_bytes(b"nope")
    assert parity.main([str(first), "--skip-unsupported"]) == 0
    out = capsys.readouterr().out
    assert "SKIP  architecture not built yet (not yet supported: hologram)" in out and "0 passed, 0 failed, 1 skipped" in out
    assert parity.main([str(first), str(second), "--skip-unsupported"]) == 1  # an unreadable file still fails
    out = capsys.readouterr().out
    assert "broken.pt" in out and "0 passed, 1 failed, 1 skipped" in out


def _zoo_files():
    path = golden_zoo_dir()
    if not os.path.isdir(path):
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"golden_zoo directory {path!r} not found "
                                                                "(set VIDEOHUB_GOLDEN_ZOO_DIR)"))]
    return sorted(name for name in os.listdir(path) if name.endswith(".pt"))


@pytest.fixture
def reloads(monkeypatch):
    """Counts the models ``AutoVideoModel.from_pretrained`` reads back."""
    from videohub.auto import AutoVideoModel

    calls = []
    original = AutoVideoModel.from_pretrained.__func__

    def counted(cls, *args, **kwargs):
        calls.append(args[0])
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(AutoVideoModel, "from_pretrained", classmethod(counted))
    return calls


@pytest.mark.parametrize("name", _zoo_files())
def test_every_golden_zoo_file_passes_via_pretrained(name, reloads):
    result = check_file(os.path.join(golden_zoo_dir(), name), via_pretrained=True)
    if (result.error or "").startswith(UNSUPPORTED_PREFIX):
        pytest.skip(f"{name}: architecture not built yet ({result.error})")
    assert result.ok, result.line()
    assert len(reloads) == 1  # the compared model is the one read back


def test_golden_zoo_holds_the_three_timesformer_files():
    names = [n for n in _zoo_files() if isinstance(n, str)]
    if not names:
        pytest.skip(f"golden_zoo directory {golden_zoo_dir()!r} not found (set VIDEOHUB_GOLDEN_ZOO_DIR)")
    assert {"timesformer_divst_tiny.pt", "timesformer_jointst_tiny.pt", "timesformer_spaceonly_tiny.pt"} <= set(names)


def test_a_wrong_weight_is_detected(tmp_path, golden_path):
    data = torch.load(os.path.join(golden_path, "tsn_r18.pt"), weights_only=True)
    data["state_dict"]["cls_head.fc_cls.bias"] = data["state_dict"]["cls_head.fc_cls.bias"] + 0.01
    torch.save(data, tmp_path / "tsn_r18_perturbed.pt")
    result = check_file(str(tmp_path / "tsn_r18_perturbed.pt"))
    assert not result.ok and result.comparison.max_abs > 0.009
    assert result.comparison.failures[0].startswith("output:")


@pytest.mark.slow  # runs every golden file: 46 models and parts, and golden_funcs.pt (about a minute of CPU)
def test_every_golden_file_passes_via_pretrained(golden_path, reloads):
    """Every golden file passes, every whole model after save_pretrained and AutoVideoModel.from_pretrained."""
    results = check_golden_dir(golden_path, via_pretrained=True)
    recognizers = [r for r in results if r.kind in RECOGNIZER_KINDS]
    assert len(recognizers) == 29 and len(results) == 47
    failed = [r.line() for r in results if not r.ok]
    assert not failed, "\n".join(failed)
    whole = [r for r in results if r.kind in WHOLE_MODEL_KINDS]
    assert {r.kind for r in whole} == {"rec2d", "rec3d", "audio", "tem", "pem", "bmn", "ssn", "ava_detector"}
    # one reload per whole model; SSN converts its train and its test config
    assert len(reloads) == len(whole) + sum(r.kind == "ssn" for r in whole)


def test_via_pretrained_compares_the_reloaded_model(golden_path, monkeypatch):
    """A weight changed on the way through from_pretrained fails the check; without the round trip it passes."""
    from videohub.auto import AutoVideoModel

    original = AutoVideoModel.from_pretrained.__func__

    def tampered(cls, *args, **kwargs):
        model = original(cls, *args, **kwargs)
        with torch.no_grad():
            model.cls_head.fc_cls.bias.add_(0.5)
        return model

    monkeypatch.setattr(AutoVideoModel, "from_pretrained", classmethod(tampered))
    path = os.path.join(golden_path, "tsn_r18.pt")
    assert check_file(path).ok
    result = check_file(path, via_pretrained=True)
    assert not result.ok and result.comparison.failures[0].startswith("output:")


def test_main_via_pretrained_flag(golden_path, capsys):
    assert parity.main([golden_path, "--kinds", "tem", "--via-pretrained"]) == 0
    out = capsys.readouterr().out
    assert "after save_pretrained and AutoVideoModel.from_pretrained" in out and "2 passed, 0 failed" in out


def test_golden_funcs_pass(golden_path):
    result = check_file(os.path.join(golden_path, "golden_funcs.pt"))
    assert result.kind == "funcs"
    assert result.ok, "\n".join(result.details)

"""``videohub convert``: clear errors for missing inputs, an unreachable checkpoint URL or Hub; presets of every family."""

import json

import pytest
import torch

from videohub.cli import main
from videohub.conversion import presets

PRESET = "tsn_r50_1x1x3_100e_kinetics400_rgb"


def test_preset_offline_says_the_url_is_unreachable(tmp_path, closed_port, capsys, monkeypatch):
    url = f"http://127.0.0.1:{closed_port}/tsn_r50-12345678.pth"
    entry = dict(presets.get_preset(PRESET), checkpoint_url=url)
    monkeypatch.setattr(presets, "get_preset", lambda name: entry)
    code = main(["convert", "--preset", PRESET, "--output", str(tmp_path / "out"), "--cache-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    error = [line for line in err.splitlines() if line.startswith("videohub convert: error: ")]
    assert error == [f"videohub convert: error: cannot download the checkpoint of preset {PRESET}: {url} is "
                     f"unreachable (Connection refused). Download it where the URL can be reached and "
                     "pass the file with --checkpoint FILE.pth (the preset still supplies the config)"]


@pytest.mark.parametrize("argv, message", [
    (["--preset", PRESET], "--output is required"),
    (["--config", "missing.py", "--checkpoint", "x.pth", "--output", "out"], "--config missing.py: no such file"),
    (["--preset", PRESET, "--checkpoint", "missing.pth", "--output", "out"], "--checkpoint missing.pth: no such file"),
    (["--output", "out"], "--checkpoint is required unless --preset"),
    (["--preset", "no_such_preset", "--output", "out"], "unknown preset 'no_such_preset'"),
    (["--preset", "bsn_400x100_1x16_20e_activitynet_feature_cuhk_mean_100", "--output", "out"],
     "'bsn_400x100_1x16_20e_activitynet_feature_cuhk_mean_100' is a BSN pipeline of two checkpoints: convert its "
     "presets ['bsn_tem_400x100_1x16_20e_activitynet_feature_cuhk_mean_100', "
     "'bsn_pem_400x100_1x16_20e_activitynet_feature_cuhk_mean_100'] one by one"),
])
def test_bad_arguments_are_clear_errors(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["convert", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("videohub convert: error: ") and message in err


def test_output_that_is_a_file(tmp_path, capsys):
    (tmp_path / "out").write_text("")
    (tmp_path / "x.pth").write_bytes(b"")
    assert main(["convert", "--checkpoint", str(tmp_path / "x.pth"), "--output", str(tmp_path / "out")]) == 2
    assert f"--output {tmp_path / 'out'} is a file; expected a folder" in capsys.readouterr().err


def test_push_to_an_unreachable_hub_fails_before_converting(tmp_path, closed_port, capsys):
    from videohub.hub import use_endpoint

    (tmp_path / "x.pth").write_bytes(b"not read: the Hub is checked first")
    endpoint = f"http://127.0.0.1:{closed_port}"
    with use_endpoint(endpoint):
        assert main(["convert", "--preset", PRESET, "--checkpoint", str(tmp_path / "x.pth"), "--output",
                     str(tmp_path / "out"), "--push-to-hub", "org/tsn"]) == 2
    assert f"--push-to-hub: cannot reach the Hub at {endpoint} (127.0.0.1:{closed_port}: Connection refused)" in (
        capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, model_type, inputs", [
    ("bsn_tem_400x100_1x16_20e_activitynet_feature_mmaction_video", "videohub-tem",
     lambda: {"input_features": torch.randn(2, 400, 100)}),
    ("bsn_pem_400x100_1x16_20e_activitynet_feature_mmaction_video", "videohub-pem",
     lambda: {"input_features": torch.randn(2, 30, 32)}),
    ("stgcn_80e_ntu60_xsub_keypoint", "videohub-stgcn", lambda: {"keypoints": torch.randn(1, 3, 30, 17, 2)}),
    ("slowonly_r50_u48_240e_ntu60_xsub_keypoint", "videohub-posec3d",
     lambda: {"pixel_values": torch.rand(1, 4, 17, 16, 16)}),
    # an LFB detector converts without its long-term feature bank (data/ava/lfb_half is not here)
    ("lfb_avg_kinetics_pretrained_slowonly_r50_4x16x1_20e_ava_rgb", "videohub-ava", None),
])
def test_convert_a_preset_of_each_new_family(tmp_path, capsys, monkeypatch, name, model_type, inputs):
    """``videohub convert --preset NAME --checkpoint local.pth`` with a checkpoint laid out as mmaction2 saves it."""
    monkeypatch.chdir(tmp_path)  # no data/ava/lfb_half (the LFB config's relative bank folder) here
    from videohub.auto import AutoVideoModel
    from videohub.conversion.presets import config_from_entry
    from videohub.conversion.state_dict import mmaction2_keys

    entry = presets.get_preset(name)
    config = config_from_entry(entry)
    torch.manual_seed(0)
    source = AutoVideoModel.from_config(config).eval()
    state = source.state_dict()
    ckpt = tmp_path / entry["checkpoint_file"]
    torch.save({"meta": {}, "state_dict": dict(zip(mmaction2_keys(state, config), state.values()))}, ckpt)
    out = tmp_path / "out"
    assert main(["convert", "--preset", name, "--checkpoint", str(ckpt), "--output", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    assert json.loads((out / "config.json").read_text())["model_type"] == model_type
    assert not (out / "preprocessor_config.json").exists()  # features, poses or boxes: no video processor
    card = (out / "README.md").read_text()
    assert f"videohub convert --preset {name}" in card and entry["checkpoint_url"] in card
    loaded = AutoVideoModel.from_pretrained(str(out)).eval()
    assert type(loaded) is type(source)
    for key, value in state.items():
        assert torch.equal(loaded.state_dict()[key], value), key
    if inputs is not None:
        batch = inputs()
        with torch.no_grad():
            for got, want in zip(loaded(**batch).to_tuple(), source(**batch).to_tuple()):
                if isinstance(want, torch.Tensor):
                    torch.testing.assert_close(got, want, rtol=0, atol=0)

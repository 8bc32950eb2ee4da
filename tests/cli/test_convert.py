"""``videohub convert``: clear errors for missing inputs, an unreachable checkpoint URL or Hub."""

import pytest

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

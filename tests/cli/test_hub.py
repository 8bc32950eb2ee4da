"""``videohub hub serve``: clear errors for a bad --root, a taken or invalid port."""

import socket

import pytest

from videohub.cli import main


def test_root_that_is_a_file(tmp_path, capsys):
    root = tmp_path / "hub"
    root.write_text("")
    assert main(["hub", "serve", "--root", str(root), "--port", "0"]) == 2
    assert capsys.readouterr().err == (f"videohub hub: error: --root {root} is a file; expected a directory for the "
                                       "hub's repos and objects\n")


def test_port_in_use(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["hub", "serve", "--root", str(tmp_path / "hub"), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"videohub hub: error: cannot listen on 127.0.0.1:{port}: Address already in use")
    assert "pick another --port" in err


def test_unknown_host(tmp_path, capsys):
    assert main(["hub", "serve", "--root", str(tmp_path / "hub"), "--port", "0", "--host", "no-such-host.invalid"]) == 2
    assert "videohub hub: error: cannot listen on --host no-such-host.invalid" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_bad_port_is_an_argument_error(tmp_path, capsys, port):
    with pytest.raises(SystemExit) as exit_info:
        main(["hub", "serve", "--root", str(tmp_path), "--port", port])
    assert exit_info.value.code == 2
    assert "argument --port: expected a port number" in capsys.readouterr().err

"""Committed data survives restarts and SIGKILL; cached repos load with HF_HUB_OFFLINE=1."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap

from huggingface_hub import HfApi, hf_hub_download, snapshot_download

from videohub.hub import HubServer


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def test_restart_keeps_data(tmp_path, token):
    root = str(tmp_path / "hub")
    payload = os.urandom(3000)
    with HubServer(root, tokens=[token]) as first:
        api = HfApi(endpoint=first.url, token=token)
        api.create_repo("org/keep")
        commit = api.upload_file(path_or_fileobj=payload, path_in_repo="w.bin", repo_id="org/keep")
        api.create_tag("org/keep", tag="v1")
    with HubServer(root, tokens=[token]) as second:
        api = HfApi(endpoint=second.url, token=token)
        assert api.model_info("org/keep").sha == commit.oid
        assert api.model_info("org/keep", revision="v1").sha == commit.oid
        got = hf_hub_download("org/keep", "w.bin", endpoint=second.url, cache_dir=str(tmp_path / "c"))
        assert _read(got) == payload


def _serve_in_child(root, token, write_fd):
    """Run ``videohub hub serve`` (the CLI handler) in a forked child; never returns."""
    try:
        os.environ["VIDEOHUB_HUB_TOKENS"] = "env-token-1,env-token-2"
        sys.stdout = os.fdopen(write_fd, "w", buffering=1)
        from videohub.hub.server import main

        main(["serve", "--root", root, "--port", "0", "--token", token])
    finally:
        os._exit(0)


def test_sigkilled_cli_server_loses_no_committed_file(tmp_path, token):
    root = str(tmp_path / "hub")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _serve_in_child(root, token, write_fd)
    os.close(write_fd)
    out = os.fdopen(read_fd, "r")
    try:
        line = out.readline()
        assert out.readline().strip().startswith("export HF_ENDPOINT=")
        assert line.startswith("videohub hub serving") and " at http://127.0.0.1:" in line
        url = line.rsplit(" at ", 1)[1].strip()
        api = HfApi(endpoint=url, token=token)
        assert HfApi(endpoint=url, token="env-token-2").whoami()["name"]  # token from the env var
        api.create_repo("org/crash")
        data = {f"f{i}.bin": os.urandom(500 + i) for i in range(3)}
        last = None
        for name, content in data.items():
            last = api.upload_file(path_or_fileobj=content, path_in_repo=name, repo_id="org/crash")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        out.close()
    with HubServer(root, tokens=[token]) as server:
        api = HfApi(endpoint=server.url, token=token)
        assert api.model_info("org/crash").sha == last.oid
        for name, content in data.items():
            got = hf_hub_download("org/crash", name, endpoint=server.url, cache_dir=str(tmp_path / "c"))
            assert hashlib.sha256(_read(got)).hexdigest() == hashlib.sha256(content).hexdigest()


def test_offline_mode_after_caching(tmp_path, token):
    cache = str(tmp_path / "cache")
    with HubServer(str(tmp_path / "hub"), tokens=[token]) as server:
        api = HfApi(endpoint=server.url, token=token)
        api.create_repo("org/off")
        api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id="org/off")
        api.upload_file(path_or_fileobj=b"\x00" * 64, path_in_repo="w.bin", repo_id="org/off")
        sha = api.model_info("org/off").sha
        snapshot_download("org/off", endpoint=server.url, cache_dir=cache)
        url = server.url
    # The server is gone: only the cache can answer, and HF_HUB_OFFLINE must make the client use it.
    script = textwrap.dedent(f"""
        import json
        from huggingface_hub import hf_hub_download, snapshot_download, constants
        assert constants.HF_HUB_OFFLINE
        cfg = hf_hub_download("org/off", "config.json", cache_dir={cache!r})
        folder = snapshot_download("org/off", cache_dir={cache!r})
        print(json.dumps({{"config": open(cfg).read(), "folder": folder,
                          "w": open(folder + "/w.bin", "rb").read().hex()}}))
    """)
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_ENDPOINT=url, HF_HUB_DISABLE_XET="1",
               HF_HUB_DISABLE_TELEMETRY="1")
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["config"] == '{"a": 1}' and out["w"] == "00" * 64
    assert out["folder"].endswith(os.path.join("snapshots", sha))

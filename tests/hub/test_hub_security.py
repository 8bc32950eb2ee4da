"""The local hub refuses path traversal and unauthenticated writes."""

from __future__ import annotations

import base64
import json
import os

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from videohub.errors import ConfigError
from videohub.hub import HubServer
from videohub.hub.storage import HubError, check_repo_path


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "a\\b", "a\x00b", "a//b", "./a", "a/.",
                                  "", "dir/\nx"])
def test_check_repo_path_refuses(path):
    with pytest.raises(HubError) as info:
        check_repo_path(path)
    assert info.value.status == 400 and repr(path) in info.value.message


def _tree_snapshot(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


def test_traversal_refused_over_http(api, raw, hub, tmp_path):
    api.create_repo("org/safe")
    api.upload_file(path_or_fileobj=b"ok", path_in_repo="ok.txt", repo_id="org/safe")
    (tmp_path / "secret.txt").write_bytes(b"TOP-SECRET-CONTENT")
    files_before = _tree_snapshot(hub.root)

    for path in ["/org/safe/resolve/main/..%2F..%2F..%2Fsecret.txt",
                 "/org/safe/resolve/main/a/../../../secret.txt",
                 "/org/safe/resolve/main/%2Fetc%2Fpasswd",
                 "/org/safe/resolve/main/..%5Csecret.txt",
                 "/org/safe/resolve/main/ok.txt%00.png",
                 "/%2E%2E/safe/resolve/main/ok.txt",
                 "/api/models/org/safe/tree/main/..%2F..",
                 "/api/models/..%2F..%2Fhub/safe"]:
        status, headers, body = raw.request("GET", path)
        assert status == 400, (path, status, body)
        assert b"TOP-SECRET-CONTENT" not in body

    for bad in ["../escape.txt", "/abs.txt", "a\\b.txt", "nul\x00.txt", "x/../../y.txt"]:
        content = base64.b64encode(b"pwned").decode()
        status, _, body = raw.commit("org/safe", [
            {"key": "header", "value": {"summary": "evil"}},
            {"key": "file", "value": {"path": bad, "content": content, "encoding": "base64"}}])
        assert status == 400, (bad, body)
        status, _, _ = raw.commit("org/safe", [{"key": "header", "value": {"summary": "evil"}},
                                               {"key": "deletedFile", "value": {"path": bad}}])
        assert status == 400
        status, _, _ = raw.json("POST", "/api/models/org/safe/preupload/main",
                                {"files": [{"path": bad, "size": 5, "sample": content}]})
        assert status == 400
    status, _, _ = raw.json("POST", "/api/repos/create", {"name": "..", "organization": "org"})
    assert status == 400
    status, _, _ = raw.json("POST", "/api/repos/create", {"name": "x", "organization": "../../tmp"})
    assert status == 400

    assert api.list_repo_files("org/safe") == [".gitattributes", "ok.txt"]
    assert _tree_snapshot(hub.root) == files_before
    assert (tmp_path / "secret.txt").read_bytes() == b"TOP-SECRET-CONTENT"


def test_writes_need_a_valid_token(hub, raw, token, cache_dir):
    anonymous = HfApi(endpoint=hub.url, token=False)
    wrong = HfApi(endpoint=hub.url, token="not-the-token")
    for client in (anonymous, wrong):
        with pytest.raises(HfHubHTTPError) as info:
            client.create_repo("org/nope")
        assert info.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as info:
        wrong.whoami()
    assert info.value.response.status_code == 401

    owner = HfApi(endpoint=hub.url, token=token)
    owner.create_repo("org/guarded")
    for client in (anonymous, wrong):
        with pytest.raises(HfHubHTTPError) as info:
            client.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="org/guarded")
        assert info.value.response.status_code == 401
        for call in (lambda c: c.create_branch("org/guarded", branch="b"),
                     lambda c: c.create_tag("org/guarded", tag="t"),
                     lambda c: c.delete_repo("org/guarded")):
            with pytest.raises(HfHubHTTPError) as info:
                call(client)
            assert info.value.response.status_code == 401
    status, _, _ = raw.commit("org/guarded", [{"key": "header", "value": {"summary": "x"}}], token=None)
    assert status == 401
    status, _, _ = raw.json("POST", "/org/guarded.git/info/lfs/objects/batch",
                            {"operation": "upload", "objects": [{"oid": "0" * 64, "size": 1}]}, token=None)
    assert status == 401
    status, _, _ = raw.request("PUT", "/lfs-upload/forged-ticket", b"x")
    assert status == 401
    assert owner.list_repo_files("org/guarded") == [".gitattributes"]

    # reads stay anonymous
    owner.upload_file(path_or_fileobj=b"public", path_in_repo="p.txt", repo_id="org/guarded")
    path = hf_hub_download("org/guarded", "p.txt", endpoint=hub.url, cache_dir=cache_dir, token=False)
    with open(path, "rb") as f:
        assert f.read() == b"public"
    assert anonymous.model_info("org/guarded").sha == owner.model_info("org/guarded").sha


def test_server_without_tokens_is_read_only(tmp_path):
    with HubServer(str(tmp_path / "ro")) as server:
        with pytest.raises(HfHubHTTPError) as info:
            HfApi(endpoint=server.url, token="anything").create_repo("org/x")
        assert info.value.response.status_code == 401


@pytest.mark.parametrize("tokens", [["with space"], [""], ["a,b"], "single-string"])
def test_bad_tokens_rejected(tmp_path, tokens):
    with pytest.raises(ConfigError):
        HubServer(str(tmp_path / "x"), tokens=tokens)


def test_default_bind_is_loopback(tmp_path):
    with HubServer(str(tmp_path / "lo")) as server:
        assert server.url.startswith("http://127.0.0.1:")


def test_unknown_routes_and_bad_json(raw):
    status, _, _ = raw.request("GET", "/api/unknown")
    assert status == 404
    status, _, body = raw.request("POST", "/api/repos/create", b"{not json", {"Content-Type": "application/json"},
                                  token="hub-test-token-1")
    assert status == 400 and "JSON" in json.loads(body)["error"]

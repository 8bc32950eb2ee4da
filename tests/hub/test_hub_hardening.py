"""Issue 15 item 9: hostile input to the hub server gets a prompt 4xx, bounded work and clean logs."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import logging
import os
import socket
import time
from typing import List, Tuple

import pytest
from huggingface_hub import HfApi

from videohub.hub import HubServer



def _exchange(hub: HubServer, data: bytes, timeout: float = 5.0) -> Tuple[float, bytes]:
    """Send raw bytes to the hub and read until it closes the connection (or ``timeout`` passes)."""
    port = int(hub.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        start = time.monotonic()
        sock.sendall(data)
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return time.monotonic() - start, received


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else -1


# -- /api/validate-yaml and model card metadata ----------------------------------------------------


def test_validate_yaml_needs_a_token(raw):
    card = {"content": "---\nlicense: mit\n---\n", "repoType": "model"}
    for token, message in ((None, "validate-yaml needs 'Authorization: Bearer <token>'"),
                           ("not-the-token", "Invalid credentials")):
        status, _, body = raw.json("POST", "/api/validate-yaml", card, token=token)
        assert status == 401 and message in json.loads(body)["error"], (token, body)
    status, _, body = raw.json("POST", "/api/validate-yaml", card)
    assert status == 200 and json.loads(body) == {"errors": [], "warnings": []}


def test_repocard_push_to_hub_gets_a_clear_401(hub, token):
    from huggingface_hub import ModelCard
    from huggingface_hub.errors import HfHubHTTPError

    from videohub.hub import use_endpoint

    card = ModelCard("---\nlicense: mit\n---\n# Card\n")
    with use_endpoint(hub.url, token=token):
        HfApi().create_repo("org/carded")
        with pytest.raises(HfHubHTTPError, match="upload_file") as info:  # it calls validate-yaml without a token
            card.push_to_hub("org/carded")
        assert info.value.response.status_code == 401
        HfApi().upload_file(path_or_fileobj=str(card).encode(), path_in_repo="README.md", repo_id="org/carded")
        assert HfApi().model_info("org/carded").card_data.license == "mit"


@pytest.mark.parametrize("name, metadata, expected", [
    ("flow nesting (16 KB)", "a: " + "[" * 8000 + "]" * 8000, "brackets nest 8000 deep"),
    ("block nesting", "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 40)) + "  " * 40 + "x: 1",
     "nest more than 32 deep"),
    ("nested block sequences", "a:\n" + "- " * 100 + "x", "nest more than 32 deep"),
    ("too large", "k: " + "x" * (64 * 1024), "larger than 65536 characters"),
    ("too many nodes", "a: [" + "1, " * 20_000 + "1]", "more than 10000 YAML nodes"),
    ("impossible date", "date: 2024-13-45", "not valid YAML"),
    ("huge integer", "n: " + "9" * 5000, "not valid YAML"),
    ("alias", "a: &a [x, x]\nb: [*a, *a]", "aliases"),
])
def test_yaml_validation_is_bounded(raw, name, metadata, expected):
    start = time.monotonic()
    status, _, body = raw.json("POST", "/api/validate-yaml", {"content": f"---\n{metadata}\n---\n# card\n"},
                               timeout=10)
    assert time.monotonic() - start < 5.0, name
    assert status == 400, (name, body[:200])
    assert expected in json.loads(body)["errors"][0]["message"], name


def test_validate_yaml_through_huggingface_hub(api):
    api.create_repo("org/cards")
    nested = "---\na: " + "[" * 8000 + "]" * 8000 + "\n---\n"
    with pytest.raises(ValueError, match="brackets nest 8000 deep"):
        api.upload_file(path_or_fileobj=nested.encode(), path_in_repo="README.md", repo_id="org/cards")
    # only the metadata is parsed: a long card body is fine
    big = "---\nlicense: mit\ndate: 2024-01-02\n---\n" + "text line\n" * 200_000
    api.upload_file(path_or_fileobj=big.encode(), path_in_repo="README.md", repo_id="org/cards")
    card = api.model_info("org/cards").card_data
    assert card.license == "mit" and card.to_dict()["date"] == "2024-01-02"  # a YAML date, sent as JSON


def test_hostile_readme_costs_anonymous_readers_nothing(api, raw, hub):
    api.create_repo("org/bomb")
    nested = ("---\na: " + "[" * 8000 + "]" * 8000 + "\n---\n").encode()
    status, _, body = raw.commit("org/bomb", [  # a raw commit skips the client's validate-yaml call
        {"key": "header", "value": {"summary": "hostile card"}},
        {"key": "file", "value": {"path": "README.md", "content": base64.b64encode(nested).decode(),
                                  "encoding": "base64"}}])
    assert status == 200, body
    start = time.monotonic()
    for _ in range(3):
        status, _, body = raw.request("GET", "/api/models/org/bomb", timeout=10)
        assert status == 200 and "cardData" not in json.loads(body)
    status, _, body = raw.request("GET", "/api/models?search=bomb&cardData=true", timeout=10)
    assert status == 200 and [m["id"] for m in json.loads(body)] == ["org/bomb"]
    assert time.monotonic() - start < 5.0


# -- JSON bodies ------------------------------------------------------------------------------------

_WRONG_VALUES = [[], {}, 1, -1, 1.5, True, None, "x", [[1]], {"a": {}}, "../x", "a" * 300]

# (method, path, a valid payload): each field is replaced in turn by each wrong value
_JSON_ENDPOINTS = [
    ("POST", "/api/repos/create", {"name": "fresh", "organization": "org", "type": "model", "private": False}),
    ("DELETE", "/api/repos/delete", {"name": "never-created", "organization": "org", "type": "model"}),
    ("POST", "/api/validate-yaml", {"content": "---\nlicense: mit\n---\n", "repoType": "model"}),
    ("POST", "/api/models/org/json/preupload/main", {"files": [{"path": "a.txt", "size": 1, "sample": "YQ=="}]}),
    ("POST", "/api/models/org/json/paths-info/main", {"paths": ["a.txt"], "expand": True}),
    ("POST", "/api/models/org/json/branch/feature", {"startingPoint": "main"}),
    ("POST", "/api/models/org/json/tag/main", {"tag": "v1", "message": "first"}),
    ("POST", "/org/json.git/info/lfs/objects/batch",
     {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": "a" * 64, "size": 3}]}),
    ("POST", "/org/json.git/info/lfs/objects/verify", {"oid": "a" * 64, "size": 3}),
]


def _variants(payload: dict):
    yield payload
    for key in payload:
        for wrong in _WRONG_VALUES:
            yield {**payload, key: wrong}
    for wrong in _WRONG_VALUES:
        yield wrong


def test_deeply_nested_json_gets_400(api, raw, token):
    api.create_repo("org/json")
    deep = b"[" * 100_000 + b"]" * 100_000
    for method, path, _ in _JSON_ENDPOINTS:
        status, _, body = raw.request(method, path, deep, {"Content-Type": "application/json"}, token=token)
        assert status == 400 and "nested too deeply" in json.loads(body)["error"], (path, status, body[:200])
    status, _, body = raw.commit("org/json", [{"key": "header", "value": {"summary": "x"}}, deep])
    assert status == 400 and "commit line 2 is JSON nested too deeply" in json.loads(body)["error"]


def test_wrongly_typed_json_never_gets_500(api, raw):
    api.create_repo("org/json")
    statuses = set()
    for method, path, payload in _JSON_ENDPOINTS:
        for variant in _variants(payload):
            status, _, body = raw.json(method, path, variant)
            assert status < 500, (method, path, variant, body[:300])
            if status >= 400:
                assert json.loads(body)["error"] or json.loads(body)["errors"]
            statuses.add(status)
    assert 400 in statuses

    lines = {"header": {"summary": "s", "description": "d", "parentCommit": None},
             "file": {"path": "f.txt", "content": "YQ==", "encoding": "base64"},
             "lfsFile": {"path": "l.bin", "algo": "sha256", "oid": "b" * 64, "size": 1},
             "deletedFile": {"path": "f.txt"}, "deletedFolder": {"path": "dir"}}
    for key, value in lines.items():
        for variant in _variants(value):
            commit = [{"key": "header", "value": lines["header"]}] if key != "header" else []
            status, _, body = raw.commit("org/json", commit + [{"key": key, "value": variant}])
            assert status < 500, (key, variant, body[:300])

    # cases that used to get 500 or be accepted
    for method, path, payload in [
        ("POST", "/api/models/org/json/paths-info/main", ["a.txt"]),
        ("POST", "/api/models/org/json/branch/b1", {"startingPoint": ["main"]}),
        ("POST", "/api/models/org/json/branch/b2", {"startingPoint": 7}),
        ("POST", "/api/models/org/json/preupload/main", {"files": [{"path": "a", "size": True, "sample": ""}]}),
        ("POST", "/org/json.git/info/lfs/objects/verify", {"oid": "a" * 64, "size": "3"}),
    ]:
        status, _, body = raw.json(method, path, payload)
        assert status == 400, (path, payload, body)
    head = api.model_info("org/json").sha
    status, _, body = raw.commit("org/json", [{"key": "header", "value": {"summary": "s", "description": {"a": 1}}}])
    assert status == 400 and "'description' must be a string" in json.loads(body)["error"]
    assert api.model_info("org/json").sha == head


# -- logs -------------------------------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def hub_log():
    logger = logging.getLogger("videohub.hub")
    handler, level = _Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.messages
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_control_characters_are_escaped_in_the_log(hub, hub_log):
    requests = [
        b"GET /api/models/org/x\x1b[2J\x1b[31mred\x85 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        b"GET /forged\rINFO 127.0.0.1 \"GET /admin HTTP/1.1\" 200 HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET /\x00\x07\x7f\\x1b HTTP/1.1\r\nConnection: close\r\n\r\n",
    ]
    for data in requests:
        elapsed, response = _exchange(hub, data)
        assert 400 <= _status(response) < 500
    text = "\n".join(hub_log)
    assert hub_log and all(c.isprintable() for message in hub_log for c in message), hub_log
    assert "\\x1b[2J\\x1b[31mred\\x85" in text and "/forged\\rINFO" in text
    assert "/\\x00\\x07\\x7f\\\\x1b" in text  # a literal backslash is doubled: escapes stay unambiguous


# -- partial uploads under <root>/tmp ----------------------------------------------------------------


def test_tmp_is_cleaned_at_start_unless_another_server_is_alive(tmp_path, token):
    root = tmp_path / "hub"
    (root / "tmp" / "repo-0123").mkdir(parents=True)
    (root / "tmp" / "repo-0123" / "refs.json").write_bytes(b"{}")
    (root / "tmp" / ("ab" * 32 + ".partial")).write_bytes(b"half an upload")
    first = HubServer(str(root), tokens=[token])
    assert os.listdir(root / "tmp") == []

    (root / "tmp" / "in-progress").write_bytes(b"an upload of the live server")
    second = HubServer(str(root), tokens=[token])  # the first one is alive: its files stay
    assert os.listdir(root / "tmp") == ["in-progress"]
    del first, second
    gc.collect()
    HubServer(str(root), tokens=[token])
    assert os.listdir(root / "tmp") == []


def _start_lfs_upload(hub: HubServer, api: HfApi, raw, data: bytes) -> socket.socket:
    """Send the headers and the first half of an LFS upload of ``data``; returns the open socket."""
    api.create_repo("org/partial", exist_ok=True)
    oid = hashlib.sha256(data).hexdigest()
    status, _, body = raw.json("POST", "/org/partial.git/info/lfs/objects/batch",
                               {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]})
    assert status == 200
    href = json.loads(body)["objects"][0]["actions"]["upload"]["href"]
    path = "/" + href.split("/", 3)[3]
    port = int(hub.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(f"PUT {path} HTTP/1.1\r\nHost: h\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                 + data[: len(data) // 2])
    tmp = os.path.join(hub.root, "tmp")
    deadline = time.monotonic() + 5
    while not os.listdir(tmp):  # the server is writing the partial file
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.01)
    return sock


def test_client_dropping_an_upload_leaves_no_partial_file(hub, api, raw):
    data = os.urandom(256 * 1024)
    sock = _start_lfs_upload(hub, api, raw, data)
    sock.close()
    tmp = os.path.join(hub.root, "tmp")
    deadline = time.monotonic() + 5
    while os.listdir(tmp):
        assert time.monotonic() < deadline, os.listdir(tmp)
        time.sleep(0.01)
    assert hub.storage.objects.size(hashlib.sha256(data).hexdigest()) is None


def test_stop_waits_for_interrupted_uploads_to_clean_up(hub, api, raw, monkeypatch):
    objects = hub.storage.objects
    put_stream = objects.put_stream

    def slow_to_fail(read, sha256, size):  # the handler takes a while to notice the lost client
        def read_then_linger(n):
            try:
                return read(n)
            except Exception:
                time.sleep(0.5)
                raise
        return put_stream(read_then_linger, sha256, size)

    monkeypatch.setattr(objects, "put_stream", slow_to_fail)
    sock = _start_lfs_upload(hub, api, raw, os.urandom(256 * 1024))
    try:
        hub.stop()
        assert os.listdir(os.path.join(hub.root, "tmp")) == []
    finally:
        sock.close()


# -- request framing --------------------------------------------------------------------------------


def _auth(token: str) -> bytes:
    return f"Authorization: Bearer {token}\r\n".encode()


def _post_chunked(body: bytes, token: str, coding: bytes = b"chunked") -> bytes:
    return (b"POST /api/repos/create HTTP/1.1\r\nHost: h\r\n" + _auth(token) + b"Content-Type: application/json\r\n"
            b"Transfer-Encoding: " + coding + b"\r\n\r\n" + body)


@pytest.mark.parametrize("body", [
    b"zz\r\n",                                   # not hexadecimal
    b"-5\r\n{}\r\n0\r\n\r\n",                    # negative size
    b"0x2\r\n{}\r\n0\r\n\r\n",                   # a 0x prefix
    b"1_0\r\n" + b" " * 16 + b"\r\n0\r\n\r\n",   # an underscore
    b"2\r\n{}XY",                                # chunk data not followed by CRLF
    b"f" * 2000,                                 # a size line that never ends
    b"2\r\n{}\r\n0\r\n" + b"X-Trailer: 1\r\n" * 100,  # a trailer that never ends
])
def test_malformed_chunked_body_gets_400_at_once(hub, token, body):
    elapsed, response = _exchange(hub, _post_chunked(body, token))
    assert _status(response) == 400, response[:300]
    assert b"malformed chunked request body" in response and elapsed < 4.0


def test_unknown_transfer_coding_and_bad_content_length(hub, token):
    elapsed, response = _exchange(hub, _post_chunked(b"{}", token, coding=b"gzip"))
    assert _status(response) == 501 and b"Transfer-Encoding" in response and elapsed < 4.0
    for length in (b"+2", b"1_0", b"-1", b"0x2"):
        elapsed, response = _exchange(hub, b"POST /api/repos/create HTTP/1.1\r\nHost: h\r\n" + _auth(token)
                                      + b"Content-Length: " + length + b"\r\n\r\n{}")
        assert _status(response) == 400 and b"Content-Length" in response and elapsed < 4.0, length


def test_valid_chunked_body_is_accepted(hub, api, token):
    payload = json.dumps({"name": "chunky", "organization": "org"}).encode()
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in (payload[:7], payload[7:]))
    elapsed, response = _exchange(hub, _post_chunked(body + b"0\r\nX-Checksum: none\r\n\r\n", token)
                                  .replace(b"Host: h\r\n", b"Host: h\r\nConnection: close\r\n"))
    assert _status(response) == 200, response
    assert api.repo_exists("org/chunky")

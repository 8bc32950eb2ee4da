"""Fixtures of the local hub tests: a running server, clients pointed at it, raw HTTP access."""

from __future__ import annotations

import http.client
import json
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

import pytest
from huggingface_hub import HfApi, constants

from videohub.hub import HubServer

TOKEN = "hub-test-token-1"


@pytest.fixture(autouse=True)
def _isolated_client(monkeypatch, tmp_path):
    """Clients speak LFS, not Xet (huggingface_hub read HF_HUB_DISABLE_XET at import), and cache
    under ``tmp_path`` instead of the user's Hugging Face cache."""
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-hub-cache"))


@pytest.fixture
def token():
    """The write token the ``hub`` fixture accepts."""
    return TOKEN


@pytest.fixture
def hub(tmp_path):
    """A hub server on 127.0.0.1 with a free port, storing under ``tmp_path/hub``."""
    with HubServer(str(tmp_path / "hub"), tokens=[TOKEN]) as server:
        yield server


@pytest.fixture
def api(hub):
    """An ``HfApi`` authenticated with the server's token."""
    return HfApi(endpoint=hub.url, token=TOKEN)


@pytest.fixture
def cache_dir(tmp_path):
    """A fresh huggingface_hub cache directory."""
    return str(tmp_path / "cache")


class Raw:
    """Minimal HTTP client that sends paths verbatim (no client-side normalization)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, method: str, path: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None,
                token: Optional[str] = None, timeout: float = 30) -> Tuple[int, Dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            all_headers = dict(headers or {})
            if token is not None:
                all_headers["Authorization"] = f"Bearer {token}"
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            conn.close()

    def json(self, method: str, path: str, payload, token: Optional[str] = TOKEN, timeout: float = 30):
        return self.request(method, path, json.dumps(payload).encode(), {"Content-Type": "application/json"},
                            token, timeout)

    def commit(self, repo_id: str, lines, token: Optional[str] = TOKEN, revision: str = "main"):
        body = b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines)
        return self.request("POST", f"/api/models/{repo_id}/commit/{revision}", body,
                            {"Content-Type": "application/x-ndjson"}, token)


@pytest.fixture
def raw(hub):
    """Raw HTTP access to the ``hub`` fixture."""
    return Raw(hub.url)

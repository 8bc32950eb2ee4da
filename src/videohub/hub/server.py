"""A small Hugging Face Hub-compatible HTTP server: ``videohub hub serve``.

It speaks the part of the Hub protocol that ``huggingface_hub`` (2.x) and ``transformers`` use to
create repos, upload (regular and LFS), commit, branch, tag, list and download, so they work
unchanged with ``HF_ENDPOINT=http://127.0.0.1:PORT`` and ``HF_HUB_DISABLE_XET=1``.

Routes (``{t}`` is ``models``, ``datasets`` or ``spaces``; ``{p}`` is empty for models and
``datasets/`` or ``spaces/`` otherwise):

- ``GET /api/whoami-v2``; ``POST /api/repos/create`` (409 if it exists); ``DELETE /api/repos/delete``
- ``POST /api/validate-yaml`` (needs a token; the metadata block is parsed with bounded work)
- ``GET /api/{t}`` (``HfApi.list_models``/``list_datasets``/``list_spaces``: ``search``, ``author``,
  ``filter``, ``pipeline_tag``, ``sort``, ``direction``, ``limit``, ``full``, ``cardData``,
  ``expand``; pages of 1000 linked by ``Link: rel="next"``)
- ``GET .../xet-write-token/{rev}`` and ``xet-read-token``: a redirect to a URL naming
  ``HF_HUB_DISABLE_XET``, which answers 400 (hf_xet shows only the URL of a failed request)
- ``GET /api/{t}/{ns}/{name}[/revision/{rev}]`` (``sha``, ``siblings``; ``?blobs=1`` adds sizes/LFS)
- ``GET /api/{t}/{ns}/{name}/tree/{rev}[/{path}]`` (``?recursive=1``, ``?expand=1``);
  ``POST .../paths-info/{rev}``
- ``GET .../refs``; ``GET .../commits/{rev}``; ``POST|DELETE .../branch/{b}``;
  ``POST .../tag/{rev}`` / ``DELETE .../tag/{tag}``
- ``POST .../preupload/{rev}`` (``regular`` or ``lfs`` upload mode per file)
- ``POST .../commit/{rev}``: NDJSON ``header``, ``file``, ``lfsFile``, ``deletedFile``,
  ``deletedFolder`` lines
- ``POST /{p}{ns}/{name}.git/info/lfs/objects/batch`` and ``.../verify``; ``PUT /lfs-upload/{ticket}``
  (the blob, checked against its announced sha256 and size)
- ``HEAD|GET /{p}{ns}/{name}/resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag``,
  ``X-Linked-Etag``/``X-Linked-Size`` (LFS files), byte ranges, and ``X-Error-Code`` on errors.

Security: binds 127.0.0.1 by default; every write needs ``Authorization: Bearer <token>`` with a
configured token (401 otherwise); reads are anonymous except for private repos; paths with ``..``,
absolute paths, backslashes or NUL are refused with 400; LFS uploads go to single-use tickets.
Malformed input gets a 4xx, never a 500: JSON that is not valid, too deep or of the wrong types
(400), a malformed chunked body (400 at once, and the connection is closed instead of read on), an
unknown transfer coding (501). Control characters in logged request lines are escaped.
"""

from __future__ import annotations

import argparse
import base64
import codecs
import datetime as _dt
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from ..errors import ConfigError
from ..utils.logging import get_logger
from .storage import (
    DEFAULT_BRANCH,
    LFS_SIZE_THRESHOLD,
    MAX_LFS_SIZE,
    Commit,
    FileEntry,
    HubError,
    HubStorage,
    Operation,
    Repo,
    check_ref_name,
    check_repo_part,
    check_repo_path,
    decode_base64,
    git_blob_oid,
    lfs_pointer,
)

logger = get_logger("videohub.hub")

#: Name every valid token authenticates as (repo namespace when ``create_repo`` gets no organization).
DEFAULT_USER = "user"
#: Environment variable holding extra comma-separated tokens for ``videohub hub serve``.
TOKENS_ENV = "VIDEOHUB_HUB_TOKENS"

_TYPE_PLURALS = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_MAX_JSON_BODY = 32 * 1024 * 1024
_MAX_COMMIT_LINE = 20 * 1024 * 1024
#: Most repos in one page of ``GET /api/models`` (the rest follows a ``Link: rel="next"`` cursor).
_LIST_PAGE_SIZE = 1000
_MAX_LIST_QUERY = 8192
_LIST_SORT_KEYS = ("id", "createdAt", "lastModified", "downloads", "likes", "trendingScore")
_XET_UNSUPPORTED = ("the videohub hub speaks the Hub's LFS upload protocol, not Xet: set HF_HUB_DISABLE_XET=1 "
                    "in the environment before Python starts (huggingface_hub reads it at import), or "
                    "use videohub.hub.use_endpoint(url) in the process")
_XET_HINT_PATH = "/api/xet-is-not-supported/set-HF_HUB_DISABLE_XET=1-in-the-environment"
#: Largest YAML metadata block of a README.md the hub parses, in characters.
_MAX_METADATA_CHARS = 64 * 1024
#: Most YAML events (scalars, collection starts and ends) parsed from one metadata block.
_MAX_YAML_EVENTS = 10_000
#: Deepest nesting of YAML collections (and of brackets) in a metadata block.
_MAX_YAML_DEPTH = 32
_TICKET_TTL_S = 3600.0
_STOP_WAIT_S = 10.0
_MAX_TICKETS = 100_000
_SAFE_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_LENGTH = re.compile(r"^[0-9]{1,19}$")
_CHUNK_SIZE = re.compile(rb"^[0-9A-Fa-f]{1,16}$")
_MAX_CHUNK_LINE = 1024
_MAX_TRAILER_LINES = 64


def check_token(token: object) -> str:
    """Return ``token`` if usable as a bearer token (non-empty, printable, no spaces or commas)."""
    if not isinstance(token, str) or not token or any(c.isspace() or c == "," or not c.isprintable()
                                                       for c in token):
        raise ConfigError(f"invalid hub token {token!r}: expected a non-empty string without "
                          "whitespace, commas or control characters")
    return token


def tokens_from_env(environ: Optional[Dict[str, str]] = None) -> List[str]:
    """Tokens listed (comma-separated) in ``VIDEOHUB_HUB_TOKENS`` of ``environ`` (default: ``os.environ``)."""
    value = (os.environ if environ is None else environ).get(TOKENS_ENV, "")
    return [check_token(t.strip()) for t in value.split(",") if t.strip()]


def _is_true(values: Dict[str, List[str]], key: str) -> bool:
    return any(v.lower() in ("1", "true", "yes") for v in values.get(key, []))


class _TicketBook:
    """Single-use, expiring upload tickets: the LFS ``PUT`` carries no Authorization header."""

    def __init__(self) -> None:
        self._tickets: Dict[str, Tuple[str, str, int, float]] = {}
        self._lock = threading.Lock()

    def issue(self, repo_key: str, oid: str, size: int) -> str:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, v in self._tickets.items() if v[3] < now]:
                del self._tickets[key]
            if len(self._tickets) >= _MAX_TICKETS:
                raise HubError(429, "too many pending LFS uploads; retry later")
            ticket = secrets.token_urlsafe(32)
            self._tickets[ticket] = (repo_key, oid, size, now + _TICKET_TTL_S)
        return ticket

    def get(self, ticket: str) -> Tuple[str, str, int]:
        with self._lock:
            entry = self._tickets.get(ticket)
        if entry is None or entry[3] < time.monotonic():
            raise HubError(401, "invalid or expired LFS upload ticket: request a new one from the "
                                "LFS batch endpoint")
        return entry[0], entry[1], entry[2]

    def consume(self, ticket: str) -> None:
        with self._lock:
            self._tickets.pop(ticket, None)


class _Cache:
    """A small thread-safe least-recently-used map.

    Args:
        size: most entries kept (no default).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: "OrderedDict[str, Any]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], Any]) -> Any:
        """The value for ``key``, from ``compute()`` (stored) when it is not cached."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


class _Body:
    """Reads a request body framed by ``Content-Length`` or ``Transfer-Encoding: chunked``.

    A framing error (a malformed chunk, a body that ends early) sets ``broken``: the rest of the
    stream cannot be located, so the handler answers at once and closes the connection instead of
    reading on.

    Raises:
        HubError: 400 for an invalid ``Content-Length``, 501 for a transfer coding other than
            ``chunked``.
    """

    def __init__(self, rfile: Any, headers: Any) -> None:
        self._rfile = rfile
        self.broken = False
        self.length: Optional[int] = None
        self._chunk_left = 0
        self._done = False
        coding = headers.get("Transfer-Encoding")
        self.chunked = coding is not None
        if self.chunked:
            if coding.strip().lower() != "chunked":
                raise HubError(501, f"unsupported Transfer-Encoding {coding[:80]!r}: only 'chunked' is "
                                    "supported")
            return
        raw = headers.get("Content-Length")
        if raw is not None and not _CONTENT_LENGTH.match(raw):
            raise HubError(400, f"invalid Content-Length header {raw[:80]!r}: expected a decimal byte count")
        self.length = int(raw) if raw is not None else 0
        self._remaining = self.length
        self._done = self._remaining == 0

    @property
    def done(self) -> bool:
        """Whether the whole body has been read."""
        return self._done

    def _framing_error(self, message: str) -> HubError:
        self.broken = True
        return HubError(400, message)

    def _read_raw(self, n: int) -> bytes:
        if self._done or self.broken:
            return b""
        if not self.chunked:
            data = self._rfile.read(min(n, self._remaining))
            if not data:
                raise self._framing_error(f"request body ended after {self.length - self._remaining} of "
                                          f"{self.length} bytes")
            self._remaining -= len(data)
            self._done = self._remaining == 0
            return data
        if self._chunk_left == 0:
            line = self._rfile.readline(_MAX_CHUNK_LINE + 1)
            size = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE.match(size):
                raise self._framing_error(f"malformed chunked request body: chunk size line {line[:40]!r} "
                                          "is not a hexadecimal size followed by CRLF")
            self._chunk_left = int(size, 16)
            if self._chunk_left == 0:
                for _ in range(_MAX_TRAILER_LINES):
                    trailer = self._rfile.readline(_MAX_CHUNK_LINE + 1)
                    if trailer in (b"\r\n", b"\n"):
                        self._done = True
                        return b""
                    if not trailer.endswith(b"\n"):
                        break
                raise self._framing_error("malformed chunked request body: the trailer after the last "
                                          "chunk does not end with an empty line")
        data = self._rfile.read(min(n, self._chunk_left))
        if not data:
            raise self._framing_error("chunked request body ended early")
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            end = self._rfile.read(1)  # byte by byte: never wait for bytes a broken client will not send
            if end == b"\r":
                end += self._rfile.read(1)
            if end not in (b"\r\n", b"\n"):
                raise self._framing_error("malformed chunked request body: chunk data is not followed by CRLF")
        return data

    def read(self, n: int = 1024 * 1024) -> bytes:
        """Up to ``n`` bytes of the body (default 1 MiB); ``b""`` at the end."""
        return self._read_raw(n)

    def read_all(self, limit: int) -> bytes:
        """The whole body; 413 when it exceeds ``limit`` bytes."""
        parts, total = [], 0
        while True:
            chunk = self.read()
            if not chunk:
                return b"".join(parts)
            total += len(chunk)
            if total > limit:
                raise HubError(413, f"request body larger than {limit} bytes")
            parts.append(chunk)

    def lines(self, limit: int) -> Iterator[bytes]:
        """The body split on ``\\n``; 413 when one line exceeds ``limit`` bytes."""
        pending = b""
        while True:
            chunk = self.read()
            if not chunk:
                if pending:
                    yield pending
                return
            pending += chunk
            *complete, pending = pending.split(b"\n")
            yield from complete
            if len(pending) > limit:
                raise HubError(413, f"commit line longer than {limit} bytes")

    def drain(self, limit: int = 64 * 1024 * 1024) -> bool:
        """Read and drop the rest of the body (up to ``limit`` bytes); whether it ended."""
        total = 0
        while not self.done and total < limit:
            chunk = self.read()
            if not chunk:
                break
            total += len(chunk)
        return self.done


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "videohub-hub"
    timeout = 120

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def app(self) -> "HubServer":
        return self.server.app  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.app._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.app._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.info("%s %s", self.address_string(), _loggable(format % args))

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.warning("%s %s", self.address_string(), _loggable(format % args))

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        self._responded = False
        self._body: Optional[_Body] = None
        try:
            self._body = _Body(self.rfile, self.headers)
            self._route(method)
        except HubError as err:
            self._send_error(err)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # the client gets a 500, the log gets the traceback
            logger.exception("error while serving %s %s", method, _loggable(self.path))
            self._send_error(HubError(500, "internal server error (see the server log)"))
        finally:
            if self._body is None or not self._body.done:
                self.close_connection = True

    def _base_url(self) -> str:
        host = self.headers.get("Host", "")
        if not _SAFE_HOST.match(host):
            host = self.app.netloc
        return f"http://{host}"

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: Optional[Dict[str, str]] = None) -> None:
        self._responded = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, _header_value(value))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _send_json(self, status: int, obj: Any, headers: Optional[Dict[str, str]] = None,
                   content_type: str = "application/json") -> None:
        self._send(status, json.dumps(obj).encode(), content_type, headers)

    def _send_error(self, err: HubError) -> None:
        if self._responded:
            self.close_connection = True
            return
        if self._body is not None and not self._body.done and not self._body.broken:
            # Read what the client is still sending, so closing the socket does not reset the
            # connection before the client reads this response. A broken body is not drained:
            # its end cannot be found, and waiting for more bytes would hang both sides.
            try:
                self._body.drain()
            except (HubError, OSError):
                self.close_connection = True
        headers = dict(err.headers)
        headers["X-Error-Message"] = err.message[:1000]
        if err.code:
            headers["X-Error-Code"] = err.code
        if err.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="videohub-hub"'
        try:
            self._send_json(err.status, {"error": err.message}, headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json_body(self) -> Any:
        assert self._body is not None
        raw = self._body.read_all(_MAX_JSON_BODY)
        return _parse_json(raw, "request body") if raw.strip() else {}

    def _json_object(self, expected: str) -> Dict[str, Any]:
        """The JSON body, which must be an object; ``expected`` describes it for the 400 message."""
        payload = self._json_body()
        if not isinstance(payload, dict):
            raise HubError(400, f"expected a JSON object {expected}, got a JSON {_json_type(payload)}")
        return payload

    # -- auth ----------------------------------------------------------------------------------

    def _token(self) -> Optional[str]:
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip() or None
        return None

    def _user(self) -> Optional[str]:
        return self.app.authenticate(self._token())

    def _require_user(self) -> str:
        token = self._token()
        if token is None:
            raise HubError(401, "Authorization header is missing: writes need 'Authorization: Bearer "
                                "<token>' with a token the server was started with")
        user = self.app.authenticate(token)
        if user is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        return user

    def _readable(self, repo: Repo) -> Repo:
        repo.require()
        if repo.meta().get("private") and self._user() is None:
            raise HubError(404, f"{repo.type} repository {repo.id!r} not found", code="RepoNotFound")
        return repo

    # -- routing -------------------------------------------------------------------------------

    def _route(self, method: str) -> None:
        split = urlsplit(self.path)
        if not split.path.startswith("/"):
            raise HubError(400, f"invalid request path {self.path!r}")
        self._query = parse_qs(split.query, keep_blank_values=True)
        raw = split.path.split("/")[1:]
        if raw and raw[-1] == "" and len(raw) > 1:
            raw = raw[:-1]
        if raw[:1] == ["api"]:
            return self._route_api(method, raw[1:])
        if raw[:1] == ["lfs-upload"] and len(raw) == 2 and method == "PUT":
            return self._lfs_put(raw[1])
        repo_type = "model"
        if raw[:1] and raw[0] in ("datasets", "spaces"):
            repo_type, raw = _TYPE_PLURALS[raw[0]], raw[1:]
        if len(raw) >= 2 and raw[1].endswith(".git") and raw[2:5] == ["info", "lfs", "objects"] \
                and len(raw) == 6 and method == "POST":
            repo = self.app.storage.repo(repo_type, _unquote(raw[0]), _unquote(raw[1])[:-4])
            if raw[5] == "batch":
                return self._lfs_batch(repo)
            if raw[5] == "verify":
                return self._lfs_verify(repo)
        if len(raw) >= 5 and raw[2] == "resolve" and method in ("GET", "HEAD"):
            repo = self.app.storage.repo(repo_type, _unquote(raw[0]), _unquote(raw[1]))
            path = check_repo_path(_unquote("/".join(raw[4:])), "file path")
            return self._resolve(repo, _unquote(raw[3]), path)
        raise HubError(404, f"no route for {method} {split.path}")

    def _route_api(self, method: str, raw: List[str]) -> None:
        if raw == ["whoami-v2"] and method == "GET":
            return self._whoami()
        if raw == ["repos", "create"] and method == "POST":
            return self._create_repo()
        if raw == ["repos", "delete"] and method == "DELETE":
            return self._delete_repo()
        if raw == ["validate-yaml"] and method == "POST":
            return self._validate_yaml()
        if len(raw) == 1 and raw[0] in _TYPE_PLURALS and method == "GET":
            return self._list_repos(_TYPE_PLURALS[raw[0]])
        if "/" + "/".join(["api", *raw]) == _XET_HINT_PATH:
            raise HubError(400, _XET_UNSUPPORTED)
        if len(raw) >= 3 and raw[0] in _TYPE_PLURALS:
            repo = self.app.storage.repo(_TYPE_PLURALS[raw[0]], _unquote(raw[1]), _unquote(raw[2]))
            rest = raw[3:]
            if not rest and method == "GET":
                return self._repo_info(repo, None)
            if len(rest) == 2 and rest[0] == "revision" and method == "GET":
                return self._repo_info(repo, _unquote(rest[1]))
            if len(rest) >= 2 and rest[0] == "tree" and method == "GET":
                path = _unquote("/".join(rest[2:])) if len(rest) > 2 else ""
                return self._tree(repo, _unquote(rest[1]), path)
            if len(rest) == 2 and rest[0] == "paths-info" and method == "POST":
                return self._paths_info(repo, _unquote(rest[1]))
            if rest[:1] in (["xet-write-token"], ["xet-read-token"]) and len(rest) <= 2 and method == "GET":
                return self._xet_token()
            if rest == ["refs"] and method == "GET":
                return self._refs(repo)
            if len(rest) == 2 and rest[0] == "commits" and method == "GET":
                return self._commits(repo, _unquote(rest[1]))
            if len(rest) == 2 and rest[0] == "preupload" and method == "POST":
                return self._preupload(repo, _unquote(rest[1]))
            if len(rest) == 2 and rest[0] == "commit" and method == "POST":
                return self._commit(repo, _unquote(rest[1]))
            if len(rest) == 2 and rest[0] == "branch" and method in ("POST", "DELETE"):
                return self._branch(repo, _unquote(rest[1]), method)
            if len(rest) == 2 and rest[0] == "tag" and method in ("POST", "DELETE"):
                return self._tag(repo, _unquote(rest[1]), method)
        raise HubError(404, f"no route for {method} /api/{'/'.join(raw)}")

    # -- account and repos ---------------------------------------------------------------------

    def _whoami(self) -> None:
        user = self._require_user()
        self._send_json(200, {
            "type": "user", "id": user, "name": user, "fullname": user, "email": None,
            "emailVerified": False, "canPay": False, "isPro": False, "periodEnd": None,
            "avatarUrl": "", "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "videohub-hub",
                                                             "role": "write"}},
        })

    def _repo_url(self, repo: Repo) -> str:
        return f"{self._base_url()}/{_URL_PREFIX[repo.type]}{repo.id}"

    def _repo_from_payload(self, payload: Any, user: str) -> Repo:
        if not isinstance(payload, dict):
            raise HubError(400, "expected a JSON object with 'name', 'organization' and 'type'")
        name = payload.get("name")
        namespace = payload.get("organization") or user
        if isinstance(name, str) and "/" in name and not payload.get("organization"):
            namespace, name = name.split("/", 1)
        check_repo_part(namespace, "namespace")
        check_repo_part(name, "name")
        return self.app.storage.repo(payload.get("type"), namespace, name)

    def _create_repo(self) -> None:
        user = self._require_user()
        payload = self._json_body()
        repo = self._repo_from_payload(payload, user)
        private = payload.get("visibility") == "private" or payload.get("private") is True
        try:
            self.app.storage.create_repo(repo, private=private, user=user)
        except HubError as err:
            if err.status == 409:
                self._send_json(409, {"error": err.message, "url": self._repo_url(repo)},
                                {"X-Error-Message": err.message})
                return
            raise
        self._send_json(200, {"url": self._repo_url(repo), "name": repo.id, "id": repo.meta()["uuid"]})

    def _delete_repo(self) -> None:
        user = self._require_user()
        repo = self._repo_from_payload(self._json_body(), user)
        self.app.storage.delete_repo(repo)
        self._send_json(200, {})

    def _validate_yaml(self) -> None:
        if self._token() is None:  # parsing YAML costs CPU: only for holders of a token
            raise HubError(401, "validate-yaml needs 'Authorization: Bearer <token>'. huggingface_hub's "
                                "RepoCard.push_to_hub and RepoCard.validate send none: push a card with "
                                "HfApi().upload_file(path_or_fileobj=str(card).encode(), "
                                "path_in_repo='README.md', repo_id=...), which validates it with your token")
        self._require_user()
        content = self._json_object("with a string 'content'").get("content")
        if not isinstance(content, str):
            raise HubError(400, "expected a JSON object with a string 'content'")
        try:
            _front_matter(content)
        except HubError as err:
            if "text/plain" in self.headers.get("Accept", ""):
                self._send(400, err.message.encode(), "text/plain; charset=utf-8")
            else:
                self._send_json(400, {"errors": [{"message": err.message}], "warnings": []},
                                {"X-Error-Message": err.message[:500]})
            return
        self._send_json(200, {"errors": [], "warnings": []})

    def _xet_token(self) -> None:
        """Answer a Xet token request with a redirect to a URL that names ``HF_HUB_DISABLE_XET``.

        hf_xet reports only the status and the URL of a failed token request, not the response
        body, so the URL carries the fix; the final 400 also says it in ``X-Error-Message``.
        """
        self._send_json(307, {"error": _XET_UNSUPPORTED},
                        {"Location": self._base_url() + _XET_HINT_PATH, "X-Error-Message": _XET_UNSUPPORTED})

    def _repo_json(self, repo: Repo, meta: Dict[str, Any], commit: Commit) -> Dict[str, Any]:
        """What ``model_info`` and the listings say about ``repo`` at ``commit`` (no siblings)."""
        info: Dict[str, Any] = {
            "_id": meta.get("uuid"), "id": repo.id, "author": repo.namespace, "sha": commit.id,
            "lastModified": commit.date, "createdAt": meta.get("createdAt"),
            "private": bool(meta.get("private")), "disabled": False, "gated": False,
            "downloads": 0, "likes": 0, "tags": [],
        }
        card = self._card_data(commit)
        if card is not None:
            info["cardData"] = card
            tags = card.get("tags")
            if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
                info["tags"] = tags
            for key in ("library_name", "pipeline_tag"):
                if isinstance(card.get(key), str):
                    info[key] = card[key]
        return info

    def _repo_info(self, repo: Repo, revision: Optional[str]) -> None:
        self._readable(repo)
        commit = repo.commit(repo.resolve(revision or DEFAULT_BRANCH))
        blobs = _is_true(self._query, "blobs")
        siblings = []
        for path, entry in sorted(commit.files.items()):
            sibling: Dict[str, Any] = {"rfilename": path}
            if blobs:
                sibling.update(size=entry.size, blobId=entry.oid)
                if entry.lfs:
                    sibling["lfs"] = {"size": entry.size, "sha256": entry.sha256,
                                      "pointerSize": entry.pointer_size}
            siblings.append(sibling)
        info = self._repo_json(repo, repo.meta(), commit)
        info["siblings"] = siblings
        self._send_json(200, info)

    def _card_data(self, commit: Commit) -> Optional[Dict[str, Any]]:
        """The README.md metadata of ``commit`` (None without); parsed once per README content."""
        entry = commit.files.get("README.md")
        if entry is None or entry.lfs:
            return None
        return self.app.cards.get(entry.sha256, lambda: self._read_card(entry))

    def _read_card(self, entry: FileEntry) -> Optional[Dict[str, Any]]:
        limit = 4 * (_MAX_METADATA_CHARS + 2048)  # enough UTF-8 bytes for the largest block
        try:
            with self.app.storage.objects.open(entry.sha256) as f:
                raw = f.read(limit)
            text = codecs.getincrementaldecoder("utf-8")().decode(raw, final=entry.size <= limit)
            return _front_matter(text, complete=entry.size <= limit)
        except (HubError, UnicodeDecodeError, OSError):
            return None

    def _list_repos(self, repo_type: str) -> None:
        """``GET /api/models`` (``datasets``, ``spaces``): the repos ``HfApi.list_models`` asks for."""
        query = self._query
        if len(urlsplit(self.path).query) > _MAX_LIST_QUERY:
            raise HubError(400, f"query string longer than {_MAX_LIST_QUERY} characters")

        def single(name: str) -> Optional[str]:
            values = query.get(name)
            return values[-1] if values else None

        search = (single("search") or "").lower()
        author = single("author")
        filters = query.get("filter", [])
        pipeline_tag = single("pipeline_tag")
        sort = single("sort")
        if sort is not None and sort not in _LIST_SORT_KEYS:
            raise HubError(400, f"invalid sort {sort[:80]!r}: expected one of {list(_LIST_SORT_KEYS)}")
        direction = single("direction") or "-1"
        if direction not in ("-1", "1"):
            raise HubError(400, f"invalid direction {direction[:80]!r}: expected -1 or 1")
        limit = _count_param(single("limit"), "limit", minimum=1)
        cursor = _count_param(single("cursor"), "cursor", minimum=0) or 0
        expand = query.get("expand", [])
        full, with_card = _is_true(query, "full"), _is_true(query, "cardData")
        if expand and (full or with_card):
            raise HubError(400, "'expand' cannot be combined with 'full' or 'cardData'")

        authenticated = self._user() is not None
        items = []
        for repo in self.app.storage.list_repos(repo_type):
            if (author and repo.namespace != author) or (search and search not in repo.id.lower()):
                continue
            try:
                meta = repo.meta()
                commit = repo.commit(repo.resolve(DEFAULT_BRANCH))
            except (HubError, OSError, ValueError):  # deleted while listing
                continue
            if meta.get("private") and not authenticated:
                continue
            info = self._repo_json(repo, meta, commit)
            if pipeline_tag is not None and info.get("pipeline_tag") != pipeline_tag:
                continue
            if not all(value in _filter_tags(info) for value in filters):
                continue
            info["siblings"] = [{"rfilename": path} for path in sorted(commit.files)]
            items.append(info)
        if sort is not None:  # stable: ties keep the order by id
            items.sort(key=lambda item: item.get(sort) or "", reverse=direction == "-1")

        size = min(limit or _LIST_PAGE_SIZE, _LIST_PAGE_SIZE)
        page = [_select_fields(item, expand, full, with_card) for item in items[cursor:cursor + size]]
        headers = {}
        if cursor + size < len(items):
            params = [(key, value) for key, values in query.items() if key != "cursor" for value in values]
            params.append(("cursor", str(cursor + size)))
            next_url = f"{self._base_url()}/api/{repo_type}s?{urlencode(params)}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        self._send_json(200, page, headers)

    # -- listing -------------------------------------------------------------------------------

    def _file_json(self, path: str, entry: FileEntry) -> Dict[str, Any]:
        data: Dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
        if entry.lfs:
            data["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
        return data

    def _last_commit_json(self, repo: Repo, commit: Commit, path: str) -> Dict[str, str]:
        last = self.app.storage.last_commit_touching(repo, commit, path)
        return {"id": last.id, "title": last.title, "date": last.date}

    def _entry_json(self, repo: Repo, commit: Commit, folders: Dict[str, List[str]], path: str,
                    expand: bool) -> Dict[str, Any]:
        if path in commit.files:
            data = self._file_json(path, commit.files[path])
        else:
            data = {"type": "directory", "oid": commit.folder_oid(path, folders[path]), "size": 0,
                    "path": path}
        if expand:
            data["lastCommit"] = self._last_commit_json(repo, commit, path)
        return data

    def _tree(self, repo: Repo, revision: str, path: str) -> None:
        self._readable(repo)
        commit = repo.commit(repo.resolve(revision))
        folders = commit.folders()
        path = path.rstrip("/")
        if path:
            check_repo_path(path, "tree path")
            if path not in folders:
                raise HubError(404, f"folder {path!r} not found at revision {revision!r} of {repo.id!r}",
                               code="EntryNotFound", headers={"X-Repo-Commit": commit.id})
        prefix = path + "/" if path else ""
        recursive = _is_true(self._query, "recursive")
        expand = _is_true(self._query, "expand")
        names = set()
        for candidate in list(commit.files) + list(folders):
            if not candidate.startswith(prefix):
                continue
            if recursive or "/" not in candidate[len(prefix):]:
                names.add(candidate)
        entries = [self._entry_json(repo, commit, folders, name, expand) for name in sorted(names)]
        entries.sort(key=lambda e: (e["type"] != "directory", e["path"]))
        self._send_json(200, entries)

    def _paths_info(self, repo: Repo, revision: str) -> None:
        self._readable(repo)
        assert self._body is not None
        raw = self._body.read_all(_MAX_JSON_BODY)
        if self.headers.get("Content-Type", "").startswith("application/json"):
            payload = _parse_json(raw, "request body") if raw.strip() else {}
            if not isinstance(payload, dict):
                raise HubError(400, "expected a JSON object with a list 'paths', got a JSON "
                                    f"{_json_type(payload)}")
            paths = payload.get("paths", [])
            expand = bool(payload.get("expand"))
        else:
            form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            paths = form.get("paths", [])
            expand = _is_true(form, "expand")
        if not isinstance(paths, list) or len(paths) > 10_000:
            raise HubError(400, "'paths' must be a list of at most 10000 paths")
        commit = repo.commit(repo.resolve(revision))
        folders = commit.folders()
        entries = []
        for path in paths:
            path = check_repo_path(path.rstrip("/") if isinstance(path, str) else path)
            if path in commit.files or path in folders:
                entries.append(self._entry_json(repo, commit, folders, path, expand))
        self._send_json(200, entries)

    def _refs(self, repo: Repo) -> None:
        self._readable(repo)
        refs = repo.refs()
        self._send_json(200, {
            "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": c}
                         for n, c in sorted(refs["branches"].items())],
            "converts": [],
            "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": c}
                     for n, c in sorted(refs["tags"].items())],
            "pullRequests": [],
        })

    def _commits(self, repo: Repo, revision: str) -> None:
        self._readable(repo)
        items = [{"id": c.id, "title": c.title, "message": c.message, "date": c.date,
                  "authors": [{"user": a, "avatar": None} for a in c.authors]}
                 for c in repo.history(repo.resolve(revision))]
        self._send_json(200, items)

    # -- downloads -----------------------------------------------------------------------------

    def _resolve(self, repo: Repo, revision: str, path: str) -> None:
        self._readable(repo)
        commit = repo.commit(repo.resolve(revision))
        entry = commit.files.get(path)
        if entry is None:
            raise HubError(404, f"file {path!r} not found at revision {revision!r} of {repo.id!r}",
                           code="EntryNotFound", headers={"X-Repo-Commit": commit.id})
        etag = entry.sha256 if entry.lfs else entry.oid
        headers = {"X-Repo-Commit": commit.id, "ETag": f'"{etag}"', "Accept-Ranges": "bytes",
                   "Content-Disposition": _content_disposition(path)}
        if entry.lfs:
            headers.update({"X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size)})
        start, end = 0, entry.size - 1
        status = 200
        range_header = self.headers.get("Range")
        if range_header:
            parsed = _parse_range(range_header, entry.size)
            if parsed is None:
                headers["Content-Range"] = f"bytes */{entry.size}"
                raise HubError(416, f"unsatisfiable range {range_header!r} for a {entry.size}-byte file",
                               headers=headers)
            start, end = parsed
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
        length = max(0, end - start + 1)
        self._responded = True
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD" or length == 0:
            return
        with self.app.storage.objects.open(entry.sha256) as f:
            f.seek(start)
            left = length
            while left > 0:
                chunk = f.read(min(left, 1024 * 1024))
                if not chunk:
                    raise OSError(f"object {entry.sha256} is shorter than recorded")
                self.wfile.write(chunk)
                left -= len(chunk)

    # -- uploads -------------------------------------------------------------------------------

    def _branch_commit(self, repo: Repo, revision: str) -> Commit:
        revision = revision[len("refs/heads/"):] if revision.startswith("refs/heads/") else revision
        refs = repo.refs()
        if revision not in refs["branches"]:
            raise HubError(404, f"branch {revision!r} not found in {repo.id!r} "
                                f"(branches: {sorted(refs['branches'])})", code="RevisionNotFound")
        return repo.commit(refs["branches"][revision])

    def _preupload(self, repo: Repo, revision: str) -> None:
        self._require_user()
        self._readable(repo)
        if _is_true(self._query, "create_pr"):
            raise HubError(400, "pull requests are not supported by the videohub hub; commit to a branch")
        payload = self._json_body()
        files = payload.get("files") if isinstance(payload, dict) else None
        if not isinstance(files, list) or len(files) > 10_000:
            raise HubError(400, "expected a JSON object with a list 'files' of at most 10000 entries")
        commit = self._branch_commit(repo, revision)
        result = []
        for item in files:
            if not isinstance(item, dict):
                raise HubError(400, "each entry of 'files' must be an object with 'path', 'size', 'sample'")
            path = check_repo_path(item.get("path"))
            size = item.get("size")
            if not _is_int(size) or size < 0:
                raise HubError(400, f"file {path!r}: 'size' must be a non-negative integer")
            sample = decode_base64(item.get("sample", ""), path)[:512]
            mode = self.app.storage.upload_mode(repo, commit, path, size, sample)
            existing = commit.files.get(path)
            oid = None
            if existing is not None:
                oid = existing.sha256 if existing.lfs else existing.oid
            result.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._send_json(200, {"files": result, "commitOid": commit.id})

    def _commit(self, repo: Repo, revision: str) -> None:
        user = self._require_user()
        self._readable(repo)
        if _is_true(self._query, "create_pr"):
            raise HubError(400, "pull requests are not supported by the videohub hub; commit to a branch")
        assert self._body is not None
        storage = self.app.storage
        header: Optional[dict] = None
        operations: List[Operation] = []
        for number, line in enumerate(self._body.lines(_MAX_COMMIT_LINE), start=1):
            if not line.strip():
                continue
            item = _parse_json(line, f"commit line {number}")
            key = item.get("key") if isinstance(item, dict) else None
            value = item.get("value") if isinstance(item, dict) else None
            if not isinstance(value, dict):
                raise HubError(400, f"commit line {number}: expected {{'key': ..., 'value': {{...}}}}")
            if header is None:
                if key != "header":
                    raise HubError(400, f"commit line {number}: the first line must be the 'header'")
                header = value
                continue
            if key == "file":
                path = check_repo_path(value.get("path"))
                if value.get("encoding", "base64") != "base64":
                    raise HubError(400, f"file {path!r}: only base64 encoding is supported")
                data = decode_base64(value.get("content"), path)
                if len(data) >= LFS_SIZE_THRESHOLD:
                    raise HubError(400, f"file {path!r} has {len(data)} bytes: files of "
                                        f"{LFS_SIZE_THRESHOLD} bytes or more must be uploaded through LFS")
                sha256 = storage.objects.put_bytes(data)
                operations.append(Operation("add", path, FileEntry(sha256, len(data), git_blob_oid(data), False)))
            elif key == "lfsFile":
                path = check_repo_path(value.get("path"))
                oid = value.get("oid")
                if value.get("algo", "sha256") != "sha256" or not isinstance(oid, str) or not _SHA256.match(oid):
                    raise HubError(400, f"lfsFile {path!r}: expected algo 'sha256' and a 64-hex 'oid'")
                stored = storage.objects.size(oid)
                if stored is None:
                    raise HubError(400, f"lfsFile {path!r}: LFS object {oid} was not uploaded")
                size = value.get("size", stored)
                if not _is_int(size) or size != stored:
                    raise HubError(400, f"lfsFile {path!r}: announced size {size} but the stored object "
                                        f"{oid} has {stored} bytes")
                operations.append(Operation("add", path, FileEntry(oid, stored, git_blob_oid(lfs_pointer(oid, stored)),
                                                                   True)))
            elif key == "deletedFile":
                operations.append(Operation("delete_file", check_repo_path(value.get("path"))))
            elif key == "deletedFolder":
                folder = value.get("path")
                if not isinstance(folder, str):
                    raise HubError(400, f"commit line {number}: deletedFolder needs a string 'path'")
                operations.append(Operation("delete_folder", check_repo_path(folder.rstrip("/"))))
            else:
                raise HubError(400, f"commit line {number}: unknown key {key!r} (expected file, lfsFile, "
                                    "deletedFile or deletedFolder)")
        if header is None:
            raise HubError(400, "empty commit body: expected an NDJSON 'header' line")
        title = header.get("summary")
        if not isinstance(title, str) or not title.strip():
            raise HubError(400, "commit header: 'summary' must be a non-empty string")
        message = header.get("description") or ""
        if not isinstance(message, str):
            raise HubError(400, f"commit header: 'description' must be a string, got a JSON {_json_type(message)}")
        parent = header.get("parentCommit")
        if parent is not None and (not isinstance(parent, str) or not re.match(r"^[0-9a-fA-F]{5,40}$", parent)):
            raise HubError(400, f"commit header: invalid 'parentCommit' {parent!r}")
        commit = storage.commit(repo, revision, operations, title, message, user, parent)
        self._send_json(200, {"success": True, "commitOid": commit.id,
                              "commitUrl": f"{self._repo_url(repo)}/commit/{commit.id}",
                              "pullRequestUrl": None, "hookOutput": ""})

    def _lfs_batch(self, repo: Repo) -> None:
        self._require_user()
        self._readable(repo)
        payload = self._json_body()
        if not isinstance(payload, dict) or payload.get("operation") != "upload":
            raise HubError(400, "the LFS batch endpoint supports operation 'upload' only")
        objects = payload.get("objects")
        if not isinstance(objects, list) or len(objects) > 10_000:
            raise HubError(400, "expected 'objects': a list of at most 10000 {'oid', 'size'} entries")
        base = self._base_url()
        verify_href = f"{base}/{_URL_PREFIX[repo.type]}{repo.id}.git/info/lfs/objects/verify"
        results = []
        for obj in objects:
            oid = obj.get("oid") if isinstance(obj, dict) else None
            size = obj.get("size") if isinstance(obj, dict) else None
            if not isinstance(oid, str) or not _SHA256.match(oid) or not _is_int(size) \
                    or not 0 <= size <= MAX_LFS_SIZE:
                results.append({"oid": oid if isinstance(oid, str) else "", "size": size if _is_int(size) else 0,
                                "error": {"code": 422, "message": "expected a 64-hex sha256 'oid' and a "
                                                                  f"'size' in [0, {MAX_LFS_SIZE}]"}})
                continue
            if self.app.storage.objects.size(oid) == size:
                results.append({"oid": oid, "size": size, "authenticated": True})
                continue
            ticket = self.app.tickets.issue(repo.key, oid, size)
            results.append({"oid": oid, "size": size, "authenticated": True, "actions": {
                "upload": {"href": f"{base}/lfs-upload/{ticket}", "header": {}, "expires_in": int(_TICKET_TTL_S)},
                "verify": {"href": verify_href, "header": {}},
            }})
        self._send_json(200, {"transfer": "basic", "objects": results}, content_type="application/vnd.git-lfs+json")

    def _lfs_put(self, ticket: str) -> None:
        assert self._body is not None
        _repo_key, oid, size = self.app.tickets.get(ticket)
        if self._body.length is not None and self._body.length != size:
            raise HubError(400, f"LFS object {oid}: Content-Length {self._body.length} differs from the "
                                f"announced size {size}")
        objects = self.app.storage.objects
        if objects.size(oid) == size:
            self._body.drain(limit=size + 1)
        else:
            objects.put_stream(self._body.read, oid, size)
        self.app.tickets.consume(ticket)
        self._send(200, b"", "text/plain")

    def _lfs_verify(self, repo: Repo) -> None:
        self._require_user()
        self._readable(repo)
        payload = self._json_object("with a 64-hex 'oid' and an integer 'size'")
        oid, size = payload.get("oid"), payload.get("size")
        if not isinstance(oid, str) or not _SHA256.match(oid) or not (size is None or _is_int(size)):
            raise HubError(400, "expected a JSON object with a 64-hex 'oid' and an integer 'size'")
        stored = self.app.storage.objects.size(oid)
        if stored is None or (size is not None and stored != size):
            raise HubError(404, f"LFS object {oid} of size {size} is not stored")
        self._send_json(200, {"message": "ok"}, content_type="application/vnd.git-lfs+json")

    # -- refs ----------------------------------------------------------------------------------

    def _branch(self, repo: Repo, branch: str, method: str) -> None:
        self._require_user()
        self._readable(repo)
        if method == "DELETE":
            self.app.storage.delete_ref(repo, "branches", branch)
            self._send_json(200, {})
            return
        start = self._json_object("with an optional string 'startingPoint'").get("startingPoint")
        if start is not None and not isinstance(start, str):
            raise HubError(400, f"'startingPoint' must be a revision string, got a JSON {_json_type(start)}")
        check_ref_name(branch, "branch")
        self.app.storage.create_ref(repo, "branches", branch, start or DEFAULT_BRANCH)
        self._send_json(200, {})

    def _tag(self, repo: Repo, name: str, method: str) -> None:
        self._require_user()
        self._readable(repo)
        if method == "DELETE":
            self.app.storage.delete_ref(repo, "tags", name)
            self._send_json(200, {})
            return
        tag = self._json_object("with a string 'tag'").get("tag")
        check_ref_name(tag, "tag")
        self.app.storage.create_ref(repo, "tags", tag, name)  # the URL names the revision to tag
        self._send_json(200, {})


def _count_param(value: Optional[str], name: str, minimum: int) -> Optional[int]:
    """The query parameter ``name`` as an integer of at least ``minimum`` (None when absent)."""
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,12}", value) or int(value) < minimum:
        raise HubError(400, f"invalid {name} {value[:80]!r}: expected an integer of at least {minimum}")
    return int(value)


def _filter_tags(info: Dict[str, Any]) -> Set[str]:
    """What a listing ``filter`` value may match: the card's tags, ``library_name``,
    ``pipeline_tag``, ``license:<id>`` and ``dataset:<id>``."""
    tags = set(info["tags"])
    tags.update(info[key] for key in ("library_name", "pipeline_tag") if key in info)
    card = info.get("cardData") or {}
    for key, prefix in (("license", "license:"), ("datasets", "dataset:")):
        values = card.get(key)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str):
                tags.add(prefix + value)
    return tags


def _select_fields(info: Dict[str, Any], expand: List[str], full: bool, with_card: bool) -> Dict[str, Any]:
    """The fields of a listed repo: ``_id``, ``id`` and the ``expand`` properties, or the summary
    (with ``siblings`` when ``full``, ``cardData`` when ``with_card``)."""
    if expand:
        return {key: value for key, value in info.items() if key in ("_id", "id") or key in expand}
    dropped = {key for key, wanted in (("siblings", full), ("cardData", with_card)) if not wanted}
    return {key: value for key, value in info.items() if key not in dropped}


def _parse_json(raw: bytes, what: str) -> Any:
    """``raw`` decoded as JSON; a 400 ``HubError`` naming ``what`` when it is not valid or too deep."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise HubError(400, f"{what} is JSON nested too deeply") from None
    except ValueError:  # includes UnicodeDecodeError
        raise HubError(400, f"{what} is not valid JSON") from None


def _is_int(value: Any) -> bool:
    """Whether ``value`` is a JSON integer (``True``/``False`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    """The JSON name of ``value``'s type (object, array, string, number, boolean, null)."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"


def _loggable(text: str) -> str:
    """``text`` made safe for a log line: LFS upload tickets (bearer capabilities) masked, and
    control and other non-printable characters (which could forge log lines or drive a terminal)
    written as ``\\xNN``/``\\uNNNN`` escapes, backslashes doubled so escapes stay unambiguous."""
    text = re.sub(r"/lfs-upload/[^\s?\"']+", "/lfs-upload/***", text)
    return "".join(_escape_char(c) for c in text)


def _escape_char(c: str) -> str:
    if c == "\\":
        return "\\\\"
    return c if c.isprintable() else ascii(c)[1:-1]


def _header_value(value: str, limit: int = 16 * 1024) -> str:
    """``value`` made safe for an HTTP header: one line, printable latin-1, at most ``limit`` characters."""
    flat = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in " ".join(str(value).split()))[:limit]
    return flat.encode("latin-1", "backslashreplace").decode("latin-1")


def _unquote(segment: str) -> str:
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise HubError(400, f"URL segment {segment[:80]!r} is not valid percent-encoded UTF-8") from None


def _parse_range(value: str, size: int) -> Optional[Tuple[int, int]]:
    """``(start, end)`` of a single ``bytes=`` range, or None when unsatisfiable or malformed."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", value)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    if match.group(1):
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else size - 1
    else:
        suffix = int(match.group(2))
        start, end = max(0, size - suffix), size - 1
    end = min(end, size - 1)
    if start > end or start >= size:
        return None
    return start, end


def _content_disposition(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
    return f'inline; filename="{ascii_name}"'


def _metadata_block(content: str, complete: bool = True) -> Optional[str]:
    """The text between the leading ``---`` lines of a model card (None when it has no such block).

    Only the first ``_MAX_METADATA_CHARS`` characters (plus room for the delimiters) are examined.

    Args:
        content: the README.md text, or its beginning (no default).
        complete: whether ``content`` is the whole file; default True.

    Raises:
        HubError: 400 when the block is never closed or is larger than ``_MAX_METADATA_CHARS``.
    """
    head = content[:_MAX_METADATA_CHARS + 2048]
    lines = head.splitlines()
    if lines and (len(head) < len(content) or not complete):
        lines.pop()  # may be cut in the middle
    if not lines or lines[0].strip() != "---":
        return None
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            block = "\n".join(lines[1:end])
            if len(block) <= _MAX_METADATA_CHARS:
                return block
            break
    else:
        if len(head) == len(content) and complete:
            raise HubError(400, "README.md metadata: the YAML block opened by '---' on line 1 is never "
                                "closed by a '---' line")
    raise HubError(400, f"README.md metadata: the YAML block is larger than {_MAX_METADATA_CHARS} "
                        "characters (or its closing '---' line is missing)")


def _front_matter(content: str, complete: bool = True) -> Optional[Dict[str, Any]]:
    """The YAML mapping between the leading ``---`` lines of a model card, as JSON-ready values.

    The work is bounded: the block has at most ``_MAX_METADATA_CHARS`` characters, collections nest
    at most ``_MAX_YAML_DEPTH`` deep (brackets are counted before parsing: PyYAML's scanner is
    quadratic in the flow nesting depth), parsing stops after ``_MAX_YAML_EVENTS`` events, and
    aliases (which expand a few bytes into a huge document, "billion laughs") are refused.

    Args:
        content: the README.md text, or its beginning (no default).
        complete: whether ``content`` is the whole file; default True.

    Returns:
        The mapping (dates as ISO strings), or None when the card has no metadata block or it is empty.

    Raises:
        HubError: 400 when the YAML is malformed, exceeds a bound, or is not a mapping.
    """
    text = _metadata_block(content, complete)
    if text is None:
        return None
    depth = deepest = 0
    for match in re.finditer(r"[\[\]{}]", text):
        depth = depth + 1 if match.group() in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    if deepest > _MAX_YAML_DEPTH:
        raise HubError(400, f"README.md metadata: brackets nest {deepest} deep, more than the "
                            f"{_MAX_YAML_DEPTH} supported")
    import yaml  # pyyaml ships with huggingface_hub

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it
    try:
        depth = 0
        for count, event in enumerate(yaml.parse(text, Loader=loader), start=1):
            if isinstance(event, yaml.AliasEvent):
                raise HubError(400, "README.md metadata: YAML aliases ('*name') are not supported")
            if count > _MAX_YAML_EVENTS:
                raise HubError(400, f"README.md metadata: more than {_MAX_YAML_EVENTS} YAML nodes")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _MAX_YAML_DEPTH:
                    raise HubError(400, f"README.md metadata: collections nest more than {_MAX_YAML_DEPTH} deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        data = yaml.load(text, Loader=loader)
    except (yaml.YAMLError, ValueError, OverflowError) as err:  # ValueError: bad dates, huge integers
        raise HubError(400, f"README.md metadata is not valid YAML: {err}") from None
    if data is not None and not isinstance(data, dict):
        raise HubError(400, f"README.md metadata must be a YAML mapping, got {type(data).__name__}")
    return _json_ready(data) if data else None


def _json_ready(value: Any) -> Any:
    """``value`` (built by a YAML safe loader) with only JSON types: dates and times become ISO
    strings, ``!!binary`` bytes base64 text, ``!!set`` sets sorted lists, and keys strings."""
    if isinstance(value, dict):
        return {_json_key(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_json_ready(item) for item in value), key=repr)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    ready = _json_ready(key)
    return ready if isinstance(ready, str) else json.dumps(ready)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: Tuple[str, int], app: "HubServer") -> None:
        self.app = app
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class HubServer:
    """The local hub server.

    Args:
        root: directory holding the hub's repos and objects; created if missing (no default).
        host: interface to bind; default ``"127.0.0.1"`` (loopback only).
        port: TCP port; default 0 (pick a free one; read it back from ``url``).
        tokens: bearer tokens accepted for writes; default ``()`` (read-only server).

    ``start()`` serves from a background thread, ``serve_forever()`` from the calling thread,
    ``stop()`` shuts down (also as a context manager: ``with HubServer(root) as hub: hub.url``).
    """

    def __init__(self, root: str, host: str = "127.0.0.1", port: int = 0, tokens: Sequence[str] = ()) -> None:
        if isinstance(tokens, str):
            raise ConfigError("HubServer tokens: expected a sequence of strings, got a single string")
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"HubServer port: expected an integer in [0, 65535], got {port!r}")
        self.root = os.path.abspath(root)
        self.host = host
        self.port = port
        self._tokens = tuple(check_token(t) for t in tokens)
        self.storage = HubStorage(self.root)
        self.tickets = _TicketBook()
        self.cards = _Cache(256)  # README.md sha256 -> parsed metadata (contents are immutable)
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._foreground: Optional[threading.Thread] = None
        self._netloc: Optional[str] = None
        self._connections: Dict[socket.socket, threading.Thread] = {}  # open connection -> its handler
        self._connections_lock = threading.Lock()

    # -- state ---------------------------------------------------------------------------------

    @property
    def netloc(self) -> str:
        """``host:port`` the server is (or was last) bound to (brackets around IPv6 hosts)."""
        if self._netloc is None:
            raise RuntimeError("HubServer has not been started: call start() first")
        return self._netloc

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (use as ``HF_ENDPOINT``); kept after ``stop()``."""
        return f"http://{self.netloc}"

    def authenticate(self, token: Optional[str]) -> Optional[str]:
        """The user name a bearer token authenticates as, or None when it is not a configured token."""
        if not token:
            return None
        ok = False
        for candidate in self._tokens:
            ok |= hmac.compare_digest(candidate.encode(), token.encode())
        return DEFAULT_USER if ok else None

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections[conn] = threading.current_thread()
            else:
                self._connections.pop(conn, None)

    # -- lifecycle -----------------------------------------------------------------------------

    def _bind(self) -> _HTTPServer:
        if self._httpd is not None:
            raise RuntimeError(f"HubServer is already running at {self.url}")
        self._httpd = _HTTPServer((self.host, self.port), self)
        host, port = self._httpd.server_address[:2]
        self._netloc = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = self.host == "localhost"
        if not loopback:
            logger.warning("videohub hub listens on %s: traffic (tokens included) is plain HTTP, "
                           "use it on trusted networks only", self.url)
        if not self._tokens:
            logger.warning("videohub hub has no tokens configured: it is read-only (writes get 401)")
        return self._httpd

    def start(self) -> "HubServer":
        """Bind and serve from a daemon thread; returns self."""
        httpd = self._bind()
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"videohub-hub-{self.netloc}", daemon=True)
        self._thread.start()
        logger.info("videohub hub serving %s at %s", self.root, self.url)
        return self

    def serve_forever(self, ready: Optional[Callable[[str], None]] = None) -> None:
        """Bind and serve from the calling thread until ``stop()`` or KeyboardInterrupt.

        Args:
            ready: called with the URL once the socket is bound; default None.
        """
        httpd = self._bind()
        self._foreground = threading.current_thread()
        try:
            if ready is not None:
                ready(self.url)
            httpd.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self._foreground = None
            self._close()

    def stop(self) -> None:
        """Stop serving, close open connections, wait (up to 10 s) for the requests they carried to
        end, and release the port (no-op when not running)."""
        httpd = self._httpd
        if httpd is None:
            return
        if self._thread is not None:
            httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        elif self._foreground is not None and self._foreground is not threading.current_thread():
            httpd.shutdown()  # serve_forever() returns in its own thread and closes the socket
            return
        self._close()

    def _close(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.server_close()
        with self._connections_lock:
            connections = list(self._connections.items())
        for conn, _ in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # The handlers now fail on their closed sockets; wait for them, so that the partial files
        # of interrupted uploads are gone when stop() returns.
        deadline = time.monotonic() + _STOP_WAIT_S
        for _, handler in connections:
            if handler is not threading.current_thread():
                handler.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ----------------------------------------------------------------------------------------------
# Command line


def add_cli_parser(subparsers: "argparse._SubParsersAction") -> argparse.ArgumentParser:
    """Add the ``hub`` command (subcommand ``serve``) to ``subparsers``; returns the ``hub`` parser.

    The ``serve`` parser sets ``func`` to ``run_serve``, so a CLI calls ``args.func(args)``.
    """
    hub = subparsers.add_parser(
        "hub", help="run a local Hugging Face Hub-compatible server",
        description="Local Hugging Face Hub-compatible server for huggingface_hub and transformers.")
    commands = hub.add_subparsers(dest="hub_command", metavar="COMMAND")
    commands.required = True
    serve = commands.add_parser(
        "serve", help="serve a hub directory over HTTP",
        description="Serve the hub stored in --root. Point clients at it with "
                    "HF_ENDPOINT=http://HOST:PORT and HF_HUB_DISABLE_XET=1. Writes need a token "
                    f"(--token, repeatable, or comma-separated in ${TOKENS_ENV}); reads are anonymous.")
    serve.add_argument("--root", required=True, help="directory holding repos and objects (created if missing)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port; 0 picks a free one (default: 8000)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="interface to bind (default: 127.0.0.1; use 0.0.0.0 for the LAN)")
    serve.add_argument("--token", dest="tokens", action="append", default=[], metavar="TOKEN",
                       help="bearer token accepted for writes (repeatable)")
    serve.set_defaults(func=run_serve)
    return hub


def run_serve(args: argparse.Namespace) -> int:
    """Handler of ``hub serve``: serve ``args.root`` in the foreground, logging each request at info level."""
    tokens = list(dict.fromkeys(list(args.tokens or []) + tokens_from_env()))
    server = HubServer(args.root, host=args.host, port=args.port, tokens=tokens)
    get_logger("videohub.hub").setLevel(logging.INFO)

    def ready(url: str) -> None:
        print(f"videohub hub serving {server.root} at {url}", flush=True)
        print(f"  export HF_ENDPOINT={url} HF_HUB_DISABLE_XET=1", flush=True)

    def on_sigterm(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM terminates at once
        raise KeyboardInterrupt

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        server.serve_forever(ready=ready)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Standalone entry point: ``python -m videohub.hub serve --root DIR --port P``."""
    parser = argparse.ArgumentParser(prog="videohub")
    add_cli_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["hub", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


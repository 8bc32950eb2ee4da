"""On-disk storage of the local hub: a content-addressed object store, commit objects and refs.

Layout under ``root``::

    objects/<sha256[:2]>/<sha256[2:]>      file contents, named by their sha256 (regular and LFS alike)
    tmp/                                  partially written files (same filesystem, so renames are atomic);
                                          emptied at start when no other server uses the root
    tmp.lock                              shared flock of every live server (see ObjectStore._claim_tmp)
    repos/<type>/<namespace>/<name>/
        repo.json                         type, id, private flag, creation date
        refs.json                         {"branches": {name: commit}, "tags": {name: commit}}
        commits/<commit id>.json          one immutable snapshot per commit (full path -> file map)

Every write goes to a temporary file that is flushed and fsynced, then ``os.replace``-d into place,
and the containing directory is fsynced. A commit first writes its file contents, then its commit
object, and only then swaps ``refs.json``; a process killed at any point leaves either the old or
the new ref, and every file a ref points to is complete on disk.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import fnmatch
import hashlib
import json
import os
import re
import shutil
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from ..errors import VideohubError
from ..utils.io import atomic_write_bytes, fsync_dir
from ..utils.logging import get_logger

try:  # POSIX advisory locks let two server processes share one root safely.
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX platforms fall back to in-process locks only
    fcntl = None  # type: ignore[assignment]

logger = get_logger("videohub.hub")

#: Files at least this large are uploaded through LFS (the public Hub rejects larger regular files).
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
#: Largest LFS object the server accepts (the public Hub's hard limit).
MAX_LFS_SIZE = 50 * 1000 * 1000 * 1000
#: Repository types the server hosts, as huggingface_hub names them.
REPO_TYPES = ("model", "dataset", "space")
DEFAULT_BRANCH = "main"

#: Patterns of the ``.gitattributes`` written in every new repo (and assumed when a repo has none).
DEFAULT_LFS_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*",
    "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb",
    "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors", "saved_model/**/*", "*.tar.*",
    "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip", "*.zst", "*tfevents*",
    "*.mp4", "*.avi", "*.mkv", "*.webm", "*.mov",
)

_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX_PREFIX = re.compile(r"^[0-9a-f]{5,39}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REPO_PART = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$")
_REF_CHARS = re.compile(r"^[A-Za-z0-9._/-]+$")
_RESERVED_NAMESPACES = {"api", "datasets", "spaces", "models", "kernels", "buckets", "lfs-upload"}


class HubError(VideohubError):
    """An error the hub reports to its client as an HTTP status.

    Args:
        status: HTTP status code (no default).
        message: what was wrong and what was expected (no default).
        code: value of the ``X-Error-Code`` header huggingface_hub maps to an exception
            (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``); default None.
        headers: extra response headers; default None.
    """

    def __init__(self, status: int, message: str, code: Optional[str] = None,
                 headers: Optional[Mapping[str, str]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


# ----------------------------------------------------------------------------------------------
# Validation of names coming from clients


def check_repo_part(value: object, what: str) -> str:
    """Return ``value`` if it is a valid namespace or repo name, else raise a 400 ``HubError``.

    Args:
        value: the namespace or name sent by the client (no default).
        what: ``"namespace"`` or ``"name"``, used in the message (no default).
    """
    if not isinstance(value, str) or not _REPO_PART.match(value) or "--" in value or ".." in value \
            or value.endswith(".git"):
        raise HubError(400, f"invalid repo {what} {value!r}: expected 1-96 characters from "
                            "[A-Za-z0-9_.-], starting and ending with a letter, digit or '_', "
                            "without '--', '..' or a '.git' suffix")
    if what == "namespace" and value.lower() in _RESERVED_NAMESPACES:
        raise HubError(400, f"invalid repo namespace {value!r}: it is reserved by the hub URL scheme")
    return value


def check_repo_path(path: object, what: str = "path") -> str:
    """Return ``path`` if it is a safe relative POSIX path inside a repo, else raise a 400 ``HubError``.

    Refused: empty paths, absolute paths, backslashes, NUL and other control characters, and
    ``.``/``..``/empty segments (so nothing can escape the repo or alias another path).

    Args:
        path: path sent by the client (no default).
        what: name of the field, used in the message; default ``"path"``.
    """
    if not isinstance(path, str) or not path:
        raise HubError(400, f"invalid {what} {path!r}: expected a non-empty relative path")
    if len(path) > 1024:
        raise HubError(400, f"invalid {what} {path[:64]!r}...: longer than 1024 characters")
    if path.startswith("/"):
        raise HubError(400, f"invalid {what} {path!r}: absolute paths are not allowed")
    if "\\" in path:
        raise HubError(400, f"invalid {what} {path!r}: backslashes are not allowed, use '/'")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise HubError(400, f"invalid {what} {path!r}: NUL and control characters are not allowed")
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise HubError(400, f"invalid {what} {path!r}: empty, '.' and '..' segments are not "
                                "allowed (path traversal)")
    return path


def check_ref_name(name: object, what: str = "branch") -> str:
    """Return ``name`` if it is a valid branch or tag name, else raise a 400 ``HubError``.

    Args:
        name: the branch or tag name (no default).
        what: ``"branch"`` or ``"tag"``, used in the message; default ``"branch"``.
    """
    if not isinstance(name, str) or not name or len(name) > 200 or not _REF_CHARS.match(name) \
            or name.startswith(("/", "-", "refs/")) or name.endswith(("/", ".", ".lock")) \
            or ".." in name or "//" in name or "/." in name or name.startswith(".") \
            or _HEX40.match(name):
        raise HubError(400, f"invalid {what} name {name!r}: expected characters from "
                            "[A-Za-z0-9._/-], no '..', '//', leading '/', '-', '.' or 'refs/', "
                            "no trailing '/', '.' or '.lock', and not a 40-hex commit id")
    return name


def check_repo_type(repo_type: object) -> str:
    """Return ``repo_type`` (``None`` means ``"model"``) if the hub hosts it, else raise a 400 ``HubError``."""
    repo_type = "model" if repo_type is None else repo_type
    if repo_type not in REPO_TYPES:
        raise HubError(400, f"invalid repo type {repo_type!r}: expected one of {list(REPO_TYPES)}")
    return repo_type  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# Hashing helpers


def git_blob_oid(data: bytes) -> str:
    """Git object id (sha1 of ``b"blob <size>\\0" + data``) of a file's contents."""
    digest = hashlib.sha1(b"blob %d\x00" % len(data))
    digest.update(data)
    return digest.hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """Contents of the git-lfs pointer file that stands for an LFS object in git."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def utc_now() -> str:
    """The current time in the Hub's date format (``2024-01-31T12:00:00.000000Z``)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_gitattributes() -> bytes:
    """The ``.gitattributes`` of a new repo: every pattern of ``DEFAULT_LFS_PATTERNS`` goes to LFS."""
    return "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in DEFAULT_LFS_PATTERNS).encode()


def lfs_patterns_from_gitattributes(text: str) -> List[str]:
    """Patterns marked ``filter=lfs`` in a ``.gitattributes`` text."""
    patterns = []
    for line in text.splitlines():
        parts = line.strip().split()
        if len(parts) >= 2 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            patterns.append(parts[0])
    return patterns


def matches_gitattributes(path: str, patterns: Iterable[str]) -> bool:
    """Whether ``path`` matches one of the gitattributes ``patterns``.

    A pattern without ``/`` matches the file name in any folder; one with ``/`` matches the whole
    path from the repo root (``**`` spans folders).
    """
    basename = path.rsplit("/", 1)[-1]
    for pattern in patterns:
        if "/" in pattern.strip("/"):
            if fnmatch.fnmatchcase(path, pattern.strip("/").replace("**", "*")):
                return True
        elif fnmatch.fnmatchcase(basename, pattern.strip("/")):
            return True
    return False


# ----------------------------------------------------------------------------------------------
# Durable files


def _json_bytes(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, indent=1).encode()


def _list_dir(path: str) -> List[str]:
    """Names in the directory ``path`` (empty when it does not exist)."""
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


class ObjectStore:
    """Content-addressed file store: each file lives once, under its sha256.

    Args:
        root: the hub root; objects go to ``<root>/objects`` (no default).
    """

    def __init__(self, root: str) -> None:
        self.dir = os.path.join(root, "objects")
        self.tmp = os.path.join(root, "tmp")
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(self.tmp, exist_ok=True)
        self._tmp_lock = self._claim_tmp(os.path.join(root, "tmp.lock"))

    def _claim_tmp(self, lock_path: str) -> BinaryIO:
        """Delete what a dead server left in ``tmp/`` and hold a shared lock on ``lock_path``.

        Every store holds a shared ``flock`` on ``lock_path`` for its lifetime (released when the
        process exits, however it exits). At start, an exclusive lock that succeeds proves that no
        other store uses this root, so everything in ``tmp/`` is a partial file of a dead one and is
        deleted; when another store is alive, its files may be in use and stay. Without ``fcntl``
        (non-POSIX), ``tmp/`` is always emptied: one server per root there.
        """
        handle = open(lock_path, "a+b")
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
                return handle
        removed = 0
        for name in _list_dir(self.tmp):
            path = os.path.join(self.tmp, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            removed += 1
        if removed:
            logger.info("removed %d partial upload(s) a previous server left in %s", removed, self.tmp)
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        return handle

    def path(self, sha256: str) -> str:
        """Path of the object ``sha256`` (which must be 64 lowercase hex characters)."""
        if not _SHA256.match(sha256):
            raise HubError(400, f"invalid sha256 {sha256!r}: expected 64 lowercase hex characters")
        return os.path.join(self.dir, sha256[:2], sha256[2:])

    def size(self, sha256: str) -> Optional[int]:
        """Size of the stored object, or None when it is not stored."""
        try:
            return os.path.getsize(self.path(sha256))
        except FileNotFoundError:
            return None

    def open(self, sha256: str) -> BinaryIO:
        """Open the object for binary reading."""
        return open(self.path(sha256), "rb")

    def read(self, sha256: str) -> bytes:
        """The object's whole contents (use for small files only)."""
        with self.open(sha256) as f:
            return f.read()

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` durably and return its sha256."""
        sha256 = hashlib.sha256(data).hexdigest()
        if self.size(sha256) == len(data):
            return sha256
        return self._install(lambda f: f.write(data), sha256)

    def put_stream(self, read: Callable[[int], bytes], expected_sha256: str, expected_size: int) -> str:
        """Store the bytes returned by ``read(n)`` until it returns ``b""``, checking size and sha256.

        Args:
            read: callable returning up to ``n`` bytes, ``b""`` at the end (no default).
            expected_sha256: the sha256 the client announced (no default).
            expected_size: the size the client announced (no default).

        Raises:
            HubError: 400 when the received bytes do not have the announced size or sha256; nothing
                is stored then.
        """
        digest = hashlib.sha256()
        received = 0

        def copy(f: BinaryIO) -> None:
            nonlocal received
            while True:
                chunk = read(1024 * 1024)
                if not chunk:
                    break
                received += len(chunk)
                if received > expected_size:
                    raise HubError(400, f"LFS object {expected_sha256}: received more than the "
                                        f"announced {expected_size} bytes")
                digest.update(chunk)
                f.write(chunk)
            if received != expected_size:
                raise HubError(400, f"LFS object {expected_sha256}: received {received} bytes, "
                                    f"expected {expected_size}")
            if digest.hexdigest() != expected_sha256:
                raise HubError(400, f"LFS object sha256 mismatch: the uploaded bytes hash to "
                                    f"{digest.hexdigest()}, expected {expected_sha256}")

        return self._install(copy, expected_sha256)

    def _install(self, write: Callable[[BinaryIO], object], sha256: str) -> str:
        final = self.path(sha256)
        tmp = os.path.join(self.tmp, f"{sha256}.{uuid.uuid4().hex}")
        try:
            with open(tmp, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        fsync_dir(os.path.dirname(final))
        return sha256


# ----------------------------------------------------------------------------------------------
# Repositories


@dataclass
class FileEntry:
    """One file of a commit snapshot.

    Attributes:
        sha256: sha256 of the contents (the object store key).
        size: size in bytes.
        oid: git object id: blob sha1 of the contents, or of the LFS pointer for LFS files.
        lfs: whether the file is stored through LFS.
    """

    sha256: str
    size: int
    oid: str
    lfs: bool

    def to_json(self) -> dict:
        """JSON form stored in commit objects."""
        return {"sha256": self.sha256, "size": self.size, "oid": self.oid, "lfs": self.lfs}

    @classmethod
    def from_json(cls, data: Mapping) -> "FileEntry":
        """Inverse of ``to_json``."""
        return cls(sha256=data["sha256"], size=int(data["size"]), oid=data["oid"], lfs=bool(data["lfs"]))

    @property
    def pointer_size(self) -> int:
        """Size of the git-lfs pointer file (meaningful for LFS files)."""
        return len(lfs_pointer(self.sha256, self.size))


@dataclass
class Commit:
    """An immutable commit: metadata plus the full snapshot of the repo's files."""

    id: str
    parents: List[str]
    title: str
    message: str
    date: str
    authors: List[str]
    files: Dict[str, FileEntry] = field(default_factory=dict)

    def to_json(self) -> dict:
        """JSON form stored under ``commits/<id>.json``."""
        return {"id": self.id, "parents": self.parents, "title": self.title, "message": self.message,
                "date": self.date, "authors": self.authors,
                "files": {p: e.to_json() for p, e in sorted(self.files.items())}}

    @classmethod
    def from_json(cls, data: Mapping) -> "Commit":
        """Inverse of ``to_json``."""
        return cls(id=data["id"], parents=list(data["parents"]), title=data["title"],
                   message=data["message"], date=data["date"], authors=list(data["authors"]),
                   files={p: FileEntry.from_json(e) for p, e in data["files"].items()})

    def folders(self) -> Dict[str, List[str]]:
        """Every folder of the snapshot mapped to the files below it (at any depth)."""
        result: Dict[str, List[str]] = {}
        for path in self.files:
            parts = path.split("/")
            for depth in range(1, len(parts)):
                result.setdefault("/".join(parts[:depth]), []).append(path)
        return result

    def folder_oid(self, folder: str, members: List[str]) -> str:
        """A deterministic id of a folder's contents (sha1 of its sorted relative paths and oids)."""
        digest = hashlib.sha1(b"tree\x00")
        for path in sorted(members):
            digest.update(f"{path[len(folder) + 1:]}\x00{self.files[path].oid}\n".encode())
        return digest.hexdigest()


@dataclass
class Operation:
    """One change of a commit, already validated.

    Attributes:
        kind: ``"add"``, ``"delete_file"`` or ``"delete_folder"``.
        path: the repo path (validated with ``check_repo_path``).
        entry: the new file for ``"add"``, else None.
    """

    kind: str
    path: str
    entry: Optional[FileEntry] = None


class Repo:
    """Handle on one repository directory (does no I/O until used)."""

    def __init__(self, storage: "HubStorage", repo_type: str, namespace: str, name: str) -> None:
        self.storage = storage
        self.type = check_repo_type(repo_type)
        self.namespace = check_repo_part(namespace, "namespace")
        self.name = check_repo_part(name, "name")
        self.id = f"{namespace}/{name}"
        self.dir = os.path.join(storage.root, "repos", self.type, namespace, name)

    @property
    def key(self) -> str:
        """``"<type>/<namespace>/<name>"``, unique over the hub."""
        return f"{self.type}/{self.id}"

    def exists(self) -> bool:
        """Whether the repository has been created."""
        return os.path.isfile(os.path.join(self.dir, "refs.json"))

    def require(self) -> "Repo":
        """Return self, or raise a 404 ``RepoNotFound`` when the repo does not exist."""
        if not self.exists():
            raise HubError(404, f"{self.type} repository {self.id!r} not found", code="RepoNotFound")
        return self

    def meta(self) -> dict:
        """Contents of ``repo.json``."""
        with open(os.path.join(self.dir, "repo.json"), "rb") as f:
            return json.load(f)

    def refs(self) -> dict:
        """Contents of ``refs.json``: ``{"branches": {...}, "tags": {...}}``."""
        with open(os.path.join(self.dir, "refs.json"), "rb") as f:
            return json.load(f)

    def commit(self, commit_id: str) -> Commit:
        """Load the commit ``commit_id`` (404 ``RevisionNotFound`` if absent)."""
        return self.storage.load_commit(self, commit_id)

    def has_commit(self, commit_id: str) -> bool:
        """Whether ``commit_id`` is a full commit id of this repo."""
        return bool(_HEX40.match(commit_id)) and os.path.isfile(self._commit_path(commit_id))

    def _commit_path(self, commit_id: str) -> str:
        return os.path.join(self.dir, "commits", f"{commit_id}.json")

    def resolve(self, revision: str) -> str:
        """Commit id of a branch, tag, ``refs/heads/<b>``, ``refs/tags/<t>``, full or short commit id.

        Raises:
            HubError: 404 ``RevisionNotFound`` when nothing matches (or a short id is ambiguous).
        """
        refs = self.refs()
        name = revision
        if name.startswith("refs/heads/") and name[len("refs/heads/"):] in refs["branches"]:
            return refs["branches"][name[len("refs/heads/"):]]
        if name.startswith("refs/tags/") and name[len("refs/tags/"):] in refs["tags"]:
            return refs["tags"][name[len("refs/tags/"):]]
        if name in refs["branches"]:
            return refs["branches"][name]
        if name in refs["tags"]:
            return refs["tags"][name]
        if self.has_commit(name):
            return name
        if _HEX_PREFIX.match(name):
            matches = [f[:-5] for f in os.listdir(os.path.join(self.dir, "commits"))
                       if f.startswith(name) and f.endswith(".json")]
            if len(matches) == 1:
                return matches[0]
        raise HubError(404, f"revision {revision!r} not found in {self.type} repository {self.id!r} "
                            f"(branches: {sorted(refs['branches'])}, tags: {sorted(refs['tags'])})",
                       code="RevisionNotFound")

    def history(self, commit_id: str) -> Iterator[Commit]:
        """Commits reachable from ``commit_id`` by first parents, newest first."""
        current: Optional[str] = commit_id
        while current:
            commit = self.commit(current)
            yield commit
            current = commit.parents[0] if commit.parents else None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialize writers of this repo: a thread lock, plus ``flock`` across processes."""
        with self.storage.repo_lock(self.key):
            if fcntl is None:  # pragma: no cover
                yield
                return
            with open(os.path.join(self.dir, ".lock"), "a+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _write_refs(self, refs: dict) -> None:
        atomic_write_bytes(os.path.join(self.dir, "refs.json"), _json_bytes(refs))

    def _write_commit(self, commit: Commit) -> None:
        path = self._commit_path(commit.id)
        if not os.path.exists(path):
            atomic_write_bytes(path, _json_bytes(commit.to_json()))


class HubStorage:
    """All repositories and objects of one hub root directory.

    Args:
        root: directory holding the hub's data; created if missing (no default).
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        os.makedirs(os.path.join(self.root, "repos"), exist_ok=True)
        self.objects = ObjectStore(self.root)
        self._locks: Dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._commit_cache: "OrderedDict[Tuple[str, str], Commit]" = OrderedDict()
        self._cache_guard = threading.Lock()

    def repo(self, repo_type: Optional[str], namespace: str, name: str) -> Repo:
        """Handle on a repository (validates the names; the repo need not exist)."""
        return Repo(self, check_repo_type(repo_type), namespace, name)

    def list_repos(self, repo_type: str) -> List[Repo]:
        """Every created repository of ``repo_type``, sorted by id."""
        base = os.path.join(self.root, "repos", check_repo_type(repo_type))
        repos = []
        for namespace in _list_dir(base):
            for name in _list_dir(os.path.join(base, namespace)):
                try:
                    repo = Repo(self, repo_type, namespace, name)
                except HubError:  # not a repo directory
                    continue
                if repo.exists():
                    repos.append(repo)
        return sorted(repos, key=lambda repo: repo.id)

    def repo_lock(self, key: str) -> threading.RLock:
        """The in-process lock of the repo ``key``."""
        with self._locks_guard:
            return self._locks.setdefault(key, threading.RLock())

    def load_commit(self, repo: Repo, commit_id: str) -> Commit:
        """Load (and cache; commits are immutable) a commit of ``repo``."""
        key = (repo.key, commit_id)
        with self._cache_guard:
            cached = self._commit_cache.get(key)
            if cached is not None:
                self._commit_cache.move_to_end(key)
                return cached
        if not _HEX40.match(commit_id):
            raise HubError(404, f"commit {commit_id!r} not found in {repo.id!r}", code="RevisionNotFound")
        try:
            with open(repo._commit_path(commit_id), "rb") as f:
                commit = Commit.from_json(json.load(f))
        except FileNotFoundError:
            raise HubError(404, f"commit {commit_id!r} not found in {repo.id!r}",
                           code="RevisionNotFound") from None
        with self._cache_guard:
            self._commit_cache[key] = commit
            while len(self._commit_cache) > 512:
                self._commit_cache.popitem(last=False)
        return commit

    # -- repositories --------------------------------------------------------------------------

    def create_repo(self, repo: Repo, private: bool, user: str) -> None:
        """Create ``repo`` with an initial commit holding ``.gitattributes`` on ``main``.

        The repo directory is assembled in ``tmp/`` and renamed into place, so a repo either fully
        exists or not at all.

        Raises:
            HubError: 409 when the repo already exists.
        """
        if repo.exists():
            raise HubError(409, f"You already created this {repo.type} repo: {repo.id}")
        attributes = default_gitattributes()
        sha256 = self.objects.put_bytes(attributes)
        entry = FileEntry(sha256=sha256, size=len(attributes), oid=git_blob_oid(attributes), lfs=False)
        commit = self._new_commit([], "initial commit", "", [user], {".gitattributes": entry})
        staging = os.path.join(self.objects.tmp, f"repo-{uuid.uuid4().hex}")
        os.makedirs(os.path.join(staging, "commits"))
        try:
            created = utc_now()
            atomic_write_bytes(os.path.join(staging, "repo.json"), _json_bytes(
                {"type": repo.type, "id": repo.id, "private": bool(private), "createdAt": created,
                 "uuid": uuid.uuid4().hex[:24]}))
            atomic_write_bytes(os.path.join(staging, "commits", f"{commit.id}.json"), _json_bytes(commit.to_json()))
            atomic_write_bytes(os.path.join(staging, "refs.json"),
                         _json_bytes({"branches": {DEFAULT_BRANCH: commit.id}, "tags": {}}))
            os.makedirs(os.path.dirname(repo.dir), exist_ok=True)
            try:
                os.rename(staging, repo.dir)
            except OSError:
                raise HubError(409, f"You already created this {repo.type} repo: {repo.id}") from None
            fsync_dir(os.path.dirname(repo.dir))
        finally:
            if os.path.exists(staging):
                shutil.rmtree(staging, ignore_errors=True)

    def delete_repo(self, repo: Repo) -> None:
        """Delete ``repo`` (its objects stay in the store; they may be shared)."""
        repo.require()
        with repo.locked():
            trash = os.path.join(self.objects.tmp, f"deleted-{uuid.uuid4().hex}")
            os.rename(repo.dir, trash)
        fsync_dir(os.path.dirname(repo.dir))
        shutil.rmtree(trash, ignore_errors=True)
        with self._cache_guard:
            for key in [k for k in self._commit_cache if k[0] == repo.key]:
                del self._commit_cache[key]

    # -- commits -------------------------------------------------------------------------------

    @staticmethod
    def _new_commit(parents: List[str], title: str, message: str, authors: List[str],
                    files: Dict[str, FileEntry]) -> Commit:
        date = utc_now()
        body = {"parents": parents, "title": title, "message": message, "date": date,
                "authors": authors, "files": {p: e.to_json() for p, e in sorted(files.items())}}
        commit_id = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return Commit(id=commit_id, parents=parents, title=title, message=message, date=date,
                      authors=authors, files=dict(files))

    def commit(self, repo: Repo, branch: str, operations: List[Operation], title: str,
               message: str, user: str, parent_commit: Optional[str] = None) -> Commit:
        """Apply ``operations`` on top of ``branch`` and move the branch to the new commit.

        Args:
            repo: an existing repository (no default).
            branch: the branch to commit to (no default); tags and commit ids are refused.
            operations: validated changes, applied in order (no default).
            title: commit summary (no default).
            message: commit description (no default).
            user: author name (no default).
            parent_commit: when given, the branch head must start with it (else 412); default None.

        Raises:
            HubError: 404 ``RevisionNotFound`` (unknown branch), 400 (not a branch, file/folder
                clash, missing object), 404 ``EntryNotFound`` (deleting a missing path), 412
                (``parent_commit`` is not the head).
        """
        repo.require()
        branch = branch[len("refs/heads/"):] if branch.startswith("refs/heads/") else branch
        with repo.locked():
            refs = repo.refs()
            if branch not in refs["branches"]:
                if branch in refs["tags"] or _HEX_PREFIX.match(branch) or _HEX40.match(branch):
                    raise HubError(400, f"cannot commit to {branch!r} in {repo.id!r}: commits go to a "
                                        f"branch (branches: {sorted(refs['branches'])})")
                raise HubError(404, f"branch {branch!r} not found in {repo.id!r} "
                                    f"(branches: {sorted(refs['branches'])})", code="RevisionNotFound")
            head = refs["branches"][branch]
            if parent_commit is not None and not head.startswith(parent_commit.lower()):
                raise HubError(412, f"parent commit {parent_commit!r} is not the head of branch "
                                    f"{branch!r} ({head}): a commit happened in between")
            files = dict(repo.commit(head).files)
            for op in operations:
                if op.kind == "add":
                    assert op.entry is not None
                    if self.objects.size(op.entry.sha256) != op.entry.size:
                        raise HubError(400, f"file {op.path!r}: object {op.entry.sha256} of size "
                                            f"{op.entry.size} is not in the store; upload it first")
                    files[op.path] = op.entry
                elif op.kind == "delete_file":
                    if op.path not in files:
                        raise HubError(404, f"A file with this name doesn't exist: {op.path!r} on "
                                            f"branch {branch!r}", code="EntryNotFound")
                    del files[op.path]
                elif op.kind == "delete_folder":
                    prefix = op.path.rstrip("/") + "/"
                    doomed = [p for p in files if p.startswith(prefix)]
                    if not doomed:
                        raise HubError(404, f"A folder with this name doesn't exist: {op.path!r} on "
                                            f"branch {branch!r}", code="EntryNotFound")
                    for p in doomed:
                        del files[p]
                else:
                    raise HubError(400, f"unknown commit operation {op.kind!r}")
            for path in files:
                parts = path.split("/")
                for depth in range(1, len(parts)):
                    parent = "/".join(parts[:depth])
                    if parent in files:
                        raise HubError(400, f"cannot commit both a file {parent!r} and a file "
                                            f"{path!r} inside a folder of the same name")
            commit = self._new_commit([head], title, message, [user], files)
            repo._write_commit(commit)
            refs["branches"][branch] = commit.id
            repo._write_refs(refs)
        return commit

    # -- refs ----------------------------------------------------------------------------------

    def create_ref(self, repo: Repo, kind: str, name: str, target: str) -> str:
        """Create branch or tag ``name`` (``kind`` is ``"branches"`` or ``"tags"``) at revision ``target``.

        Returns:
            The commit id the new ref points to.

        Raises:
            HubError: 409 when the ref exists; 404 ``RevisionNotFound`` when ``target`` is unknown.
        """
        repo.require()
        check_ref_name(name, "branch" if kind == "branches" else "tag")
        with repo.locked():
            refs = repo.refs()
            if name in refs[kind]:
                raise HubError(409, f"{'branch' if kind == 'branches' else 'tag'} {name!r} already "
                                    f"exists in {repo.id!r}")
            commit_id = repo.resolve(target)
            refs[kind][name] = commit_id
            repo._write_refs(refs)
        return commit_id

    def delete_ref(self, repo: Repo, kind: str, name: str) -> None:
        """Delete branch or tag ``name``; ``main`` cannot be deleted (403).

        Raises:
            HubError: 404 ``RevisionNotFound`` when the ref does not exist.
        """
        repo.require()
        if kind == "branches" and name == DEFAULT_BRANCH:
            raise HubError(403, f"cannot delete the default branch {DEFAULT_BRANCH!r} of {repo.id!r}")
        with repo.locked():
            refs = repo.refs()
            if name not in refs[kind]:
                raise HubError(404, f"{'branch' if kind == 'branches' else 'tag'} {name!r} not found "
                                    f"in {repo.id!r}", code="RevisionNotFound")
            del refs[kind][name]
            repo._write_refs(refs)

    # -- reading -------------------------------------------------------------------------------

    def gitattributes_patterns(self, repo: Repo, commit: Commit) -> List[str]:
        """LFS patterns of the commit's ``.gitattributes`` (the defaults when it has none)."""
        entry = commit.files.get(".gitattributes")
        if entry is None or entry.size > LFS_SIZE_THRESHOLD:
            return list(DEFAULT_LFS_PATTERNS)
        return lfs_patterns_from_gitattributes(self.objects.read(entry.sha256).decode("utf-8", "replace"))

    def upload_mode(self, repo: Repo, commit: Commit, path: str, size: int, sample: bytes) -> str:
        """``"lfs"`` for files of at least ``LFS_SIZE_THRESHOLD`` bytes, files matching an LFS
        pattern of ``.gitattributes`` and binary files (a NUL byte in the sample); else ``"regular"``.
        """
        if size >= LFS_SIZE_THRESHOLD:
            return "lfs"
        if matches_gitattributes(path, self.gitattributes_patterns(repo, commit)):
            return "lfs"
        if b"\x00" in sample:
            return "lfs"
        return "regular"

    def last_commit_touching(self, repo: Repo, commit: Commit, path: str) -> Commit:
        """The newest first-parent ancestor of ``commit`` (itself included) that changed ``path``."""
        def state(c: Commit):
            if path in c.files:
                return c.files[path].oid
            members = c.folders().get(path)
            return c.folder_oid(path, members) if members else None

        current = commit
        current_state = state(current)
        while current.parents:
            parent = repo.commit(current.parents[0])
            if state(parent) != current_state:
                return current
            current = parent
        return current


def decode_base64(content: object, path: str) -> bytes:
    """Decode the base64 ``content`` of a commit ``file`` line (400 ``HubError`` when malformed)."""
    if not isinstance(content, str):
        raise HubError(400, f"file {path!r}: 'content' must be a base64 string")
    try:
        return base64.b64decode(content, validate=True)
    except (ValueError, TypeError):
        raise HubError(400, f"file {path!r}: 'content' is not valid base64") from None

"""The local hub through the real huggingface_hub client: repos, uploads, downloads, revisions."""

from __future__ import annotations

import base64
import hashlib
import json
import threading

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    HfApi,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile, RepoFolder

from videohub.hub import DEFAULT_USER, LFS_SIZE_THRESHOLD

# `printf 'hello world\n' | git hash-object --stdin`
HELLO = b"hello world\n"
HELLO_GIT_OID = "3b18e512dba79e4c8300dd08aeb37f8e728b8dad"


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def test_create_repo_conflict_and_initial_commit(api):
    url = api.create_repo("org/demo")
    assert url.repo_id == "org/demo" and url.endpoint == api.endpoint
    with pytest.raises(HfHubHTTPError) as info:
        api.create_repo("org/demo")
    assert info.value.response.status_code == 409
    assert api.create_repo("org/demo", exist_ok=True).repo_id == "org/demo"
    # without a namespace the repo goes to the token's user
    assert api.create_repo("solo").repo_id == f"{DEFAULT_USER}/solo"
    assert api.create_repo("org/data", repo_type="dataset").repo_type == "dataset"
    info = api.model_info("org/demo")
    assert len(info.sha) == 40 and [s.rfilename for s in info.siblings] == [".gitattributes"]
    assert api.dataset_info("org/data").id == "org/data"
    assert [c.title for c in api.list_repo_commits("org/demo")] == ["initial commit"]
    assert api.whoami()["name"] == DEFAULT_USER
    api.delete_repo("org/demo")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("org/demo")


def test_preupload_modes(api, raw):
    api.create_repo("org/modes")

    def modes(files):
        payload = {"files": [{"path": p, "size": size, "sample": base64.b64encode(sample).decode()}
                             for p, size, sample in files]}
        status, _, body = raw.json("POST", "/api/models/org/modes/preupload/main", payload)
        assert status == 200, body
        return {f["path"]: f["uploadMode"] for f in json.loads(body)["files"]}

    assert modes([
        ("notes.txt", LFS_SIZE_THRESHOLD - 1, b"plain text"),   # text below the threshold
        ("huge.txt", LFS_SIZE_THRESHOLD, b"plain text"),        # at the threshold
        ("w.safetensors", 100, b"{}"),                          # .gitattributes pattern
        ("sub/clip.mp4", 100, b"abc"),                          # pattern in a folder
        ("blob.dat", 100, b"ab\x00cd"),                         # binary sample
    ]) == {"notes.txt": "regular", "huge.txt": "lfs", "w.safetensors": "lfs",
           "sub/clip.mp4": "lfs", "blob.dat": "lfs"}


def test_upload_regular_and_lfs_then_download(api, cache_dir):
    api.create_repo("org/files")
    api.upload_file(path_or_fileobj=HELLO, path_in_repo="docs/hello.txt", repo_id="org/files")
    big = b"0123456789abcdef" * (LFS_SIZE_THRESHOLD // 16) + b"tail"  # > threshold: LFS
    big_commit = api.upload_file(path_or_fileobj=big, path_in_repo="big.txt", repo_id="org/files")
    weights = bytes(range(256)) * 4
    api.upload_file(path_or_fileobj=weights, path_in_repo="w.safetensors", repo_id="org/files")

    files = {f.path: f for f in api.list_repo_tree("org/files", recursive=True) if isinstance(f, RepoFile)}
    assert files["docs/hello.txt"].lfs is None and files["docs/hello.txt"].blob_id == HELLO_GIT_OID
    assert files["big.txt"].lfs.sha256 == hashlib.sha256(big).hexdigest()
    assert files["big.txt"].size == len(big)
    assert files["w.safetensors"].lfs.sha256 == hashlib.sha256(weights).hexdigest()

    assert _read(hf_hub_download("org/files", "docs/hello.txt", endpoint=api.endpoint,
                                 cache_dir=cache_dir)) == HELLO
    assert _read(hf_hub_download("org/files", "big.txt", revision=big_commit.oid, endpoint=api.endpoint,
                                 cache_dir=cache_dir)) == big
    with pytest.raises(EntryNotFoundError):  # not yet committed at that revision
        hf_hub_download("org/files", "w.safetensors", revision=big_commit.oid, endpoint=api.endpoint,
                        cache_dir=cache_dir)
    folder = snapshot_download("org/files", endpoint=api.endpoint, cache_dir=cache_dir,
                               allow_patterns=["docs/*", "w.safetensors"])
    assert _read(f"{folder}/docs/hello.txt") == HELLO and _read(f"{folder}/w.safetensors") == weights


def test_resolve_headers_and_ranges(api, raw):
    api.create_repo("org/heads")
    api.upload_file(path_or_fileobj=HELLO, path_in_repo="hello.txt", repo_id="org/heads")
    lfs_data = b"L" * 1000
    api.upload_file(path_or_fileobj=lfs_data, path_in_repo="x.bin", repo_id="org/heads")
    sha = api.model_info("org/heads").sha

    status, headers, body = raw.request("HEAD", "/org/heads/resolve/main/hello.txt")
    assert status == 200 and body == b""
    assert headers["x-repo-commit"] == sha and headers["etag"] == f'"{HELLO_GIT_OID}"'
    assert headers["content-length"] == str(len(HELLO)) and "x-linked-etag" not in headers

    status, headers, _ = raw.request("HEAD", "/org/heads/resolve/main/x.bin")
    lfs_sha = hashlib.sha256(lfs_data).hexdigest()
    assert status == 200 and headers["x-linked-etag"] == f'"{lfs_sha}"' and headers["x-linked-size"] == "1000"

    status, headers, body = raw.request("GET", "/org/heads/resolve/main/hello.txt", headers={"Range": "bytes=2-5"})
    assert status == 206 and body == HELLO[2:6] and headers["content-range"] == f"bytes 2-5/{len(HELLO)}"
    status, _, body = raw.request("GET", "/org/heads/resolve/main/hello.txt", headers={"Range": "bytes=-3"})
    assert status == 206 and body == HELLO[-3:]
    status, headers, _ = raw.request("GET", "/org/heads/resolve/main/hello.txt", headers={"Range": "bytes=50-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(HELLO)}"

    status, headers, _ = raw.request("HEAD", "/org/heads/resolve/main/missing.txt")
    assert status == 404 and headers["x-error-code"] == "EntryNotFound" and headers["x-repo-commit"] == sha
    status, headers, _ = raw.request("HEAD", "/org/heads/resolve/nobranch/hello.txt")
    assert status == 404 and headers["x-error-code"] == "RevisionNotFound"
    status, headers, _ = raw.request("HEAD", "/org/none/resolve/main/hello.txt")
    assert status == 404 and headers["x-error-code"] == "RepoNotFound"


def test_client_errors(api, cache_dir):
    api.create_repo("org/err")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("org/nothing", "a.txt", endpoint=api.endpoint, cache_dir=cache_dir)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download("org/err", ".gitattributes", revision="nope", endpoint=api.endpoint, cache_dir=cache_dir)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("org/err", "missing.txt", endpoint=api.endpoint, cache_dir=cache_dir)
    with pytest.raises(RevisionNotFoundError):
        api.model_info("org/err", revision="nope")
    assert api.file_exists("org/err", ".gitattributes") and not api.file_exists("org/err", "missing.txt")
    assert api.repo_exists("org/err") and not api.repo_exists("org/nothing")
    assert not api.revision_exists("org/err", "nope")


def test_revisions_branches_tags(api, cache_dir):
    api.create_repo("org/rev")
    c1 = api.upload_file(path_or_fileobj=b"v1", path_in_repo="model.txt", repo_id="org/rev")
    api.create_tag("org/rev", tag="v1.0", tag_message="first")
    api.create_branch("org/rev", branch="dev")
    d1 = api.upload_file(path_or_fileobj=b"dev", path_in_repo="model.txt", repo_id="org/rev", revision="dev")
    c2 = api.upload_file(path_or_fileobj=b"v2", path_in_repo="model.txt", repo_id="org/rev",
                         commit_message="second", commit_description="details")

    def get(revision):
        return _read(hf_hub_download("org/rev", "model.txt", revision=revision, endpoint=api.endpoint,
                                     cache_dir=cache_dir))

    assert get("main") == b"v2" and get("v1.0") == b"v1" and get("dev") == b"dev"
    assert get(c1.oid) == b"v1" and get(c2.oid[:7]) == b"v2"
    assert api.model_info("org/rev", revision="dev").sha == d1.oid

    refs = api.list_repo_refs("org/rev")
    assert {b.name: b.target_commit for b in refs.branches} == {"main": c2.oid, "dev": d1.oid}
    assert [(t.name, t.ref, t.target_commit) for t in refs.tags] == [("v1.0", "refs/tags/v1.0", c1.oid)]

    commits = api.list_repo_commits("org/rev")
    assert [c.commit_id for c in commits[:2]] == [c2.oid, c1.oid]
    assert [c.title for c in commits] == ["second", "Upload model.txt with huggingface_hub", "initial commit"]
    assert commits[0].message == "details" and commits[0].authors == [DEFAULT_USER]
    assert [c.commit_id for c in api.list_repo_commits("org/rev", revision="dev")][:2] == [d1.oid, c1.oid]

    with pytest.raises(HfHubHTTPError) as info:
        api.create_branch("org/rev", branch="dev")
    assert info.value.response.status_code == 409
    api.create_branch("org/rev", branch="dev", exist_ok=True)
    api.create_branch("org/rev", branch="from-tag", revision="v1.0")
    assert api.model_info("org/rev", revision="from-tag").sha == c1.oid
    with pytest.raises(HfHubHTTPError) as info:
        api.create_tag("org/rev", tag="v1.0")
    assert info.value.response.status_code == 409

    api.delete_tag("org/rev", tag="v1.0")
    api.delete_branch("org/rev", branch="dev")
    with pytest.raises(RevisionNotFoundError):
        api.model_info("org/rev", revision="v1.0")
    with pytest.raises(RevisionNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="org/rev", revision="dev")
    with pytest.raises(HfHubHTTPError) as info:
        api.delete_branch("org/rev", branch="main")
    assert info.value.response.status_code == 403


def test_tree_listing_and_paths_info(api, tmp_path):
    api.create_repo("org/tree")
    folder = tmp_path / "upload"
    (folder / "sub" / "deep").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"a")
    (folder / "sub" / "b.txt").write_bytes(b"b")
    (folder / "sub" / "deep" / "c.txt").write_bytes(b"c")
    commit = api.upload_folder(folder_path=str(folder), repo_id="org/tree")

    def listing(**kwargs):
        return {(type(e).__name__, e.path) for e in api.list_repo_tree("org/tree", **kwargs)}

    assert listing() == {("RepoFile", ".gitattributes"), ("RepoFile", "a.txt"), ("RepoFolder", "sub")}
    assert listing(recursive=True) == {
        ("RepoFile", ".gitattributes"), ("RepoFile", "a.txt"), ("RepoFolder", "sub"),
        ("RepoFile", "sub/b.txt"), ("RepoFolder", "sub/deep"), ("RepoFile", "sub/deep/c.txt")}
    assert listing(path_in_repo="sub") == {("RepoFile", "sub/b.txt"), ("RepoFolder", "sub/deep")}
    assert sorted(api.list_repo_files("org/tree")) == [".gitattributes", "a.txt", "sub/b.txt", "sub/deep/c.txt"]
    expanded = {e.path: e for e in api.list_repo_tree("org/tree", expand=True)}
    assert expanded["a.txt"].last_commit.oid == commit.oid and expanded["sub"].last_commit.oid == commit.oid
    assert expanded[".gitattributes"].last_commit.title == "initial commit"
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree("org/tree", path_in_repo="nope"))

    infos = api.get_paths_info("org/tree", ["a.txt", "sub", "missing.txt"])
    assert [(type(i), i.path) for i in infos] == [(RepoFile, "a.txt"), (RepoFolder, "sub")]


def test_delete_file_and_folder_commits(api, cache_dir):
    api.create_repo("org/del")
    before = api.create_commit("org/del", operations=[
        CommitOperationAdd("a.txt", b"a"), CommitOperationAdd("dir/b.txt", b"b"),
        CommitOperationAdd("dir/c.txt", b"c")], commit_message="add")
    api.delete_file("a.txt", repo_id="org/del")
    assert sorted(api.list_repo_files("org/del")) == [".gitattributes", "dir/b.txt", "dir/c.txt"]
    assert _read(hf_hub_download("org/del", "a.txt", revision=before.oid, endpoint=api.endpoint,
                                 cache_dir=cache_dir)) == b"a"
    with pytest.raises(EntryNotFoundError):
        api.delete_file("a.txt", repo_id="org/del")
    api.delete_folder("dir", repo_id="org/del")
    assert api.list_repo_files("org/del") == [".gitattributes"]


def test_model_card_yaml_validation(api):
    api.create_repo("org/card")
    card = b"---\nlicense: mit\ntags:\n- video\nlibrary_name: videohub\n---\n# Card\n"
    api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id="org/card")
    info = api.model_info("org/card")
    assert info.card_data.license == "mit" and info.tags == ["video"] and info.library_name == "videohub"
    with pytest.raises(ValueError, match="Invalid metadata"):
        api.upload_file(path_or_fileobj=b"---\nfoo: [unclosed\n---\n", path_in_repo="README.md",
                        repo_id="org/card")
    with pytest.raises(ValueError, match="Invalid metadata"):
        api.upload_file(path_or_fileobj=b"---\n- a list\n---\n", path_in_repo="README.md", repo_id="org/card")


def test_parent_commit_and_private_repos(api, hub):
    api.create_repo("org/par")
    first = api.upload_file(path_or_fileobj=b"1", path_in_repo="f.txt", repo_id="org/par")
    api.upload_file(path_or_fileobj=b"2", path_in_repo="f.txt", repo_id="org/par", parent_commit=first.oid)
    with pytest.raises(HfHubHTTPError) as info:
        api.upload_file(path_or_fileobj=b"3", path_in_repo="f.txt", repo_id="org/par", parent_commit=first.oid)
    assert info.value.response.status_code == 412

    api.create_repo("org/secret", private=True)
    assert api.model_info("org/secret").private is True
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub.url, token=False).model_info("org/secret")


def test_concurrent_commits_keep_every_file(api, token):
    api.create_repo("org/race")
    errors = []

    def push(i):
        try:
            HfApi(endpoint=api.endpoint, token=token).upload_file(
                path_or_fileobj=f"file {i}".encode(), path_in_repo=f"f{i}.txt", repo_id="org/race")
        except Exception as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(api.list_repo_files("org/race")) == [".gitattributes", "f0.txt", "f1.txt", "f2.txt", "f3.txt"]
    assert len(api.list_repo_commits("org/race")) == 5


def test_lfs_upload_checks_sha256(api, raw, hub):
    api.create_repo("org/lfs")
    good = b"good bytes"
    oid = hashlib.sha256(good).hexdigest()
    status, _, body = raw.json("POST", "/org/lfs.git/info/lfs/objects/batch",
                               {"operation": "upload", "objects": [{"oid": oid, "size": len(good)}]})
    assert status == 200
    action = json.loads(body)["objects"][0]["actions"]["upload"]
    path = "/" + action["href"].split("/", 3)[3]
    status, _, _ = raw.request("PUT", path, b"evil bytes")  # same size, other content
    assert status == 400 and hub.storage.objects.size(oid) is None
    status, _, _ = raw.request("PUT", path, good)
    assert status == 200 and hub.storage.objects.size(oid) == len(good)
    status, _, _ = raw.request("PUT", path, good)  # tickets are single-use
    assert status == 401

    missing = hashlib.sha256(b"never uploaded").hexdigest()
    status, _, _ = raw.commit("org/lfs", [{"key": "header", "value": {"summary": "x"}},
                                          {"key": "lfsFile", "value": {"path": "m.bin", "algo": "sha256",
                                                                       "oid": missing, "size": 14}}])
    assert status == 400
    status, _, body = raw.commit("org/lfs", [{"key": "header", "value": {"summary": "x"}},
                                             {"key": "lfsFile", "value": {"path": "g.bin", "algo": "sha256",
                                                                          "oid": oid, "size": len(good)}}])
    assert status == 200 and json.loads(body)["commitOid"] == api.model_info("org/lfs").sha
    status, _, body = raw.request("GET", "/org/lfs/resolve/main/g.bin")
    assert status == 200 and body == good


def test_dataset_repo_round_trip(api, raw, cache_dir):
    api.create_repo("org/clips", repo_type="dataset")
    table = b"PAR1" + bytes(range(200)) + b"PAR1"  # matches *.parquet: goes through LFS
    api.upload_file(path_or_fileobj=table, path_in_repo="data/train.parquet", repo_id="org/clips",
                    repo_type="dataset")
    api.upload_file(path_or_fileobj=b"label\n", path_in_repo="labels.txt", repo_id="org/clips",
                    repo_type="dataset")
    info = api.dataset_info("org/clips", files_metadata=True)
    siblings = {s.rfilename: s for s in info.siblings}
    assert siblings["data/train.parquet"].lfs.sha256 == hashlib.sha256(table).hexdigest()
    assert siblings["labels.txt"].lfs is None and siblings["labels.txt"].size == 6
    got = hf_hub_download("org/clips", "data/train.parquet", repo_type="dataset", endpoint=api.endpoint,
                          cache_dir=cache_dir)
    assert _read(got) == table
    status, headers, _ = raw.request("HEAD", "/datasets/org/clips/resolve/main/labels.txt")
    assert status == 200 and headers["x-repo-commit"] == info.sha
    with pytest.raises(RepositoryNotFoundError):  # a dataset is not a model
        api.model_info("org/clips")


def test_yaml_aliases_refused(raw):
    bomb = "---\na: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n---\n"
    status, _, body = raw.json("POST", "/api/validate-yaml", {"content": bomb, "repoType": "model"})
    assert status == 400 and "aliases" in json.loads(body)["errors"][0]["message"]
    status, _, body = raw.json("POST", "/api/validate-yaml", {"content": "---\nlicense: mit\n---\n"})
    assert status == 200 and json.loads(body) == {"errors": [], "warnings": []}

"""Issue 15 item 8: the hub lists repos (``HfApi.list_models``) and a Xet upload is told to set
``HF_HUB_DISABLE_XET``."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import HfHubHTTPError

from videohub.hub import server as hub_server


def _card(**fields) -> bytes:
    lines = ["---"]
    for key, value in fields.items():
        lines.append(f"{key}: {json.dumps(value)}")
    return ("\n".join(lines) + "\n---\n# card\n").encode()


@pytest.fixture
def populated(api):
    """Five models, one of them private, and a dataset, created in this order."""
    specs = [
        ("org/tsn-r50", dict(library_name="videohub", pipeline_tag="video-classification",
                             tags=["tsn", "kinetics"], license="apache-2.0", datasets=["kinetics400"])),
        ("org/bert-tiny", dict(library_name="transformers", pipeline_tag="fill-mask", tags=["nlp"])),
        ("other/tsm-r50", dict(library_name="videohub", pipeline_tag="video-classification", tags=["tsm"])),
        ("other/plain", None),
        ("org/hidden-tsn", dict(library_name="videohub", tags=["tsn"])),
    ]
    for repo_id, card in specs:
        api.create_repo(repo_id, private=repo_id == "org/hidden-tsn")
        if card is not None:
            api.upload_file(path_or_fileobj=_card(**card), path_in_repo="README.md", repo_id=repo_id)
    api.create_repo("org/tsn-clips", repo_type="dataset")
    return api


def _ids(models) -> list:
    return [m.id for m in models]


def test_list_models_search_author_limit(populated, hub):
    anonymous = HfApi(endpoint=hub.url, token=False)
    public = ["org/bert-tiny", "org/tsn-r50", "other/plain", "other/tsm-r50"]
    assert _ids(anonymous.list_models()) == public  # by id; the private repo is hidden
    assert _ids(populated.list_models()) == sorted(public + ["org/hidden-tsn"])  # the token sees it
    assert _ids(anonymous.list_models(search="TSN")) == ["org/tsn-r50"]  # substring, any case
    assert _ids(anonymous.list_models(search="r50")) == ["org/tsn-r50", "other/tsm-r50"]
    assert _ids(anonymous.list_models(author="other")) == ["other/plain", "other/tsm-r50"]
    assert _ids(anonymous.list_models(author="oth")) == []  # an author is a whole namespace
    assert _ids(anonymous.list_models(author="org", search="tsn")) == ["org/tsn-r50"]
    assert _ids(anonymous.list_models(limit=2)) == public[:2]
    assert _ids(anonymous.list_models(search="no-such-model")) == []
    assert _ids(anonymous.list_datasets()) == ["org/tsn-clips"]
    assert _ids(anonymous.list_spaces()) == []


def test_list_models_fields_filters_and_sort(populated, hub):
    api = populated
    models = {m.id: m for m in api.list_models()}
    tsn = models["org/tsn-r50"]
    info = api.model_info("org/tsn-r50")
    assert tsn.sha == info.sha and tsn.author == "org" and tsn.private is False
    assert tsn.tags == ["tsn", "kinetics"] and tsn.library_name == "videohub"
    assert tsn.pipeline_tag == "video-classification" and tsn.created_at == info.created_at
    assert tsn.siblings is None and tsn.card_data is None  # only with full / cardData
    assert models["other/plain"].tags == [] and models["other/plain"].pipeline_tag is None

    full = {m.id: m for m in api.list_models(full=True, cardData=True)}
    assert [s.rfilename for s in full["org/tsn-r50"].siblings] == [".gitattributes", "README.md"]
    assert full["org/tsn-r50"].card_data.license == "apache-2.0"
    only = next(iter(api.list_models(search="tsn-r50", expand=["sha", "tags"])))
    assert (only.id, only.sha, only.tags, only.author, only.library_name) == (
        "org/tsn-r50", info.sha, ["tsn", "kinetics"], None, None)

    assert _ids(api.list_models(filter="video-classification")) == ["org/tsn-r50", "other/tsm-r50"]
    assert _ids(api.list_models(filter=["videohub", "tsn"])) == ["org/hidden-tsn", "org/tsn-r50"]  # all must match
    assert _ids(api.list_models(filter="license:apache-2.0")) == ["org/tsn-r50"]
    assert _ids(api.list_models(trained_dataset="kinetics400")) == ["org/tsn-r50"]
    assert _ids(api.list_models(pipeline_tag="fill-mask")) == ["org/bert-tiny"]

    created_newest_first = ["org/hidden-tsn", "other/plain", "other/tsm-r50", "org/bert-tiny", "org/tsn-r50"]
    assert _ids(api.list_models(sort="created_at")) == created_newest_first
    assert _ids(api.list_models(sort="last_modified")) == created_newest_first
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="notes.txt", repo_id="org/bert-tiny")
    assert _ids(api.list_models(sort="last_modified")) == [
        "org/bert-tiny", "org/hidden-tsn", "other/plain", "other/tsm-r50", "org/tsn-r50"]
    assert _ids(api.list_models(sort="downloads")) == sorted(models)  # all 0: ties stay by id


def test_list_models_pages_and_bad_parameters(populated, raw, monkeypatch):
    monkeypatch.setattr(hub_server, "_LIST_PAGE_SIZE", 2)
    everything = ["org/bert-tiny", "org/hidden-tsn", "org/tsn-r50", "other/plain", "other/tsm-r50"]
    assert _ids(populated.list_models()) == everything  # three pages, followed through Link headers
    assert _ids(populated.list_models(limit=3)) == everything[:3]
    status, headers, body = raw.request("GET", "/api/models?author=org", token="hub-test-token-1")
    assert status == 200 and [m["id"] for m in json.loads(body)] == everything[:2]
    assert headers["link"].endswith('/api/models?author=org&cursor=2>; rel="next"')
    status, headers, body = raw.request("GET", "/api/models?author=org&cursor=2", token="hub-test-token-1")
    assert status == 200 and [m["id"] for m in json.loads(body)] == ["org/tsn-r50"] and "link" not in headers

    for query in ["limit=0", "limit=-1", "limit=abc", "cursor=x", "sort=size", "direction=2",
                  "expand=sha&full=true", "search=" + "x" * 9000]:
        status, _, body = raw.request("GET", f"/api/models?{query}")
        assert status == 400, (query, body)
        assert json.loads(body)["error"]


def test_upload_with_xet_enabled_names_the_variable(api, raw, monkeypatch):
    pytest.importorskip("hf_xet")
    api.create_repo("org/xet")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)  # as without HF_HUB_DISABLE_XET=1
    with pytest.raises(Exception) as info:  # hf_xet raises its own error types
        api.upload_file(path_or_fileobj=b"\x00weights" * 100, path_in_repo="w.bin", repo_id="org/xet")
    assert "HF_HUB_DISABLE_XET=1" in str(info.value)
    assert api.list_repo_files("org/xet") == [".gitattributes"]


def test_xet_token_routes_redirect_to_the_hint(api, raw, hub):
    status, headers, body = raw.request("GET", "/api/models/org/x/xet-write-token/main", token="hub-test-token-1")
    assert status == 307 and "HF_HUB_DISABLE_XET=1" in headers["x-error-message"]
    assert headers["location"] == hub.url + hub_server._XET_HINT_PATH and "HF_HUB_DISABLE_XET" in headers["location"]
    status, headers, body = raw.request("GET", hub_server._XET_HINT_PATH)
    assert status == 400 and "HF_HUB_DISABLE_XET=1" in json.loads(body)["error"]
    # huggingface_hub's own token fetch (used by Xet downloads) follows the redirect and shows the message
    from huggingface_hub.utils._xet import _fetch_xet_connection_info_with_url

    with pytest.raises(HfHubHTTPError, match="HF_HUB_DISABLE_XET=1"):
        _fetch_xet_connection_info_with_url(f"{hub.url}/api/datasets/org/x/xet-read-token/main", {})

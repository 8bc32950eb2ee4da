"""``local_hub`` points huggingface_hub and transformers of this process at the server; CLI parser."""

from __future__ import annotations

import argparse
import os

import huggingface_hub
import pytest
import torch
from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.hf_api import api as module_api

from videohub.hub import add_cli_parser, local_hub, use_endpoint
from videohub.hub.server import run_serve


def test_local_hub_patches_and_restores(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://example.invalid")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)
    before = (constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE, constants.HF_HUB_DISABLE_XET,
              constants.HF_URL_HOSTS, module_api.endpoint)
    with local_hub(str(tmp_path / "hub"), "local-token") as hub:
        assert os.environ["HF_ENDPOINT"] == hub.url and os.environ["HF_TOKEN"] == "local-token"
        assert os.environ["HF_HUB_DISABLE_XET"] == "1"
        assert HfApi().endpoint == hub.url and module_api.endpoint == hub.url
        assert HfApi().whoami()["name"]  # token picked up from HF_TOKEN
        huggingface_hub.create_repo("org/inproc")  # module-level function = the shared HfApi
        huggingface_hub.upload_file(path_or_fileobj=b"in process", path_in_repo="x.txt", repo_id="org/inproc")
        path = hf_hub_download("org/inproc", "x.txt", cache_dir=str(tmp_path / "cache"))  # no endpoint given
        with open(path, "rb") as f:
            assert f.read() == b"in process"
    assert (constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE, constants.HF_HUB_DISABLE_XET,
            constants.HF_URL_HOSTS, module_api.endpoint) == before
    assert os.environ["HF_ENDPOINT"] == "https://example.invalid" and "HF_TOKEN" not in os.environ
    assert "HF_HUB_DISABLE_XET" not in os.environ


def test_use_endpoint_restores_after_error(tmp_path):
    before = constants.ENDPOINT
    with pytest.raises(RuntimeError):
        with use_endpoint("http://127.0.0.1:9/"):
            assert constants.ENDPOINT == "http://127.0.0.1:9"
            raise RuntimeError("boom")
    assert constants.ENDPOINT == before


def test_transformers_push_to_hub_and_from_pretrained(tmp_path):
    from transformers import AutoModel, BertConfig, BertModel

    config = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16)
    torch.manual_seed(0)
    model = BertModel(config).eval()
    ids = torch.tensor([[1, 5, 7, 2]])
    import transformers.utils.hub as transformers_hub

    transformers_hub._hf_api = None  # let it be built inside the block, with the local endpoint
    with local_hub(str(tmp_path / "hub"), "tf-token") as hub:
        model.push_to_hub("org/tiny-bert")
        assert "model.safetensors" in HfApi().list_repo_files("org/tiny-bert")
        loaded = BertModel.from_pretrained("org/tiny-bert", cache_dir=str(tmp_path / "cache")).eval()
        auto = AutoModel.from_pretrained("org/tiny-bert", cache_dir=str(tmp_path / "cache")).eval()
        assert transformers_hub.hf_api().endpoint == hub.url
    assert transformers_hub.hf_api().endpoint == constants.ENDPOINT != hub.url
    with torch.no_grad():
        expected = model(ids).last_hidden_state
        assert torch.equal(loaded(ids).last_hidden_state, expected)
        assert torch.equal(auto(ids).last_hidden_state, expected)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_cli_parser():
    parser = argparse.ArgumentParser(prog="videohub")
    add_cli_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["hub", "serve", "--root", "/data/hub", "--port", "0", "--token", "a1", "--token", "b2"])
    assert (args.root, args.port, args.host, args.tokens) == ("/data/hub", 0, "127.0.0.1", ["a1", "b2"])
    assert args.func is run_serve
    defaults = parser.parse_args(["hub", "serve", "--root", "r"])
    assert (defaults.port, defaults.tokens) == (8000, [])
    with pytest.raises(SystemExit):
        parser.parse_args(["hub", "serve"])  # --root is required


def test_datasets_push_to_hub_and_load_dataset(tmp_path):
    import datasets

    table = datasets.Dataset.from_dict({"video": ["a.mp4", "b.mp4", "c.mp4"], "label": [2, 0, 1]})
    with local_hub(str(tmp_path / "hub"), "ds-token"):
        table.push_to_hub("org/clips")
        loaded = datasets.load_dataset("org/clips", cache_dir=str(tmp_path / "ds-cache"))
    assert loaded["train"].to_dict() == {"video": ["a.mp4", "b.mp4", "c.mp4"], "label": [2, 0, 1]}


def test_serve_forever_stops_from_another_thread(tmp_path):
    import threading
    import urllib.error
    import urllib.request

    from videohub.hub import HubServer

    server = HubServer(str(tmp_path / "fg"))
    urls = []
    bound = threading.Event()
    worker = threading.Thread(target=server.serve_forever,
                              kwargs={"ready": lambda url: (urls.append(url), bound.set())})
    worker.start()
    assert bound.wait(30)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{urls[0]}/api/models/org/missing", timeout=30)
    assert info.value.code == 404 and info.value.headers["X-Error-Code"] == "RepoNotFound"
    server.stop()
    worker.join(30)
    assert not worker.is_alive()

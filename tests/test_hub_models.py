"""videohub models and processors through the embedded Hub server, with the real huggingface_hub client."""

import os
import subprocess
import sys

import pytest
import torch
from huggingface_hub import HfApi
from transformers import AutoModelForVideoClassification

from videohub import AutoVideoModel, AutoVideoProcessor, TSNConfig, TSNForVideoClassification, VideoProcessor
from videohub.hub import local_hub

TOKEN = "test-token"


def tiny_tsn(seed):
    torch.manual_seed(seed)
    config = TSNConfig(backbone=dict(type="ResNet", depth=18, num_stages=2, out_indices=(1,), strides=(1, 2),
                                     dilations=(1, 1)),
                       cls_head=dict(type="TSNHead", in_channels=128), id2label={0: "a", 1: "b"})
    return TSNForVideoClassification(config).eval()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    cache = tmp_path_factory.mktemp("cache")
    old = os.environ.get("HF_HUB_CACHE")
    os.environ["HF_HUB_CACHE"] = str(cache)
    from huggingface_hub import constants

    old_const = constants.HF_HUB_CACHE
    constants.HF_HUB_CACHE = str(cache)
    with local_hub(str(root), token=TOKEN) as server:
        yield server, str(cache)
    constants.HF_HUB_CACHE = old_const
    if old is None:
        os.environ.pop("HF_HUB_CACHE", None)
    else:
        os.environ["HF_HUB_CACHE"] = old


def test_push_pull_revision_and_offline(hub):
    server, cache = hub
    x = torch.randn(1, 3, 3, 32, 32)
    first, second = tiny_tsn(0), tiny_tsn(1)
    first.push_to_hub("org/tiny-tsn", token=TOKEN)
    VideoProcessor(sampler=dict(type="SampleFrames", clip_len=1, num_clips=3, test_mode=True)).push_to_hub(
        "org/tiny-tsn", token=TOKEN)
    api = HfApi(endpoint=server.url, token=TOKEN)
    files = set(api.list_repo_files("org/tiny-tsn"))
    assert {"config.json", "model.safetensors", "README.md", "preprocessor_config.json"} <= files
    api.create_branch("org/tiny-tsn", branch="v2")
    second.push_to_hub("org/tiny-tsn", token=TOKEN, revision="v2")

    with torch.no_grad():
        loaded = AutoVideoModel.from_pretrained("org/tiny-tsn")
        assert torch.equal(loaded(x).logits, first(x).logits)
        on_branch = AutoVideoModel.from_pretrained("org/tiny-tsn", revision="v2")
        assert torch.equal(on_branch(x).logits, second(x).logits)
        via_transformers = AutoModelForVideoClassification.from_pretrained("org/tiny-tsn")
        assert type(via_transformers) is TSNForVideoClassification
        assert torch.equal(via_transformers(x).logits, first(x).logits)
    assert AutoVideoProcessor.from_pretrained("org/tiny-tsn").sampler["num_clips"] == 3
    card = open(api.hf_hub_download("org/tiny-tsn", "README.md")).read()
    assert "library_name: videohub" in card and "org/tiny-tsn" in card

    script = ("import torch, videohub\n"
              "m = videohub.AutoVideoModel.from_pretrained('org/tiny-tsn')\n"
              "print(type(m).__name__, m.config.id2label[1])\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=cache, HF_ENDPOINT="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "TSNForVideoClassification b"

"""Model cards of the presets: valid metadata, the published metrics with their test views."""

import os

import pytest
import yaml
from huggingface_hub import ModelCard

from videohub.conversion.cards import preset_card, repo_id_for
from videohub.conversion.presets import get_preset, list_presets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CARDS = os.path.join(ROOT, "model_cards")


def header(text):
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_one_checked_in_card_per_preset_and_up_to_date():
    entries = list_presets()
    assert sorted(os.listdir(CARDS)) == sorted(e["repo_name"] for e in entries)
    for entry in entries:
        with open(os.path.join(CARDS, entry["repo_name"], "README.md"), encoding="utf-8") as f:
            assert f.read() == str(preset_card(entry)), f"model_cards/{entry['repo_name']} is stale: run scripts/make_model_cards.py"


@pytest.mark.parametrize("name", [
    "tsn_r50_1x1x3_100e_kinetics400_rgb",
    "tsm_r50_1x1x8_50e_sthv1_rgb",
    "slowfast_r50_8x8x1_256e_kinetics400_rgb",
    "tsn_r18_64x1x1_100e_kinetics400_audio_feature",
    "c3d_sports1m_16x1x1_45e_ucf101_rgb",
])
def test_card_metadata_lists_the_published_metrics(name):
    entry = get_preset(name)
    path = os.path.join(CARDS, entry["repo_name"], "README.md")
    meta = header(open(path, encoding="utf-8").read())
    assert meta["library_name"] == "videohub" and meta["pipeline_tag"] == "video-classification"
    assert meta["license"] == "apache-2.0" and meta["datasets"] == [entry["dataset_slug"]]
    assert {"videohub", "mmaction2", entry["arch"], entry["dataset_slug"]} <= set(meta["tags"])
    (index,) = meta["model-index"]
    assert index["name"] == entry["repo_name"]
    (result,) = index["results"]
    assert result["dataset"] == {"name": entry["dataset"], "type": entry["dataset_slug"], "split": "validation"}
    assert {m["name"]: m["value"] for m in result["metrics"]} == entry["metrics"]
    # the same through huggingface_hub's parser of model-index
    card = ModelCard.load(path)
    parsed = {r.metric_name: r.metric_value for r in card.data.eval_results}
    assert parsed == entry["metrics"]
    assert card.data.model_name == entry["repo_name"]


def test_card_states_test_views_and_that_metrics_are_not_rerun():
    entry = get_preset("tsm_r50_1x1x8_50e_sthv1_rgb")
    card = preset_card(entry)
    metrics = {m.metric_name: m for m in card.data.eval_results}
    assert metrics["Top 1 Accuracy"].metric_args["views"] == 48
    assert metrics["Top 1 Accuracy"].metric_args["num_clips"] == 16
    assert metrics["Top 1 Accuracy"].metric_config == "top1" and metrics["Top 5 Accuracy"].metric_config == "top5"
    assert "views" not in metrics["Top 1 Accuracy (efficient)"].metric_args  # another protocol than the config's
    assert all(m.verified is False for m in card.data.eval_results)
    text = card.text
    assert "videohub did not re-run the benchmark" in text
    assert "| Top 1 Accuracy | 47.7 | 16 clip(s) x 3 crop(s) (ThreeCrop) = 48 views |" in text
    assert entry["checkpoint_url"] in text
    assert "sha256: recorded by `convert_mmaction2_checkpoint.py`" in text
    assert "https://arxiv.org/abs/1811.08383" in text and "@misc{2020mmaction2" in text


def test_card_with_sha256_and_custom_repo():
    entry = get_preset("tsn_r50_1x1x3_100e_kinetics400_rgb")
    card = preset_card(entry, repo_id="me/my-tsn", sha256="ab" * 32)
    assert f"sha256: `{'ab' * 32}`" in card.text
    assert 'AutoVideoModel.from_pretrained("me/my-tsn")' in card.text
    assert repo_id_for(entry) == "videohub/tsn-r50-1x1x3-kinetics400"


def test_audio_card_shows_input_features():
    card = preset_card(get_preset("tsn_r18_64x1x1_100e_kinetics400_audio_feature"))
    assert "model(input_features=features)" in card.text
    assert "AutoVideoProcessor" not in card.text

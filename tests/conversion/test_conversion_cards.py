"""Model cards of the presets: valid metadata, the published metrics with their test views, the task of each family."""

import os
import re

import pytest
import torch
import yaml
from huggingface_hub import ModelCard

from videohub.conversion.cards import preset_card, repo_id_for
from videohub.conversion.presets import config_from_entry, get_preset, list_presets

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
    assert "sha256: recorded by `videohub convert`" in text
    assert f"`videohub convert --preset {entry['name']} --output {entry['repo_name']}`" in text
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


# one preset of each new family (and of each input kind) with what its card must say
FAMILY_CARDS = {
    "bmn_400x100_9e_2x8_activitynet_feature_cuhk_mean_100": (
        "temporal-action-localization", "AutoModelForTemporalActionLocalization",
        ["snippet features `input_features` `(B, feat_dim, T)` with feat_dim = 400 and T = 100",
         "torch.randn(1, 400, 100)", "model.post_process(outputs, ", "| AR@100 | 75.28 |"]),
    "bsn_pem_400x100_1x16_20e_activitynet_feature_mmaction_clip": (
        "temporal-action-localization", "AutoModelForTemporalActionLocalization",
        ["BSP features `input_features` `(B, P, 32)`", "tmin_score=tmin_score", "**Part of a pipeline.**",
         "This checkpoint is the PEM; the other network is [`bsn_tem_400x100_1x16_20e_activitynet_feature_mmaction_clip`]"
         "(https://huggingface.co/videohub/bsn-tem-400x100-1x16-feature-mmaction-clip-activitynet)",
         '"peak_threshold": 0.5', "| AUC | 66.81 |"]),
    "ssn_r50_450e_thumos14_rgb": (
        "temporal-action-localization", "AutoModelForTemporalActionLocalization",
        ["`SampleProposalFrames` in test mode", "proposal_tick_list=ticks", '"label": class',
         "from the test config `configs/localization/ssn/ssn_r50_450e_thumos14_rgb_test.py`", "| mAP@0.5 | 15.69 |"]),
    "slowfast_acrn_kinetics_pretrained_r50_8x8x1_cosine_10e_ava22_rgb": (
        "spatio-temporal-action-detection", "AutoModelForSpatioTemporalActionDetection",
        ["plus person boxes per clip", "clip = torch.randn(1, 32, 3, 256, 320)", "model(pixel_values=clip, boxes=boxes",
         "model.post_process(outputs, ", "- shared head: `ACRNHead`", "| mAP | 27.8 |"]),
    "lfb_avg_kinetics_pretrained_slowonly_r50_4x16x1_20e_ava_rgb": (
        "spatio-temporal-action-detection", "AutoModelForSpatioTemporalActionDetection",
        ["reads a long-term feature bank (`lfb_cfg.lfb_prefix_path`, `data/ava/lfb_half`", '"img_key": "video_id,0902"',
         "- shared head: `FBOHead`"]),
    "stgcn_80e_ntu60_xsub_keypoint": (
        "skeleton-based-action-recognition", "AutoModelForVideoClassification",
        ["keypoints `(B, C, T, V, M)`: C = 3 values per joint, T = 300 frames (`PaddingWithLoop`), V = 17 joints "
         "of the `coco` layout, M = 2 person(s)", "model(keypoints=keypoints).logits", "| Top 1 Accuracy | 86.91 | 1 clip(s)"]),
    "agcn_80e_ntu60_xsub_bone_3d": (
        "skeleton-based-action-recognition", "AutoModelForVideoClassification",
        ["V = 25 joints of the `ntu-rgb+d` layout", "torch.randn(1, 3, 300, 25, 2)"]),
    "slowonly_r50_u48_240e_gym_limb": (
        "skeleton-based-action-recognition", "AutoModelForVideoClassification",
        ["17 limb heatmap channels drawn by `GeneratePoseTarget`", "torch.rand(1, 10, 48, 17, 64, 64)",
         "| mean Top 1 Accuracy | 94.0 | 10 clip(s) x 1 crop(s) (CenterCrop) = 10 views |"]),
}


@pytest.mark.parametrize("name", sorted(FAMILY_CARDS))
def test_card_of_each_family_says_its_task_input_and_usage(name):
    task_type, auto_class, facts = FAMILY_CARDS[name]
    entry = get_preset(name)
    with open(os.path.join(CARDS, entry["repo_name"], "README.md"), encoding="utf-8") as f:
        text = f.read()
    meta = header(text)
    assert "pipeline_tag" not in meta  # no transformers pipeline takes poses, feature sequences or person boxes
    assert meta["tags"][0] == task_type and entry["arch"] in meta["tags"]
    (index,) = meta["model-index"]
    (result,) = index["results"]
    assert result["task"]["type"] == task_type
    assert {m["name"]: m["value"] for m in result["metrics"]} == entry["metrics"]
    assert f"(`{auto_class}`)" in text and f"from videohub import {auto_class}" in text
    assert "AutoVideoProcessor" not in text and "videohub predict" not in text  # not an RGB video classifier
    assert f"`videohub convert --preset {name} --output {entry['repo_name']}`" in text
    for fact in facts:
        assert fact in text, fact
    if entry["family"] != "skeleton":  # views are a classifier's protocol
        assert all("views" not in m["args"] for m in result["metrics"])


def test_bsn_cards_state_the_metrics_are_the_pipelines():
    for stage in ("tem", "pem"):
        card = preset_card(get_preset(f"bsn_{stage}_400x100_1x16_20e_activitynet_feature_mmaction_video"))
        for result in card.data.eval_results:
            assert result.metric_args["pipeline"] == (
                "the whole bsn_400x100_1x16_20e_activitynet_feature_mmaction_video pipeline "
                "(bsn_tem_400x100_1x16_20e_activitynet_feature_mmaction_video, "
                "bsn_pem_400x100_1x16_20e_activitynet_feature_mmaction_video)")


def test_babel_mean_accuracy_is_not_typed_as_top1_accuracy():
    metrics = {m.metric_name: m for m in preset_card(get_preset("stgcn_80e_babel120")).data.eval_results}
    assert metrics["Top 1 Accuracy"].metric_type == "accuracy" and metrics["Top 1 Accuracy"].metric_config == "top1"
    assert metrics["Mean Top 1 Accuracy"].metric_type == "mean_top_1_accuracy"


@pytest.mark.parametrize("name", [
    "bsn_tem_400x100_1x16_20e_activitynet_feature_cuhk_mean_100",
    "bsn_pem_400x100_1x16_20e_activitynet_feature_cuhk_mean_100",
    "stgcn_80e_babel60",
])
def test_usage_snippet_runs(name, tmp_path):
    """The card's snippet, run as written against a local folder of the preset's model (random weights)."""
    from videohub.auto import AutoVideoModel

    entry = get_preset(name)
    torch.manual_seed(0)
    AutoVideoModel.from_config(config_from_entry(entry)).save_pretrained(tmp_path)
    code = re.search(r"```python\n(.*?)```", preset_card(entry, repo_id=str(tmp_path)).text, re.S).group(1)
    namespace = {}
    exec(compile(code, f"<card of {name}>", "exec"), namespace)  # the card's own text, written by preset_card
    if entry["family"] == "localizer":
        assert isinstance(namespace["proposals"][0], list) and namespace["proposals"][0]
        assert all(set(p) == {"segment", "score"} and 0 <= p["segment"][0] <= p["segment"][1] <= 120.0
                   for p in namespace["proposals"][0])
    else:
        assert namespace["logits"].shape == (1, 60)

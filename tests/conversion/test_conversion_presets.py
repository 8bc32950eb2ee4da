"""The checked-in mmaction2 zoo presets: facts, names, and conversion of every preset's key layout."""

import json
import os

import pytest
import torch

from videohub.conversion import presets
from videohub.conversion.converter import convert
from videohub.conversion.mmaction2 import arch_for_model_cfg, config_from_mmaction2
from videohub.conversion.presets import get_preset, list_presets, load_zoo, preset_config, repo_name_for
from videohub.conversion.presets import test_protocol as protocol_of
from videohub.conversion.state_dict import convert_state_dict, mmaction2_keys, model_state_shapes
from videohub.errors import CheckpointError, ConfigError

REQUIRED = {"name", "config", "dataset", "dataset_slug", "task", "metrics", "metadata", "checkpoint_url",
            "checkpoint_file", "family", "arch", "model", "test_pipeline", "test_protocol", "repo_name", "collections"}
IN_SCOPE = {"Kinetics-400", "SthV1", "SthV2", "UCF101", "HMDB51", "ActivityNet v1.3", "AVA v2.1", "AVA v2.2"}


def test_zoo_structure():
    zoo = load_zoo()
    assert zoo["source"]["version"] == "0.24.1"
    entries = zoo["entries"]
    assert len(entries) == 154 and len(list_presets()) == 131
    for e in entries:
        assert REQUIRED <= set(e), e["name"]
        assert e["dataset"] in IN_SCOPE and e["metrics"]
        urls = e["checkpoint_url"] if isinstance(e["checkpoint_url"], list) else [e["checkpoint_url"]]
        files = e["checkpoint_file"] if isinstance(e["checkpoint_file"], list) else [e["checkpoint_file"]]
        assert [u.rsplit("/", 1)[-1] for u in urls] == files
        assert all(u.startswith("https://download.openmmlab.com/mmaction/") and u.endswith(".pth") for u in urls)
    assert len({e["name"] for e in entries}) == len(entries)
    assert len({e["repo_name"] for e in entries}) == len(entries)
    assert len({json.dumps(e["checkpoint_url"]) for e in entries}) == len(entries)


def test_recognizer_presets_map_to_their_architecture():
    for e in list_presets():
        assert e["family"] == "recognizer"
        assert arch_for_model_cfg(e["model"]) == e["arch"]
        assert e["model"]["cls_head"]["num_classes"] == {
            "kinetics400": 400, "sthv1": 174, "sthv2": 174, "ucf101": 101, "hmdb51": 51, "activitynet": 200}[e["dataset_slug"]]


def test_pending_and_not_covered_entries():
    ready = {e["name"] for e in list_presets()}
    pending = [e for e in list_presets(include_pending=True) if e["name"] not in ready]
    assert {e["arch"] for e in pending} == {"bmn", "bsn", "ava"} and len(pending) == 23
    with pytest.raises(ConfigError, match="is a localizer \\(bmn\\); presets cover recognizers only so far"):
        get_preset("bmn_400x100_9e_2x8_activitynet_feature_cuhk_mean_100")
    # the entries of architectures with a config class map onto it like the recognizers
    for e in pending:
        if e["arch"] != "bsn":
            assert arch_for_model_cfg(e["model"]) == e["arch"], e["name"]
    not_covered = {n["name"] for n in load_zoo()["not_covered"]}
    assert "tsn_swin_transformer_video_320p_1x1x3_100e_kinetics400_rgb" in not_covered
    for name, arch in (("timesformer_divST_8x32x1_15e_kinetics400_rgb", "timesformer"),
                       ("timesformer_jointST_8x32x1_15e_kinetics400_rgb", "timesformer"),
                       ("timesformer_spaceOnly_8x32x1_15e_kinetics400_rgb", "timesformer"),
                       ("tsn_rn101_32x4d_320p_1x1x3_100e_kinetics400_rgb", "tsn"),
                       ("tsn_dense161_320p_1x1x3_100e_kinetics400_rgb", "tsn")):
        assert name not in not_covered and get_preset(name)["arch"] == arch


def test_published_facts_of_known_presets():
    # values as printed in mmaction2's TSN/TSM/I3D model zoo tables
    tsn = get_preset("tsn_r50_1x1x3_100e_kinetics400_rgb")
    assert tsn["metrics"] == {"Top 1 Accuracy": 70.6, "Top 5 Accuracy": 89.26}
    assert tsn["checkpoint_file"] == "tsn_r50_1x1x3_100e_kinetics400_rgb_20200614-e508be42.pth"
    assert tsn["metadata"]["Resolution"] == "340x256"
    assert tsn["test_protocol"]["num_clips"] == 25 and tsn["test_protocol"]["crop"] == "TenCrop"
    assert tsn["test_protocol"]["views"] == 250
    assert tsn["repo_name"] == "tsn-r50-1x1x3-kinetics400"
    tsn_256 = get_preset("tsn_r50_1x1x3_100e_kinetics400_rgb_256p")
    assert tsn_256["checkpoint_file"] == "tsn_r50_256p_1x1x3_100e_kinetics400_rgb_20200725-22592236.pth"
    assert tsn_256["metrics"]["Top 1 Accuracy"] == 70.42
    tsm = get_preset("tsm_r50_1x1x8_50e_sthv1_rgb")
    assert tsm["test_protocol"]["sampler"]["twice_sample"] is True
    assert (tsm["test_protocol"]["num_clips"], tsm["test_protocol"]["num_crops"], tsm["test_protocol"]["views"]) == (16, 3, 48)
    assert tsm["metrics"]["Top 1 Accuracy (efficient)"] == 45.58
    hmdb = get_preset("slowonly_k400_pretrained_r50_8x4x1_40e_hmdb51_rgb")  # listed under another name in the metafile
    assert hmdb["metafile_name"] == "slowonly_imagenet_pretrained_r50_8x4x1_64e_hmdb51_rgb"
    assert hmdb["metrics"]["Top 1 Accuracy"] == 65.95
    omni = get_preset("tsn_omnisource_r50_1x1x3_100e_kinetics_rgb")
    assert omni["collections"] == ["OmniSource", "TSN"]  # one checkpoint listed in two collections


@pytest.mark.parametrize("name,config_class,frames", [
    ("i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb", "I3DConfig", 32),
    ("slowfast_r50_8x8x1_256e_kinetics400_rgb", "SlowFastConfig", 32),
    ("ipcsn_ig65m_pretrained_bnfrozen_r152_32x2x1_58e_kinetics400_rgb", "CSNConfig", 32),
    ("x3d_s_13x6x1_facebook_kinetics400_rgb", "X3DConfig", 13),
    ("tsn_r50_1x1x3_100e_kinetics400_rgb", "TSNConfig", 25),  # 2D: the 25 test segments
])
def test_preset_config(name, config_class, frames):
    entry = get_preset(name)
    config = preset_config(name)
    assert type(config).__name__ == config_class and config.num_frames == frames
    assert config.num_labels == entry["model"]["cls_head"]["num_classes"]
    assert config.average_clips == entry["model"]["test_cfg"]["average_clips"]
    assert config.backbone["type"] == entry["model"]["backbone"]["type"]
    assert all(v is None for k, v in config.backbone.items() if k == "pretrained")  # no initialization download
    assert preset_config(name, num_labels=10).num_labels == 10


def test_preset_config_keeps_the_test_cfg_and_names_the_classes():
    csn = preset_config("ircsn_ig65m_pretrained_r152_32x2x1_58e_kinetics400_rgb")
    assert csn.max_testing_views == 10 and csn.backbone["bottleneck_mode"] == "ir"
    c3d = preset_config("c3d_sports1m_16x1x1_45e_ucf101_rgb", id2label=[f"c{i}" for i in range(101)])
    assert c3d.id2label[100] == "c100" and c3d.average_clips == "score"
    with pytest.raises(ConfigError, match="unknown preset 'i3d_r51'"):
        preset_config("i3d_r51")


def test_get_preset_suggests_close_names():
    with pytest.raises(ConfigError, match="did you mean .*tsn_r50_1x1x3_100e_kinetics400_rgb"):
        get_preset("tsn_r50_1x1x3_kinetics400_rgb")


@pytest.mark.parametrize("name,dataset,expected", [
    ("tsn_r50_1x1x3_100e_kinetics400_rgb", "kinetics400", "tsn-r50-1x1x3-kinetics400"),
    ("tsn_r50_1x1x8_50e_hmdb51_kinetics400_rgb", "hmdb51", "tsn-r50-kinetics400-1x1x8-hmdb51"),
    ("slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb", "ava21", "slowonly-kinetics-pretrained-r50-4x16x1-ava21"),
    ("tsn_r50_320p_1x1x3_110e_kinetics400_flow", "kinetics400", "tsn-r50-320p-flow-1x1x3-kinetics400"),
    ("bmn_400x100_9e_2x8_activitynet_feature", "activitynet", "bmn-400x100-2x8-feature-activitynet"),
])
def test_repo_name_for(name, dataset, expected):
    assert repo_name_for(name, dataset) == expected


def test_repo_name_keeps_epochs_only_to_stay_unique():
    assert repo_name_for("tsm_r50_1x1x8_50e_kinetics400_rgb", "kinetics400", keep_epochs=True) == "tsm-r50-50e-1x1x8-kinetics400"
    names = {e["name"]: e["repo_name"] for e in load_zoo()["entries"]}
    assert names["tsm_r50_1x1x8_100e_kinetics400_rgb"] == "tsm-r50-100e-1x1x8-kinetics400"
    assert names["tsn_r50_1x1x8_100e_kinetics400_rgb"] == "tsn-r50-1x1x8-kinetics400"


def test_test_protocol_counts_views():
    dense = [dict(type="DenseSampleFrames", clip_len=1, frame_interval=1, num_clips=8, test_mode=True),
             dict(type="Resize", scale=(-1, 256)), dict(type="ThreeCrop", crop_size=256)]
    assert protocol_of(dense)["views"] == 8 * 10 * 3  # num_sample_positions defaults to 10
    plain = [dict(type="SampleFrames", clip_len=32, frame_interval=2, num_clips=1, test_mode=True)]
    assert protocol_of(plain) == {"sampler": plain[0], "resize_scale": None, "crop": None, "crop_size": None,
                                    "num_clips": 1, "num_crops": 1, "views": 1}
    assert protocol_of([dict(type="Resize")]) is None


def test_zoo_is_what_the_wheel_says(mim_dir):
    assert presets.build_zoo(mim_dir) == load_zoo()


def _unique_models():
    seen = {}
    for e in list_presets():
        seen.setdefault(json.dumps([e["model"], e["test_pipeline"]], sort_keys=True), e)
    return list(seen.values())


@pytest.mark.slow  # builds the 87 distinct preset models on the meta device (about 20 s of CPU)
def test_every_preset_converts_a_synthetic_checkpoint():
    """Build each preset's model (shapes only), lay its keys out as mmaction2 saves them, convert back."""
    entries = _unique_models()
    assert {e["arch"] for e in entries} == {e["arch"] for e in list_presets()}  # all 14 architectures
    for e in entries:
        config = config_from_mmaction2(e["model"], e["test_pipeline"])
        assert config.model_type == f"videohub-{e['arch']}"
        assert config.num_labels == e["model"]["cls_head"]["num_classes"]
        shapes = model_state_shapes(config)
        mm_keys = mmaction2_keys(shapes, config)
        assert {k.split(".", 1)[0] for k in mm_keys} <= {"backbone", "neck", "cls_head"}, e["name"]
        synthetic = {k: torch.empty(s, device="meta") for k, s in zip(mm_keys, shapes.values())}
        out = convert_state_dict(synthetic, config, expected=shapes, source=e["name"])
        assert list(out) == list(shapes), e["name"]
        head_key = next(k for k in synthetic if k.startswith("cls_head.") and k.endswith("weight"))
        del synthetic[head_key]
        with pytest.raises(CheckpointError, match="missing from the checkpoint"):
            convert_state_dict(synthetic, config, expected=shapes, source=e["name"])


def test_convert_a_preset_with_a_local_checkpoint(tmp_path):
    """The --preset path end to end on the smallest preset (X3D-S), with random weights."""
    from videohub.auto import AutoVideoModel

    entry = get_preset("x3d_s_13x6x1_facebook_kinetics400_rgb")
    config = config_from_mmaction2(entry["model"], entry["test_pipeline"])
    torch.manual_seed(0)
    source = AutoVideoModel.from_config(config).eval()
    mm = dict(zip(mmaction2_keys(source.state_dict(), config), source.state_dict().values()))
    ckpt = tmp_path / entry["checkpoint_file"]
    torch.save({"meta": {}, "state_dict": mm}, ckpt)
    out = tmp_path / "x3d"
    model = convert(str(out), checkpoint=str(ckpt), preset=entry["name"])
    card = (out / "README.md").read_text()
    assert "x3d-s-facebook-13x6x1-kinetics400" in card and "Top 1 Accuracy" in card
    from videohub.conversion.mmaction2 import read_checkpoint

    assert read_checkpoint(str(ckpt)).sha256 in card
    assert json.loads((out / "preprocessor_config.json").read_text())["sampler"]["clip_len"] == 13
    x = torch.randn(1, 13, 3, 64, 64)
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    with torch.no_grad():
        torch.testing.assert_close(model(pixel_values=x).logits, source(pixel_values=x).logits, rtol=1e-6, atol=1e-7)
    assert os.path.getsize(out / "model.safetensors") > 4 * sum(p.numel() for p in source.parameters()) * 0.9

"""Strict mapping of mmaction2 state-dict keys (prefix tables)."""

import pytest
import torch

from torch import nn

from videohub.configuration_utils import VideoConfig
from videohub.conversion.mmaction2 import config_from_mmaction2
from videohub.conversion.state_dict import (
    DETECTOR_TABLE,
    LOCALIZER_TABLE,
    RECOGNIZER_TABLE,
    KeyTable,
    convert_state_dict,
    key_table_for,
    load_part_weights,
    mmaction2_keys,
    model_state_shapes,
    rename_state_dict,
)
from videohub.errors import CheckpointError

TSN_R18 = dict(
    type="Recognizer2D",
    backbone=dict(type="ResNet", depth=18, pretrained=None, norm_eval=False),
    cls_head=dict(type="TSNHead", num_classes=7, in_channels=512, spatial_type="avg",
                  consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.4, init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips="score"),
)


@pytest.fixture(scope="module")
def tsn():
    config = config_from_mmaction2(TSN_R18)
    shapes = model_state_shapes(config)
    mm = {k: torch.zeros(s, dtype=torch.long if k.endswith("num_batches_tracked") else torch.float32)
          for k, s in zip(mmaction2_keys(shapes, config), shapes.values())}
    return config, shapes, mm


def test_recognizer_prefix_table():
    t = RECOGNIZER_TABLE
    assert t.to_videohub("backbone.layer1.0.conv1.conv.weight") == "model.backbone.layer1.0.conv1.conv.weight"
    assert t.to_videohub("neck.aux_head.fc.weight") == "model.neck.aux_head.fc.weight"
    assert t.to_videohub("cls_head.fc_cls.bias") == "cls_head.fc_cls.bias"
    assert t.to_videohub("data_preprocessor.mean") is None
    assert t.to_mmaction2("model.backbone.conv1.bn.running_mean") == "backbone.conv1.bn.running_mean"
    assert t.to_mmaction2("cls_head.fc_cls.weight") == "cls_head.fc_cls.weight"


def test_model_keys_of_tsn_r18(tsn):
    config, shapes, mm = tsn
    # ResNet-18: stem conv+bn (6 entries), 8 BasicBlocks with 2 conv+bn (12 each) and 3 downsamples (6 each)
    assert len([k for k in mm if k.startswith("backbone.")]) == 6 + 8 * 12 + 3 * 6
    assert shapes["cls_head.fc_cls.weight"] == (7, 512)
    assert "backbone.layer2.0.downsample.conv.weight" in mm
    assert mm["backbone.conv1.bn.num_batches_tracked"].dtype == torch.long


def test_convert_roundtrip(tsn):
    config, shapes, mm = tsn
    out = convert_state_dict(mm, config, expected=shapes)
    assert list(out) == list(shapes)
    assert out["model.backbone.conv1.conv.weight"] is mm["backbone.conv1.conv.weight"]


def test_leftover_key_is_an_error(tsn):
    config, shapes, mm = tsn
    bad = dict(mm, **{"data_preprocessor.mean": torch.zeros(3), "ema.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match=r"keys outside the recognizer prefixes .*2 key\(s\): data_preprocessor\.mean, ema\.weight"):
        convert_state_dict(bad, config, expected=shapes, source="x.pth")


def test_missing_and_unexpected_keys_are_listed(tsn):
    config, shapes, mm = tsn
    bad = dict(mm)
    del bad["cls_head.fc_cls.weight"]
    bad["backbone.layer5.0.conv1.conv.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as info:
        convert_state_dict(bad, config, expected=shapes, source="x.pth")
    message = str(info.value)
    assert message.startswith("x.pth does not match TSNConfig (videohub-tsn)")
    assert "missing from the checkpoint (mmaction2 names shown): 1 key(s): cls_head.fc_cls.weight" in message
    assert "does not have (mmaction2 names shown): 1 key(s): backbone.layer5.0.conv1.conv.weight" in message


def test_shape_mismatch_is_an_error(tsn):
    config, shapes, mm = tsn
    bad = dict(mm, **{"cls_head.fc_cls.weight": torch.zeros(400, 512)})
    with pytest.raises(CheckpointError, match=r"1 shape mismatch\(es\): cls_head\.fc_cls\.weight: checkpoint \(400, 512\) vs model \(7, 512\)"):
        convert_state_dict(bad, config, expected=shapes)


def test_non_tensor_entry_is_an_error(tsn):
    config, shapes, mm = tsn
    with pytest.raises(CheckpointError, match="entry 'cls_head.fc_cls.bias' is a list"):
        convert_state_dict(dict(mm, **{"cls_head.fc_cls.bias": [0.0] * 7}), config, expected=shapes)


def test_num_batches_tracked_absent_is_filled_with_zero(tsn):
    config, shapes, mm = tsn
    stripped = {k: v for k, v in mm.items() if not k.endswith("num_batches_tracked")}
    assert len(mm) - len(stripped) == 1 + 8 * 2 + 3  # one per BatchNorm
    out = convert_state_dict(stripped, config, expected=shapes)
    assert out["model.backbone.layer1.0.conv2.bn.num_batches_tracked"].item() == 0
    assert out["model.backbone.layer1.0.conv2.bn.num_batches_tracked"].dtype == torch.long


def test_num_batches_tracked_present_is_kept(tsn):
    config, shapes, mm = tsn
    counted = dict(mm, **{"backbone.conv1.bn.num_batches_tracked": torch.tensor(1234)})
    assert convert_state_dict(counted, config, expected=shapes)["model.backbone.conv1.bn.num_batches_tracked"].item() == 1234


def test_expected_defaults_to_the_model(tsn):
    config, shapes, mm = tsn
    assert list(convert_state_dict(mm, config)) == list(shapes)


def test_the_task_base_selects_the_table():
    from videohub.models.ava import AVAConfig
    from videohub.models.bmn import BMNConfig
    from videohub.models.tsn import TSNConfig

    assert key_table_for(TSNConfig()) is RECOGNIZER_TABLE
    assert key_table_for(BMNConfig(temporal_dim=10, feat_dim=8)) is LOCALIZER_TABLE
    assert key_table_for(AVAConfig()) is DETECTOR_TABLE
    assert LOCALIZER_TABLE.to_videohub("x_1d_b.0.weight") == "localizer.x_1d_b.0.weight"
    assert LOCALIZER_TABLE.to_mmaction2("localizer.sample_mask") == "sample_mask"
    assert DETECTOR_TABLE.to_videohub("roi_head.bbox_head.fc_cls.weight") == "roi_head.bbox_head.fc_cls.weight"
    assert DETECTOR_TABLE.to_videohub("neck.conv.weight") is None  # FastRCNN has no neck in videohub
    with pytest.raises(CheckpointError, match="no state-dict key table for VideoConfig .*RecognizerConfig"):
        key_table_for(VideoConfig())


def test_rename_state_dict_ignores_only_what_the_table_says():
    table = KeyTable("fakeloc", (("x_", "model.x_"),), ignore=(r"^sample_mask$",))
    out = rename_state_dict({"x_a": torch.zeros(2), "sample_mask": torch.zeros(1)}, table, expected={"model.x_a": (2,)})
    assert list(out) == ["model.x_a"]
    with pytest.raises(CheckpointError, match=r"w.pth does not match Fake: keys outside the fakeloc prefixes \['x_'\]: "
                                              r"1 key\(s\): y_b"):
        rename_state_dict({"x_a": torch.zeros(2), "y_b": torch.zeros(1)}, table, {"model.x_a": (2,)}, "w.pth", "Fake")


def test_load_part_weights_is_strict_and_keeps_the_names():
    module = nn.Sequential(nn.Conv1d(2, 3, 1), nn.BatchNorm1d(3))
    weights = {k: torch.randn_like(v.float()).to(v.dtype) for k, v in module.state_dict().items()}
    del weights["1.num_batches_tracked"]  # an older PyTorch's checkpoint: filled with 0
    loaded = load_part_weights(nn.Sequential(nn.Conv1d(2, 3, 1), nn.BatchNorm1d(3)).train(), weights, "part.pth")
    assert not loaded.training and torch.equal(loaded[0].weight, weights["0.weight"])
    assert loaded[1].num_batches_tracked.item() == 0
    with pytest.raises(CheckpointError, match=r"part.pth does not match Sequential: .*0\.weight: checkpoint \(3, 1, 1\) "
                                              r"vs model \(3, 2, 1\)"):
        load_part_weights(module, dict(weights, **{"0.weight": torch.zeros(3, 1, 1)}), "part.pth")

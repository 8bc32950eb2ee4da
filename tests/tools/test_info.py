"""``videohub info``: parameters and FLOPs per stage, checked against hand computations and mmaction2's numbers."""

import argparse
import json

import pytest
import torch

from videohub import TSNConfig, TSNForVideoClassification
from videohub.commands import info as info_command
from videohub.errors import ConfigError, ShapeError
from videohub.tools.model_info import count_flops, format_table, load_model, model_info


def tiny_tsn(num_labels=5):
    """ResNet-18 stem + layer1 (64 channels) and a TSN head: every FLOP is countable by hand."""
    config = TSNConfig(backbone=dict(type="ResNet", depth=18, num_stages=1, out_indices=(0,), strides=(1,),
                                     dilations=(1,)),
                       cls_head=dict(type="TSNHead", in_channels=64), num_labels=num_labels, num_frames=2)
    return TSNForVideoClassification(config).eval()


def conv_flops(c_in, c_out, k, h_out, w_out):
    return 2 * c_in * k * k * c_out * h_out * w_out


def parse(argv):
    parser = argparse.ArgumentParser()
    info_command.add_arguments(parser)
    return parser.parse_args(argv)


def test_flops_of_a_plain_conv_by_hand():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=2, padding=2), torch.nn.Flatten(),
                                torch.nn.Linear(8 * 6 * 6, 10))
    total, per_module = count_flops(model, {"input": torch.zeros(4, 3, 12, 12)})
    conv = 4 * conv_flops(3, 8, 5, 6, 6)  # 4 images, 6x6 outputs, 3*25 MACs per output and channel
    linear = 2 * 4 * (8 * 6 * 6) * 10
    assert per_module == {"": conv + linear, "0": conv, "2": linear}
    assert total == conv + linear


def test_tiny_tsn_stages_match_hand_computation():
    model = tiny_tsn()
    info = model_info(model, [2, 32, 32])  # T H W -> (1, 2, 3, 32, 32): two 32x32 frames
    assert info.input_name == "pixel_values" and info.input_shape == (1, 2, 3, 32, 32)
    frames = 2
    stem = frames * conv_flops(3, 64, 7, 16, 16)  # 7x7 stride 2 -> 16x16; max pool -> 8x8
    layer1 = frames * 4 * conv_flops(64, 64, 3, 8, 8)  # two basic blocks of two 3x3 convs
    head = 2 * 64 * 5  # the segments' pooled 64-d features are averaged (consensus), then one fc
    rows = {s.name: s for s in info.stages}
    assert list(rows) == ["model.backbone.conv1", "model.backbone.layer1", "cls_head"]
    assert (rows["model.backbone.conv1"].flops, rows["model.backbone.layer1"].flops, rows["cls_head"].flops) == (
        stem, layer1, head)
    assert info.flops == stem + layer1 + head
    # parameters by hand: conv weights (no bias) + BN affine pairs; head weight + bias
    assert rows["model.backbone.conv1"].params == 64 * 3 * 49 + 2 * 64
    assert rows["model.backbone.layer1"].params == 4 * (64 * 64 * 9 + 2 * 64)
    assert rows["cls_head"].params == 64 * 5 + 5
    assert info.params == sum(p.numel() for p in model.parameters()) == sum(s.params for s in info.stages)
    table = format_table(info)
    assert f"{layer1:,}" in table and "model.backbone.layer1" in table


def test_preset_parameter_count_equals_mmaction2_published_number():
    from videohub.conversion.presets import get_preset

    name = "x3d_s_13x6x1_facebook_kinetics400_rgb"
    model, source = load_model(name)
    assert source == f"preset {name}"
    published = get_preset(name)["metadata"]["Parameters"]
    assert sum(p.numel() for p in model.parameters()) == published == 3794322


def test_input_shape_forms():
    model = tiny_tsn()
    assert model_info(model, [16, 16]).input_shape == (1, 2, 3, 16, 16)  # H W: config num_frames
    assert model_info(model, [1, 2, 4, 3, 16, 16]).input_shape == (1, 2, 4, 3, 16, 16)
    with pytest.raises(ShapeError, match="expected H W, T H W"):
        model_info(model, [3, 16, 16, 2])
    with pytest.raises(ShapeError, match=">= 1"):
        model_info(model, [0, 16])


def test_command_json_and_errors(tmp_path, capsys):
    model = tiny_tsn()
    model.save_pretrained(tmp_path / "m")
    assert info_command.run(parse([str(tmp_path / "m"), "--input-shape", "2", "32", "32", "--json"])) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model_type"] == "videohub-tsn" and out["input_shape"] == [1, 2, 3, 32, 32]
    assert out["flops"] == model_info(model, [2, 32, 32]).flops and out["macs"] == out["flops"] // 2
    assert [s["name"] for s in out["stages"]] == ["model.backbone.conv1", "model.backbone.layer1", "cls_head"]
    assert info_command.run(parse([str(tmp_path / "m"), "--input-shape", "2", "32", "32"])) == 0
    assert "parameters:" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        info_command.run(parse([str(tmp_path / "empty")]))

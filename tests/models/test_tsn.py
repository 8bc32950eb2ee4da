"""TSN against mmaction2: golden parity through the transformers model, and build_* helpers."""

import pytest
import torch

from videohub.builder import build_backbone, build_head, build_model
from videohub.conversion.mmaction2 import build_model as build_converted, config_from_mmaction2
from videohub.errors import ConfigError


def close(out, ref):
    tol = 1e-4 * ref.abs().max() + 1e-5
    assert (out - ref).abs().max() <= tol, f"max abs err {(out - ref).abs().max():.3g} > {tol:.3g}"


@pytest.mark.parametrize("name", ["tsn_r18", "tsn_r50_2stage"])
def test_golden_parity(golden, name):
    data = golden(name)
    config = config_from_mmaction2(data["config"])
    assert config.model_type == "videohub-tsn"
    model = build_converted(config, data["state_dict"])
    with torch.no_grad():
        out = model(pixel_values=data["input"])
    close(out.clip_logits, data["output"])
    close(out.scores, data["extra"]["test_output"])


def test_build_helpers_follow_mmaction2_configs():
    backbone = build_backbone(dict(type="ResNet", depth=18, out_indices=(2, 3)))
    feats = backbone(torch.zeros(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [256, 512]
    head = build_head(dict(type="TSNHead", num_classes=4, in_channels=512))
    assert head(feats[1].repeat(3, 1, 1, 1), 3).shape == (1, 4)
    model = build_model(dict(type="Recognizer2D", backbone=dict(type="ResNet", depth=18),
                             cls_head=dict(type="TSNHead", num_classes=4, in_channels=512)),
                        test_cfg=dict(average_clips="prob"))
    assert model.config.num_labels == 4 and model.config.average_clips == "prob"
    with pytest.raises(ConfigError, match="TCANet"):
        build_model(dict(type="TCANet"))


@pytest.mark.parametrize("depth,channels", [(18, 512), (34, 512), (50, 2048), (101, 2048), (152, 2048)])
def test_every_resnet_depth(depth, channels):
    from videohub import TSNConfig, TSNModel

    config = TSNConfig(backbone=dict(type="ResNet", depth=depth), cls_head=dict(type="TSNHead", in_channels=channels))
    model = TSNModel(config).eval()
    with torch.no_grad():
        out = model(pixel_values=torch.zeros(2, 3, 3, 32, 32))
    assert out.last_hidden_state.shape == (6, channels, 1, 1)
    assert out.pooler_output.shape == (2, channels)


def test_config_errors_name_the_key():
    from videohub import TSNConfig

    with pytest.raises(ConfigError, match="'colour'"):
        TSNConfig(colour="red")
    with pytest.raises(ConfigError, match="backbone.*'detph'"):
        TSNConfig(backbone=dict(type="ResNet", detph=50))
    with pytest.raises(ConfigError, match="average_clips"):
        TSNConfig(average_clips="median")
    with pytest.raises(ConfigError, match="unknown backbone type 'ResNeXt'"):
        TSNConfig(backbone=dict(type="ResNeXt", depth=50))

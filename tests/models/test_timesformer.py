"""TimeSformer: attention, layouts, configs and the mmaction2 key table (parity: tests/conversion)."""

import pytest
import torch
from torch import nn

import videohub
from videohub.conversion.mmaction2 import arch_for_model_cfg, config_from_mmaction2
from videohub.conversion.state_dict import model_state_shapes
from videohub.errors import ConfigError, ShapeError
from videohub.models.timesformer.timesformer import TimeSformer
from videohub.models.timesformer.transformer import DropPath, SelfAttention
from videohub.registry import BACKBONES

TINY = dict(type="TimeSformer", num_frames=4, img_size=32, patch_size=16, embed_dims=32, num_heads=2,
            num_transformer_layers=2)


def zoo_model(attention_type):
    """The model dict of mmaction2 0.24.1's ``timesformer_*_8x32x1_15e_kinetics400_rgb`` configs."""
    return dict(
        type="Recognizer3D",
        backbone=dict(type="TimeSformer", pretrained="https://download.openmmlab.com/mmaction/recognition/"
                      "timesformer/vit_base_patch16_224.pth", num_frames=8, img_size=224, patch_size=16,
                      embed_dims=768, in_channels=3, dropout_ratio=0.0, transformer_layers=None,
                      attention_type=attention_type, norm_cfg=dict(type="LN", eps=1e-6)),
        cls_head=dict(type="TimeSformerHead", num_classes=400, in_channels=768),
        train_cfg=None, test_cfg=dict(average_clips="prob"),
    )


def _randomize(module, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=generator) * 0.4 - 0.2)
    return module


def test_sdpa_attention_equals_torch_multihead_attention():
    torch.manual_seed(0)
    reference = nn.MultiheadAttention(24, 3, batch_first=True)
    _randomize(reference)
    ours = SelfAttention(24, 3)
    ours.load_state_dict(reference.state_dict())  # same parameter names and shapes
    x = torch.randn(5, 7, 24)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x, x, x, need_weights=False)[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("attention_type", ["divided_space_time", "joint_space_time", "space_only"])
def test_zoo_configs_convert_with_the_mmaction2_key_layout(attention_type):
    model = zoo_model(attention_type)
    assert arch_for_model_cfg(model) == "timesformer"
    config = config_from_mmaction2(model)
    assert config.backbone["pretrained"] is None and config.num_frames == 8 and config.average_clips == "prob"
    shapes = {k: tuple(v) for k, v in model_state_shapes(config).items()}
    layer = "model.backbone.transformer_layers.layers.11."
    common = {"model.backbone.cls_token": (1, 1, 768), "model.backbone.pos_embed": (1, 197, 768),
              "model.backbone.patch_embed.projection.weight": (768, 3, 16, 16), "model.backbone.norm.weight": (768,),
              layer + "attentions.0.attn.in_proj_weight": (2304, 768), layer + "attentions.0.attn.out_proj.bias": (768,),
              layer + "ffns.0.layers.0.0.weight": (3072, 768), layer + "ffns.0.layers.1.weight": (768, 3072),
              "cls_head.fc_cls.weight": (400, 768)}
    assert {k: shapes.get(k) for k in common} == common
    per_layer = {k[len(layer):] for k in shapes if k.startswith(layer)}
    divided = {"attentions.0.temporal_fc.weight", "attentions.1.attn.in_proj_weight", "attentions.1.norm.weight",
               "ffns.0.norm.weight"}
    if attention_type == "divided_space_time":
        assert divided <= per_layer and not any(k.startswith("norms.") for k in per_layer)
        assert len(per_layer) == 8 + 6 + 6  # temporal attention (norm, attn, temporal_fc), spatial (norm, attn), FFN + norm
    else:
        assert {"norms.0.weight", "norms.1.bias"} <= per_layer and not divided & per_layer
        assert len(per_layer) == 4 + 4 + 4
    assert ("model.backbone.time_embed" in shapes) == (attention_type != "space_only")
    if attention_type == "divided_space_time":
        # ViT-B/16 (85.8M) plus, per layer, a temporal attention with its norm and temporal_fc, plus time_embed
        count = sum(torch.Size(v).numel() for k, v in shapes.items() if k.startswith("model.backbone."))
        vit_b16 = 768 * 3 * 256 + 768 + 768 + 197 * 768 + 2 * 768 + 12 * (4 * 768 + 4 * 768 * 768 + 4 * 768
                                                                         + 2 * 768 * 3072 + 3072 + 768)
        temporal = 12 * (4 * 768 * 768 + 4 * 768 + 2 * 768 + 768 * 768 + 768)
        assert count == vit_b16 + temporal + 8 * 768 and round(count / 1e6, 1) == 121.3


def test_space_only_ignores_frame_order_and_the_others_do_not():
    x = torch.randn(2, 3, 4, 32, 32)
    shuffled = x[:, :, [2, 0, 3, 1]]
    for attention_type in ("space_only", "joint_space_time", "divided_space_time"):
        torch.manual_seed(0)
        model = BACKBONES.build(dict(TINY, attention_type=attention_type)).eval()
        model.init_weights()
        if hasattr(model, "time_embed"):
            nn.init.normal_(model.time_embed, std=0.5)
        for m in model.modules():
            if hasattr(m, "temporal_fc"):
                nn.init.normal_(m.temporal_fc.weight, std=0.2)
        with torch.no_grad():
            same = torch.allclose(model(x), model(shuffled), rtol=1e-5, atol=1e-5)
        assert same == (attention_type == "space_only"), attention_type


def test_divided_attention_starts_as_spatial_attention_only():
    # temporal_fc is zero-initialized, so a fresh divided layer ignores time; frames then only meet in
    # the spatial attention's averaged class token: a clip of identical frames equals a one-frame clip
    torch.manual_seed(0)
    four = BACKBONES.build(dict(TINY)).eval()
    four.init_weights()
    one = BACKBONES.build(dict(TINY, num_frames=1)).eval()
    one.load_state_dict({k: (v[:, :1] if k == "time_embed" else v) for k, v in four.state_dict().items()})
    frame = torch.randn(2, 3, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(four(frame.expand(-1, -1, 4, -1, -1)), one(frame), rtol=1e-5, atol=1e-5)


def test_wrong_clip_shapes_raise():
    model = BACKBONES.build(dict(TINY)).eval()
    with pytest.raises(ShapeError, match=r"\[N, 3, 4, 32, 32\].*\(1, 3, 8, 32, 32\)"):
        model(torch.zeros(1, 3, 8, 32, 32))
    with pytest.raises(ShapeError, match=r"\(1, 3, 4, 48, 48\)"):
        model(torch.zeros(1, 3, 4, 48, 48))
    with pytest.raises(ConfigError, match="attention_type"):
        BACKBONES.build(dict(TINY, attention_type="axial"))
    with pytest.raises(ConfigError, match="whole number of patches"):
        BACKBONES.build(dict(TINY, img_size=40))
    with pytest.raises(ConfigError, match="transformer_layers"):
        BACKBONES.build(dict(TINY, transformer_layers=dict(type="TransformerLayerSequence")))


def test_config_keeps_num_frames_and_backbone_frames_equal():
    assert videohub.TimeSformerConfig(num_frames=16).backbone["num_frames"] == 16
    config = videohub.TimeSformerConfig(backbone=dict(num_frames=4, img_size=32, embed_dims=64, num_heads=4))
    assert config.num_frames == 4 and config.cls_head["in_channels"] == 64
    assert config.backbone["attention_type"] == "divided_space_time" and config.backbone["patch_size"] == 16
    with pytest.raises(ConfigError, match="num_frames=16 but backbone num_frames=4"):
        videohub.TimeSformerConfig(num_frames=16, backbone=dict(num_frames=4))
    model = videohub.AutoModelForVideoClassification.from_config(
        videohub.TimeSformerConfig(num_frames=2, backbone=dict(TINY, num_frames=2), num_labels=3)).eval()
    with torch.no_grad():
        assert model(pixel_values=torch.randn(1, 2, 3, 32, 32)).logits.shape == (1, 3)


def test_vit_checkpoint_initializes_divided_attention(tmp_path):
    torch.manual_seed(0)
    vit = _randomize(BACKBONES.build(dict(TINY, attention_type="joint_space_time")), seed=1)  # the ViT layout
    path = tmp_path / "vit.pth"
    torch.save({"state_dict": {"backbone." + k: v for k, v in vit.state_dict().items()}}, path)
    divided = BACKBONES.build(dict(TINY, pretrained=str(path)))
    divided.init_weights()
    got, src = divided.state_dict(), vit.state_dict()
    for i in range(2):
        layer = f"transformer_layers.layers.{i}."
        for attn in (0, 1):
            assert torch.equal(got[f"{layer}attentions.{attn}.attn.in_proj_weight"],
                               src[f"{layer}attentions.0.attn.in_proj_weight"])
            assert torch.equal(got[f"{layer}attentions.{attn}.norm.weight"], src[f"{layer}norms.0.weight"])
        assert torch.equal(got[f"{layer}ffns.0.norm.bias"], src[f"{layer}norms.1.bias"])
        assert torch.equal(got[f"{layer}ffns.0.layers.1.weight"], src[f"{layer}ffns.0.layers.1.weight"])
        assert not got[f"{layer}attentions.0.temporal_fc.weight"].any()  # not in a ViT: stays zero
    for key in ("cls_token", "pos_embed", "time_embed", "patch_embed.projection.weight", "norm.weight"):
        assert torch.equal(got[key], src[key])


def test_drop_path_drops_whole_samples_only_while_training():
    layer = DropPath(0.5)
    x = torch.ones(400, 3, 2)
    assert torch.equal(layer.eval()(x), x)
    torch.manual_seed(0)
    out = layer.train()(x)
    per_sample = out.flatten(1)
    assert set(per_sample.unique().tolist()) == {0.0, 2.0}
    assert (per_sample == per_sample[:, :1]).all()  # a sample is kept or dropped as a whole
    assert 0.4 < (per_sample[:, 0] == 0).float().mean() < 0.6


def test_head_init_and_shape():
    torch.manual_seed(0)
    config = videohub.TimeSformerConfig(backbone=dict(TINY), num_labels=1000)
    head = videohub.AutoModelForVideoClassification.from_config(config).cls_head
    weight = head.fc_cls.weight
    assert 0.018 < weight.std().item() < 0.022 and weight.abs().max() <= 2.0 and not head.fc_cls.bias.any()
    with pytest.raises(ShapeError, match=r"\[N, 32\]"):
        head(torch.zeros(2, 32, 1, 1, 1))


def test_backbone_is_registered_with_feature_width():
    assert BACKBONES.get("TimeSformer") is TimeSformer
    model = BACKBONES.build(dict(TINY))
    assert model.feat_dim == 32 and model(torch.randn(3, 3, 4, 32, 32)).shape == (3, 32)

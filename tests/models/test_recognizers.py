"""Checks of every recognizer (the tiny configs whose config is a ``RecognizerConfig``)."""

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm
from transformers import AutoModel, AutoModelForVideoClassification

import videohub
from videohub.errors import ConfigError, ShapeError
from videohub.registry import BACKBONES, accepted_arguments
from model_helpers import RECOGNIZERS, build, inputs, tiny


@pytest.mark.parametrize("arch", RECOGNIZERS)
class TestRecognizer:
    def test_forward_shapes_and_views(self, arch):
        model, module = build(arch)
        model.eval()
        x = inputs(model, module)
        with torch.no_grad():
            out = model(**x)
        batch = module.INPUT_SHAPE[0]
        assert out.logits.shape == (batch, model.config.num_labels)
        name = model.main_input_name
        views = torch.stack([x[name], x[name].flip(-1)], dim=1)
        with torch.no_grad():
            multi = model(**{name: views})
            singles = [model(**{name: views[:, v]}) for v in range(2)]
        assert multi.logits.shape == out.logits.shape
        if model.config.recognizer != "Recognizer2D":
            if model.config.average_clips == "score":
                torch.testing.assert_close(multi.scores, (singles[0].scores + singles[1].scores) / 2,
                                           rtol=1e-4, atol=1e-5)
            if model.config.average_clips == "prob":
                probs = (singles[0].clip_logits.softmax(-1) + singles[1].clip_logits.softmax(-1)) / 2
                torch.testing.assert_close(multi.scores, probs, rtol=1e-4, atol=1e-6)

    @pytest.mark.parametrize("average_clips", ["score", "prob", None])
    def test_softmax_of_logits_is_the_averaged_probability(self, arch, average_clips):
        model, module = build(arch, average_clips=average_clips)
        model.eval()
        x = inputs(model, module)
        name = model.main_input_name
        views = torch.stack([x[name], x[name].flip(-1), x[name] * 0.5], dim=1)
        with torch.no_grad():
            out = model(**{name: views})
        per_view = out.clip_logits.view(views.shape[0], -1, model.config.num_labels)
        if average_clips == "prob":
            expected = per_view.softmax(-1).mean(1)
            torch.testing.assert_close(out.scores, expected, rtol=1e-5, atol=1e-7)
        else:
            expected = per_view.mean(1).softmax(-1)
        assert out.logits.shape == (views.shape[0], model.config.num_labels)
        torch.testing.assert_close(out.logits.softmax(-1), expected, rtol=1e-5, atol=1e-7)

    def test_transformers_auto_classes_load_it(self, arch, tmp_path):
        model, module = build(arch)
        model.eval().save_pretrained(tmp_path)
        x = inputs(model, module)
        loaded = AutoModelForVideoClassification.from_pretrained(str(tmp_path)).eval()
        assert type(loaded) is type(model)
        with torch.no_grad():
            assert torch.equal(loaded(**x).logits, model(**x).logits)
        assert type(videohub.AutoModelForVideoClassification.from_pretrained(str(tmp_path))) is type(model)

    def test_losses_report_accuracy(self, arch):
        model, module = build(arch)
        model.train()
        out = model(**inputs(model, module), labels=torch.arange(module.INPUT_SHAPE[0]) % model.config.num_labels)
        assert "loss_cls" in out.losses and "top1_acc" in out.losses

    def test_base_model_features(self, arch, tmp_path):
        model, module = build(arch)
        model.save_pretrained(tmp_path)
        base = AutoModel.from_pretrained(str(tmp_path)).eval()
        assert type(base) is model.base_model_class
        with torch.no_grad():
            out = base(**inputs(model, module), output_hidden_states=True)
        assert out.pooler_output.shape[0] == module.INPUT_SHAPE[0] and out.pooler_output.dim() == 2
        assert len(out.hidden_states) >= 1

    def test_wrong_rank_raises(self, arch):
        model, module = build(arch)
        shape = module.INPUT_SHAPE
        with pytest.raises(ShapeError, match=str(tuple(shape[1:]))):
            model(**{model.main_input_name: torch.zeros(shape[1:])})

    def test_gradient_checkpointing_same_gradients(self, arch):
        model, module = build(arch)
        if not any(hasattr(m, "with_cp") for m in model.modules()):
            pytest.skip(f"{arch} has no block with a with_cp flag")
        model.eval()  # no dropout / BN updates, so both passes see the same function
        x = inputs(model, module)
        labels = torch.arange(module.INPUT_SHAPE[0]) % model.config.num_labels
        model(**x, labels=labels).loss.backward()
        plain = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        model.zero_grad()
        model.activation_checkpointing_enable()
        assert model.is_gradient_checkpointing
        x = {k: v.requires_grad_() for k, v in x.items()}
        model(**x, labels=labels).loss.backward()
        for name, grad in plain.items():
            torch.testing.assert_close(dict(model.named_parameters())[name].grad, grad, rtol=1e-4, atol=1e-6)

    def test_frozen_stages_and_norm_eval(self, arch):
        kwargs = tiny(arch).CONFIG
        params = accepted_arguments(BACKBONES.get(kwargs["backbone"]["type"]))
        if "frozen_stages" not in params or "norm_eval" not in params:
            pytest.skip(f"{kwargs['backbone']['type']} has no frozen_stages/norm_eval")
        backbone = dict(kwargs["backbone"], frozen_stages=1, norm_eval=True)
        model, module = build(arch, backbone=backbone)
        model.train()
        frozen = [p for n, p in model.model.backbone.named_parameters() if n.startswith(("conv1.", "layer1."))]
        if frozen:
            assert all(not p.requires_grad for p in frozen)
        bns = [m for m in model.model.backbone.modules() if isinstance(m, _BatchNorm)]
        assert bns and all(not m.training for m in bns)
        before = [m.running_mean.clone() for m in bns]
        model(**inputs(model, module))
        assert all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))


def test_tsm_num_frames_sets_the_segments_and_runs():
    config = videohub.TSMConfig(num_frames=16, num_labels=3, backbone=dict(depth=18))
    assert config.backbone["num_segments"] == config.cls_head["num_segments"] == 16
    model = videohub.AutoVideoModel.from_config(config).eval()
    with torch.no_grad():
        assert model(pixel_values=torch.randn(1, 16, 3, 32, 32)).logits.shape == (1, 3)
    assert videohub.TSMConfig(backbone=dict(num_segments=4)).num_frames == 4
    with pytest.raises(ConfigError, match="num_frames=6 but num_segments=4"):
        videohub.TSMConfig(num_frames=6, backbone=dict(num_segments=4))


def test_partial_backbone_merges_and_head_channels_follow():
    config = videohub.TSNConfig(backbone=dict(depth=18), num_labels=4)
    assert config.backbone == {"type": "ResNet", "depth": 18, "norm_eval": False}
    assert config.cls_head["in_channels"] == 512 and config.cls_head["dropout_ratio"] == 0.4
    model = videohub.AutoVideoModel.from_config(config).eval()
    with torch.no_grad():
        assert model(pixel_values=torch.randn(2, 3, 3, 32, 32)).logits.shape == (2, 4)
    assert videohub.TSNConfig(backbone=dict(depth=18), cls_head=dict(in_channels=64)).cls_head["in_channels"] == 64
    assert videohub.SlowOnlyConfig(backbone=dict(depth=18)).cls_head["in_channels"] == 512
    full = videohub.TSNConfig(backbone=dict(type="ResNet", depth=34))
    assert full.backbone == {"type": "ResNet", "depth": 34}  # a dict with "type" replaces the default

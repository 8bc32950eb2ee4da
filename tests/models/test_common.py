"""Checks every registered architecture passes, driven by the tiny configs in ``tests/models/tiny``.

A new architecture gets all of them by adding ``tests/models/tiny/<arch>.py`` with ``CONFIG``
(kwargs of its config class) and ``INPUT_SHAPE`` (``pixel_values`` or ``input_features`` shape).
"""

import copy
import importlib.util
import os
import pkgutil

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm
from transformers import AutoModel, AutoModelForVideoClassification

import videohub
import videohub.layers  # noqa: F401  (fills the layer registries)
from videohub.auto import CONFIG_CLASSES, TASK_CLASSES
from videohub.errors import ShapeError
from videohub.registry import BACKBONES, accepted_arguments

TINY_DIR = os.path.join(os.path.dirname(__file__), "tiny")
ARCHS = sorted(info.name for info in pkgutil.iter_modules([TINY_DIR]))


def tiny(arch):
    """``(CONFIG, INPUT_SHAPE)`` of ``tests/models/tiny/<arch>.py``."""
    spec = importlib.util.spec_from_file_location(f"tiny_{arch}", os.path.join(TINY_DIR, f"{arch}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return copy.deepcopy(module.CONFIG), module.INPUT_SHAPE


def build(arch, **overrides):
    kwargs, shape = tiny(arch)
    kwargs.update(overrides)
    config = CONFIG_CLASSES[f"videohub-{arch}"](**kwargs)
    torch.manual_seed(0)
    return TASK_CLASSES[config.model_type](config), shape


def inputs(model, shape, seed=0):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    return {model.main_input_name: x}


def test_every_registered_architecture_has_a_tiny_config():
    missing = sorted(t.replace("videohub-", "") for t in CONFIG_CLASSES if t.replace("videohub-", "") not in ARCHS)
    assert not missing, f"add tests/models/tiny/<arch>.py for {missing}"


@pytest.mark.parametrize("arch", ARCHS)
class TestArchitecture:
    def test_config_round_trip(self, arch, tmp_path):
        model, _ = build(arch)
        model.config.save_pretrained(tmp_path)
        loaded = videohub.AutoVideoConfig.from_pretrained(str(tmp_path))
        assert type(loaded) is type(model.config)
        expected = {k: v for k, v in model.config.to_dict().items() if k != "_name_or_path"}
        assert {k: v for k, v in loaded.to_dict().items() if k != "_name_or_path"} == expected

    def test_forward_shapes_and_views(self, arch):
        model, shape = build(arch)
        model.eval()
        x = inputs(model, shape)
        with torch.no_grad():
            out = model(**x)
        assert out.logits.shape == (shape[0], model.config.num_labels)
        name = model.main_input_name
        views = torch.stack([x[name], x[name].flip(-1)], dim=1)
        with torch.no_grad():
            multi = model(**{name: views}).logits
            singles = [model(**{name: views[:, v]}).logits for v in range(2)]
        assert multi.shape == out.logits.shape
        if model.config.average_clips == "score" and model.config.recognizer != "Recognizer2D":
            torch.testing.assert_close(multi, (singles[0] + singles[1]) / 2, rtol=1e-4, atol=1e-5)

    def test_loss_and_backward(self, arch):
        model, shape = build(arch)
        model.train()
        labels = torch.arange(shape[0]) % model.config.num_labels
        out = model(**inputs(model, shape), labels=labels)
        assert out.loss.ndim == 0 and torch.isfinite(out.loss)
        assert "loss_cls" in out.losses and "top1_acc" in out.losses
        out.loss.backward()
        assert model.cls_head.fc_cls.weight.grad is not None if hasattr(model.cls_head, "fc_cls") else True

    def test_save_and_auto_load_identical(self, arch, tmp_path):
        model, shape = build(arch)
        model.eval()
        model.save_pretrained(tmp_path)
        assert os.path.exists(tmp_path / "model.safetensors") and os.path.exists(tmp_path / "README.md")
        x = inputs(model, shape)
        with torch.no_grad():
            expected = model(**x).logits
            for loader in (videohub.AutoVideoModel, AutoModelForVideoClassification):
                loaded = loader.from_pretrained(str(tmp_path)).eval()
                assert type(loaded) is type(model)
                assert torch.equal(loaded(**x).logits, expected)

    def test_base_model_features(self, arch, tmp_path):
        model, shape = build(arch)
        model.save_pretrained(tmp_path)
        base = AutoModel.from_pretrained(str(tmp_path)).eval()
        assert type(base) is model.base_model_class
        with torch.no_grad():
            out = base(**inputs(model, shape), output_hidden_states=True)
        assert out.pooler_output.shape[0] == shape[0] and out.pooler_output.dim() == 2
        assert len(out.hidden_states) >= 1

    def test_wrong_rank_raises(self, arch):
        model, shape = build(arch)
        with pytest.raises(ShapeError, match=str(tuple(shape[1:]))):
            model(**{model.main_input_name: torch.zeros(shape[1:])})

    def test_gradient_checkpointing_same_gradients(self, arch):
        model, shape = build(arch)
        if not any(hasattr(m, "with_cp") for m in model.modules()):
            pytest.skip(f"{arch} has no block with a with_cp flag")
        model.eval()  # no dropout / BN updates, so both passes see the same function
        x = inputs(model, shape)
        labels = torch.arange(shape[0]) % model.config.num_labels
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
        kwargs, _ = tiny(arch)
        params = accepted_arguments(BACKBONES.get(kwargs["backbone"]["type"]))
        if "frozen_stages" not in params or "norm_eval" not in params:
            pytest.skip(f"{kwargs['backbone']['type']} has no frozen_stages/norm_eval")
        backbone = dict(kwargs["backbone"], frozen_stages=1, norm_eval=True)
        model, shape = build(arch, backbone=backbone)
        model.train()
        frozen = [p for n, p in model.model.backbone.named_parameters() if n.startswith(("conv1.", "layer1."))]
        if frozen:
            assert all(not p.requires_grad for p in frozen)
        bns = [m for m in model.model.backbone.modules() if isinstance(m, _BatchNorm)]
        assert bns and all(not m.training for m in bns)
        before = [m.running_mean.clone() for m in bns]
        model(**inputs(model, shape))
        assert all(torch.equal(b, m.running_mean) for b, m in zip(before, bns))

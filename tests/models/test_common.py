"""Checks every architecture of every task passes, whatever the task (see ``tests/model_helpers.py``)."""

import os

import pytest
import torch

import videohub
from videohub.auto import CONFIG_CLASSES, TASK_MODELS
from model_helpers import ARCHS, build, inputs, labels, tensors


def test_every_registered_architecture_has_a_tiny_config():
    missing = sorted(t.replace("videohub-", "") for t in CONFIG_CLASSES if t.replace("videohub-", "") not in ARCHS)
    assert not missing, f"add tests/models/tiny/<arch>.py for {missing}"


def test_every_architecture_has_one_task_model():
    for model_type in CONFIG_CLASSES:
        tasks = [t for t, table in TASK_MODELS.items() if model_type in table and t != "feature-extraction"]
        assert len(tasks) == 1, f"{model_type} has task models for {tasks}"


@pytest.mark.parametrize("arch", ARCHS)
class TestEveryArchitecture:
    def test_config_round_trip(self, arch, tmp_path):
        model, _ = build(arch)
        model.config.save_pretrained(tmp_path)
        loaded = videohub.AutoVideoConfig.from_pretrained(str(tmp_path))
        assert type(loaded) is type(model.config)
        expected = {k: v for k, v in model.config.to_dict().items() if k != "_name_or_path"}
        assert {k: v for k, v in loaded.to_dict().items() if k != "_name_or_path"} == expected

    def test_loss_and_backward(self, arch):
        model, module = build(arch)
        model.train()
        out = model(**inputs(model, module), labels=labels(model, module))
        assert out.loss.ndim == 0 and torch.isfinite(out.loss)
        out.loss.backward()
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())

    def test_save_and_auto_load_identical(self, arch, tmp_path):
        model, module = build(arch)
        model.eval()
        model.save_pretrained(tmp_path)
        assert os.path.exists(tmp_path / "model.safetensors") and os.path.exists(tmp_path / "README.md")
        x = inputs(model, module)
        with torch.no_grad():
            expected = tensors(model(**x))
            loaded = videohub.AutoVideoModel.from_pretrained(str(tmp_path)).eval()
            assert type(loaded) is type(model)
            got = tensors(loaded(**x))
        assert len(got) == len(expected) and all(torch.equal(a, b) for a, b in zip(got, expected))

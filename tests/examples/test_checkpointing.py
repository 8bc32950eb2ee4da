"""videohub.training.checkpointing: atomic saves on a full disk, damaged checkpoints, checked resumes, output dir."""

from __future__ import annotations

import errno
import json
import logging
import os

import numpy as np
import pytest
import torch
from torch import nn

from videohub import training
from videohub.errors import CheckpointError, ConfigError


def _state(steps, epoch=0):
    return {"completed_steps": steps, "epoch": epoch, "batches_in_epoch": 0, "seed": 0, "scheduler": {},
            "num_processes": 1}


@pytest.fixture
def prepared(fresh_accelerate):
    """An Accelerator with a prepared linear model and an SGD optimizer that has momentum state."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model, optimizer = accelerator.prepare(model, optimizer)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    return accelerator, model, optimizer


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def _warnings(caplog):
    return " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def test_find_checkpoint_pointer_fallback_and_errors(tmp_path, prepared, caplog):
    accelerator, _, _ = prepared
    root = str(tmp_path)
    assert training.find_checkpoint(root) is None
    training.save_checkpoint(accelerator, root, "step_2", _state(2))
    training.save_checkpoint(accelerator, root, "step_10", _state(10))
    os.makedirs(tmp_path / ".tmp-step_12")  # a save killed half-way: never considered
    os.remove(tmp_path / "latest")
    assert training.find_checkpoint(root) == os.path.join(root, "step_10")  # no pointer: most steps wins
    (tmp_path / "latest").write_text("step_2\n")
    assert training.find_checkpoint(root) == os.path.join(root, "step_2")
    (tmp_path / "latest").write_text("step_11\n")  # names no folder: scan instead, with a warning
    assert training.find_checkpoint(root) == os.path.join(root, "step_10")
    assert "step_11" in _warnings(caplog)
    assert training.find_checkpoint(root, os.path.join(root, "step_2")) == os.path.join(root, "step_2")
    with pytest.raises(CheckpointError, match="step_11"):
        training.find_checkpoint(root, os.path.join(root, "step_11"))


def test_killed_before_rename_keeps_latest_and_total_limit_prunes(tmp_path, prepared, monkeypatch):
    accelerator, model, _ = prepared
    root = str(tmp_path)
    training.save_checkpoint(accelerator, root, "step_1", _state(1))
    assert (tmp_path / "latest").read_text().strip() == "step_1"
    assert {"model.safetensors", "optimizer.bin", "random_states_0.pkl", "trainer_state.json"} <= set(
        os.listdir(tmp_path / "step_1"))

    def killed(src, dst):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(os, "replace", killed)
    with torch.no_grad():
        model.weight.add_(1.0)
    with pytest.raises(KeyboardInterrupt):
        training.save_checkpoint(accelerator, root, "step_2", _state(2))
    monkeypatch.undo()
    assert (tmp_path / "latest").read_text().strip() == "step_1"
    assert not (tmp_path / "step_2").exists() and (tmp_path / ".tmp-step_2").exists()
    assert training.find_checkpoint(root) == os.path.join(root, "step_1")
    training.save_checkpoint(accelerator, root, "step_3", _state(3), total_limit=1)
    assert sorted(d for d in os.listdir(root) if d.startswith("step_")) == ["step_3"]


def _full_disk(obj, f, *args, **kwargs):
    """A write that fills the disk half-way through ``f``."""
    with open(f, "wb") as out:
        out.write(b"PK\x03\x04 half a file")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(f))


def _full_disk_in_torch_save(obj, f, *args, **kwargs):
    """What torch.save really raises when the disk fills up (measured on a 256 KiB tmpfs)."""
    with open(f, "wb") as out:
        out.write(b"PK\x03\x04 half a file")
    raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")


@pytest.mark.parametrize("failing, writer, message", [
    ("weights", _full_disk, "No space left on device"),
    ("optimizer", _full_disk, "No space left on device"),
    ("optimizer", _full_disk_in_torch_save, "RuntimeError: .*unexpected pos"),
    ("trainer_state", _full_disk, "No space left on device"),
])
def test_full_disk_during_save_keeps_previous_checkpoint_and_leaves_no_temporary_files(
        tmp_path, prepared, monkeypatch, failing, writer, message):
    import accelerate.utils.other

    accelerator, model, _ = prepared
    root = str(tmp_path)
    training.save_checkpoint(accelerator, root, "step_1", _state(1))
    before = {name: (tmp_path / "step_1" / name).read_bytes() for name in os.listdir(tmp_path / "step_1")}
    files_before = _files(root)
    with torch.no_grad():
        model.weight.add_(1.0)
    if failing == "weights":  # model.safetensors
        monkeypatch.setattr(accelerate.utils.other, "safe_save_file", writer)
    elif failing == "optimizer":  # optimizer.bin, written with torch.save
        monkeypatch.setattr(torch, "save", writer)
    else:
        real_write = training.checkpointing.atomic_write_text

        def write(path, text):
            if path.endswith("trainer_state.json"):
                writer(None, path + ".partial")
            return real_write(path, text)

        monkeypatch.setattr(training.checkpointing, "atomic_write_text", write)
    with pytest.raises(CheckpointError, match=message) as info:
        training.save_checkpoint(accelerator, root, "step_2", _state(2))
    monkeypatch.undo()
    assert "step_2" in str(info.value) and "unchanged" in str(info.value)
    assert _files(root) == files_before  # no .tmp-step_2, no half-written file anywhere
    assert (tmp_path / "latest").read_text().strip() == "step_1"
    assert {name: (tmp_path / "step_1" / name).read_bytes() for name in before} == before
    assert training.find_checkpoint(root) == os.path.join(root, "step_1")


def test_full_disk_while_saving_best_model_keeps_the_previous_copy(tmp_path, monkeypatch):
    import videohub

    config = videohub.AutoVideoConfig.for_model_type(
        "videohub-tsn", backbone=dict(type="ResNet", depth=18, num_stages=1, out_indices=(0,), strides=(1,),
                                      dilations=(1,)),
        cls_head=dict(type="TSNHead", in_channels=64, spatial_type="avg", consensus=dict(type="AvgConsensus", dim=1)),
        num_labels=2, num_frames=1)
    model = videohub.AutoVideoModel.from_config(config)
    best = str(tmp_path / "best_model")
    training.save_model_atomic(model, best)
    before = _files(str(tmp_path))
    saved = (tmp_path / "best_model" / "model.safetensors").read_bytes()
    import transformers.modeling_utils

    monkeypatch.setattr(transformers.modeling_utils, "safe_save_file", _full_disk)
    with pytest.raises(CheckpointError, match="No space left on device"):
        training.save_model_atomic(model, best)
    monkeypatch.undo()
    assert _files(str(tmp_path)) == before
    assert (tmp_path / "best_model" / "model.safetensors").read_bytes() == saved


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


DAMAGE = {
    "model.safetensors": _truncate,
    "optimizer.bin": os.remove,
    "trainer_state.json": _truncate,
    "random_states_0.pkl": lambda p: p.write_bytes(b"not a pickle"),
}


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_damaged_latest_checkpoint_falls_back_with_a_warning_or_stops(tmp_path, prepared, caplog, name):
    accelerator, _, _ = prepared
    root = str(tmp_path)
    training.save_checkpoint(accelerator, root, "step_1", _state(1))
    training.save_checkpoint(accelerator, root, "step_2", _state(2))
    DAMAGE[name](tmp_path / "step_2" / name)
    bad = os.path.join(root, "step_2", name)
    assert bad in training.checkpoint_problem(os.path.join(root, "step_2"))
    assert training.checkpoint_problem(os.path.join(root, "step_1")) is None

    assert training.find_checkpoint(root) == os.path.join(root, "step_1")
    assert bad in _warnings(caplog)
    with pytest.raises(CheckpointError, match="newest checkpoint") as info:
        training.find_checkpoint(root, strict=True)
    assert bad in str(info.value)
    with pytest.raises(CheckpointError) as info:  # a folder named explicitly is never replaced by another
        training.find_checkpoint(root, os.path.join(root, "step_2"))
    assert bad in str(info.value)
    DAMAGE[name](tmp_path / "step_1" / name)
    with pytest.raises(CheckpointError, match="no checkpoint"):  # never a silent fresh start
        training.find_checkpoint(root)


def test_load_checkpoint_restores_rng_exactly_and_refuses_a_silent_skip(tmp_path, prepared, monkeypatch):
    accelerator, model, _ = prepared
    root = str(tmp_path)
    torch.manual_seed(5)
    np.random.seed(5)
    path = training.save_checkpoint(accelerator, root, "step_1", _state(1))
    expected = (torch.rand(3), np.random.rand(3))
    torch.rand(10)  # the run goes on: the generators move
    np.random.rand(10)
    weight = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    assert training.load_checkpoint(accelerator, path)["completed_steps"] == 1
    assert torch.equal(model.weight, weight)
    assert torch.equal(torch.rand(3), expected[0]) and np.array_equal(np.random.rand(3), expected[1])

    # Accelerate skips an RNG file it cannot apply, logging at INFO only: that must not pass silently
    real_load_state = type(accelerator).load_state

    def skips_rng(self, *args, **kwargs):
        out = real_load_state(self, *args, **kwargs)
        torch.manual_seed(123)
        return out

    monkeypatch.setattr(type(accelerator), "load_state", skips_rng)
    with pytest.raises(CheckpointError, match="random_states_0.pkl"):
        training.load_checkpoint(accelerator, path)


def test_output_dir_must_be_writable_before_the_first_step(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="a_file"):
        training.check_output_dir(str(blocker / "out"))

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(training.checkpointing.tempfile, "mkstemp", read_only)
    with pytest.raises(ConfigError, match="not writable.*Read-only file system"):
        training.check_output_dir(str(tmp_path / "out"))
    # train() checks before it builds anything: these arguments would fail at once otherwise
    with pytest.raises(ConfigError, match="not writable"):
        training.train(None, None, training.LoopConfig(output_dir=str(tmp_path / "out")))

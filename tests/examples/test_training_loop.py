"""videohub.training.loop pieces: schedules, collation, seeding, checkpoints, metrics, recipes, Trainer."""

from __future__ import annotations

import glob
import json
import os
import random

import numpy as np
import pytest
import torch
from torch import nn

from videohub.errors import CheckpointError, ConfigError, ShapeError
from videohub.training import loop

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _lrs(lr_config, steps_per_epoch, total_steps, base=1.0):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=base)
    sched = loop.make_lr_scheduler(opt, lr_config, steps_per_epoch, total_steps)
    out = []
    for _ in range(total_steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_step_policy_by_epoch_changes_at_epoch_boundaries():
    # 3 steps per epoch, milestones at epochs 1 and 2 (mmcv by_epoch=True)
    lrs = _lrs({"policy": "step", "step": [1, 2]}, 3, 9, base=0.1)
    assert lrs == pytest.approx([0.1] * 3 + [0.01] * 3 + [0.001] * 3)


def test_cosine_by_epoch_is_constant_within_an_epoch_and_warms_up_per_iteration():
    lrs = _lrs({"policy": "CosineAnnealing", "min_lr": 0.0, "warmup": "linear", "warmup_iters": 1,
                "warmup_by_epoch": True}, 2, 8, base=1.0)
    # regular lr of epoch e = cos annealing over 4 epochs: 0.5 * (1 + cos(pi * e / 4))
    regular = [0.5 * (1 + np.cos(np.pi * (s // 2) / 4)) for s in range(8)]
    # linear warmup over 2 iterations (1 epoch) from ratio 0.1: 1 - (1 - s/2) * 0.9
    warm = [1 - (1 - s / 2) * 0.9 if s < 2 else 1.0 for s in range(8)]
    assert lrs == pytest.approx([r * w for r, w in zip(regular, warm)])
    assert lrs[2] == lrs[3] and lrs[4] == lrs[5]


def test_tin_by_epoch_shifts_by_warmup_iters_and_by_steps_matches_lr_at():
    lrs = _lrs({"policy": "TIN", "min_lr": 0.0, "warmup": "constant", "warmup_iters": 1, "warmup_ratio": 0.5}, 1, 5)
    # TINLrUpdaterHook: factor (epoch - 1) / (5 - 1); constant warmup 0.5 during iteration 0
    expected = [0.5 * (1 + np.cos(np.pi * (e - 1) / 4)) * (0.5 if e < 1 else 1.0) for e in range(5)]
    assert lrs == pytest.approx(expected)
    from videohub.training.lr import lr_at

    by_steps = _lrs({"policy": "cosine", "by_epoch": False, "min_lr": 0.01}, 3, 7, base=0.5)
    assert by_steps == pytest.approx([lr_at(s, 0.5, 7, "cosine", min_lr=0.01) for s in range(7)])


@pytest.mark.parametrize("cfg, words", [({"policy": "poly"}, "poly"), ({"policy": "step"}, "milestones"),
                                        ({"policy": "TIN"}, "min_lr"), ({"policy": "fixed", "gama": 1}, "gama")])
def test_lr_config_errors_name_the_problem(cfg, words):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ConfigError, match=words):
        loop.make_lr_scheduler(opt, cfg, 2, 4)


def test_collator_layouts_and_labels():
    # NCTHW clips (V=2, C=3, T=4, 5x5) become (B, V, T, C, H, W)
    clip = torch.arange(2 * 3 * 4 * 5 * 5, dtype=torch.float32).reshape(2, 3, 4, 5, 5)
    batch = loop.VideoCollator()([{"imgs": clip, "label": torch.tensor([1])}, {"imgs": clip + 1, "label": torch.tensor([3])}])
    assert batch["pixel_values"].shape == (2, 2, 4, 3, 5, 5)
    assert torch.equal(batch["pixel_values"][1, 1, 2, 0], clip[1, 0, 2] + 1)  # view 1, frame 2, channel 0
    assert batch["labels"].tolist() == [1, 3] and set(batch) == {"pixel_values", "labels"}
    # NCHW (segments x C x H x W) is already (B, T, C, H, W); int labels stay a vector
    flat = loop.VideoCollator(keep_keys=("img_metas",))(
        [{"imgs": torch.zeros(3, 3, 4, 4), "label": 2, "img_metas": {"a": 1}}])
    assert flat["pixel_values"].shape == (1, 3, 3, 4, 4) and flat["labels"].tolist() == [2]
    assert flat["img_metas"] == [{"a": 1}]
    with pytest.raises(ShapeError, match="different shapes"):
        loop.VideoCollator()([{"imgs": torch.zeros(3, 3, 4, 4)}, {"imgs": torch.zeros(3, 3, 5, 4)}])
    with pytest.raises(ShapeError, match=r"\(B, N, C, H, W\)"):
        loop.VideoCollator()([{"imgs": torch.zeros(3, 4)}])


class _Draws(torch.utils.data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return (np.random.rand(), random.random(), torch.rand(1).item())


def test_seeded_dataset_is_a_function_of_seed_epoch_and_index():
    ds = loop.SeededDataset(_Draws(), seed=5, labels=[0, 1, 0, 1, 2, 2])
    np.random.seed(1)
    before = np.random.get_state()[1].copy()
    forward = [ds[i] for i in range(6)]
    backward = [ds[i] for i in reversed(range(6))][::-1]
    assert forward == backward and len(set(forward)) == 6
    assert np.array_equal(np.random.get_state()[1], before)  # global RNG untouched
    ds.set_epoch(1)
    assert ds[0] != forward[0]
    assert [info["label"] for info in ds.video_infos] == [0, 1, 0, 1, 2, 2]


def test_compute_metrics_hand_worked():
    scores = [np.array([0.1, 0.7, 0.2]), np.array([0.5, 0.3, 0.2]), np.array([0.2, 0.3, 0.5]),
              np.array([[0.9, 0.0, 0.1], [0.0, 0.0, 1.2]])]  # last: two views, mean [0.45, 0, 0.65] -> class 2
    labels = [1, 1, 0, 2]
    out = loop.compute_metrics(scores, labels, topk=(1, 2))
    # top1 hits: sample 0 and 3 -> 0.5; top2: sample 0 (1), 1 (0,1), 3 (2,0) -> 0.75
    assert out["top1_acc"] == pytest.approx(0.5) and out["top2_acc"] == pytest.approx(0.75)
    # per class: class 0: 0/1, class 1: 1/2, class 2: 1/1 -> mean 0.5
    assert out["mean_class_accuracy"] == pytest.approx(0.5)
    with pytest.raises(ShapeError):
        loop.compute_metrics(scores, labels[:3])


def _fake_checkpoint(root, name, steps):
    os.makedirs(os.path.join(root, name))
    with open(os.path.join(root, name, loop.STATE_FILE), "w") as f:
        json.dump({"completed_steps": steps, "epoch": 0}, f)


def test_find_checkpoint_pointer_fallback_and_errors(tmp_path):
    root = str(tmp_path)
    assert loop.find_checkpoint(root) is None
    _fake_checkpoint(root, "step_2", 2)
    _fake_checkpoint(root, "step_10", 10)
    os.makedirs(tmp_path / ".tmp-step_12")  # a save killed half-way
    os.makedirs(tmp_path / "step_11")  # no trainer_state.json: incomplete
    assert loop.find_checkpoint(root) == os.path.join(root, "step_10")  # no pointer: most steps wins
    (tmp_path / "latest").write_text("step_2\n")
    assert loop.find_checkpoint(root) == os.path.join(root, "step_2")
    (tmp_path / "latest").write_text("step_11\n")  # names an incomplete folder: scan instead
    assert loop.find_checkpoint(root) == os.path.join(root, "step_10")
    assert loop.find_checkpoint(root, os.path.join(root, "step_2")) == os.path.join(root, "step_2")
    with pytest.raises(CheckpointError, match="step_11"):
        loop.find_checkpoint(root, os.path.join(root, "step_11"))


def test_save_checkpoint_killed_before_rename_keeps_latest(tmp_path, monkeypatch, fresh_accelerate):
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    model = accelerator.prepare(nn.Linear(2, 2))
    root = str(tmp_path)
    loop.save_checkpoint(accelerator, root, "step_1", {"completed_steps": 1, "epoch": 0})
    assert (tmp_path / "latest").read_text().strip() == "step_1"
    assert {"model.safetensors", "random_states_0.pkl", "trainer_state.json"} <= set(os.listdir(tmp_path / "step_1"))

    def killed(src, dst):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(loop.os, "replace", killed)
    with torch.no_grad():
        model.weight.add_(1.0)
    with pytest.raises(KeyboardInterrupt):
        loop.save_checkpoint(accelerator, root, "step_2", {"completed_steps": 2, "epoch": 0})
    monkeypatch.undo()
    assert (tmp_path / "latest").read_text().strip() == "step_1"
    assert not (tmp_path / "step_2").exists() and (tmp_path / ".tmp-step_2").exists()
    assert loop.find_checkpoint(root) == os.path.join(root, "step_1")
    # total_limit prunes the oldest complete checkpoints
    loop.save_checkpoint(accelerator, root, "step_3", {"completed_steps": 3, "epoch": 0}, total_limit=1)
    assert sorted(d for d in os.listdir(root) if d.startswith("step_")) == ["step_3"]


def test_pipeline_helpers():
    from videohub.processing import VideoProcessor

    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=4, frame_interval=2, num_clips=3, test_mode=True),
                          transforms=[dict(type="CenterCrop", crop_size=8)])
    steps = loop.pipeline_from_processor(proc, "NCTHW")
    assert [s["type"] for s in steps] == ["PyAVInit", "SampleFrames", "PyAVDecode", "CenterCrop", "FormatShape",
                                          "Collect", "ToTensor"]
    assert steps[4]["input_format"] == "NCTHW"
    raw = loop.adapt_decoding(steps, "rawframe")
    assert [s["type"] for s in raw][:3] == ["SampleFrames", "RawFrameDecode", "CenterCrop"]
    back = loop.adapt_decoding(raw, "video")
    assert [s["type"] for s in back][:3] == ["PyAVInit", "SampleFrames", "PyAVDecode"]


def test_loop_config_validation():
    with pytest.raises(ConfigError, match="checkpointing_steps"):
        loop.LoopConfig(output_dir="x", checkpointing_steps="often")
    with pytest.raises(ConfigError, match="gradient_accumulation_steps"):
        loop.LoopConfig(output_dir="x", gradient_accumulation_steps=0)
    assert loop.LoopConfig(output_dir="x", checkpointing_steps="250").checkpointing_steps == 250


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REPO, "examples", "configs", "*.json"))))
def test_zoo_recipes_build(path, example, tmp_path):
    """Every recipe gives a valid model config, pipelines, optimizer groups and lr schedule."""
    from videohub.conversion.config_reader import load_config
    from videohub.data.pipelines.compose import Compose

    recipe = load_config(path)
    args = example.parse_args(["--config_name", path, "--train_annotations", "t.txt", "--output_dir", str(tmp_path)])
    config = example.build_config(args, recipe, ["a", "b", "c"], 3)
    assert config.num_labels == 3 and config.model_type == recipe["model"]["model_type"]
    for key in ("train_pipeline", "val_pipeline", "test_pipeline"):
        Compose(loop.adapt_decoding(recipe[key], "video"))
    cfg = example.loop_config(args, recipe)
    assert cfg.num_train_epochs == recipe["total_epochs"]
    assert cfg.max_grad_norm == recipe["optimizer_config"]["grad_clip"]["max_norm"]
    assert cfg.per_device_train_batch_size == recipe["data"]["videos_per_gpu"]
    tiny = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 3))
    from videohub.training import build_optimizer

    optimizer = build_optimizer(tiny, cfg.optimizer)
    sched = loop.make_lr_scheduler(optimizer, cfg.lr_config, 10, 10 * cfg.num_train_epochs)
    assert sched.get_last_lr()[0] > 0 or recipe["lr_config"].get("warmup")
    if recipe["optimizer"].get("constructor") == "TSMOptimizerConstructor":
        assert max(g["lr"] for g in optimizer.param_groups) == pytest.approx(10 * recipe["optimizer"]["lr"])


def test_transformers_trainer_trains_a_videohub_model(tmp_path, small_videos, tiny_recipe, fresh_accelerate):
    """transformers.Trainer + videohub model + load_dataset/make_transform + VideoCollator, for a few steps."""
    from transformers import Trainer, TrainingArguments

    import videohub
    from videohub.data import load_dataset, make_transform

    recipe = json.loads(open(tiny_recipe).read())
    model_cfg = {k: v for k, v in recipe["model"].items() if k != "model_type"}
    config = videohub.AutoVideoConfig.for_model_type("videohub-tsn", **model_cfg, num_labels=4)
    torch.manual_seed(0)
    model = videohub.AutoVideoModel.from_config(config)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    raw = load_dataset("video", os.path.join(small_videos, "train.txt"), data_prefix=small_videos,
                       cache_dir=str(tmp_path / "cache"))
    train = raw.with_transform(make_transform(recipe["train_pipeline"]))
    args = TrainingArguments(output_dir=str(tmp_path / "trainer"), max_steps=3, per_device_train_batch_size=4,
                             learning_rate=1e-3, report_to=[], use_cpu=True, remove_unused_columns=False,
                             save_strategy="no", logging_steps=1, dataloader_num_workers=0, seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=loop.VideoCollator())
    output = trainer.train()
    assert trainer.state.global_step == 3
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 3 and all(np.isfinite(losses)) and np.isfinite(output.training_loss)
    after = model.state_dict()
    assert not torch.equal(after["cls_head.fc_cls.weight"], before["cls_head.fc_cls.weight"])
    assert not torch.equal(after["model.backbone.conv1.conv.weight"], before["model.backbone.conv1.conv.weight"])

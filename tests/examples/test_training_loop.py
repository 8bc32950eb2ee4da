"""videohub.training pieces: schedules, the batch contract, pipeline translation, seeding, metrics, the loop,
recipes, transformers.Trainer."""

from __future__ import annotations

import glob
import json
import os
import random

import numpy as np
import pytest
import torch
from torch import nn

from videohub import training
from videohub.data.pipelines.formatting import DEFAULT_META_KEYS
from videohub.errors import ConfigError, ShapeError
from videohub.registry import PIPELINES

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _lrs(lr_config, steps_per_epoch, total_steps, base=1.0):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=base)
    sched = training.make_lr_scheduler(opt, lr_config, steps_per_epoch, total_steps)
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
        training.make_lr_scheduler(opt, cfg, 2, 4)


def test_collator_layouts_and_labels():
    # ToModelInputs samples are stacked as they are: (B, V, T, C, H, W) and a (B,) label vector
    frames = np.arange(2 * 4 * 5 * 5 * 3, dtype=np.uint8).reshape(8, 5, 5, 3)  # 2 views x 4 frames, HWC
    step = PIPELINES.build(dict(type="ToModelInputs"))
    samples = [step(dict(imgs=list(frames + i), clip_len=4, num_clips=2, label=i, filename="x")) for i in (1, 3)]
    assert set(samples[0]) == {"pixel_values", "labels"} and samples[0]["labels"].dim() == 0
    batch = training.VideoCollator()(samples)
    assert batch["pixel_values"].shape == (2, 2, 4, 3, 5, 5) and batch["pixel_values"].dtype == torch.float32
    assert torch.equal(batch["pixel_values"][1, 1, 2, 0], torch.from_numpy(frames[4 + 2, :, :, 0] + 3).float())
    assert batch["labels"].tolist() == [1, 3] and set(batch) == {"pixel_values", "labels"}
    # mmaction2 tails: NCTHW clips (V=2, C=3, T=4, 5x5) become (B, V, T, C, H, W)
    clip = torch.arange(2 * 3 * 4 * 5 * 5, dtype=torch.float32).reshape(2, 3, 4, 5, 5)
    batch = training.VideoCollator()([{"imgs": clip, "label": torch.tensor([1])}, {"imgs": clip + 1, "label": torch.tensor([3])}])
    assert batch["pixel_values"].shape == (2, 2, 4, 3, 5, 5)
    assert torch.equal(batch["pixel_values"][1, 1, 2, 0], clip[1, 0, 2] + 1)  # view 1, frame 2, channel 0
    assert batch["labels"].tolist() == [1, 3] and set(batch) == {"pixel_values", "labels"}
    # NCHW (segments x C x H x W) is already (B, T, C, H, W); int labels stay a vector
    flat = training.VideoCollator(keep_keys=("img_metas",))(
        [{"imgs": torch.zeros(3, 3, 4, 4), "label": 2, "img_metas": {"a": 1}}])
    assert flat["pixel_values"].shape == (1, 3, 3, 4, 4) and flat["labels"].tolist() == [2]
    assert flat["img_metas"] == [{"a": 1}]
    with pytest.raises(ShapeError, match="different shapes"):
        training.VideoCollator()([{"imgs": torch.zeros(3, 3, 4, 4)}, {"imgs": torch.zeros(3, 3, 5, 4)}])
    with pytest.raises(ShapeError, match=r"\(B, N, C, H, W\)"):
        training.VideoCollator()([{"imgs": torch.zeros(3, 4)}])
    with pytest.raises(ShapeError, match="clip_len=3"):
        step(dict(imgs=list(frames), clip_len=3))
    with pytest.raises(ShapeError, match="different shapes"):
        step(dict(imgs=[frames[0], frames[0, :4]]))
    audio = step(dict(audios=np.ones((2, 6, 5)), label=0))
    assert audio["input_features"].shape == (2, 1, 6, 5) and audio["input_features"].dtype == torch.float32


def _tiny_model(model_type):
    import videohub

    if model_type == "videohub-tsn":
        kwargs = dict(backbone=dict(type="ResNet", depth=18, num_stages=1, out_indices=(0,), strides=(1,), dilations=(1,)),
                      cls_head=dict(type="TSNHead", in_channels=64, consensus=dict(type="AvgConsensus", dim=1)))
    else:
        kwargs = dict(backbone=dict(type="ResNet3d", depth=18, num_stages=1, out_indices=(0,), spatial_strides=(1,),
                                    temporal_strides=(1,), dilations=(1,), inflate=((1, 1),), conv1_stride_t=1,
                                    pool1_stride_t=1, pretrained2d=False),
                      cls_head=dict(type="I3DHead", in_channels=64))
    torch.manual_seed(0)
    config = videohub.AutoVideoConfig.for_model_type(model_type, **kwargs, num_labels=3, num_frames=4)
    return videohub.AutoVideoModel.from_config(config).eval()


@pytest.mark.parametrize("model_type, input_format", [("videohub-tsn", "NCHW"), ("videohub-i3d", "NCTHW")])
def test_to_model_inputs_gives_the_models_exactly_what_the_mmaction2_tail_gave(model_type, input_format):
    """ToModelInputs (no transpose undone later) == FormatShape + Collect + ToTensor + the collator's transpose."""
    from videohub.data.pipelines.compose import Compose

    rng = np.random.default_rng(0)
    # 3 crops x 2 clips x 4 frames of 16x16, normalized like a real pipeline's output
    results = [dict(imgs=list(rng.standard_normal((24, 16, 16, 3)).astype(np.float32)), clip_len=4, num_clips=2,
                    label=k) for k in (0, 2)]
    mm_tail = Compose([dict(type="FormatShape", input_format=input_format),
                       dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
                       dict(type="ToTensor", keys=["imgs", "label"])])
    ours = Compose([dict(type="ToModelInputs")])
    old = training.VideoCollator()([mm_tail(dict(r)) for r in results])
    new = training.VideoCollator()([ours(dict(r)) for r in results])
    assert torch.equal(new["labels"], old["labels"])
    if input_format == "NCTHW":  # the same tensor, values and memory layout
        assert torch.equal(new["pixel_values"], old["pixel_values"])
        assert new["pixel_values"].stride() == old["pixel_values"].stride()
    else:  # (B, V*T, C, H, W) before, (B, V, T, C, H, W) now: the same frames in the same order
        assert torch.equal(new["pixel_values"].flatten(1, 2), old["pixel_values"])
    model = _tiny_model(model_type)
    with torch.no_grad():
        assert torch.equal(model(pixel_values=new["pixel_values"]).logits, model(pixel_values=old["pixel_values"]).logits)


def test_processor_and_its_pipeline_give_the_same_pixel_values(tmp_path):
    from videohub.data.pipelines.compose import Compose
    from videohub.data.synthetic import render_frames, write_video
    from videohub.processing import VideoProcessor

    video = str(tmp_path / "v.mp4")
    write_video(video, render_frames("up", 20, 24, 32, np.random.default_rng(0)))
    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=4, frame_interval=2, num_clips=2, test_mode=True),
                          transforms=[dict(type="Resize", scale=[-1, 16]), dict(type="ThreeCrop", crop_size=16),
                                      dict(type="Normalize", mean=[1, 2, 3], std=[4, 5, 6], to_bgr=False)])
    steps = training.pipeline_from_processor(proc)
    assert [s["type"] for s in steps] == ["PyAVInit", "SampleFrames", "PyAVDecode", "Resize", "ThreeCrop", "Normalize",
                                          "ToModelInputs"]
    sample = Compose(steps)(dict(filename=video, label=1, start_index=0, modality="RGB"))
    batch = training.VideoCollator()([sample])
    expected = proc(video)["pixel_values"]
    assert expected.shape == (1, 6, 4, 3, 16, 16)
    assert torch.equal(batch["pixel_values"], expected) and batch["labels"].tolist() == [1]


class _Draws(torch.utils.data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return (np.random.rand(), random.random(), torch.rand(1).item())


def test_seeded_dataset_is_a_function_of_seed_epoch_and_index():
    ds = training.SeededDataset(_Draws(), seed=5, labels=[0, 1, 0, 1, 2, 2])
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
    out = training.compute_metrics(scores, labels, topk=(1, 2))
    # top1 hits: sample 0 and 3 -> 0.5; top2: sample 0 (1), 1 (0,1), 3 (2,0) -> 0.75
    assert out["top1_acc"] == pytest.approx(0.5) and out["top2_acc"] == pytest.approx(0.75)
    # per class: class 0: 0/1, class 1: 1/2, class 2: 1/1 -> mean 0.5
    assert out["mean_class_accuracy"] == pytest.approx(0.5)
    with pytest.raises(ShapeError):
        training.compute_metrics(scores, labels[:3])


def test_pipeline_translation():
    from videohub.processing import VideoProcessor

    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=4, frame_interval=2, num_clips=3, test_mode=True),
                          transforms=[dict(type="CenterCrop", crop_size=8)])
    steps = training.pipeline_from_processor(proc)
    raw = training.adapt_decoding(steps, "rawframe")
    assert [s["type"] for s in raw][:3] == ["SampleFrames", "RawFrameDecode", "CenterCrop"]
    assert raw == training.pipeline_from_processor(proc, decode="rawframe")
    back = training.adapt_decoding(raw, "video")
    assert [s["type"] for s in back][:3] == ["PyAVInit", "SampleFrames", "PyAVDecode"]
    with pytest.raises(ConfigError, match="decode"):
        training.pipeline_from_processor(proc, decode="frames")
    # the mmaction2 tail becomes ToModelInputs; Collect's meta_keys carry over (its default when not given)
    head = [dict(type="SampleFrames", clip_len=1, num_clips=3), dict(type="RawFrameDecode")]
    tail = [dict(type="FormatShape", input_format="NCTHW"), dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
            dict(type="ToTensor", keys=["imgs", "label"])]
    assert training.to_model_pipeline(head + tail) == head + [dict(type="ToModelInputs")]
    with_meta = training.to_model_pipeline(head + [dict(type="FormatShape", input_format="NCHW"),
                                                  dict(type="Collect", keys=["imgs", "label"])])
    assert with_meta[-1] == dict(type="ToModelInputs", meta_keys=list(DEFAULT_META_KEYS))
    audio = [dict(type="AudioFeatureSelector"), dict(type="FormatAudioShape", input_format="NCTF"),
             dict(type="Collect", keys=["audios", "label"], meta_keys=[]), dict(type="ToTensor", keys=["audios"])]
    assert training.to_model_pipeline(audio) == audio[:1] + [dict(type="ToModelInputs")]
    # tails ToModelInputs does not reproduce stay as they are
    for kept in ([dict(type="FormatShape", input_format="NCHW_Flow")] + tail[1:],
                 tail[:1] + [dict(type="Collect", keys=["imgs", "label", "gt_bboxes"], meta_keys=[])],
                 tail[:1] + [dict(type="Collect", keys=["imgs"], meta_keys=[], nested=True)],
                 [dict(type="ToModelInputs")]):
        assert training.to_model_pipeline(head + kept) == head + kept
    # the processor keeps only sampler and transforms, from either kind of tail
    for pipeline in (head + tail, head + [dict(type="ToModelInputs")]):
        built = VideoProcessor.from_mmaction2_pipeline(pipeline)
        assert built.sampler == head[0] and built.transforms == []


class _Frames(torch.utils.data.Dataset):
    """``n`` samples of two random 16x16 frames (TSN segments) with a random class id, through ToModelInputs."""

    def __init__(self, n, seed):
        rng = np.random.default_rng(seed)
        self.frames = rng.standard_normal((n, 2, 16, 16, 3)).astype(np.float32)
        self.labels = rng.integers(0, 3, n)
        self.step = PIPELINES.build(dict(type="ToModelInputs"))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.step(dict(imgs=list(self.frames[i]), clip_len=1, label=int(self.labels[i])))


def _mid_epoch_run(tmp_path, monkeypatch, **options):
    """10 clips, 4 per batch: 3 batches per epoch; 4 steps stop after the first batch of epoch 2."""
    calls = []
    real = training.loop.evaluate

    def spy(*args, **kwargs):
        calls.append(kwargs.get("prefix", "eval"))
        return real(*args, **kwargs)

    monkeypatch.setattr(training.loop, "evaluate", spy)
    model = _tiny_model("videohub-tsn")
    cfg = training.LoopConfig(output_dir=str(tmp_path), seed=0, per_device_train_batch_size=4, max_train_steps=4,
                              save_best="top1_acc", topk=(1,), optimizer=dict(type="SGD", lr=0.05),
                              checkpointing_steps=2, **options)
    results = training.train(model, _Frames(10, 0), cfg, eval_dataset=_Frames(6, 1))
    return model, results, calls


def test_stopping_mid_epoch_evaluates_the_final_weights_for_best_model(tmp_path, monkeypatch, fresh_accelerate):
    import videohub

    # the epoch schedule would first evaluate after epoch 5: only the final evaluation runs
    model, results, calls = _mid_epoch_run(tmp_path, monkeypatch, eval_start=5)
    assert results["completed_steps"] == 4 and calls == ["eval"] and results["eval_samples"] == 6
    best = json.loads((tmp_path / "best.json").read_text())
    assert best == {"metric": "top1_acc", "rule": "greater", "best_score": results["eval_top1_acc"], "best_step": 4}
    saved = videohub.AutoVideoModel.from_pretrained(str(tmp_path / "best_model")).state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(saved[key], value), key
    # evaluated before checkpointing: the step-4 checkpoint knows its own best score
    state = json.loads((tmp_path / "step_4" / "trainer_state.json").read_text())
    assert (state["best_step"], state["best_score"], state["batches_in_epoch"]) == (4, best["best_score"], 1)


def test_stopping_mid_epoch_after_a_step_evaluation_evaluates_once_more(tmp_path, monkeypatch, fresh_accelerate):
    _, results, calls = _mid_epoch_run(tmp_path, monkeypatch, eval_steps=3)
    assert calls == ["eval", "eval"]  # step 3 by the schedule, step 4 at the end
    assert json.loads((tmp_path / "best.json").read_text())["best_step"] in (3, 4)
    assert results["best_step"] in (3, 4) and results["eval_samples"] == 6


def test_loop_config_validation():
    with pytest.raises(ConfigError, match="checkpointing_steps"):
        training.LoopConfig(output_dir="x", checkpointing_steps="often")
    with pytest.raises(ConfigError, match="gradient_accumulation_steps"):
        training.LoopConfig(output_dir="x", gradient_accumulation_steps=0)
    assert training.LoopConfig(output_dir="x", checkpointing_steps="250").checkpointing_steps == 250


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
        Compose(training.adapt_decoding(recipe[key], "video"))
    cfg = example.loop_config(args, recipe)
    assert cfg.num_train_epochs == recipe["total_epochs"]
    assert cfg.max_grad_norm == recipe["optimizer_config"]["grad_clip"]["max_norm"]
    assert cfg.per_device_train_batch_size == recipe["data"]["videos_per_gpu"]
    tiny = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 3))
    from videohub.training import build_optimizer

    optimizer = build_optimizer(tiny, cfg.optimizer)
    sched = training.make_lr_scheduler(optimizer, cfg.lr_config, 10, 10 * cfg.num_train_epochs)
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
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=training.VideoCollator())
    output = trainer.train()
    assert trainer.state.global_step == 3
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 3 and all(np.isfinite(losses)) and np.isfinite(output.training_loss)
    after = model.state_dict()
    assert not torch.equal(after["cls_head.fc_cls.weight"], before["cls_head.fc_cls.weight"])
    assert not torch.equal(after["model.backbone.conv1.conv.weight"], before["model.backbone.conv1.conv.weight"])

"""examples/run_recognition.py end to end on synthetic videos: 2 processes, resume, learning, Hub push."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "run_recognition.py")


def _common(videos, out, cache, *extra):
    return ["--data_root", videos, "--label_file", os.path.join(videos, "labels.txt"), "--output_dir", str(out),
            "--cache_dir", str(cache), *extra]


def test_help_lists_the_issue_arguments():
    proc = subprocess.run([sys.executable, EXAMPLE, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("--model_name_or_path", "--train_annotations", "--val_annotations", "--test_annotations",
                 "--data_root", "--dataset_format", "--output_dir", "--seed", "--per_device_train_batch_size",
                 "--per_device_eval_batch_size", "--learning_rate", "--num_train_epochs", "--max_train_steps",
                 "--gradient_accumulation_steps", "--checkpointing_steps", "--resume_from_checkpoint", "--push_to_hub",
                 "--hub_model_id", "--with_tracking", "--config_name", "--arch", "--mixed_precision", "--blending",
                 "--class_balanced_sampling"):
        assert name in proc.stdout, name


@pytest.mark.slow
def test_two_processes_train_evaluate_and_push(tmp_path, small_videos, tiny_recipe):
    """torchrun, 2 CPU processes over gloo: gathered metrics == a single-process evaluation; push to a local Hub."""
    from huggingface_hub import HfApi

    import videohub
    from videohub.data import load_dataset, make_transform
    from videohub.hub import local_hub
    from videohub.metrics import mean_class_accuracy, top_k_accuracy
    from videohub.data.collate import VideoCollator
    from videohub.training.testing import single_gpu_test

    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = [os.path.join(os.path.dirname(sys.executable), "torchrun"), "--standalone", "--nproc_per_node", "2", EXAMPLE,
            "--config_name", tiny_recipe, "--train_annotations", os.path.join(small_videos, "train.txt"),
            "--val_annotations", os.path.join(small_videos, "val7.txt"), "--do_train", "--do_eval",
            *_common(small_videos, out, cache), "--seed", "7", "--max_train_steps", "3",
            "--per_device_train_batch_size", "2", "--per_device_eval_batch_size", "2",
            "--gradient_accumulation_steps", "2", "--blending", "mixup", "--checkpointing_steps", "2",
            "--with_tracking", "--save_predictions", "--push_to_hub", "--hub_model_id", "org/tsn-synthetic",
            "--dataset_name", "synthetic-directions"]
    with local_hub(str(tmp_path / "hub"), token="test-token"):  # its endpoint and token reach the children by env
        proc = subprocess.run(argv, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"),
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
        assert "(2 processes)" in proc.stderr
        files = set(HfApi().list_repo_files("org/tsn-synthetic"))
        pushed = videohub.AutoVideoModel.from_pretrained("org/tsn-synthetic", cache_dir=str(tmp_path / "hf"))
        card = open(HfApi().hf_hub_download("org/tsn-synthetic", "README.md", cache_dir=str(tmp_path / "hf"))).read()

    results = json.loads((out / "all_results.json").read_text())
    assert results["eval_samples"] == 7  # 2 processes x 2 per batch = 8 slots, the padding sample dropped
    assert results["completed_steps"] == 3
    # the checkpoint holds both processes' RNG states; "latest" names it
    assert (out / "latest").read_text().strip() == "step_2"
    assert {"random_states_0.pkl", "random_states_1.pkl", "trainer_state.json"} <= set(os.listdir(out / "step_2"))
    if importlib.util.find_spec("tensorboard") is not None:  # --with_tracking logs to tensorboard when installed
        assert any(f.startswith("events.out.tfevents") for _, _, fs in os.walk(out / "logs") for f in fs)

    # single-process evaluation of the saved checkpoint, in this process
    model = videohub.AutoVideoModel.from_pretrained(str(out)).eval()
    recipe = json.loads(open(tiny_recipe).read())
    raw = load_dataset("video", os.path.join(small_videos, "val7.txt"), data_prefix=small_videos, cache_dir=str(cache))
    data = raw.with_transform(make_transform(recipe["val_pipeline"]))
    loader = torch.utils.data.DataLoader(data, batch_size=3, collate_fn=VideoCollator())
    scores = np.stack(single_gpu_test(model, loader))
    labels = [int(line.split()[1]) for line in open(os.path.join(small_videos, "val7.txt"))]
    gathered = json.loads((out / "eval_predictions.json").read_text())
    assert gathered["labels"] == labels  # dataset order, every sample once
    np.testing.assert_allclose(np.asarray(gathered["scores"]), scores, rtol=1e-4, atol=1e-5)
    top1, top5 = top_k_accuracy(scores, labels, (1, 5))
    assert results["eval_top1_acc"] == pytest.approx(top1)
    assert results["eval_top5_acc"] == pytest.approx(top5)
    assert results["eval_mean_class_accuracy"] == pytest.approx(mean_class_accuracy(scores, labels))

    # the Hub copy: weights, processor and a card with the measured metrics
    assert {"model.safetensors", "config.json", "preprocessor_config.json", "README.md"} <= files
    local = load_file(str(out / "model.safetensors"))
    for key, value in pushed.state_dict().items():
        torch.testing.assert_close(value, local[key], rtol=0, atol=0)
    assert "synthetic-directions" in card and "top1_acc" in card
    assert f"value: {results['eval_top1_acc']}" in card


def _weights(path):
    return load_file(os.path.join(path, "model.safetensors"))


def test_kill_and_resume_matches_uninterrupted(tmp_path, small_videos, tiny_recipe, example, fresh_accelerate, capsys):
    """Stopped after step 3 and resumed with 'latest' == uninterrupted (bf16, CutMix, accumulation, precise BN, ...);
    a damaged latest checkpoint falls back to the one before it, or stops with --resume_strict."""
    base = ["--config_name", tiny_recipe, "--train_annotations", os.path.join(small_videos, "train.txt"),
            "--seed", "3", "--per_device_train_batch_size", "4", "--gradient_accumulation_steps", "2",
            "--mixed_precision", "bf16", "--blending", "cutmix", "--max_grad_norm", "1.0",
            "--precise_bn_num_iters", "1", "--class_balanced_sampling", "--lr_scheduler_type", "step",
            "--lr_steps", "4", "--lr_schedule_by_steps", "--num_warmup_steps", "2", "--checkpointing_steps", "1",
            "--save_best", "none", "--deterministic"]
    cache = tmp_path / "cache"
    full, parts = tmp_path / "full", tmp_path / "parts"
    # 12 clips, 4 per batch, 2 batches per step: 3 batches = 2 steps per epoch; 5 steps = 3 epochs
    example.main(base + _common(small_videos, full, cache, "--max_train_steps", "5"))
    fresh_accelerate()
    stopped = example.main(base + _common(small_videos, parts, cache, "--max_train_steps", "3",
                                          "--checkpoints_total_limit", "2"))
    assert stopped["completed_steps"] == 3
    assert sorted(d for d in os.listdir(parts) if d.startswith("step_")) == ["step_2", "step_3"]
    state = json.loads((parts / "step_3" / "trainer_state.json").read_text())
    assert (state["epoch"], state["batches_in_epoch"]) == (1, 2)  # stopped in the middle of an epoch
    # a save that was killed half-way leaves a .tmp- folder; it must be ignored
    os.makedirs(parts / ".tmp-step_4")
    (parts / ".tmp-step_4" / "model.safetensors").write_bytes(b"garbage")
    fresh_accelerate()
    unseeded = [a for i, a in enumerate(base) if a != "--seed" and (i == 0 or base[i - 1] != "--seed")]
    assert len(unseeded) == len(base) - 2
    # no --seed: the resumed run takes the checkpoint's
    resumed = example.main(unseeded + _common(small_videos, parts, cache, "--max_train_steps", "5",
                                              "--resume_from_checkpoint", "latest"))
    assert resumed["seed"] == 3
    assert resumed["completed_steps"] == 5
    a, b = _weights(full), _weights(parts)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-6, atol=1e-7, msg=key)
    # the interruption mattered: the weights moved after step 3
    c = load_file(str(parts / "step_3" / "model.safetensors"))
    assert any(not torch.equal(c[k], a[k]) for k in a if k.endswith("weight"))
    assert (parts / "latest").read_text().strip() == "step_5"

    # the latest checkpoint damaged (weights truncated by a crash): --resume_strict stops and names the file ...
    weights = parts / "step_5" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    fresh_accelerate()
    again = base + _common(small_videos, parts, cache, "--max_train_steps", "5", "--resume_from_checkpoint", "latest")
    assert example.cli(again + ["--resume_strict"]) == 2
    assert str(weights) in capsys.readouterr().err
    # ... and without it the run falls back to step_4 and still ends exactly like the uninterrupted one
    fresh_accelerate()
    assert example.main(again)["completed_steps"] == 5
    b = _weights(parts)
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-6, atol=1e-7, msg=key)


@pytest.mark.slow
def test_small_tsn_learns_well_above_chance(tmp_path, learn_videos, tiny_recipe, example, fresh_accelerate):
    results = example.main(["--config_name", tiny_recipe, "--train_annotations", os.path.join(learn_videos, "train.txt"),
                            "--val_annotations", os.path.join(learn_videos, "val.txt"),
                            *_common(learn_videos, tmp_path / "out", tmp_path / "cache"),
                            "--seed", "1", "--per_device_train_batch_size", "8", "--num_train_epochs", "30",
                            "--lr_scheduler_type", "cosine", "--lr_schedule_by_steps", "--eval_interval", "30",
                            "--save_best", "top1_acc"])
    assert results["eval_samples"] == 32
    assert results["eval_top1_acc"] >= 0.6, results  # chance is 0.25 (4 balanced classes)
    assert results["best_metric"] == "top1_acc" and results["best_step"] == 360
    best = json.loads((tmp_path / "out" / "best.json").read_text())
    assert best["rule"] == "greater" and best["best_score"] == pytest.approx(results["eval_top1_acc"])


def test_eval_only_and_test_modes_from_a_saved_model(tmp_path, small_videos, tiny_recipe, example, fresh_accelerate):
    """--model_name_or_path folder, eval + test without training (the processor gives the pipeline)."""
    import videohub

    cfg = videohub.AutoVideoConfig.for_model_type(
        "videohub-tsn", **{k: v for k, v in json.loads(open(tiny_recipe).read())["model"].items() if k != "model_type"},
        id2label={0: "left", 1: "right", 2: "up", 3: "down"}, label2id={"left": 0, "right": 1, "up": 2, "down": 3})
    torch.manual_seed(0)
    model = videohub.AutoVideoModel.from_config(cfg)
    saved = tmp_path / "saved"
    model.save_pretrained(str(saved))
    videohub.VideoProcessor(sampler=dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=2, test_mode=True),
                            transforms=[dict(type="Resize", scale=[32, 32], keep_ratio=False),
                                        dict(type="Normalize", mean=[0, 0, 0], std=[255, 255, 255], to_bgr=False)]
                            ).save_pretrained(str(saved))
    out = tmp_path / "out"
    results = example.main(["--model_name_or_path", str(saved), "--val_annotations", os.path.join(small_videos, "val.txt"),
                            "--test_annotations", os.path.join(small_videos, "val7.txt"), "--do_eval", "--do_test",
                            "--save_predictions", *_common(small_videos, out, tmp_path / "cache")])
    assert results["eval_samples"] == 4 and results["test_samples"] == 7
    assert "completed_steps" not in results
    # the scores are the saved model's: recompute one video by hand with the processor
    processor = videohub.VideoProcessor.from_pretrained(str(saved))
    first = open(os.path.join(small_videos, "val7.txt")).readline().split()[0]
    with torch.no_grad():
        expected = model.eval()(**processor(os.path.join(small_videos, first))).logits[0]
    got = json.loads((out / "test_predictions.json").read_text())["scores"][0]
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-4, atol=1e-5)
    saved_again = videohub.AutoVideoModel.from_pretrained(str(out))
    assert saved_again.config.id2label == model.config.id2label

    # the same videos as rawframe folders (lossless frames): --dataset_format rawframes gives the same scores
    from videohub.data.video_reader import VideoReader

    frames_root = tmp_path / "rawframes"
    lines = []
    for line in open(os.path.join(small_videos, "val7.txt")):
        path, label = line.split()
        reader = VideoReader(os.path.join(small_videos, path))
        folder = frames_root / os.path.splitext(path)[0]
        folder.mkdir(parents=True)
        for i, frame in enumerate(reader.get_frames(list(range(reader.num_frames))), 1):
            cv2.imwrite(str(folder / f"img_{i:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            os.rename(folder / f"img_{i:05d}.png", folder / f"img_{i:05d}.jpg")  # PNG bytes: cv2 reads by content
        lines.append(f"{os.path.splitext(path)[0]} {reader.num_frames} {label}\n")
    (frames_root / "test.txt").write_text("".join(lines))
    fresh_accelerate()
    raw_out = tmp_path / "raw_out"
    example.main(["--model_name_or_path", str(saved), "--test_annotations", str(frames_root / "test.txt"),
                  "--dataset_format", "rawframes", "--do_test", "--save_predictions", "--data_root", str(frames_root),
                  "--label_file", os.path.join(small_videos, "labels.txt"), "--output_dir", str(raw_out),
                  "--cache_dir", str(tmp_path / "cache")])
    np.testing.assert_allclose(json.loads((raw_out / "test_predictions.json").read_text())["scores"],
                               json.loads((out / "test_predictions.json").read_text())["scores"], rtol=1e-5, atol=1e-6)


def test_unwritable_output_dir_is_one_clear_error_before_any_data_is_read(tmp_path, example, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    status = example.cli(["--arch", "tsn", "--train_annotations", str(tmp_path / "missing.txt"),
                          "--output_dir", str(blocker / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("run_recognition.py: error: the output directory") and "a_file" in err
    assert "Traceback" not in err and "missing.txt" not in err


def test_resume_strict_reaches_the_loop(tmp_path, example):
    argv = ["--arch", "tsn", "--train_annotations", "t.txt", "--output_dir", str(tmp_path),
            "--resume_from_checkpoint", "latest"]
    assert example.loop_config(example.parse_args(argv), {}).resume_strict is False
    assert example.loop_config(example.parse_args(argv + ["--resume_strict"]), {}).resume_strict is True

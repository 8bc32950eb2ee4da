"""examples/run_localization.py end to end on synthetic features with planted action segments."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "run_localization.py")
T, C = 16, 8
TINY_BMN = json.dumps({"num_samples": 4, "num_samples_per_bin": 2, "hidden_dim_1d": 16, "hidden_dim_2d": 16,
                       "hidden_dim_3d": 32, "post_process_top_k": 100})


def make_features(root, num_train=48, num_val=12, seed=0):
    """Videos of ``T`` snippets; 1-2 actions per video whose snippets carry a feature offset.

    Writes ``features/<video>.csv`` (mmaction2 layout), ``train.json`` and ``val.json``.
    """
    rng = np.random.default_rng(seed)
    features = root / "features"
    features.mkdir()
    splits = {"train": {}, "val": {}}
    for i in range(num_train + num_val):
        name = f"v_{i:03d}"
        x = rng.standard_normal((T, C)).astype(np.float32) * 0.5
        segments, free = [], np.ones(T, bool)
        for _ in range(rng.integers(1, 3)):
            length = int(rng.integers(3, 7))
            starts = [s for s in range(T - length + 1) if free[max(0, s - 1):s + length + 1].all()]
            if not starts:
                break
            s = int(rng.choice(starts))
            free[s:s + length] = False
            x[s:s + length, :C // 2] += 2.0  # the action's appearance
            x[s, C // 2] += 2.0  # its start
            x[s + length - 1, C // 2 + 1] += 2.0  # its end
            segments.append([s * 1.0, (s + length) * 1.0])  # one snippet = 1 s (16 frames at 16 fps)
        np.savetxt(features / f"{name}.csv", x, delimiter=",", header=",".join(f"c{j}" for j in range(C)),
                   comments="")
        split = "train" if i < num_train else "val"
        splits[split][name] = {"duration_second": float(T), "duration_frame": T * 16, "feature_frame": T * 16,
                               "fps": 16.0, "annotations": [{"segment": seg, "label": "act"} for seg in segments]}
    for split, database in splits.items():
        (root / f"{split}.json").write_text(json.dumps(database))
    return splits


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("loc_features")
    return root, make_features(root)


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("run_localization", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fresh_accelerate():
    import torch
    from accelerate.state import AcceleratorState, GradientState

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    torch.set_num_threads(threads)


def _args(root, out, *extra):
    return ["--model_type", "bmn", "--temporal_dim", str(T), "--feat_dim", str(C), "--config_overrides", TINY_BMN,
            "--train_annotations", str(root / "train.json"), "--val_annotations", str(root / "val.json"),
            "--feature_dir", str(root / "features"), "--output_dir", str(out), "--cache_dir", str(root / "cache"),
            "--per_device_train_batch_size", "4", "--learning_rate", "0.003", "--lr_steps", *extra]


def random_proposal_metrics(splits, seed=0):
    """AR@AN metrics of 100 uniformly random segments per validation video (the chance level)."""
    from videohub.localization.training import proposal_metrics

    rng = np.random.default_rng(seed)
    results, infos = [], []
    for name, info in splits["val"].items():
        a, b = rng.uniform(0, T, 100), rng.uniform(0, T, 100)
        proposals = [{"segment": [float(min(x, y)), float(max(x, y))], "score": float(s)}
                     for x, y, s in zip(a, b, rng.uniform(size=100))]
        results.append({"video_name": name, "proposal_list": proposals})
        infos.append({"video_name": name, "annotations": info["annotations"]})
    return proposal_metrics(results, infos)[0]


def test_help_lists_the_issue_arguments():
    out = subprocess.run([sys.executable, EXAMPLE, "--help"], capture_output=True, text=True, timeout=60).stdout
    for flag in ("--model_name_or_path", "--model_type", "--temporal_dim", "--feat_dim", "--train_annotations",
                 "--val_annotations", "--feature_dir", "--output_dir", "--max_train_steps",
                 "--per_device_train_batch_size", "--learning_rate", "--seed", "--resume_from_checkpoint",
                 "--push_to_hub"):
        assert flag in out


@pytest.mark.slow
def test_bmn_learns_planted_segments_well_above_random(tmp_path, synthetic, example, fresh_accelerate):
    root, splits = synthetic
    out = tmp_path / "out"
    results = example.main(_args(root, out, "--max_train_steps", "300", "--seed", "0"))
    saved = json.loads((out / "all_results.json").read_text())
    assert saved == pytest.approx(results)
    assert results["eval_samples"] == len(splits["val"]) == 12
    assert {"eval_AR@1", "eval_AR@5", "eval_AR@10", "eval_AR@100", "eval_auc"} <= set(results)
    # 16-snippet videos: 100 random segments already find most actions (AR@100 ~0.7), few find them (AR@5 ~0.1).
    chance = random_proposal_metrics(splits)
    assert results["eval_AR@100"] > chance["AR@100"] + 0.15, (results, chance)
    assert results["eval_AR@5"] > chance["AR@5"] + 0.5, (results, chance)
    assert results["eval_auc"] > chance["auc"] + 25, (results, chance)
    assert (out / "ar_an.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proposals = json.loads((out / "eval_proposals.json").read_text())["results"]
    assert sorted(proposals) == sorted(name[2:] for name in splits["val"])


def test_resume_matches_uninterrupted(tmp_path, synthetic, example, fresh_accelerate):
    from safetensors.torch import load_file

    root, _ = synthetic
    full, part = tmp_path / "full", tmp_path / "part"
    example.main(_args(root, full, "--max_train_steps", "6", "--seed", "3"))
    example.main(_args(root, part, "--max_train_steps", "4", "--seed", "3", "--checkpointing_steps", "2"))
    assert (part / "latest").read_text().strip() == "step_4"
    resumed = example.main(_args(root, part, "--max_train_steps", "6", "--checkpointing_steps", "2",
                                 "--resume_from_checkpoint", "latest"))
    assert resumed["completed_steps"] == 6
    a, b = load_file(str(full / "model.safetensors")), load_file(str(part / "model.safetensors"))
    for key in a:
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_two_processes_evaluate_every_validation_video_once(tmp_path, synthetic):
    root, splits = synthetic
    out = tmp_path / "out"
    argv = [os.path.join(os.path.dirname(sys.executable), "torchrun"), "--standalone", "--nproc_per_node", "2",
            EXAMPLE, *_args(root, out, "--max_train_steps", "4", "--seed", "1", "--checkpointing_steps", "2")]
    proc = subprocess.run(argv, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "2 process(es)" in proc.stderr
    results = json.loads((out / "all_results.json").read_text())
    assert results["eval_samples"] == len(splits["val"])
    assert results["completed_steps"] == 4
    assert {"random_states_0.pkl", "random_states_1.pkl", "trainer_state.json"} <= set(os.listdir(out / "step_4"))

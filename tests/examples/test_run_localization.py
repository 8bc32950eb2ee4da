"""examples/run_localization.py end to end on synthetic features with planted action segments."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from localization.synthetic_localization import TINY_SSN, make_pem_data, make_ssn_data

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


# ----------------------------------------------------------------------------- SSN on frames


@pytest.fixture(scope="module")
def ssn_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ssn_frames")
    return root, make_ssn_data(root)


def _ssn_args(root, out, *extra):
    return ["--model_type", "ssn", "--config_overrides", TINY_SSN, "--input_size", "28",
            "--train_annotations", str(root / "train_proposals.txt"),
            "--val_annotations", str(root / "val_proposals.txt"), "--data_root", str(root / "frames"),
            "--output_dir", str(out), "--cache_dir", str(root / "cache"), "--per_device_train_batch_size", "2",
            "--learning_rate", "0.003", "--lr_steps", *extra]


# ----------------------------------------------------------------------------- PEM on the BSN chain's files


@pytest.fixture(scope="module")
def pem_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("pem_chain")
    return root, make_pem_data(root)


def _pem_args(root, out, *extra):
    return ["--model_type", "pem", "--config_overrides", json.dumps({"pem_hidden_dim": 64}),
            "--pgm_proposals_dir", str(root / "pgm_proposals"), "--pgm_features_dir", str(root / "pgm_features"),
            "--val_annotations", str(root / "val.json"), "--output_dir", str(out), "--cache_dir", str(root / "cache"),
            "--per_device_train_batch_size", "4", "--learning_rate", "0.05", "--weight_decay", "1e-5",
            "--lr_steps", *extra]


@pytest.mark.slow
def test_ssn_learns_planted_actions_above_its_untrained_map(tmp_path, ssn_data, example, fresh_accelerate):
    root, blocks = ssn_data
    untrained_args = _ssn_args(root, tmp_path / "untrained", "--seed", "1")
    i = untrained_args.index("--train_annotations")
    untrained = example.main(untrained_args[:i] + untrained_args[i + 2:])
    out = tmp_path / "out"
    trained = example.main(_ssn_args(root, out, "--seed", "1", "--max_train_steps", "30"))
    assert trained["eval_samples"] == untrained["eval_samples"] == len(blocks["val"]) == 8
    assert trained["completed_steps"] == 30
    assert {"eval_mAP@0.3", "eval_mAP@0.4", "eval_mAP@0.5"} <= set(trained)
    # measured: untrained 0.09, trained 1.0 (30 steps of 2 videos)
    assert trained["eval_mAP@0.5"] > untrained["eval_mAP@0.5"] + 0.3, (trained, untrained)
    assert json.loads((out / "all_results.json").read_text()) == pytest.approx(trained)
    # the saved model keeps the training set's regression constants and evaluates the same
    config = json.loads((out / "config.json").read_text())
    assert np.asarray(config["test_cfg"]["ssn"]["reg_normalize_constants"]).shape == (2, 2)
    again = example.main(["--model_name_or_path", str(out), "--val_annotations", str(root / "val_proposals.txt"),
                          "--data_root", str(root / "frames"), "--input_size", "28", "--output_dir",
                          str(tmp_path / "eval"), "--cache_dir", str(root / "cache")])
    assert again["eval_mAP@0.5"] == pytest.approx(trained["eval_mAP@0.5"])


@pytest.mark.slow
def test_pem_learns_on_the_bsn_chain_files(tmp_path, pem_data, example, fresh_accelerate):
    root, splits = pem_data
    untrained = example.main(_pem_args(root, tmp_path / "untrained", "--seed", "0"))
    out = tmp_path / "out"
    trained = example.main(_pem_args(root, out, "--seed", "0", "--max_train_steps", "150",
                                     "--train_annotations", str(root / "train.json")))
    assert trained["eval_samples"] == untrained["eval_samples"] == len(splits["val"]) == 12
    # measured: AR@1 0.24 -> 0.50, AR@5 0.53 -> 0.79 (the boundary scores alone rank spurious peaks high)
    assert trained["eval_AR@1"] > untrained["eval_AR@1"] + 0.15, (trained, untrained)
    assert trained["eval_AR@5"] > untrained["eval_AR@5"] + 0.15, (trained, untrained)
    assert trained["eval_auc"] > untrained["eval_auc"] + 2, (trained, untrained)
    assert (out / "ar_an.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proposals = json.loads((out / "eval_proposals.json").read_text())["results"]
    assert sorted(proposals) == sorted(name[2:] for name in splits["val"])


def test_model_data_flags_are_checked(tmp_path, pem_data, example, fresh_accelerate):
    from videohub.errors import ConfigError

    root, _ = pem_data
    args = _pem_args(root, tmp_path / "out", "--seed", "0")
    i = args.index("--pgm_features_dir")
    with pytest.raises(ConfigError, match="a pem model needs --pgm_features_dir"):
        example.main(args[:i] + args[i + 2:])
    with pytest.raises(ConfigError, match="--temporal_dim is a field of"):
        example.main(args + ["--temporal_dim", "10"])


def test_pem_samples_name_missing_files_or_skip_and_count(tmp_path, pem_data, monkeypatch):
    from videohub.errors import AnnotationError
    from videohub.localization import pem_training

    root, splits = pem_data
    rows = [dict(info, video_name=name) for name, info in splits["val"].items()]
    features = tmp_path / "features"
    features.mkdir()
    for row in rows[1:]:
        (features / f"{row['video_name']}.npy").write_bytes((root / "pgm_features" / f"{row['video_name']}.npy")
                                                            .read_bytes())
    with pytest.raises(AnnotationError, match=f"{rows[0]['video_name']}.npy"):
        pem_training.load_pem_samples(rows, str(root / "pgm_proposals"), str(features))
    warnings = []
    monkeypatch.setattr(pem_training.logger, "warning", lambda msg, *args: warnings.append(msg % args))
    samples = pem_training.load_pem_samples(rows, str(root / "pgm_proposals"), str(features), top_k=7,
                                            on_error="skip")
    assert [s["video_name"] for s in samples] == [r["video_name"] for r in rows[1:]]
    assert len(warnings) == 1 and f"1 of {len(rows)} video(s) skipped" in warnings[0]
    first = samples[0]
    table = np.loadtxt(root / "pgm_proposals" / f"{first['video_name']}.csv", delimiter=",", skiprows=1, ndmin=2)
    np.testing.assert_allclose(first["reference_temporal_iou"], table[:7, 5], rtol=1e-6)
    assert first["bsp_feature"].shape == (7, 32)
    batch = pem_training.pem_batch(samples)([0, 1], 0)
    assert batch["input_features"].shape == (1, 14, 32) and batch["labels"].shape == (1, 14)
    np.testing.assert_allclose(batch["labels"][0, 7:].numpy(), samples[1]["reference_temporal_iou"], rtol=1e-6)


def test_ssn_resume_matches_uninterrupted(tmp_path, ssn_data, example, fresh_accelerate):
    """Proposal sampling and augmentation are seeded per (seed, step, sample): a resumed run ends
    with the weights of an uninterrupted one."""
    from safetensors.torch import load_file

    root, _ = ssn_data

    def args(out, *extra):
        full = _ssn_args(root, out, "--seed", "5", *extra)
        i = full.index("--val_annotations")
        return full[:i] + full[i + 2:]

    full, part = tmp_path / "full", tmp_path / "part"
    example.main(args(full, "--max_train_steps", "4"))
    example.main(args(part, "--max_train_steps", "2", "--checkpointing_steps", "2"))
    resumed = example.main(args(part, "--max_train_steps", "4", "--checkpointing_steps", "2",
                                "--resume_from_checkpoint", "latest"))
    assert resumed["completed_steps"] == 4
    a, b = load_file(str(full / "model.safetensors")), load_file(str(part / "model.safetensors"))
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), rtol=1e-5, atol=1e-6, err_msg=key)

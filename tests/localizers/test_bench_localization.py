"""scripts/benchmarks/bench_localization.py: help text and a videohub-only run (no reference installed)."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(REPO, "scripts", "benchmarks", "bench_localization.py")


def test_help_names_the_options():
    proc = subprocess.run([sys.executable, SCRIPT, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for flag in ("--batch_size", "--repeats", "--post_repeats", "--threads", "--mmaction2-site", "--output"):
        assert flag in proc.stdout


@pytest.mark.slow
def test_runs_without_the_reference(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, SCRIPT, "--repeats", "1", "--post_repeats", "1", "--threads", "1",
                           "--mmaction2-site", str(tmp_path / "absent"), "--output", str(out)],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "src")))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "reference not timed" in proc.stderr
    results = json.loads(out.read_text())
    assert results["reference"].startswith("mmaction2 not found")
    assert set(results["train_step_s"]) == {"videohub"} and results["train_step_s"]["videohub"] > 0
    assert results["post_process_s"]["videohub"] > 0 and "ratio" not in results

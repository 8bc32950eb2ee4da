"""The README's main job: examples/quickstart.py trains, publishes to the local Hub, reloads and classifies."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quickstart_end_to_end(tmp_path):
    script = os.path.join(ROOT, "examples", "quickstart.py")
    out = subprocess.run([sys.executable, script, "--workdir", str(tmp_path), "--videos-per-class", "16"],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    accuracy = float(re.search(r"held-out accuracy: ([\d.]+)%", out.stdout).group(1))
    assert accuracy > 50.0  # chance is 25 % (4 balanced classes)
    assert len(re.findall(r"^(ok |MISS) ", out.stdout, flags=re.M)) == 16  # 4 held-out videos per class

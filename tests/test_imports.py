"""``import videohub`` is light, and still makes transformers' Auto classes load videohub models."""

import subprocess
import sys
import textwrap

import torch

import videohub


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_videohub_loads_neither_torch_nor_transformers():
    out = run_python("""
        import sys
        import videohub
        print(sorted(m for m in ("torch", "transformers", "numpy", "av", "datasets") if m in sys.modules))
    """)
    assert out.strip() == "[]"


def test_transformers_auto_classes_load_a_videohub_folder_after_import_videohub(tmp_path):
    config = videohub.TSNConfig(backbone=dict(depth=18), num_labels=3)
    model = videohub.AutoVideoModel.from_config(config).eval()
    model.save_pretrained(tmp_path)
    x = torch.randn(1, 3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    torch.save(x, tmp_path / "x.pt")
    with torch.no_grad():
        expected = model(pixel_values=x).logits
    torch.save(expected, tmp_path / "expected.pt")
    for first_import in ("from transformers import AutoModelForVideoClassification",
                         "import transformers; from transformers import AutoModelForVideoClassification"):
        # transformers imported after videohub (import hook) and before it (direct registration)
        order = ["import videohub", first_import] if first_import.startswith("from") else [first_import, "import videohub"]
        out = run_python(f"""
            {order[0]}
            {order[1]}
            import torch
            model = AutoModelForVideoClassification.from_pretrained({str(tmp_path)!r}).eval()
            x = torch.load({str(tmp_path / "x.pt")!r})
            with torch.no_grad():
                print(type(model).__name__, torch.equal(model(pixel_values=x).logits, torch.load({str(tmp_path / "expected.pt")!r})))
        """)
        assert out.split() == ["TSNForVideoClassification", "True"]

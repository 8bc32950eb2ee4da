"""ONNX export: every listed architecture exports with a dynamic batch and matches the reference."""

import argparse
import sys

import numpy as np
import pytest
import torch

from videohub.conversion.mmaction2 import build_model, config_from_mmaction2
from videohub.conversion.parity import recognizer_inputs
from videohub.deploy import DeployError, MissingDependencyError
from videohub.deploy.onnx import export_onnx, require_onnx

# TSN, TSM (temporal shift), TIN, I3D, SlowFast, X3D, C3D, R(2+1)D, CSN
ARCHITECTURES = ["tsn_r18", "tsm_r18", "tin_r18", "i3d_r18", "slowfast_r18", "x3d_s_like", "c3d", "r2plus1d_r18",
                 "csn_ir_r50_w16"]


def test_missing_extra_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "videohub\[onnx\]"'):
        require_onnx()


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_export_matches_pytorch_and_the_reference(golden, tmp_path, name):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    data = golden(name)
    model = build_model(config_from_mmaction2(data["config"]), data["state_dict"]).eval()
    x = recognizer_inputs(data["kind"], data["input"])["pixel_values"]
    report = export_onnx(model, str(tmp_path / f"{name}.onnx"), x.shape)
    assert report.check_shape[0] == x.shape[0] + 1  # the check ran another batch size
    assert report.max_abs_diff <= 1e-4 * report.max_abs_ref
    # independently: onnxruntime on the golden input against mmaction2's own test output
    session = ort.InferenceSession(report.path, providers=["CPUExecutionProvider"])
    out = session.run(["logits"], {"pixel_values": x.numpy()})[0]
    if model.config.average_clips == "prob":  # the logits are the log of mmaction2's averaged probabilities
        out = np.exp(out)
    ref = data["extra"]["test_output"].numpy()
    out = out.reshape(ref.shape)  # average_clips=None keeps [B, V, C]; mmaction2 gives [B * V, C]
    assert np.abs(out - ref).max() <= 1e-4 * np.abs(ref).max() + 1e-5


def test_optimize_writes_onnxruntimes_graph_and_bad_input_is_refused(golden, tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    data = golden("i3d_r18")
    model = build_model(config_from_mmaction2(data["config"]), data["state_dict"]).eval()
    x = recognizer_inputs(data["kind"], data["input"])["pixel_values"]
    plain = export_onnx(model, str(tmp_path / "plain.onnx"), x.shape)
    folded = export_onnx(model, str(tmp_path / "folded.onnx"), x.shape, optimize=True)
    # the exporter folds eval-mode BN itself: 20 BN3d layers, no BatchNormalization node
    assert not any(node.op_type == "BatchNormalization" for node in onnx.load(plain.path).graph.node)
    assert plain.nodes == plain.exported_nodes == folded.exported_nodes and folded.nodes < plain.nodes
    assert any(node.domain == "com.microsoft" for node in onnx.load(folded.path).graph.node)
    assert not (tmp_path / "folded.onnx.plain").exists()
    with pytest.raises(DeployError, match="batch-first shape"):
        export_onnx(model, str(tmp_path / "bad.onnx"), (0, 8, 3, 64, 64))
    model.train()
    with pytest.raises(DeployError, match="training mode"):
        export_onnx(model, str(tmp_path / "train.onnx"), x.shape)


def _parser():
    from videohub.commands import export

    parser = argparse.ArgumentParser(prog="videohub export")
    export.add_arguments(parser)
    return parser, export


@pytest.fixture
def tiny_model_dir(tmp_path):
    from videohub import TSNConfig, TSNForVideoClassification

    config = TSNConfig(backbone=dict(type="ResNet", depth=18, num_stages=2, out_indices=[1], strides=[1, 2],
                                     dilations=[1, 1]),
                       cls_head=dict(type="TSNHead", in_channels=128, num_classes=4), num_frames=3)
    torch.manual_seed(0)
    TSNForVideoClassification(config).save_pretrained(tmp_path / "tiny")
    return str(tmp_path / "tiny")


def test_command_exports_and_reports(tiny_model_dir, tmp_path, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    parser, export = _parser()
    output = tmp_path / "out" / "tiny.onnx"
    args = parser.parse_args(["onnx", "--model", tiny_model_dir, "--output", str(output), "--size", "32",
                              "--optimize"])
    assert export.NAME == "export" and args.opset == 17 and args.frames is None
    assert export.run(args) == 0
    printed = capsys.readouterr().out
    assert output.exists() and "(1, 3, 3, 32, 32)" in printed
    assert "onnxruntime vs PyTorch on a random clip (2, 3, 3, 32, 32): max abs diff" in printed


def test_command_user_errors(tiny_model_dir, tmp_path, monkeypatch):
    parser, export = _parser()
    args = parser.parse_args(["onnx", "--model", tiny_model_dir, "--output", str(tmp_path / "x.onnx"),
                              "--opset", "0"])
    try:
        require_onnx()
    except MissingDependencyError:
        pass
    else:  # the options are checked once the extra is known to be there
        with pytest.raises(DeployError, match="--opset must be a positive integer, got 0"):
            export.run(args)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependencyError, match="onnx and onnxruntime"):
        export.run(args)
    with pytest.raises(SystemExit):
        parser.parse_args(["onnx", "--output", "x.onnx"])  # --model is required

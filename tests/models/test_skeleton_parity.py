"""ST-GCN, 2s-AGCN and PoseC3D against mmaction2 0.24.1: the ``golden_zoo`` files of kind ``skeleton``
(and PoseC3D's ``rec3d`` file), through the parity checker and through ``videohub convert``'s pieces."""

import os

import pytest
import torch

from videohub.conversion.golden import golden_zoo_dir
from videohub.conversion.mmaction2 import arch_for_model_cfg
from videohub.conversion.parity import check_file, check_golden_dir

SKELETON_FILES = ("stgcn_coco_spatial.pt", "agcn_ntu.pt")
POSEC3D_FILE = "posec3d_slowonly_keypoint.pt"


@pytest.fixture(scope="module")
def zoo_dir():
    path = golden_zoo_dir()
    if not os.path.isdir(path):
        pytest.skip(f"golden_zoo directory {path!r} not found (set VIDEOHUB_GOLDEN_ZOO_DIR)")
    return path


def test_every_skeleton_file_of_the_zoo_passes(zoo_dir):
    results = check_golden_dir(zoo_dir, kinds=["skeleton"])
    assert sorted(r.name for r in results) == sorted(SKELETON_FILES)
    failed = [r.line() for r in results if not r.ok]
    assert not failed, "\n".join(failed)


def test_posec3d_file_passes_as_slowonly(zoo_dir):
    data = torch.load(os.path.join(zoo_dir, POSEC3D_FILE), weights_only=True)
    assert data["config"]["backbone"]["in_channels"] == 17
    assert arch_for_model_cfg(data["config"]) == "slowonly"
    result = check_file(os.path.join(zoo_dir, POSEC3D_FILE))
    assert result.kind == "rec3d" and result.ok, result.line()


@pytest.mark.parametrize("name, arch", [("stgcn_coco_spatial.pt", "stgcn"), ("agcn_ntu.pt", "agcn")])
def test_conversion_picks_the_architecture(zoo_dir, name, arch):
    data = torch.load(os.path.join(zoo_dir, name), weights_only=True)
    assert arch_for_model_cfg(data["config"]) == arch


@pytest.mark.parametrize("key, delta", [
    ("backbone.agcn_networks.3.gcn.PA", 0.05),  # the learned adjacency of one block
    ("backbone.A", 0.05),  # the graph buffer: videohub must use the checkpoint's, not only its own
])
def test_a_wrong_weight_is_detected(zoo_dir, tmp_path, key, delta):
    data = torch.load(os.path.join(zoo_dir, "agcn_ntu.pt"), weights_only=True)
    data["state_dict"][key] = data["state_dict"][key] + delta
    torch.save(data, tmp_path / "agcn_perturbed.pt")
    result = check_file(str(tmp_path / "agcn_perturbed.pt"))
    assert not result.ok and result.comparison.failures[0].startswith("output:")



def test_posec3d_defaults_are_the_zoo_topology(zoo_dir):
    """The golden PoseC3D weights load, strictly, into a default ``PoseC3DConfig`` and give mmaction2's scores."""
    import videohub
    from videohub.conversion.golden import load_golden
    from videohub.conversion.mmaction2 import build_model

    data = load_golden(os.path.join(zoo_dir, POSEC3D_FILE))
    config = videohub.PoseC3DConfig(num_labels=7, average_clips="score")
    assert config.backbone == {k: list(v) if isinstance(v, tuple) else v
                               for k, v in data["config"]["backbone"].items()}
    model = build_model(config, data["state_dict"], source=POSEC3D_FILE)
    with torch.no_grad():
        out = model(pixel_values=data["input"].permute(0, 1, 3, 2, 4, 5))  # (N, clips, K, T, H, W) -> (B, V, T, K, H, W)
    ref = data["output"]
    assert (out.clip_logits - ref).abs().max() <= 1e-4 * ref.abs().max() + 1e-5

"""``videohub convert`` of mmaction2 localizer checkpoints, checked through save/from_pretrained on golden files."""

import pytest
import torch

import videohub
from videohub.conversion.converter import convert
from videohub.errors import CheckpointError


def write_mmaction2(tmp_path, data, config_key="config"):
    """An mmaction2 ``.py`` config (``model = dict(...)``) and an mmcv ``.pth`` of a golden file."""
    config = tmp_path / "model.py"
    config.write_text(f"model = {data[config_key]!r}\n")
    checkpoint = tmp_path / "model.pth"
    torch.save({"meta": {}, "state_dict": dict(data["state_dict"])}, checkpoint)
    return str(config), str(checkpoint)


@pytest.mark.parametrize("name", ["bmn_small", "tem_small_ratio1", "pem_small"])
def test_convert_save_reload_matches_golden(golden, tmp_path, name):
    data = golden(name)
    config, checkpoint = write_mmaction2(tmp_path, data)
    convert(output=str(tmp_path / "out"), checkpoint=checkpoint, config=config)
    model = videohub.AutoVideoModel.from_pretrained(str(tmp_path / "out")).eval()
    assert (tmp_path / "out" / "README.md").exists()
    with torch.no_grad():
        out = model(input_features=data["input"])
    expected = data["output"]
    if data["kind"] == "bmn":
        got = {"confidence_map": out.confidence_map, "start": out.start, "end": out.end}
        for key, value in got.items():
            torch.testing.assert_close(value, expected[key], rtol=1e-4, atol=1e-5)
    elif data["kind"] == "tem":
        torch.testing.assert_close(torch.stack((out.action, out.start, out.end), 1), expected, rtol=1e-4, atol=1e-5)
    else:
        torch.testing.assert_close(out.proposal_scores.reshape(-1, 1), expected, rtol=1e-4, atol=1e-6)


def test_convert_ssn_through_pretrained(golden, tmp_path):
    data = golden("ssn_r18_stpp111")
    config, checkpoint = write_mmaction2(tmp_path, data)
    convert(output=str(tmp_path / "out"), checkpoint=checkpoint, config=config)
    model = videohub.AutoVideoModel.from_pretrained(str(tmp_path / "out")).eval()
    with torch.no_grad():
        test = model(pixel_values=data["test_input"], **data["test_kwargs"])
    for key in ("activity_scores", "completeness_scores", "bbox_preds"):
        torch.testing.assert_close(getattr(test, key), torch.as_tensor(data["extra"]["test_output"][0][key]),
                                   rtol=1e-4, atol=1e-5)


def test_convert_names_the_missing_keys(golden, tmp_path):
    data = dict(golden("pem_small"))
    data["state_dict"] = {k: v for k, v in data["state_dict"].items() if k != "fc1.weight"}
    config, checkpoint = write_mmaction2(tmp_path, data)
    with pytest.raises(CheckpointError, match=r"missing from the checkpoint .*: 1 key\(s\): fc1\.weight"):
        convert(output=str(tmp_path / "out"), checkpoint=checkpoint, config=config)

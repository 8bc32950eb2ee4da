"""Checks of every detector (the tiny configs whose config is a ``DetectorConfig``)."""

import pytest
import torch

import videohub
from videohub.errors import ShapeError
from model_helpers import DETECTORS, build, inputs


@pytest.mark.parametrize("arch", DETECTORS)
class TestDetector:
    def test_one_score_row_per_box_and_rois_or_boxes_agree(self, arch):
        model, module = build(arch)
        model.eval()
        x = inputs(model, module)
        with torch.no_grad():
            out = model(**x)
            again = model(pixel_values=x["pixel_values"], rois=out.rois)
        assert out.logits.shape == (sum(len(b) for b in x["boxes"]), model.config.num_labels)
        assert out.rois[:, 0].tolist() == [i for i, b in enumerate(x["boxes"]) for _ in range(len(b))]
        assert torch.equal(again.logits, out.logits)
        assert type(videohub.AutoModelForSpatioTemporalActionDetection.from_config(model.config)) is type(model)

    def test_post_process_undoes_the_crop_and_flip(self, arch):
        model, module = build(arch)
        model.eval()
        x = inputs(model, module)
        with torch.no_grad():
            out = model(**x)
        height, width = x["pixel_values"].shape[-2:]
        metas = [{"img_shape": (height, width), "flip": i == 1, "crop_quadruple": [0.5, 0.0, 0.5, 1.0]}
                 for i in range(len(x["boxes"]))]
        detections = model.post_process(out, metas, action_thr=0.0)
        assert len(detections) == len(x["boxes"])
        x1, y1, x2, y2 = x["boxes"][0][0].tolist()
        first = detections[0][0]
        expected = [0.5 + 0.5 * x1 / width, y1 / height, 0.5 + 0.5 * x2 / width, y2 / height]
        assert first["box"] == pytest.approx(expected, abs=1e-6)
        fx1, fx2 = width - 1 - x["boxes"][1][0][2].item(), width - 1 - x["boxes"][1][0][0].item()
        assert detections[1][0]["box"][0] == pytest.approx(0.5 + 0.5 * fx1 / width, abs=1e-6)
        assert detections[1][0]["box"][2] == pytest.approx(0.5 + 0.5 * fx2 / width, abs=1e-6)
        assert {d["label"] for d in detections[0]} == set(range(1, model.config.num_labels))  # class 0 is reserved
        probabilities = out.logits.sigmoid()
        assert first["score"] == pytest.approx(float(probabilities[0, 1]), rel=1e-6)

    def test_boxes_are_required(self, arch):
        model, module = build(arch)
        with pytest.raises(ShapeError, match="person boxes"):
            model(pixel_values=inputs(model, module)["pixel_values"])

"""The TEM, PEM and SSN task models against their mmaction2 modules, golden files and hand-worked cases."""

import math

import pytest
import torch

from videohub.errors import ConfigError
from videohub.localization import perform_regression, temporal_nms
from videohub.metrics.dataset_evaluation import ssn_results_to_detections
from videohub.modeling_outputs import TemporalActionLocalizationOutput
from videohub.models.pem import PEMConfig, PEMForTemporalActionLocalization
from videohub.models.ssn import SSNConfig, SSNForTemporalActionLocalization, SSNOutput
from videohub.models.tem import TEMConfig, TEMForTemporalActionLocalization


def from_golden(config_class, model_class, data, config=None):
    """The task model of a golden file, its mmaction2 state dict loaded under ``localizer.``."""
    kwargs = {k: v for k, v in (config or data["config"]).items() if k != "type"}
    model = model_class(config_class(**kwargs))
    state = {f"localizer.{k}": v for k, v in data["state_dict"].items()}
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys and not result.missing_keys
    return model.eval()


def test_tem_golden_outputs(golden):
    data = golden("tem_small_ratio1")
    model = from_golden(TEMConfig, TEMForTemporalActionLocalization, data)
    with torch.no_grad():
        out = model(input_features=data["input"])
    expected = data["output"]
    for channel, name in enumerate(("action", "start", "end")):
        torch.testing.assert_close(getattr(out, name), expected[:, channel], rtol=1e-4, atol=1e-5)


def test_tem_loss_equals_the_mmaction2_training_path():
    model = TEMForTemporalActionLocalization(TEMConfig(temporal_dim=10, tem_feat_dim=8, tem_hidden_dim=8,
                                                       conv3_ratio=1.0))
    torch.manual_seed(1)
    x = torch.randn(2, 8, 10)
    gt = [torch.tensor([[0.1, 0.4]]), torch.tensor([[0.3, 0.7]])]
    out = model(input_features=x, labels=gt)
    reference = model.localizer(x, gt_bbox=gt)
    assert set(out.losses) == set(reference)
    for name, value in reference.items():
        torch.testing.assert_close(out.losses[name], value)
    torch.testing.assert_close(out.loss, sum(reference.values()))


def _tem_output(start, end):
    start, end = torch.tensor([start]), torch.tensor([end])
    return TemporalActionLocalizationOutput(start=start, end=end, action=torch.zeros_like(start))


def test_tem_post_process_hand_worked():
    # starts: 0 (always), 2 (peak); ends: 1 (peak), 3 (always). Centres (i + 0.5) / 4.
    # Pairs with tmin < tmax: (0.125, 0.375) 0.9*0.7, (0.125, 0.875) 0.9*0.9, (0.625, 0.875) 0.8*0.9.
    model = TEMForTemporalActionLocalization(TEMConfig(temporal_dim=4, tem_feat_dim=4, tem_hidden_dim=4))
    out = _tem_output([0.9, 0.1, 0.8, 0.2], [0.1, 0.7, 0.2, 0.9])
    meta = {"duration_frame": 160, "duration_second": 10.0}
    got = model.post_process(out, [meta])[0]
    # Soft-NMS thresholds 0.65..0.9: IoUs of 1/3 decay nothing.
    assert [v for p in got for v in p["segment"]] == pytest.approx([1.25, 8.75, 6.25, 8.75, 1.25, 3.75])
    assert [p["score"] for p in got] == pytest.approx([0.81, 0.72, 0.63])
    # Thresholds 0: both overlap the best by IoU 1/3 and decay by exp(-(1/9) / 0.75); they do not overlap.
    model.config.soft_nms_low_threshold = model.config.soft_nms_high_threshold = 0.0
    got = model.post_process(out, [meta])[0]
    decay = math.exp(-(1 / 9) / 0.75)
    assert [p["score"] for p in got] == pytest.approx([0.81, 0.72 * decay, 0.63 * decay])


def test_pem_golden_outputs_and_proposals(golden):
    data = golden("pem_small")
    model = from_golden(PEMConfig, PEMForTemporalActionLocalization, data)
    inputs = data["extra"]["forward_test_inputs"]
    with torch.no_grad():
        out = model(input_features=data["input"], **inputs)
    torch.testing.assert_close(out.proposal_scores.reshape(-1, 1), data["output"], rtol=1e-4, atol=1e-6)
    got = model.post_process(out, data["video_meta"])[0]
    reference = data["extra"]["forward_test"][0]["proposal_list"]
    assert len(got) == len(reference) == data["config"]["post_process_top_k"]
    assert [p["score"] for p in got] == pytest.approx([p["score"] for p in reference], rel=1e-4)
    assert [v for p in got for v in p["segment"]] == pytest.approx([v for p in reference for v in p["segment"]],
                                                                   rel=1e-5)


def test_pem_post_process_needs_the_candidates():
    model = PEMForTemporalActionLocalization(PEMConfig(pem_feat_dim=4, pem_hidden_dim=4))
    with torch.no_grad():
        out = model(input_features=torch.randn(1, 3, 4))
    with pytest.raises(ConfigError, match="tmin"):
        model.post_process(out, [{"duration_frame": 16, "duration_second": 1.0}])


@pytest.fixture(scope="module")
def ssn_golden_model(golden):
    data = golden("ssn_r18_stpp111")
    return data, from_golden(SSNConfig, SSNForTemporalActionLocalization, data)


def test_ssn_golden_training_and_test_paths(ssn_golden_model):
    data, model = ssn_golden_model
    with torch.no_grad():
        train = model(pixel_values=data["input"], proposal_scale_factor=data["proposal_scale_factor"])
        test = model(pixel_values=data["test_input"], **data["test_kwargs"])
    for name in ("activity_scores", "completeness_scores", "bbox_preds"):
        torch.testing.assert_close(getattr(train, name), data["output"][name], rtol=1e-4, atol=1e-5)
        expected = torch.as_tensor(data["extra"]["test_output"][0][name])
        torch.testing.assert_close(getattr(test, name), expected, rtol=1e-4, atol=1e-5)
    assert not any("test_fc" in k for k in model.state_dict())  # the fused fc is not stored


def test_ssn_post_process_equals_the_mmaction2_evaluation_steps(ssn_golden_model):
    data, model = ssn_golden_model
    with torch.no_grad():
        out = model(pixel_values=data["test_input"], **data["test_kwargs"])
    got = model.post_process(out, [{"duration_second": 20.0}])[0]
    reference = data["extra"]["test_output"]
    detections = ssn_results_to_detections(reference, [{"video_id": "v"}], top_k=2000)
    expected = []
    for class_idx, per_video in enumerate(detections):
        for row in temporal_nms(perform_regression(per_video["v"]), 0.2) if "v" in per_video else []:
            expected.append((row[2], class_idx, row[0] * 20.0, row[1] * 20.0))
    expected.sort(key=lambda e: -e[0])
    assert [p["label"] for p in got] == [e[1] for e in expected]
    assert [p["score"] for p in got] == pytest.approx([e[0] for e in expected], rel=1e-4)
    assert [v for p in got for v in p["segment"]] == pytest.approx([v for e in expected for v in e[2:]],
                                                                   rel=1e-4, abs=1e-5)


def test_ssn_post_process_hand_worked():
    """Two proposals, two classes, no regression: softmax(activity[1:]) * exp(completeness), NMS at 0.2."""
    config = SSNConfig(backbone=dict(type="ResNet", depth=18, pretrained=None),
                       cls_head=dict(type="SSNHead", in_channels=512, num_classes=2, use_regression=False,
                                     consensus=dict(type="STPPTrain", stpp_stage=(1, 1, 1),
                                                    num_segments_list=(1, 1, 1))))
    model = SSNForTemporalActionLocalization(config)
    activity = torch.tensor([[0.0, math.log(3.0), 0.0], [5.0, 0.0, 0.0]])
    completeness = torch.tensor([[0.0, math.log(2.0)], [math.log(0.5), 0.0]])
    out = SSNOutput(activity_scores=activity, completeness_scores=completeness,
                    relative_proposal_list=torch.tensor([[[0.1, 0.5], [0.2, 0.5]]]))
    got = model.post_process(out, [{"duration_second": 10.0}])[0]
    # Proposal 0: softmax(log 3, 0) = (0.75, 0.25) times (1, 2) → class 0: 0.75, class 1: 0.5.
    # Proposal 1: (0.5, 0.5) times (0.5, 1) → class 0: 0.25, class 1: 0.5. IoU of the two is 0.75 > 0.2,
    # so per class only the better survives: class 0 proposal 0 (0.75); class 1 a tie at 0.5.
    assert [p["label"] for p in got] == [0, 1]
    assert got[0]["score"] == pytest.approx(0.75) and got[0]["segment"] == pytest.approx([1.0, 5.0])
    assert got[1]["score"] == pytest.approx(0.5)

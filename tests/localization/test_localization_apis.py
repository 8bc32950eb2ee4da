"""``build_model`` and ``train_model`` with mmaction2 localizer configs."""

import json

import numpy as np
import pytest
import torch

from videohub.apis import train_model
from videohub.builder import build_model
from videohub.data.datasets.builders import load_dataset
from videohub.errors import ConfigError


@pytest.mark.parametrize("cfg,cls,field", [
    (dict(type="BMN", temporal_dim=8, boundary_ratio=0.5, num_samples=4, num_samples_per_bin=2, feat_dim=8,
          soft_nms_alpha=0.4, soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9, post_process_top_k=10,
          hidden_dim_1d=8, hidden_dim_2d=8, hidden_dim_3d=8), "BMNForTemporalActionLocalization", "feat_dim"),
    (dict(type="TEM", temporal_dim=8, boundary_ratio=0.1, tem_feat_dim=6, tem_hidden_dim=8, tem_match_threshold=0.5),
     "TEMForTemporalActionLocalization", "tem_feat_dim"),
    (dict(type="PEM", pem_feat_dim=6, pem_hidden_dim=8, pem_u_ratio_m=1, pem_u_ratio_l=2,
          pem_high_temporal_iou_threshold=0.6, pem_low_temporal_iou_threshold=0.2, soft_nms_alpha=0.75,
          soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9, post_process_top_k=100),
     "PEMForTemporalActionLocalization", "pem_feat_dim"),
])
def test_build_model_of_localizer_configs(cfg, cls, field):
    model = build_model(cfg)
    assert type(model).__name__ == cls and getattr(model.config, field) == cfg[field]
    kwargs = model.config.localizer_kwargs()
    assert {k: kwargs[k] for k in cfg if k != "type"} == {k: v for k, v in cfg.items() if k != "type"}


def test_build_model_of_an_ssn_config_merges_test_cfg():
    cfg = dict(type="SSN", backbone=dict(type="ResNet", depth=18, pretrained=None),
               cls_head=dict(type="SSNHead", in_channels=512, num_classes=3))
    test_cfg = {"ssn": {"sampler": {"test_interval": 3, "batch_size": 2}, "evaluater": {"top_k": 10, "nms": 0.3}}}
    model = build_model(cfg, test_cfg=test_cfg)
    assert model.config.test_cfg == test_cfg and model.localizer.cls_head.num_classes == 3
    with pytest.raises(ConfigError, match="test_cfg is given both"):
        build_model(dict(cfg, test_cfg=test_cfg), test_cfg=test_cfg)


def test_train_model_trains_a_localizer(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "f").mkdir()
    database = {}
    for i in range(4):
        np.savetxt(tmp_path / "f" / f"v_{i}.csv", rng.standard_normal((8, 6)), delimiter=",", header="a,b,c,d,e,f",
                   comments="")
        database[f"v_{i}"] = {"duration_second": 8.0, "duration_frame": 128, "feature_frame": 128,
                              "annotations": [{"segment": [1.0, 4.0], "label": "a"}]}
    (tmp_path / "a.json").write_text(json.dumps(database))
    rows = load_dataset("activitynet_feature", tmp_path / "a.json", data_prefix=str(tmp_path / "f"),
                        cache_dir=str(tmp_path / "cache")).with_format("numpy")
    model = build_model(dict(type="TEM", temporal_dim=8, boundary_ratio=0.1, tem_feat_dim=6, tem_hidden_dim=8,
                             tem_match_threshold=0.5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = dict(work_dir=str(tmp_path / "work"), seed=0, total_epochs=2, data=dict(videos_per_gpu=2, val=rows),
               optimizer=dict(type="Adam", lr=0.01, weight_decay=0.0), lr_config=dict(policy="fixed"))
    results = train_model(model, rows, cfg, validate=True)
    assert results["completed_steps"] == 4 and results["eval_samples"] == 4
    assert 0 <= results["eval_AR@100"] <= 1
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())

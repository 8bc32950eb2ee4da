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


TINY_TEM = dict(type="TEM", temporal_dim=8, boundary_ratio=0.1, tem_feat_dim=6, tem_hidden_dim=8,
                tem_match_threshold=0.5)


def write_features(root):
    """Four videos of 8 snippets x 6 channels in mmaction2's feature layout; ``root/a.json``."""
    rng = np.random.default_rng(0)
    (root / "f").mkdir()
    database = {}
    for i in range(4):
        np.savetxt(root / "f" / f"v_{i}.csv", rng.standard_normal((8, 6)), delimiter=",", header="a,b,c,d,e,f",
                   comments="")
        database[f"v_{i}"] = {"duration_second": 8.0, "duration_frame": 128, "feature_frame": 128,
                              "annotations": [{"segment": [1.0, 4.0], "label": "a"}]}
    (root / "a.json").write_text(json.dumps(database))


def test_train_model_trains_a_localizer(tmp_path):
    write_features(tmp_path)
    rows = load_dataset("activitynet_feature", tmp_path / "a.json", data_prefix=str(tmp_path / "f"),
                        cache_dir=str(tmp_path / "cache")).with_format("numpy")
    model = build_model(TINY_TEM)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = dict(work_dir=str(tmp_path / "work"), seed=0, total_epochs=2, data=dict(videos_per_gpu=2, val=rows),
               optimizer=dict(type="Adam", lr=0.01, weight_decay=0.0), lr_config=dict(policy="fixed"))
    results = train_model(model, rows, cfg, validate=True)
    assert results["completed_steps"] == 4 and results["eval_samples"] == 4
    assert 0 <= results["eval_AR@100"] <= 1
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_train_model_reads_the_feature_dataset_config_as_the_rows(tmp_path, fresh_accelerate, monkeypatch):
    """The mmaction2 ``ActivityNetDataset`` dict of the BMN/TEM configs trains exactly as the builder's rows."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf_cache"))  # the dict's rows go there
    write_features(tmp_path)
    rows = load_dataset("activitynet_feature", tmp_path / "a.json", data_prefix=str(tmp_path / "f"),
                        cache_dir=str(tmp_path / "cache")).with_format("numpy")
    pipeline = [dict(type="LoadLocalizationFeature"), dict(type="GenerateLocalizationLabels"),
                dict(type="Collect", keys=["raw_feature", "gt_bbox"], meta_name="video_meta", meta_keys=["video_name"]),
                dict(type="ToTensor", keys=["raw_feature"])]
    dataset = dict(type="ActivityNetDataset", ann_file=str(tmp_path / "a.json"), pipeline=pipeline,
                   data_prefix=str(tmp_path / "f"))
    torch.manual_seed(0)
    a = build_model(TINY_TEM)
    b = build_model(TINY_TEM)
    b.load_state_dict(a.state_dict())

    def cfg(name, val):
        return dict(work_dir=str(tmp_path / name), seed=0, max_train_steps=3, data=dict(videos_per_gpu=2, val=val),
                    optimizer=dict(type="Adam", lr=0.01), evaluation=dict(metrics=["AR@AN"]))

    from_rows = train_model(a, rows, cfg("rows", rows), validate=True)
    from_dict = train_model(b, dataset, cfg("dict", dataset), validate=True)
    assert from_dict == pytest.approx(from_rows) and from_dict["eval_samples"] == 4
    for key, value in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[key], value)
    assert (tmp_path / "hf_cache").is_dir()


# ----------------------------------------------------------------------------- PEM and SSN through train_model
PEM_MODEL = dict(type="PEM", pem_feat_dim=32, pem_hidden_dim=16, pem_u_ratio_m=1, pem_u_ratio_l=2,
                 pem_high_temporal_iou_threshold=0.6, pem_low_temporal_iou_threshold=0.2, soft_nms_alpha=0.75,
                 soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9, post_process_top_k=100)


def pem_dataset_cfg(root, split, top_k):
    """The ``ActivityNetDataset`` dict of mmaction2's bsn_pem config (its pipeline, our paths)."""
    keys = ["bsp_feature", "reference_temporal_iou"] if split == "train" else [
        "bsp_feature", "tmin", "tmax", "tmin_score", "tmax_score"]
    pipeline = [dict(type="LoadProposals", top_k=top_k, pgm_proposals_dir=str(root / "pgm_proposals"),
                     pgm_features_dir=str(root / "pgm_features")),
                dict(type="Collect", keys=keys, meta_name="video_meta", meta_keys=[]),
                dict(type="ToTensor", keys=["bsp_feature"])]
    return dict(type="ActivityNetDataset", ann_file=str(root / f"{split}.json"), pipeline=pipeline,
                data_prefix=str(root / "features"))


def pem_cfg(root, work_dir, **data):
    return dict(work_dir=str(work_dir), seed=0, total_epochs=20, max_train_steps=4,
                optimizer=dict(type="Adam", lr=0.01, weight_decay=1e-5), lr_config=dict(policy="step", step=10),
                evaluation=dict(interval=1, metrics=["AR@AN"]), checkpoint_config=dict(interval=1),
                data=dict(videos_per_gpu=2, **data))


def _accelerator():
    from accelerate import Accelerator

    return Accelerator(cpu=True)


def test_train_model_trains_pem_from_the_mmaction2_dataset_config(tmp_path, small_pem_data, fresh_accelerate):
    from videohub import AutoVideoModel
    from videohub.localization.pem_training import evaluate_pem, load_pem_samples

    root, splits = small_pem_data
    model = build_model(PEM_MODEL)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = pem_cfg(root, tmp_path / "work", val=pem_dataset_cfg(root, "val", 1000), test=pem_dataset_cfg(root, "val", 5))
    results = train_model(model, pem_dataset_cfg(root, "train", 500), cfg, validate=True,
                          test=dict(test_best=False, test_last=True))
    assert results["completed_steps"] == 4 and np.isfinite(results["train_loss"])
    assert results["eval_samples"] == len(splits["val"]) == 3
    assert (tmp_path / "work" / "step_3").is_dir()  # checkpoint_config.interval=1: 6 videos / 2 = 3 steps an epoch
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    # the evaluation is that of the trained weights on the validation videos' 1000 proposals
    reloaded = AutoVideoModel.from_pretrained(str(tmp_path / "work" / "latest_model"))
    rows = load_dataset("activitynet", root / "val.json", cache_dir=str(tmp_path / "cache"))
    samples = load_pem_samples(list(rows), str(root / "pgm_proposals"), str(root / "pgm_features"), 1000)
    expected, _, _ = evaluate_pem(reloaded, samples, _accelerator())
    assert {k: results[k] for k in expected} == pytest.approx(expected)
    assert {"eval_AR@1", "eval_AR@5", "eval_AR@10", "eval_AR@100", "eval_auc"} <= set(results)
    # test_last: the same weights on cfg.data.test, whose LoadProposals keeps 5 proposals a video
    few, _, _ = evaluate_pem(reloaded, [dict(s, **{k: s[k][:5] for k in ("bsp_feature", "tmin", "tmax", "tmin_score",
                                                                          "tmax_score", "reference_temporal_iou")})
                                        for s in samples], _accelerator(), prefix="test_last")
    assert {k: results[k] for k in few} == pytest.approx(few)
    assert results["test_last_auc"] != pytest.approx(results["eval_auc"])  # not the validation data again
    features = torch.as_tensor(samples[0]["bsp_feature"][None])
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_features=features).proposal_scores,
                                   model(input_features=features).proposal_scores)


def test_train_model_trains_ssn_on_an_ssn_dataset(tmp_path, small_ssn_data, fresh_accelerate):
    from localization.synthetic_localization import TINY_SSN

    from videohub import AutoVideoModel
    from videohub.localization.ssn_training import (TEST_KEYS, evaluate_ssn_model, load_ssn_dataset,
                                                    regression_constants)

    root, blocks = small_ssn_data
    fields = json.loads(TINY_SSN)
    model = build_model(dict(type="SSN", **fields))
    train = load_ssn_dataset(str(root / "train_proposals.txt"), str(root / "frames"), model.config, False,
                             input_size=28, cache_dir=str(tmp_path / "cache"))
    # the val set as in mmaction2's ssn test config (test_mode defaults to True for cfg.data.val)
    test_pipeline = [
        dict(type="SampleProposalFrames", clip_len=1, body_segments=5, aug_segments=(2, 2), aug_ratio=0.5,
             mode="test", test_interval=2),
        dict(type="RawFrameDecode"), dict(type="Resize", scale=(-1, 32)), dict(type="CenterCrop", crop_size=28),
        dict(type="Normalize", mean=[104, 117, 128], std=[1, 1, 1], to_bgr=True),
        dict(type="FormatShape", input_format="NCHW"),
        dict(type="Collect", keys=list(TEST_KEYS), meta_keys=[]), dict(type="ToTensor", keys=list(TEST_KEYS))]
    val = dict(type="SSNDataset", ann_file=str(root / "val_proposals.txt"), data_prefix=str(root / "frames"),
               train_cfg=fields["train_cfg"], test_cfg=fields["test_cfg"], aug_ratio=0.5, pipeline=test_pipeline)
    cfg = dict(work_dir=str(tmp_path / "work"), seed=1, max_train_steps=3, data=dict(videos_per_gpu=1, val=val),
               optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-6),
               optimizer_config=dict(grad_clip=dict(max_norm=35, norm_type=2)), evaluation=dict(metrics=["mAP"]))
    results = train_model(model, train, cfg, validate=True)
    assert results["completed_steps"] == 3 and np.isfinite(results["train_loss"])
    assert results["eval_samples"] == len(blocks["val"]) == 3
    reloaded = AutoVideoModel.from_pretrained(str(tmp_path / "work" / "latest_model"))
    # the saved model keeps the training file's regression constants, and the evaluation used them
    np.testing.assert_allclose(regression_constants(reloaded.config), train.reg_norm_consts)
    expected_set = load_ssn_dataset(str(root / "val_proposals.txt"), str(root / "frames"), reloaded.config, True,
                                    input_size=28, cache_dir=str(tmp_path / "cache"),
                                    reg_normalize_constants=regression_constants(reloaded.config))
    expected, _ = evaluate_ssn_model(reloaded, expected_set, _accelerator())
    assert {k: results[k] for k in expected} == pytest.approx(expected)
    assert {"eval_mAP@0.1", "eval_mAP@0.5", "eval_mAP@0.9"} <= set(results)
    item = expected_set[0]
    inputs = dict(pixel_values=item["imgs"][None].float(), proposal_tick_list=item["proposal_tick_list"],
                  scale_factor_list=item["scale_factor_list"].float(),
                  reg_norm_consts=torch.as_tensor(item["reg_norm_consts"]).float())
    model.eval()
    with torch.no_grad():
        a, b = reloaded(**inputs), model(**inputs)
    torch.testing.assert_close(a.activity_scores, b.activity_scores)
    torch.testing.assert_close(a.completeness_scores, b.completeness_scores)
    torch.testing.assert_close(a.bbox_preds, b.bbox_preds)


def test_train_model_names_the_data_a_localizer_expects(tmp_path, small_pem_data, small_ssn_data,
                                                          fresh_accelerate):
    from localization.synthetic_localization import TINY_SSN

    pem_root, _ = small_pem_data
    ssn_root, _ = small_ssn_data
    pem = build_model(PEM_MODEL)
    ssn_dict = dict(type="SSNDataset", ann_file=str(ssn_root / "train_proposals.txt"), pipeline=[],
                    data_prefix=str(ssn_root / "frames"))
    cfg = pem_cfg(pem_root, tmp_path / "work")
    with pytest.raises(ConfigError, match="videohub-pem model expects PEM samples .* got a SSNDataset config dict"):
        train_model(pem, ssn_dict, cfg)
    features = dict(pem_dataset_cfg(pem_root, "train", 500), pipeline=[dict(type="LoadLocalizationFeature")])
    with pytest.raises(ConfigError, match="pipeline has no LoadProposals step"):
        train_model(pem, features, cfg)
    with pytest.raises(ConfigError, match=r"its items lack \['reference_temporal_iou'\]"):
        train_model(pem, [{"bsp_feature": np.zeros((3, 32), np.float32)}], cfg)
    with pytest.raises(ConfigError, match="test_best is not available for localizers"):
        train_model(pem, pem_dataset_cfg(pem_root, "train", 500), cfg, test=dict(test_best=True))
    with pytest.raises(ConfigError, match="cfg.data.val is missing"):
        train_model(pem, pem_dataset_cfg(pem_root, "train", 500), cfg, validate=True)
    with pytest.raises(ConfigError, match=r"cfg.evaluation.metrics \['mAP'\] .* supported: AR@AN"):
        train_model(pem, pem_dataset_cfg(pem_root, "train", 500), dict(cfg, evaluation=dict(metrics=["mAP"])))
    ssn = build_model(dict(type="SSN", **json.loads(TINY_SSN)))
    cfg = dict(cfg, evaluation=dict(metrics=["mAP"]))
    with pytest.raises(ConfigError, match="videohub-ssn model expects an SSNDataset .* got a list"):
        train_model(ssn, [{"bsp_feature": np.zeros((3, 32), np.float32)}], cfg)
    train = dict(ssn_dict, train_cfg=ssn.config.train_cfg, test_cfg=ssn.config.test_cfg, aug_ratio=0.5)
    with pytest.raises(ConfigError, match=r"cfg.data.val: SSN evaluation \(mAP\) needs an SSNDataset with "
                                          "test_mode=True"):
        train_model(ssn, train, dict(cfg, data=dict(videos_per_gpu=1, val=dict(train, test_mode=False))),
                    validate=True)
    with pytest.raises(ConfigError, match=r"train_model dataset: SSN training needs an SSNDataset with "
                                          "test_mode=False"):
        train_model(ssn, dict(train, test_mode=True), cfg)

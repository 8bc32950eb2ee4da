"""Localization, HVU, AVA and SSN-proposal steps, checked by hand."""

import types

import numpy as np
import pytest
import torch

import videohub.data.pipelines  # noqa: F401  (registers every step)
from videohub.errors import AnnotationError, ConfigError, ShapeError
from videohub.registry import PIPELINES


def test_load_localization_feature_transposes_csv(tmp_path):
    (tmp_path / "v1.csv").write_text("f0,f1,f2\n1,2,3\n4,5,6\n")
    out = PIPELINES.build(dict(type="LoadLocalizationFeature"))(dict(video_name="v1", data_prefix=str(tmp_path)))
    assert out["raw_feature"].dtype == np.float32
    assert out["raw_feature"].tolist() == [[1, 4], [2, 5], [3, 6]]
    with pytest.raises(AnnotationError, match="v2.csv"):
        PIPELINES.build(dict(type="LoadLocalizationFeature"))(dict(video_name="v2", data_prefix=str(tmp_path)))
    (tmp_path / "bad.csv").write_text("a,b\n1,x\n")
    with pytest.raises(AnnotationError, match="bad.csv"):
        PIPELINES.build(dict(type="LoadLocalizationFeature"))(dict(video_name="bad", data_prefix=str(tmp_path)))
    with pytest.raises(ConfigError):
        PIPELINES.build(dict(type="LoadLocalizationFeature", raw_feature_ext=".npy"))


def test_generate_localization_labels_by_hand():
    results = dict(
        duration_frame=100,
        duration_second=10.0,
        feature_frame=80,
        annotations=[dict(segment=[2.0, 4.0]), dict(segment=[-1.0, 9.0])],
    )
    out = PIPELINES.build(dict(type="GenerateLocalizationLabels"))(results)
    # the features cover 80 / 100 * 10 = 8 s
    assert np.allclose(out["gt_bbox"], [[0.25, 0.5], [0.0, 1.0]])


def test_load_proposals(tmp_path):
    rows = "\n".join(f"{i / 10},{i / 10 + 0.2},0.{i},0.{i + 1},0.5,0.{9 - i}" for i in range(5))
    (tmp_path / "v.csv").write_text("tmin,tmax,tmin_score,tmax_score,score,match_iou\n" + rows + "\n")
    np.save(tmp_path / "v.npy", np.arange(15, dtype=np.float64).reshape(5, 3))
    step = PIPELINES.build(
        dict(type="LoadProposals", top_k=3, pgm_proposals_dir=str(tmp_path), pgm_features_dir=str(tmp_path))
    )
    out = step(dict(video_name="v"))
    assert np.allclose(out["tmin"], [0.0, 0.1, 0.2]) and np.allclose(out["tmax"], [0.2, 0.3, 0.4])
    assert np.allclose(out["tmin_score"], [0.0, 0.1, 0.2]) and np.allclose(out["reference_temporal_iou"], [0.9, 0.8, 0.7])
    assert out["bsp_feature"].dtype == np.float32 and out["bsp_feature"].tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    np.save(tmp_path / "w.npy", np.array([None], dtype=object), allow_pickle=True)
    (tmp_path / "w.csv").write_text((tmp_path / "v.csv").read_text())
    with pytest.raises(AnnotationError, match="w.npy"):
        step(dict(video_name="w"))


def test_load_hvu_label_by_hand():
    step = PIPELINES.build(dict(type="LoadHVULabel"))
    assert repr(step) == "LoadHVULabel(hvu_initialized=False)"
    results = dict(
        label={"action": [1], "object": [0, 2], "unknown": [5]},
        categories=["action", "attribute", "object"],
        category_nums=[2, 3, 4],
    )
    out = step(results)
    # slices: action [0, 2), attribute [2, 5), object [5, 9)
    assert out["label"].tolist() == [0, 1, 0, 0, 0, 1, 0, 1, 0]
    assert out["mask"].tolist() == [1, 1, 0, 0, 0, 1, 1, 1, 1]
    assert out["category_mask"].tolist() == [1, 0, 1]
    assert isinstance(out["label"], torch.Tensor) and repr(step) == "LoadHVULabel(hvu_initialized=True)"
    with pytest.raises(AnnotationError, match="out of range"):
        step(dict(results, label={"action": [2]}))


def test_sample_ava_frames_by_hand():
    step = PIPELINES.build(dict(type="SampleAVAFrames", clip_len=4, frame_interval=3))
    results = dict(fps=30, timestamp=902, timestamp_start=900, shot_info=(0, 300))
    np.random.seed(6)
    out = step(dict(results))
    np.random.seed(6)
    skips = np.random.randint(-2, 2, size=4)  # (-3) // 2 = -2 ... (3 + 1) // 2 = 2
    centre = 30 * 2 + 1
    expected = np.arange(centre - 2 * 3, centre + 2 * 3, 3) + skips
    assert out["frame_inds"].tolist() == expected.tolist()
    assert out["num_clips"] == 1 and out["crop_quadruple"].tolist() == [0, 0, 1, 1]
    test = PIPELINES.build(dict(type="SampleAVAFrames", clip_len=4, frame_interval=3, test_mode=True))
    out = test(dict(results, shot_info=(0, 60)))
    assert out["frame_inds"].tolist() == [55, 58, 59, 59]  # clipped to the shot's last frame
    assert repr(test) == "SampleAVAFrames(clip_len=4, frame_interval=3, test_mode=True)"


def test_sample_proposal_frames_val_and_test_by_hand():
    proposal = types.SimpleNamespace(start_frame=40, end_frame=60)
    step = PIPELINES.build(
        dict(type="SampleProposalFrames", clip_len=1, body_segments=2, aug_segments=[1, 1], aug_ratio=0.5, mode="val")
    )
    out = step(dict(total_frames=100, start_index=0, out_proposals=[[(0, proposal)]]))
    # duration 20, valid_length 19, starting stage [30, 40): 9, ending stage [60, 69]: 9
    # val offsets: starting int(9/1/2)=4 -> 34; course 19/2=9.5 -> [4, 14] -> 44, 54; ending 4 -> 64
    assert out["frame_inds"].tolist() == [34, 44, 54, 64]
    assert out["num_clips"] == 4 and out["num_proposals"] == 1
    test = PIPELINES.build(
        dict(type="SampleProposalFrames", clip_len=2, body_segments=2, aug_segments=[1, 1], aug_ratio=(0.5, 0.5), mode="test", test_interval=10)
    )
    out = test(dict(total_frames=35, start_index=1))
    assert out["frame_inds"].tolist() == [1, 2, 11, 12, 21, 22, 31, 32]
    train = PIPELINES.build(
        dict(type="SampleProposalFrames", clip_len=1, body_segments=2, aug_segments=[1, 1], aug_ratio=0.5, seed=0)
    )
    inds = train(dict(total_frames=100, start_index=0, out_proposals=[[(0, dict(start_frame=40, end_frame=60))]] * 2))
    assert inds["frame_inds"].shape == (8,) and inds["num_proposals"] == 2
    f = inds["frame_inds"][:4]
    assert 30 <= f[0] < 40 and 40 <= f[1] < 50 and 50 <= f[2] < 60 and 60 <= f[3] < 70
    with pytest.raises(ConfigError):
        PIPELINES.build(dict(type="SampleProposalFrames", clip_len=1, body_segments=2, aug_segments=[1, 1], aug_ratio="x"))


def test_dense_and_untrimmed_reprs_and_errors():
    step = PIPELINES.build(dict(type="UntrimmedSampleFrames", clip_len=3, frame_interval=4))
    out = step(dict(total_frames=9, start_index=0))
    # centres 2, 6 -> [1, 2, 3], [5, 6, 7]
    assert out["frame_inds"].tolist() == [1, 2, 3, 5, 6, 7] and out["num_clips"] == 2
    with pytest.warns(DeprecationWarning):
        PIPELINES.build(dict(type="UntrimmedSampleFrames", start_index=1))
    with pytest.raises(ShapeError):
        PIPELINES.build(dict(type="FormatShape", input_format="NCTHW"))(dict(imgs=np.zeros((3, 2, 2)), num_clips=1, clip_len=3))

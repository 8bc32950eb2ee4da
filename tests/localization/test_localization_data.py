"""ActivityNet feature builder (features + annotation JSON) and SSN proposal-file data."""

import json

import numpy as np
import pytest

from videohub.data.datasets.activitynet import normalized_segments, read_feature_csv
from videohub.data.datasets.builders import load_dataset
from videohub.data.datasets.ssn import SSNDataset
from videohub.errors import AnnotationError, ConfigError
from videohub.localization.ssn_utils import SSN_THUMOS_TEST_CFG, SSN_THUMOS_TRAIN_CFG


def write_features(folder, name, array):
    """``array`` ``[T, C]`` as mmaction2's feature CSV (header + one row per snippet)."""
    header = ",".join(f"f{i}" for i in range(array.shape[1]))
    np.savetxt(folder / f"{name}.csv", array, delimiter=",", header=header, comments="")


@pytest.fixture
def anet(tmp_path):
    features = tmp_path / "features"
    features.mkdir()
    rng = np.random.default_rng(0)
    arrays = {name: rng.standard_normal((6, 3)).astype(np.float32) for name in ("v_a", "v_b", "v_c")}
    for name, array in arrays.items():
        write_features(features, name, array)
    database = {name: {"duration_second": 12.0, "duration_frame": 300, "feature_frame": 240,
                       "annotations": [{"segment": [1.2, 4.8], "label": "x"}, {"segment": [6.0, 30.0], "label": "y"}]}
                for name in arrays}
    ann = tmp_path / "anet.json"
    ann.write_text(json.dumps(database))
    return tmp_path, ann, features, arrays


def test_activitynet_feature_rows(anet):
    tmp_path, ann, features, arrays = anet
    ds = load_dataset("activitynet_feature", ann, data_prefix=str(features), temporal_dim=6, feat_dim=3,
                      cache_dir=str(tmp_path / "cache"))
    assert len(ds) == 3
    by_name = {row["video_name"]: row for row in ds}
    for name, array in arrays.items():
        np.testing.assert_allclose(np.asarray(by_name[name]["raw_feature"]), array.T, rtol=1e-6)
    # featured duration 240 / 300 * 12 = 9.6 s: 1.2 / 9.6 = 0.125, 4.8 / 9.6 = 0.5, the second clipped to 1.
    np.testing.assert_allclose(by_name["v_a"]["gt_bbox"], [[0.125, 0.5], [0.625, 1.0]])


def test_missing_feature_file_raises_or_is_skipped_and_counted(anet, monkeypatch):
    tmp_path, ann, features, _ = anet
    (features / "v_b.csv").unlink()
    with pytest.raises(AnnotationError, match="v_b.csv"):
        load_dataset("activitynet_feature", ann, data_prefix=str(features), cache_dir=str(tmp_path / "c1"))
    warnings = []
    from videohub.data.datasets import builders

    monkeypatch.setattr(builders.logger, "warning", lambda msg, *args: warnings.append(msg % args))
    ds = load_dataset("activitynet_feature", ann, data_prefix=str(features), on_error="skip",
                      cache_dir=str(tmp_path / "c2"))
    assert sorted(ds["video_name"]) == ["v_a", "v_c"]
    assert len(warnings) == 1 and "1 video(s) skipped" in warnings[0] and "v_b.csv" in warnings[0]


def test_bad_feature_row_names_file_and_line(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(AnnotationError, match=r"v.csv line 3: expected 3 comma-separated numbers, got 2"):
        read_feature_csv(str(path))
    path.write_text("a,b\n1,2\n4,x\n")
    with pytest.raises(AnnotationError, match=r"v.csv line 3: expected numbers"):
        read_feature_csv(str(path))
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(AnnotationError, match="2 feature rows; expected temporal_dim=5"):
        read_feature_csv(str(path), temporal_dim=5)
    np.testing.assert_array_equal(read_feature_csv(str(path)), [[1, 3], [2, 4]])


def test_normalized_segments_match_the_pipeline_step():
    from videohub.data.pipelines.localization import GenerateLocalizationLabels

    info = {"duration_second": 10.0, "duration_frame": 250, "feature_frame": 200,
            "annotations": [{"segment": [-1.0, 2.0]}, {"segment": [3.0, 9.0]}]}
    expected = GenerateLocalizationLabels()(dict(info))["gt_bbox"]
    np.testing.assert_allclose(normalized_segments(info), expected)
    np.testing.assert_allclose(expected, [[0.0, 0.25], [0.375, 1.0]])


PROPOSALS = """# 0
video_a
100
1
1
1 10 40
2
1 0.8 0.9 12 38
0 0.0 0.0 60 90
# 1
video_b
80
1
1
2 5 30
1
2 x 0.9 6 28
"""


def test_ssn_proposal_file_errors_and_skips(tmp_path):
    path = tmp_path / "proposals.txt"
    path.write_text(PROPOSALS)
    with pytest.raises(AnnotationError, match=r"proposals.txt line 17"):
        load_dataset("ssn", path, data_prefix=str(tmp_path), cache_dir=str(tmp_path / "c1"))
    ds = load_dataset("ssn", path, data_prefix=str(tmp_path), on_error="skip", cache_dir=str(tmp_path / "c2"))
    assert ds["video_id"] == ["video_a"]


def test_ssn_dataset_accepts_a_float_aug_ratio(tmp_path):
    path = tmp_path / "proposals.txt"
    path.write_text(PROPOSALS.replace("2 x 0.9", "2 0.7 0.9"))
    ds = SSNDataset(str(path), [], SSN_THUMOS_TRAIN_CFG, SSN_THUMOS_TEST_CFG, data_prefix=str(tmp_path),
                    aug_ratio=0.25)
    assert ds.aug_ratio == (0.25, 0.25) and len(ds) == 2
    # as the shipped configs give it, through the dataset registry (its argument check reads the Union annotation)
    from videohub.data.datasets import build_dataset

    built = build_dataset(dict(type="SSNDataset", ann_file=str(path), pipeline=[], train_cfg=SSN_THUMOS_TRAIN_CFG,
                               test_cfg=SSN_THUMOS_TEST_CFG, data_prefix=str(tmp_path), aug_ratio=0.5))
    assert built.aug_ratio == (0.5, 0.5) and len(built) == 2
    with pytest.raises(ConfigError, match=r"dataset 'SSNDataset': missing required argument\(s\) \['train_cfg', 'test_cfg', 'data_prefix'\]"):
        build_dataset(dict(type="SSNDataset", ann_file=str(path), pipeline=[], aug_ratio=0.5))
    with pytest.raises(ConfigError, match=r"argument 'filename_tmpl' is 3 \(int\); expected a str"):
        build_dataset(dict(type="SSNDataset", ann_file=str(path), pipeline=[], train_cfg=SSN_THUMOS_TRAIN_CFG,
                           test_cfg=SSN_THUMOS_TEST_CFG, data_prefix=str(tmp_path), filename_tmpl=3))


def test_ssn_missing_frame_folder_names_file_and_line_or_is_skipped_and_counted(tmp_path, monkeypatch):
    path = tmp_path / "proposals.txt"
    path.write_text(PROPOSALS.replace("2 x 0.9", "2 0.7 0.9"))
    frames = tmp_path / "frames"
    (frames / "video_a").mkdir(parents=True)
    cache = str(tmp_path / "cache")
    # without the check the rows load (mmaction2 reads frames only when sampling) ...
    assert load_dataset("ssn", path, data_prefix=str(frames), cache_dir=cache)["video_id"] == ["video_a", "video_b"]
    # ... with it, the block of video_b (its id is line 11 of the file) is the error, not a cached result
    with pytest.raises(AnnotationError, match=r"proposals.txt line 11: frame folder .*video_b.* does not exist"):
        load_dataset("ssn", path, data_prefix=str(frames), check_frame_dirs=True, cache_dir=cache)
    from videohub.data.datasets import builders

    warnings = []
    monkeypatch.setattr(builders.logger, "warning", lambda msg, *args: warnings.append(msg % args))
    ds = load_dataset("ssn", path, data_prefix=str(frames), check_frame_dirs=True, on_error="skip", cache_dir=cache)
    assert ds["video_id"] == ["video_a"]
    assert len(warnings) == 1 and "1 annotation line(s) skipped" in warnings[0] and "video_b" in warnings[0]
    with pytest.raises(AnnotationError, match=r"annotation file .*missing.txt.* not found"):
        load_dataset("ssn", tmp_path / "missing.txt", data_prefix=str(frames), cache_dir=cache)


def test_ssn_dataset_over_builder_rows_equals_the_parsed_file(tmp_path):
    path = tmp_path / "proposals.txt"
    path.write_text(PROPOSALS.replace("2 x 0.9", "2 0.7 0.9"))
    rows = load_dataset("ssn", path, data_prefix=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    parsed = SSNDataset(str(path), [], SSN_THUMOS_TRAIN_CFG, SSN_THUMOS_TEST_CFG, data_prefix=str(tmp_path))
    from_rows = SSNDataset(str(path), [], SSN_THUMOS_TRAIN_CFG, SSN_THUMOS_TEST_CFG, data_prefix=str(tmp_path),
                           video_infos=list(rows))
    assert len(from_rows) == len(parsed) == 2
    for a, b in zip(parsed.video_infos, from_rows.video_infos):
        assert a["video_id"] == b["video_id"] and a["total_frames"] == b["total_frames"]
        for key in ("gts", "proposals"):
            assert [vars(x) for x in a[key]] == [vars(x) for x in b[key]]
    np.testing.assert_allclose(from_rows.reg_norm_consts, parsed.reg_norm_consts)
    assert from_rows._sources[1] == parsed._sources[1] and "line 11" in parsed._sources[1]
    assert len(from_rows.positive_pool) == len(parsed.positive_pool) == 3

"""PoseDataset: pickles read by the arrays-only unpickler, the safe .npz form, splits, checks, the HF builder."""

import os
import pickle

import numpy as np
import pytest

from videohub.data.datasets import PoseDataset, convert_pose_annotations, load_dataset, make_transform, read_pose_annotations
from videohub.errors import AnnotationError, ConfigError

PIPELINE = [dict(type="PaddingWithLoop", clip_len=6), dict(type="PoseDecode"),
            dict(type="FormatGCNInput", input_format="NCTVM", num_person=2)]


def sample(name, label, frames=4, persons=1, seed=0, **extra):
    rs = np.random.RandomState(seed)
    return dict(frame_dir=name, label=np.int64(label), img_shape=(480, 640), original_shape=(480, 640),
                total_frames=frames, keypoint=rs.rand(persons, frames, 17, 2).astype(np.float16) * 100,
                keypoint_score=rs.rand(persons, frames, 17).astype(np.float32), **extra)


@pytest.fixture
def ann(tmp_path):
    content = {"split": {"xsub_train": ["a", "c"], "xsub_val": ["b"]},
               "annotations": [sample("a", 0, seed=1), sample("b", 1, frames=3, persons=2, seed=2), sample("c", 2, seed=3)]}
    path = tmp_path / "ann.pkl"
    path.write_bytes(pickle.dumps(content, protocol=4))
    return path, content


def test_pickle_split_and_pipeline(ann):
    path, content = ann
    ds = PoseDataset(str(path), PIPELINE, split="xsub_train", data_prefix="clips")
    assert [info["frame_dir"] for info in ds.video_infos] == ["clips/a", "clips/c"]
    out = ds[1]
    assert out["keypoint"].shape == (3, 6, 17, 2) and out["keypoint"].dtype == np.float32
    kp = content["annotations"][2]["keypoint"].astype(np.float32)
    np.testing.assert_array_equal(out["keypoint"][:2, 5, :, 0], kp[0, 1].T)  # frame 5 loops to frame 1
    np.testing.assert_array_equal(out["keypoint"][2, :4, :, 0], content["annotations"][2]["keypoint_score"][0])
    np.testing.assert_array_equal(out["keypoint"][..., 1], 0)  # a single person, padded to two
    assert out["label"] == 2 and ds.modality == "Pose" and ds.start_index == 0
    with pytest.raises(AnnotationError, match=r"no split 'test' \(splits: \['xsub_train', 'xsub_val'\]\)"):
        PoseDataset(str(path), PIPELINE, split="test")


def test_every_pickle_protocol_loads(tmp_path):
    data = [sample("a", 0)]
    for protocol in (2, 4, 5):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps(data, protocol=protocol))
        loaded = read_pose_annotations(str(path))
        np.testing.assert_array_equal(loaded[0]["keypoint"], data[0]["keypoint"])


class Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps([dict(sample("a", 0), payload=Exploit())]))
    with pytest.raises(AnnotationError, match=r"evil.pkl: refusing to unpickle (posix|nt).system"):
        PoseDataset(str(path), PIPELINE)


def test_convert_to_npz_round_trips(ann, tmp_path):
    path, content = ann
    dst = convert_pose_annotations(str(path), str(tmp_path / "safe" / "ann.npz"))
    loaded = read_pose_annotations(dst)
    assert loaded["split"] == content["split"]
    for got, ref in zip(loaded["annotations"], content["annotations"]):
        assert got["frame_dir"] == ref["frame_dir"] and got["label"] == ref["label"] and got["img_shape"] == (480, 640)
        assert got["keypoint"].dtype == np.float16
        np.testing.assert_array_equal(got["keypoint"], ref["keypoint"])
        np.testing.assert_array_equal(got["keypoint_score"], ref["keypoint_score"])
    a, b = PoseDataset(str(path), PIPELINE, split="xsub_val"), PoseDataset(dst, PIPELINE, split="xsub_val")
    np.testing.assert_array_equal(a[0]["keypoint"], b[0]["keypoint"])
    with pytest.raises(ConfigError, match="writes .npz files"):
        convert_pose_annotations(str(path), str(tmp_path / "x.json"))


@pytest.mark.parametrize("bad, message", [
    (dict(total_frames=0), "'total_frames' must be a positive int, got 0"),
    (dict(keypoint=np.zeros((1, 4, 17))), r"'keypoint' must be an array \(M, T, V, 2 or 3\), got \(1, 4, 17\)"),
    (dict(total_frames=9), "'keypoint' has 4 frames but total_frames is 9"),
    (dict(keypoint_score=np.zeros((1, 4, 16))), r"'keypoint_score' must be an array of shape \(1, 4, 17\)"),
])
def test_bad_samples_name_the_file_and_sample(tmp_path, bad, message):
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps([sample("ok", 0), dict(sample("x", 1), **bad)]))
    with pytest.raises(AnnotationError, match="bad.pkl sample 1: " + message):
        PoseDataset(str(path), PIPELINE)
    ds = PoseDataset(str(path), PIPELINE, on_error="skip")
    assert len(ds) == 1 and ds.skipped_annotations[0][0].endswith("bad.pkl sample 1")


def test_valid_ratio_and_box_threshold(tmp_path):
    data = [sample("a", 0, valid_frames=1, **{"valid@0.7": 4}, box_score=[0.9, 0.6, 0.75]),
            sample("b", 1, valid_frames=4, **{"valid@0.7": 1}, box_score=[0.1])]
    path = tmp_path / "k400.pkl"
    path.write_bytes(pickle.dumps(data))
    assert [i["frame_dir"] for i in PoseDataset(str(path), PIPELINE, valid_ratio=0.5).video_infos] == ["b"]
    kept = PoseDataset(str(path), PIPELINE, valid_ratio=0.5, box_thr="0.7").video_infos
    assert [i["frame_dir"] for i in kept] == ["a"]
    np.testing.assert_array_equal(kept[0]["anno_inds"], [0, 2])
    with pytest.raises(ConfigError, match="box_thr must be one of"):
        PoseDataset(str(path), PIPELINE, box_thr="0.65")


def test_hf_builder_rows_decode_lazily(ann, tmp_path):
    path, content = ann
    ds = load_dataset("pose", str(path), cache_dir=str(tmp_path / "cache"))
    assert len(ds) == 3 and ds[1]["frame_dir"] == "b" and ds[1]["img_shape"] == [480, 640]
    decoded = ds.with_transform(make_transform(PIPELINE))[1]
    expected = PoseDataset(str(path), PIPELINE)[1]["keypoint"]
    np.testing.assert_array_equal(np.asarray(decoded["keypoint"]), expected)
    val = load_dataset("PoseDataset", str(path), split="validation", pose_split="xsub_val",
                       cache_dir=str(tmp_path / "cache2"))
    assert val.num_rows == 1 and val[0]["frame_dir"] == "b" and val.split == "validation"


def test_batches_reach_a_skeleton_model_as_keypoints(ann):
    import torch

    import videohub
    from videohub.data.collate import VideoCollator

    path, content = ann
    pipeline = PIPELINE + [dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
                           dict(type="ToTensor", keys=["keypoint"])]
    ds = PoseDataset(str(path), pipeline)
    batch = VideoCollator()([ds[0], ds[1]])
    assert sorted(batch) == ["keypoints", "labels"] and batch["keypoints"].shape == (2, 3, 6, 17, 2)
    assert batch["labels"].tolist() == [0, 1]
    model = videohub.AutoVideoModel.from_config(videohub.STGCNConfig(num_labels=3, num_frames=6)).eval()
    with torch.no_grad():
        out = model(**batch)
    assert out.logits.shape == (2, 3) and out.loss is not None

"""Dataset classes (mmaction2 semantics) and the Hugging Face builders."""

import json
import os
import pickle
import sys
import types

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
from test_decoding_helpers import decode_all, encode_video, write_frames  # noqa: E402

from videohub.data.datasets import (  # noqa: E402
    AVADataset,
    ActivityNetDataset,
    AudioDataset,
    AudioFeatureDataset,
    AudioVisualDataset,
    HVUDataset,
    ImageDataset,
    RawframeDataset,
    RawVideoDataset,
    RepeatDataset,
    SSNDataset,
    VideoDataset,
    build_dataset,
    convert_ava_proposals,
    load_ava_proposals,
    load_dataset,
    make_transform,
    read_labelmap,
)
from videohub.errors import AnnotationError, ConfigError  # noqa: E402


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


# ----------------------------------------------------------------------------- recognition
def test_video_dataset_lines_and_prefix(tmp_path):
    ann = write(tmp_path / "a.txt", "a.mp4 1\n\nb/c.mp4 0\n")
    ds = VideoDataset(ann, [], data_prefix=str(tmp_path))
    assert ds.video_infos == [
        dict(filename=os.path.join(str(tmp_path), "a.mp4"), label=1),
        dict(filename=os.path.join(str(tmp_path), "b/c.mp4"), label=0),
    ]
    assert ds.start_index == 0 and ds.modality == "RGB"
    item = ds[1]
    assert item["start_index"] == 0 and item["modality"] == "RGB" and item["label"] == 0


def test_video_dataset_multi_class_onehot(tmp_path):
    ann = write(tmp_path / "a.txt", "a.mp4 1 3\nb.mp4 2\n")
    ds = VideoDataset(ann, [], multi_class=True, num_classes=5)
    assert ds.video_infos[0]["label"] == [1, 3]
    torch.testing.assert_close(ds[0]["label"], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0]))
    torch.testing.assert_close(ds[1]["label"], torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0]))


def test_video_dataset_json(tmp_path):
    ann = write(tmp_path / "a.json", json.dumps([{"filename": "x.mp4", "label": [3]}, {"filename": "y.mp4", "label": [1]}]))
    ds = VideoDataset(ann, [], data_prefix="root")
    assert ds.video_infos == [dict(filename="root/x.mp4", label=3), dict(filename="root/y.mp4", label=1)]
    ds = VideoDataset(ann, [], multi_class=True, num_classes=4)
    assert ds.video_infos[0]["label"] == [3]


def test_video_dataset_class_folders(tmp_path):
    for cls, names in {"jump": ["b.mp4", "a.mp4"], "abseil": ["z.avi"], "run": ["notes.txt"]}.items():
        os.makedirs(tmp_path / cls)
        for n in names:
            write(tmp_path / cls / n, "x")
    ds = VideoDataset(str(tmp_path), [])
    assert ds.classes == ["abseil", "jump", "run"]
    assert [(os.path.relpath(i["filename"], tmp_path), i["label"]) for i in ds.video_infos] == [
        ("abseil/z.avi", 0), ("jump/a.mp4", 1), ("jump/b.mp4", 1)]


def test_rawframe_dataset_options(tmp_path):
    ann = write(tmp_path / "r.txt", "d1 12 100 3\nd2 0 50 4 1\n")
    ds = RawframeDataset(ann, [], data_prefix="fr", with_offset=True, multi_class=True, num_classes=6,
                         filename_tmpl="{:04d}.jpg", start_index=0, modality="Flow")
    assert ds.video_infos == [
        dict(frame_dir="fr/d1", offset=12, total_frames=100, label=[3]),
        dict(frame_dir="fr/d2", offset=0, total_frames=50, label=[4, 1]),
    ]
    item = ds[1]
    assert item["filename_tmpl"] == "{:04d}.jpg" and item["modality"] == "Flow" and item["start_index"] == 0
    torch.testing.assert_close(item["label"], torch.tensor([0.0, 1, 0, 0, 1, 0]))
    plain = RawframeDataset(write(tmp_path / "p.txt", "d1 100 3\n"), [])
    assert plain.video_infos == [dict(frame_dir="d1", total_frames=100, label=3)]
    assert plain[0]["filename_tmpl"] == "img_{:05}.jpg" and plain[0]["start_index"] == 1


def test_rawframe_end_to_end_with_pipeline(tmp_path):
    frames = write_frames(str(tmp_path / "vid"), 9, tmpl="img_{:05}.png")
    ann = write(tmp_path / "r.txt", "vid 9 2\n")
    pipeline = [dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
                dict(type="RawFrameDecode")]
    ds = RawframeDataset(ann, pipeline, data_prefix=str(tmp_path), filename_tmpl="img_{:05}.png", test_mode=True)
    item = ds[0]
    # test-mode SampleFrames with 9 frames, 3 clips: offsets 1, 4, 7 (+ start_index 1)
    np.testing.assert_array_equal(item["frame_inds"], [2, 5, 8])
    for k, img in zip([2, 5, 8], item["imgs"]):
        np.testing.assert_array_equal(img, frames[k - 1])


def test_image_dataset_start_index_none(tmp_path):
    ds = ImageDataset(write(tmp_path / "i.txt", "a.jpg 2\n"), [])
    assert ds.start_index is None and ds.video_infos == [dict(filename="a.jpg", label=2)]


def test_rawvideo_dataset_sampling(tmp_path):
    ann = write(tmp_path / "rv.txt", "v/a 3 4 1 2\nv/b 5 2\nv/c 1 3 0\n")
    ds = RawVideoDataset(ann, [], clipname_tmpl="part_{}.mp4")
    assert [i["video_dir"] for i in ds.video_infos] == ["v/a", "v/c"]  # 'positive' keeps videos with positives
    import random

    random.seed(0)
    seen = {ds[0]["filename"] for _ in range(30)}
    assert seen == {"v/a/part_1.mp4", "v/a/part_2.mp4"}
    rand = RawVideoDataset(ann, [], clipname_tmpl="_{}.mp4", sampling_strategy="random")
    assert len(rand) == 3
    seen = {rand[1]["filename"] for _ in range(30)}
    assert seen == {"v/b_0.mp4", "v/b_1.mp4"}
    with pytest.raises(ConfigError, match="sampling_strategy"):
        RawVideoDataset(ann, [], sampling_strategy="all")


def test_audio_datasets(tmp_path):
    ann = write(tmp_path / "au.txt", "x 100 1\ny.wav 50 0\n")
    ds = AudioDataset(ann, [], data_prefix="aud")
    assert ds.video_infos == [dict(audio_path="aud/x.wav", total_frames=100, label=1),
                              dict(audio_path="aud/y.wav", total_frames=50, label=0)]
    assert ds.modality == "Audio" and ds[0]["modality"] == "Audio"
    feat = AudioFeatureDataset(ann, [], data_prefix="f")
    assert feat.video_infos[0]["audio_path"] == "f/x.npy"
    av_ds = AudioVisualDataset(write(tmp_path / "av.txt", "clip1 30 2\n"), [], audio_prefix="A", video_prefix="V",
                               data_prefix="F")
    assert av_ds.video_infos == [dict(audio_path="A/clip1.npy", filename="V/clip1.mp4", frame_dir="F/clip1",
                                      total_frames=30, label=2)]


def test_hvu_dataset(tmp_path):
    data = [{"filename": "a.mp4", "label": {"action": [1], "scene": [0, 2]}},
            {"filename": "b.mp4", "label": {"object": [3]}}]
    ann = write(tmp_path / "h.json", json.dumps(data))
    ds = HVUDataset(ann, [], tag_categories=["action", "scene", "object"], tag_category_nums=[2, 3, 4], data_prefix="p")
    assert ds.dataset_type == "video" and ds.start_index == 0
    assert ds.category2startidx == {"action": 0, "scene": 2, "object": 5}
    info = ds.video_infos[0]
    assert info["filename"] == "p/a.mp4" and info["categories"] == ["action", "scene", "object"]
    assert info["category_nums"] == [2, 3, 4]
    bad = write(tmp_path / "b.json", json.dumps([{"filename": "a.mp4", "label": {"scene": [3]}}]))
    with pytest.raises(AnnotationError, match=r"b.json line 1 \(entry 0\): tags \[3\] of category 'scene' out of range"):
        HVUDataset(bad, [], tag_categories=["action", "scene"], tag_category_nums=[2, 3])


def test_activitynet_dataset(tmp_path):
    db = {"v_abc": {"duration_second": 10.0, "duration_frame": 300, "feature_frame": 296, "fps": 30.0, "rfps": 30.0,
                    "annotations": [{"segment": [1.0, 4.5], "label": "Run"}]}}
    ds = ActivityNetDataset(write(tmp_path / "an.json", json.dumps(db)), [], data_prefix=str(tmp_path))
    item = ds[0]
    assert item["video_name"] == "v_abc" and item["data_prefix"] == str(tmp_path) and item["duration_frame"] == 300
    gt = ds._import_ground_truth()
    assert list(gt) == ["abc"] and gt["abc"].tolist() == [["1.0", "4.5", "Run"]]
    proposals, num = ds._import_proposals([{"video_name": "v_abc", "proposal_list": [{"segment": [1, 2], "score": 0.5}]}])
    assert num == 1 and proposals["abc"].tolist() == [[1, 2, 0.5]]
    out = tmp_path / "csv"
    ds.dump_results([("v_abc", np.array([[1, 2.0, 3, 4, 5]]))], str(out), "csv")
    assert open(out / "v_abc.csv").read().splitlines()[0] == "action,start,end,tmin,tmax"


AVA_CSV = """vid1,0902,0.1,0.2,0.3,0.4,12,0
vid1,0902,0.1,0.2,0.3,0.4,5,0
vid1,0902,0.5,0.5,0.9,0.9,7,1
vid1,0903,0.1,0.1,0.2,0.2,12,0
vid2,0902,0.0,0.0,1.0,1.0,80,3
"""
PBTXT = 'item {\n  name: "bend/bow"\n  id: 1\n}\nitem {\n  name: "dance"\n  label_id: 5\n}\nitem {\n  name: "run"\n  id: 12\n}\n'


def test_ava_dataset(tmp_path):
    ann = write(tmp_path / "ava.csv", AVA_CSV)
    excl = write(tmp_path / "ex.csv", "vid1,0903\n")
    ds = AVADataset(ann, excl, [], data_prefix="frames")
    assert [i["img_key"] for i in ds.video_infos] == ["vid1,0902", "vid2,0902"]
    item = ds[0]
    np.testing.assert_allclose(item["gt_bboxes"], [[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.9, 0.9]])
    assert item["gt_labels"].shape == (2, 81)
    assert np.flatnonzero(item["gt_labels"][0]).tolist() == [5, 12] and np.flatnonzero(item["gt_labels"][1]).tolist() == [7]
    assert item["entity_ids"].tolist() == [0, 1] and item["frame_dir"] == "frames/vid1"
    assert item["shot_info"] == (0, 27000) and item["fps"] == 30
    assert item["timestamp_start"] == 900 and item["timestamp_end"] == 1800
    assert "proposals" not in item
    assert len(AVADataset(ann, excl, [], test_mode=True)) == 3  # no exclusion in test mode


def test_ava_custom_classes_and_labelmap(tmp_path):
    label_file = write(tmp_path / "l.pbtxt", PBTXT)
    labelmap, ids = read_labelmap(label_file)
    assert labelmap == [{"id": 1, "name": "bend/bow"}, {"id": 5, "name": "dance"}, {"id": 12, "name": "run"}]
    assert ids == {1, 5, 12}
    ds = AVADataset(write(tmp_path / "a.csv", AVA_CSV), None, [], label_file=label_file, custom_classes=[5, 12],
                    num_classes=3)
    assert ds.custom_classes == (0, 5, 12)
    item = ds[0]  # vid1,0902: box 1 has actions 5 and 12 -> custom ids 1, 2; box 2 (action 7) dropped
    assert item["gt_labels"].tolist() == [[0.0, 1.0, 1.0]]
    with pytest.raises(ConfigError, match=r"custom_classes \[7\] are not in the label map"):
        AVADataset(ds.ann_file, None, [], label_file=label_file, custom_classes=[5, 7], num_classes=3)
    with pytest.raises(ConfigError, match="len\\(custom_classes\\) \\+ 1"):
        AVADataset(ds.ann_file, None, [], label_file=label_file, custom_classes=[5], num_classes=81)


def test_ava_proposals_safe_formats(tmp_path):
    proposals = {"vid1,0902": np.array([[0.0, 0.0, 0.5, 0.5, 0.95], [0.1, 0.1, 0.2, 0.2, 0.3], [0.2, 0.2, 0.4, 0.4, 0.91]]),
                 "vid2,0902": np.array([[0.0, 0.0, 1.0, 1.0, 0.5], [0.3, 0.3, 0.6, 0.6, 0.2]])}
    pkl = str(tmp_path / "p.pkl")
    with open(pkl, "wb") as f:
        pickle.dump(proposals, f)
    ann = write(tmp_path / "a.csv", AVA_CSV)
    with pytest.raises(ConfigError, match="allow_pickle_proposals=True"):
        AVADataset(ann, None, [], proposal_file=pkl)
    ds = AVADataset(ann, None, [], proposal_file=pkl, allow_pickle_proposals=True, person_det_score_thr=0.9)
    item = ds[0]
    np.testing.assert_allclose(item["proposals"], [[0, 0, 0.5, 0.5], [0.2, 0.2, 0.4, 0.4]])
    np.testing.assert_allclose(item["scores"], [0.95, 0.91])
    # vid2: no proposal reaches 0.9, so the best one (0.5) is the threshold
    np.testing.assert_allclose(ds[2]["proposals"], [[0, 0, 1, 1]])
    for ext in (".npz", ".json"):
        converted = convert_ava_proposals(pkl, str(tmp_path / f"p{ext}"))
        again = AVADataset(ann, None, [], proposal_file=converted)
        np.testing.assert_allclose(again[0]["proposals"], item["proposals"])
    missing = AVADataset(ann, None, [], proposal_file=str(tmp_path / "p.json"))
    assert missing[1]["proposals"].tolist() == [[0, 0, 1, 1]]  # key without proposals: whole frame


def test_ava_pickle_loader_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = str(tmp_path / "evil.pkl")
    with open(path, "wb") as f:
        pickle.dump({"vid1,0902": Evil()}, f)
    with pytest.raises(AnnotationError, match="refusing to unpickle"):
        load_ava_proposals(path, allow_pickle_proposals=True)


SSN_STANDARD = """# 0
video_a
100
1
2
1 10 30
2 60 80
5
1 0.8 0.9 12 30
2 0.1 0.9 62 70
0 0.0 0.0 0 100
1 0.05 0.0 35 55
2 0.75 1.0 61 80
# 1
video_b
50
1
0
1
1 0.6 0.7 0 10
"""

SSN_NORMALIZED = """# 0
video_a
100
1
2
1 0.1 0.3
2 0.6 0.8
5
1 0.8 0.9 0.12 0.30
2 0.1 0.9 0.62 0.70
0 0.0 0.0 0.0 1.0
1 0.05 0.0 0.35 0.55
2 0.75 1.0 0.61 0.80
"""


def _ssn_cfgs():
    train_cfg = dict(ssn=dict(
        assigner=dict(positive_iou_threshold=0.7, background_iou_threshold=0.01, incomplete_iou_threshold=0.3,
                      background_coverage_threshold=0.02, incomplete_overlap_threshold=0.01),
        sampler=dict(num_per_video=8, positive_ratio=1, background_ratio=1, incomplete_ratio=6,
                     add_gt_as_proposals=True)))
    test_cfg = dict(ssn=dict(sampler=dict(test_interval=6, batch_size=16),
                             evaluater=dict(top_k=2000, nms=0.2, softmax_before_filter=True, cls_top_k=2)))
    return train_cfg, test_cfg


@pytest.mark.parametrize("kind", ["standard", "normalized"])
def test_ssn_dataset(tmp_path, kind):
    name = "ssn.txt" if kind == "standard" else "normalized_ssn.txt"
    ann = write(tmp_path / name, SSN_STANDARD if kind == "standard" else SSN_NORMALIZED)
    train_cfg, test_cfg = _ssn_cfgs()
    ds = SSNDataset(ann, [], train_cfg, test_cfg, data_prefix="frames")
    assert len(ds) == 1  # video_b has no ground truth: filtered
    info = ds.video_infos[0]
    assert info["frame_dir"] == "frames/video_a" and info["total_frames"] == 100
    assert [(g.start_frame, g.end_frame, g.label) for g in info["gts"]] == [(10, 30, 1), (60, 80, 2)]
    assert [(p.start_frame, p.end_frame) for p in info["proposals"]] == [(12, 30), (62, 70), (0, 100), (35, 55), (61, 80)]
    assert len(ds.positive_pool) == 4  # two proposals above 0.7 + two ground truths
    assert [p.start_frame for _, p in ds.incomplete_pool] == [62]  # IoU 0.1 < 0.3 and overlap 0.9 > 0.01
    # 0..100: IoU 0.0 < 0.01 and coverage 1.0 > 0.02; 35..55 (IoU 0.05) is neither kind
    assert [(p.start_frame, p.end_frame) for _, p in ds.background_pool] == [(0, 100)]
    np.random.seed(0)
    item = ds[0]
    assert item["proposal_type"].tolist() == [0] + [1] * 6 + [2]
    assert item["proposal_labels"].tolist()[-1] == 0 and item["reg_targets"].shape == (8, 2)
    # positive 12..30 vs gt 10..30: centre shift (19.5 - 20.5) / 18, size log(20 / 18)
    pos = ds.get_positives(info["gts"], info["proposals"], 0.7, with_gt=False)[0]
    np.testing.assert_allclose(pos.regression_targets, [(19.5 - 20.5) / 18, np.log(20 / 18)])
    targets = np.array([[(19.5 - 20.5) / 18, np.log(20 / 18)], [(69.5 - 70.0) / 19, np.log(20 / 19)]])
    np.testing.assert_allclose(ds.reg_norm_consts, [targets.mean(0), targets.std(0)])
    test_ds = SSNDataset(ann, [], train_cfg, test_cfg, data_prefix="frames", test_mode=True)
    t = test_ds[0]
    np.testing.assert_allclose(t["relative_proposal_list"][0], [0.12, 0.30], rtol=1e-6)


def test_repeat_and_build_dataset(tmp_path):
    ann = write(tmp_path / "a.txt", "a.mp4 1\nb.mp4 0\n")
    ds = build_dataset(dict(type="RepeatDataset", times=3, dataset=dict(type="VideoDataset", ann_file=ann, pipeline=[])))
    assert isinstance(ds, RepeatDataset) and len(ds) == 6
    assert [ds[i]["filename"] for i in (0, 1, 2, 5)] == ["a.mp4", "b.mp4", "a.mp4", "b.mp4"]
    vd = build_dataset(dict(type="VideoDataset", ann_file=ann), default_args=dict(pipeline=[], data_prefix="x"))
    assert vd.video_infos[0]["filename"] == "x/a.mp4"
    with pytest.raises(ConfigError, match="unknown dataset type 'Nope'"):
        build_dataset(dict(type="Nope"))


def test_sample_by_class_probabilities(tmp_path):
    ann = write(tmp_path / "a.txt", "a 0\nb 0\nc 0\nd 1\n")
    uniform_classes = VideoDataset(ann, [], sample_by_class=True, power=0)
    assert uniform_classes.class_prob == pytest.approx({0: 0.5, 1: 0.5})
    by_data = VideoDataset(ann, [], sample_by_class=True, power=1)
    assert by_data.class_prob == pytest.approx({0: 0.75, 1: 0.25})
    half = VideoDataset(ann, [], sample_by_class=True, power=0.5)
    assert half.class_prob[0] == pytest.approx(np.sqrt(0.75) / (np.sqrt(0.75) + np.sqrt(0.25)))
    with pytest.raises(ConfigError, match="needs power"):
        VideoDataset(ann, [], sample_by_class=True)
    with pytest.raises(ConfigError, match="single-class"):
        VideoDataset(ann, [], sample_by_class=True, power=1, multi_class=True, num_classes=2)


def test_evaluate_and_dump_delegate_to_metrics(tmp_path, monkeypatch):
    calls = {}
    fake = types.ModuleType("videohub.metrics.dataset_evaluation")

    def evaluate_recognition(results, gt_labels, metrics="top_k_accuracy", metric_options=None, multi_class=False,
                             num_classes=None):
        calls["rec"] = (results, gt_labels, metrics, metric_options, multi_class, num_classes)
        return {"top1_acc": 1.0}

    def dump_results(results, out):
        calls["dump"] = (results, out)

    fake.evaluate_recognition = evaluate_recognition
    fake.dump_results = dump_results
    monkeypatch.setitem(sys.modules, "videohub.metrics.dataset_evaluation", fake)
    ds = VideoDataset(write(tmp_path / "a.txt", "a 0\nb 2\n"), [], num_classes=3)
    scores = [np.zeros(3), np.ones(3)]
    assert ds.evaluate(scores, topk=(1,)) == {"top1_acc": 1.0}
    assert calls["rec"][1] == [0, 2] and calls["rec"][3] == {"top_k_accuracy": {"topk": (1,)}}
    assert calls["rec"][4:] == (False, 3)
    ds.dump_results(scores, "out.json")
    assert calls["dump"] == (scores, "out.json")
    with pytest.raises(ConfigError, match=r"number of results \(1\)"):
        ds.evaluate(scores[:1])


# ----------------------------------------------------------------------------- HF builders
@pytest.fixture(scope="module")
def video_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    for name, n in (("a", 30), ("b", 24)):
        encode_video(str(root / f"{name}.mp4"), num_frames=n, seed=len(name) + n)
    ann = write(root / "train.txt", "a.mp4 1\nb.mp4 0\n")
    return root, ann


TEST_PIPELINE = [
    dict(type="PyAVInit"),
    dict(type="SampleFrames", clip_len=2, frame_interval=2, num_clips=3, test_mode=True),
    dict(type="PyAVDecode"),
]


def test_load_dataset_video_matches_torch_dataset(video_tree, tmp_path):
    root, ann = video_tree
    hf = load_dataset("video", ann, data_prefix=str(root), cache_dir=str(tmp_path / "cache"))
    assert len(hf) == 2 and hf.split == "train"
    assert hf[0]["filename"] == os.path.join(str(root), "a.mp4") and hf[0]["label"] == 1
    assert hf[0]["start_index"] == 0 and hf[0]["modality"] == "RGB"
    assert hf[0]["ann_source"].endswith("train.txt line 1")
    decoded = hf.with_transform(make_transform(TEST_PIPELINE))
    torch_ds = VideoDataset(ann, TEST_PIPELINE, data_prefix=str(root), test_mode=True)
    for i in range(2):
        a, b = decoded[i], torch_ds[i]
        np.testing.assert_array_equal(a["frame_inds"], b["frame_inds"])
        assert len(a["imgs"]) == 6
        for x, y in zip(a["imgs"], b["imgs"]):
            np.testing.assert_array_equal(x, y)
    reference = decode_all(os.path.join(str(root), "a.mp4"))
    np.testing.assert_array_equal(decoded[0]["imgs"][0], reference[int(decoded[0]["frame_inds"][0])])


def test_load_dataset_splits_and_aliases(video_tree, tmp_path):
    root, ann = video_tree
    val = write(tmp_path / "val.txt", "b.mp4 0\n")
    dd = load_dataset("VideoDataset", ann_files={"train": ann, "validation": val}, data_prefix=str(root),
                      cache_dir=str(tmp_path / "c"))
    assert set(dd) == {"train", "validation"} and len(dd["validation"]) == 1
    mc = load_dataset("video", write(tmp_path / "m.txt", "a.mp4 0 2\n"), multi_class=True, num_classes=3,
                      data_prefix=str(root), cache_dir=str(tmp_path / "c"))
    assert mc[0]["label"] == [0, 2] and mc[0]["num_classes"] == 3
    row = mc.with_transform(make_transform([]))[0]
    torch.testing.assert_close(row["label"], torch.tensor([1.0, 0.0, 1.0]))
    with pytest.raises(ConfigError, match="unknown dataset format 'videos'"):
        load_dataset("videos", ann)


def test_load_dataset_sees_annotation_edits(tmp_path):
    ann = write(tmp_path / "a.txt", "a.mp4 1\n")
    assert len(load_dataset("video", ann, cache_dir=str(tmp_path / "c"))) == 1
    write(ann, "a.mp4 1\nb.mp4 2\n")
    os.utime(ann, ns=(os.stat(ann).st_atime_ns, os.stat(ann).st_mtime_ns + 10**9))
    assert len(load_dataset("video", ann, cache_dir=str(tmp_path / "c"))) == 2


def test_load_dataset_folder_layout(tmp_path):
    for cls in ("walk", "cook"):
        os.makedirs(tmp_path / "k" / cls)
        encode_video(str(tmp_path / "k" / cls / "v.mp4"), num_frames=8)
    ds = load_dataset("video_folder", str(tmp_path / "k"), cache_dir=str(tmp_path / "c"))
    assert ds.features["label"].names == ["cook", "walk"]
    assert [r["label"] for r in ds] == [0, 1]
    out = ds.with_transform(make_transform([dict(type="PyAVInit")]))[1]
    assert out["total_frames"] == 8


def test_load_dataset_other_formats(tmp_path):
    c = str(tmp_path / "c")
    rf = load_dataset("rawframe", write(tmp_path / "r.txt", "d 5 10 1\n"), with_offset=True, filename_tmpl="{:03d}.jpg",
                      cache_dir=c)
    assert rf[0] == {"frame_dir": "d", "offset": 5, "total_frames": 10, "label": 1, "filename_tmpl": "{:03d}.jpg",
                     "modality": "RGB", "start_index": 1, "ann_source": rf[0]["ann_source"]}
    rv = load_dataset("rawvideo", write(tmp_path / "rv.txt", "v/a 3 4 2\n"), cache_dir=c)
    assert rv.with_transform(make_transform([]))[0]["filename"] == "v/a/part_2.mp4"
    ava = load_dataset("ava", write(tmp_path / "ava.csv", AVA_CSV), exclude_file=write(tmp_path / "e.csv", "vid1,0903\n"),
                       cache_dir=c)
    assert len(ava) == 2
    item = ava.with_transform(make_transform([]))[0]
    assert item["gt_bboxes"].dtype == np.float32 and item["gt_bboxes"].shape == (2, 4) and item["gt_labels"].shape == (2, 81)
    hvu = load_dataset("hvu", write(tmp_path / "h.json", json.dumps([{"filename": "a.mp4", "label": {"action": [1]}}])),
                       tag_categories=["action", "scene"], tag_category_nums=[2, 3], cache_dir=c)
    assert hvu.with_transform(make_transform([]))[0]["label"] == {"action": [1]}
    an = load_dataset("activitynet", write(tmp_path / "an.json", json.dumps({"v_x": {
        "duration_second": 2.0, "duration_frame": 60, "feature_frame": 60, "annotations": [{"segment": [0.5, 1.0], "label": "a"}]}})),
        cache_dir=c)
    assert an[0]["annotations"] == [{"segment": [0.5, 1.0], "label": "a"}] and an[0]["fps"] is None
    train_cfg, test_cfg = _ssn_cfgs()
    ssn = load_dataset("ssn", write(tmp_path / "s.txt", SSN_STANDARD), train_cfg=train_cfg, test_cfg=test_cfg,
                       data_prefix=None, cache_dir=c)
    res = ssn.with_transform(make_transform([]))[0]
    assert [(g.start_frame, g.end_frame) for g in res["gts"]] == [(10, 30), (60, 80)]


# ----------------------------------------------------------------------------- evaluation with the metrics package
def test_recognition_evaluate_real_metrics(tmp_path):
    ds = VideoDataset(write(tmp_path / "a.txt", "a 0\nb 2\nc 1\nd 1\n"), [], num_classes=3)
    scores = [np.array([0.9, 0.05, 0.05]), np.array([0.1, 0.6, 0.3]), np.array([0.2, 0.7, 0.1]), np.array([0.5, 0.4, 0.1])]
    out = ds.evaluate(scores, metrics=["top_k_accuracy", "mean_class_accuracy"], metric_options={"top_k_accuracy": {"topk": (1, 2)}})
    # top-1 hits: a, c -> 2/4; top-2 hits: a, b (2 is second), c, d (1 is second) -> 4/4
    assert out["top1_acc"] == pytest.approx(0.5) and out["top2_acc"] == pytest.approx(1.0)
    # per class: class 0 1/1, class 1 1/2, class 2 0/1
    assert out["mean_class_accuracy"] == pytest.approx((1 + 0.5 + 0) / 3)


def test_hvu_evaluate_real_metrics(tmp_path):
    data = [{"filename": "a.mp4", "label": {"action": [1]}}, {"filename": "b.mp4", "label": {"action": [0], "scene": [2]}},
            {"filename": "c.mp4", "label": {"scene": [0]}}]
    ds = HVUDataset(write(tmp_path / "h.json", json.dumps(data)), [], tag_categories=["action", "scene"], tag_category_nums=[2, 3])
    # scores that rank every true tag first within its category
    results = [np.array([0.1, 0.9, 0.3, 0.3, 0.3]), np.array([0.8, 0.2, 0.1, 0.1, 0.9]), np.array([0.5, 0.5, 0.9, 0.1, 0.2])]
    out = ds.evaluate(results)
    assert out == {"action_mAP": pytest.approx(1.0), "scene_mAP": pytest.approx(1.0)}


def test_ssn_evaluate_real_metrics(tmp_path):
    train_cfg, test_cfg = _ssn_cfgs()
    ds = SSNDataset(write(tmp_path / "ssn.txt", SSN_STANDARD), [], train_cfg, test_cfg, data_prefix=None, test_mode=True)
    # proposals exactly on the two ground truths (10-30 class 1, 60-80 class 2), confidently classified
    result = dict(
        relative_proposal_list=np.array([[0.1, 0.3], [0.6, 0.8]], dtype=np.float32),
        activity_scores=np.array([[0.0, 5.0, 0.0], [0.0, 0.0, 5.0]], dtype=np.float32),
        completeness_scores=np.zeros((2, 2), dtype=np.float32),
        bbox_preds=np.zeros((2, 2, 2), dtype=np.float32),
    )
    out = ds.evaluate([result] * len(ds))
    assert set(out) == {f"mAP@{t:.02f}" for t in np.arange(0.1, 1.0, 0.1)}
    assert all(v == pytest.approx(1.0) for v in out.values())


def test_ava_evaluate_real_metrics(tmp_path):
    ann = write(tmp_path / "ava.csv", AVA_CSV)
    ds = AVADataset(ann, None, [], label_file=write(tmp_path / "l.pbtxt", PBTXT), test_mode=True)
    # detections equal to the ground-truth boxes of the labelled classes (1-based action ids -> index id - 1)
    results = []
    for info in ds.video_infos:
        per_class = [np.zeros((0, 5), dtype=np.float32) for _ in range(80)]
        for box, labels in zip(info["ann"]["gt_bboxes"], info["ann"]["gt_labels"]):
            for action in np.flatnonzero(labels):
                per_class[action - 1] = np.vstack([per_class[action - 1], np.r_[box, 1.0]]).astype(np.float32)
        results.append(per_class)
    out = ds.evaluate(results)
    assert out == {"mAP@0.5IOU": pytest.approx(1.0)}
    csv_path = str(tmp_path / "out.csv")
    ds.dump_results(results, csv_path)
    rows = open(csv_path).read().splitlines()
    assert "vid1,902,0.100,0.200,0.300,0.400,5,1.000" in rows and len(rows) == 5

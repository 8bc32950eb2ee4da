"""Annotation files that are not UTF-8, hold wrong JSON types, are empty or have every line
skipped: each is an ``AnnotationError`` naming the file and line (or, with ``on_error="skip"``,
left out and counted), for every annotation format, directly and through ``load_dataset``."""

import json
import logging
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_datasets import AVA_CSV, PBTXT, SSN_STANDARD, _ssn_cfgs  # noqa: E402

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
    SSNDataset,
    VideoDataset,
    load_ava_proposals,
    load_dataset,
    read_labelmap,
)
from videohub.errors import AnnotationError  # noqa: E402

BAD = "caf\udce9"  # "café" written in Latin-1: the byte 0xe9 is not UTF-8
BAD_MSG = r"byte 0xe9 at column {} is not valid UTF-8"


def write_bytes(path, text):
    """Write ``text`` as UTF-8, turning the lone surrogates of ``BAD`` back into raw bytes."""
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    return str(path)


# ----------------------------------------------------------------------------- text line formats
# format: (dataset class, extra arguments, two good lines); the bad line is BAD + "_" + the first
TEXT_FORMATS = {
    "video": (VideoDataset, {}, ["a.mp4 1", "b.mp4 0"]),
    "image": (ImageDataset, {}, ["a.jpg 1", "b.jpg 0"]),
    "rawframe": (RawframeDataset, {}, ["a 10 1", "b 12 0"]),
    "rawvideo": (RawVideoDataset, {}, ["a 1 3 0", "b 0 2 1"]),
    "audio": (AudioDataset, {}, ["a 10 1", "b 12 0"]),
    "audio_feature": (AudioFeatureDataset, {}, ["a 10 1", "b 12 0"]),
    "audio_visual": (AudioVisualDataset, {"audio_prefix": "aud"}, ["a 10 1", "b 12 0"]),
    "ava": (AVADataset, {"exclude_file": None}, ["vid1,0902,0.1,0.2,0.3,0.4,12,0", "vid1,0903,0.1,0.1,0.2,0.2,5,0"]),
}


def _build(fmt, path, **kwargs):
    cls, extra, _ = TEXT_FORMATS[fmt]
    return cls(ann_file=path, pipeline=[], **extra, **kwargs)


def _text_file(tmp_path, fmt):
    good = TEXT_FORMATS[fmt][2]
    return write_bytes(tmp_path / "ann.txt", f"{good[0]}\n{BAD}_{good[0]}\n{good[1]}\n")


@pytest.mark.parametrize("fmt", sorted(TEXT_FORMATS))
def test_text_non_utf8_line_names_file_and_line(tmp_path, fmt):
    path = _text_file(tmp_path, fmt)
    with pytest.raises(AnnotationError, match="ann.txt line 2: " + BAD_MSG.format(4)):
        _build(fmt, path)
    ds = _build(fmt, path, on_error="skip")
    assert len(ds) == 2
    assert [where for where, _ in ds.skipped_annotations] == [f"{path} line 2"]
    assert "1 annotation line(s) skipped" in ds.skip_report()


@pytest.mark.parametrize("fmt", sorted(TEXT_FORMATS))
@pytest.mark.parametrize("content", ["", "\n  \n\n"])
def test_text_empty_file_is_an_error(tmp_path, fmt, content):
    path = write_bytes(tmp_path / "ann.txt", content)
    with pytest.raises(AnnotationError, match=r"ann.txt is empty: it has no annotation lines"):
        _build(fmt, path)
    with pytest.raises(AnnotationError, match=r"ann.txt is empty"):
        _build(fmt, path, on_error="skip")


@pytest.mark.parametrize("fmt", sorted(TEXT_FORMATS))
def test_text_every_line_skipped_is_an_error(tmp_path, fmt):
    good = TEXT_FORMATS[fmt][2][0]
    path = write_bytes(tmp_path / "ann.txt", f"{BAD}_{good}\n\nnot a valid line at all\n")
    with pytest.raises(AnnotationError) as info:
        _build(fmt, path, on_error="skip")
    message = str(info.value)
    assert message.startswith(f"{path}: all 2 annotation lines were skipped as malformed")
    assert f"the first: {path} line 1: byte 0xe9" in message


def test_text_bom_is_ignored(tmp_path):
    path = tmp_path / "ann.txt"
    path.write_bytes(b"\xef\xbb\xbfa.mp4 1\n")
    assert VideoDataset(str(path), []).video_infos == [dict(filename="a.mp4", label=1)]


# ----------------------------------------------------------------------------- JSON list formats
# format: (dataset class, extra arguments, path key, two good entries, [(wrong entry, message), ...])
JSON_FORMATS = {
    "video": (VideoDataset, {}, "filename", [{"filename": "a.mp4", "label": [1]}, {"filename": "b.mp4", "label": [0]}],
              [({"filename": 3, "label": [1]}, r"'filename' must be a non-empty string, got number 3"),
               ({"label": [1]}, r"has neither 'filename' nor 'frame_dir'")]),
    "rawframe": (RawframeDataset, {}, "frame_dir",
                 [{"frame_dir": "a", "total_frames": 10, "label": [1]}, {"frame_dir": "b", "total_frames": 5, "label": [0]}],
                 [({"frame_dir": "c", "total_frames": "10", "label": [1]}, r"'total_frames' must be an integer, got string \"10\""),
                  ({"frame_dir": "c", "total_frames": 10, "offset": 1.5, "label": [1]}, r"'offset' must be an integer, got number 1.5")]),
    "rawvideo": (RawVideoDataset, {}, "video_dir",
                 [{"video_dir": "a", "label": [1], "num_clips": 3, "positive_clip_inds": [0]},
                  {"video_dir": "b", "label": 0, "num_clips": 2, "positive_clip_inds": [1]}],
                 [({"video_dir": "c", "label": [1], "num_clips": "3", "positive_clip_inds": [0]},
                   r"'num_clips' must be an integer, got string \"3\""),
                  ({"video_dir": "c", "label": [1], "num_clips": 3, "positive_clip_inds": 0},
                   r"'positive_clip_inds' must be an array, got number 0")]),
    "audio": (AudioDataset, {}, "filename",
              [{"filename": "a.wav", "total_frames": 10, "label": [1]}, {"filename": "b.wav", "total_frames": 8, "label": [0]}],
              [({"filename": "c.wav", "total_frames": 10, "label": "1"},
                r"'label' must be an integer or an array of integers, got string \"1\""),
               ({"filename": "c.wav", "total_frames": True, "label": [1]}, r"'total_frames' must be an integer, got boolean true")]),
    "hvu": (HVUDataset, {"tag_categories": ["action", "scene"], "tag_category_nums": [3, 2]}, "filename",
            [{"filename": "a.mp4", "label": {"action": [1]}}, {"filename": "b.mp4", "label": {"scene": [0]}}],
            [({"filename": "c.mp4", "label": {"action": 1}}, r"the tags of category 'action' must be an array, got number 1"),
             ({"filename": "c.mp4", "label": ["action"]}, r"'label' must be an object, got array \[\"action\"\]")]),
}


def _json_file(tmp_path, entries):
    """A JSON list with one entry per line (entry i on line i + 2)."""
    return write_bytes(tmp_path / "ann.json", "[\n" + ",\n".join(entries) + "\n]\n")


def _build_json(fmt, path, **kwargs):
    cls, extra = JSON_FORMATS[fmt][:2]
    return cls(ann_file=path, pipeline=[], **extra, **kwargs)


@pytest.mark.parametrize("fmt", sorted(JSON_FORMATS))
def test_json_non_utf8_entry_names_file_and_line(tmp_path, fmt):
    _, _, key, good, _ = JSON_FORMATS[fmt]
    bad = json.dumps(dict(good[0], **{key: BAD + ".x"}), ensure_ascii=False)
    path = _json_file(tmp_path, [json.dumps(good[0]), bad, json.dumps(good[1])])
    column = bad.index(BAD) + 4
    with pytest.raises(AnnotationError, match=r"ann.json line 3 \(entry 1\): " + BAD_MSG.format(column)):
        _build_json(fmt, path)
    ds = _build_json(fmt, path, on_error="skip")
    assert len(ds) == 2
    assert [where for where, _ in ds.skipped_annotations] == [f"{path} line 3 (entry 1)"]


@pytest.mark.parametrize("fmt", sorted(JSON_FORMATS))
@pytest.mark.parametrize("which", [0, 1, 2])
def test_json_wrong_types_name_file_and_line(tmp_path, fmt, which):
    _, _, _, good, wrong = JSON_FORMATS[fmt]
    cases = wrong + [("c.mp4", r"a sample must be an object, got string \"c.mp4\"")]
    entry, message = cases[which]
    path = _json_file(tmp_path, [json.dumps(good[0]), json.dumps(entry), json.dumps(good[1])])
    with pytest.raises(AnnotationError, match=r"ann.json line 3 \(entry 1\): " + message):
        _build_json(fmt, path)
    ds = _build_json(fmt, path, on_error="skip")
    assert len(ds) == 2 and len(ds.skipped_annotations) == 1
    assert ds.skipped_annotations[0][0] == f"{path} line 3 (entry 1)"


@pytest.mark.parametrize("fmt", sorted(JSON_FORMATS))
def test_json_file_level_errors(tmp_path, fmt):
    path = write_bytes(tmp_path / "ann.json", "")
    with pytest.raises(AnnotationError, match=r"ann.json is empty: expected a JSON list"):
        _build_json(fmt, path)
    write_bytes(tmp_path / "ann.json", "[\n]\n")
    with pytest.raises(AnnotationError, match=r"ann.json is empty: it has no JSON entries"):
        _build_json(fmt, path, on_error="skip")
    write_bytes(tmp_path / "ann.json", '\n\n{"samples": []}')
    with pytest.raises(AnnotationError, match=r"ann.json line 3: expected a JSON list, got object"):
        _build_json(fmt, path)
    # a byte that is not UTF-8 between entries breaks the file itself: an error even when skipping
    good = [json.dumps(x) for x in JSON_FORMATS[fmt][3]]
    write_bytes(tmp_path / "ann.json", f"[\n{good[0]},\n{BAD[-1]}{good[1]}\n]")
    with pytest.raises(AnnotationError, match=r"ann.json line 3: " + BAD_MSG.format(1)):
        _build_json(fmt, path, on_error="skip")
    write_bytes(tmp_path / "ann.json", f"[\n{good[0]},\n{good[1]},\n]")
    with pytest.raises(AnnotationError, match=r"ann.json line 4: invalid JSON: Expecting value after ','"):
        _build_json(fmt, path)


@pytest.mark.parametrize("fmt", sorted(JSON_FORMATS))
def test_json_every_entry_skipped_is_an_error(tmp_path, fmt):
    _, _, _, good, wrong = JSON_FORMATS[fmt]
    path = _json_file(tmp_path, [json.dumps(wrong[0][0]), json.dumps(wrong[1][0])])
    with pytest.raises(AnnotationError) as info:
        _build_json(fmt, path, on_error="skip")
    message = str(info.value)
    assert message.startswith(f"{path}: all 2 JSON entries were skipped as malformed")
    assert f"the first: {path} line 2 (entry 0)" in message


def test_rawvideo_json_label_becomes_an_int(tmp_path):
    _, _, _, good, _ = JSON_FORMATS["rawvideo"]
    ds = _build_json("rawvideo", _json_file(tmp_path, [json.dumps(x) for x in good]))
    assert [info["label"] for info in ds.video_infos] == [1, 0]


def test_hvu_mixed_videos_and_frame_folders(tmp_path):
    entries = [{"frame_dir": "a", "total_frames": 8, "label": {"action": [0]}}, {"filename": "b.mp4", "label": {"action": [1]}},
               {"frame_dir": "c", "label": {"action": [1]}}]
    path = _json_file(tmp_path, [json.dumps(x) for x in entries])
    kwargs = dict(tag_categories=["action"], tag_category_nums=[2], filename_tmpl="{:05d}.jpg")
    with pytest.raises(AnnotationError, match=r"line 3 \(entry 1\): has 'filename' but the samples before it have 'frame_dir'"):
        HVUDataset(path, [], **kwargs)
    ds = HVUDataset(path, [], on_error="skip", **kwargs)
    assert ds.dataset_type == "rawframe" and len(ds) == 1
    assert ds.skipped_annotations[1] == (f"{path} line 4 (entry 2)", "a frame folder needs 'total_frames'")


# ----------------------------------------------------------------------------- ActivityNet
def _anet_video(**changes):
    video = {"duration_second": 10.0, "duration_frame": 300, "feature_frame": 296, "fps": 30.0,
             "annotations": [{"segment": [1.0, 4.5], "label": "Run"}]}
    video.update(changes)
    return video


def _anet_file(tmp_path, middle, key="v_b"):
    """Videos v_a (line 2), ``key`` (line 3, ``middle``: a JSON text) and v_c (line 4)."""
    text = "{\n" + ",\n".join([f'"v_a": {json.dumps(_anet_video())}', f'"{key}": {middle}',
                               f'"v_c": {json.dumps(_anet_video())}']) + "\n}\n"
    return write_bytes(tmp_path / "anet.json", text)


BAD_LABEL = json.dumps(_anet_video(annotations=[{"segment": [1, 2], "label": BAD}]), ensure_ascii=False)


@pytest.mark.parametrize(
    "key, middle, message",
    [
        ("v_b", json.dumps(_anet_video(annotations=3)), r"'annotations' must be an array, got number 3"),
        ("v_b", json.dumps(_anet_video(duration_frame="300")), r"'duration_frame' must be an integer, got string \"300\""),
        ("v_b", json.dumps(_anet_video(fps="30")), r"'fps' must be a number, got string \"30\""),
        ("v_b", json.dumps(_anet_video(annotations=["Run"])), r"annotations\[0\] must be an object, got string \"Run\""),
        ("v_b", json.dumps(_anet_video(annotations=[{"segment": [1, 2], "label": 7}])),
         r"annotations\[0\].label must be a non-empty string, got number 7"),
        ("v_b", json.dumps(_anet_video(annotations=[{"segment": ["1", 2], "label": "Run"}])),
         r"annotations\[0\] needs 'segment': \[start, end\] in seconds"),
        ("v_b", "[10.0, 300]", r"the entry must be an object, got array \[10.0, 300\]"),
        ("v_b", BAD_LABEL, BAD_MSG.format(len('"v_b": ') + BAD_LABEL.index(BAD) + 4)),
        ("v_a", json.dumps(_anet_video()), r"duplicate video \(first at line 2\)"),
    ],
)
def test_activitynet_entries_name_file_and_line(tmp_path, key, middle, message):
    path = _anet_file(tmp_path, middle, key)
    with pytest.raises(AnnotationError, match=rf"anet.json line 3 \(video '{key}'\): {message}"):
        ActivityNetDataset(path, [])
    ds = ActivityNetDataset(path, [], on_error="skip")
    assert [info["video_name"] for info in ds.video_infos] == ["v_a", "v_c"]
    assert [where for where, _ in ds.skipped_annotations] == [f"{path} line 3 (video '{key}')"]


def test_activitynet_file_level_errors(tmp_path):
    path = write_bytes(tmp_path / "anet.json", "{}")
    with pytest.raises(AnnotationError, match=r"anet.json is empty: it has no JSON entries"):
        ActivityNetDataset(path, [])
    write_bytes(tmp_path / "anet.json", "[]")
    with pytest.raises(AnnotationError, match=r"anet.json line 1: expected a JSON object, got array \[\]"):
        ActivityNetDataset(path, [])
    only_bad = write_bytes(tmp_path / "bad.json", '{\n"v_b": ' + json.dumps(_anet_video(annotations=3)) + "\n}")
    with pytest.raises(AnnotationError, match=r"bad.json: all 1 JSON entries were skipped as malformed"):
        ActivityNetDataset(only_bad, [], on_error="skip")


# ----------------------------------------------------------------------------- AVA exclude, label map, proposals
def test_ava_exclude_file_non_utf8_and_all_skipped(tmp_path):
    ann = write_bytes(tmp_path / "ava.csv", AVA_CSV)
    excl = write_bytes(tmp_path / "ex.csv", f"vid1,0903\n{BAD},0902\n")
    with pytest.raises(AnnotationError, match="ex.csv line 2: " + BAD_MSG.format(4)):
        AVADataset(ann, excl, [])
    ds = AVADataset(ann, excl, [], on_error="skip")
    assert [i["img_key"] for i in ds.video_infos] == ["vid1,0902", "vid2,0902"]  # vid1,0903 still excluded
    assert [where for where, _ in ds.skipped_annotations] == [f"{excl} line 2"]
    write_bytes(tmp_path / "ex.csv", f"{BAD},0902\nvid1\n")
    with pytest.raises(AnnotationError, match=r"ex.csv: all 2 annotation lines were skipped as malformed"):
        AVADataset(ann, excl, [], on_error="skip")
    write_bytes(tmp_path / "ex.csv", "")
    assert len(AVADataset(ann, excl, [])) == 3  # an empty exclude file excludes nothing


def test_ava_custom_classes_matching_nothing(tmp_path):
    ann = write_bytes(tmp_path / "ava.csv", "vid1,0902,0.1,0.2,0.3,0.4,7,0\n")
    label_file = write_bytes(tmp_path / "l.pbtxt", PBTXT)
    with pytest.raises(AnnotationError, match=r"ava.csv: none of its 1 valid annotation lines has an action in "
                                              r"custom_classes \[5, 12\]"):
        AVADataset(ann, None, [], label_file=label_file, custom_classes=[5, 12], num_classes=3)


def test_ava_label_map_non_utf8_and_empty(tmp_path):
    label_file = write_bytes(tmp_path / "l.pbtxt", PBTXT.replace("dance", BAD))
    with pytest.raises(AnnotationError, match="l.pbtxt line 6: " + BAD_MSG.format(13)):
        read_labelmap(label_file)
    write_bytes(tmp_path / "l.pbtxt", "# no items\n")
    with pytest.raises(AnnotationError, match="label map .*l.pbtxt holds no item"):
        read_labelmap(label_file)


@pytest.mark.parametrize(
    "value, message",
    [
        ('"none"', r"proposals must be an array of \[x1, y1, x2, y2\(, score\)\] rows, got string \"none\""),
        ("[[0, 0, 1]]", r"proposal 0 must be \[x1, y1, x2, y2\] or \[x1, y1, x2, y2, score\] numbers"),
        ("[[0, 0, 1, 1, 0.9], [0, 0, 1, 1]]", r"proposal 1 must be .* like the first row, got array \[0, 0, 1, 1\]"),
        ('[[0, 0, 1, "1"]]', r"proposal 0 must be .*got array \[0, 0, 1, \"1\"\]"),
    ],
)
def test_ava_proposals_json_wrong_types(tmp_path, value, message):
    path = write_bytes(tmp_path / "p.json", '{\n"vid1,0902": [[0, 0, 0.5, 0.5, 0.95]],\n"vid2,0902": ' + value + "\n}")
    with pytest.raises(AnnotationError, match=r"p.json line 3 \(img key 'vid2,0902'\): " + message):
        load_ava_proposals(path)
    skipped = []
    assert list(load_ava_proposals(path, on_error="skip", skipped=skipped)) == ["vid1,0902"]
    assert skipped[0][0] == f"{path} line 3 (img key 'vid2,0902')" and len(skipped) == 1
    ds = AVADataset(write_bytes(tmp_path / "ava.csv", AVA_CSV), None, [], proposal_file=path, on_error="skip")
    assert [where for where, _ in ds.skipped_annotations] == [f"{path} line 3 (img key 'vid2,0902')"]
    np.testing.assert_allclose(ds[0]["proposals"], [[0, 0, 0.5, 0.5]])
    assert ds[2]["proposals"].tolist() == [[0, 0, 1, 1]]  # vid2,0902 left out: the whole frame


def test_ava_proposals_json_non_utf8_key(tmp_path):
    line = f'"vid2,0902": [[0, 0, 1, 1]], "{BAD}": [[0, 0, 1, 1]]'
    path = write_bytes(tmp_path / "p.json", '{\n"vid1,0902": [[0, 0, 0.5, 0.5, 0.95]],\n' + line + "\n}")
    with pytest.raises(AnnotationError, match=r"p.json line 3 \(img key .*\): " + BAD_MSG.format(line.index(BAD) + 4)):
        load_ava_proposals(path)
    skipped = []
    assert sorted(load_ava_proposals(path, on_error="skip", skipped=skipped)) == ["vid1,0902", "vid2,0902"]
    assert len(skipped) == 1 and skipped[0][0].startswith(f"{path} line 3 (img key ")


def test_ava_proposals_empty_or_all_skipped(tmp_path):
    path = write_bytes(tmp_path / "p.json", "{}")
    with pytest.raises(AnnotationError, match=r"p.json is empty: it has no JSON entries"):
        load_ava_proposals(path)
    write_bytes(tmp_path / "p.json", '{"vid1,0902": 1}')
    with pytest.raises(AnnotationError, match=r"p.json: all 1 JSON entries were skipped as malformed"):
        load_ava_proposals(path, on_error="skip")
    npz = str(tmp_path / "p.npz")
    np.savez(npz)
    with pytest.raises(AnnotationError, match=r"proposal file .*p.npz holds no proposals"):
        load_ava_proposals(npz)


# ----------------------------------------------------------------------------- SSN proposal files
SSN_TWO_VIDEOS = SSN_STANDARD.replace("video_b\n50\n1\n0\n", "video_b\n50\n1\n1\n1 5 20\n")


def _ssn(path, **kwargs):
    train_cfg, test_cfg = _ssn_cfgs()
    return SSNDataset(path, [], train_cfg, test_cfg, data_prefix=None, **kwargs)


@pytest.mark.parametrize(
    "old, new, line, message",
    [
        ("1 5 20", f"1 5 20 {BAD}", 19, BAD_MSG.format(11)),
        ("1 5 20", "1 five 20", 19, r"start 'five' is not an integer"),
        ("1 5 20", "1 5", 19, r"expected a ground truth 'label start end', got '1 5'"),
        ("1 0.6 0.7 0 10", "1 0.6 high 0 10", 21, r"overlap_self 'high' is not a number"),
        ("video_b\n50\n1\n", "video_b\n50\nnan\n", 17, r"fps 'nan' is not finite"),
        ("video_b\n50\n1\n1\n", "video_b\n50\n1\n-1\n", 18, r"the number of ground truths must be at least 0, got -1"),
        ("1\n1 0.6 0.7 0 10\n", "2\n1 0.6 0.7 0 10\n", 21, r"the block of video 'video_b' ends early; expected proposal 2 of 2"),
    ],
)
def test_ssn_blocks_name_file_and_line(tmp_path, old, new, line, message):
    assert SSN_TWO_VIDEOS.count(old) == 1
    path = write_bytes(tmp_path / "ssn.txt", SSN_TWO_VIDEOS.replace(old, new))
    with pytest.raises(AnnotationError, match=rf"ssn.txt line {line}: {message}"):
        _ssn(path)
    ds = _ssn(path, on_error="skip")
    assert [info["video_id"] for info in ds.video_infos] == ["video_a"]
    assert [where for where, _ in ds.skipped_annotations] == [f"{path} line {line}"]
    assert len(_ssn(write_bytes(tmp_path / "good.txt", SSN_TWO_VIDEOS))) == 2


def test_ssn_normalized_bad_value_names_line(tmp_path):
    text = "# 0\nvideo_a\n100\n1\n1\n1 0.1 0.3\n1\n1 0.8 0.9 0.12 oops\n"
    path = write_bytes(tmp_path / "normalized_ssn.txt", text)
    with pytest.raises(AnnotationError, match=r"normalized_ssn.txt line 8: end 'oops' is not a number"):
        _ssn(path)


def test_ssn_empty_or_all_skipped(tmp_path):
    path = write_bytes(tmp_path / "ssn.txt", "\n")
    with pytest.raises(AnnotationError, match=r"ssn.txt is empty: it has no video blocks"):
        _ssn(path)
    write_bytes(tmp_path / "ssn.txt", "# 0\nvideo_a\nmany\n1\n0\n0\n# 1\nvideo_b\n")
    with pytest.raises(AnnotationError, match=r"ssn.txt: all 2 video blocks were skipped as malformed, so nothing is left to load; "
                                              r"the first: .*ssn.txt line 3: num_frames 'many' is not a number"):
        _ssn(path, on_error="skip")


# ----------------------------------------------------------------------------- through load_dataset
@pytest.fixture
def warnings_log():
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("videohub")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.mark.parametrize("fmt", sorted(TEXT_FORMATS))
def test_load_dataset_raises_the_located_error_itself(tmp_path, fmt):
    extra = TEXT_FORMATS[fmt][1]
    kwargs = {k: v for k, v in extra.items() if v is not None}
    path = _text_file(tmp_path, fmt)
    with pytest.raises(AnnotationError) as info:
        load_dataset(fmt, path, cache_dir=str(tmp_path / "c"), **kwargs)
    assert type(info.value) is AnnotationError
    assert str(info.value).startswith(f"{path} line 2: byte 0xe9 at column 4 is not valid UTF-8")
    empty = write_bytes(tmp_path / "empty.txt", "")
    with pytest.raises(AnnotationError, match=r"empty.txt is empty: it has no annotation lines"):
        load_dataset(fmt, empty, cache_dir=str(tmp_path / "c"), **kwargs)


def test_load_dataset_json_formats_and_skip_count(tmp_path, warnings_log):
    path = _anet_file(tmp_path, json.dumps(_anet_video(fps="30")))
    with pytest.raises(AnnotationError, match=r"^.*anet.json line 3 \(video 'v_b'\): 'fps' must be a number"):
        load_dataset("activitynet", path, cache_dir=str(tmp_path / "c"))
    ds = load_dataset("activitynet", path, on_error="skip", cache_dir=str(tmp_path / "c"))
    assert ds["video_name"] == ["v_a", "v_c"] and ds[0]["fps"] == 30.0
    assert any("1 annotation line(s) skipped" in r.getMessage() and "line 3 (video 'v_b')" in r.getMessage()
               for r in warnings_log)
    _, extra, _, good, wrong = JSON_FORMATS["hvu"]
    hvu = _json_file(tmp_path, [json.dumps(good[0]), json.dumps(wrong[0][0])])
    with pytest.raises(AnnotationError, match=r"ann.json line 3 \(entry 1\): the tags of category 'action'"):
        load_dataset("hvu", hvu, cache_dir=str(tmp_path / "c"), **extra)
    train_cfg, test_cfg = _ssn_cfgs()
    ssn = write_bytes(tmp_path / "ssn.txt", SSN_TWO_VIDEOS.replace("1 5 20", "1 5 x"))
    with pytest.raises(AnnotationError, match=r"ssn.txt line 19: end 'x' is not an integer"):
        load_dataset("ssn", ssn, train_cfg=train_cfg, test_cfg=test_cfg, data_prefix=None, cache_dir=str(tmp_path / "c"))

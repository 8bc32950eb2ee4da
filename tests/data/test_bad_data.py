"""Bad data: every broken input raises a videohub error naming the file (and line), or is skipped
and counted with ``on_error="skip"``. All cases use real broken files."""

import os
import sys

import av
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_decoding_helpers import encode_video, write_frames  # noqa: E402

from videohub.data.collate import collate  # noqa: E402
from videohub.data.datasets import RawframeDataset, VideoDataset, load_dataset, make_transform  # noqa: E402
from videohub.data.pipelines.decoding import PyAVInit, RawFrameDecode  # noqa: E402
from videohub.data.video_reader import VideoReader  # noqa: E402
from videohub.errors import AnnotationError, VideoDecodeError  # noqa: E402

PIPELINE = [
    dict(type="PyAVInit"),
    dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=4, test_mode=True),
    dict(type="PyAVDecode"),
]


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """good.mp4 plus truncated (moov at the end and at the front), random-bytes, zero-frame and
    corrupt-in-the-middle videos."""
    root = tmp_path_factory.mktemp("broken")
    good = encode_video(str(root / "good.mp4"), num_frames=40)
    front = encode_video(str(root / "front.mp4"), num_frames=40, faststart=True)
    data = open(good, "rb").read()
    open(root / "truncated.mp4", "wb").write(data[: len(data) // 2])
    data = open(front, "rb").read()
    open(root / "truncated_faststart.mp4", "wb").write(data[: len(data) // 2])
    open(root / "random.mp4", "wb").write(np.random.default_rng(0).bytes(4000))
    out = av.open(str(root / "empty.mp4"), "w")
    s = out.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    out.start_encoding()
    out.close()
    corrupt = bytearray(data)
    for i in range(len(corrupt) // 2, len(corrupt) // 2 + 400):
        corrupt[i] = (corrupt[i] * 7 + 13) % 256
    open(root / "corrupt.mp4", "wb").write(bytes(corrupt))
    return root


# ----------------------------------------------------------------------------- videos
@pytest.mark.parametrize(
    "name, message",
    [
        ("truncated.mp4", "cannot open .*truncated.mp4.* as a video"),
        ("truncated_faststart.mp4", "truncated_faststart.mp4' is truncated: its index lists 40 frames but only"),
        ("random.mp4", "cannot open .*random.mp4.* as a video"),
        ("empty.mp4", "empty.mp4' has no video frames"),
        ("missing.mp4", "video file .*missing.mp4' not found"),
    ],
)
def test_broken_video_raises_naming_file(broken, name, message):
    with pytest.raises(VideoDecodeError, match=message):
        PyAVInit()(dict(filename=str(broken / name)))


def test_corrupt_video_raises_when_decoding(broken):
    reader = VideoReader(str(broken / "corrupt.mp4"))
    assert reader.num_frames == 40
    with pytest.raises(VideoDecodeError, match="corrupt.mp4' is corrupt or truncated: decoding failed"):
        reader.get_frames(range(40))


# ----------------------------------------------------------------------------- annotations
@pytest.mark.parametrize(
    "lines, message",
    [
        ("a.mp4 1\nb.mp4 1 2\n", r"a.txt line 2: expected 2 fields 'path label', got 3"),
        ("a.mp4 1\n\nb.mp4 one\n", r"a.txt line 3: label 'one' is not an integer"),
        ("a.mp4 5\n", r"a.txt line 1: label 5 out of range \[0, 2\]"),
        ("a.mp4\n", r"a.txt line 1: expected 2 fields"),
    ],
)
def test_bad_video_annotation_lines(tmp_path, lines, message):
    ann = tmp_path / "a.txt"
    ann.write_text(lines)
    with pytest.raises(AnnotationError, match=message):
        VideoDataset(str(ann), [], num_classes=3)


def test_bad_rawframe_annotation_lines(tmp_path):
    ann = tmp_path / "r.txt"
    ann.write_text("d1 10 1\nd2 x 1\nd3 10 1 2\n")
    with pytest.raises(AnnotationError, match=r"r.txt line 2: total_frames 'x' is not an integer"):
        RawframeDataset(str(ann), [])
    ds = RawframeDataset(str(ann), [], on_error="skip")
    assert [i["frame_dir"] for i in ds.video_infos] == ["d1"]
    assert len(ds.skipped_annotations) == 2
    report = ds.skip_report()
    assert "2 annotation line(s) skipped" in report and "r.txt line 3: expected 3 fields" in report
    with pytest.raises(AnnotationError, match="annotation file .*nope.txt' not found"):
        RawframeDataset(str(tmp_path / "nope.txt"), [])


def test_bad_json_annotation(tmp_path):
    ann = tmp_path / "a.json"
    ann.write_text('[{"filename": "a.mp4", "label": [1]},\n {"filename": "b.mp4", "label": [1, 2]}\n]')
    with pytest.raises(AnnotationError, match=r"a.json line 2 \(entry 1\): expected exactly one label"):
        VideoDataset(str(ann), [])
    ann.write_text('[{"filename": "a.mp4",\n "label": [1]]')
    with pytest.raises(AnnotationError, match="a.json line 2: invalid JSON"):
        VideoDataset(str(ann), [])


# ----------------------------------------------------------------------------- samples
def _video_ann(tmp_path, broken, names):
    ann = tmp_path / "v.txt"
    ann.write_text("".join(f"{n} {i % 2}\n" for i, n in enumerate(names)))
    return str(ann)


def test_missing_and_broken_videos_name_file_and_line(tmp_path, broken):
    ann = _video_ann(tmp_path, broken, ["good.mp4", "missing.mp4", "random.mp4"])
    ds = VideoDataset(ann, PIPELINE, data_prefix=str(broken), test_mode=True)
    assert len(ds[0]["imgs"]) == 4
    with pytest.raises(VideoDecodeError, match=r"v.txt line 2: video file .*missing.mp4' not found"):
        ds[1]
    with pytest.raises(VideoDecodeError, match=r"v.txt line 3: cannot open .*random.mp4"):
        ds[2]


def test_skip_replaces_and_counts(tmp_path, broken):
    names = ["good.mp4", "missing.mp4", "truncated.mp4", "empty.mp4", "front.mp4", "corrupt.mp4"]
    ann = _video_ann(tmp_path, broken, names)
    pipeline = [dict(type="PyAVInit"), dict(type="SampleFrames", clip_len=40, num_clips=1, test_mode=True),
                dict(type="PyAVDecode")]
    ds = VideoDataset(ann, pipeline, data_prefix=str(broken), test_mode=True, on_error="skip")
    items = [ds[i] for i in range(len(ds))]
    # 1, 2 and 3 are replaced by the next loadable sample (front.mp4); 5 (corrupt) wraps to 0
    assert [os.path.basename(it["filename"]) for it in items] == ["good.mp4", "front.mp4", "front.mp4", "front.mp4",
                                                                  "front.mp4", "good.mp4"]
    failed = sorted({i for i, _ in ds.skipped})
    assert failed == [1, 2, 3, 5]
    report = ds.skip_report()
    assert "4 sample(s) failed to load" in report and "v.txt line 6" in report and "corrupt.mp4" in report


def test_missing_frame_dir_and_missing_frame(tmp_path):
    write_frames(str(tmp_path / "vid"), 8, tmpl="img_{:05}.png")
    os.remove(tmp_path / "vid" / "img_00004.png")
    ann = tmp_path / "r.txt"
    ann.write_text("vid 8 0\nnodir 8 1\n")
    pipeline = [dict(type="SampleFrames", clip_len=8, num_clips=1, test_mode=True), dict(type="RawFrameDecode")]
    ds = RawframeDataset(str(ann), pipeline, data_prefix=str(tmp_path), filename_tmpl="img_{:05}.png", test_mode=True)
    with pytest.raises(VideoDecodeError, match=r"r.txt line 1: frame 4 of .*vid' is missing: file .*img_00004.png' not found"):
        ds[0]
    with pytest.raises(VideoDecodeError, match=r"r.txt line 2: frame directory .*nodir' not found"):
        ds[1]
    direct = dict(frame_dir=str(tmp_path / "vid"), filename_tmpl="img_{:05}.png", modality="RGB", frame_inds=np.array([3, 4]))
    with pytest.raises(VideoDecodeError, match="img_00004.png"):
        RawFrameDecode()(direct)
    open(tmp_path / "vid" / "img_00004.png", "wb").write(b"not an image")
    with pytest.raises(VideoDecodeError, match="img_00004.png' is corrupt or not an image"):
        RawFrameDecode()(dict(direct))


def test_hf_transform_skip_marks_and_collate_counts(tmp_path, broken):
    ann = _video_ann(tmp_path, broken, ["good.mp4", "random.mp4", "front.mp4", "missing.mp4"])
    ds = load_dataset("video", ann, data_prefix=str(broken), cache_dir=str(tmp_path / "c"))
    with pytest.raises(VideoDecodeError, match=r"v.txt line 2: cannot open .*random.mp4"):
        ds.with_transform(make_transform(PIPELINE))[1]
    transform = make_transform(PIPELINE, on_error="skip")
    decoded = ds.with_transform(transform)
    batch = collate([decoded[i] for i in range(4)])
    assert batch["num_skipped"] == 2 and len(batch["filename"]) == 2
    assert [os.path.basename(f) for f in batch["filename"]] == ["good.mp4", "front.mp4"]
    assert "random.mp4" in batch["skipped"][0] and "missing.mp4" in batch["skipped"][1]
    assert len(transform.skipped) == 2

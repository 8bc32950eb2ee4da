"""Decoding: the exact fast reader and every decoding pipeline step."""

import os
import sys

import cv2
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_decoding_helpers import decode_all, encode_video, frame_pattern, write_frames  # noqa: E402

from videohub.data.pipelines.compose import Compose  # noqa: E402
from videohub.data.pipelines.decoding import (  # noqa: E402
    BuildPseudoClip,
    DecordInit,
    FrameSelector,
    ImageDecode,
    OpenCVDecode,
    OpenCVInit,
    PyAVDecode,
    PyAVDecodeMotionVector,
    PyAVInit,
    RawFrameDecode,
)
from videohub.data.video_reader import VideoReader, clear_index_cache, read_frames_baseline  # noqa: E402
from videohub.errors import ConfigError, VideoDecodeError  # noqa: E402
from videohub.registry import PIPELINES  # noqa: E402

CASES = {
    "bframes": dict(gop=12, bframes=2),
    "dense_keyframes": dict(gop=4, bframes=3),
    "long_gop": dict(gop=250, bframes=3),
    "vfr": dict(vfr=True, gop=7),
    "rotated": dict(rotation=90, gop=9),
    "odd_size": dict(width=63, height=47, pix_fmt="yuv444p", gop=6),
}


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    out = {}
    for name, kw in CASES.items():
        path = str(root / f"{name}.mp4")
        encode_video(path, num_frames=50, **kw)
        out[name] = (path, decode_all(path))
    return out


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("seek_threshold", [0, 12, 1000])
def test_reader_frames_equal_sequential_decode(videos, case, seek_threshold):
    path, reference = videos[case]
    assert len(reference) == 50
    reader = VideoReader(path, seek_threshold=seek_threshold)
    assert reader.num_frames == 50
    rng = np.random.default_rng(abs(hash((case, seek_threshold))) % 2**32)
    requests = [rng.integers(0, 50, size=n) for n in (1, 3, 8, 16)]
    requests += [np.array([49, 0, 49, 25]), np.arange(50)[::-1]]
    for idx in requests:
        frames = reader.get_frames(idx)
        assert len(frames) == len(idx)
        for i, frame in zip(idx.tolist(), frames):
            assert frame.dtype == np.uint8 and frame.shape == reference[i].shape
            np.testing.assert_array_equal(frame, reference[i], err_msg=f"{case}: frame {i}")


@pytest.mark.parametrize("case", ["bframes", "vfr"])
def test_reader_multithreaded_is_exact(videos, case):
    path, reference = videos[case]
    reader = VideoReader(path, multi_thread=True, seek_threshold=0)
    for i, frame in zip([3, 17, 18, 44], reader.get_frames([3, 17, 18, 44])):
        np.testing.assert_array_equal(frame, reference[i])


def test_reader_returns_independent_copies_for_repeated_indices(videos):
    path, _ = videos["bframes"]
    a, b = VideoReader(path).get_frames([5, 5])
    a[...] = 0
    assert b.any()


def test_reader_metadata(videos):
    reader = VideoReader(videos["bframes"][0])
    assert reader.fps == pytest.approx(25.0)
    assert (reader.width, reader.height) == (64, 48)
    np.testing.assert_array_equal(reader.keyframe_indices, [0, 12, 24, 36, 48])
    np.testing.assert_array_equal(reader.nearest_keyframes([0, 11, 12, 30, 49]), [0, 0, 12, 24, 48])
    vfr = VideoReader(videos["vfr"][0])
    assert vfr.num_frames == 50 and 10 < vfr.fps < 60


def test_reader_apply_rotation(videos):
    path, reference = videos["rotated"]
    frame = VideoReader(path, apply_rotation=True).get_frame(10)
    np.testing.assert_array_equal(frame, np.rot90(reference[10], k=1))
    assert frame.shape == (64, 48, 3)


def test_reader_strategy_follows_keyframe_spacing(videos):
    dense = VideoReader(videos["dense_keyframes"][0])
    dense.get_frames([2, 40])
    assert dense.last_stats["seeks"] == 1  # jumps to the keyframe at 40 instead of decoding 3..39
    assert dense.last_stats["packets"] < 15
    sparse = VideoReader(videos["long_gop"][0])
    sparse.get_frames([2, 40])
    assert sparse.last_stats["seeks"] == 0  # one keyframe: decoding straight through is the only way
    assert sparse.last_stats["packets"] <= 44  # stops right after the last needed frame (+ reorder delay)


def test_reader_index_out_of_range(videos):
    reader = VideoReader(videos["bframes"][0])
    with pytest.raises(VideoDecodeError, match=r"out of range.*50 frames"):
        reader.get_frames([3, 50])
    with pytest.raises(VideoDecodeError, match="out of range"):
        reader.get_frames([-1])


def test_reader_frame_count_ignores_wrong_container_metadata(tmp_path):
    """An mkv has no frame count in its header; counting packets still gives the exact number."""
    path = str(tmp_path / "v.mkv")
    encode_video(path, num_frames=33, gop=8)
    import av

    with av.open(path) as c:
        assert c.streams.video[0].frames == 0  # the container does not say
    reader = VideoReader(path)
    assert reader.num_frames == 33 == len(decode_all(path))
    ref = decode_all(path)
    for i, f in zip([0, 9, 32], reader.get_frames([0, 9, 32])):
        np.testing.assert_array_equal(f, ref[i])


@pytest.mark.parametrize(
    "ext, codec, bframes",
    [("avi", "libx264", 2), ("h264", "libx264", 2), ("mkv", "libx264", 2), ("avi", "libx264", 0), ("webm", "libvpx-vp9", 0)],
)
def test_reader_exact_in_containers_with_weak_timestamps(tmp_path, ext, codec, bframes):
    """AVI cannot store B-frame timestamps and raw .h264 has none: the reader must notice and count
    frames instead of trusting pts; other containers keep the fast path."""
    path = str(tmp_path / f"v.{ext}")
    encode_video(path, num_frames=30, gop=8, bframes=bframes, codec=codec)
    reference = decode_all(path)
    reader = VideoReader(path, seek_threshold=0)
    assert reader.num_frames == len(reference) == 30
    idx = [0, 5, 17, 29, 12, 12]
    for i, frame in zip(idx, reader.get_frames(idx)):
        np.testing.assert_array_equal(frame, reference[i], err_msg=f"{ext}/{codec}: frame {i}")


def test_reader_reads_file_objects(videos):
    import io

    path, reference = videos["bframes"]
    with open(path, "rb") as f:
        reader = VideoReader(io.BytesIO(f.read()))
    assert reader.num_frames == 50
    for i, frame in zip([7, 31], reader.get_frames([7, 31])):
        np.testing.assert_array_equal(frame, reference[i])


def test_reader_index_cache_follows_file_changes(tmp_path):
    path = str(tmp_path / "v.mp4")
    encode_video(path, num_frames=20)
    assert VideoReader(path).num_frames == 20
    encode_video(path, num_frames=30, seed=1)
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    assert VideoReader(path).num_frames == 30
    clear_index_cache()
    assert VideoReader(path).num_frames == 30


def test_baseline_reader_matches(videos):
    path, reference = videos["bframes"]
    frames = read_frames_baseline(path, [1, 30, 7])
    for i, f in zip([1, 30, 7], frames):
        np.testing.assert_array_equal(f, reference[i])


# ----------------------------------------------------------------------------- pipeline steps
def _results(path, inds):
    return dict(filename=path, frame_inds=np.asarray(inds), start_index=0, modality="RGB")


def test_pyav_init_decode_keys(videos):
    path, reference = videos["bframes"]
    results = PyAVInit()(dict(filename=path))
    assert results["total_frames"] == 50 and isinstance(results["video_reader"], VideoReader)
    results["frame_inds"] = np.array([[4, 8], [60, 9]])  # 2-D, and 60 wraps around like mmaction2
    results = PyAVDecode()(results)
    assert results["frame_inds"].shape == (4,)
    assert results["video_reader"] is None
    assert results["img_shape"] == results["original_shape"] == (48, 64)
    for i, f in zip([4, 8, 10, 9], results["imgs"]):
        np.testing.assert_array_equal(f, reference[i])


def test_pyav_decode_efficient_returns_keyframes(videos):
    path, reference = videos["bframes"]
    results = PyAVDecode(mode="efficient", multi_thread=True)(PyAVInit()(_results(path, [3, 13, 30])))
    for i, f in zip([0, 12, 24], results["imgs"]):
        np.testing.assert_array_equal(f, reference[i])
    with pytest.raises(ConfigError, match="mode"):
        PyAVDecode(mode="fast")


def test_pyav_decode_motion_vectors(tmp_path):
    path = str(tmp_path / "mv.mp4")
    # content moving right by 2 pixels a frame, no B-frames
    import av

    out = av.open(path, "w")
    s = out.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
    s.options = {"x264-params": "keyint=100:bframes=0:scenecut=0"}
    base = np.random.default_rng(0).integers(0, 255, (64, 128, 3), dtype=np.uint8)
    base = cv2.GaussianBlur(base, (5, 5), 0)
    for i in range(6):
        frame = np.ascontiguousarray(base[:, 40 - 2 * i : 104 - 2 * i])
        for p in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()
    results = PyAVDecodeMotionVector()(PyAVInit()(_results(path, [0, 3, 5])))
    mv = results["motion_vectors"]
    assert mv.shape == (3, 64, 64, 2) and mv.dtype == np.int8
    assert not mv[0].any()  # keyframe: no motion vectors
    inner = mv[1, 16:48, 16:48, 0]
    assert (inner != 0).mean() > 0.5  # most blocks move horizontally


def test_opencv_init_decode(videos):
    path, reference = videos["bframes"]
    results = OpenCVInit()(dict(filename=path))
    assert results["total_frames"] == 50 and results["new_path"] == path
    results["frame_inds"] = np.array([0, 21, 21, 49])
    results = OpenCVDecode()(results)
    assert results["img_shape"] == (48, 64)
    for i, f in zip([0, 21, 21, 49], results["imgs"]):
        # OpenCV converts YUV->RGB with its own code: compare with a small tolerance
        assert np.abs(f.astype(int) - reference[i].astype(int)).mean() < 3.0


def test_decord_missing_names_install_command():
    try:
        import decord  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install decord"):
            DecordInit()
    else:
        assert DecordInit().num_threads == 1


def test_io_backend_other_than_disk_is_rejected():
    for cls in (PyAVInit, OpenCVInit, RawFrameDecode, ImageDecode):
        with pytest.raises(ConfigError, match="io_backend='petrel'"):
            cls(io_backend="petrel")
    with pytest.raises(ConfigError, match="file-client arguments"):
        PyAVInit(path_mapping={"a": "b"})
    with pytest.raises(ConfigError, match="decoding_backend"):
        RawFrameDecode(decoding_backend="turbojpeg")


def test_steps_registered_and_serializable():
    for name in ("PyAVInit", "PyAVDecode", "PyAVDecodeMotionVector", "OpenCVInit", "OpenCVDecode", "DecordInit",
                 "DecordDecode", "RawFrameDecode", "ImageDecode", "FrameSelector", "BuildPseudoClip"):
        assert name in PIPELINES
    pipe = Compose([dict(type="PyAVInit"), dict(type="PyAVDecode", multi_thread=True, mode="efficient"),
                    dict(type="RawFrameDecode", decoding_backend="pillow"), dict(type="BuildPseudoClip", clip_len=4)])
    again = Compose.from_config(pipe.to_json())
    assert again.to_config() == pipe.to_config()
    assert again.to_config()[1] == {"type": "PyAVDecode", "multi_thread": True, "mode": "efficient"}


@pytest.mark.parametrize("backend", ["cv2", "pillow"])
def test_rawframe_decode_rgb(tmp_path, backend):
    frames = write_frames(str(tmp_path / "v"), 10, tmpl="img_{:05}.png")
    results = dict(frame_dir=str(tmp_path / "v"), filename_tmpl="img_{:05}.png", modality="RGB",
                   frame_inds=np.array([[1, 3], [3, 10]]), offset=0)
    results = RawFrameDecode(decoding_backend=backend)(results)
    assert len(results["imgs"]) == 4 and results["img_shape"] == (24, 32)
    for k, img in zip([1, 3, 3, 10], results["imgs"]):
        np.testing.assert_array_equal(img, frames[k - 1])
    assert results["imgs"][1] is not results["imgs"][2]


def test_rawframe_decode_offset_flow_and_boxes(tmp_path):
    frames = write_frames(str(tmp_path / "f"), 8, tmpl="{}_{:05d}.png", flow=True)
    results = dict(frame_dir=str(tmp_path / "f"), filename_tmpl="{}_{:05d}.png", modality="Flow",
                   frame_inds=np.array([1, 1, 4]), offset=2,
                   gt_bboxes=np.array([[0.5, 0.5, 1.0, 1.0]]), proposals=np.array([[0.0, 0.0, 0.25, 0.5]]))
    results = RawFrameDecode()(results)
    assert len(results["imgs"]) == 6
    for j, k in enumerate([3, 3, 6]):  # offset 2 is added to every index
        np.testing.assert_array_equal(results["imgs"][2 * j], frames[k - 1][..., 0])
        np.testing.assert_array_equal(results["imgs"][2 * j + 1], frames[k - 1][..., 1])
    np.testing.assert_allclose(results["gt_bboxes"], [[16, 12, 32, 24]])
    np.testing.assert_allclose(results["proposals"], [[0, 0, 8, 12]])
    assert results["gt_bboxes"].dtype == np.float32


def test_frame_selector_warns_and_decodes(tmp_path):
    frames = write_frames(str(tmp_path / "v"), 3, tmpl="img_{:05}.png")
    with pytest.warns(FutureWarning, match="RawFrameDecode"):
        step = FrameSelector()
    out = step(dict(frame_dir=str(tmp_path / "v"), filename_tmpl="img_{:05}.png", modality="RGB", frame_inds=np.array([2])))
    np.testing.assert_array_equal(out["imgs"][0], frames[1])


def test_image_decode_and_pseudo_clip(tmp_path):
    img = frame_pattern(3, 20, 30)
    path = str(tmp_path / "a.png")
    cv2.imwrite(path, img[..., ::-1])
    results = ImageDecode()(dict(filename=path))
    np.testing.assert_array_equal(results["imgs"][0], img)
    assert results["img_shape"] == (20, 30)
    results = BuildPseudoClip(clip_len=3)(results)
    assert len(results["imgs"]) == 3 and results["clip_len"] == 3 and results["num_clips"] == 1
    results["imgs"][1][0, 0, 0] = 255 - results["imgs"][0][0, 0, 0]
    assert results["imgs"][0][0, 0, 0] != results["imgs"][1][0, 0, 0]
    with pytest.raises(ConfigError, match="exactly one image"):
        BuildPseudoClip(clip_len=2)(dict(imgs=[img, img]))


def test_missing_required_key_names_the_step():
    with pytest.raises(ConfigError, match=r"PyAVDecode needs results\['video_reader'\].*PyAVInit"):
        PyAVDecode()(dict(frame_inds=np.array([0])))

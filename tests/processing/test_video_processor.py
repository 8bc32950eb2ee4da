"""VideoProcessor: exact sampled indices, pixels, layout, persistence, the transformers pipeline, errors."""

import av
import numpy as np
import pytest
import torch
from transformers import pipeline

from videohub import AutoVideoProcessor, TSNConfig, TSNForVideoClassification, VideoProcessor
from videohub.data.synthetic import render_frames, write_video
from videohub.errors import ShapeError, VideoDecodeError

IDENTITY = [dict(type="Normalize", mean=[0, 0, 0], std=[1, 1, 1], to_bgr=False)]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A 30-frame H.264 video with B-frames, and its frames from a full sequential decode."""
    path = str(tmp_path_factory.mktemp("proc") / "clip.mp4")
    write_video(path, render_frames("right", 30, 48, 64, np.random.default_rng(1)), bframes=3, gop=10)
    with av.open(path) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return path, np.stack(frames)


def test_test_mode_indices_are_centred_segments():
    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=1, num_clips=3, test_mode=True))
    # 30 frames in 3 segments of 10: the centre of each segment
    assert proc.sample_indices(30).tolist() == [5, 15, 25]
    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=4, frame_interval=2, num_clips=2, test_mode=True))
    # clips of 8 frames span; avg interval (30 - 8 + 1) / 2 = 11.5; offsets int(0 + 5.75), int(11.5 + 5.75)
    assert proc.sample_indices(30).tolist() == [5, 7, 9, 11, 17, 19, 21, 23]


def test_train_mode_indices_follow_numpy_seed():
    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=1, num_clips=3))
    np.random.seed(0)
    expected = np.arange(3) * 10 + np.random.randint(10, size=3)
    np.random.seed(0)
    assert proc.sample_indices(30).tolist() == expected.tolist()


def test_pixels_are_the_sampled_frames(video):
    path, frames = video
    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=2, num_clips=3, test_mode=True),
                          transforms=IDENTITY)
    out = proc(path)["pixel_values"]
    inds = proc.sample_indices(len(frames))
    assert out.shape == (1, 3, 2, 3, 48, 64)
    expected = torch.from_numpy(frames[inds].astype(np.float32)).permute(0, 3, 1, 2).reshape(3, 2, 3, 48, 64)
    assert torch.equal(out[0], expected)
    from_array = proc(frames)["pixel_values"]
    assert torch.equal(from_array, out)


def test_ten_crop_views_and_batch(video):
    path, _ = video
    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=1, num_clips=2, test_mode=True),
                          transforms=[dict(type="Resize", scale=[-1, 40]), dict(type="TenCrop", crop_size=32)] + IDENTITY)
    out = proc([path, path])["pixel_values"]
    assert out.shape == (2, 20, 1, 3, 32, 32)
    assert torch.equal(out[0], out[1])


def test_num_frames_override(video):
    path, _ = video
    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=1, num_clips=3, test_mode=True), transforms=IDENTITY)
    assert proc(path, num_frames=5)["pixel_values"].shape[1] == 5
    proc3d = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=4, num_clips=1, test_mode=True), transforms=IDENTITY)
    assert proc3d(path, num_frames=6)["pixel_values"].shape[2] == 6


def test_save_and_load(tmp_path):
    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=8, frame_interval=2, num_clips=1, test_mode=True))
    proc.save_pretrained(tmp_path)
    loaded = AutoVideoProcessor.from_pretrained(str(tmp_path))
    assert loaded.to_dict() == proc.to_dict()


def test_from_mmaction2_pipeline_drops_decoding_and_formatting():
    mm = [dict(type="DecordInit"), dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=25, test_mode=True),
          dict(type="DecordDecode"), dict(type="Resize", scale=(-1, 256)), dict(type="TenCrop", crop_size=224),
          dict(type="Normalize", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False),
          dict(type="FormatShape", input_format="NCHW"), dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
          dict(type="ToTensor", keys=["imgs"])]
    proc = VideoProcessor.from_mmaction2_pipeline(mm)
    assert proc.sampler["num_clips"] == 25
    assert [t["type"] for t in proc.transforms] == ["Resize", "TenCrop", "Normalize"]


def test_transformers_video_classification_pipeline(video):
    path, _ = video
    config = TSNConfig(backbone=dict(type="ResNet", depth=18), cls_head=dict(type="TSNHead", in_channels=512),
                       id2label={0: "a", 1: "b", 2: "c"}, num_frames=3)
    model = TSNForVideoClassification(config).eval()
    proc = VideoProcessor(transforms=[dict(type="Resize", scale=[-1, 32]), dict(type="CenterCrop", crop_size=32)] + IDENTITY)
    clf = pipeline("video-classification", model=model, video_processor=proc)
    result = clf(path, top_k=3)
    with torch.no_grad():
        probs = model(**proc(path, num_frames=3)).logits.softmax(-1)[0]
    assert [r["label"] for r in result] == [config.id2label[int(i)] for i in probs.argsort(descending=True)]
    assert result[0]["score"] == pytest.approx(float(probs.max()), rel=1e-5)


def test_bad_inputs(tmp_path):
    proc = VideoProcessor()
    with pytest.raises(VideoDecodeError, match="missing.mp4"):
        proc(str(tmp_path / "missing.mp4"))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(VideoDecodeError, match="junk.mp4"):
        proc(str(junk))
    empty = str(tmp_path / "empty.mp4")
    with av.open(empty, "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = 32, 32
    with pytest.raises(VideoDecodeError, match="empty.mp4"):
        proc(empty)
    with pytest.raises(ShapeError, match=r"\(4, 5\)"):
        proc(np.zeros((4, 5)))


def _saved_tsn(folder, processor=True):
    """A TSN-R18 with a confident head (and its processor unless ``processor=False``) saved in ``folder``."""
    config = TSNConfig(backbone=dict(type="ResNet", depth=18), cls_head=dict(type="TSNHead", in_channels=512),
                       id2label={0: "a", 1: "b", 2: "c"}, num_frames=3, average_clips="prob")
    torch.manual_seed(0)
    model = TSNForVideoClassification(config).eval()
    with torch.no_grad():
        model.cls_head.fc_cls.weight.normal_(0, 1.0)
    proc = VideoProcessor(sampler=dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
                          transforms=[dict(type="Resize", scale=[-1, 32]), dict(type="CenterCrop", crop_size=32)]
                          + IDENTITY)
    model.save_pretrained(folder)
    if processor:
        proc.save_pretrained(folder)
    return model, proc


def _assert_pipeline_agrees(result, model, proc, path):
    from videohub.tools.scores import class_probabilities as probabilities

    with torch.no_grad():
        out = model(**proc(path))
    expected = probabilities(out.logits)[0]
    torch.testing.assert_close(expected, out.scores[0], rtol=1e-5, atol=1e-7)  # the reference's averaged probability
    assert [r["label"] for r in result] == [model.config.id2label[int(i)] for i in expected.argsort(descending=True)]
    assert result[0]["score"] == pytest.approx(float(expected.max()), rel=1e-5)


def test_pipeline_from_a_folder_matches_the_cli_and_the_reference(video, tmp_path):
    """``pipeline("video-classification", model=folder)`` finds the saved processor by itself (no torchvision
    needed) and agrees with ``predict``'s probabilities and mmaction2's averaged scores."""
    path, _ = video
    model, proc = _saved_tsn(tmp_path)
    clf = pipeline("video-classification", model=str(tmp_path))
    assert clf.video_processor.to_dict() == proc.to_dict()
    _assert_pipeline_agrees(clf(path, top_k=3), model, proc, path)


def test_pipeline_from_a_hub_id(video, tmp_path, monkeypatch):
    """The same with the model pushed to a (local) Hub and named by its id."""
    import transformers.utils.hub as transformers_hub
    from huggingface_hub import constants

    from videohub.hub import local_hub

    path, _ = video
    model, proc = _saved_tsn(tmp_path / "model")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(transformers_hub, "_hf_api", None)  # built inside the block, with the local endpoint
    with local_hub(str(tmp_path / "hub"), "pipe-token"):
        model.push_to_hub("org/tiny-tsn")
        proc.push_to_hub("org/tiny-tsn")
        clf = pipeline("video-classification", model="org/tiny-tsn")
        assert clf.video_processor.to_dict() == proc.to_dict()
        _assert_pipeline_agrees(clf(path, top_k=3), model, proc, path)


def test_pipeline_without_a_saved_processor_uses_the_configs(video, tmp_path, caplog):
    """No preprocessor_config.json: the processor of the config (its 3 segments), with a warning naming the file."""
    path, _ = video
    model, _ = _saved_tsn(tmp_path, processor=False)
    with caplog.at_level("WARNING", logger="videohub"):
        clf = pipeline("video-classification", model=str(tmp_path))
    assert "preprocessor_config.json" in caplog.text and str(tmp_path) in caplog.text
    assert clf.video_processor.to_dict() == VideoProcessor.for_config(model.config).to_dict()
    assert clf.video_processor.sample_indices(30).tolist() == [5, 15, 25]
    _assert_pipeline_agrees(clf(path, top_k=3), model, clf.video_processor, path)

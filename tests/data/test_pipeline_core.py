"""Independent checks of Compose, sampling, Resize/crops, Normalize, FormatShape, Collect, ToTensor."""

import json
import pickle
import random

import numpy as np
import pytest
import torch

from videohub.data.pipelines.compose import Compose
from videohub.data.pipelines.formatting import to_tensor
from videohub.errors import ConfigError, ShapeError
from videohub.registry import PIPELINES


def _clip(n=4, h=12, w=16, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randint(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


# ---------------------------------------------------------------- Compose / config round trip
def test_compose_builds_dicts_and_callables_and_round_trips_json():
    def add_flag(results):
        results["flag"] = True
        return results

    pipeline = Compose(
        [
            dict(type="SampleFrames", clip_len=2, frame_interval=3, num_clips=2, test_mode=True),
            add_flag,
        ]
    )
    out = pipeline(dict(total_frames=30, start_index=0))
    # test mode: avg_interval = (30 - 6 + 1) / 2 = 12.5, offsets int(12.5 * i + 6.25) = 6, 18
    assert out["frame_inds"].tolist() == [6, 9, 18, 21]
    assert out["flag"] is True
    assert "SampleFrames(clip_len=2" in repr(pipeline) and repr(pipeline).startswith("Compose(")
    with pytest.raises(ConfigError, match="step 1"):
        pipeline.to_config()


def test_full_pipeline_json_round_trip_keeps_every_argument():
    config = [
        dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
        dict(type="Resize", scale=(-1, 10)),
        dict(type="MultiScaleCrop", input_size=8, scales=(1, 0.875), random_crop=False, max_wh_scale_gap=1),
        dict(type="Resize", scale=(8, 8), keep_ratio=False),
        dict(type="Flip", flip_ratio=0.5, flip_label_map={1: 2, 2: 1}),
        dict(type="ColorJitter", color_space_aug=True),
        dict(type="Normalize", mean=[1.0, 2.0, 3.0], std=[4.0, 5.0, 6.0], to_bgr=False),
        dict(type="FormatShape", input_format="NCHW"),
        dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
        dict(type="ToTensor", keys=["imgs", "label"]),
    ]
    pipeline = Compose(config)
    text = pipeline.to_json()
    rebuilt = Compose.from_config(text)
    assert json.loads(rebuilt.to_json()) == json.loads(text)
    assert [repr(t) for t in rebuilt] == [repr(t) for t in pipeline]
    # the rebuilt pipeline gives the same result under the same seeds
    outs = []
    for p in (pipeline, rebuilt):
        np.random.seed(3)
        random.seed(3)
        outs.append(p(dict(imgs=_clip(3, 12, 16), total_frames=3, start_index=0, label=1, modality="RGB")))
    assert torch.equal(outs[0]["imgs"], outs[1]["imgs"]) and torch.equal(outs[0]["label"], outs[1]["label"])
    assert outs[0]["imgs"].shape == (3, 3, 8, 8)


def test_unknown_argument_and_unknown_type_raise_config_error():
    with pytest.raises(ConfigError, match="clip_lenn"):
        Compose([dict(type="SampleFrames", clip_lenn=1)])
    with pytest.raises(ConfigError, match="NoSuchStep"):
        Compose([dict(type="NoSuchStep")])
    with pytest.raises(ConfigError, match="out_of_bound_opt"):
        PIPELINES.build(dict(type="SampleFrames", clip_len=1, out_of_bound_opt="wrap"))


def test_compose_stops_on_none():
    seen = []
    pipeline = Compose([lambda r: None, lambda r: seen.append(r) or r])
    assert pipeline({}) is None and seen == []


def test_steps_pickle_with_their_config():
    step = PIPELINES.build(dict(type="CenterCrop", crop_size=[6, 4]))
    clone = pickle.loads(pickle.dumps(step))
    assert clone.to_config() == {"type": "CenterCrop", "crop_size": [6, 4]}
    assert repr(clone) == "CenterCrop(crop_size=(6, 4), lazy=False)"


# ---------------------------------------------------------------- SampleFrames by hand
def test_sample_frames_train_matches_hand_computation():
    step = PIPELINES.build(dict(type="SampleFrames", clip_len=2, frame_interval=2, num_clips=3))
    np.random.seed(11)
    out = step(dict(total_frames=40, start_index=1))
    # avg_interval = (40 - 4 + 1) // 3 = 12; offsets = [0, 12, 24] + randint(12, size=3)
    np.random.seed(11)
    jitter = np.random.randint(12, size=3)
    starts = np.array([0, 12, 24]) + jitter
    expected = np.concatenate([[s, s + 2] for s in starts]) + 1
    assert out["frame_inds"].tolist() == expected.tolist()
    assert out["frame_inds"].dtype == np.int64
    assert (out["clip_len"], out["frame_interval"], out["num_clips"]) == (2, 2, 3)


def test_sample_frames_repeat_last_and_loop():
    loop = PIPELINES.build(dict(type="SampleFrames", clip_len=4, frame_interval=3, num_clips=1, test_mode=True))
    last = PIPELINES.build(
        dict(type="SampleFrames", clip_len=4, frame_interval=3, num_clips=1, test_mode=True, out_of_bound_opt="repeat_last")
    )
    # 5 frames < clip span 12: offsets are 0 -> indices 0, 3, 6, 9
    assert loop(dict(total_frames=5, start_index=0))["frame_inds"].tolist() == [0, 3, 1, 4]
    assert last(dict(total_frames=5, start_index=0))["frame_inds"].tolist() == [0, 3, 3, 3]


def test_sample_frames_twice_sample_and_seeded_generator():
    step = PIPELINES.build(
        dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=2, test_mode=True, twice_sample=True)
    )
    # avg 5 -> shifted [2, 7], unshifted [0, 5]
    assert step(dict(total_frames=10, start_index=0))["frame_inds"].tolist() == [2, 7, 0, 5]
    a = PIPELINES.build(dict(type="SampleFrames", clip_len=3, num_clips=4, seed=5))
    b = PIPELINES.build(dict(type="SampleFrames", clip_len=3, num_clips=4, seed=5))
    np.random.seed(0)
    first = a(dict(total_frames=100, start_index=0))["frame_inds"]
    np.random.seed(1)
    assert b(dict(total_frames=100, start_index=0))["frame_inds"].tolist() == first.tolist()
    g = PIPELINES.build(dict(type="SampleFrames", clip_len=3, num_clips=4))
    g._init_rng(np.random.default_rng(0))
    inds = g(dict(total_frames=100, start_index=0))["frame_inds"].reshape(4, 3)
    assert ((inds[:, 1] - inds[:, 0]) == 1).all() and (inds < 100).all()


def test_sample_frames_missing_key_names_it():
    with pytest.raises(ConfigError, match="start_index"):
        PIPELINES.build(dict(type="SampleFrames", clip_len=1))(dict(total_frames=10))


# ---------------------------------------------------------------- Resize and crops
def test_resize_sizes_and_scale_factor_by_hand():
    imgs = _clip(2, 30, 40)
    out = PIPELINES.build(dict(type="Resize", scale=(-1, 15)))(dict(imgs=list(imgs), modality="RGB"))
    assert out["img_shape"] == (15, 20) and out["imgs"][0].shape == (15, 20, 3)
    assert out["scale_factor"].tolist() == [0.5, 0.5]
    out = PIPELINES.build(dict(type="Resize", scale=(10, 7), keep_ratio=False, interpolation="nearest"))(
        dict(imgs=list(imgs), modality="RGB")
    )
    # nearest: output pixel (y, x) samples source (floor(y * 30 / 7), floor(x * 40 / 10))
    ys = np.floor(np.arange(7) * 30 / 7).astype(int)
    xs = np.floor(np.arange(10) * 40 / 10).astype(int)
    assert np.array_equal(out["imgs"][1], imgs[1][ys][:, xs])
    with pytest.raises(ConfigError):
        PIPELINES.build(dict(type="Resize", scale=2))
    with pytest.raises(ConfigError):
        PIPELINES.build(dict(type="Resize", scale=(-1, 8), keep_ratio=False))


def test_center_three_ten_crop_pixels():
    imgs = _clip(2, 12, 16)
    out = PIPELINES.build(dict(type="CenterCrop", crop_size=(8, 6)))(dict(imgs=list(imgs)))
    assert np.array_equal(out["imgs"][0], imgs[0][3:9, 4:12])
    assert out["crop_bbox"].tolist() == [4, 3, 12, 9]
    assert np.allclose(out["crop_quadruple"], [4 / 16, 3 / 12, 8 / 16, 6 / 12])

    out = PIPELINES.build(dict(type="ThreeCrop", crop_size=12))(dict(imgs=list(imgs)))
    assert len(out["imgs"]) == 6
    assert np.array_equal(out["imgs"][2], imgs[0][:, 4:16])  # second crop (right), first frame
    assert np.array_equal(out["imgs"][4], imgs[0][:, 2:14])  # middle

    out = PIPELINES.build(dict(type="TenCrop", crop_size=8))(dict(imgs=list(imgs)))
    assert len(out["imgs"]) == 20
    # crop order per position: frames, then their flips; 5th position is the centre (w_step 2, h_step 1)
    assert np.array_equal(out["imgs"][16], imgs[0][2:10, 4:12])
    assert np.array_equal(out["imgs"][18], imgs[0][2:10, 4:12][:, ::-1])
    with pytest.raises(ShapeError):
        PIPELINES.build(dict(type="ThreeCrop", crop_size=10))(dict(imgs=list(imgs)))
    with pytest.raises(ShapeError, match="larger than the image"):
        PIPELINES.build(dict(type="CenterCrop", crop_size=13))(dict(imgs=list(imgs)))


# ---------------------------------------------------------------- Normalize
def test_normalize_rgb_bgr_and_flow_by_hand():
    imgs = _clip(3, 5, 6)
    mean, std = [10.0, 20.0, 30.0], [2.0, 4.0, 8.0]
    out = PIPELINES.build(dict(type="Normalize", mean=mean, std=std))(dict(imgs=list(imgs), modality="RGB"))
    expected = (np.stack(imgs).astype(np.float64) - mean) / std
    assert out["imgs"].dtype == np.float32 and out["imgs"].shape == (3, 5, 6, 3)
    assert np.allclose(out["imgs"], expected, atol=1e-5)
    out = PIPELINES.build(dict(type="Normalize", mean=mean, std=std, to_bgr=True))(dict(imgs=list(imgs), modality="RGB"))
    assert np.allclose(out["imgs"], (np.stack(imgs)[..., ::-1].astype(np.float64) - mean) / std, atol=1e-5)
    assert out["img_norm_cfg"]["to_bgr"] is True

    flow = [np.full((4, 5), v, dtype=np.uint8) for v in (100, 50, 120, 60)]
    step = PIPELINES.build(dict(type="Normalize", mean=[128, 128], std=[2, 4], adjust_magnitude=True))
    out = step(dict(imgs=flow, modality="Flow", scale_factor=np.array([0.5, 2.0], dtype=np.float32)))
    assert out["imgs"].shape == (2, 4, 5, 2)
    assert np.allclose(out["imgs"][0, 0, 0], [(100 - 128) / 2 * 0.5, (50 - 128) / 4 * 2.0])
    assert np.allclose(out["imgs"][1, 0, 0], [(120 - 128) / 2 * 0.5, (60 - 128) / 4 * 2.0])
    assert repr(step).startswith("Normalize(mean=[128. 128.], std=[2. 4.]")


# ---------------------------------------------------------------- FormatShape / Collect / ToTensor
def _indexed_frames(m, h=2, w=3, c=3):
    """Frames whose value encodes (frame, y, x, channel), to follow elements through a reshape."""
    return np.arange(m * h * w * c).reshape(m, h, w, c)


def test_format_shape_every_layout_brute_force():
    crops, clips, length, h, w, c = 2, 3, 4, 2, 3, 3
    frames = _indexed_frames(crops * clips * length, h, w, c)
    base = dict(num_clips=clips, clip_len=length)

    out = PIPELINES.build(dict(type="FormatShape", input_format="NCTHW"))(dict(imgs=frames.copy(), **base))
    assert out["imgs"].shape == (crops * clips, c, length, h, w) == out["input_shape"]
    for n in range(crops * clips):
        for t in range(length):
            assert np.array_equal(out["imgs"][n, :, t], frames[n * length + t].transpose(2, 0, 1))

    out = PIPELINES.build(dict(type="FormatShape", input_format="NCHW"))(dict(imgs=list(frames), **base))
    assert np.array_equal(out["imgs"][5], frames[5].transpose(2, 0, 1))

    flow = _indexed_frames(crops * clips * length, h, w, 2)
    out = PIPELINES.build(dict(type="FormatShape", input_format="NCHW_Flow"))(dict(imgs=flow.copy(), **base))
    assert out["imgs"].shape == (crops * clips, length * 2, h, w)
    for n in range(crops * clips):
        for t in range(length):
            for ch in range(2):
                assert np.array_equal(out["imgs"][n, t * 2 + ch], flow[n * length + t, :, :, ch])

    props = 2
    frames = _indexed_frames(props * clips * length, h, w, c)
    out = PIPELINES.build(dict(type="FormatShape", input_format="NPTCHW"))(
        dict(imgs=frames.copy(), num_proposals=props, **base)
    )
    assert out["imgs"].shape == (props, clips * length, c, h, w)
    assert np.array_equal(out["imgs"][1, 3], frames[clips * length + 3].transpose(2, 0, 1))

    one = _indexed_frames(length, h, w, c)
    out = PIPELINES.build(dict(type="FormatShape", input_format="NCTHW", collapse=True))(
        dict(imgs=one, num_clips=1, clip_len=length)
    )
    assert out["imgs"].shape == (c, length, h, w)
    with pytest.raises(ShapeError, match="not a multiple"):
        PIPELINES.build(dict(type="FormatShape", input_format="NCTHW"))(dict(imgs=frames[:5], **base))
    with pytest.raises(ConfigError):
        PIPELINES.build(dict(type="FormatShape", input_format="NTCHW"))
    assert repr(PIPELINES.build(dict(type="FormatShape", input_format="NCHW"))) == "FormatShape(input_format='NCHW')"


def test_collect_and_to_tensor():
    results = dict(imgs=np.zeros((2, 3)), label=4, filename="a.mp4", extra=1)
    out = PIPELINES.build(dict(type="Collect", keys=["imgs", "label"], meta_keys=["filename"]))(dict(results))
    assert set(out) == {"imgs", "label", "img_metas"} and out["img_metas"] == {"filename": "a.mp4"}
    out = PIPELINES.build(dict(type="Collect", keys=["imgs"], meta_keys=[], nested=True))(dict(results))
    assert set(out) == {"imgs"} and isinstance(out["imgs"], list)
    with pytest.raises(ConfigError, match="original_shape"):
        PIPELINES.build(dict(type="Collect", keys=["imgs"]))(dict(results))

    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = PIPELINES.build(dict(type="ToTensor", keys=["imgs", "label", "score", "lst"]))(
        dict(imgs=arr, label=3, score=0.5, lst=[1, 2])
    )
    assert out["imgs"].data_ptr() == torch.from_numpy(arr).data_ptr()
    assert out["label"].dtype == torch.int64 and out["label"].tolist() == [3]
    assert out["score"].dtype == torch.float32 and out["score"].tolist() == [0.5]
    assert out["lst"].tolist() == [1, 2]
    assert to_tensor(np.arange(4)[::-1]).tolist() == [3, 2, 1, 0]
    with pytest.raises(ConfigError):
        to_tensor(object())


def test_sample_frames_keep_tail_frames_by_hand():
    step = PIPELINES.build(dict(type="SampleFrames", clip_len=2, frame_interval=1, num_clips=3, keep_tail_frames=True))
    np.random.seed(21)
    out = step(dict(total_frames=20, start_index=0))
    np.random.seed(21)
    avg = (20 - 2 + 1) / 3.0
    starts = (np.arange(3) * avg + np.random.uniform(0, avg, 3)).astype(int)
    assert out["frame_inds"].tolist() == [v for s in starts for v in (s, s + 1)]


ROUND_TRIP = [
    dict(type="SampleFrames", clip_len=4, frame_interval=2, num_clips=3, twice_sample=True, test_mode=True),
    dict(type="DenseSampleFrames", clip_len=4, sample_range=32, num_sample_positions=2),
    dict(type="UntrimmedSampleFrames", clip_len=2, frame_interval=8),
    dict(type="SampleAVAFrames", clip_len=8, frame_interval=4, seed=1),
    dict(type="SampleProposalFrames", clip_len=1, body_segments=5, aug_segments=(2, 2), aug_ratio=(0.5, 0.5)),
    dict(type="Resize", scale=(-1, 256), interpolation="bicubic", lazy=True),
    dict(type="RandomRescale", scale_range=(256, 320)),
    dict(type="RandomScale", scales=[(340, 256), (400, 300)], keep_ratio=True),
    dict(type="RandomCrop", size=224),
    dict(type="RandomResizedCrop", area_range=(0.3, 1.0)),
    dict(type="MultiScaleCrop", input_size=(224, 200), scales=(1, 0.875), num_fixed_crops=13),
    dict(type="CenterCrop", crop_size=224),
    dict(type="ThreeCrop", crop_size=256),
    dict(type="TenCrop", crop_size=(224, 200)),
    dict(type="MultiGroupCrop", crop_size=224, groups=2),
    dict(type="Flip", flip_ratio=0.3, direction="vertical", flip_label_map={1: 2}),
    dict(type="Fuse"),
    dict(type="ColorJitter", color_space_aug=True, alpha_std=0.2, eig_val=np.array([1.0, 2.0, 3.0])),
    dict(type="Normalize", mean=(1, 2), std=(3, 4), adjust_magnitude=True),
    dict(type="FormatShape", input_format="NPTCHW", collapse=False),
    dict(type="FormatAudioShape", input_format="NCTF"),
    dict(type="Collect", keys=["imgs"], meta_keys=["filename"], nested=True),
    dict(type="ToTensor", keys=["imgs"]),
    dict(type="ImageToTensor", keys=["img"]),
    dict(type="Transpose", keys=["imgs"], order=[0, 2, 1]),
    dict(type="Rename", mapping={"a": "b"}),
    dict(type="ToDataContainer", fields=[dict(key="gt_bbox", stack=False)]),
    dict(type="Imgaug", transforms=[dict(type="Rotate", rotate=(-20, 20))]),
    dict(type="LoadLocalizationFeature"),
    dict(type="GenerateLocalizationLabels"),
    dict(type="LoadProposals", top_k=5, pgm_proposals_dir="p", pgm_features_dir="f"),
    dict(type="LoadHVULabel"),
    dict(type="AudioDecodeInit", sample_rate=8000, pad_method="random"),
    dict(type="AudioDecode", fixed_length=1000),
    dict(type="AudioAmplify", ratio=1.5),
    dict(type="MelSpectrogram", n_mels=40),
    dict(type="AudioFeatureSelector", fixed_length=64),
    dict(type="LoadAudioFeature", pad_method="random"),
]


@pytest.mark.parametrize("config", ROUND_TRIP, ids=lambda c: c["type"])
def test_every_step_round_trips_through_json(config):
    step = PIPELINES.build(config)
    text = json.dumps(step.to_config())
    rebuilt = PIPELINES.build(json.loads(text))
    assert type(rebuilt) is type(step)
    assert repr(rebuilt) == repr(step)
    assert json.dumps(rebuilt.to_config()) == text

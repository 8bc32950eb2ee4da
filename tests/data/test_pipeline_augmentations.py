"""Independent checks of the geometric / photometric steps not covered by the golden cases."""

import json
import random

import numpy as np
import pytest
import torch

from videohub.data.pipelines.compose import Compose
from videohub.data.pipelines.formatting import DataContainer
from videohub.errors import ConfigError, ShapeError
from videohub.registry import PIPELINES


def _clip(n=3, h=12, w=16, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randint(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


# ---------------------------------------------------------------- Flip
def test_flip_label_map_pixels_and_boxes_by_hand():
    imgs = _clip()
    step = PIPELINES.build(dict(type="Flip", flip_ratio=1.0, flip_label_map={3: 5, 5: 3}))
    out = step(
        dict(imgs=list(imgs), modality="RGB", label=3, gt_bboxes=np.array([[1.0, 2.0, 5.0, 6.0]]), img_shape=(12, 16))
    )
    assert out["label"] == 5 and out["flip"] is True and out["flip_direction"] == "horizontal"
    for ours, src in zip(out["imgs"], imgs):
        assert np.array_equal(ours, src[:, ::-1])
    assert out["gt_bboxes"].tolist() == [[16 - 5.0, 2.0, 16 - 1.0, 6.0]]
    # labels without an entry stay; no flip -> no change
    assert step(dict(imgs=list(imgs), modality="RGB", label=7))["label"] == 7
    keep = PIPELINES.build(dict(type="Flip", flip_ratio=0.0, flip_label_map={3: 5}))
    out = keep(dict(imgs=list(imgs), modality="RGB", label=3))
    assert out["label"] == 3 and out["flip"] is False and np.array_equal(out["imgs"][0], imgs[0])


def test_flip_label_map_survives_json_and_vertical_flow():
    step = PIPELINES.build(dict(type="Flip", flip_ratio=1.0, flip_label_map={3: 5}))
    rebuilt = Compose.from_config(json.dumps([step.to_config()]))[0]  # keys become "3" in JSON
    assert rebuilt.flip_label_map == {3: 5}
    imgs = _clip()
    out = PIPELINES.build(dict(type="Flip", flip_ratio=1.0, direction="vertical"))(dict(imgs=list(imgs), modality="RGB"))
    assert np.array_equal(out["imgs"][1], imgs[1][::-1])
    flow = [np.full((4, 5), v, dtype=np.uint8) for v in (10, 20, 30, 40)]
    flow[0][0, 0] = 99
    out = PIPELINES.build(dict(type="Flip", flip_ratio=1.0))(dict(imgs=list(flow), modality="Flow"))
    assert out["imgs"][0][0, 4] == 255 - 99 and out["imgs"][0][1, 1] == 255 - 10  # x-flow inverted
    assert out["imgs"][1][0, 0] == 20  # y-flow only mirrored
    with pytest.raises(ConfigError):
        PIPELINES.build(dict(type="Flip", direction="vertical"))(dict(imgs=list(flow), modality="Flow"))


def test_flip_keypoints_swap_left_right():
    kp = np.zeros((1, 2, 3, 2), dtype=np.float32)  # M x T x V x 2
    kp[..., 0] = [[[2, 5, 7]]]
    step = PIPELINES.build(dict(type="Flip", flip_ratio=1.0, left_kp=[0], right_kp=[2]))
    out = step(dict(keypoint=kp.copy(), modality="Pose", img_shape=(10, 10)))
    # x -> 10 - x, then joints 0 and 2 swap
    assert out["keypoint"][0, 0, :, 0].tolist() == [3, 5, 8]


# ---------------------------------------------------------------- lazy == eager
@pytest.mark.parametrize(
    "crops",
    [
        [dict(type="MultiScaleCrop", input_size=10, scales=(1, 0.875, 0.75), random_crop=True)],
        [dict(type="CenterCrop", crop_size=(14, 10)), dict(type="RandomCrop", size=8)],
        [dict(type="RandomResizedCrop"), dict(type="MultiScaleCrop", input_size=6, scales=(1, 0.8))],
    ],
)
@pytest.mark.parametrize("modality", ["RGB", "Flow"])
def test_lazy_and_eager_give_the_same_pixels(crops, modality):
    tail = [dict(type="Resize", scale=(9, 7), keep_ratio=False, interpolation="bilinear"), dict(type="Flip", flip_ratio=1.0)]
    eager = Compose(crops + tail)
    lazy = Compose([dict(c, lazy=True) for c in crops + tail] + [dict(type="Fuse")])
    if modality == "RGB":
        imgs = _clip(4, 12, 16)
    else:
        imgs = [f[..., 0].copy() for f in _clip(4, 12, 16)]
    outs = []
    for pipeline in (eager, lazy):
        np.random.seed(7)
        random.seed(7)
        outs.append(pipeline(dict(imgs=list(imgs), modality=modality)))
    assert "lazy" not in outs[1]
    assert outs[0]["img_shape"] == outs[1]["img_shape"] == (7, 9)
    assert outs[0]["crop_bbox"].tolist() == outs[1]["crop_bbox"].tolist()
    for a, b in zip(outs[0]["imgs"], outs[1]["imgs"]):
        assert a.shape == b.shape and np.array_equal(a, b)


def test_lazy_without_fuse_is_an_error():
    pipeline = Compose([dict(type="CenterCrop", crop_size=8, lazy=True), dict(type="Resize", scale=(4, 4), keep_ratio=False)])
    with pytest.raises(ConfigError, match="Fuse"):
        pipeline(dict(imgs=_clip(), modality="RGB"))
    with pytest.raises(ConfigError, match="no lazy"):
        PIPELINES.build(dict(type="Fuse"))(dict(imgs=_clip(), img_shape=(12, 16)))


# ---------------------------------------------------------------- ColorJitter
def test_color_jitter_pca_noise_by_hand():
    imgs = [img.astype(np.float32) for img in _clip(2)]
    step = PIPELINES.build(dict(type="ColorJitter", alpha_std=0.3))
    np.random.seed(4)
    out = step(dict(imgs=list(imgs)))
    np.random.seed(4)
    alpha = np.random.normal(0, 0.3, size=3)
    eig_val = [55.46, 4.794, 1.148]
    eig_vec = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
    offset = [sum(eig_vec[c][j] * alpha[j] * eig_val[j] for j in range(3)) for c in range(3)]
    for ours, src in zip(out["imgs"], imgs):
        assert np.allclose(ours - src, np.broadcast_to(offset, src.shape), atol=1e-3)
    assert out["alpha_std"] == 0.3 and out["color_space_aug"] is False
    assert out["eig_val"].tolist() == pytest.approx(eig_val)


class _AlwaysApply:
    """np.random stand-in whose coin flips always pass (rand() = 0.9 > 0.5)."""

    def rand(self, *shape):
        return 0.9


def test_color_jitter_color_space_ops_by_hand():
    step = PIPELINES.build(dict(type="ColorJitter", color_space_aug=True))
    step._np_random = _AlwaysApply()
    img = _clip(1)[0].astype(np.float32)
    assert np.allclose(step.brightness(img, 10.0), img + 10)
    assert np.allclose(step.contrast(img, 1.2), img * 1.2)
    gray = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    expected = 0.7 * img + 0.3 * gray[..., None]
    assert np.allclose(step.saturation(img, 0.7), expected, atol=1e-3)
    # a hue rotation keeps the luma (Y of YIQ), up to the 3-digit YIQ matrices
    rotated = step.hue(img, 0.5)
    luma = lambda x: x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114  # noqa: E731
    assert np.abs(luma(rotated) - luma(img)).max() < 1.0
    assert not np.allclose(rotated, img, atol=5)
    seeded = [PIPELINES.build(dict(type="ColorJitter", color_space_aug=True, seed=3)) for _ in range(2)]
    a, b = (s(dict(imgs=[img.copy()]))["imgs"][0] for s in seeded)
    assert np.array_equal(a, b)


# ---------------------------------------------------------------- random crops and rescales
def test_random_crop_matches_its_draws():
    imgs = _clip(2, 12, 16)
    np.random.seed(9)
    out = PIPELINES.build(dict(type="RandomCrop", size=8))(dict(imgs=list(imgs)))
    np.random.seed(9)
    y = np.random.randint(0, 12 - 8)
    x = np.random.randint(0, 16 - 8)
    assert out["crop_bbox"].tolist() == [x, y, x + 8, y + 8]
    assert np.array_equal(out["imgs"][1], imgs[1][y : y + 8, x : x + 8])
    with pytest.raises(ShapeError):
        PIPELINES.build(dict(type="RandomCrop", size=13))(dict(imgs=list(imgs)))


def test_random_resized_crop_ranges_and_fallback():
    imgs = _clip(1, 40, 50)
    step = PIPELINES.build(dict(type="RandomResizedCrop", area_range=(0.2, 0.5), aspect_ratio_range=(0.5, 2.0), seed=1))
    for _ in range(20):
        out = step(dict(imgs=list(imgs)))
        x1, y1, x2, y2 = out["crop_bbox"].tolist()
        w, h = x2 - x1, y2 - y1
        assert 0 <= x1 and x2 <= 50 and 0 <= y1 and y2 <= 40
        # rounding of w and h moves the area / ratio slightly outside the drawn values
        assert 0.2 * 2000 * 0.85 <= w * h <= 0.5 * 2000 * 1.15 and 0.4 <= w / h <= 2.5
        assert np.array_equal(out["imgs"][0], imgs[0][y1:y2, x1:x2])
    impossible = PIPELINES.build(dict(type="RandomResizedCrop", area_range=(0.9, 1.0), aspect_ratio_range=(4.0, 5.0)))
    out = impossible(dict(imgs=list(imgs)))
    assert out["crop_bbox"].tolist() == [5, 0, 45, 40]  # centred square of the short side


def test_multi_group_crop_random_rescale_random_scale():
    imgs = _clip(2, 12, 16)
    random.seed(2)
    out = PIPELINES.build(dict(type="MultiGroupCrop", crop_size=8, groups=3))(dict(imgs=list(imgs)))
    random.seed(2)
    offsets = [(random.randint(0, 8), random.randint(0, 4)) for _ in range(3)]
    assert len(out["imgs"]) == 6 and out["crop_bbox"].shape == (6, 4)
    for g, (x, y) in enumerate(offsets):
        assert np.array_equal(out["imgs"][2 * g + 1], imgs[1][y : y + 8, x : x + 8])

    np.random.seed(5)
    out = PIPELINES.build(dict(type="RandomRescale", scale_range=(20, 30)))(dict(imgs=list(imgs), modality="RGB"))
    np.random.seed(5)
    short = np.random.randint(20, 31)
    assert out["short_edge"] == short and out["img_shape"] == (short, int(16 * short / 12 + 0.5))

    step = PIPELINES.build(dict(type="RandomScale", scales=[(20, 10), (30, 15)], mode="range", keep_ratio=False))
    for _ in range(5):
        out = step(dict(imgs=list(imgs), modality="RGB"))
        long_edge, short_edge = out["scale"]
        assert 20 <= long_edge <= 30 and 10 <= short_edge <= 15
        assert out["img_shape"] == (short_edge, long_edge)
    with pytest.raises(ConfigError):
        PIPELINES.build(dict(type="RandomScale", scales=[(1, 2), (3, 4), (5, 6)]))
    step = PIPELINES.build(dict(type="RandomScale", scales=[[8, 6], [10, 7], [12, 9]], mode="value"))
    assert step(dict(imgs=list(imgs), modality="RGB"))["scale"] in [(8, 6), (10, 7), (12, 9)]


# ---------------------------------------------------------------- other formatting steps
def test_transpose_image_to_tensor_rename_to_data_container():
    arr = np.arange(24).reshape(2, 3, 4)
    out = PIPELINES.build(dict(type="Transpose", keys=["a"], order=[2, 0, 1]))(dict(a=arr))
    assert out["a"].shape == (4, 2, 3) and out["a"][3, 1, 2] == arr[1, 2, 3]
    out = PIPELINES.build(dict(type="ImageToTensor", keys=["img"]))(dict(img=arr))
    assert isinstance(out["img"], torch.Tensor) and out["img"].shape == (4, 2, 3)
    out = PIPELINES.build(dict(type="Rename", mapping={"a": "b", "zz": "yy"}))(dict(a=1, c=2))
    assert out == {"b": 1, "c": 2}
    with pytest.raises(ConfigError, match="already exists"):
        PIPELINES.build(dict(type="Rename", mapping={"a": "c"}))(dict(a=1, c=2))
    step = PIPELINES.build(dict(type="ToDataContainer", fields=[dict(key=["x", "y"], stack=True), dict(key="z")]))
    out = step(dict(x=1, y=2, z=3))
    assert isinstance(out["x"], DataContainer) and out["x"].data == 1 and out["x"].stack is True
    assert out["z"].stack is False and out["z"].cpu_only is False
    audio = np.zeros((3, 5, 7))
    out = PIPELINES.build(dict(type="FormatAudioShape", input_format="NCTF"))(dict(audios=audio))
    assert out["audios"].shape == (3, 1, 5, 7) == out["input_shape"]

"""The imgaug replacement: each augmenter against a hand computation, 'default', JSON, boxes."""

import json
import random

import numpy as np
import pytest

from videohub.data.pipelines.compose import Compose
from videohub.data.pipelines.imgaug import AUGMENTERS, Param
from videohub.errors import ConfigError
from videohub.registry import PIPELINES


def _run(transforms, imgs, **extra):
    step = PIPELINES.build(dict(type="Imgaug", transforms=transforms, seed=0))
    return step(dict(imgs=[i.copy() for i in imgs], modality="RGB", **extra))


def _img(h=9, w=9, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3), dtype=np.uint8)


def test_flips_and_boxes():
    img = _img(6, 8)
    out = _run([dict(type="Fliplr")], [img], gt_bboxes=np.array([[1.0, 2.0, 3.0, 5.0]]), img_shape=(6, 8))
    assert np.array_equal(out["imgs"][0], img[:, ::-1])
    assert out["gt_bboxes"].tolist() == [[5.0, 2.0, 7.0, 5.0]]
    out = _run([dict(type="Flipud")], [img])
    assert np.array_equal(out["imgs"][0], img[::-1])


def test_rotate_90_is_a_clockwise_quarter_turn():
    img = _img(9, 9)
    out = _run([dict(type="Rotate", rotate=90, order=0)], [img])
    assert np.array_equal(out["imgs"][0], np.rot90(img, k=-1))


def test_translate_and_shear():
    img = _img(6, 8)
    out = _run(
        [dict(type="TranslateX", px=3, order=0)], [img], gt_bboxes=np.array([[4.0, 1.0, 7.0, 3.0]]), img_shape=(6, 8)
    )
    assert np.array_equal(out["imgs"][0][:, 3:], img[:, :-3]) and (out["imgs"][0][:, :3] == 0).all()
    assert out["gt_bboxes"].tolist() == [[7.0, 1.0, 8.0, 3.0]]  # shifted, then clipped to the width
    out = _run([dict(type="TranslateY", percent=0.5, order=0)], [img])
    assert np.array_equal(out["imgs"][0][3:], img[:3])
    img = _img(7, 9)
    out = _run([dict(type="ShearX", shear=20, order=0)], [img])
    assert np.array_equal(out["imgs"][0][3], img[3])  # the centre row does not move
    assert not np.array_equal(out["imgs"][0], img)


def test_photometric_augmenters_by_hand():
    img = _img(5, 6)
    assert np.array_equal(_run([dict(type="Posterize", nb_bits=3)], [img])["imgs"][0], img & 0b11100000)
    assert np.array_equal(_run([dict(type="Invert")], [img])["imgs"][0], 255 - img)
    sol = _run([dict(type="Solarize", threshold=128)], [img])["imgs"][0]
    assert np.array_equal(sol, np.where(img >= 128, 255 - img, img))
    assert (_run([dict(type="EnhanceBrightness", factor=0.0)], [img])["imgs"][0] == 0).all()
    assert np.array_equal(_run([dict(type="EnhanceContrast", factor=1.0)], [img])["imgs"][0], img)
    gray = _run([dict(type="EnhanceColor", factor=0.0)], [img])["imgs"][0].astype(int)
    wide = img.astype(int)
    luma = (wide[..., 0] * 299 + wide[..., 1] * 587 + wide[..., 2] * 114) / 1000
    assert np.abs(gray - luma[..., None]).max() <= 1
    two = np.zeros((4, 4, 3), dtype=np.uint8)
    two[:2], two[2:] = 50, 100
    auto = _run([dict(type="Autocontrast", cutoff=0)], [two])["imgs"][0]
    # Pillow's lut: int(v * scale + offset) with scale = 255 / (hi - lo), offset = -lo * scale
    scale = 255 / (100 - 50)
    assert (auto[:2] == 0).all() and (auto[2:] == int(100 * scale - 50 * scale)).all()
    low = (np.arange(64 * 64 * 3).reshape(64, 64, 3) % 20 + 100).astype(np.uint8)  # >= 255 px per channel
    eq = _run([dict(type="Equalize")], [low])["imgs"][0]
    assert eq.max() >= 230 and eq.min() <= 20
    order = np.argsort(low[..., 0].ravel(), kind="stable")
    assert (np.diff(eq[..., 0].ravel()[order].astype(int)) >= 0).all()  # monotone mapping
    assert np.array_equal(_run([dict(type="Add", value=300)], [img])["imgs"][0], np.full_like(img, 255))
    assert np.array_equal(_run([dict(type="Multiply", mul=0.5)], [img])["imgs"][0], np.round(img * 0.5).astype(np.uint8))


def test_cutout_fills_one_centred_rectangle():
    img = np.full((20, 20, 3), 7, dtype=np.uint8)
    out = _run([dict(type="Cutout", nb_iterations=1, size=0.2, squared=True)], [img, img])
    a, b = out["imgs"]
    assert np.array_equal(a, b)  # same parameters for every frame of the clip
    filled = np.argwhere((a == 128).all(-1))
    assert 9 <= len(filled) <= 16  # a ~4 x 4 rectangle, clipped at the border
    ys, xs = filled[:, 0], filled[:, 1]
    assert len(filled) == (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    assert ((a == 7).all(-1) | (a == 128).all(-1)).all()


def test_meta_augmenters():
    img = _img()
    out = _run([dict(type="SomeOf", n=1, children=[dict(type="Invert"), dict(type="Fliplr")])], [img])
    assert np.array_equal(out["imgs"][0], 255 - img) or np.array_equal(out["imgs"][0], img[:, ::-1])
    out = _run([dict(type="Sometimes", p=1.0, then_list=[dict(type="Invert")], else_list=[dict(type="Fliplr")])], [img])
    assert np.array_equal(out["imgs"][0], 255 - img)
    out = _run([dict(type="Sequential", children=[dict(type="Invert"), dict(type="Fliplr")])], [img])
    assert np.array_equal(out["imgs"][0], (255 - img)[:, ::-1])
    with pytest.raises(ConfigError, match="unknown augmenter"):
        PIPELINES.build(dict(type="Imgaug", transforms=[dict(type="Superpixels")]))
    with pytest.raises(ConfigError):
        PIPELINES.build(dict(type="Imgaug", transforms=[dict(type="Rotate", angle=3)]))


def test_default_transforms_follow_mmaction2_signs():
    random.seed(12)
    step = PIPELINES.build(dict(type="Imgaug", transforms="default"))
    random.seed(12)
    signs = [random.choice([-1, 1]) for _ in range(5)]
    children = step.transforms[0]["children"]
    assert step.transforms[0]["type"] == "SomeOf" and step.transforms[0]["n"] == 2 and len(children) == 15
    assert children[0]["shear"] == pytest.approx(17.19 * 0.9 * signs[0])
    assert children[3]["percent"] == pytest.approx(0.2 * 0.9 * signs[3])
    assert children[4]["rotate"] == pytest.approx(27 * signs[4])
    assert children[5] == dict(type="Posterize", nb_bits=3)
    frame = _img(16, 16)
    np.random.seed(0)
    for _ in range(10):
        out = step(dict(imgs=[frame.copy(), frame.copy()], modality="RGB"))
        assert out["imgs"][0].dtype == np.uint8 and out["imgs"][0].shape == (16, 16, 3)
        assert np.array_equal(out["imgs"][0], out["imgs"][1])


def test_json_keeps_ranges_and_choices_apart():
    transforms = [dict(type="Rotate", rotate=(-10, 10)), dict(type="Posterize", nb_bits=[2, 4])]
    step = PIPELINES.build(dict(type="Imgaug", transforms=transforms))
    rebuilt = Compose.from_config(json.dumps([step.to_config()]))[0]
    assert rebuilt.aug.children[0].rotate.kind == "range" and rebuilt.aug.children[0].rotate.value == (-10, 10)
    assert rebuilt.aug.children[1].nb_bits.kind == "choice" and rebuilt.aug.children[1].nb_bits.value == [2, 4]
    assert Param((1, 3), "n", integer=True).spec() == {"range": [1, 3]}
    assert {"Affine", "Rotate", "ShearX", "TranslateY", "Cutout", "EnhanceSharpness"} <= set(AUGMENTERS)


def test_imgaug_rejects_flow():
    with pytest.raises(ConfigError, match="RGB"):
        PIPELINES.build(dict(type="Imgaug", transforms="default"))(dict(imgs=[np.zeros((4, 4), np.uint8)], modality="Flow"))

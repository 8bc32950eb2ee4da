"""Grad-CAM on 2D and 3D recognizers: the heat lies where the only moving object is; ``videohub gradcam`` writes it.

* 2D: conftest's ``still_moving_tsn``, a tiny TSN trained for a few seconds to tell "a bright square
  moves somewhere" from "static background".
* 3D: an I3D (ResNet3d stem + layer1) is constructed as a motion detector: its stem computes the
  brightness change ``x[t+1] - x[t-1]`` (both signs), the residual blocks are identities
  (their last BN scales by zero), and the head scores the mean response. A static square in another
  quadrant gives no evidence, so the heat must follow the motion, not the object.

On a video where one quadrant holds the moving square, the Grad-CAM map must be hottest there.
"""

import argparse
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from videohub import AutoVideoConfig, AutoVideoModel, VideoProcessor
from videohub.commands import gradcam as gradcam_command
from videohub.data.video_reader import VideoReader
from videohub.errors import ConfigError, ShapeError
from videohub.utils.gradcam import GradCAM, apply_colormap, display_frames, normalization_of

SIZE, SIZE_3D, FRAMES = 16, 32, 4  # the 2D scenes and model of conftest: 16 x 16, 4 frames


def motion_detector():
    """An I3D whose class-1 score is the mean magnitude of brightness change over time (see the module docstring)."""
    config = AutoVideoConfig.for_model_type(
        "videohub-i3d",
        backbone=dict(type="ResNet3d", depth=18, pretrained=None, pretrained2d=False, num_stages=1, base_channels=4,
                      out_indices=(0,), spatial_strides=(1,), temporal_strides=(1,), dilations=(1,),
                      conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1, with_pool2=False, inflate=((1, 1),),
                      norm_eval=True),
        cls_head=dict(type="I3DHead", in_channels=4, dropout_ratio=0.0), num_labels=2, num_frames=2 * FRAMES,
        average_clips="score", id2label={0: "still", 1: "moving"})
    model = AutoVideoModel.from_config(config).eval()
    with torch.no_grad():
        stem = model.model.backbone.conv1.conv.weight  # (4, 3, 3, 7, 7)
        stem.zero_()
        stem[0, :, 2, 3, 3], stem[0, :, 0, 3, 3] = 1 / 3, -1 / 3  # brightening
        stem[1, :, 2, 3, 3], stem[1, :, 0, 3, 3] = -1 / 3, 1 / 3  # darkening
        for block in model.model.backbone.layer1:
            block.conv2.bn.weight.zero_()  # each residual block passes its input through
        head = model.cls_head.fc_cls
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.05, 0.0]))
        head.weight[1, :2] = 1.0
    return model


@pytest.fixture(scope="module")
def models(still_moving_tsn, scenes):
    processors = {
        "2d": VideoProcessor(sampler=dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=FRAMES,
                                          test_mode=True), transforms=[scenes.NORMALIZE]),
        "3d": VideoProcessor(sampler=dict(type="SampleFrames", clip_len=2 * FRAMES, frame_interval=1, num_clips=1,
                                          test_mode=True), transforms=[scenes.NORMALIZE]),
    }
    return {"2d": (still_moving_tsn, processors["2d"]), "3d": (motion_detector(), processors["3d"])}


def scene(scenes, kind, quadrant, seed):
    """2D: one moving square on noise. 3D (32 x 32, twice as many frames): a moving square and a still one in
    the next quadrant, on grey (the motion detector's zero-padded first and last frames respond to any
    non-grey pixel)."""
    rng = np.random.default_rng(seed)
    if kind == "2d":
        return scenes.render(rng, quadrant)
    return scenes.render(rng, quadrant, (quadrant + 1) % 4, frames=2 * FRAMES, size=SIZE_3D, noise=False)


def quadrant_heat(cam):
    heat = cam.reshape((-1,) + cam.shape[-2:]).mean(0)
    half = heat.shape[-1] // 2
    return [float(heat[qy * half:(qy + 1) * half, qx * half:(qx + 1) * half].mean()) for qy in (0, 1) for qx in (0, 1)]


@pytest.mark.parametrize("kind", ["2d", "3d"])
def test_heat_is_in_the_moving_quadrant(models, scenes, kind, tmp_path, make_video):
    model, processor = models[kind]
    for quadrant in range(4):
        path = tmp_path / f"q{quadrant}.mp4"
        make_video(path, scene(scenes, kind, quadrant, 10 + quadrant))
        pixel_values = processor(str(path))["pixel_values"]  # the processor's output as is: (1, V, T, C, H, W)
        assert pixel_values.shape == ((1, FRAMES, 1, 3, SIZE, SIZE) if kind == "2d" else
                                      (1, 1, 2 * FRAMES, 3, SIZE_3D, SIZE_3D))
        gradcam = GradCAM(model)
        maps, logits = gradcam.localization_map(pixel_values)
        assert gradcam.target_layer_name == "model.backbone.layer1"
        assert maps.shape == pixel_values.shape[:3] + pixel_values.shape[-2:]
        assert float(maps.min()) == 0.0 and float(maps.max()) == pytest.approx(1.0)
        assert int(logits.argmax()) == 1  # "moving"
        heat = quadrant_heat(maps)
        others = [h for q, h in enumerate(heat) if q != quadrant]
        assert heat[quadrant] > max(others), (kind, quadrant, heat)


def test_3d_chunked_views_give_the_same_maps(models, scenes):
    model, _ = models["3d"]
    rng = np.random.default_rng(3)
    views = [scenes.render(rng, 0, 1, 8, SIZE_3D, False), scenes.render(rng, 3, 2, 8, SIZE_3D, False)]
    pixel_values = scenes.normalized(np.stack(views))[None]  # 1 sample, 2 views
    whole, _ = GradCAM(model, "backbone/layer1").localization_map(pixel_values)
    model.config.max_testing_views = 1
    try:
        chunked, _ = GradCAM(model, "backbone/layer1").localization_map(pixel_values)
    finally:
        model.config.max_testing_views = None
    torch.testing.assert_close(chunked, whole)
    with pytest.raises(ShapeError, match="expected"):
        GradCAM(model).localization_map(pixel_values[0, 0, 0])


def test_colormap_display_and_errors(monkeypatch):
    values = np.linspace(0, 1, 1001)
    jet = apply_colormap(values)
    assert jet.shape == (1001, 3)
    np.testing.assert_allclose(jet[0], [0, 0, 0.5]) and np.testing.assert_allclose(jet[-1], [0.5, 0, 0])
    matplotlib = pytest.importorskip("matplotlib")
    np.testing.assert_allclose(jet, matplotlib.colormaps["jet"](values)[:, :3], atol=1e-12)
    np.testing.assert_allclose(apply_colormap(values, "viridis"), matplotlib.colormaps["viridis"](values)[:, :3])
    with pytest.raises(ConfigError, match="unknown matplotlib colormap"):
        apply_colormap(values, "no-such-map")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ConfigError, match=r"videohub\[vis\]"):
        apply_colormap(values, "viridis")
    assert apply_colormap(values).shape == (1001, 3)  # jet needs nothing

    frames = torch.tensor([-1.0, 0.0, 2.0]).view(1, 3, 1, 1).expand(2, 3, 2, 2)
    rgb = display_frames(frames, mean=(100, 50, 25), std=(51, 25.5, 51))
    assert rgb.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(rgb[0, 0, 0], [49 / 255, 50 / 255, 127 / 255], rtol=1e-6)  # (x * std + mean) / 255
    bgr = display_frames(frames, mean=(100, 50, 25), std=(51, 25.5, 51), to_bgr=True)
    np.testing.assert_allclose(bgr[0, 0, 0], [127 / 255, 50 / 255, 49 / 255], rtol=1e-6)
    processor = VideoProcessor(transforms=[dict(type="Normalize", mean=[1, 2, 3], std=[4, 5, 6], to_bgr=True)])
    assert normalization_of(processor) == dict(mean=(1, 2, 3), std=(4, 5, 6), to_bgr=True)


def parse(argv):
    parser = argparse.ArgumentParser()
    gradcam_command.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize("kind", ["2d", "3d"])
def test_command_writes_mp4_and_gif(models, scenes, kind, tmp_path, make_video, capsys):
    model, processor = models[kind]
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    video = tmp_path / "v.mp4"
    make_video(video, scene(scenes, kind, 2, 1))
    out_mp4, out_gif = tmp_path / "cam.mp4", tmp_path / "cam.gif"
    assert gradcam_command.run(parse([str(video), "--model", str(tmp_path / "model"), "--output", str(out_mp4)])) == 0
    printed = capsys.readouterr().out
    assert "target layer: model.backbone.layer1" in printed and "explained class: moving (id 1" in printed
    reader = VideoReader(str(out_mp4))
    frames, size = (FRAMES, SIZE) if kind == "2d" else (2 * FRAMES, SIZE_3D)
    assert (reader.num_frames, reader.height, reader.width) == (frames, size, size)
    assert gradcam_command.run(parse([str(video), "--model", str(tmp_path / "model"), "--output", str(out_gif),
                                      "--label", "still", "--target-layer", "backbone/conv1"])) == 0
    assert "explained class: still (id 0" in capsys.readouterr().out
    gif = Image.open(out_gif)
    assert (gif.n_frames, gif.size) == (frames, (size, size))
    for bad, match in ((["--output", str(tmp_path / "x.avi")], "mp4 or .gif"),
                       (["--output", str(out_gif), "--label", "jumping"], "neither a class name"),
                       (["--output", str(out_gif), "--target-layer", "backbone/layer9"], "layer9")):
        with pytest.raises(ConfigError, match=match):
            gradcam_command.run(parse([str(video), "--model", str(tmp_path / "model")] + bad))

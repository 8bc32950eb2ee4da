"""videohub.apis: init_recognizer, inference_recognizer, train_model."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest
import torch

import videohub
from videohub import apis
from videohub.errors import ConfigError, VideoDecodeError

NORM = dict(type="Normalize", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
MMACTION2_CONFIG = """
model = dict(
    type='Recognizer2D',
    backbone=dict(type='ResNet', depth=18, num_stages=2, out_indices=(1, ), strides=(1, 2), dilations=(1, 1),
                  norm_eval=False),
    cls_head=dict(type='TSNHead', num_classes=4, in_channels=128, spatial_type='avg',
                  consensus=dict(type='AvgConsensus', dim=1), dropout_ratio=0.4, init_std=0.01),
    test_cfg=dict(average_clips='score'))
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
test_pipeline = [
    dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=2, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='Collect', keys=['imgs', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['imgs'])
]
data = dict(test=dict(type='VideoDataset', ann_file='x.txt', pipeline=test_pipeline))
"""


@pytest.fixture(scope="module")
def mm_files(tmp_path_factory):
    """An mmaction2 config and a checkpoint in mmaction2's key layout (backbone.*, cls_head.*)."""
    root = tmp_path_factory.mktemp("mm")
    (root / "tsn_tiny.py").write_text(MMACTION2_CONFIG)
    from videohub.conversion.config_reader import load_config
    from videohub.conversion.mmaction2 import config_from_mmaction2

    torch.manual_seed(1)
    model = videohub.AutoVideoModel.from_config(config_from_mmaction2(load_config(str(root / "tsn_tiny.py"))))
    state = {k.replace("model.backbone.", "backbone."): v for k, v in model.state_dict().items()}
    torch.save({"meta": {}, "state_dict": state}, root / "tsn_tiny.pth")
    return str(root / "tsn_tiny.py"), str(root / "tsn_tiny.pth"), model.eval()


def test_init_recognizer_from_mmaction2_config_and_checkpoint(mm_files):
    config, checkpoint, reference = mm_files
    model = apis.init_recognizer(config, checkpoint, device="cuda:0")  # no CUDA here: falls back to the CPU
    assert next(model.parameters()).device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert not model.training and model.use_frames is False
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key].cpu(), value), key
    assert model.processor.sampler["num_clips"] == 2
    assert [t["type"] for t in model.processor.transforms] == ["Resize", "Normalize"]
    fresh = apis.init_recognizer(config, device="cpu")  # no checkpoint: mmaction2 initialization
    assert not torch.equal(fresh.cls_head.fc_cls.weight, reference.cls_head.fc_cls.weight)


def test_inference_recognizer_top5_and_layer_outputs(mm_files, small_videos, tmp_path):
    config, checkpoint, reference = mm_files
    model = apis.init_recognizer(config, checkpoint, device="cpu")
    video = os.path.join(small_videos, "videos", "up", "up_000.mp4")
    labels = tmp_path / "labels.txt"
    labels.write_text("left\nright\nup\ndown\n")
    top, feats = apis.inference_recognizer(model, video, str(labels), outputs=("backbone.layer2", "cls_head"),
                                           as_tensor=False)
    with torch.no_grad():  # independent path: the processor decodes the video itself
        expected = reference(**model.processor(video)).logits[0].numpy()
    order = np.argsort(-expected)
    assert [name for name, _ in top] == [["left", "right", "up", "down"][i] for i in order]
    np.testing.assert_allclose([score for _, score in top], expected[order], rtol=1e-5, atol=1e-6)
    assert isinstance(feats["backbone.layer2"], np.ndarray) and feats["backbone.layer2"].shape[:2] == (2, 128)
    assert feats["cls_head"].shape == (1, 4)
    # no label file: config.id2label names (LABEL_i here)
    assert [name for name, _ in apis.inference_recognizer(model, video)] == [f"LABEL_{i}" for i in order]
    with pytest.raises(VideoDecodeError, match="use_frames"):
        apis.inference_recognizer(model, small_videos)
    with pytest.raises(ConfigError, match="no layer"):
        apis.inference_recognizer(model, video, outputs="backbone.layer9")


def test_inference_recognizer_on_rawframes(mm_files, small_videos, tmp_path):
    from videohub.data.video_reader import VideoReader

    config, checkpoint, reference = mm_files
    model = apis.init_recognizer(config, checkpoint, device="cpu", use_frames=True)
    reader = VideoReader(os.path.join(small_videos, "videos", "left", "left_001.mp4"))
    frames = reader.get_frames(list(range(reader.num_frames)))
    folder = tmp_path / "left_001"
    folder.mkdir()
    for i, frame in enumerate(frames, 1):
        cv2.imwrite(str(folder / f"img_{i:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        os.rename(folder / f"img_{i:05d}.png", folder / f"img_{i:05d}.jpg")  # lossless frames under the jpg name
    top = apis.inference_recognizer(model, str(folder))
    with torch.no_grad():  # same frames as arrays through the processor
        expected = reference(**model.processor(np.stack(frames))).logits[0].numpy()
    np.testing.assert_allclose(sorted((s for _, s in top), reverse=True), np.sort(expected)[::-1], rtol=1e-5, atol=1e-6)
    with pytest.raises(VideoDecodeError, match="rawframe folder"):
        apis.inference_recognizer(model, os.path.join(small_videos, "videos", "left", "left_001.mp4"))
    # the processor reads the folder itself (as `videohub predict` would): frames counted up to the first gap
    assert model.processor(str(folder))["pixel_values"].shape == (1, 2, 1, 3, 32, 32)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "img_00002.jpg").write_bytes(b"")
    with pytest.raises(VideoDecodeError, match=r"empty.*img_00001\.jpg"):
        apis.inference_recognizer(model, str(empty))


def test_init_recognizer_from_a_videohub_folder(mm_files, tmp_path):
    _, _, reference = mm_files
    reference.save_pretrained(str(tmp_path / "m"))
    model = apis.init_recognizer(str(tmp_path / "m"), device="cpu")
    assert torch.equal(model.cls_head.fc_cls.weight, reference.cls_head.fc_cls.weight)
    assert model.processor.sampler["num_clips"] == reference.config.num_frames  # default processor
    with pytest.raises(ConfigError, match="checkpoint"):
        apis.init_recognizer(str(tmp_path / "m"), "x.pth", device="cpu")


def test_train_model_with_validate_and_test(tmp_path, small_videos, fresh_accelerate):
    """mmaction2-style cfg dict, torch-style VideoDataset with its pipeline, validate + test_best/test_last."""
    from videohub.data import build_dataset

    pipeline = [dict(type="PyAVInit"), dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=2),
                dict(type="PyAVDecode"), dict(type="Resize", scale=(32, 32), keep_ratio=False), NORM,
                dict(type="FormatShape", input_format="NCHW"), dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
                dict(type="ToTensor", keys=["imgs", "label"])]
    test_pipeline = [dict(step, test_mode=True) if step["type"] == "SampleFrames" else step for step in pipeline]
    val = dict(type="VideoDataset", ann_file=os.path.join(small_videos, "val.txt"), data_prefix=small_videos,
               pipeline=test_pipeline)
    work = tmp_path / "work"
    cfg = dict(
        work_dir=str(work), seed=0, total_epochs=2,
        data=dict(videos_per_gpu=4, workers_per_gpu=0, val=val, test=val),
        optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0001),
        optimizer_config=dict(grad_clip=dict(max_norm=40, norm_type=2)),
        lr_config=dict(policy="step", step=[1]),
        evaluation=dict(interval=1, metrics=["top_k_accuracy", "mean_class_accuracy"], save_best="mean_class_accuracy"),
        checkpoint_config=dict(interval=1), log_config=dict(interval=1), precise_bn=dict(num_iters=1, interval=1),
    )
    config = videohub.AutoVideoConfig.for_model_type(
        "videohub-tsn", backbone=dict(type="ResNet", depth=18, num_stages=2, out_indices=(1,), strides=(1, 2),
                                      dilations=(1, 1), norm_eval=False),
        cls_head=dict(type="TSNHead", in_channels=128, spatial_type="avg", consensus=dict(type="AvgConsensus", dim=1),
                      dropout_ratio=0.4, init_std=0.01), num_labels=4, num_frames=2)
    model = videohub.AutoVideoModel.from_config(config)
    train = build_dataset(dict(type="VideoDataset", ann_file=os.path.join(small_videos, "train.txt"),
                               data_prefix=small_videos, pipeline=pipeline))
    results = apis.train_model(model, [train], cfg, validate=True, test=dict(test_best=True, test_last=True),
                               timestamp="20240101_000000", meta=dict(note="unit test"))
    assert results["completed_steps"] == 6  # 12 clips / 4 per batch x 2 epochs
    for prefix in ("eval", "test_best", "test_last"):
        assert results[f"{prefix}_samples"] == 4
    best = json.loads((work / "best.json").read_text())
    assert best["metric"] == "mean_class_accuracy" and best["rule"] == "greater"
    assert results["test_best_mean_class_accuracy"] == pytest.approx(best["best_score"])
    assert sorted(d for d in os.listdir(work) if d.startswith("epoch_")) == ["epoch_1", "epoch_2"]
    assert (work / "latest").read_text().strip() == "epoch_2"
    state = json.loads((work / "epoch_2" / "trainer_state.json").read_text())
    assert state["meta"] == {"note": "unit test"} and state["completed_steps"] == 6
    assert state["scheduler"]["_last_lr"][0] == pytest.approx(0.001)  # step at epoch 1: lr x 0.1
    assert (work / "20240101_000000.log").exists()
    assert os.path.isfile(work / "latest_model" / "model.safetensors")
    assert os.path.isfile(work / "best_model" / "model.safetensors")


def test_train_model_distributed_needs_processes(tmp_path, small_videos, fresh_accelerate):
    with pytest.raises(ConfigError, match="torchrun"):
        apis.train_model(torch.nn.Linear(1, 1), [object()], dict(work_dir=str(tmp_path)), distributed=True)
    with pytest.raises(ConfigError, match="one"):
        apis.train_model(torch.nn.Linear(1, 1), [object(), object()], dict(work_dir=str(tmp_path)))

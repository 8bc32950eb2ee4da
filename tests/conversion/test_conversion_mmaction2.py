"""mmaction2 model dicts → videohub configs, checkpoint reading and the conversion command."""

import hashlib
import json
import os

import numpy as np
import pytest
import torch

from videohub.conversion.converter import convert, download_checkpoint, main
from videohub.conversion.mmaction2 import (
    arch_for_model_cfg,
    build_model,
    config_class_for,
    config_from_mmaction2,
    num_frames_from_pipeline,
    read_checkpoint,
    read_label_map,
)
from videohub.conversion.state_dict import RECOGNIZER_TABLE
from videohub.errors import CheckpointError, ConfigError

TSN_R18 = dict(
    type="Recognizer2D",
    backbone=dict(type="ResNet", depth=18, pretrained="torchvision://resnet18", norm_eval=False),
    cls_head=dict(type="TSNHead", num_classes=5, in_channels=512, spatial_type="avg",
                  consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.4, init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips="prob"),
)
TEST_PIPELINE = [
    dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=4, test_mode=True),
    dict(type="DecordInit"),
    dict(type="DecordDecode"),
    dict(type="Resize", scale=(-1, 64)),
    dict(type="CenterCrop", crop_size=56),
    dict(type="Normalize", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False),
    dict(type="FormatShape", input_format="NCHW"),
    dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["imgs"]),
]


def model(backbone, head="I3DHead", kind="Recognizer3D", neck=None):
    cfg = dict(type=kind, backbone=dict(type=backbone), cls_head=dict(type=head, num_classes=3, in_channels=8))
    if neck:
        cfg["neck"] = dict(type=neck)
    return cfg


@pytest.mark.parametrize("cfg,arch", [
    (model("ResNet", "TSNHead", "Recognizer2D"), "tsn"),
    (model("MobileNetV2", "TSNHead", "Recognizer2D"), "tsn"),
    (model("ResNetTSM", "TSMHead", "Recognizer2D"), "tsm"),
    (model("MobileNetV2TSM", "TSMHead", "Recognizer2D"), "tsm"),
    (model("ResNetTIN", "TSMHead", "Recognizer2D"), "tin"),
    (model("TANet", "TSMHead", "Recognizer2D"), "tanet"),
    (model("ResNet", "TRNHead", "Recognizer2D"), "trn"),
    (model("ResNetTSM", "TPNHead", "Recognizer2D", neck="TPN"), "tpn"),
    (model("ResNet3dSlowOnly", "TPNHead", neck="TPN"), "tpn"),
    (model("ResNet3d"), "i3d"),
    (model("ResNet3dSlowOnly"), "slowonly"),
    (model("ResNet3dSlowFast", "SlowFastHead"), "slowfast"),
    (model("ResNet2Plus1d"), "r2plus1d"),
    (model("ResNet3dCSN"), "csn"),
    (model("X3D", "X3DHead"), "x3d"),
    (model("C3D"), "c3d"),
    (model("ResNetAudio", "AudioTSNHead", "AudioRecognizer"), "audio"),
    (model("ResNet", "AudioTSNHead", "AudioRecognizer"), "audio"),
])
def test_arch_table(cfg, arch):
    assert arch_for_model_cfg(cfg) == arch


def test_every_recognizer_config_declares_its_mmaction2_types():
    from videohub.auto import CONFIG_CLASSES
    from videohub.configuration_utils import RecognizerConfig

    declared = {t[len("videohub-"):] for t, c in CONFIG_CLASSES.items()
                if issubclass(c, RecognizerConfig) and c.mmaction2_types}
    assert declared >= {
        "tsn", "tsm", "tin", "tanet", "trn", "tpn", "i3d", "slowonly", "slowfast", "r2plus1d", "csn", "x3d", "c3d", "audio"}
    assert arch_for_model_cfg(dict(type="Recognizer2D", backbone=dict(type="ResNetTSM"), neck=dict(type="TPN"))) == "tpn"
    assert arch_for_model_cfg(dict(type="AudioRecognizer", backbone=dict(type="ResNet"))) == "audio"


def test_localizers_and_detectors_map_by_their_model_type():
    from videohub.models.ava import AVAConfig
    from videohub.models.bmn import BMNConfig

    assert config_class_for(dict(type="BMN", temporal_dim=100)) is BMNConfig
    # the AVA detector's SlowOnly backbone does not make it a SlowOnly recognizer
    assert config_class_for(dict(type="FastRCNN", backbone=dict(type="ResNet3dSlowOnly"))) is AVAConfig
    assert arch_for_model_cfg(dict(type="FastRCNN", backbone=dict(type="ResNet3dSlowFast"))) == "ava"


def test_arch_table_refuses_what_it_does_not_cover():
    # SSN has a ResNet backbone, as TSN; only a recognizer wrapper is matched by its parts
    assert arch_for_model_cfg(dict(type="SSN", backbone=dict(type="ResNet"))) == "ssn"
    assert arch_for_model_cfg(dict(type="TEM")) == "tem" and arch_for_model_cfg(dict(type="PEM")) == "pem"
    with pytest.raises(ConfigError, match="model type 'ASFormer' .*covered model types: .*'BMN'.*'FastRCNN'"):
        arch_for_model_cfg(dict(type="ASFormer", backbone=dict(type="ResNet")))
    with pytest.raises(ConfigError, match="no videohub architecture covers .*timm.vit"):
        arch_for_model_cfg(model("timm.vit_base_patch16_224", "TSNHead", "Recognizer2D"))
    assert arch_for_model_cfg(model("timm.swin_base_patch4_window7_224", "TSNHead", "Recognizer2D")) == "tsn"
    with pytest.raises(ConfigError, match="must be a dict, got list"):
        arch_for_model_cfg([("type", "Recognizer2D")])


def test_config_from_mmaction2():
    config = config_from_mmaction2(TSN_R18, TEST_PIPELINE, id2label=["a", "b", "c", "d", "e"])
    assert config.model_type == "videohub-tsn"
    assert config.backbone == dict(type="ResNet", depth=18, pretrained=None, norm_eval=False)  # like tools/test.py
    assert config.num_labels == 5 and config.id2label[4] == "e" and config.label2id["c"] == 2
    assert config.average_clips == "prob" and config.recognizer == "Recognizer2D"
    assert config.num_frames == 4
    assert TSN_R18["backbone"]["pretrained"] == "torchvision://resnet18"  # the input is not modified


def test_config_from_whole_config_uses_its_test_pipeline():
    config = config_from_mmaction2({"model": TSN_R18, "test_pipeline": TEST_PIPELINE, "total_epochs": 3})
    assert config.num_frames == 4


def test_config_from_mmaction2_overrides_are_set_when_the_config_is_made():
    config = config_from_mmaction2(TSN_R18, TEST_PIPELINE, num_labels=3, average_clips="score")
    assert config.num_labels == 3 and config.average_clips == "score" and config.num_frames == 4
    assert config.cls_head["in_channels"] == 512 and "num_classes" not in config.cls_head


BMN_MM = dict(type="BMN", temporal_dim=20, boundary_ratio=0.5, num_samples=8, num_samples_per_bin=3, feat_dim=32,
              soft_nms_alpha=0.4, soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9, post_process_top_k=10,
              hidden_dim_1d=32, hidden_dim_2d=16, hidden_dim_3d=64)
AVA_MM = dict(
    type="FastRCNN",
    backbone=dict(type="ResNet3dSlowOnly", depth=18, pretrained="https://example.org/slowonly.pth", pretrained2d=False,
                  base_channels=16, lateral=False, num_stages=4, conv1_kernel=(1, 7, 7), conv1_stride_t=1,
                  pool1_stride_t=1, inflate=(0, 0, 1, 1), spatial_strides=(1, 2, 2, 1)),
    roi_head=dict(type="AVARoIHead",
                  bbox_roi_extractor=dict(type="SingleRoIExtractor3D", roi_layer_type="RoIAlign", output_size=8,
                                          with_temporal_pool=True),
                  bbox_head=dict(type="BBoxHeadAVA", in_channels=128, num_classes=9, multilabel=True, dropout_ratio=0.5)),
    train_cfg=None,
    test_cfg=dict(rcnn=dict(action_thr=0.5)),
)


def test_config_from_mmaction2_of_a_localizer():
    from videohub.models.bmn import BMNConfig

    config = config_from_mmaction2(BMN_MM, [dict(type="LoadLocalizationFeature")])
    assert type(config) is BMNConfig
    assert {k: getattr(config, k) for k in BMN_MM if k != "type"} == {k: v for k, v in BMN_MM.items() if k != "type"}
    assert config.localizer_kwargs()["temporal_dim"] == 20 and config.loss_cls == {"type": "BMNLoss"}
    with pytest.raises(ConfigError, match="id2label was given, but the mmaction2 BMN model has no classes"):
        config_from_mmaction2(BMN_MM, id2label=["a"])
    with pytest.raises(ConfigError, match=r"BMNConfig: unknown config key\(s\) \['temporal_scale'\]"):
        config_from_mmaction2(dict(BMN_MM, temporal_scale=100))


def test_config_from_mmaction2_of_a_detector():
    from videohub.models.ava import AVAConfig

    pipeline = [dict(type="SampleAVAFrames", clip_len=8, frame_interval=8), dict(type="RawFrameDecode")]
    config = config_from_mmaction2(AVA_MM, pipeline, id2label=[f"action{i}" for i in range(9)])
    assert type(config) is AVAConfig and config.num_labels == 9 and config.id2label[8] == "action8"
    assert config.num_frames == 8  # clip_len of SampleAVAFrames
    assert config.backbone["pretrained"] is None and config.backbone["depth"] == 18  # like tools/test.py
    assert config.roi_head["bbox_head"]["in_channels"] == 128
    assert config.test_cfg == {"rcnn": {"action_thr": 0.5}}
    assert config.roi_head_config()["bbox_head"]["num_classes"] == 9
    with pytest.raises(ConfigError, match=r"FastRCNN config has a neck \{'type': 'FPN'\}; the AVA detectors have none"):
        config_from_mmaction2(dict(AVA_MM, neck=dict(type="FPN")))
    with pytest.raises(ConfigError, match=r"FastRCNN model config has unknown key\(s\) \['rpn_head'\]"):
        config_from_mmaction2(dict(AVA_MM, rpn_head=dict(type="RPNHead")))
    with pytest.raises(ConfigError, match="needs a roi_head.bbox_head dict with a type"):
        config_from_mmaction2(dict(AVA_MM, roi_head=dict(type="AVARoIHead")))
    # no num_classes: BBoxHeadAVA's default, 81 (class 0 reserved); pretrained/init_cfg are dropped
    head = {k: v for k, v in AVA_MM["roi_head"]["bbox_head"].items() if k != "num_classes"}
    default = config_from_mmaction2(dict(AVA_MM, roi_head=dict(AVA_MM["roi_head"], bbox_head=head), pretrained="x.pth",
                                         init_cfg=None))
    assert default.num_labels == 81 and not hasattr(default, "init_cfg")


def test_build_model_of_a_localizer_and_a_detector_uses_the_task_key_tables():
    """mmaction2 weights (module names of BMN / FastRCNN) land in the videohub task models unchanged."""
    from videohub.auto import AutoVideoModel
    from videohub.builder import build_localizer

    torch.manual_seed(0)
    bmn = build_localizer(dict(BMN_MM)).eval()
    model = build_model(config_from_mmaction2(BMN_MM), bmn.state_dict(), source="bmn.pth")
    assert type(model).__name__ == "BMNForTemporalActionLocalization" and not model.training
    for key, value in bmn.state_dict().items():
        assert torch.equal(model.state_dict()[f"localizer.{key}"], value), key
    x = torch.randn(2, 32, 20)
    with torch.no_grad():
        torch.testing.assert_close(model(input_features=x).confidence_map, bmn._forward(x)[0], rtol=0, atol=0)
    with pytest.raises(CheckpointError, match=r"bmn.pth does not match BMNConfig .*missing .*x_1d_b\.0\.bias"):
        build_model(config_from_mmaction2(BMN_MM), {k: v for k, v in bmn.state_dict().items() if k != "x_1d_b.0.bias"},
                    source="bmn.pth")

    config = config_from_mmaction2(AVA_MM)
    reference = AutoVideoModel.from_config(config).eval()
    detector = build_model(config, dict(reference.state_dict()), source="ava.pth")
    assert type(detector).__name__ == "AVAForSpatioTemporalActionDetection"
    assert {k.split(".", 1)[0] for k in detector.state_dict()} == {"backbone", "roi_head"}
    for key, value in reference.state_dict().items():
        assert torch.equal(detector.state_dict()[key], value), key


def test_videohub_builder_build_model_covers_every_task():
    """``videohub.builder.build_model`` (mmaction2's ``build_model``) gives the task model of any model dict."""
    from videohub.builder import build_model as build_task_model, build_recognizer

    recognizer = build_task_model(dict(type="Recognizer2D", backbone=dict(type="ResNet", depth=18),
                                       cls_head=dict(type="TSNHead", num_classes=4, in_channels=512)))
    assert type(recognizer).__name__ == "TSNForVideoClassification"
    assert type(build_task_model(dict(BMN_MM))).__name__ == "BMNForTemporalActionLocalization"
    test_cfg = dict(rcnn=dict(action_thr=0.002))
    detector = build_task_model({k: v for k, v in AVA_MM.items() if k != "test_cfg"}, test_cfg=test_cfg)
    assert type(detector).__name__ == "AVAForSpatioTemporalActionDetection"
    assert detector.config.test_cfg == test_cfg
    with pytest.raises(ConfigError, match="test_cfg is given both"):
        build_task_model(dict(AVA_MM, test_cfg=test_cfg), test_cfg=test_cfg)
    with pytest.raises(ConfigError, match="build_recognizer: model type 'BMN'"):
        build_recognizer(dict(BMN_MM))


def test_the_converter_writes_a_localizer_folder_without_a_processor(tmp_path):
    from videohub.auto import AutoVideoModel
    from videohub.builder import build_localizer

    torch.manual_seed(0)
    bmn = build_localizer(dict(BMN_MM)).eval()
    ckpt = tmp_path / "bmn.pth"
    save_mmcv_checkpoint(ckpt, bmn.state_dict())
    cfg = write_config(tmp_path / "bmn_cfg.py", BMN_MM, [dict(type="LoadLocalizationFeature")])
    convert(str(tmp_path / "out"), checkpoint=str(ckpt), config=cfg)
    assert {"model.safetensors", "config.json", "README.md"} <= set(os.listdir(tmp_path / "out"))
    assert "preprocessor_config.json" not in os.listdir(tmp_path / "out")  # features in, not frames
    loaded = AutoVideoModel.from_pretrained(str(tmp_path / "out")).eval()
    x = torch.randn(1, 32, 20)
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_features=x).start, bmn._forward(x)[1], rtol=0, atol=0)
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\n")
    with pytest.raises(ConfigError, match="id2label was given, but the mmaction2 BMN model has no classes"):
        convert(str(tmp_path / "out2"), checkpoint=str(ckpt), config=cfg, label_map=str(labels))


def test_config_from_mmaction2_errors():
    with pytest.raises(ConfigError, match=r"test_cfg has unknown key\(s\) \['nms'\]"):
        config_from_mmaction2(dict(TSN_R18, test_cfg=dict(average_clips="score", nms=0.5)))
    with pytest.raises(ConfigError, match="id2label has 2 entries .* num_classes=5"):
        config_from_mmaction2(TSN_R18, id2label=["a", "b"])
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['data_preprocessor'\]"):
        config_from_mmaction2(dict(TSN_R18, data_preprocessor=dict(type="X")))


def test_num_frames_from_pipeline():
    two_d = [dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=8, test_mode=True)]
    three_d = [dict(type="SampleFrames", clip_len=32, frame_interval=2, num_clips=10, test_mode=True)]
    assert num_frames_from_pipeline("Recognizer2D", two_d) == 8
    assert num_frames_from_pipeline("Recognizer3D", three_d) == 32
    assert num_frames_from_pipeline("Recognizer3D", [dict(type="Resize")]) is None


# ------------------------------------------------------------------ checkpoints


def save_mmcv_checkpoint(path, state_dict, meta=None, prefix=""):
    torch.save({"meta": meta or {}, "state_dict": {prefix + k: v for k, v in state_dict.items()},
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.01}]}}, path)


def test_read_checkpoint_layouts(tmp_path):
    sd = {"backbone.w": torch.ones(2), "cls_head.b": torch.zeros(1)}
    mmcv_path = tmp_path / "mmcv.pth"
    save_mmcv_checkpoint(mmcv_path, sd, meta={"mmcv_version": "1.7.0", "config": "model = dict()", "epoch": 3})
    ckpt = read_checkpoint(str(mmcv_path))
    assert list(ckpt.state_dict) == ["backbone.w", "cls_head.b"] and ckpt.meta["epoch"] == 3
    assert ckpt.sha256 == hashlib.sha256(mmcv_path.read_bytes()).hexdigest()
    dp_path = tmp_path / "dp.pth"
    save_mmcv_checkpoint(dp_path, sd, prefix="module.")
    assert list(read_checkpoint(str(dp_path)).state_dict) == ["backbone.w", "cls_head.b"]
    bare = tmp_path / "bare.pth"
    torch.save(sd, bare)
    assert read_checkpoint(str(bare)).meta == {}


def test_read_checkpoint_accepts_numpy_scalars_in_meta(tmp_path):
    path = tmp_path / "np.pth"
    save_mmcv_checkpoint(path, {"backbone.w": torch.ones(1)}, meta={"hook_msgs": {"best_score": np.float64(0.7)}})
    assert float(read_checkpoint(str(path)).meta["hook_msgs"]["best_score"]) == 0.7


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_read_checkpoint_never_unpickles_objects(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"backbone.w": torch.ones(1)}, "meta": {"x": Payload()}}, path)
    with pytest.raises(CheckpointError, match="cannot be read with torch.load\\(weights_only=True\\)"):
        read_checkpoint(str(path))
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(str(tmp_path / "none.pth"))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pth"):
        read_checkpoint(str(tmp_path / "junk.pth"))


def test_read_label_map(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("abseiling\nair drumming\n\n")
    assert read_label_map(str(path)) == {0: "abseiling", 1: "air drumming"}
    path.write_text("a\n\nb\n")
    with pytest.raises(ConfigError, match=r"labels\.txt:2: empty line"):
        read_label_map(str(path))


# ------------------------------------------------------------------ the command


def write_config(path, model_cfg, pipeline):
    path.write_text(f"model = {model_cfg!r}\ntest_pipeline = {pipeline!r}\ndata = dict(test=dict(pipeline=test_pipeline))\n")
    return str(path)


@pytest.fixture(scope="module")
def reference_tsn():
    """A randomly initialized videohub TSN-R18 and its weights under mmaction2 names."""
    from videohub.auto import AutoVideoModel

    torch.manual_seed(0)
    config = config_from_mmaction2(TSN_R18, TEST_PIPELINE)
    net = AutoVideoModel.from_config(config).eval()
    with torch.no_grad():  # non-trivial BN statistics so a wrong mapping would show
        for name, buf in net.named_buffers():
            if name.endswith("running_mean"):
                buf.uniform_(-0.2, 0.2)
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 1.5)
    mm = {RECOGNIZER_TABLE.to_mmaction2(k): v.clone() for k, v in net.state_dict().items()}
    return net, mm


def test_convert_command_end_to_end(tmp_path, reference_tsn):
    from videohub.auto import AutoVideoModel, AutoVideoProcessor

    net, mm = reference_tsn
    ckpt = tmp_path / "tsn.pth"
    save_mmcv_checkpoint(ckpt, mm, meta={"mmcv_version": "1.7.0"})
    cfg = write_config(tmp_path / "tsn_cfg.py", TSN_R18, TEST_PIPELINE)
    labels = tmp_path / "labels.txt"
    labels.write_text("".join(f"class{i}\n" for i in range(5)))
    out = tmp_path / "out"
    assert main(["--config", cfg, "--checkpoint", str(ckpt), "--output", str(out), "--label-map", str(labels)]) == 0
    assert {"model.safetensors", "config.json", "preprocessor_config.json", "README.md"} <= set(os.listdir(out))
    saved = json.loads((out / "config.json").read_text())
    assert saved["model_type"] == "videohub-tsn" and saved["id2label"]["3"] == "class3"
    assert saved["backbone"]["depth"] == 18 and saved["architectures"] == ["TSNForVideoClassification"]
    processor = json.loads((out / "preprocessor_config.json").read_text())
    assert processor["sampler"]["num_clips"] == 4 and [t["type"] for t in processor["transforms"]] == ["Resize", "CenterCrop", "Normalize"]
    card = (out / "README.md").read_text()
    assert hashlib.sha256(ckpt.read_bytes()).hexdigest() in card

    loaded = AutoVideoModel.from_pretrained(str(out)).eval()
    x = torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values=x).logits, net(pixel_values=x).logits, rtol=1e-6, atol=1e-7)
    assert AutoVideoProcessor.from_pretrained(str(out)).sampler["num_clips"] == 4


def test_convert_uses_the_config_stored_in_the_checkpoint(tmp_path, reference_tsn):
    from videohub.auto import AutoVideoModel

    net, mm = reference_tsn
    text = f"model = {TSN_R18!r}\ntest_pipeline = {TEST_PIPELINE!r}\n"
    ckpt = tmp_path / "tsn.pth"
    save_mmcv_checkpoint(ckpt, mm, meta={"config": text})
    assert main(["--checkpoint", str(ckpt), "--output", str(tmp_path / "out")]) == 0
    loaded = AutoVideoModel.from_pretrained(str(tmp_path / "out"))
    assert torch.equal(loaded.cls_head.fc_cls.weight, net.cls_head.fc_cls.weight)


def test_convert_refuses_a_checkpoint_of_another_model(tmp_path, reference_tsn):
    _, mm = reference_tsn
    wrong = dict(mm)
    wrong["cls_head.fc_cls.weight"] = torch.zeros(400, 512)
    wrong["cls_head.fc_cls.bias"] = torch.zeros(400)
    ckpt = tmp_path / "wrong.pth"
    save_mmcv_checkpoint(ckpt, wrong)
    cfg = write_config(tmp_path / "tsn_cfg.py", TSN_R18, TEST_PIPELINE)
    with pytest.raises(CheckpointError, match=r"wrong\.pth does not match .* cls_head\.fc_cls\.weight: checkpoint \(400, 512\)"):
        main(["--config", cfg, "--checkpoint", str(ckpt), "--output", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_convert_golden_tsn_gives_the_reference_logits(tmp_path, golden):
    from videohub.auto import AutoVideoModel

    g = golden("tsn_r18")
    ckpt = tmp_path / "tsn.pth"
    save_mmcv_checkpoint(ckpt, g["state_dict"])
    cfg = write_config(tmp_path / "cfg.py", g["config"], TEST_PIPELINE)
    assert main(["--config", cfg, "--checkpoint", str(ckpt), "--output", str(tmp_path / "out")]) == 0
    loaded = AutoVideoModel.from_pretrained(str(tmp_path / "out")).eval()
    with torch.no_grad():
        out = loaded(pixel_values=g["input"])
    ref = g["output"]
    assert (out.clip_logits - ref).abs().max() <= 1e-4 * ref.abs().max() + 1e-5
    assert (out.scores - g["extra"]["test_output"]).abs().max() <= 1e-4 * ref.abs().max() + 1e-5


def test_list_presets_and_missing_output(capsys):
    assert main(["--list-presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "x3d_s_13x6x1_facebook_kinetics400_rgb\tx3d\tKinetics-400" in lines
    with pytest.raises(SystemExit):
        main(["--checkpoint", "x.pth"])
    with pytest.raises(ConfigError, match="--checkpoint is required unless --preset"):
        main(["--output", "somewhere"])


def test_init_recognizer(tmp_path, reference_tsn):
    from videohub.conversion.mmaction2 import init_recognizer

    net, mm = reference_tsn
    ckpt = tmp_path / "tsn.pth"
    save_mmcv_checkpoint(ckpt, mm)
    cfg = write_config(tmp_path / "tsn_cfg.py", TSN_R18, TEST_PIPELINE)
    loaded = init_recognizer(cfg, str(ckpt))
    assert not loaded.training
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    fresh = init_recognizer(cfg)  # mmaction2 initialization, no checkpoint
    assert fresh.config.model_type == "videohub-tsn" and fresh.cls_head.fc_cls.weight.shape == (5, 512)


def test_download_checks_the_sha256_prefix_of_the_file_name(tmp_path):
    payload = b"checkpoint bytes"
    prefix = hashlib.sha256(payload).hexdigest()[:8]
    good = tmp_path / "src" / f"tsn_20200614-{prefix}.pth"
    good.parent.mkdir()
    good.write_bytes(payload)
    local = download_checkpoint(good.as_uri(), str(tmp_path / "cache"))
    assert open(local, "rb").read() == payload
    bad = tmp_path / "src" / "tsn_20200614-deadbeef.pth"
    bad.write_bytes(payload)
    with pytest.raises(CheckpointError, match="deadbeef"):
        download_checkpoint(bad.as_uri(), str(tmp_path / "cache"))
    assert not (tmp_path / "cache" / bad.name).exists()


def test_num_frames_of_flow_models():
    flow_2d = [dict(type="SampleFrames", clip_len=5, frame_interval=1, num_clips=25, test_mode=True),
               dict(type="FormatShape", input_format="NCHW_Flow")]
    assert num_frames_from_pipeline("Recognizer2D", flow_2d) == 25  # 5 flow frames x 2 stacked in channels
    assert num_frames_from_pipeline("Recognizer3D", [dict(flow_2d[0], clip_len=8)]) == 8


def test_takes_rgb_video():
    from videohub.conversion.mmaction2 import takes_rgb_video

    assert takes_rgb_video(TSN_R18)
    assert not takes_rgb_video(dict(TSN_R18, backbone=dict(type="ResNet", depth=50, in_channels=10)))  # flow
    assert not takes_rgb_video(dict(type="AudioRecognizer", backbone=dict(type="ResNetAudio", depth=50)))


def test_push_to_hub_to_a_local_hub(tmp_path, reference_tsn):
    from huggingface_hub import HfApi

    from videohub.auto import AutoVideoModel
    from videohub.hub import local_hub

    net, mm = reference_tsn
    ckpt = tmp_path / "tsn.pth"
    save_mmcv_checkpoint(ckpt, mm)
    cfg = write_config(tmp_path / "tsn_cfg.py", TSN_R18, TEST_PIPELINE)
    with local_hub(str(tmp_path / "hub"), "conv-token"):
        assert main(["--config", cfg, "--checkpoint", str(ckpt), "--output", str(tmp_path / "out"),
                     "--push-to-hub", "org/tsn-converted"]) == 0
        files = set(HfApi().list_repo_files("org/tsn-converted"))
        loaded = AutoVideoModel.from_pretrained("org/tsn-converted", cache_dir=str(tmp_path / "cache")).eval()
    assert {"model.safetensors", "config.json", "preprocessor_config.json", "README.md"} <= files
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    x = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values=x).logits, net(pixel_values=x).logits, rtol=1e-6, atol=1e-7)
    assert 'from_pretrained("org/tsn-converted")' in (tmp_path / "out" / "README.md").read_text()

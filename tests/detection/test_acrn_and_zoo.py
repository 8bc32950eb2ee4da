"""ACRNHead against an independent computation; the detection zoo of the mmaction2 0.24.1 wheel
converts (config + model for one of each head kind); a converted detector saves and reloads."""

import glob
import os
import zipfile

import pytest
import torch
import torch.nn.functional as F

import videohub
from videohub.conversion.config_reader import load_config
from videohub.conversion.mmaction2 import config_from_mmaction2
from videohub.errors import ConfigError, ShapeError
from videohub.models.ava import ACRNHead, AVAConfig
from model_helpers import build

WHEELS = ("/tmp/mma/mmaction2-0.24.1-*.whl", os.path.expanduser("~/.cache/videohub/mmaction2-0.24.1-*.whl"))


def _conv_bn_relu(x, module, stride=(1, 1, 1), padding=(0, 0, 0)):
    bn = module.bn
    y = F.conv3d(x, module.conv.weight, None, stride, padding)
    y = (y - bn.running_mean[None, :, None, None, None]) / torch.sqrt(bn.running_var + bn.eps)[None, :, None, None, None]
    return torch.relu(y * bn.weight[None, :, None, None, None] + bn.bias[None, :, None, None, None])


def test_acrn_head_by_independent_computation():
    torch.manual_seed(0)
    head = ACRNHead(in_channels=6, out_channels=5, stride=2, num_convs=2)
    head.init_weights()
    for bn in (head.conv1.bn, head.conv2.bn, head.convs[0].bn):  # non-trivial statistics
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    head.eval()
    roi_feat = torch.randn(3, 2, 1, 4, 4)
    context = torch.randn(2, 4, 1, 6, 6)
    rois = torch.tensor([[1.0, 0, 0, 5, 5], [0.0, 1, 1, 3, 3], [1.0, 2, 2, 6, 6]])
    with torch.no_grad():
        out = head(roi_feat, context, rois)
        tiled = roi_feat.amax(dim=(2, 3, 4), keepdim=True).expand(3, 2, 1, 6, 6)
        x = torch.cat([tiled, context[[1, 0, 1]]], dim=1)
        x = _conv_bn_relu(x, head.conv1)
        x = _conv_bn_relu(x, head.conv2, stride=(1, 2, 2), padding=(0, 1, 1))
        expected = _conv_bn_relu(x, head.convs[0], padding=(0, 1, 1))
    assert out.shape == (3, 5, 1, 3, 3)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ShapeError, match="channels adding up to in_channels"):
        head(torch.randn(3, 3, 1, 4, 4), context, rois)
    with pytest.raises(ConfigError, match="num_convs must be >= 1"):
        ACRNHead(4, 4, num_convs=0)


def test_tiny_detector_with_an_acrn_shared_head_trains():
    model, module = build("ava", roi_head=dict(
        bbox_roi_extractor=dict(type="SingleRoIExtractor3D", roi_layer_type="RoIAlign", output_size=8,
                                with_temporal_pool=True, temporal_pool_mode="max"),
        shared_head=dict(type="ACRNHead", in_channels=128, out_channels=64),
        bbox_head=dict(type="BBoxHeadAVA", in_channels=64, num_classes=6, multilabel=True, dropout_ratio=0.0)))
    out = model(**module.inputs(), labels=module.labels())
    assert out.logits.shape == (3, 6) and torch.isfinite(out.loss)
    out.loss.backward()
    assert model.roi_head.shared_head.conv1.conv.weight.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def detection_configs(tmp_path_factory):
    wheel = os.environ.get("VIDEOHUB_MMACTION2_WHEEL") or next(
        (found[0] for found in (sorted(glob.glob(p)) for p in WHEELS) if found), None)
    if not wheel or not os.path.isfile(wheel):
        pytest.skip("mmaction2 0.24.1 wheel not found (pip download mmaction2==0.24.1 --no-deps -d /tmp/mma)")
    target = tmp_path_factory.mktemp("mim")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target, [m for m in zf.namelist() if m.startswith("mmaction/.mim/configs/detection/")])
    root = os.path.join(str(target), "mmaction", ".mim", "configs", "detection")
    return sorted(p for p in glob.glob(os.path.join(root, "*", "*.py")) if "_base_" not in p)


def test_every_detection_config_of_the_zoo_converts(detection_configs):
    assert len(detection_configs) == 20
    kinds = {}
    for path in detection_configs:
        cfg = load_config(path)
        config = config_from_mmaction2(cfg)
        assert isinstance(config, AVAConfig), path
        head = cfg["model"]["roi_head"]["bbox_head"]
        assert config.num_labels == head["num_classes"], path
        pipeline = cfg.get("test_pipeline") or cfg["data"]["test"]["pipeline"]
        sampler = next(s for s in pipeline if s["type"] == "SampleAVAFrames")
        assert config.num_frames == sampler["clip_len"], path
        assert config.train_cfg["rcnn"]["assigner"]["type"] == "MaxIoUAssignerAVA"
        assert config.test_cfg["rcnn"]["action_thr"] == cfg["model"]["test_cfg"]["rcnn"]["action_thr"]
        assert config.backbone.get("pretrained") is None
        kinds.setdefault((config.backbone["type"], (config.roi_head.get("shared_head") or {}).get("type")), path)
    assert set(kinds) >= {("ResNet3dSlowOnly", None), ("ResNet3dSlowFast", None), ("ResNet3dSlowFast", "ACRNHead"),
                          ("ResNet3dSlowOnly", "FBOHead"), ("ResNet3dSlowOnly", "LFBInferHead")}


@pytest.mark.slow
def test_converted_acrn_detector_builds_and_round_trips(detection_configs, tmp_path):
    path = next(p for p in detection_configs if os.path.basename(p).startswith("slowfast_acrn"))
    config = config_from_mmaction2(load_config(path))
    model = videohub.AutoVideoModel.from_config(config).eval()
    assert type(model).__name__ == "AVAForSpatioTemporalActionDetection"
    assert isinstance(model.roi_head.shared_head, ACRNHead) and model.roi_head.shared_head.in_channels == 4608
    model.save_pretrained(tmp_path)
    reloaded = videohub.AutoVideoModel.from_pretrained(str(tmp_path)).eval()
    torch.manual_seed(0)
    x = torch.randn(1, 32, 3, 32, 32)
    boxes = [torch.tensor([[4.0, 4.0, 20.0, 30.0]])]
    with torch.no_grad():
        assert torch.equal(model(x, boxes=boxes).logits, reloaded(x, boxes=boxes).logits)


TINY_MMACTION2_CONFIG = """
model = dict(
    type='FastRCNN',
    backbone=dict(type='ResNet3dSlowOnly', depth=18, pretrained='torchvision://resnet18', pretrained2d=False,
                  lateral=False, base_channels=8, num_stages=4, conv1_kernel=(1, 7, 7), conv1_stride_t=1,
                  pool1_stride_t=1, spatial_strides=(1, 2, 2, 1)),
    roi_head=dict(
        type='AVARoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor3D', roi_layer_type='RoIAlign', output_size=8,
                                with_temporal_pool=True),
        bbox_head=dict(type='BBoxHeadAVA', in_channels=64, num_classes=7, multilabel=True, dropout_ratio=0.5)),
    train_cfg=dict(rcnn=dict(
        assigner=dict(type='MaxIoUAssignerAVA', pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.9),
        sampler=dict(type='RandomSampler', num=32, pos_fraction=1, neg_pos_ub=-1, add_gt_as_proposals=True),
        pos_weight=1.0, debug=False)),
    test_cfg=dict(rcnn=dict(action_thr=0.002)))
test_pipeline = [
    dict(type='SampleAVAFrames', clip_len=4, frame_interval=16, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='FormatShape', input_format='NCTHW', collapse=True),
    dict(type='Collect', keys=['img', 'proposals'], meta_keys=['scores', 'img_shape'], nested=True)]
"""


def test_videohub_convert_of_a_detector_checkpoint(tmp_path):
    from videohub.conversion.converter import convert

    config_file = tmp_path / "tiny_ava.py"
    config_file.write_text(TINY_MMACTION2_CONFIG)
    source = videohub.AutoVideoModel.from_config(config_from_mmaction2(load_config(str(config_file)))).eval()
    assert source.config.num_labels == 7 and source.config.num_frames == 4
    assert source.config.backbone["pretrained"] is None
    torch.save({"state_dict": source.state_dict(), "meta": {}}, tmp_path / "tiny_ava.pth")
    convert(str(tmp_path / "hf"), checkpoint=str(tmp_path / "tiny_ava.pth"), config=str(config_file))
    assert sorted(os.listdir(tmp_path / "hf")) == ["README.md", "config.json", "model.safetensors"]
    converted = videohub.AutoVideoModel.from_pretrained(str(tmp_path / "hf")).eval()
    torch.manual_seed(0)
    x, boxes = torch.randn(1, 4, 3, 32, 32), [torch.tensor([[2.0, 2.0, 20.0, 30.0], [0.0, 0.0, 31.0, 31.0]])]
    with torch.no_grad():
        assert torch.equal(source(x, boxes=boxes).logits, converted(x, boxes=boxes).logits)
    assert converted.config.train_cfg["rcnn"]["sampler"]["num"] == 32

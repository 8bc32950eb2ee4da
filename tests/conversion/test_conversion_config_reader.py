"""The AST config reader against mmcv 1.7.0's ``Config.fromfile`` (recorded in data/mmcv_reference.json)."""

import json
import os
import textwrap

import pytest

from videohub.conversion.config_reader import load_config, load_config_text, merge_a_into_b
from videohub.errors import ConfigError

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "configs")
with open(os.path.join(HERE, "data", "mmcv_reference.json"), encoding="utf-8") as f:
    MMCV = json.load(f)


def untag(value):
    """Decode the tagged JSON of make_mmcv_reference.py back into Python values."""
    if isinstance(value, dict):
        if "__d__" in value:
            return {untag(k): untag(v) for k, v in value["__d__"]}
        if "__t__" in value:
            return tuple(untag(v) for v in value["__t__"])
        if "__r__" in value:
            return range(*value["__r__"])
    if isinstance(value, list):
        return [untag(v) for v in value]
    return value


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


# repr() shows dict order and tells tuples from lists, so equal reprs mean the same content as mmcv's.
@pytest.mark.parametrize("name", sorted(MMCV["self_made"]))
def test_self_made_configs_match_mmcv(name):
    assert repr(load_config(os.path.join(CONFIGS, name))) == repr(untag(MMCV["self_made"][name]))


def test_inheritance_details_worked_by_hand():
    cfg = load_config(os.path.join(CONFIGS, "grandchild.py"))
    model = cfg["model"]
    # backbone: base dict merged with child (depth 101, norm_eval True) then grandchild (depth 152)
    assert model["backbone"] == dict(type="ResNet", pretrained="torchvision://resnet50", depth=152, norm_eval=True)
    # cls_head: replaced by the child (_delete_), then merged with the grandchild's num_classes
    assert model["cls_head"] == dict(type="I3DHead", num_classes=101, in_channels=2048)
    assert model["test_cfg"] == dict(average_clips="prob", max_testing_views=4)
    assert cfg["total_epochs"] == 50 and cfg["optimizer_config"] == dict(grad_clip=None)
    assert cfg["load_from"] == dict(path="x.pth")  # _delete_ replaced base's None
    assert cfg["extra_setting"] == {"_delete_": True, "value": 1}  # no such base key: mmcv keeps the flag
    assert cfg["backbone_copy"] == dict(type="ResNet", pretrained="torchvision://resnet50", depth=50, norm_eval=False)
    assert cfg["lr"] == [0.01, 0.1]
    normalize = cfg["test_pipeline"][5]
    assert normalize == dict(type="Normalize", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)
    assert [s["type"] for s in cfg["test_pipeline"][:3]] == ["SampleFrames", "DecordInit", "DecordDecode"]
    assert cfg["scales"] == (1, 0.875, 0.75, 0.66)
    assert cfg["data"]["test"]["test_mode"] is True and cfg["data"]["videos_per_gpu"] == 8
    assert cfg["work_dir"] == "./work_dirs/I3DHead_008/"
    assert cfg["lr_steps"] == [80, 160] and cfg["cate"] == {"a": 0, "b": 1}
    assert "__private" not in cfg and "_base_" not in cfg


def test_result_is_independent_of_shared_objects():
    cfg = load_config(os.path.join(CONFIGS, "child.py"))
    cfg["test_pipeline"][0]["num_clips"] = 99
    assert cfg["data"]["test"]["pipeline"][0]["num_clips"] == 8


def test_merge_a_into_b_follows_mmcv():
    base = dict(a=dict(x=1, y=2), b=1, c=dict(z=3))
    child = dict(a=dict(y=5), c=dict(_delete_=True, w=4), d=2)
    assert merge_a_into_b(child, base) == dict(a=dict(x=1, y=5), b=1, c=dict(w=4), d=2)
    assert base == dict(a=dict(x=1, y=2), b=1, c=dict(z=3))
    with pytest.raises(ConfigError, match="'b' is a dict in the child config but a int"):
        merge_a_into_b(dict(b=dict(q=1)), base, "child.py")


def test_json_base_and_string_base(tmp_path):
    write(tmp_path, "base.json", '{"model": {"type": "Recognizer3D", "depth": 18}, "lr": 0.1}')
    path = write(tmp_path, "cfg.py", "_base_ = './base.json'\nmodel = dict(depth=50)\n")
    assert load_config(path) == {"model": {"type": "Recognizer3D", "depth": 50}, "lr": 0.1}


def test_predefined_variables(tmp_path):
    path = write(tmp_path, "sub/my_cfg.py", "work_dir = './work_dirs/{{ fileBasenameNoExtension }}'\next = '{{fileExtname}}'\n")
    assert load_config(path) == {"work_dir": "./work_dirs/my_cfg", "ext": ".py"}


MALICIOUS = [
    ("x = __import__('os').system('touch {marker}')\n", "call of Attribute"),
    ("x = __import__('os')\n", "call of '__import__'"),
    ("import os\nx = os.system('touch {marker}')\n", "import statement"),
    ("from os import system\n", "import statement"),
    ("x = open('{marker}', 'w')\n", "call of 'open'"),
    ("x = eval('1')\n", "call of 'eval'"),
    ("x = exec('1')\n", "call of 'exec'"),
    ("x = ().__class__.__bases__[0].__subclasses__()\n", "call of Attribute"),
    ("x = (1).__class__\n", "attribute access"),
    ("f = lambda: 1\n", "lambda"),
    ("def f():\n    pass\n", "statement FunctionDef"),
    ("class A:\n    pass\n", "statement ClassDef"),
    ("for i in range(3):\n    pass\n", "statement For"),
    ("x = dict\n", "using the builtin 'dict'"),
    ("x = [].append(1)\n", "call of Attribute"),
    ("x = 'a' * 10 ** 9\n", "would create more than"),
    ("x = 2 ** 10 ** 10\n", "exponent"),
    ("x = [1] * 2; y = x(1)\n", "call of the config variable 'x'"),
]


@pytest.mark.parametrize("source,message", MALICIOUS)
def test_malicious_or_unsupported_configs_are_refused(tmp_path, source, message):
    marker = tmp_path / "pwned"
    path = write(tmp_path, "evil.py", "model = dict(type='Recognizer2D')\n" + source.format(marker=marker))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)
    assert "evil.py:2:" in str(info.value)
    assert not marker.exists()


def test_error_names_file_and_line_of_undefined_name(tmp_path):
    path = write(tmp_path, "cfg.py", "a = 1\nb = dict(x=a)\nc = dict(y=missing)\n")
    with pytest.raises(ConfigError, match=r"cfg\.py:3: name 'missing' is not defined"):
        load_config(path)


def test_base_names_are_not_visible_in_child(tmp_path):
    write(tmp_path, "base.py", "img_norm_cfg = dict(mean=[1, 2, 3])\n")
    path = write(tmp_path, "cfg.py", "_base_ = ['base.py']\nnorm = dict(**img_norm_cfg)\n")
    with pytest.raises(ConfigError, match=r"cfg\.py:2: name 'img_norm_cfg' is not defined"):
        load_config(path)


def test_inheritance_errors(tmp_path):
    write(tmp_path, "a.py", "x = 1\ny = 2\n")
    write(tmp_path, "b.py", "y = 3\n")
    dup = write(tmp_path, "dup.py", "_base_ = ['a.py', 'b.py']\n")
    with pytest.raises(ConfigError, match=r"duplicate keys \['y'\]"):
        load_config(dup)
    missing = write(tmp_path, "missing.py", "_base_ = 'nope.py'\n")
    with pytest.raises(ConfigError, match=r"nope\.py: config file not found \(listed in _base_ of .*missing\.py\)"):
        load_config(missing)
    write(tmp_path, "loop1.py", "_base_ = 'loop2.py'\n")
    loop2 = write(tmp_path, "loop2.py", "_base_ = 'loop1.py'\n")
    with pytest.raises(ConfigError, match="circular _base_ inheritance"):
        load_config(loop2)
    clash = write(tmp_path, "clash.py", "_base_ = 'a.py'\nx = dict(k=1)\n")
    with pytest.raises(ConfigError, match="'x' is a dict in the child config but a int"):
        load_config(clash)


def test_base_variable_errors(tmp_path):
    write(tmp_path, "base.py", "model = dict(depth=50)\n")
    quoted = write(tmp_path, "quoted.py", "_base_ = 'base.py'\nd = '{{_base_.model.depth}}'\n")
    with pytest.raises(ConfigError, match=r"quoted\.py:2: a \{\{_base_\.x\}\} base variable inside a string"):
        load_config(quoted)
    wrong = write(tmp_path, "wrong.py", "_base_ = 'base.py'\nd = {{_base_.model.width}}\n")
    with pytest.raises(ConfigError, match=r"wrong\.py:2: base variable .* key 'width' not found"):
        load_config(wrong)
    used = write(tmp_path, "used.py", "_base_ = 'base.py'\nd = {{_base_.model.depth}} + 1\n")
    with pytest.raises(ConfigError, match=r"used\.py:2: the base variable .* can only be assigned"):
        load_config(used)


def test_syntax_error_names_line(tmp_path):
    path = write(tmp_path, "bad.py", "a = 1\nb = dict(\n")
    with pytest.raises(ConfigError, match=r"bad\.py:2: invalid Python syntax"):
        load_config(path)


def test_load_config_text_evaluates_mmcv_pretty_text():
    text = "model = dict(\n    type='Recognizer2D',\n    backbone=dict(type='ResNet', depth=50),\n    test_cfg=dict(average_clips=None))\n"
    assert load_config_text(text) == {
        "model": {"type": "Recognizer2D", "backbone": {"type": "ResNet", "depth": 50}, "test_cfg": {"average_clips": None}}
    }
    with pytest.raises(ConfigError, match="needs a file path"):
        load_config_text("_base_ = 'x.py'\n")


# ------------------------------------------------------------------ the real mmaction2 configs


@pytest.mark.parametrize("name", sorted(MMCV["wheel"]))
def test_wheel_configs_match_mmcv(mim_dir, name):
    got = load_config(os.path.join(mim_dir, "configs", name))
    assert repr(got) == repr(untag(MMCV["wheel"][name]))


def test_every_wheel_config_loads(mim_dir):
    root = os.path.join(mim_dir, "configs")
    paths = [os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith(".py")]
    assert len(paths) == 258
    loaded = {os.path.relpath(p, root): load_config(p) for p in paths}
    tsn = loaded["recognition/tsn/tsn_r50_1x1x3_100e_kinetics400_rgb.py"]
    assert tsn["model"]["cls_head"]["num_classes"] == 400
    assert tsn["test_pipeline"][0]["num_clips"] == 25 and tsn["total_epochs"] == 100
    slowfast = loaded["recognition/slowfast/slowfast_r50_16x8x1_22e_sthv1_rgb.py"]
    assert slowfast["lr_config"]["warmup_iters"] == 510  # 16343 // 32
    ava = loaded["detection/ava/slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb_custom_classes.py"]
    assert ava["num_classes"] == 17  # len(custom_classes) + 1 with 16 custom classes
    assert ava["data"]["test"] == ava["data"]["val"]  # data['test'] = data['val']

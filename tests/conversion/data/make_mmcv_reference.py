"""Regenerate ``mmcv_reference.json``: what mmcv 1.7.0 ``Config.fromfile`` returns for some configs.

Run in an environment with ``mmcv==1.7.0`` (not a videohub dependency) and the unpacked
mmaction2 0.24.1 wheel:

    python make_mmcv_reference.py /path/to/mmaction/.mim/configs mmcv_reference.json

Values are tagged so that JSON keeps what Python distinguishes: ``{"__d__": [[k, v], ...]}`` is a
dict (in order), ``{"__t__": [...]}`` a tuple, ``{"__r__": [start, stop, step]}`` a range.
"""

import json
import os
import sys

import mmcv
from mmcv import Config

HERE = os.path.dirname(os.path.abspath(__file__))
SELF_MADE = ["child.py", "grandchild.py"]
WHEEL = [
    "recognition/tsn/tsn_r50_1x1x3_100e_kinetics400_rgb.py",
    "recognition/tsm/tsm_r50_1x1x8_50e_sthv1_rgb.py",
    "recognition/slowfast/slowfast_r50_16x8x1_22e_sthv1_rgb.py",
    "recognition/tsn/hvu/tsn_r18_1x1x8_100e_hvu_scene_rgb.py",
    "recognition_audio/audioonly/audioonly_r50_64x1x1_100e_kinetics400_audio_feature.py",
    "localization/bmn/bmn_400x100_2x8_9e_activitynet_feature.py",
    "detection/ava/slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb_custom_classes.py",
    "skeleton/posec3d/slowonly_r50_u48_240e_ntu120_xsub_limb.py",
]


def tag(value):
    if isinstance(value, dict):
        return {"__d__": [[tag(k), tag(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__t__": [tag(v) for v in value]}
    if isinstance(value, list):
        return [tag(v) for v in value]
    if isinstance(value, range):
        return {"__r__": [value.start, value.stop, value.step]}
    return value


def main(wheel_configs, out):
    data = {"_about": f"mmcv {mmcv.__version__} Config.fromfile(path)._cfg_dict.to_dict(), tagged", "self_made": {},
            "wheel": {}}
    for name in SELF_MADE:
        data["self_made"][name] = tag(Config.fromfile(os.path.join(HERE, "..", "configs", name))._cfg_dict.to_dict())
    for name in WHEEL:
        data["wheel"][name] = tag(Config.fromfile(os.path.join(wheel_configs, name))._cfg_dict.to_dict())
    with open(out, "w") as f:
        json.dump(data, f, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

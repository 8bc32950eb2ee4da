"""Model-zoo presets of X3D, C3D and TPN: mmaction2 0.24.1 model configs and their parameter counts.

Each preset holds the ``model`` dict of the mmaction2 config it is named after (as that config file
resolves after ``_base_`` inheritance, with ``pretrained`` set to ``None`` because the zoo checkpoint
holds every weight), the number of frames its test pipeline samples per clip, and the parameter
count mmaction2 reports for it (``Metadata.Parameters`` in the config folder's ``metafile.yml``;
mmcv's complexity counter, i.e. every trainable parameter of the recognizer, auxiliary TPN head
included). :func:`preset_config` turns a preset into a videohub config.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from ..errors import ConfigError

_X3D_MODEL = dict(
    type="Recognizer3D",
    backbone=dict(type="X3D", gamma_w=1, gamma_b=2.25, gamma_d=2.2),
    cls_head=dict(type="X3DHead", in_channels=432, num_classes=400, spatial_type="avg", dropout_ratio=0.5,
                  fc1_bias=False),
    train_cfg=None,
    test_cfg=dict(average_clips="prob"),
)

_C3D_MODEL = dict(
    type="Recognizer3D",
    backbone=dict(type="C3D", pretrained=None, style="pytorch", conv_cfg=dict(type="Conv3d"), norm_cfg=None,
                  act_cfg=dict(type="ReLU"), dropout_ratio=0.5, init_std=0.005),
    cls_head=dict(type="I3DHead", num_classes=101, in_channels=4096, spatial_type=None, dropout_ratio=0.5,
                  init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips="score"),
)

_TPN_SLOWONLY_R50_MODEL = dict(
    type="Recognizer3D",
    backbone=dict(type="ResNet3dSlowOnly", depth=50, pretrained=None, lateral=False, out_indices=(2, 3),
                  conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False),
    neck=dict(
        type="TPN", in_channels=(1024, 2048), out_channels=1024,
        spatial_modulation_cfg=dict(in_channels=(1024, 2048), out_channels=2048),
        temporal_modulation_cfg=dict(downsample_scales=(8, 8)),
        upsample_cfg=dict(scale_factor=(1, 1, 1)),
        downsample_cfg=dict(downsample_scale=(1, 1, 1)),
        level_fusion_cfg=dict(in_channels=(1024, 1024), mid_channels=(1024, 1024), out_channels=2048,
                              downsample_scales=((1, 1, 1), (1, 1, 1))),
        aux_head_cfg=dict(out_channels=400, loss_weight=0.5),
    ),
    cls_head=dict(type="TPNHead", num_classes=400, in_channels=2048, spatial_type="avg",
                  consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.5, init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips="prob"),
)

PRESETS: Dict[str, Dict[str, Any]] = {
    "x3d_s_13x6x1_facebook_kinetics400_rgb": dict(
        arch="x3d", model=_X3D_MODEL, num_frames=13, num_parameters=3794322,
        source="configs/recognition/x3d/x3d_s_13x6x1_facebook_kinetics400_rgb.py",
    ),
    "x3d_m_16x5x1_facebook_kinetics400_rgb": dict(
        arch="x3d", model=_X3D_MODEL, num_frames=16, num_parameters=3794322,
        source="configs/recognition/x3d/x3d_m_16x5x1_facebook_kinetics400_rgb.py",
    ),
    "c3d_sports1m_16x1x1_45e_ucf101_rgb": dict(
        arch="c3d", model=_C3D_MODEL, num_frames=16, num_parameters=78409573,
        source="configs/recognition/c3d/c3d_sports1m_16x1x1_45e_ucf101_rgb.py",
    ),
    "tpn_slowonly_r50_8x8x1_150e_kinetics_rgb": dict(
        arch="tpn", model=_TPN_SLOWONLY_R50_MODEL, num_frames=8, num_parameters=91498336,
        source="configs/recognition/tpn/tpn_slowonly_r50_8x8x1_150e_kinetics_rgb.py",
    ),
}
"""Preset name (the mmaction2 config's name) → ``arch``, ``model`` (mmaction2 model dict),
``num_frames``, ``num_parameters`` (the reference count) and ``source`` (the config file)."""


def preset_model_cfg(name: str) -> Dict[str, Any]:
    """A copy of the mmaction2 ``model`` dict of preset ``name``."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known presets are {sorted(PRESETS)}")
    return copy.deepcopy(PRESETS[name]["model"])


def preset_config(name: str, id2label: Optional[Union[Mapping[int, str], Sequence[str]]] = None):
    """The videohub config (``X3DConfig``, ``C3DConfig`` or ``TPNConfig``) of preset ``name``.

    ``num_frames`` is the preset's clip length; ``id2label`` (default ``None``: ``LABEL_0`` ...) names
    the classes and must have the preset's ``num_classes`` entries.
    """
    from ..conversion.mmaction2 import config_from_mmaction2

    pipeline = [dict(type="SampleFrames", clip_len=PRESETS[name]["num_frames"], num_clips=1, test_mode=True)] \
        if name in PRESETS else None
    return config_from_mmaction2(preset_model_cfg(name), test_pipeline=pipeline, id2label=id2label)

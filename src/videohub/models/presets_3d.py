"""Model zoo presets of the ResNet3d family: mmaction2 0.24 model configs of published checkpoints.

``PRESETS_3D[name]`` is the ``model`` dict of the mmaction2 config ``name`` (configs/recognition/...),
with every ``pretrained`` URL set to ``None`` (the checkpoints hold all weights; videohub never
downloads ImageNet initializations). ``REFERENCE_PARAMETERS[name]`` is the ``Parameters`` field
of that config's entry in mmaction2 0.24.1's ``metafile.yml`` (shipped in the
``mmaction2==0.24.1`` wheel under ``mmaction/.mim/configs/recognition/<arch>/metafile.yml``):
the number of parameters of the reference model, 400-class head included. ``CLIP_LEN[name]`` is
the ``clip_len`` of the config's test pipeline (frames per clip).

:func:`preset_config` turns a preset into a videohub config (``I3DConfig``, ``SlowFastConfig``, ...).
"""

from __future__ import annotations

import copy
from typing import Any, Dict

from ..errors import ConfigError

_I3D_R50 = dict(
    type="Recognizer3D",
    backbone=dict(
        type="ResNet3d", pretrained2d=True, pretrained=None, depth=50, conv1_kernel=(5, 7, 7), conv1_stride_t=2,
        pool1_stride_t=2, conv_cfg=dict(type="Conv3d"), norm_eval=False,
        inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)), zero_init_residual=False,
    ),
    cls_head=dict(type="I3DHead", num_classes=400, in_channels=2048, spatial_type="avg", dropout_ratio=0.5,
                  init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips="prob"),
)


def _i3d_nl(mode: str) -> Dict[str, Any]:
    cfg = copy.deepcopy(_I3D_R50)
    cfg["backbone"].update(
        non_local=((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)),
        non_local_cfg=dict(sub_sample=True, use_scale=False, norm_cfg=dict(type="BN3d", requires_grad=True),
                           mode=mode),
    )
    return cfg


_SLOWONLY_R50 = dict(
    type="Recognizer3D",
    backbone=dict(
        type="ResNet3dSlowOnly", depth=50, pretrained=None, lateral=False, conv1_kernel=(1, 7, 7),
        conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False,
    ),
    cls_head=dict(type="I3DHead", in_channels=2048, num_classes=400, spatial_type="avg", dropout_ratio=0.5),
    train_cfg=None,
    test_cfg=dict(average_clips="prob"),
)

_SLOWFAST_R50 = dict(
    type="Recognizer3D",
    backbone=dict(
        type="ResNet3dSlowFast", pretrained=None, resample_rate=8, speed_ratio=8, channel_ratio=8,
        slow_pathway=dict(
            type="resnet3d", depth=50, pretrained=None, lateral=True, conv1_kernel=(1, 7, 7),
            dilations=(1, 1, 1, 1), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False,
        ),
        fast_pathway=dict(
            type="resnet3d", depth=50, pretrained=None, lateral=False, base_channels=8, conv1_kernel=(5, 7, 7),
            conv1_stride_t=1, pool1_stride_t=1, norm_eval=False,
        ),
    ),
    cls_head=dict(type="SlowFastHead", in_channels=2304, num_classes=400, spatial_type="avg", dropout_ratio=0.5),
    train_cfg=None,
    test_cfg=dict(average_clips="prob"),
)


def _slowfast_8x8() -> Dict[str, Any]:
    cfg = copy.deepcopy(_SLOWFAST_R50)
    cfg["backbone"].update(resample_rate=4, speed_ratio=4, channel_ratio=8)
    cfg["backbone"]["slow_pathway"]["fusion_kernel"] = 7
    return cfg


_R2PLUS1D_R34 = dict(
    type="Recognizer3D",
    backbone=dict(
        type="ResNet2Plus1d", depth=34, pretrained=None, pretrained2d=False, norm_eval=False,
        conv_cfg=dict(type="Conv2plus1d"), norm_cfg=dict(type="SyncBN", requires_grad=True, eps=1e-3),
        conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1, inflate=(1, 1, 1, 1),
        spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 2, 2), zero_init_residual=False,
    ),
    cls_head=dict(type="I3DHead", num_classes=400, in_channels=512, spatial_type="avg", dropout_ratio=0.5,
                  init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips="prob"),
)

_IRCSN_R152 = dict(
    type="Recognizer3D",
    backbone=dict(
        type="ResNet3dCSN", pretrained2d=False, pretrained=None, depth=152, with_pool2=False,
        bottleneck_mode="ir", norm_eval=False, zero_init_residual=False,
    ),
    cls_head=dict(type="I3DHead", num_classes=400, in_channels=2048, spatial_type="avg", dropout_ratio=0.5,
                  init_std=0.01),
    train_cfg=None,
    test_cfg=dict(average_clips="prob", max_testing_views=10),
)


def _ipcsn_bnfrozen() -> Dict[str, Any]:
    cfg = copy.deepcopy(_IRCSN_R152)
    cfg["backbone"].update(norm_eval=True, bn_frozen=True, bottleneck_mode="ip")
    return cfg


PRESETS_3D: Dict[str, Dict[str, Any]] = {
    "i3d_r50_32x2x1_100e_kinetics400_rgb": _I3D_R50,
    "i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb": _i3d_nl("dot_product"),
    "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb": _i3d_nl("embedded_gaussian"),
    "i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb": _i3d_nl("gaussian"),
    "slowonly_r50_4x16x1_256e_kinetics400_rgb": _SLOWONLY_R50,
    "slowonly_r50_8x8x1_256e_kinetics400_rgb": copy.deepcopy(_SLOWONLY_R50),
    "slowfast_r50_4x16x1_256e_kinetics400_rgb": _SLOWFAST_R50,
    "slowfast_r50_8x8x1_256e_kinetics400_rgb": _slowfast_8x8(),
    "r2plus1d_r34_8x8x1_180e_kinetics400_rgb": _R2PLUS1D_R34,
    "r2plus1d_r34_32x2x1_180e_kinetics400_rgb": copy.deepcopy(_R2PLUS1D_R34),
    "ircsn_ig65m_pretrained_r152_32x2x1_58e_kinetics400_rgb": _IRCSN_R152,
    "ipcsn_ig65m_pretrained_bnfrozen_r152_32x2x1_58e_kinetics400_rgb": _ipcsn_bnfrozen(),
}

# ``Parameters`` of each config in mmaction2 0.24.1's metafile.yml files.
REFERENCE_PARAMETERS: Dict[str, int] = {
    "i3d_r50_32x2x1_100e_kinetics400_rgb": 28043472,
    "i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb": 35397840,
    "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb": 35397840,
    "i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb": 31723728,
    "slowonly_r50_4x16x1_256e_kinetics400_rgb": 32454096,
    "slowonly_r50_8x8x1_256e_kinetics400_rgb": 32454096,
    "slowfast_r50_4x16x1_256e_kinetics400_rgb": 34479288,
    "slowfast_r50_8x8x1_256e_kinetics400_rgb": 34565560,
    "r2plus1d_r34_8x8x1_180e_kinetics400_rgb": 63759281,
    "r2plus1d_r34_32x2x1_180e_kinetics400_rgb": 63759281,
    "ircsn_ig65m_pretrained_r152_32x2x1_58e_kinetics400_rgb": 29703568,
    "ipcsn_ig65m_pretrained_bnfrozen_r152_32x2x1_58e_kinetics400_rgb": 33016592,
}

# ``clip_len`` of each config's test pipeline (``SampleFrames``).
CLIP_LEN: Dict[str, int] = {
    "i3d_r50_32x2x1_100e_kinetics400_rgb": 32,
    "i3d_nl_dot_product_r50_32x2x1_100e_kinetics400_rgb": 32,
    "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb": 32,
    "i3d_nl_gaussian_r50_32x2x1_100e_kinetics400_rgb": 32,
    "slowonly_r50_4x16x1_256e_kinetics400_rgb": 4,
    "slowonly_r50_8x8x1_256e_kinetics400_rgb": 8,
    "slowfast_r50_4x16x1_256e_kinetics400_rgb": 32,
    "slowfast_r50_8x8x1_256e_kinetics400_rgb": 32,
    "r2plus1d_r34_8x8x1_180e_kinetics400_rgb": 8,
    "r2plus1d_r34_32x2x1_180e_kinetics400_rgb": 32,
    "ircsn_ig65m_pretrained_r152_32x2x1_58e_kinetics400_rgb": 32,
    "ipcsn_ig65m_pretrained_bnfrozen_r152_32x2x1_58e_kinetics400_rgb": 32,
}


def preset_model_cfg(name: str) -> Dict[str, Any]:
    """A deep copy of the mmaction2 model dict ``name``; :class:`ConfigError` lists the names if unknown."""
    if name not in PRESETS_3D:
        raise ConfigError(f"unknown 3D preset {name!r}; known presets are {sorted(PRESETS_3D)}")
    return copy.deepcopy(PRESETS_3D[name])


def preset_config(name: str, **overrides: Any):
    """The videohub config of preset ``name`` (``num_frames`` = its test ``clip_len``).

    ``overrides`` are set on the config afterwards, e.g. ``num_labels=10``.
    """
    from ..conversion.mmaction2 import config_from_mmaction2

    pipeline = [dict(type="SampleFrames", clip_len=CLIP_LEN[name] if name in CLIP_LEN else 1, num_clips=1)]
    config = config_from_mmaction2(preset_model_cfg(name), test_pipeline=pipeline)
    for key, value in overrides.items():
        setattr(config, key, value)
    return config

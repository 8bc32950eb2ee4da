"""SlowFast configuration: the mmaction2 model dict of the architecture's reference model."""

from __future__ import annotations

from typing import Optional

from huggingface_hub.dataclasses import strict

from ...configuration_utils import RecognizerConfig


@strict(accept_kwargs=True)
class SlowFastConfig(RecognizerConfig):
    r"""SlowFast (mmaction2 ``Recognizer3D`` + ``ResNet3dSlowFast`` + ``SlowFastHead``).

    Defaults are mmaction2's ``slowfast_r50_4x16x1_256e_kinetics400_rgb`` (32 input frames;
    tau 8, alpha 8, beta_inv 8):

    - ``backbone=dict(type="ResNet3dSlowFast", pretrained=None, resample_rate=8, speed_ratio=8,
      channel_ratio=8, slow_pathway=dict(type="resnet3d", depth=50, pretrained=None, lateral=True,
      conv1_kernel=(1, 7, 7), dilations=(1, 1, 1, 1), conv1_stride_t=1, pool1_stride_t=1,
      inflate=(0, 0, 1, 1), norm_eval=False), fast_pathway=dict(type="resnet3d", depth=50,
      pretrained=None, lateral=False, base_channels=8, conv1_kernel=(5, 7, 7), conv1_stride_t=1,
      pool1_stride_t=1, norm_eval=False))``;
    - ``cls_head=dict(type="SlowFastHead", in_channels=2304, spatial_type="avg", dropout_ratio=0.5)``;
    - ``recognizer="Recognizer3D"``, ``average_clips="prob"``, ``num_frames=32``.

    The backbone feature is the ``(slow, fast)`` tuple; ``hidden_states`` holds both. Other
    fields: see :class:`~videohub.RecognizerConfig`.
    """

    model_type = "videohub-slowfast"
    mmaction2_types = {"backbone": ("ResNet3dSlowFast",)}
    conversion_priority = 50
    default_backbone = dict(
        type="ResNet3dSlowFast", pretrained=None, resample_rate=8, speed_ratio=8, channel_ratio=8,
        slow_pathway=dict(
            type="resnet3d", depth=50, pretrained=None, lateral=True, conv1_kernel=(1, 7, 7),
            dilations=(1, 1, 1, 1), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False,
        ),
        fast_pathway=dict(
            type="resnet3d", depth=50, pretrained=None, lateral=False, base_channels=8, conv1_kernel=(5, 7, 7),
            conv1_stride_t=1, pool1_stride_t=1, norm_eval=False,
        ),
    )
    default_cls_head = dict(type="SlowFastHead", in_channels=2304, spatial_type="avg", dropout_ratio=0.5)
    recognizer: str = "Recognizer3D"
    average_clips: Optional[str] = "prob"
    num_frames: int = 32

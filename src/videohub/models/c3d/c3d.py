"""C3D backbone (mmaction2 ``C3D``): eight 3x3x3 convolutions, five max-pools and two 4096-d fc layers.

Paper: Tran et al., "Learning Spatiotemporal Features with 3D Convolutional Networks"
(https://arxiv.org/abs/1412.0767). The widths are fixed; only the flattened size ``out_dim`` of the
last pool depends on the input (8192 for the standard 16x112x112 clip).
"""

from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ...errors import ConfigError, ShapeError
from ...registry import BACKBONES
from ...layers.backbone_base import BaseBackbone
from ...layers.conv import ConvModule
from ...layers.init import constant_init, kaiming_init, normal_init


def c3d_out_dim(num_frames: int, height: int, width: int) -> int:
    """The flattened feature size of C3D's last pool for an input of ``num_frames x height x width``."""
    t, h, w = num_frames, height // 2, width // 2  # pool1: (1, 2, 2)
    for _ in range(3):  # pool2-pool4: (2, 2, 2)
        t, h, w = t // 2, h // 2, w // 2
    t, h, w = t // 2, (h + 2) // 2, (w + 2) // 2  # pool5: (2, 2, 2) with spatial padding 1
    return 512 * t * h * w


@BACKBONES.register()
class C3D(BaseBackbone):
    """C3D backbone; returns the 4096-d fc7 feature.

    Args:
        pretrained: Local checkpoint loaded by :meth:`init_weights`. Default ``None``.
        style: ``"pytorch"`` (default) or ``"caffe"``; stored only, as in mmaction2.
        conv_cfg: Conv config; ``None`` (default) means ``dict(type="Conv3d")``.
        norm_cfg: Norm config; default ``None`` (no norm, convs with bias).
        act_cfg: Activation config; ``None`` (default) means ``dict(type="ReLU")``.
        out_dim: Flattened size of the last pool, the input of ``fc6``. Default 8192
            (16x112x112 input; see :func:`c3d_out_dim`).
        dropout_ratio: Dropout between fc6 and fc7. Default 0.5.
        init_std: Std of the fc layers' normal init. Default 0.005.

    C3D has no stages to freeze, no ``norm_eval`` and no checkpointable blocks (mmaction2's C3D
    takes none of these settings); :class:`~videohub.layers.backbone_base.BaseBackbone` gives it the
    ``pretrained`` handling of :meth:`init_weights`.
    """

    stem_names = ()

    def __init__(
        self,
        pretrained: Optional[str] = None,
        style: str = "pytorch",
        conv_cfg: Optional[Dict] = None,
        norm_cfg: Optional[Dict] = None,
        act_cfg: Optional[Dict] = None,
        out_dim: int = 8192,
        dropout_ratio: float = 0.5,
        init_std: float = 0.005,
    ):
        super().__init__(pretrained=pretrained)
        if style not in ("pytorch", "caffe"):
            raise ConfigError(f"C3D style must be 'pytorch' or 'caffe', got {style!r}")
        conv_cfg = dict(type="Conv3d") if conv_cfg is None else conv_cfg
        act_cfg = dict(type="ReLU") if act_cfg is None else act_cfg
        self.style = style
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.out_dim = out_dim
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std

        def conv(cin: int, cout: int) -> ConvModule:
            return ConvModule(cin, cout, (3, 3, 3), padding=(1, 1, 1),
                              conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.conv1a = conv(3, 64)
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.conv2a = conv(64, 128)
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv3a = conv(128, 256)
        self.conv3b = conv(256, 256)
        self.pool3 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv4a = conv(256, 512)
        self.conv4b = conv(512, 512)
        self.pool4 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2))
        self.conv5a = conv(512, 512)
        self.conv5b = conv(512, 512)
        self.pool5 = nn.MaxPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 1, 1))
        self.fc6 = nn.Linear(out_dim, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=dropout_ratio)

    def init_from_scratch(self) -> None:
        """Kaiming ``Conv3d`` weights, N(0, ``init_std``) fc weights, unit norms."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                kaiming_init(m)
            elif isinstance(m, nn.Linear):
                normal_init(m, std=self.init_std)
            elif isinstance(m, _BatchNorm):
                constant_init(m, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, 3, T, H, W]`` (16x112x112 in the zoo) → ``[N, 4096]``."""
        if x.dim() != 5 or x.shape[1] != 3:
            raise ShapeError(f"C3D expects input [N, 3, T, H, W], got {tuple(x.shape)}")
        x = self.pool1(self.conv1a(x))
        x = self.pool2(self.conv2a(x))
        x = self.pool3(self.conv3b(self.conv3a(x)))
        x = self.pool4(self.conv4b(self.conv4a(x)))
        x = self.pool5(self.conv5b(self.conv5a(x)))
        x = x.flatten(start_dim=1)
        if x.shape[1] != self.out_dim:
            raise ShapeError(
                f"C3D: the last pool flattens to {x.shape[1]} values but out_dim={self.out_dim}; "
                f"set out_dim={x.shape[1]} for this input size or feed clips whose T x H x W gives {self.out_dim}")
        x = self.dropout(self.relu(self.fc6(x)))
        return self.relu(self.fc7(x))

"""MobileNetV2 backbone for TSM (mmaction2 ``MobileNetV2TSM``).

Every residual InvertedResidual block with an expansion conv gets a temporal shift before that
conv: ``layerX.Y.conv.0`` becomes ``TemporalShift(conv.0)`` (keys ``layerX.Y.conv.0.net.*``).
mmaction2 inserts the shifts in ``init_weights()``; videohub does it once at construction.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

from ...errors import ConfigError
from ...registry import BACKBONES
from ...layers.temporal_shift import TemporalShift
from ...layers.mobilenet_v2 import InvertedResidual, MobileNetV2
from .resnet_tsm import load_wrapped_pretrained


@BACKBONES.register()
class MobileNetV2TSM(MobileNetV2):
    """MobileNetV2 with temporal shifts.

    Args:
        num_segments: Frames per clip. Default 8.
        is_shift: Insert the temporal shifts. Default ``True``.
        shift_div: ``1/shift_div`` of the channels shift each way. Default 8.
        pretrained, widen_factor, out_indices, frozen_stages, conv_cfg, norm_cfg, act_cfg, norm_eval,
        with_cp: As :class:`~videohub.layers.mobilenet_v2.MobileNetV2` (defaults ``None``,
            1.0, ``(7,)``, -1, ``dict(type="Conv")``, ``dict(type="BN2d", requires_grad=True)``,
            ``dict(type="ReLU6", inplace=True)``, ``False``, ``False``).
    """

    wrap_names = ("net",)

    def __init__(
        self,
        num_segments: int = 8,
        is_shift: bool = True,
        shift_div: int = 8,
        pretrained: Optional[str] = None,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (7,),
        frozen_stages: int = -1,
        conv_cfg: Dict = dict(type="Conv"),
        norm_cfg: Dict = dict(type="BN2d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU6", inplace=True),
        norm_eval: bool = False,
        with_cp: bool = False,
    ):
        super().__init__(pretrained=pretrained, widen_factor=widen_factor, out_indices=out_indices,
                         frozen_stages=frozen_stages, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
                         norm_eval=norm_eval, with_cp=with_cp)
        if not isinstance(num_segments, int) or num_segments <= 0:
            raise ConfigError(f"MobileNetV2TSM num_segments must be a positive int, got {num_segments!r}")
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.shift_div = shift_div
        if is_shift:
            self.make_temporal_shift()

    def make_temporal_shift(self) -> None:
        """Wrap the expansion conv of every residual 3-conv block in a :class:`TemporalShift`."""
        for m in self.modules():
            if isinstance(m, InvertedResidual) and len(m.conv) == 3 and m.use_res_connect:
                m.conv[0] = TemporalShift(m.conv[0], num_segments=self.num_segments, shift_div=self.shift_div)

    def init_weights(self) -> None:
        """Kaiming convs and unit norms, then ``pretrained`` (plain MobileNetV2 names are matched)."""
        self._init_from_scratch()
        if isinstance(self.pretrained, str):
            load_wrapped_pretrained(self, self.pretrained, self.wrap_names)
        elif self.pretrained is not None:
            raise ConfigError(f"MobileNetV2TSM pretrained must be a str or None, got {self.pretrained!r}")

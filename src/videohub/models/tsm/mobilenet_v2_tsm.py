"""MobileNetV2 backbone for TSM (mmaction2 ``MobileNetV2TSM``).

Every residual InvertedResidual block with an expansion conv gets a temporal shift before that
conv: ``layerX.Y.conv.0`` becomes ``TemporalShift(conv.0)`` (keys ``layerX.Y.conv.0.net.*``).
mmaction2 inserts the shifts in ``init_weights()``; videohub does it once at construction.
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from ...registry import BACKBONES
from ...layers.temporal_shift import TemporalShift
from ...layers.mobilenet_v2 import InvertedResidual, MobileNetV2


@BACKBONES.register()
class MobileNetV2TSM(MobileNetV2):
    """MobileNetV2 with temporal shifts.

    Args:
        num_segments: Frames per clip. Default 8.
        is_shift: Insert the temporal shifts. Default ``True``.
        shift_div: ``1/shift_div`` of the channels shift each way. Default 8.
        **kwargs: The other arguments of :class:`~videohub.layers.mobilenet_v2.MobileNetV2`, with
            its defaults (``pretrained=None``, ``widen_factor=1.0``, ``out_indices=(7,)``,
            ``frozen_stages=-1``, ``norm_eval=False``, ``with_cp=False``, ...).

    A plain MobileNetV2 checkpoint given as ``pretrained`` loads into the shifted convs.
    """

    wrap_names = ("net",)

    def __init__(self, num_segments: int = 8, is_shift: bool = True, shift_div: int = 8, **kwargs: Any):
        super().__init__(**kwargs)
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

    def load_weights(self) -> None:
        """Initialize from scratch, then load ``pretrained`` over it (plain MobileNetV2 names are matched)."""
        self.init_from_scratch()
        super().load_weights()

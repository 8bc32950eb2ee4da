"""SlowFast (mmaction2 ``ResNet3dSlowFast``) and its pathway ``ResNet3dPathway``.

"SlowFast Networks for Video Recognition" (https://arxiv.org/abs/1812.03982). Two 3D ResNets see
the same clip at two frame rates: the slow pathway one frame out of ``resample_rate``, the fast
pathway ``speed_ratio`` times more frames with ``channel_ratio`` times fewer channels. With
``lateral=True`` a pathway receives, after the stem and after every stage but the last, the other
pathway's feature through a ``(fusion_kernel, 1, 1)`` conv of temporal stride ``speed_ratio``,
concatenated on the channel axis; the next stage's first block takes the wider input.

State-dict names are mmaction2's: ``slow_path.*``, ``fast_path.*``, ``slow_path.conv1_lateral.*``
and ``slow_path.layer{i}_lateral.*``.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from ...errors import CheckpointError, ConfigError
from ...registry import BACKBONES, check_arguments
from ...utils import logging
from ...layers.backbone_base import BaseBackbone
from ...layers.conv import ConvModule
from ...layers.init import kaiming_init
from ...layers.pretrained import read_state_dict
from ...layers.resnet3d import ResNet3d, _check_input, _per_block, inflate_2d_state_dict

logger = logging.get_logger(__name__)


class ResNet3dPathway(ResNet3d):
    """One pathway of SlowFast: a :class:`ResNet3d` that may receive lateral connections.

    Args:
        lateral: Build the lateral connections that feed this pathway from the other one. Default ``False``.
        lateral_norm: Lateral convs get the norm and activation of the network. Default ``False``.
        speed_ratio: ``alpha``, frame-rate ratio of the fast to the slow pathway (temporal stride
            of the lateral convs). Default 8.
        channel_ratio: ``1/beta``, channel ratio of the slow to the fast pathway. Default 8.
        fusion_kernel: Temporal kernel of the lateral convs. Default 5.
        depth, pretrained, ... zero_init_residual: As :class:`ResNet3d`, with the same defaults.
    """

    def __init__(
        self,
        depth: int,
        lateral: bool = False,
        lateral_norm: bool = False,
        speed_ratio: int = 8,
        channel_ratio: int = 8,
        fusion_kernel: int = 5,
        **kwargs: Any,
    ):
        self.lateral = lateral
        self.lateral_norm = lateral_norm
        self.speed_ratio = speed_ratio
        self.channel_ratio = channel_ratio
        self.fusion_kernel = fusion_kernel
        super().__init__(depth, **kwargs)
        self.inplanes = self.base_channels
        if self.lateral:
            self.conv1_lateral = self._lateral_conv(self.inplanes)
        self.lateral_connections: List[str] = []
        for i in range(len(self.stage_blocks)):
            planes = self.base_channels * 2**i
            self.inplanes = planes * self.block.expansion
            if lateral and i != self.num_stages - 1:
                lateral_name = f"layer{i + 1}_lateral"
                setattr(self, lateral_name, self._lateral_conv(self.inplanes))
                self.lateral_connections.append(lateral_name)

    def _lateral_conv(self, channels: int) -> ConvModule:
        """Conv from the other pathway: ``channels // ratio`` → ``2 * channels // ratio``, time stride alpha."""
        return ConvModule(
            channels // self.channel_ratio, channels * 2 // self.channel_ratio,
            kernel_size=(self.fusion_kernel, 1, 1), stride=(self.speed_ratio, 1, 1),
            padding=((self.fusion_kernel - 1) // 2, 0, 0), bias=False, conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg if self.lateral_norm else None,
            act_cfg=self.act_cfg if self.lateral_norm else None,
        )

    def make_res_layer(
        self,
        block: type,
        inplanes: int,
        planes: int,
        blocks: int,
        spatial_stride: int = 1,
        temporal_stride: int = 1,
        dilation: int = 1,
        style: str = "pytorch",
        inflate: Union[int, Sequence[int]] = 1,
        inflate_style: str = "3x1x1",
        non_local: Union[int, Sequence[int]] = 0,
        non_local_cfg: Dict = dict(),
        conv_cfg: Optional[Dict] = None,
        norm_cfg: Optional[Dict] = None,
        act_cfg: Optional[Dict] = None,
        with_cp: bool = False,
    ) -> nn.Sequential:
        """As :meth:`ResNet3d.make_res_layer`; with ``lateral`` the first block also takes the
        ``inplanes * 2 // channel_ratio`` lateral channels."""
        inflate = _per_block(inflate, blocks, "inflate", f"res layer of {blocks} blocks")
        non_local = _per_block(non_local, blocks, "non_local", f"res layer of {blocks} blocks")
        lateral_inplanes = inplanes * 2 // self.channel_ratio if self.lateral else 0
        downsample = None
        if spatial_stride != 1 or (inplanes + lateral_inplanes) != planes * block.expansion:
            downsample = ConvModule(
                inplanes + lateral_inplanes, planes * block.expansion, kernel_size=1,
                stride=(temporal_stride, spatial_stride, spatial_stride), bias=False,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None,
            )
        layers = []
        for i in range(blocks):
            layers.append(block(
                inplanes + lateral_inplanes if i == 0 else planes * block.expansion, planes,
                spatial_stride=spatial_stride if i == 0 else 1,
                temporal_stride=temporal_stride if i == 0 else 1,
                dilation=dilation, downsample=downsample if i == 0 else None, style=style,
                inflate=inflate[i] == 1, inflate_style=inflate_style,
                non_local=non_local[i] == 1, non_local_cfg=non_local_cfg,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp,
            ))
        return nn.Sequential(*layers)

    def inflate_weights(self) -> List[str]:
        """Inflate a 2D checkpoint; lateral convs are skipped, lateral inputs get zero weights."""
        return inflate_2d_state_dict(self, read_state_dict(self.pretrained), skip_lateral=True,
                                     pad_input_channels=True)

    def stage_modules(self, index: int) -> List[nn.Module]:
        """Stage ``index``'s modules, with ``layer{index}_lateral`` for a stage that has one;
        ``conv1_lateral`` is never frozen (mmaction2 behaviour)."""
        modules = super().stage_modules(index)
        if 1 <= index <= len(self.lateral_connections):
            modules.append(getattr(self, self.lateral_connections[index - 1]))
        return modules

    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """As :meth:`ResNet3d.init_weights`, then Kaiming init of the lateral convs."""
        super().init_weights(pretrained)
        for module_name in self.lateral_connections:
            for m in getattr(self, module_name).modules():
                if isinstance(m, (nn.Conv3d, nn.Conv2d)):
                    kaiming_init(m)


pathway_cfg = {"resnet3d": ResNet3dPathway}


def build_pathway(cfg: Dict[str, Any], **kwargs: Any) -> ResNet3dPathway:
    """Build a pathway from ``dict(type="resnet3d", **pathway_kwargs)`` (plus ``kwargs``)."""
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ConfigError(f"a SlowFast pathway config must be a dict with a 'type' key, got {cfg!r}")
    cfg = dict(cfg)
    pathway_type = cfg.pop("type")
    if pathway_type not in pathway_cfg:
        raise ConfigError(f"unknown pathway type {pathway_type!r}; known types are {sorted(pathway_cfg)}")
    cls = pathway_cfg[pathway_type]
    cfg.update(kwargs)
    check_arguments(cls, cfg, f"pathway {pathway_type!r}")
    if "depth" not in cfg:
        raise ConfigError(f"pathway {pathway_type!r}: 'depth' is required")
    return cls(**cfg)


_SLOW_PATHWAY = dict(type="resnet3d", depth=50, pretrained=None, lateral=True, conv1_kernel=(1, 7, 7),
                     dilations=(1, 1, 1, 1), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1))
_FAST_PATHWAY = dict(type="resnet3d", depth=50, pretrained=None, lateral=False, base_channels=8,
                     conv1_kernel=(5, 7, 7), conv1_stride_t=1, pool1_stride_t=1)


@BACKBONES.register()
class ResNet3dSlowFast(BaseBackbone):
    """SlowFast backbone (mmaction2 ``ResNet3dSlowFast``); returns ``(slow_feat, fast_feat)``.

    Args:
        pretrained: Local path of a whole-SlowFast checkpoint, loaded strictly by
            :meth:`init_weights`. Default ``None`` (required in mmaction2; its configs pass it).
        resample_rate: ``tau``: the slow pathway sees one input frame out of ``resample_rate``. Default 8.
        speed_ratio: ``alpha``: the fast pathway sees ``speed_ratio`` times more frames. Default 8.
        channel_ratio: ``1/beta``: channel ratio of slow to fast. Default 8.
        slow_pathway: Pathway config. Default ``dict(type="resnet3d", depth=50, pretrained=None,
            lateral=True, conv1_kernel=(1, 7, 7), dilations=(1, 1, 1, 1), conv1_stride_t=1,
            pool1_stride_t=1, inflate=(0, 0, 1, 1))``.
        fast_pathway: Pathway config. Default ``dict(type="resnet3d", depth=50, pretrained=None,
            lateral=False, base_channels=8, conv1_kernel=(5, 7, 7), conv1_stride_t=1, pool1_stride_t=1)``.

    Freezing, ``norm_eval`` and gradient checkpointing are the pathways' own settings (each pathway
    re-applies them when the model's ``train()`` reaches it).
    """

    stem_names = ()

    def __init__(
        self,
        pretrained: Optional[str] = None,
        resample_rate: int = 8,
        speed_ratio: int = 8,
        channel_ratio: int = 8,
        slow_pathway: Dict = _SLOW_PATHWAY,
        fast_pathway: Dict = _FAST_PATHWAY,
    ):
        super().__init__(pretrained=pretrained)
        if resample_rate < 1 or speed_ratio < 1 or resample_rate // speed_ratio < 1:
            raise ConfigError(f"ResNet3dSlowFast: need resample_rate >= speed_ratio >= 1, got resample_rate="
                              f"{resample_rate}, speed_ratio={speed_ratio}")
        self.resample_rate = resample_rate
        self.speed_ratio = speed_ratio
        self.channel_ratio = channel_ratio
        slow_pathway = copy.deepcopy(dict(slow_pathway))
        if slow_pathway.get("lateral", False):
            slow_pathway["speed_ratio"] = speed_ratio
            slow_pathway["channel_ratio"] = channel_ratio
        self.slow_path = build_pathway(slow_pathway)
        self.fast_path = build_pathway(copy.deepcopy(dict(fast_pathway)))
        if self.slow_path.num_stages != self.fast_path.num_stages:
            raise ConfigError(f"ResNet3dSlowFast: the pathways have {self.slow_path.num_stages} and "
                              f"{self.fast_path.num_stages} stages; they must match")

    def load_weights(self) -> None:
        """Load the whole-SlowFast checkpoint ``pretrained``; every key must match."""
        logger.info("load model from: %s", self.pretrained)
        state_dict = read_state_dict(self.pretrained)
        if any(k.startswith("backbone.") for k in state_dict):
            state_dict = {k[len("backbone."):]: v for k, v in state_dict.items() if k.startswith("backbone.")}
        result = self.load_state_dict(state_dict, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise CheckpointError(
                f"ResNet3dSlowFast: {self.pretrained!r} does not match the model: missing keys "
                f"{result.missing_keys}, unexpected keys {result.unexpected_keys}"
            )

    def init_from_scratch(self) -> None:
        """Initialize both pathways (fast first, as mmaction2)."""
        self.fast_path.init_weights()
        self.slow_path.init_weights()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``[N, C, T, H, W]`` → ``(slow [N, C_s, T/tau, h, w], fast [N, C_f, T*alpha/tau, h, w])``."""
        _check_input(x, self.slow_path.in_channels, "ResNet3dSlowFast")
        x_slow = F.interpolate(x, mode="nearest", scale_factor=(1.0 / self.resample_rate, 1.0, 1.0))
        x_slow = self.slow_path.maxpool(self.slow_path.conv1(x_slow))
        x_fast = F.interpolate(x, mode="nearest",
                               scale_factor=(1.0 / (self.resample_rate // self.speed_ratio), 1.0, 1.0))
        x_fast = self.fast_path.maxpool(self.fast_path.conv1(x_fast))
        if self.slow_path.lateral:
            x_slow = torch.cat((x_slow, self.slow_path.conv1_lateral(x_fast)), dim=1)
        last = len(self.slow_path.res_layers) - 1
        for i, layer_name in enumerate(self.slow_path.res_layers):
            x_slow = getattr(self.slow_path, layer_name)(x_slow)
            x_fast = getattr(self.fast_path, layer_name)(x_fast)
            if i != last and self.slow_path.lateral:
                conv_lateral = getattr(self.slow_path, self.slow_path.lateral_connections[i])
                x_slow = torch.cat((x_slow, conv_lateral(x_fast)), dim=1)
        return x_slow, x_fast

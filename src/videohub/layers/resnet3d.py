"""3D ResNet (mmaction2 ``ResNet3d``, ``ResNet3dLayer``) and the inflation of 2D ResNet weights.

The blocks are mmaction2's: ``BasicBlock3d`` (two 3x3 convs) and ``Bottleneck3d`` (1x1 → 3x3 → 1x1),
each conv "inflated" in time or not. Per block, ``inflate`` chooses the temporal kernels:

=========================  ========================  ========================
block                      conv1                     conv2
=========================  ========================  ========================
Basic, inflate             3x3x3                     3x3x3
Basic, no inflate          1x3x3                     1x3x3
Bottleneck, ``3x1x1``      3x1x1                     1x3x3
Bottleneck, ``3x3x3``      1x1x1                     3x3x3
Bottleneck, no inflate     1x1x1                     1x3x3
=========================  ========================  ========================

Module names are mmaction2's (``conv1``, ``layer{i}.{j}.conv{k}.conv/bn``, ``downsample``,
``non_local_block``), so an mmaction2 state dict (relative to ``backbone.``) loads unchanged.

``pretrained2d=True`` with a ``pretrained`` path builds the network from a 2D ResNet checkpoint
(:func:`inflate_2d_state_dict`): every 2D kernel is repeated along time and divided by the
temporal kernel size, so a temporally constant clip gives the 2D features.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn.modules.utils import _triple

from ..errors import ConfigError, ShapeError
from ..registry import BACKBONES
from ..utils import logging
from .backbone_base import BaseBackbone, checkpointed
from .conv import ConvModule, build_activation_layer
from .non_local import NonLocal3d
from .pretrained import read_state_dict

logger = logging.get_logger(__name__)

INFLATE_STYLES = ("3x1x1", "3x3x3")


def _check_style(style: str, where: str) -> None:
    if style not in ("pytorch", "caffe"):
        raise ConfigError(f"{where}: style must be 'pytorch' or 'caffe', got {style!r}")


class BasicBlock3d(nn.Module):
    """Two 3x3 convolutions with a residual connection (expansion 1).

    Args:
        inplanes: Input channels.
        planes: Block width (= output channels).
        spatial_stride: Spatial stride of ``conv1``. Default 1.
        temporal_stride: Temporal stride of ``conv1``. Default 1.
        dilation: Spatial dilation of ``conv1``. Default 1.
        downsample: Module applied to the identity branch. Default ``None``.
        style: ``"pytorch"`` (default) or ``"caffe"``; both put the stride on ``conv1`` here.
        inflate: 3x3x3 kernels (``True``, default) or 1x3x3.
        inflate_style: Accepted for a uniform block interface and ignored. Default ``"3x1x1"``.
        non_local: Append a ``NonLocal3d`` block after the residual. Default ``False``.
        non_local_cfg: Keyword arguments of ``NonLocal3d``. Default ``dict()``.
        conv_cfg: Default ``dict(type="Conv3d")``.
        norm_cfg: Default ``dict(type="BN3d")``.
        act_cfg: Default ``dict(type="ReLU")``.
        with_cp: Gradient checkpointing of the residual branch. Default ``False``.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        spatial_stride: int = 1,
        temporal_stride: int = 1,
        dilation: int = 1,
        downsample: Optional[nn.Module] = None,
        style: str = "pytorch",
        inflate: bool = True,
        inflate_style: str = "3x1x1",
        non_local: bool = False,
        non_local_cfg: Dict = dict(),
        conv_cfg: Dict = dict(type="Conv3d"),
        norm_cfg: Dict = dict(type="BN3d"),
        act_cfg: Dict = dict(type="ReLU"),
        with_cp: bool = False,
    ):
        super().__init__()
        _check_style(style, "BasicBlock3d")
        self.inplanes = inplanes
        self.planes = planes
        self.spatial_stride = spatial_stride
        self.temporal_stride = temporal_stride
        self.dilation = dilation
        self.style = style
        self.inflate = inflate
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.with_cp = with_cp
        self.non_local = non_local
        self.non_local_cfg = non_local_cfg

        kt = 3 if inflate else 1
        pt = 1 if inflate else 0
        self.conv1 = ConvModule(
            inplanes, planes, (kt, 3, 3), stride=(temporal_stride, spatial_stride, spatial_stride),
            padding=(pt, dilation, dilation), dilation=(1, dilation, dilation), bias=False,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )
        self.conv2 = ConvModule(
            planes, planes * self.expansion, (kt, 3, 3), stride=1, padding=(pt, 1, 1), bias=False,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None,
        )
        self.downsample = downsample
        self.relu = build_activation_layer(act_cfg)
        if non_local:
            self.non_local_block = NonLocal3d(planes * self.expansion, **non_local_cfg)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """``conv2(conv1(x)) + identity``, before the activation."""
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv2(self.conv1(x)) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = checkpointed(self.residual, x, enabled=self.with_cp)
        out = self.relu(out)
        if self.non_local:
            out = self.non_local_block(out)
        return out


class Bottleneck3d(nn.Module):
    """1x1 → 3x3 → 1x1 bottleneck (expansion 4).

    Args:
        inplanes: Input channels.
        planes: Block width; the output has ``planes * 4`` channels.
        spatial_stride: Spatial stride (on ``conv2`` for ``"pytorch"``, ``conv1`` for ``"caffe"``). Default 1.
        temporal_stride: Temporal stride, placed like ``spatial_stride``. Default 1.
        dilation: Spatial dilation of ``conv2``. Default 1.
        downsample: Module applied to the identity branch. Default ``None``.
        style: ``"pytorch"`` (default) or ``"caffe"``.
        inflate: Use the temporal kernels of ``inflate_style`` (default ``True``) or none.
        inflate_style: ``"3x1x1"`` (default; temporal kernel on ``conv1``) or ``"3x3x3"`` (on ``conv2``).
        non_local: Append a ``NonLocal3d`` block after the residual. Default ``False``.
        non_local_cfg: Keyword arguments of ``NonLocal3d``. Default ``dict()``.
        conv_cfg: Default ``dict(type="Conv3d")``.
        norm_cfg: Default ``dict(type="BN3d")``.
        act_cfg: Default ``dict(type="ReLU")``.
        with_cp: Gradient checkpointing of the residual branch. Default ``False``.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        spatial_stride: int = 1,
        temporal_stride: int = 1,
        dilation: int = 1,
        downsample: Optional[nn.Module] = None,
        style: str = "pytorch",
        inflate: bool = True,
        inflate_style: str = "3x1x1",
        non_local: bool = False,
        non_local_cfg: Dict = dict(),
        conv_cfg: Dict = dict(type="Conv3d"),
        norm_cfg: Dict = dict(type="BN3d"),
        act_cfg: Dict = dict(type="ReLU"),
        with_cp: bool = False,
    ):
        super().__init__()
        _check_style(style, "Bottleneck3d")
        if inflate_style not in INFLATE_STYLES:
            raise ConfigError(f"Bottleneck3d: inflate_style must be one of {INFLATE_STYLES}, got {inflate_style!r}")
        self.inplanes = inplanes
        self.planes = planes
        self.spatial_stride = spatial_stride
        self.temporal_stride = temporal_stride
        self.dilation = dilation
        self.style = style
        self.inflate = inflate
        self.inflate_style = inflate_style
        self.norm_cfg = norm_cfg
        self.conv_cfg = conv_cfg
        self.act_cfg = act_cfg
        self.with_cp = with_cp
        self.non_local = non_local
        self.non_local_cfg = non_local_cfg

        if style == "pytorch":
            self.conv1_stride_s, self.conv2_stride_s = 1, spatial_stride
            self.conv1_stride_t, self.conv2_stride_t = 1, temporal_stride
        else:
            self.conv1_stride_s, self.conv2_stride_s = spatial_stride, 1
            self.conv1_stride_t, self.conv2_stride_t = temporal_stride, 1

        t1, t2 = 1, 1
        if inflate:
            t1, t2 = (3, 1) if inflate_style == "3x1x1" else (1, 3)
        self.conv1 = ConvModule(
            inplanes, planes, (t1, 1, 1), stride=(self.conv1_stride_t, self.conv1_stride_s, self.conv1_stride_s),
            padding=((t1 - 1) // 2, 0, 0), bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )
        self.conv2 = ConvModule(
            planes, planes, (t2, 3, 3), stride=(self.conv2_stride_t, self.conv2_stride_s, self.conv2_stride_s),
            padding=((t2 - 1) // 2, dilation, dilation), dilation=(1, dilation, dilation), bias=False,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
        )
        self.conv3 = ConvModule(
            planes, planes * self.expansion, 1, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None,
        )
        self.downsample = downsample
        self.relu = build_activation_layer(act_cfg)
        if non_local:
            self.non_local_block = NonLocal3d(planes * self.expansion, **non_local_cfg)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """``conv3(conv2(conv1(x))) + identity``, before the activation."""
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv3(self.conv2(self.conv1(x))) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = checkpointed(self.residual, x, enabled=self.with_cp)
        out = self.relu(out)
        if self.non_local:
            out = self.non_local_block(out)
        return out


# ----------------------------------------------------------------------------------------------
# Inflation of 2D weights
# ----------------------------------------------------------------------------------------------


def _strip_prefix(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Keep ``backbone.*`` entries without the prefix if the checkpoint is a whole recognizer."""
    if any(k.startswith("backbone.") for k in state_dict):
        return {k[len("backbone."):]: v for k, v in state_dict.items() if k.startswith("backbone.")}
    return dict(state_dict)


def _names_2d(name: str, state_dict_2d: Mapping[str, torch.Tensor]) -> Tuple[str, str]:
    """The 2D conv and norm names of the 3D ``ConvModule`` called ``name``.

    Two 2D layouts are understood: mmaction2/videohub ``ConvModule`` names (``conv1.conv``,
    ``conv1.bn``, ``layer1.0.downsample.conv``) and torchvision names (``conv1``, ``bn1``,
    ``layer1.0.downsample.0``/``.1``), the latter mapped as mmaction2's ``_inflate_weights`` does.
    """
    if f"{name}.conv.weight" in state_dict_2d:
        return f"{name}.conv", f"{name}.bn"
    if "downsample" in name:
        return f"{name}.0", f"{name}.1"
    return name, name.replace("conv", "bn")


def _inflate_conv(conv3d: nn.Module, state_dict_2d: Mapping[str, torch.Tensor], name_2d: str,
                  pad_input_channels: bool, used: List[str]) -> None:
    weight_2d = state_dict_2d[f"{name_2d}.weight"]
    shape_3d = tuple(conv3d.weight.shape)
    if weight_2d.dim() != 4:
        logger.warning("inflation: %s.weight has shape %s, expected a 4-d conv kernel; not loaded",
                       name_2d, tuple(weight_2d.shape))
        return
    if pad_input_channels and shape_3d[1] > weight_2d.shape[1]:
        # Lateral inputs of a SlowFast pathway: the 2D kernel does not see them (zero weights).
        pad = weight_2d.new_zeros((weight_2d.shape[0], shape_3d[1] - weight_2d.shape[1]) + tuple(weight_2d.shape[2:]))
        weight_2d = torch.cat((weight_2d, pad), dim=1)
    if tuple(weight_2d.shape) != shape_3d[:2] + shape_3d[3:]:
        logger.warning("inflation: weight shape mismatch for %s: 3d weight shape %s; 2d weight shape %s; not loaded",
                       name_2d, shape_3d, tuple(weight_2d.shape))
        return
    kernel_t = shape_3d[2]
    with torch.no_grad():
        conv3d.weight.copy_(weight_2d.unsqueeze(2).expand(shape_3d) / kernel_t)
    used.append(f"{name_2d}.weight")
    if conv3d.bias is not None:
        bias_name = f"{name_2d}.bias"
        if bias_name not in state_dict_2d:
            logger.warning("inflation: %s has a bias but the 2D checkpoint has no %s", name_2d, bias_name)
            return
        with torch.no_grad():
            conv3d.bias.copy_(state_dict_2d[bias_name])
        used.append(bias_name)


def _inflate_norm(norm: nn.Module, state_dict_2d: Mapping[str, torch.Tensor], name_2d: str,
                  used: List[str]) -> None:
    for param_name, param in norm.named_parameters():
        key = f"{name_2d}.{param_name}"
        value = state_dict_2d.get(key)
        if value is None or value.shape != param.shape:
            logger.warning("inflation: the parameters of %s are not loaded (%s has shape %s, expected %s)",
                           name_2d, key, None if value is None else tuple(value.shape), tuple(param.shape))
            return
        with torch.no_grad():
            param.copy_(value)
        used.append(key)
    for buffer_name, buffer in norm.named_buffers():
        key = f"{name_2d}.{buffer_name}"
        if key in state_dict_2d:  # old checkpoints may lack num_batches_tracked
            with torch.no_grad():
                buffer.copy_(state_dict_2d[key])
            used.append(key)


def inflate_2d_state_dict(
    module: nn.Module,
    state_dict_2d: Mapping[str, torch.Tensor],
    skip_lateral: bool = False,
    pad_input_channels: bool = False,
) -> List[str]:
    """Copy a 2D ResNet state dict into a 3D ResNet, inflating every conv kernel in time.

    For each ``ConvModule`` of ``module`` the 2D conv kernel ``[O, I, kh, kw]`` becomes
    ``[O, I, kt, kh, kw]`` with every temporal slice equal to ``kernel / kt``; norm parameters and
    running statistics are copied. Convs whose shapes do not match are skipped with a warning
    (mmaction2's ``_inflate_weights``).

    Args:
        module: The 3D network (``ResNet3d`` or a subclass) to fill in place.
        state_dict_2d: A 2D ResNet state dict in torchvision or mmaction2/videohub ``ConvModule``
            layout; a whole-recognizer checkpoint (``backbone.*`` keys) is accepted too.
        skip_lateral: Leave modules whose name contains ``"lateral"`` alone (SlowFast). Default ``False``.
        pad_input_channels: Zero-pad 2D kernels with fewer input channels than the 3D conv
            (lateral inputs of a SlowFast pathway). Default ``False``.

    Returns:
        The 2D keys that were used. Unused keys are logged at info level.
    """
    state_dict_2d = _strip_prefix(state_dict_2d)
    used: List[str] = []
    for name, sub in module.named_modules():
        if not isinstance(sub, ConvModule) or not name:
            continue
        if skip_lateral and "lateral" in name:
            continue
        conv_name, norm_name = _names_2d(name, state_dict_2d)
        if not isinstance(sub.conv, (nn.Conv3d,)):
            logger.warning("inflation: %s is a %s, not a Conv3d; not inflated", name, type(sub.conv).__name__)
        elif f"{conv_name}.weight" not in state_dict_2d:
            logger.warning("inflation: module not in the 2D state dict: %s", conv_name)
        else:
            _inflate_conv(sub.conv, state_dict_2d, conv_name, pad_input_channels, used)
        if sub.norm is None:
            continue
        if f"{norm_name}.weight" not in state_dict_2d:
            logger.warning("inflation: module not in the 2D state dict: %s", norm_name)
        else:
            _inflate_norm(sub.norm, state_dict_2d, norm_name, used)
    remaining = sorted(set(state_dict_2d) - set(used))
    if remaining:
        logger.info("these parameters of the 2D checkpoint were not loaded: %s", remaining)
    return used


def _per_block(value: Any, blocks: int, what: str, stage: str) -> Tuple[int, ...]:
    """Expand an int to ``blocks`` copies; check a sequence has ``blocks`` entries."""
    if isinstance(value, bool) or isinstance(value, int):
        return (int(value),) * blocks
    value = tuple(value)
    if len(value) != blocks:
        raise ConfigError(f"{stage}: {what} {value} has {len(value)} entries, expected one per block ({blocks})")
    return value


def _per_stage(value: Any, num_stages: int) -> Tuple[Any, ...]:
    """torch's ``_ntuple``: an int is repeated ``num_stages`` times, a sequence kept as a tuple."""
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * num_stages


def _check_input(x: torch.Tensor, in_channels: int, name: str) -> None:
    if x.dim() != 5 or x.size(1) != in_channels:
        raise ShapeError(f"{name} expects an input [N, {in_channels}, T, H, W], got shape {tuple(x.shape)}")


class ResNet3dWeights(BaseBackbone):
    """``init_weights()`` of :class:`ResNet3d` and :class:`ResNet3dLayer` (mmaction2's ``_init_weights``):
    a ``pretrained`` path is inflated from a 2D ResNet (``pretrained2d``) or loaded non-strictly;
    without one, Kaiming ``Conv3d`` weights, unit BN weights and, if ``zero_init_residual``, a
    zero last norm in every block."""

    def load_weights(self) -> None:
        """Inflate (``pretrained2d``) or load the checkpoint ``self.pretrained``."""
        logger.info("load model from: %s", self.pretrained)
        if self.pretrained2d:
            self.inflate_weights()
        else:
            super().load_weights()

    def inflate_weights(self) -> List[str]:
        """Inflate the 2D checkpoint ``self.pretrained`` into this network; return the keys used."""
        return inflate_2d_state_dict(self, read_state_dict(self.pretrained))

    def init_from_scratch(self) -> None:
        """Kaiming ``Conv3d`` weights, unit BN weights, then the residual zero init."""
        self.kaiming_convs_and_unit_norms(nn.Conv3d)
        if self.zero_init_residual:
            self.zero_last_norms({Bottleneck3d: "conv3.bn", BasicBlock3d: "conv2.bn"})


@BACKBONES.register()
class ResNet3d(ResNet3dWeights):
    """3D ResNet (mmaction2 ``ResNet3d``; I3D when kernels are inflated).

    Args:
        depth: 18, 34, 50, 101 or 152.
        pretrained: Local checkpoint path loaded by :meth:`init_weights`. Default ``None``
            (mmaction2 makes the argument required; its configs always pass it).
        stage_blocks: Blocks of each stage, overriding the depth's. Default ``None``.
        pretrained2d: ``pretrained`` is a 2D ResNet to inflate. Default ``True``.
        in_channels: Input channels. Default 3.
        num_stages: Stages (1-4). Default 4.
        base_channels: Width of the stem (stage ``i`` has ``base_channels * 2**i``). Default 64.
        out_indices: Stages whose output is returned. Default ``(3,)``.
        spatial_strides: Default ``(1, 2, 2, 2)``.
        temporal_strides: Default ``(1, 1, 1, 1)``.
        dilations: Default ``(1, 1, 1, 1)``.
        conv1_kernel: Stem kernel. Default ``(3, 7, 7)``.
        conv1_stride_s: Stem spatial stride. Default 2.
        conv1_stride_t: Stem temporal stride. Default 1.
        pool1_stride_s: Stem max-pool spatial stride. Default 2.
        pool1_stride_t: Stem max-pool temporal stride. Default 1.
        with_pool1: Use the stem max-pool. Default ``True``.
        with_pool2: Temporal max-pool (2x1x1, stride 2) after ``layer1``. Default ``True``.
        style: ``"pytorch"`` (default) or ``"caffe"``.
        frozen_stages: Freeze the stem (0) and stages ``1..frozen_stages``; -1 (default) freezes nothing.
        inflate: Per stage, an int or one 0/1 per block: inflate the kernels in time. Default ``(1, 1, 1, 1)``.
        inflate_style: ``"3x1x1"`` (default) or ``"3x3x3"`` (bottleneck blocks).
        conv_cfg: Default ``dict(type="Conv3d")``.
        norm_cfg: Default ``dict(type="BN3d", requires_grad=True)``.
        act_cfg: Default ``dict(type="ReLU", inplace=True)``.
        norm_eval: Keep BN layers in eval mode while training. Default ``False``.
        with_cp: Gradient checkpointing of the blocks. Default ``False``.
        non_local: Per stage, an int or one 0/1 per block: add a ``NonLocal3d``. Default ``(0, 0, 0, 0)``.
        non_local_cfg: ``NonLocal3d`` keyword arguments. Default ``dict()``.
        zero_init_residual: Zero the last norm of every block in :meth:`init_weights`. Default ``True``.

    ``frozen_stages``, ``norm_eval``, ``out_indices`` and ``with_cp`` work as
    :class:`~videohub.layers.backbone_base.BaseBackbone` says.
    """

    arch_settings = {
        18: (BasicBlock3d, (2, 2, 2, 2)),
        34: (BasicBlock3d, (3, 4, 6, 3)),
        50: (Bottleneck3d, (3, 4, 6, 3)),
        101: (Bottleneck3d, (3, 4, 23, 3)),
        152: (Bottleneck3d, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int,
        pretrained: Optional[str] = None,
        stage_blocks: Optional[Sequence[int]] = None,
        pretrained2d: bool = True,
        in_channels: int = 3,
        num_stages: int = 4,
        base_channels: int = 64,
        out_indices: Sequence[int] = (3,),
        spatial_strides: Sequence[int] = (1, 2, 2, 2),
        temporal_strides: Sequence[int] = (1, 1, 1, 1),
        dilations: Sequence[int] = (1, 1, 1, 1),
        conv1_kernel: Sequence[int] = (3, 7, 7),
        conv1_stride_s: int = 2,
        conv1_stride_t: int = 1,
        pool1_stride_s: int = 2,
        pool1_stride_t: int = 1,
        with_pool1: bool = True,
        with_pool2: bool = True,
        style: str = "pytorch",
        frozen_stages: int = -1,
        inflate: Sequence = (1, 1, 1, 1),
        inflate_style: str = "3x1x1",
        conv_cfg: Dict = dict(type="Conv3d"),
        norm_cfg: Dict = dict(type="BN3d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        norm_eval: bool = False,
        with_cp: bool = False,
        non_local: Sequence = (0, 0, 0, 0),
        non_local_cfg: Dict = dict(),
        zero_init_residual: bool = True,
    ):
        super().__init__(pretrained=pretrained, frozen_stages=frozen_stages, norm_eval=norm_eval,
                         out_indices=out_indices, with_cp=with_cp)
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise ConfigError(f"{name}: invalid depth {depth}; expected one of {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 4:
            raise ConfigError(f"{name}: num_stages must be in 1..4, got {num_stages}")
        if not (len(spatial_strides) == len(temporal_strides) == len(dilations) == num_stages):
            raise ConfigError(
                f"{name}: spatial_strides {tuple(spatial_strides)}, temporal_strides {tuple(temporal_strides)} "
                f"and dilations {tuple(dilations)} must each have num_stages={num_stages} entries"
            )
        self.check_stage_settings(num_stages)
        if stage_blocks is not None and len(stage_blocks) != num_stages:
            raise ConfigError(f"{name}: stage_blocks {tuple(stage_blocks)} must have num_stages={num_stages} entries")
        if inflate_style not in INFLATE_STYLES:
            raise ConfigError(f"{name}: inflate_style must be one of {INFLATE_STYLES}, got {inflate_style!r}")
        _check_style(style, name)
        if len(_triple(conv1_kernel)) != 3:
            raise ConfigError(f"{name}: conv1_kernel must have 3 entries (t, h, w), got {conv1_kernel!r}")

        self.depth = depth
        self.pretrained2d = pretrained2d
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.spatial_strides = tuple(spatial_strides)
        self.temporal_strides = tuple(temporal_strides)
        self.dilations = tuple(dilations)
        self.conv1_kernel = tuple(_triple(conv1_kernel))
        self.conv1_stride_s = conv1_stride_s
        self.conv1_stride_t = conv1_stride_t
        self.pool1_stride_s = pool1_stride_s
        self.pool1_stride_t = pool1_stride_t
        self.with_pool1 = with_pool1
        self.with_pool2 = with_pool2
        self.style = style
        self.stage_inflations = _per_stage(inflate, num_stages)
        self.non_local_stages = _per_stage(non_local, num_stages)
        self.inflate_style = inflate_style
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.zero_init_residual = zero_init_residual
        self.non_local_cfg = non_local_cfg
        if len(self.stage_inflations) < num_stages or len(self.non_local_stages) < num_stages:
            raise ConfigError(f"{name}: inflate {inflate!r} and non_local {non_local!r} need an entry per stage "
                              f"(num_stages={num_stages})")

        self.block, default_blocks = self.arch_settings[depth]
        self.stage_blocks = tuple(stage_blocks) if stage_blocks is not None else tuple(default_blocks[:num_stages])
        self.inplanes = base_channels
        self._make_stem_layer()
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            res_layer = self.make_res_layer(
                self.block, self.inplanes, planes, num_blocks,
                spatial_stride=self.spatial_strides[i], temporal_stride=self.temporal_strides[i],
                dilation=self.dilations[i], style=style, norm_cfg=norm_cfg, conv_cfg=conv_cfg, act_cfg=act_cfg,
                non_local=self.non_local_stages[i], non_local_cfg=non_local_cfg,
                inflate=self.stage_inflations[i], inflate_style=inflate_style, with_cp=with_cp,
                **self._block_kwargs(),
            )
            self.inplanes = planes * self.block.expansion
            self.add_stage(res_layer)
        self.feat_dim = self.block.expansion * base_channels * 2 ** (len(self.stage_blocks) - 1)

    def _block_kwargs(self) -> Dict[str, Any]:
        """Extra keyword arguments for every block (subclasses such as CSN add theirs)."""
        return {}

    @staticmethod
    def make_res_layer(
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
        norm_cfg: Optional[Dict] = None,
        act_cfg: Optional[Dict] = None,
        conv_cfg: Optional[Dict] = None,
        with_cp: bool = False,
        **kwargs: Any,
    ) -> nn.Sequential:
        """One stage of ``blocks`` blocks; the first one strides and projects the identity.

        ``inflate`` / ``non_local`` are an int for the whole stage or one 0/1 per block (defaults 1
        and 0); ``kwargs`` go to every block. Other defaults: strides 1, dilation 1, ``"pytorch"``,
        ``"3x1x1"``, ``non_local_cfg=dict()``, cfgs ``None``, ``with_cp=False``.
        """
        inflate = _per_block(inflate, blocks, "inflate", f"res layer of {blocks} blocks")
        non_local = _per_block(non_local, blocks, "non_local", f"res layer of {blocks} blocks")
        downsample = None
        if spatial_stride != 1 or inplanes != planes * block.expansion:
            downsample = ConvModule(
                inplanes, planes * block.expansion, kernel_size=1,
                stride=(temporal_stride, spatial_stride, spatial_stride), bias=False,
                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None,
            )
        layers = []
        for i in range(blocks):
            layers.append(block(
                inplanes if i == 0 else planes * block.expansion, planes,
                spatial_stride=spatial_stride if i == 0 else 1,
                temporal_stride=temporal_stride if i == 0 else 1,
                dilation=dilation, downsample=downsample if i == 0 else None, style=style,
                inflate=inflate[i] == 1, inflate_style=inflate_style,
                non_local=non_local[i] == 1, non_local_cfg=non_local_cfg,
                norm_cfg=norm_cfg, conv_cfg=conv_cfg, act_cfg=act_cfg, with_cp=with_cp, **kwargs,
            ))
        return nn.Sequential(*layers)

    def _make_stem_layer(self) -> None:
        """``conv1`` (conv + norm + act) and the ``maxpool`` / ``pool2`` pooling layers."""
        self.conv1 = ConvModule(
            self.in_channels, self.base_channels, kernel_size=self.conv1_kernel,
            stride=(self.conv1_stride_t, self.conv1_stride_s, self.conv1_stride_s),
            padding=tuple((k - 1) // 2 for k in self.conv1_kernel), bias=False,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
        )
        self.maxpool = nn.MaxPool3d(
            kernel_size=(1, 3, 3), stride=(self.pool1_stride_t, self.pool1_stride_s, self.pool1_stride_s),
            padding=(0, 1, 1),
        )
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 1, 1), stride=(2, 1, 1))

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """``[N, C, T, H, W]`` → the feature of the last (or each of ``out_indices``) stage."""
        _check_input(x, self.in_channels, type(self).__name__)
        x = self.conv1(x)
        if self.with_pool1:
            x = self.maxpool(x)
        return self.forward_stages(x)

    def after_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """The temporal ``pool2`` after ``layer1`` when ``with_pool2``."""
        return self.pool2(x) if index == 0 and self.with_pool2 else x


@BACKBONES.register()
class ResNet3dLayer(ResNet3dWeights):
    """A single stage of a 3D ResNet (mmaction2 ``ResNet3dLayer``; the shared head of AVA models).

    Its one stage is ``layer{stage + 1}``; ``all_frozen`` freezes it (``frozen_stages=1`` of
    :class:`~videohub.layers.backbone_base.BaseBackbone`, with an empty stem).

    The stage's widths are those of a 64-channel ResNet (``planes = 64 * 2**stage``), whatever
    ``base_channels`` is, as in mmaction2.

    Args:
        depth: 18, 34, 50, 101 or 152.
        pretrained: Local checkpoint path loaded by :meth:`init_weights`. Default ``None``.
        pretrained2d: ``pretrained`` is a 2D ResNet to inflate. Default ``True``.
        stage: Stage index, 0-based (0-3). Default 3.
        base_channels: Stored only (see above). Default 64.
        spatial_stride: Spatial stride of the first block. Default 2.
        temporal_stride: Temporal stride of the first block. Default 1.
        dilation: Dilation. Default 1.
        style: ``"pytorch"`` (default) or ``"caffe"``.
        all_frozen: Freeze the whole stage. Default ``False``.
        inflate: An int or one 0/1 per block. Default 1.
        inflate_style: ``"3x1x1"`` (default) or ``"3x3x3"``.
        conv_cfg: Default ``dict(type="Conv3d")``.
        norm_cfg: Default ``dict(type="BN3d", requires_grad=True)``.
        act_cfg: Default ``dict(type="ReLU", inplace=True)``.
        norm_eval: Keep BN layers in eval mode while training. Default ``False``.
        with_cp: Gradient checkpointing. Default ``False``.
        zero_init_residual: Zero the last norm of every block in :meth:`init_weights`. Default ``True``.
        non_local: An int or one 0/1 per block (a ``make_res_layer`` argument). Default 0.
        non_local_cfg: ``NonLocal3d`` keyword arguments. Default ``dict()``.
    """

    arch_settings = ResNet3d.arch_settings
    stem_names = ()

    def __init__(
        self,
        depth: int,
        pretrained: Optional[str] = None,
        pretrained2d: bool = True,
        stage: int = 3,
        base_channels: int = 64,
        spatial_stride: int = 2,
        temporal_stride: int = 1,
        dilation: int = 1,
        style: str = "pytorch",
        all_frozen: bool = False,
        inflate: Union[int, Sequence[int]] = 1,
        inflate_style: str = "3x1x1",
        conv_cfg: Dict = dict(type="Conv3d"),
        norm_cfg: Dict = dict(type="BN3d", requires_grad=True),
        act_cfg: Dict = dict(type="ReLU", inplace=True),
        norm_eval: bool = False,
        with_cp: bool = False,
        zero_init_residual: bool = True,
        non_local: Union[int, Sequence[int]] = 0,
        non_local_cfg: Dict = dict(),
    ):
        super().__init__(pretrained=pretrained, frozen_stages=1 if all_frozen else -1, norm_eval=norm_eval,
                         with_cp=with_cp)
        if depth not in self.arch_settings:
            raise ConfigError(f"ResNet3dLayer: invalid depth {depth}; expected one of {sorted(self.arch_settings)}")
        if not 0 <= stage <= 3:
            raise ConfigError(f"ResNet3dLayer: stage must be in 0..3 (0-based), got {stage}")
        if inflate_style not in INFLATE_STYLES:
            raise ConfigError(f"ResNet3dLayer: inflate_style must be one of {INFLATE_STYLES}, got {inflate_style!r}")
        _check_style(style, "ResNet3dLayer")
        self.depth = depth
        self.pretrained2d = pretrained2d
        self.stage = stage
        self.base_channels = base_channels
        self.spatial_stride = spatial_stride
        self.temporal_stride = temporal_stride
        self.dilation = dilation
        self.style = style
        self.all_frozen = all_frozen
        self.stage_inflation = inflate
        self.inflate_style = inflate_style
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.zero_init_residual = zero_init_residual

        block, stage_blocks = self.arch_settings[depth]
        planes = 64 * 2**stage
        inplanes = 64 * 2 ** (stage - 1) * block.expansion
        res_layer = ResNet3d.make_res_layer(
            block, inplanes, planes, stage_blocks[stage], spatial_stride=spatial_stride,
            temporal_stride=temporal_stride, dilation=dilation, style=style, norm_cfg=norm_cfg,
            conv_cfg=conv_cfg, act_cfg=act_cfg, inflate=inflate, inflate_style=inflate_style,
            non_local=non_local, non_local_cfg=non_local_cfg, with_cp=with_cp,
        )
        self.layer_name = self.add_stage(res_layer, f"layer{stage + 1}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` → the stage's output."""
        return self.forward_stages(x)

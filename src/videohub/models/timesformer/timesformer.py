"""TimeSformer backbone (mmaction2 ``TimeSformer``) and its patch embedding.

Paper: Bertasius, Wang and Torresani, "Is Space-Time Attention All You Need for Video
Understanding?" (https://arxiv.org/abs/2102.05095). Three attention layouts, as in mmaction2 0.24:

- ``divided_space_time``: each layer attends over time (per patch), then over space (per frame),
  then runs its FFN, each with its own LayerNorm (``DividedTemporal/SpatialAttentionWithNorm``,
  ``FFNWithNorm``);
- ``joint_space_time``: a pre-norm ViT layer over all ``P * T`` patch tokens plus the class token;
- ``space_only``: a pre-norm ViT layer over each frame separately; the frames' tokens are averaged
  at the end.

The output is the class token after the final LayerNorm, ``[N, embed_dims]``.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from ...errors import ConfigError, ShapeError
from ...layers.conv import build_norm_layer
from ...layers.init import kaiming_init
from ...layers.pretrained import read_state_dict
from ...registry import BACKBONES
from ...utils import logging
from .transformer import (
    FFN,
    BaseTransformerLayer,
    DividedSpatialAttentionWithNorm,
    DividedTemporalAttentionWithNorm,
    FFNWithNorm,
    MultiheadAttention,
    TransformerLayerSequence,
)

logger = logging.get_logger(__name__)

ATTENTION_TYPES = ("divided_space_time", "space_only", "joint_space_time")


def _pair(value: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


class PatchEmbed(nn.Module):
    """Split every frame into non-overlapping patches and project them (mmaction2 ``PatchEmbed``).

    Args:
        img_size: Frame size ``H`` (or ``(H, W)``); must be a whole number of patches.
        patch_size: Patch size (int or pair).
        in_channels: Input channels. Default 3.
        embed_dims: Token width. Default 768.
    """

    def __init__(self, img_size: Union[int, Tuple[int, int]], patch_size: Union[int, Tuple[int, int]],
                 in_channels: int = 3, embed_dims: int = 768):
        super().__init__()
        self.img_size = _pair(img_size)
        self.patch_size = _pair(patch_size)
        if self.img_size[0] % self.patch_size[0] or self.img_size[1] % self.patch_size[1]:
            raise ConfigError(f"PatchEmbed: img_size {self.img_size} is not a whole number of "
                              f"patches of {self.patch_size}")
        self.num_patches = (self.img_size[0] // self.patch_size[0]) * (self.img_size[1] // self.patch_size[1])
        self.projection = nn.Conv2d(in_channels, embed_dims, kernel_size=self.patch_size, stride=self.patch_size)
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming-normal projection (``mode="fan_in"``, linear gain) with zero bias, as mmaction2."""
        kaiming_init(self.projection, mode="fan_in", nonlinearity="linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[B, C, T, H, W]`` → ``[B * T, P, embed_dims]`` (frames batch-major)."""
        batch, channels, frames, height, width = x.shape
        x = x.transpose(1, 2).reshape(batch * frames, channels, height, width)
        return self.projection(x).flatten(2).transpose(1, 2)


@BACKBONES.register()
class TimeSformer(nn.Module):
    """TimeSformer (mmaction2 ``TimeSformer``): a ViT over video patches with space-time attention.

    Args:
        num_frames: Frames ``T`` of every input clip (the size of ``time_embed``).
        img_size: Frame size; inputs must have exactly this size.
        patch_size: Patch size.
        pretrained: A local ViT/TimeSformer checkpoint loaded by :meth:`init_weights`. Default ``None``.
        embed_dims: Token width. Default 768.
        num_heads: Attention heads. Default 12.
        num_transformer_layers: Layers. Default 12.
        in_channels: Input channels. Default 3.
        dropout_ratio: Dropout after the position and time embeddings. Default 0.0.
        transformer_layers: A custom mmcv ``TransformerLayerSequence`` config. Only ``None`` (default:
            the layout of ``attention_type``, as every mmaction2 config uses) is supported.
        attention_type: ``"divided_space_time"`` (default), ``"joint_space_time"`` or ``"space_only"``.
        norm_cfg: The final norm. Default ``dict(type="LN", eps=1e-6)``.
        with_cp: Gradient checkpointing of each transformer layer (videohub addition). Default ``False``.

    The layers' stochastic depth rises linearly from 0 to 0.1 (``np.linspace(0, 0.1, layers)``), and
    every LayerNorm inside the layers has ``eps=1e-6``, as in mmaction2.
    """

    supported_attention_types = ATTENTION_TYPES

    def __init__(
        self,
        num_frames: int,
        img_size: Union[int, Tuple[int, int]],
        patch_size: Union[int, Tuple[int, int]],
        pretrained: Optional[str] = None,
        embed_dims: int = 768,
        num_heads: int = 12,
        num_transformer_layers: int = 12,
        in_channels: int = 3,
        dropout_ratio: float = 0.0,
        transformer_layers: Optional[Dict] = None,
        attention_type: str = "divided_space_time",
        norm_cfg: Dict = dict(type="LN", eps=1e-6),
        with_cp: bool = False,
    ):
        super().__init__()
        if attention_type not in ATTENTION_TYPES:
            raise ConfigError(f"TimeSformer attention_type must be one of {ATTENTION_TYPES}, got {attention_type!r}")
        if transformer_layers is not None:
            raise ConfigError("TimeSformer transformer_layers: only None (the built-in layout of attention_type) "
                              f"is supported, got {transformer_layers!r}")
        if num_frames < 1 or num_transformer_layers < 1:
            raise ConfigError(f"TimeSformer needs num_frames >= 1 and num_transformer_layers >= 1, got "
                              f"{num_frames} and {num_transformer_layers}")
        self.num_frames = num_frames
        self.pretrained = pretrained
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.num_transformer_layers = num_transformer_layers
        self.in_channels = in_channels
        self.attention_type = attention_type
        self.feat_dim = embed_dims

        self.patch_embed = PatchEmbed(img_size, patch_size, in_channels, embed_dims)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dims))
        self.drop_after_pos = nn.Dropout(p=dropout_ratio)
        if attention_type != "space_only":
            self.time_embed = nn.Parameter(torch.zeros(1, num_frames, embed_dims))
            self.drop_after_time = nn.Dropout(p=dropout_ratio)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

        drop_path = np.linspace(0, 0.1, num_transformer_layers)
        layers = [self._make_layer(float(p)) for p in drop_path]
        self.transformer_layers = TransformerLayerSequence(layers, with_cp=with_cp)

    def _make_layer(self, drop_prob: float) -> BaseTransformerLayer:
        """One transformer layer of ``attention_type`` with stochastic depth ``drop_prob``."""
        dims, heads, frames = self.embed_dims, self.num_heads, self.num_frames
        ln = dict(type="LN", eps=1e-6)
        drop = dict(type="DropPath", drop_prob=drop_prob)
        ffn_args = dict(embed_dims=dims, feedforward_channels=dims * 4, num_fcs=2, act_cfg=dict(type="GELU"),
                        dropout_layer=drop)
        if self.attention_type == "divided_space_time":
            attentions = [
                DividedTemporalAttentionWithNorm(dims, heads, frames, dropout_layer=drop, norm_cfg=ln),
                DividedSpatialAttentionWithNorm(dims, heads, frames, dropout_layer=drop, norm_cfg=ln),
            ]
            return BaseTransformerLayer(attentions, [FFNWithNorm(**ffn_args, norm_cfg=ln)],
                                        ("self_attn", "self_attn", "ffn"))
        return BaseTransformerLayer([MultiheadAttention(dims, heads, dropout_layer=drop)], [FFN(**ffn_args)],
                                    ("norm", "self_attn", "norm", "ffn"), norm_cfg=ln)

    def init_weights(self) -> None:
        """Truncated-normal (std 0.02) ``pos_embed`` and ``cls_token``, then ``pretrained`` if set.

        A ViT checkpoint (one attention per layer, ``norms.0`` / ``norms.1``) is adapted for divided
        attention as mmaction2 does: ``norms.0`` becomes ``attentions.0.norm``, ``norms.1`` becomes
        ``ffns.0.norm``, and ``attentions.0.*`` is copied to ``attentions.1.*``. Keys that do not fit
        are logged and skipped.
        """
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        if self.pretrained is None:
            return
        if not isinstance(self.pretrained, str):
            raise ConfigError(f"TimeSformer pretrained must be a local path or None, got {self.pretrained!r}")
        state_dict = read_state_dict(self.pretrained)
        if any(k.startswith("backbone.") for k in state_dict):
            state_dict = {k[len("backbone."):]: v for k, v in state_dict.items() if k.startswith("backbone.")}
        if self.attention_type == "divided_space_time":
            state_dict = vit_to_divided(state_dict)
        result = self.load_state_dict(state_dict, strict=False)
        if result.missing_keys:
            logger.warning("TimeSformer: keys missing from %s: %s", self.pretrained, result.missing_keys)
        if result.unexpected_keys:
            logger.warning("TimeSformer: unused keys of %s: %s", self.pretrained, result.unexpected_keys)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_channels, num_frames, H, W]`` at ``img_size`` → class token ``[N, embed_dims]``."""
        img_h, img_w = self.patch_embed.img_size
        if x.dim() != 5 or x.shape[1] != self.in_channels or x.shape[2] != self.num_frames \
                or tuple(x.shape[3:]) != (img_h, img_w):
            raise ShapeError(f"TimeSformer expects input [N, {self.in_channels}, {self.num_frames}, {img_h}, "
                             f"{img_w}] (num_frames and img_size of its config), got {tuple(x.shape)}")
        batch, frames = x.shape[0], self.num_frames
        x = self.patch_embed(x)  # [B*T, P, E]
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = self.drop_after_pos(x + self.pos_embed)
        patches, dims = x.shape[1] - 1, x.shape[2]
        if self.attention_type != "space_only":
            # mmaction2 takes the class token of the first `batch` rows; all rows hold the same
            # value (cls_token + pos_embed[0]) before dropout.
            cls_tokens = x[:batch, :1]
            tokens = x[:, 1:].reshape(batch, frames, patches, dims).transpose(1, 2).reshape(batch * patches, frames, dims)
            tokens = self.drop_after_time(tokens + self.time_embed)
            x = torch.cat((cls_tokens, tokens.reshape(batch, patches * frames, dims)), dim=1)
        x = self.transformer_layers(x)
        if self.attention_type == "space_only":
            x = x.view(batch, frames, patches + 1, dims).mean(dim=1)
        return self.norm(x)[:, 0]


def vit_to_divided(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Adapt ViT-layout keys to divided space-time attention (see :meth:`TimeSformer.init_weights`)."""
    renamed = {}
    for key, value in state_dict.items():
        if "norms" in key:
            key = key.replace("norms.0", "attentions.0.norm").replace("norms.1", "ffns.0.norm")
        renamed[key] = value
    for key in list(renamed):
        if "attentions.0" in key:
            renamed[key.replace("attentions.0", "attentions.1")] = renamed[key].clone()
    return renamed

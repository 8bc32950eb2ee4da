"""The mmcv 1.x transformer bricks TimeSformer is built from, with their submodule names.

mmaction2 0.24 builds TimeSformer from mmcv's ``BaseTransformerLayer`` / ``TransformerLayerSequence``,
``MultiheadAttention`` and ``FFN``, plus its own ``DividedTemporalAttentionWithNorm``,
``DividedSpatialAttentionWithNorm`` and ``FFNWithNorm``. These classes keep every submodule name
(``layers.{i}.attentions.{j}.attn.in_proj_weight``, ``ffns.0.layers.0.0.weight``, ``norms.0`` ...), so
an mmaction2 state dict loads by prefix alone. Attention runs through
``torch.nn.functional.scaled_dot_product_attention``; the projections keep ``torch.nn.MultiheadAttention``'s
parameter layout (packed ``in_proj_weight`` of ``[3 * E, E]``, ``out_proj``).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import nn

from ...errors import ConfigError
from ...layers.conv import build_activation_layer, build_norm_layer
from ...layers.init import constant_init


class DropPath(nn.Module):
    """Stochastic depth (mmcv ``DropPath``): while training, zero a whole sample's residual branch
    with probability ``drop_prob`` (default 0.1) and scale the kept ones by ``1 / (1 - drop_prob)``."""

    def __init__(self, drop_prob: float = 0.1):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x / keep * mask


def build_dropout(cfg: Optional[Dict]) -> nn.Module:
    """``DropPath`` or ``Dropout`` from an mmcv ``dropout_layer`` dict; ``None`` gives ``nn.Identity``."""
    if not cfg:
        return nn.Identity()
    kind = cfg.get("type")
    prob = float(cfg.get("drop_prob", 0.0))
    if kind == "DropPath":
        return DropPath(prob)
    if kind == "Dropout":
        return nn.Dropout(prob)
    raise ConfigError(f"dropout_layer type {kind!r} is not supported; expected 'DropPath' or 'Dropout'")


class SelfAttention(nn.Module):
    """Multi-head self-attention with ``torch.nn.MultiheadAttention``'s parameters, batch first.

    ``softmax(q k^T / sqrt(d)) v`` per head through ``scaled_dot_product_attention``; equal to
    ``nn.MultiheadAttention(embed_dims, num_heads, attn_drop)(x, x, x)`` with the same weights.

    Args:
        embed_dims: Token width ``E``.
        num_heads: Heads; ``E`` must be divisible by it.
        attn_drop: Dropout on the attention weights while training. Default 0.0.
    """

    def __init__(self, embed_dims: int, num_heads: int, attn_drop: float = 0.0):
        super().__init__()
        if embed_dims % num_heads:
            raise ConfigError(f"embed_dims={embed_dims} must be divisible by num_heads={num_heads}")
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dims, embed_dims))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dims))
        self.out_proj = nn.Linear(embed_dims, embed_dims)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.MultiheadAttention``'s init: Xavier-uniform ``in_proj_weight``, zero biases."""
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[B, L, E]`` → ``[B, L, E]``."""
        batch, length, dims = x.shape
        heads = self.num_heads
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv.view(batch, length, 3, heads, dims // heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2],
                                             dropout_p=self.attn_drop if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, dims))


def _layer_norm(norm_cfg: Dict, embed_dims: int) -> nn.Module:
    if norm_cfg.get("type") != "LN":
        raise ConfigError(f"TimeSformer norms must be LayerNorms (type 'LN'), got {norm_cfg!r}")
    return build_norm_layer(norm_cfg, embed_dims)[1]


class MultiheadAttention(nn.Module):
    """mmcv ``MultiheadAttention``: ``identity + dropout_layer(proj_drop(attn(x)))``.

    Args:
        embed_dims, num_heads: Token width and heads.
        attn_drop: Attention-weight dropout. Default 0.0.
        proj_drop: Dropout after the output projection. Default 0.0.
        dropout_layer: Dropout of the residual branch. Default ``dict(type="Dropout", drop_prob=0.0)``.
    """

    def __init__(self, embed_dims: int, num_heads: int, attn_drop: float = 0.0, proj_drop: float = 0.0,
                 dropout_layer: Optional[Dict] = dict(type="Dropout", drop_prob=0.0)):
        super().__init__()
        self.embed_dims = embed_dims
        self.attn = SelfAttention(embed_dims, num_heads, attn_drop)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dropout_layer = build_dropout(dropout_layer)

    def forward(self, query: torch.Tensor, identity: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``query`` ``[B, L, E]``; ``identity`` (default ``query``) is added to the result."""
        identity = query if identity is None else identity
        return identity + self.dropout_layer(self.proj_drop(self.attn(query)))


class DividedTemporalAttentionWithNorm(nn.Module):
    """mmaction2 ``DividedTemporalAttentionWithNorm``: each patch attends over its ``num_frames`` times.

    The input is ``[B, 1 + P * T, E]`` (class token, then tokens in patch-major, time-minor order).
    The class token passes unchanged; the patch tokens get ``temporal_fc(attn(norm(x)))`` added.

    Args:
        embed_dims, num_heads, num_frames: Token width, heads and frames ``T``.
        attn_drop, proj_drop: Dropouts. Default 0.0.
        dropout_layer: Default ``dict(type="DropPath", drop_prob=0.1)``.
        norm_cfg: Default ``dict(type="LN")``.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_frames: int, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, dropout_layer: Optional[Dict] = dict(type="DropPath", drop_prob=0.1),
                 norm_cfg: Dict = dict(type="LN")):
        super().__init__()
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.num_frames = num_frames
        self.norm = _layer_norm(norm_cfg, embed_dims)
        self.attn = SelfAttention(embed_dims, num_heads, attn_drop)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dropout_layer = build_dropout(dropout_layer)
        self.temporal_fc = nn.Linear(embed_dims, embed_dims)
        self.init_weights()

    def init_weights(self) -> None:
        """Zero ``temporal_fc`` (weight and bias), so a new block starts as the identity."""
        constant_init(self.temporal_fc, val=0, bias=0)

    def forward(self, query: torch.Tensor) -> torch.Tensor:
        cls_token, tokens = query[:, :1], query[:, 1:]
        batch, pt, dims = tokens.shape
        frames = self.num_frames
        patches = pt // frames
        res = self.attn(self.norm(tokens.reshape(batch * patches, frames, dims)))
        res = self.temporal_fc(self.dropout_layer(self.proj_drop(res)))
        return torch.cat((cls_token, tokens + res.reshape(batch, pt, dims)), dim=1)


class DividedSpatialAttentionWithNorm(nn.Module):
    """mmaction2 ``DividedSpatialAttentionWithNorm``: the patches of each frame attend to each other.

    Each frame's ``P`` tokens plus a copy of the class token form a sequence; the class token's
    outputs are averaged over the frames. Residual: ``query + result``.

    Args: as :class:`DividedTemporalAttentionWithNorm` (no ``temporal_fc``).
    """

    def __init__(self, embed_dims: int, num_heads: int, num_frames: int, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, dropout_layer: Optional[Dict] = dict(type="DropPath", drop_prob=0.1),
                 norm_cfg: Dict = dict(type="LN")):
        super().__init__()
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.num_frames = num_frames
        self.norm = _layer_norm(norm_cfg, embed_dims)
        self.attn = SelfAttention(embed_dims, num_heads, attn_drop)
        self.proj_drop = nn.Dropout(proj_drop)
        self.dropout_layer = build_dropout(dropout_layer)

    def forward(self, query: torch.Tensor) -> torch.Tensor:
        cls_token, tokens = query[:, :1], query[:, 1:]
        batch, pt, dims = tokens.shape
        frames = self.num_frames
        patches = pt // frames
        # (b, p*t, m) -> (b*t, p, m): one sequence per frame, led by the class token
        per_frame = tokens.reshape(batch, patches, frames, dims).transpose(1, 2).reshape(batch * frames, patches, dims)
        cls_rep = cls_token.expand(batch, frames, dims).reshape(batch * frames, 1, dims)
        res = self.attn(self.norm(torch.cat((cls_rep, per_frame), dim=1)))
        res = self.dropout_layer(self.proj_drop(res))
        cls_out = res[:, 0].reshape(batch, frames, dims).mean(dim=1, keepdim=True)
        res = res[:, 1:].reshape(batch, frames, patches, dims).transpose(1, 2).reshape(batch, pt, dims)
        return query + torch.cat((cls_out, res), dim=1)


class FFN(nn.Module):
    """mmcv ``FFN``: ``identity + dropout_layer(fc_n(... act(fc_1(x)) ...))`` with ``num_fcs`` layers.

    ``layers`` is ``Sequential(Sequential(Linear, act, Dropout) * (num_fcs - 1), Linear, Dropout)``.

    Args:
        embed_dims: Token width. Default 256.
        feedforward_channels: Hidden width. Default 1024.
        num_fcs: Linear layers, at least 2. Default 2.
        act_cfg: Default ``dict(type="ReLU", inplace=True)``.
        ffn_drop: Dropout after each layer. Default 0.0.
        dropout_layer: Dropout of the residual branch. Default ``None``.
        add_identity: Add the residual. Default ``True``.
    """

    def __init__(self, embed_dims: int = 256, feedforward_channels: int = 1024, num_fcs: int = 2,
                 act_cfg: Dict = dict(type="ReLU", inplace=True), ffn_drop: float = 0.0,
                 dropout_layer: Optional[Dict] = None, add_identity: bool = True):
        super().__init__()
        if num_fcs < 2:
            raise ConfigError(f"FFN num_fcs must be at least 2, got {num_fcs}")
        self.embed_dims = embed_dims
        self.feedforward_channels = feedforward_channels
        self.num_fcs = num_fcs
        layers: List[nn.Module] = []
        in_channels = embed_dims
        for _ in range(num_fcs - 1):
            layers.append(nn.Sequential(nn.Linear(in_channels, feedforward_channels), build_activation_layer(act_cfg),
                                        nn.Dropout(ffn_drop)))
            in_channels = feedforward_channels
        layers += [nn.Linear(feedforward_channels, embed_dims), nn.Dropout(ffn_drop)]
        self.layers = nn.Sequential(*layers)
        self.dropout_layer = build_dropout(dropout_layer)
        self.add_identity = add_identity

    def forward(self, x: torch.Tensor, identity: Optional[torch.Tensor] = None) -> torch.Tensor:
        out = self.dropout_layer(self.layers(x))
        if not self.add_identity:
            return out
        return (x if identity is None else identity) + out


class FFNWithNorm(FFN):
    """mmaction2 ``FFNWithNorm``: :class:`FFN` on ``norm(x)`` with ``x`` as the residual.

    Args: as :class:`FFN`, plus ``norm_cfg`` (default ``dict(type="LN")``).
    """

    def __init__(self, *args, norm_cfg: Dict = dict(type="LN"), **kwargs):
        super().__init__(*args, **kwargs)
        self.norm = _layer_norm(norm_cfg, self.embed_dims)

    def forward(self, x: torch.Tensor, identity: Optional[torch.Tensor] = None) -> torch.Tensor:
        return super().forward(self.norm(x), x)


class BaseTransformerLayer(nn.Module):
    """mmcv ``BaseTransformerLayer`` for self-attention: runs ``operation_order`` over its modules.

    ``"norm"`` applies the next of ``norms``, ``"self_attn"`` the next of ``attentions`` and ``"ffn"``
    the next of ``ffns``. When the order starts with ``"norm"`` (pre-norm), each attention and FFN
    adds the input of the norm before it as the residual, as mmcv does.

    Args:
        attentions: The attention modules, in order.
        ffns: The FFN modules, in order.
        operation_order: E.g. ``("norm", "self_attn", "norm", "ffn")``.
        norm_cfg: Norm of each ``"norm"`` step. Default ``dict(type="LN")``.
    """

    def __init__(self, attentions: Sequence[nn.Module], ffns: Sequence[nn.Module], operation_order: Sequence[str],
                 norm_cfg: Dict = dict(type="LN")):
        super().__init__()
        unknown = set(operation_order) - {"norm", "self_attn", "ffn"}
        if unknown:
            raise ConfigError(f"operation_order has unsupported steps {sorted(unknown)}")
        if operation_order.count("self_attn") != len(attentions) or operation_order.count("ffn") != len(ffns):
            raise ConfigError(f"operation_order {tuple(operation_order)} does not match {len(attentions)} "
                              f"attention(s) and {len(ffns)} FFN(s)")
        self.operation_order = tuple(operation_order)
        self.pre_norm = self.operation_order[0] == "norm"
        self.attentions = nn.ModuleList(attentions)
        embed_dims = attentions[0].embed_dims
        self.ffns = nn.ModuleList(ffns)
        self.norms = nn.ModuleList(_layer_norm(norm_cfg, embed_dims)
                                   for _ in range(self.operation_order.count("norm")))

    def forward(self, query: torch.Tensor) -> torch.Tensor:
        norm_index = attn_index = ffn_index = 0
        identity = query
        for step in self.operation_order:
            if step == "norm":
                query = self.norms[norm_index](query)
                norm_index += 1
            elif step == "self_attn":
                attn = self.attentions[attn_index]
                query = attn(query, identity) if self.pre_norm else attn(query)
                attn_index += 1
                identity = query
            else:
                ffn = self.ffns[ffn_index]
                query = ffn(query, identity if self.pre_norm else None)
                ffn_index += 1
        return query


class TransformerLayerSequence(nn.Module):
    """mmcv ``TransformerLayerSequence``: the layers applied in turn (``layers.{i}``).

    Args:
        layers: The transformer layers.
        with_cp: Gradient checkpointing of each layer (a videohub addition). Default ``False``.
    """

    def __init__(self, layers: Sequence[nn.Module], with_cp: bool = False):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.num_layers = len(self.layers)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            if self.with_cp and x.requires_grad:
                x = cp.checkpoint(layer, x, use_reentrant=False)
            else:
                x = layer(x)
        return x


"""Swin Transformer in timm 0.5's layout, without timm: the ``timm.swin_base_patch4_window7_224`` TSN backbone.

mmaction2 0.24 builds ``type="timm.swin_base_patch4_window7_224"`` with ``timm.create_model(...,
num_classes=0)`` and feeds its head ``backbone.forward_features(x)``. The zoo checkpoint was
trained in 2022 with timm 0.5.x, whose ``forward_features`` ends with the final LayerNorm and the
mean over tokens (``[N, C]``; mmaction2 reshapes it to ``[N, C, 1, 1]``, as this backbone returns).
The keys are timm 0.5's: ``patch_embed.proj.*``, ``patch_embed.norm.*``,
``layers.{i}.blocks.{j}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}.*``,
``layers.{i}.blocks.{j}.attn.relative_position_bias_table``, the persistent buffers
``layers.{i}.blocks.{j}.attn.relative_position_index`` and (shifted blocks)
``layers.{i}.blocks.{j}.attn_mask``, ``layers.{i}.downsample.{norm,reduction}.*`` (the patch merging
at the end of stages 0-2) and ``norm.*``. Paper: Liu et al., "Swin Transformer: Hierarchical Vision
Transformer using Shifted Windows" (https://arxiv.org/abs/2103.14030).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError, ShapeError
from ...layers.pretrained import read_state_dict
from ...registry import BACKBONES
from ...utils import logging
from ..timesformer.transformer import DropPath

logger = logging.get_logger(__name__)

MASKED = -100.0  # timm's additive attention mask between tokens of different shifted-window regions


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """``[B, H, W, C]`` → ``[B * (H/ws) * (W/ws), ws, ws, C]``: the windows of each image, row by row."""
    b, h, w, c = x.shape
    x = x.view(b, h // window_size, window_size, w // window_size, window_size, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size, window_size, c)


def window_reverse(windows: torch.Tensor, window_size: int, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``[B * nW, ws, ws, C]`` → ``[B, height, width, C]``."""
    c = windows.shape[-1]
    x = windows.view(-1, height // window_size, width // window_size, window_size, window_size, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, height, width, c)


def relative_position_index(window_size: int) -> torch.Tensor:
    """``[ws², ws²]`` index into the ``(2ws-1)²`` bias table: ``(dy + ws-1) * (2ws-1) + (dx + ws-1)``
    for tokens ``i``, ``j`` of a window, ``(dy, dx)`` = position of ``i`` minus position of ``j``."""
    ys, xs = torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")
    ys, xs = ys.flatten(), xs.flatten()
    dy = ys[:, None] - ys[None, :] + window_size - 1
    dx = xs[:, None] - xs[None, :] + window_size - 1
    return dy * (2 * window_size - 1) + dx


def shifted_window_mask(height: int, width: int, window_size: int, shift_size: int) -> torch.Tensor:
    """Additive mask ``[nW, ws², ws²]`` of the windows of a map rolled by ``-shift_size``: 0 between
    tokens of the same region of the unrolled map, :data:`MASKED` between tokens the roll brought together."""
    region = torch.zeros(1, height, width, 1)
    bounds = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    label = 0
    for rows in bounds:
        for cols in bounds:
            region[:, rows, cols, :] = label
            label += 1
    ids = window_partition(region, window_size).view(-1, window_size * window_size)
    same = ids[:, None, :] == ids[:, :, None]
    return torch.where(same, 0.0, MASKED)


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch_size`` patches → tokens ``[N, (H/p)*(W/p), embed_dim]``, then LayerNorm
    (timm ``PatchEmbed`` with ``norm_layer``; ``norm`` is the identity without ``patch_norm``)."""

    def __init__(self, img_size: int, patch_size: int, in_chans: int, embed_dim: int, patch_norm: bool = True):
        super().__init__()
        self.img_size = img_size
        self.grid_size = img_size // patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim) if patch_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, with a learned relative position bias
    (``scaled_dot_product_attention`` with the bias, plus the shift mask, as additive mask).

    Args:
        dim: Token channels.
        window_size: Window side ``ws``.
        num_heads: Attention heads.
        qkv_bias: Bias of the ``qkv`` projection. Default ``True``.
        attn_drop: Dropout of the attention weights while training. Default 0.
        proj_drop: Dropout after ``proj`` while training. Default 0.
    """

    def __init__(self, dim: int, window_size: int, num_heads: int, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0):
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"Swin: {dim} channels do not split into {num_heads} heads")
        self.num_heads = num_heads
        self.window_size = window_size
        self.attn_drop = attn_drop
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def position_bias(self) -> torch.Tensor:
        """``[heads, ws², ws²]`` bias of every query/key pair of a window."""
        tokens = self.window_size ** 2
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(tokens, tokens, self.num_heads).permute(2, 0, 1)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x``: ``[B * nW, ws², C]``; ``mask``: ``[nW, ws², ws²]`` or ``None``."""
        windows, tokens, channels = x.shape
        qkv = self.qkv(x).view(windows, tokens, 3, self.num_heads, channels // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # [B * nW, heads, ws², head_dim]
        bias = self.position_bias()  # [heads, ws², ws²]
        if mask is not None:  # windows of one image in a row: [B, nW, heads, ...] against [nW, heads, ...]
            per_image = mask.shape[0]
            q, k, v = (t.reshape(windows // per_image, per_image, *t.shape[1:]) for t in (q, k, v))
            bias = bias + mask.unsqueeze(1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype),
                                             dropout_p=self.attn_drop if self.training else 0.0)
        out = out.reshape(windows, self.num_heads, tokens, -1)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(windows, tokens, channels)))


class Mlp(nn.Module):
    """``fc1`` → GELU → dropout → ``fc2`` → dropout (timm ``Mlp``)."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class SwinTransformerBlock(nn.Module):
    """(Shifted-)window attention and an MLP, each pre-normed, residual and with stochastic depth.

    A map no larger than the window is attended whole and never shifted (timm's rule).

    Args:
        dim: Token channels.
        resolution: ``(H, W)`` of the token map.
        num_heads: Attention heads.
        window_size: Window side. Default 7.
        shift_size: Cyclic shift (0: regular windows). Default 0.
        mlp_ratio: MLP hidden width / ``dim``. Default 4.
        qkv_bias: Bias of ``qkv``. Default ``True``.
        drop: Dropout after ``proj`` and in the MLP. Default 0.
        attn_drop: Attention dropout. Default 0.
        drop_path: Stochastic depth of both branches. Default 0.
    """

    def __init__(self, dim: int, resolution: Tuple[int, int], num_heads: int, window_size: int = 7,
                 shift_size: int = 0, mlp_ratio: float = 4.0, qkv_bias: bool = True, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float = 0.0):
        super().__init__()
        self.resolution = resolution
        if min(resolution) <= window_size:
            window_size, shift_size = min(resolution), 0
        if resolution[0] % window_size or resolution[1] % window_size:
            raise ConfigError(f"Swin: a {resolution[0]}x{resolution[1]} token map does not split into "
                              f"{window_size}x{window_size} windows")
        self.window_size = window_size
        self.shift_size = shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        mask = shifted_window_mask(*resolution, window_size, shift_size) if shift_size else None
        self.register_buffer("attn_mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: tokens ``[B, H*W, C]`` in row-major order."""
        (h, w), ws, shift = self.resolution, self.window_size, self.shift_size
        b, _, c = x.shape
        y = self.norm1(x).view(b, h, w, c)
        if shift:
            y = torch.roll(y, shifts=(-shift, -shift), dims=(1, 2))
        y = self.attn(window_partition(y, ws).view(-1, ws * ws, c), self.attn_mask)
        y = window_reverse(y.view(-1, ws, ws, c), ws, h, w)
        if shift:
            y = torch.roll(y, shifts=(shift, shift), dims=(1, 2))
        x = x + self.drop_path(y.reshape(b, h * w, c))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """Each 2x2 group of tokens → one token: their channels concatenated (order ``(0,0), (1,0), (0,1),
    (1,1)`` as (row, col) offsets), LayerNorm, then a linear map ``4C → 2C`` without bias."""

    def __init__(self, resolution: Tuple[int, int], dim: int):
        super().__init__()
        self.resolution = resolution
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.resolution
        b, _, c = x.shape
        x = x.view(b, h, w, c)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x.view(b, -1, 4 * c)))


class SwinStage(nn.Module):
    """``depth`` blocks (every second one shifted by half a window), then the patch merging if any."""

    def __init__(self, dim: int, resolution: Tuple[int, int], depth: int, num_heads: int, window_size: int,
                 mlp_ratio: float, qkv_bias: bool, drop: float, attn_drop: float, drop_path: Sequence[float],
                 downsample: bool):
        super().__init__()
        self.blocks = nn.ModuleList([
            SwinTransformerBlock(dim, resolution, num_heads, window_size, 0 if i % 2 == 0 else window_size // 2,
                                 mlp_ratio, qkv_bias, drop, attn_drop, drop_path[i])
            for i in range(depth)])
        self.downsample = PatchMerging(resolution, dim) if downsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.downsample(x) if self.downsample is not None else x


@BACKBONES.register(name="timm.swin_tiny_patch4_window7_224")
class SwinTransformer(nn.Module):
    """Swin Transformer with timm 0.5's module names (type ``"timm.swin_tiny_patch4_window7_224"`` with the
    defaults); output: the final LayerNorm's tokens averaged, ``[N, num_features, 1, 1]``.

    Args:
        img_size: Input side (the token grids, windows and masks are built for it). Default 224.
        patch_size: Patch side. Default 4.
        in_chans: Input channels. Default 3.
        embed_dim: Channels of stage 0 (doubled at each stage). Default 96.
        depths: Blocks per stage. Default ``(2, 2, 6, 2)``.
        num_heads: Heads per stage. Default ``(3, 6, 12, 24)``.
        window_size: Window side. Default 7.
        mlp_ratio: MLP width / channels. Default 4.
        qkv_bias: Bias of the ``qkv`` projections. Default ``True``.
        drop_rate: Dropout after patch embedding, projections and MLPs. Default 0.
        attn_drop_rate: Attention dropout. Default 0.
        drop_path_rate: Stochastic depth of the last block (rising linearly from 0). Default 0.1.
        ape: Learned absolute position embedding ``absolute_pos_embed``. Default ``False``.
        patch_norm: LayerNorm after the patch embedding. Default ``True``.
        num_classes: timm's classifier ``head`` (0: none). mmaction2 sets 0 and so does this default; a
            head, if any, is not applied by :meth:`forward`. Default 0.
        pretrained: timm's ``pretrained``: ``None``/``False`` (default ``None``), or a local timm
            checkpoint loaded by :meth:`init_weights` (``head.*`` skipped). ``True`` (download ImageNet
            weights) cannot be honoured, videohub reads local files only: a warning is logged and
            the weights keep timm's random init.
    """

    def __init__(
        self,
        img_size: int = 224,
        patch_size: int = 4,
        in_chans: int = 3,
        embed_dim: int = 96,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window_size: int = 7,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        ape: bool = False,
        patch_norm: bool = True,
        num_classes: int = 0,
        pretrained: Optional[Union[bool, str]] = None,
    ):
        super().__init__()
        if len(depths) != len(num_heads) or not depths:
            raise ConfigError(f"Swin: depths {tuple(depths)} and num_heads {tuple(num_heads)} need one entry per stage")
        grid = img_size // patch_size
        if img_size % patch_size or grid % 2 ** (len(depths) - 1):
            raise ConfigError(f"Swin: img_size {img_size} must be a multiple of patch_size {patch_size} whose "
                              f"patch grid halves {len(depths) - 1} times")
        self.img_size, self.in_chans, self.pretrained = img_size, in_chans, pretrained
        self.num_features = self.feat_dim = embed_dim * 2 ** (len(depths) - 1)
        self.patch_embed = PatchEmbed(img_size, patch_size, in_chans, embed_dim, patch_norm)
        self.absolute_pos_embed = nn.Parameter(torch.zeros(1, grid * grid, embed_dim)) if ape else None
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()
        stages = []
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            side = grid // 2 ** i
            stages.append(SwinStage(embed_dim * 2 ** i, (side, side), depth, heads, window_size, mlp_ratio, qkv_bias,
                                    drop_rate, attn_drop_rate, rates[sum(depths[:i]):sum(depths[:i + 1])],
                                    downsample=i < len(depths) - 1))
        self.layers = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(self.num_features)
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else None

    def init_weights(self) -> None:
        """timm's init (truncated-normal linears with std 0.02 and zero biases, unit LayerNorms, zero head,
        bias tables and position embedding truncated-normal with std 0.02), then ``pretrained`` if a path."""
        for name, m in self.named_modules():
            if isinstance(m, nn.Linear):
                if name == "head":
                    nn.init.zeros_(m.weight)
                else:
                    nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, WindowAttention):
                nn.init.trunc_normal_(m.relative_position_bias_table, std=0.02)
        if self.absolute_pos_embed is not None:
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)
        if self.pretrained is True:
            logger.warning("%s: pretrained=True asks for timm's ImageNet weights, which videohub does not download; "
                           "the backbone keeps a random init. Pass pretrained='<local timm checkpoint>' to start "
                           "from them.", type(self).__name__)
        elif isinstance(self.pretrained, str):
            self.load_timm(self.pretrained)
        elif self.pretrained not in (False, None):
            raise ConfigError(f"Swin pretrained must be a bool, a local path or None, got {self.pretrained!r}")

    def load_timm(self, path: str) -> None:
        """Load a timm 0.5 Swin state dict (``head.*`` is skipped unless this backbone has a head)."""
        state_dict = {k: v for k, v in read_state_dict(path).items() if self.head is not None or not k.startswith("head.")}
        result = self.load_state_dict(state_dict, strict=False)
        if result.missing_keys:
            logger.warning("%s: keys missing from %s: %s", type(self).__name__, path, result.missing_keys)
        if result.unexpected_keys:
            logger.warning("%s: unused keys of %s: %s", type(self).__name__, path, result.unexpected_keys)

    def forward_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``[N, in_chans, img_size, img_size]`` → final normalized tokens ``[N, L, num_features]``."""
        if x.dim() != 4 or x.shape[1] != self.in_chans or x.shape[2:] != (self.img_size, self.img_size):
            raise ShapeError(f"{type(self).__name__} expects input [N, {self.in_chans}, {self.img_size}, "
                             f"{self.img_size}], got {tuple(x.shape)}")
        x = self.patch_embed(x)
        if self.absolute_pos_embed is not None:
            x = x + self.absolute_pos_embed
        return self.norm(self.layers(self.pos_drop(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """timm 0.5's ``forward_features`` (tokens averaged), shaped ``[N, num_features, 1, 1]`` as mmaction2 does."""
        return self.forward_tokens(x).mean(dim=1)[:, :, None, None]


@BACKBONES.register(name="timm.swin_small_patch4_window7_224")
class SwinSmall(SwinTransformer):
    """timm's ``swin_small_patch4_window7_224``: embed 96, depths ``(2, 2, 18, 2)``, heads ``(3, 6, 12, 24)``.

    Args:
        **kwargs: Further :class:`SwinTransformer` arguments (``pretrained``, ``drop_path_rate``, ...).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("depths", (2, 2, 18, 2))
        super().__init__(**kwargs)


@BACKBONES.register(name="timm.swin_base_patch4_window7_224")
class SwinBase(SwinTransformer):
    """timm's ``swin_base_patch4_window7_224`` (the TSN zoo's Swin): embed 128, depths ``(2, 2, 18, 2)``,
    heads ``(4, 8, 16, 32)``, 1024 output channels.

    Args:
        **kwargs: Further :class:`SwinTransformer` arguments (``pretrained``, ``drop_path_rate``, ...).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("embed_dim", 128)
        kwargs.setdefault("depths", (2, 2, 18, 2))
        kwargs.setdefault("num_heads", (4, 8, 16, 32))
        super().__init__(**kwargs)


@BACKBONES.register(name="timm.swin_large_patch4_window7_224")
class SwinLarge(SwinTransformer):
    """timm's ``swin_large_patch4_window7_224``: embed 192, depths ``(2, 2, 18, 2)``, heads ``(6, 12, 24, 48)``.

    Args:
        **kwargs: Further :class:`SwinTransformer` arguments (``pretrained``, ``drop_path_rate``, ...).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("embed_dim", 192)
        kwargs.setdefault("depths", (2, 2, 18, 2))
        kwargs.setdefault("num_heads", (6, 12, 24, 48))
        super().__init__(**kwargs)

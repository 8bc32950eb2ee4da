"""The Swin TSN backbone (timm 0.5 layout): windows, shift masks, position bias, a block against loops, sizes.

Parity with the real timm 0.5.4 is checked by scripts/check_swin_against_timm.py (timm is no dependency).
"""

from __future__ import annotations

import math

import pytest
import torch

import videohub
from videohub.errors import ConfigError, ShapeError
from videohub.models.tsn.swin import (
    MASKED, SwinTransformerBlock, relative_position_index, shifted_window_mask, window_partition, window_reverse,
)
from videohub.registry import BACKBONES

TINY = dict(type="timm.swin_tiny_patch4_window7_224", embed_dim=8, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4))


def test_window_partition_matches_slicing_and_reverses():
    x = torch.randn(2, 6, 9, 5)
    windows = window_partition(x, 3)
    assert windows.shape == (2 * 2 * 3, 3, 3, 5)
    index = 0
    for b in range(2):
        for i in range(2):
            for j in range(3):  # row by row
                torch.testing.assert_close(windows[index], x[b, 3 * i:3 * i + 3, 3 * j:3 * j + 3], rtol=0, atol=0)
                index += 1
    torch.testing.assert_close(window_reverse(windows, 3, 6, 9), x, rtol=0, atol=0)


def test_relative_position_index_by_hand():
    # tokens (0,0), (0,1), (1,0), (1,1); entry (dy + 1) * 3 + (dx + 1) for dy, dx = position i - position j
    assert relative_position_index(2).tolist() == [[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]
    index = relative_position_index(7)
    assert index.shape == (49, 49) and int(index.min()) == 0 and int(index.max()) == 13 * 13 - 1
    assert bool((index.diagonal() == 6 * 13 + 6).all())


@pytest.mark.parametrize("size,window,shift", [(8, 4, 2), (14, 7, 3), (6, 3, 1)])
def test_shift_mask_allows_only_tokens_that_were_neighbours(size, window, shift):
    """After rolling by -shift, a window may mix wrapped-around tokens with the others: those pairs are masked."""
    mask = shifted_window_mask(size, size, window, shift)
    assert mask.shape == ((size // window) ** 2, window * window, window * window)
    expected = torch.zeros_like(mask)
    for w in range((size // window) ** 2):
        top, left = (w // (size // window)) * window, (w % (size // window)) * window
        cells = [(top + r, left + c) for r in range(window) for c in range(window)]
        for a, (ya, xa) in enumerate(cells):
            for b, (yb, xb) in enumerate(cells):
                # rolled position p holds the original token (p + shift) mod size: wrapped iff p >= size - shift
                same = (ya >= size - shift) == (yb >= size - shift) and (xa >= size - shift) == (xb >= size - shift)
                expected[w, a, b] = 0.0 if same else MASKED
    torch.testing.assert_close(mask, expected, rtol=0, atol=0)
    assert bool((mask[0] == 0).all())  # a window away from the wrapped border is not masked


def _naive_block(block: SwinTransformerBlock, x: torch.Tensor) -> torch.Tensor:
    """The block computed token by token on the original grid: each token attends to the tokens of its shifted
    window that were its neighbours before the roll, with the bias of their offset."""
    (h, w), ws, shift = block.resolution, block.window_size, block.shift_size
    attn = block.attn
    heads, dim = attn.num_heads, x.shape[-1]
    head_dim = dim // heads
    y = block.norm1(x[0])  # [h*w, C]
    q, k, v = attn.qkv(y).view(h * w, 3, heads, head_dim).unbind(1)
    out = torch.zeros(h * w, heads, head_dim)
    rolled = [((t // w - shift) % h, (t % w - shift) % w) for t in range(h * w)]  # position after the roll
    for i in range(h * w):
        yi, xi = rolled[i]
        keys = [j for j in range(h * w) if rolled[j][0] // ws == yi // ws and rolled[j][1] // ws == xi // ws
                and (rolled[j][0] >= h - shift) == (yi >= h - shift) and (rolled[j][1] >= w - shift) == (xi >= w - shift)]
        for hd in range(heads):
            logits = torch.stack([
                q[i, hd] @ k[j, hd] / math.sqrt(head_dim)
                + attn.relative_position_bias_table[(yi - rolled[j][0] + ws - 1) * (2 * ws - 1)
                                                    + (xi - rolled[j][1] + ws - 1), hd] for j in keys])
            out[i, hd] = (torch.softmax(logits, 0)[:, None] * torch.stack([v[j, hd] for j in keys])).sum(0)
    x1 = x[0] + attn.proj(out.reshape(h * w, dim))
    return (x1 + block.mlp(block.norm2(x1)))[None]


@pytest.mark.parametrize("shift", [0, 2])
def test_block_equals_a_token_by_token_computation(shift):
    torch.manual_seed(0)
    block = SwinTransformerBlock(8, (8, 8), num_heads=2, window_size=4, shift_size=shift).eval()
    with torch.no_grad():
        for p in block.parameters():
            p.normal_(0, 0.5)
        x = torch.randn(1, 64, 8)
        torch.testing.assert_close(block(x), _naive_block(block, x), rtol=1e-4, atol=1e-5)


def test_small_maps_are_attended_whole_and_unshifted():
    block = SwinTransformerBlock(8, (7, 7), num_heads=2, window_size=7, shift_size=3)
    assert (block.window_size, block.shift_size, block.attn_mask) == (7, 0, None)


def test_swin_base_sizes_and_keys():
    base = BACKBONES.build(dict(type="timm.swin_base_patch4_window7_224", num_classes=1000))
    assert sum(p.numel() for p in base.parameters()) == 87_768_224  # timm 0.5.4's swin_base_patch4_window7_224
    trunk = BACKBONES.build(dict(type="timm.swin_base_patch4_window7_224"))
    assert sum(p.numel() for p in trunk.parameters()) == 87_768_224 - (1024 * 1000 + 1000)
    keys = trunk.state_dict()
    assert keys["layers.2.blocks.17.attn_mask"].shape == (4, 49, 49)  # 14x14 tokens: 4 windows
    assert "layers.3.blocks.1.attn_mask" not in keys  # 7x7 tokens: one window, no shift
    assert keys["layers.0.blocks.0.attn.relative_position_bias_table"].shape == (169, 4)
    assert keys["layers.2.downsample.reduction.weight"].shape == (1024, 2048)
    assert "layers.3.downsample.norm.weight" not in keys and keys["norm.weight"].shape == (1024,)
    assert keys["patch_embed.proj.weight"].shape == (128, 3, 4, 4)


def test_tsn_with_swin_from_an_mmaction2_model_dict():
    """The zoo config's model converts to a TSN whose backbone is the Swin; a 3-segment clip gives [B, classes]."""
    from videohub.conversion.mmaction2 import config_from_mmaction2

    model_cfg = dict(type="Recognizer2D", backbone=dict(type="timm.swin_base_patch4_window7_224", pretrained=True),
                     cls_head=dict(type="TSNHead", num_classes=400, in_channels=1024, spatial_type="avg",
                                   consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.4, init_std=0.01),
                     train_cfg=None, test_cfg=dict(average_clips=None))
    config = config_from_mmaction2(model_cfg, None, None)
    assert config.model_type == "videohub-tsn"
    assert config.backbone["type"] == "timm.swin_base_patch4_window7_224"
    tiny = videohub.AutoVideoConfig.for_model_type("videohub-tsn", backbone=TINY,
                                                   cls_head=dict(config.cls_head, num_classes=5, in_channels=64))
    model = videohub.AutoVideoModel.from_config(tiny).eval()
    with torch.no_grad():
        assert model(pixel_values=torch.randn(2, 3, 3, 224, 224)).logits.shape == (2, 5)
    features = model.base_model.backbone if hasattr(model, "base_model") else None
    assert features is not None and features.feat_dim == 64


def test_bad_input_and_config_are_clear_errors():
    tiny = BACKBONES.build(TINY)
    with pytest.raises(ShapeError, match=r"\[N, 3, 224, 224\]"):
        tiny(torch.randn(1, 3, 112, 112))
    with pytest.raises(ConfigError, match="one entry per stage"):
        BACKBONES.build(dict(TINY, num_heads=(1, 2)))
    with pytest.raises(ConfigError, match="do not split into"):
        BACKBONES.build(dict(TINY, embed_dim=9, num_heads=(2, 2, 2, 4)))
    with pytest.raises(ConfigError, match="patch grid"):
        BACKBONES.build(dict(TINY, img_size=100))

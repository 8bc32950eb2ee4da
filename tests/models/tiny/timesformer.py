"""Tiny TimeSformer for the common model tests: divided space-time attention, width 32, 2 heads, 2 layers,
4 frames of 32x32 in 16x16 patches."""

CONFIG = dict(
    backbone=dict(type="TimeSformer", num_frames=4, img_size=32, patch_size=16, embed_dims=32, num_heads=2,
                  num_transformer_layers=2),
    num_labels=5,
)
INPUT_SHAPE = (2, 4, 3, 32, 32)

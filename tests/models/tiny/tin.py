"""Tiny TIN (ResNetTIN-18, 4 segments) for the common model tests.

``average_clips="prob"`` replaces TIN's default ``None``: with ``None`` mmaction2 returns one score
row per view, which the common multi-view shape check does not expect.
"""

CONFIG = dict(
    backbone=dict(type="ResNetTIN", depth=18, num_segments=4, shift_div=4, norm_eval=False),
    cls_head=dict(type="TSMHead", in_channels=512, num_segments=4, dropout_ratio=0.0, is_shift=False),
    average_clips="prob",
    num_labels=5,
)
INPUT_SHAPE = (2, 4, 3, 32, 32)

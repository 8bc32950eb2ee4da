"""Tiny TRN (ResNet-18 + single-scale ``TRN`` relation head, 3 segments) for the common model tests.

The common tests compare two forwards of the same model bit for bit; ``TRNMultiScale`` draws its
frame subsets from numpy's global RNG on every forward (as mmaction2), so the single-scale
relation is used here. ``TRNMultiScale`` is checked in ``tests/layers/test_trn.py`` (numpy RNG
replay, golden parity, and through ``TRNForVideoClassification``).
"""

CONFIG = dict(
    backbone=dict(type="ResNet", depth=18, norm_eval=False, partial_bn=True),
    cls_head=dict(type="TRNHead", in_channels=512, num_segments=3, relation_type="TRN", hidden_dim=16,
                  dropout_ratio=0.0),
    num_labels=5,
)
INPUT_SHAPE = (2, 3, 3, 32, 32)

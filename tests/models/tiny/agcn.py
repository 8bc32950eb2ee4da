"""Tiny 2s-AGCN for the common model tests: NTU graph (25 joints), agcn strategy, 1 person, 8 frames."""

CONFIG = dict(
    backbone=dict(type="AGCN", in_channels=3, graph_cfg=dict(layout="ntu-rgb+d", strategy="agcn")),
    cls_head=dict(type="STGCNHead", in_channels=256, num_person=1),
    num_labels=5,
)
INPUT_SHAPE = (2, 3, 8, 25, 1)

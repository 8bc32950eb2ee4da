"""Tiny ST-GCN for the common model tests: COCO graph (17 joints), spatial strategy, 2 persons, 8 frames."""

CONFIG = dict(
    backbone=dict(type="STGCN", in_channels=3, graph_cfg=dict(layout="coco", strategy="spatial")),
    cls_head=dict(type="STGCNHead", in_channels=256, num_person=2),
    num_labels=5,
)
INPUT_SHAPE = (2, 3, 8, 17, 2)

"""ST-GCN / 2s-AGCN parts: the skeleton graphs, the keypoint layout, the head and the input checks."""

import numpy as np
import pytest
import torch

import videohub
from videohub.errors import ConfigError, ShapeError
from videohub.models.stgcn.graph import LAYOUTS, Graph, hop_distance, normalize_digraph
from videohub.models.stgcn.stgcn import normalize_keypoints
from videohub.models.stgcn.stgcn_head import STGCNHead


def test_hop_distance_and_column_normalization_by_hand():
    # a path 0 - 1 - 2 with self links
    edges = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2)]
    hops = hop_distance(3, edges, max_hop=2)
    np.testing.assert_array_equal(hops, [[0, 1, 2], [1, 0, 1], [2, 1, 0]])
    assert np.isinf(hop_distance(3, edges, max_hop=1)[0, 2])
    adjacency = np.array([[1.0, 1, 0], [1, 1, 1], [0, 1, 1]])
    np.testing.assert_allclose(normalize_digraph(adjacency), [[0.5, 1 / 3, 0], [0.5, 1 / 3, 0.5], [0, 1 / 3, 0.5]])


def test_coco_uniform_and_spatial_partition_by_hand():
    uniform = Graph("coco", "uniform").A
    assert uniform.shape == (1, 17, 17)
    # nose (0) links to both eyes (1, 2): column 0 spreads 1/3 over joints 0, 1, 2
    np.testing.assert_allclose(uniform[0][:, 0], [1 / 3, 1 / 3, 1 / 3] + [0] * 14)
    np.testing.assert_allclose(uniform[0].sum(0), np.ones(17))
    spatial = Graph("coco", "spatial").A
    assert spatial.shape == (3, 17, 17)
    # left eye (1) has degree 4 (itself, nose 0, right eye 2, left ear 3); the center is the nose:
    # root subsets hold itself (hop 0) and the right eye (same distance), the ear is farther from
    # the center than the eye (subset 1 too, "root + close"), the nose nearer (subset 2).
    column = spatial[:, :, 1]
    assert {(k, j) for k, j in zip(*np.nonzero(column))} == {(0, 1), (1, 2), (1, 3), (2, 0)}
    np.testing.assert_allclose(column[column != 0], 0.25)


def test_agcn_strategy_is_self_inward_outward():
    graph = Graph("ntu-rgb+d", "agcn")
    identity, inward, outward = graph.A
    np.testing.assert_array_equal(identity, np.eye(25))
    # 0-based bones (child, parent): (0, 1), (12, 0), (16, 0), ... Inward column i: joint i sends to its
    # parent alone (weight 1); outward column 0: the spine base sends to its two children (hips) by halves.
    assert inward[1, 0] == 1.0 and inward[:, 0].sum() == 1.0
    assert outward[12, 0] == outward[16, 0] == 0.5 and outward[:, 0].sum() == 1.0
    assert outward[0, 1] == 1.0
    np.testing.assert_allclose(outward.sum(0)[outward.sum(0) > 0], 1.0)
    assert np.array_equal(inward.T != 0, outward != 0)


def test_every_layout_and_strategy_builds_with_the_right_size():
    for layout, (joints, _, _) in LAYOUTS.items():
        for strategy, subsets in (("uniform", 1), ("distance", 2), ("spatial", 3)):
            assert Graph(layout, strategy).A.shape == (subsets, joints, joints)
    assert Graph("openpose-25", "agcn").A.shape == (3, 25, 25)
    assert Graph("coco", "distance", max_hop=2).A.shape == (3, 17, 17)


@pytest.mark.parametrize("kwargs, message", [
    (dict(layout="h36m"), "layout 'h36m' is not one of"),
    (dict(strategy="star"), "strategy 'star' is not one of"),
    (dict(layout="coco", strategy="agcn"), "needs layout openpose-25 or ntu-rgb\\+d"),
])
def test_bad_graphs_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Graph(**kwargs)


def test_keypoint_layout_folds_persons_into_the_batch():
    x = torch.arange(2 * 3 * 4 * 5 * 2, dtype=torch.float32).reshape(2, 3, 4, 5, 2)  # N, C, T, V, M
    out = normalize_keypoints(None, x)
    assert out.shape == (4, 3, 4, 5)
    for n, c, t, v, m in [(0, 0, 0, 0, 1), (1, 2, 3, 4, 0), (1, 1, 2, 3, 1)]:
        assert out[n * 2 + m, c, t, v] == x[n, c, t, v, m]
    bn = torch.nn.BatchNorm1d(15).eval()
    bn.running_mean.copy_(torch.arange(15.0))  # channel v * C + c
    shifted = normalize_keypoints(bn, x)
    torch.testing.assert_close(shifted[1, 2, 0, 4], (x[0, 2, 0, 4, 1] - (4 * 3 + 2)) / (1 + bn.eps) ** 0.5)


def test_head_averages_persons_then_classifies():
    head = STGCNHead(num_classes=2, in_channels=3, num_person=2).eval()
    with torch.no_grad():
        head.fc.weight.copy_(torch.tensor([[1.0, 0, 0], [0, 2, -1]]).view(2, 3, 1, 1))
        head.fc.bias.copy_(torch.tensor([0.5, 0.0]))
    feat = torch.zeros(2, 3, 2, 2)  # one sample, two persons
    feat[0, 0] = 4.0  # person 0: channel 0 mean 4
    feat[1, 1, 0, 0] = 8.0  # person 1: channel 1 mean 2
    feat[1, 2] = 1.0
    # persons' means: channel 0: 2, channel 1: 1, channel 2: 0.5 -> [2 + 0.5, 2 - 0.5]
    torch.testing.assert_close(head(feat), torch.tensor([[2.5, 1.5]]))
    with pytest.raises(ShapeError, match=r"\[N\*2, 3, T, V\]"):
        head(torch.zeros(3, 3, 2, 2))


def test_wrong_joint_count_names_the_graph():
    config = videohub.STGCNConfig(num_labels=3)
    model = videohub.AutoVideoModel.from_config(config).eval()
    with pytest.raises(ShapeError, match=r"\(N, 3, T, 17, M\).*\(1, 3, 8, 25, 2\)"):
        model(keypoints=torch.zeros(1, 3, 8, 25, 2))


def test_defaults_are_the_zoo_models():
    stgcn, agcn = videohub.STGCNConfig(), videohub.AGCNConfig()
    assert stgcn.backbone["graph_cfg"] == {"layout": "coco", "strategy": "spatial"}
    assert agcn.backbone["graph_cfg"] == {"layout": "ntu-rgb+d", "strategy": "agcn"}
    assert stgcn.recognizer == agcn.recognizer == "SkeletonGCN"
    assert videohub.STGCNForVideoClassification.main_input_name == "keypoints"
    with pytest.raises(ConfigError, match="AGCN needs a graph of 3 subsets"):
        videohub.AutoVideoModel.from_config(videohub.AGCNConfig(backbone=dict(graph_cfg=dict(strategy="uniform"))))

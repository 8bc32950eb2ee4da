"""TRNHead: single and multi-scale relations, and the numpy global-RNG call sequence."""

import itertools

import numpy as np
import pytest
import torch

from videohub.errors import ConfigError, ShapeError
from videohub.models.trn.trn_head import RelationModule, RelationModuleMultiScale, TRNHead


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def expected_relations(num_segments, seed):
    """The draws mmaction2 makes after ``np.random.seed(seed)``, replayed independently."""
    np.random.seed(seed)
    out = [{"scale": num_segments, "relations": [list(range(num_segments))]}]
    for scale in range(num_segments - 1, 1, -1):
        combos = list(itertools.combinations(range(num_segments), scale))
        picks = np.random.choice(len(combos), min(3, len(combos)), replace=False)
        out.append({"scale": scale, "relations": [list(combos[i]) for i in picks]})
    return out


def mlp(seq, x):
    """ReLU → Linear → ReLU → Linear, written out."""
    h = torch.relu(x) @ seq[1].weight.T + seq[1].bias
    return torch.relu(h) @ seq[3].weight.T + seq[3].bias


@pytest.mark.parametrize("num_segments", [3, 5, 8])
def test_multiscale_rng_sequence_and_sum(num_segments):
    torch.manual_seed(0)
    module = RelationModuleMultiScale(4, num_segments, 6)
    x = randn(2, num_segments, 4)
    np.random.seed(0)
    out = module(x)
    after = np.random.random()
    relations = expected_relations(num_segments, 0)  # re-seeds and replays the draws
    assert module.last_sampled_relations == relations
    assert np.random.random() == after  # the head made exactly these numpy calls, no more
    expected = torch.zeros(2, 6)
    for scale_id, entry in enumerate(relations):
        for relation in entry["relations"]:
            expected = expected + mlp(module.fc_fusion_scales[scale_id], x[:, relation].reshape(2, -1))
    torch.testing.assert_close(out, expected)


def test_multiscale_layout():
    module = RelationModuleMultiScale(32, 8, 7)
    assert list(module.scales) == [8, 7, 6, 5, 4, 3, 2]
    assert module.subsample_scales == [1, 3, 3, 3, 3, 3, 3]
    assert module.fc_fusion_scales[0][1].weight.shape == (256, 8 * 32)
    assert module.fc_fusion_scales[6][3].weight.shape == (7, 256)


def test_relation_module_by_hand():
    torch.manual_seed(0)
    module = RelationModule(4, 3, 5)
    x = randn(2, 3, 4)
    assert module.classifier[1].weight.shape == (512, 12)
    torch.testing.assert_close(module(x), mlp(module.classifier, x.reshape(2, 12)))


@pytest.mark.parametrize("relation_type", ["TRN", "TRNMultiScale"])
@pytest.mark.parametrize("num_segments", [3, 6])
def test_trn_head_shapes_and_pipeline(relation_type, num_segments):
    torch.manual_seed(0)
    head = TRNHead(5, 16, num_segments=num_segments, relation_type=relation_type, hidden_dim=8,
                   dropout_ratio=0.0).eval()
    x = randn(2 * num_segments, 16, 3, 3)
    np.random.seed(1)
    out = head(x, num_segs=999)  # num_segs is ignored, as in mmaction2
    hidden = x.mean(dim=(2, 3)) @ head.fc_cls.weight.T + head.fc_cls.bias
    np.random.seed(1)
    expected = head.consensus(hidden.view(2, num_segments, 8))
    assert out.shape == (2, 5)
    torch.testing.assert_close(out, expected)


def test_trn_head_defaults_init_and_errors():
    torch.manual_seed(0)
    head = TRNHead(400, 2048)
    defaults = (head.num_segments, head.relation_type, head.hidden_dim, head.dropout_ratio)
    assert defaults == (8, "TRNMultiScale", 256, 0.8)
    assert head.fc_cls.weight.shape == (256, 2048) and head.fc_cls.bias.abs().sum() == 0
    assert 0.0005 < head.fc_cls.weight.std() < 0.002
    with pytest.raises(ConfigError, match="relation_type"):
        TRNHead(5, 16, relation_type="TRNPlus")
    with pytest.raises(ShapeError, match="num_segments=8"):
        TRNHead(5, 16, hidden_dim=4)(randn(6, 16, 1, 1), 6)


def test_golden_sampled_relations(golden):
    data = golden("trn_r18_multiscale")
    cfg = data["config"]["cls_head"]
    torch.manual_seed(0)
    head = TRNHead(**{k: v for k, v in cfg.items() if k != "type"}).eval()
    np.random.seed(0)
    with torch.no_grad():
        head(randn(2 * cfg["num_segments"], cfg["in_channels"], 1, 1), cfg["num_segments"])
    assert head.consensus.last_sampled_relations == data["extra"]["trn_sampled_relations"]
    assert expected_relations(cfg["num_segments"], 0) == data["extra"]["trn_sampled_relations"]

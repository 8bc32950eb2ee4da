"""TSM parameter groups checked group by group, the generic paramwise options, and CopyOfSGD."""

import pytest
import torch
from torch import nn

from videohub import TSNConfig, TSNForVideoClassification
from videohub.errors import ConfigError
from videohub.training import CopyOfSGD, TSMOptimizerConstructor, build_optimizer, param_groups, tsm_param_groups


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, bias=True)
        self.bn = nn.BatchNorm2d(4)
        self.body = nn.Conv2d(4, 4, 3, bias=False)
        self.frozen_bn = nn.BatchNorm2d(4)
        self.frozen_bn.weight.requires_grad = False
        self.hidden = nn.Linear(4, 4)
        self.fc = nn.Linear(4, 2)


def ids(params):
    return [id(p) for p in params]


def test_tsm_groups_by_rule():
    net = Net()
    groups = tsm_param_groups(net, base_lr=0.1, base_wd=1e-4, fc_lr5=True)
    expected = [
        ([net.stem.weight], 0.1, 1e-4),
        ([net.stem.bias], 0.2, 0),
        ([net.body.weight, net.hidden.weight], 0.1, 1e-4),
        ([net.hidden.bias], 0.2, 0),
        ([net.bn.weight, net.bn.bias, net.frozen_bn.bias], 0.1, 0),
        ([net.fc.weight], 0.5, 1e-4),
        ([net.fc.bias], 1.0, 0),
    ]
    assert len(groups) == len(expected)
    for group, (params, lr, wd) in zip(groups, expected):
        assert ids(group["params"]) == ids(params)
        assert group["lr"] == pytest.approx(lr) and group["weight_decay"] == wd


def test_tsm_without_fc_lr5_keeps_fc_in_normal_groups():
    net = Net()
    groups = tsm_param_groups(net, 0.1, 1e-4, fc_lr5=False)
    assert ids(groups[2]["params"]) == ids([net.body.weight, net.hidden.weight, net.fc.weight])
    assert ids(groups[3]["params"]) == ids([net.hidden.bias, net.fc.bias])
    assert groups[5]["params"] == [] and groups[6]["params"] == []


def test_tsm_constructor_covers_a_real_model_once():
    model = TSNForVideoClassification(TSNConfig(backbone=dict(type="ResNet", depth=18),
                                                cls_head=dict(type="TSNHead", in_channels=512), num_labels=3))
    optimizer = TSMOptimizerConstructor(dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=5e-4),
                                        dict(fc_lr5=True))(model)
    seen = [id(p) for g in optimizer.param_groups for p in g["params"]]
    assert len(seen) == len(set(seen)) == len([p for p in model.parameters() if p.requires_grad])
    assert optimizer.param_groups[-2]["params"][0] is model.cls_head.fc_cls.weight
    assert optimizer.param_groups[0]["params"][0] is model.model.backbone.conv1.conv.weight


def test_unknown_leaf_module_is_refused():
    net = nn.Sequential(nn.Conv2d(3, 3, 1), nn.PReLU(), nn.Linear(3, 2))
    with pytest.raises(ConfigError, match="PReLU"):
        tsm_param_groups(net, 0.1, 0.0)


def test_paramwise_multipliers_and_custom_keys():
    net = Net()
    groups = {g["name"]: g for g in param_groups(net, 0.1, 1e-4, dict(
        bias_lr_mult=2.0, bias_decay_mult=0.0, norm_decay_mult=0.0, custom_keys={"fc": dict(lr_mult=10.0)}))}
    assert groups["stem.bias"]["lr"] == pytest.approx(0.2) and groups["stem.bias"]["weight_decay"] == 0
    assert groups["bn.weight"]["weight_decay"] == 0 and groups["bn.weight"]["lr"] == pytest.approx(0.1)
    assert groups["fc.weight"]["lr"] == pytest.approx(1.0) and groups["fc.bias"]["lr"] == pytest.approx(1.0)
    assert "frozen_bn.weight" not in groups
    with pytest.raises(ConfigError, match="bogus"):
        param_groups(net, 0.1, 0.0, dict(bogus=1))


def test_copy_of_sgd_steps_like_sgd():
    torch.manual_seed(0)
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 3)
    for net, opt in ((a, CopyOfSGD(a.parameters(), lr=0.1, momentum=0.9)),
                     (b, torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9))):
        for _ in range(3):
            opt.zero_grad()
            net(x).pow(2).sum().backward()
            opt.step()
    assert torch.equal(a.weight, b.weight)
    assert isinstance(build_optimizer(a, dict(type="CopyOfSGD", lr=0.1)), CopyOfSGD)

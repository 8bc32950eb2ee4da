"""EvalHook: rule inference, best-checkpoint choice, schedule."""

import json

import pytest

from videohub.errors import ConfigError
from videohub.training import EvalHook, infer_rule


def test_rule_inference():
    assert infer_rule("top1_acc") == "greater" and infer_rule("AR@100") == "greater"
    assert infer_rule("mean_average_precision") == "greater"
    assert infer_rule("val_loss") == "less"
    with pytest.raises(ConfigError, match="speed"):
        infer_rule("speed")


def test_save_best_greater_for_acc(tmp_path):
    hook = EvalHook(save_best="top1_acc", out_dir=str(tmp_path))
    flags = [hook.update({"top1_acc": v, "loss": 1.0}, step) for step, v in enumerate([0.2, 0.5, 0.4, 0.7], 1)]
    assert flags == [True, True, False, True]
    assert (hook.best_score, hook.best_step) == (0.7, 4)
    assert json.loads((tmp_path / "best.json").read_text())["best_step"] == 4


def test_save_best_less_for_loss_and_auto():
    hook = EvalHook(save_best="loss")
    flags = [hook.update({"loss": v}, step) for step, v in enumerate([1.0, 0.5, 0.8, 0.4], 1)]
    assert flags == [True, True, False, True] and hook.best_step == 4
    auto = EvalHook()
    auto.update({"top5_acc": 0.3, "loss": 2.0}, 1)
    assert auto.key == "top5_acc" and auto.rule == "greater"


def test_schedule():
    assert [EvalHook(interval=2).should_evaluate(e) for e in range(1, 5)] == [False, True, False, True]
    assert [EvalHook(start=3, interval=2).should_evaluate(e) for e in range(1, 7)] == [False, False, True, False, True, False]

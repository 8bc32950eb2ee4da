"""``transformers.Trainer`` evaluation: predictions are the logits alone, and the documented
``compute_metrics`` with a bundled ``evaluate`` module gives the independently computed accuracy."""

from __future__ import annotations

import json
import os

import numpy as np
import torch

import videohub
from videohub import metrics, training
from videohub.data import load_dataset, make_transform


def compute_metrics(eval_pred):
    """The example of docs/datasets_and_metrics.md: top-1/top-5 with the bundled evaluate module."""
    logits, labels = eval_pred
    result = metrics.load("top_k_accuracy").compute(predictions=logits, references=labels, topk=(1, 5))
    return result


def test_trainer_evaluate_with_compute_metrics(tmp_path, small_videos, tiny_recipe, fresh_accelerate):
    from transformers import Trainer, TrainingArguments

    recipe = json.loads(open(tiny_recipe).read())
    model_cfg = {k: v for k, v in recipe["model"].items() if k != "model_type"}
    config = videohub.AutoVideoConfig.for_model_type("videohub-tsn", **model_cfg, num_labels=4, average_clips="prob")
    torch.manual_seed(0)
    model = videohub.AutoVideoModel.from_config(config)
    raw = load_dataset("video", os.path.join(small_videos, "val7.txt"), data_prefix=small_videos,
                       cache_dir=str(tmp_path / "cache"))
    val = raw.with_transform(make_transform(recipe["val_pipeline"]))
    args = TrainingArguments(output_dir=str(tmp_path / "trainer"), per_device_eval_batch_size=3, report_to=[],
                             use_cpu=True, remove_unused_columns=False, dataloader_num_workers=0, seed=0)
    seen = {}

    def recording(eval_pred):
        seen["logits"], seen["labels"] = eval_pred.predictions, eval_pred.label_ids
        return compute_metrics(eval_pred)

    trainer = Trainer(model=model, args=args, eval_dataset=val, data_collator=training.VideoCollator(),
                      compute_metrics=recording)
    result = trainer.evaluate()
    assert isinstance(seen["logits"], np.ndarray) and seen["logits"].shape == (7, 4)  # the logits alone
    collate = training.VideoCollator()
    batch = collate([val[i] for i in range(7)])
    model.eval()
    with torch.no_grad():
        logits = model(pixel_values=batch["pixel_values"]).logits.numpy()
    np.testing.assert_allclose(seen["logits"], logits, rtol=1e-5, atol=1e-6)
    labels = batch["labels"].numpy()
    assert seen["labels"].tolist() == labels.tolist()
    expected_top1 = float(np.mean(logits.argmax(-1) == labels))
    assert result["eval_top1_acc"] == expected_top1
    assert result["eval_top5_acc"] == 1.0  # 4 classes

#!/usr/bin/env python
"""Train and evaluate a videohub temporal action localizer (BMN, BSN's TEM) on snippet features with Accelerate.

Runs the same way with one process (``python``) or several (``accelerate launch`` / ``torchrun``),
on CPU or GPU. Data are mmaction2's ActivityNet layout: an annotation JSON
(``{video_name: {duration_second, duration_frame, feature_frame, annotations: [{segment, label}]}}``)
and ``--feature_dir`` with one ``<video_name>.csv`` per video (a header line, then ``temporal_dim``
rows of ``feat_dim`` numbers), read by ``videohub.data.load_dataset("activitynet_feature", ...)``.

Writes to ``--output_dir``: the model and its card, ``all_results.json`` (``eval_AR@1``, ``eval_AR@5``,
``eval_AR@10``, ``eval_AR@100``, ``eval_auc``, ``eval_samples`` = validation videos, ``train_loss``,
``completed_steps``), ``eval_proposals.json`` (ActivityNet result format), ``ar_an.png`` (the AR@AN
curve), and resumable ``step_N`` checkpoints with ``--checkpointing_steps``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

FEATURE_MODELS = ("bmn", "tem")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (``run_recognition.py`` names where they exist)."""
    p = argparse.ArgumentParser(description="Train / evaluate a videohub temporal action localizer with Accelerate.")
    g = p.add_argument_group("data")
    g.add_argument("--train_annotations", help="training annotation JSON (ActivityNet layout)")
    g.add_argument("--val_annotations", help="validation annotation JSON")
    g.add_argument("--feature_dir", required=True, help="folder of <video_name>.csv snippet features")
    g.add_argument("--cache_dir", default=None, help="cache folder of the datasets builders (default: datasets' cache)")
    g.add_argument("--skip_bad_samples", action="store_true",
                   help="skip (and count) videos whose feature file is missing or malformed instead of stopping")

    g = p.add_argument_group("model")
    g.add_argument("--model_name_or_path", default=None, help="videohub localizer: Hub id or folder")
    g.add_argument("--model_type", default=None, choices=["bmn", "tem", "pem", "ssn"],
                   help="architecture of a new model (this script trains bmn and tem)")
    g.add_argument("--temporal_dim", type=int, default=None, help="snippets per video of a new model (default 100)")
    g.add_argument("--feat_dim", type=int, default=None, help="feature channels of a new model (default 400)")
    g.add_argument("--config_overrides", default=None,
                   help='JSON dict of config fields of a new model, e.g. \'{"hidden_dim_3d": 64}\'')

    g = p.add_argument_group("training")
    g.add_argument("--output_dir", required=True, help="where checkpoints, the final model and all_results.json go")
    g.add_argument("--seed", type=int, default=None, help="random seed (default: drawn once and shared)")
    g.add_argument("--per_device_train_batch_size", type=int, default=8, help="videos per process and step (default 8)")
    g.add_argument("--per_device_eval_batch_size", type=int, default=None, help="videos per forward in evaluation")
    g.add_argument("--learning_rate", type=float, default=1e-3, help="Adam learning rate (default 0.001, mmaction2's)")
    g.add_argument("--weight_decay", type=float, default=1e-4, help="Adam weight decay (default 1e-4)")
    g.add_argument("--num_train_epochs", type=int, default=9, help="epochs, unless --max_train_steps (default 9)")
    g.add_argument("--max_train_steps", type=int, default=None, help="optimizer steps; overrides --num_train_epochs")
    g.add_argument("--lr_steps", type=int, nargs="*", default=[7],
                   help="epochs where the lr drops 10x (default 7, mmaction2's BMN schedule)")
    g.add_argument("--max_grad_norm", type=float, default=None, help="clip gradients to this norm (default none)")
    g.add_argument("--checkpointing_steps", type=int, default=None, help="save a resumable state every N steps")
    g.add_argument("--checkpoints_total_limit", type=int, default=None, help="keep only the newest N checkpoints")
    g.add_argument("--resume_from_checkpoint", default=None, help="'latest' or a checkpoint folder")
    g.add_argument("--logging_steps", type=int, default=10, help="log the loss every N steps (default 10)")

    g = p.add_argument_group("hub")
    g.add_argument("--push_to_hub", action="store_true", help="push model and card at the end")
    g.add_argument("--hub_model_id", default=None, help="repo id (default: the output_dir name)")
    g.add_argument("--hub_token", default=None, help="Hub token (default: the logged-in one)")
    args = p.parse_args(argv)
    if not (args.train_annotations or args.val_annotations):
        p.error("nothing to do: give --train_annotations and/or --val_annotations")
    if not (args.model_name_or_path or args.model_type):
        p.error("give --model_name_or_path, or --model_type for a new model")
    return args


def load_rows(ann: Optional[str], args: argparse.Namespace, temporal_dim: int, feat_dim: int) -> Any:
    """The ``activitynet_feature`` rows of one annotation JSON (features read and checked), or ``None``."""
    if not ann:
        return None
    from videohub.data import load_dataset

    return load_dataset("activitynet_feature", ann, data_prefix=args.feature_dir, temporal_dim=temporal_dim,
                        feat_dim=feat_dim, cache_dir=args.cache_dir,
                        on_error="skip" if args.skip_bad_samples else "raise").with_format("numpy")


def build_model(args: argparse.Namespace) -> Any:
    """The model of ``--model_name_or_path``, or a new ``--model_type`` one."""
    import videohub
    from videohub.errors import ConfigError

    if args.model_name_or_path:
        model = videohub.AutoModelForTemporalActionLocalization.from_pretrained(args.model_name_or_path)
    else:
        kwargs: Dict[str, Any] = json.loads(args.config_overrides) if args.config_overrides else {}
        if not isinstance(kwargs, dict):
            raise ConfigError(f"--config_overrides must be a JSON object, got {args.config_overrides!r}")
        if args.temporal_dim is not None:
            kwargs["temporal_dim"] = args.temporal_dim
        if args.feat_dim is not None:
            kwargs["tem_feat_dim" if args.model_type == "tem" else "feat_dim"] = args.feat_dim
        config = videohub.AutoVideoConfig.for_model_type(f"videohub-{args.model_type}", **kwargs)
        model = videohub.AutoModelForTemporalActionLocalization.from_config(config)
    model_type = model.config.model_type.replace("videohub-", "")
    if model_type not in FEATURE_MODELS:
        raise ConfigError(f"run_localization.py trains the feature-sequence localizers {FEATURE_MODELS}; "
                          f"{model_type} needs BSP features (pem) or frames (ssn), which it does not read")
    return model


def dims(config: Any) -> tuple:
    """``(temporal_dim, feat_dim)`` of a BMN or TEM config."""
    return config.temporal_dim, getattr(config, "feat_dim", None) or config.tem_feat_dim


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Run the example with command-line arguments ``argv`` (default ``sys.argv[1:]``); return all_results."""
    args = parse_args(argv)
    from accelerate.utils import set_seed

    from videohub.localization.training import evaluate_localizer, plot_ar_an, train_localizer
    from videohub.metrics.dataset_evaluation import proposals2json
    from videohub.model_card import build_model_card
    from videohub import training
    from videohub.utils import logging as vh_logging
    from videohub.utils.io import atomic_write_text

    cfg = training.LoopConfig(
        output_dir=args.output_dir, seed=args.seed, per_device_train_batch_size=args.per_device_train_batch_size,
        per_device_eval_batch_size=args.per_device_eval_batch_size or args.per_device_train_batch_size,
        num_train_epochs=args.num_train_epochs, max_train_steps=args.max_train_steps,
        optimizer={"type": "Adam", "lr": args.learning_rate, "weight_decay": args.weight_decay},
        lr_config={"policy": "step", "step": list(args.lr_steps)} if args.lr_steps else {"policy": "fixed"},
        max_grad_norm=args.max_grad_norm, checkpointing_steps=args.checkpointing_steps,
        checkpoints_total_limit=args.checkpoints_total_limit, resume_from_checkpoint=args.resume_from_checkpoint,
        logging_steps=args.logging_steps, save_best=None, project_name="run_localization")
    accelerator = training.make_accelerator(cfg)
    logger = vh_logging.get_logger("videohub.examples.run_localization")
    if accelerator.is_main_process:
        vh_logging.set_verbosity(logging.INFO)
    resume = training.find_checkpoint(cfg.output_dir, cfg.resume_from_checkpoint) if cfg.resume_from_checkpoint else None
    seed = training.shared_seed(cfg.seed if cfg.seed is not None or resume is None else training.checkpoint_seed(resume),
                            accelerator)
    cfg = dataclasses.replace(cfg, seed=seed)
    set_seed(seed)

    model = build_model(args)
    temporal_dim, feat_dim = dims(model.config)
    with accelerator.main_process_first():
        train_rows = load_rows(args.train_annotations, args, temporal_dim, feat_dim)
        val_rows = load_rows(args.val_annotations, args, temporal_dim, feat_dim)
    logger.info("%d training and %d validation videos, %d process(es)", len(train_rows or []), len(val_rows or []),
                accelerator.num_processes)

    results: Dict[str, Any] = {}
    if train_rows is not None:
        results.update(train_localizer(model, train_rows, cfg, accelerator, meta={"argv": _public_argv(argv)}))
    proposals: List[Dict[str, Any]] = []
    curve = None
    if val_rows is not None:
        metrics, proposals, curve = evaluate_localizer(model, val_rows, accelerator, cfg.per_device_eval_batch_size)
        results.update(metrics)

    unwrapped = accelerator.unwrap_model(model)
    repo_id = args.hub_model_id or os.path.basename(os.path.abspath(args.output_dir))
    if accelerator.is_main_process:
        logger.info("results: %s", json.dumps(results, indent=2))
        os.makedirs(args.output_dir, exist_ok=True)
        unwrapped.save_pretrained(args.output_dir)
        card_metrics = {k[len("eval_"):]: v for k, v in results.items() if k.startswith("eval_") and k != "eval_samples"}
        card = build_model_card(unwrapped.config, repo_id=repo_id, metrics=card_metrics or None, dataset="custom")
        card.save(os.path.join(args.output_dir, "README.md"))
        if curve is not None:
            plot_ar_an(*curve, os.path.join(args.output_dir, "ar_an.png"), title=f"AR@AN ({len(proposals)} videos)")
            atomic_write_text(os.path.join(args.output_dir, "eval_proposals.json"),
                              json.dumps({"version": "VERSION 1.3", "results": proposals2json(proposals),
                                          "external_data": {}}))
        atomic_write_text(os.path.join(args.output_dir, "all_results.json"), json.dumps(results, indent=2))
        if args.push_to_hub:
            unwrapped.push_to_hub(repo_id, model_card=card, token=args.hub_token,
                                  commit_message="Upload localizer trained with run_localization.py")
            logger.info("pushed to %s", repo_id)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return results


def _public_argv(argv: Optional[Sequence[str]]) -> List[str]:
    """The command line without the value of --hub_token (stored in checkpoints)."""
    out, hide = [], False
    for item in list(argv if argv is not None else sys.argv[1:]):
        out.append("***" if hide else ("--hub_token=***" if item.startswith("--hub_token=") else item))
        hide = item == "--hub_token"
    return out


if __name__ == "__main__":
    main()

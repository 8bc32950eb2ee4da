#!/usr/bin/env python
"""Train and evaluate a videohub temporal action localizer (BMN, BSN's TEM and PEM, SSN) with Accelerate.

Runs the same way with one process (``python``) or several (``accelerate launch`` / ``torchrun``),
on CPU or GPU. The data each model reads:

- ``bmn``, ``tem``: mmaction2's ActivityNet layout: an annotation JSON
  (``{video_name: {duration_second, duration_frame, feature_frame, annotations: [{segment, label}]}}``)
  and ``--feature_dir`` with one ``<video_name>.csv`` per video (a header line, then ``temporal_dim``
  rows of ``feat_dim`` numbers), read by ``videohub.data.load_dataset("activitynet_feature", ...)``.
- ``pem``: the same annotation JSONs, plus the BSN chain's intermediate files: ``--pgm_proposals_dir``
  (``<video_name>.csv`` PGM proposals) and ``--pgm_features_dir`` (``<video_name>.npy`` BSP features).
- ``ssn``: THUMOS-style SSN proposal files as annotations (read by ``load_dataset("ssn", ...)``) and
  ``--data_root`` with one folder of ``img_XXXXX.jpg`` frames per video.

Writes to ``--output_dir``: the model and its card, ``all_results.json`` (proposals: ``eval_AR@1``,
``eval_AR@5``, ``eval_AR@10``, ``eval_AR@100``, ``eval_auc``; SSN: ``eval_mAP@0.1`` ... ``eval_mAP@0.9``;
always ``eval_samples`` = validation videos, ``train_loss``, ``completed_steps``), for proposals
``eval_proposals.json`` (ActivityNet result format) and ``ar_an.png`` (the AR@AN curve), and
resumable ``step_N`` checkpoints with ``--checkpointing_steps``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

FEATURE_MODELS = ("bmn", "tem")
MODEL_TYPES = ("bmn", "tem", "pem", "ssn")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (``run_recognition.py`` names where they exist)."""
    p = argparse.ArgumentParser(description="Train / evaluate a videohub temporal action localizer with Accelerate.")
    g = p.add_argument_group("data")
    g.add_argument("--train_annotations", help="training annotation JSON (ActivityNet layout)")
    g.add_argument("--val_annotations", help="validation annotation JSON")
    g.add_argument("--feature_dir", default=None, help="bmn, tem: folder of <video_name>.csv snippet features")
    g.add_argument("--pgm_proposals_dir", default=None, help="pem: folder of the <video_name>.csv PGM proposals")
    g.add_argument("--pgm_features_dir", default=None, help="pem: folder of the <video_name>.npy BSP features")
    g.add_argument("--pem_train_top_k", type=int, default=500,
                   help="pem: proposals per video used for training (default 500, mmaction2's)")
    g.add_argument("--pem_eval_top_k", type=int, default=1000,
                   help="pem: proposals per video evaluated (default 1000, mmaction2's)")
    g.add_argument("--data_root", default=None, help="ssn: folder of the per-video frame folders")
    g.add_argument("--input_size", type=int, default=224,
                   help="ssn: crop size; frames are resized to a short side of input_size*256/224 first (default 224)")
    g.add_argument("--aug_ratio", type=float, default=0.5,
                   help="ssn: starting/ending stage length relative to the proposal (default 0.5)")
    g.add_argument("--cache_dir", default=None, help="cache folder of the datasets builders (default: datasets' cache)")
    g.add_argument("--skip_bad_samples", action="store_true",
                   help="skip (and count) videos whose feature file is missing or malformed instead of stopping")

    g = p.add_argument_group("model")
    g.add_argument("--model_name_or_path", default=None, help="videohub localizer: Hub id or folder")
    g.add_argument("--model_type", default=None, choices=list(MODEL_TYPES), help="architecture of a new model")
    g.add_argument("--temporal_dim", type=int, default=None,
                   help="bmn, tem: snippets per video of a new model (default 100)")
    g.add_argument("--feat_dim", type=int, default=None,
                   help="feature channels of a new model (bmn, tem: default 400; pem: BSP feature size, default 32)")
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
        return videohub.AutoModelForTemporalActionLocalization.from_pretrained(args.model_name_or_path)
    kwargs: Dict[str, Any] = json.loads(args.config_overrides) if args.config_overrides else {}
    if not isinstance(kwargs, dict):
        raise ConfigError(f"--config_overrides must be a JSON object, got {args.config_overrides!r}")
    if args.temporal_dim is not None:
        if args.model_type not in FEATURE_MODELS:
            raise ConfigError(f"--temporal_dim is a field of {FEATURE_MODELS}, not of {args.model_type}")
        kwargs["temporal_dim"] = args.temporal_dim
    if args.feat_dim is not None:
        if args.model_type == "ssn":
            raise ConfigError("--feat_dim: ssn reads frames; set its backbone and cls_head with --config_overrides")
        kwargs[{"tem": "tem_feat_dim", "pem": "pem_feat_dim"}.get(args.model_type, "feat_dim")] = args.feat_dim
    config = videohub.AutoVideoConfig.for_model_type(f"videohub-{args.model_type}", **kwargs)
    return videohub.AutoModelForTemporalActionLocalization.from_config(config)


def model_kind(model: Any) -> str:
    """``bmn``, ``tem``, ``pem`` or ``ssn``."""
    from videohub.errors import ConfigError

    kind = model.config.model_type.replace("videohub-", "")
    if kind not in MODEL_TYPES:
        raise ConfigError(f"run_localization.py trains {MODEL_TYPES}, not {model.config.model_type}")
    return kind


def check_data_args(args: argparse.Namespace, kind: str) -> None:
    """The data flags ``kind`` needs are given."""
    from videohub.errors import ConfigError

    needed = {"bmn": ("feature_dir",), "tem": ("feature_dir",), "pem": ("pgm_proposals_dir", "pgm_features_dir"),
              "ssn": ("data_root",)}[kind]
    missing = [f"--{name}" for name in needed if not getattr(args, name)]
    if missing:
        raise ConfigError(f"a {kind} model needs {' and '.join(missing)}")


def load_data(args: argparse.Namespace, model: Any, kind: str) -> Tuple[Any, Any]:
    """``(train, val)`` data of ``kind`` (either ``None`` without its annotations): feature rows
    (bmn, tem), PEM samples (pem) or ``SSNDataset`` s (ssn)."""
    on_error = "skip" if args.skip_bad_samples else "raise"
    if kind in FEATURE_MODELS:
        from videohub.localization.tasks import feature_dims

        temporal_dim, feat_dim = feature_dims(model.config)
        return (load_rows(args.train_annotations, args, temporal_dim, feat_dim),
                load_rows(args.val_annotations, args, temporal_dim, feat_dim))
    if kind == "pem":
        from videohub.data import load_dataset
        from videohub.localization.pem_training import load_pem_samples

        def pem(ann: Optional[str], top_k: int) -> Any:
            if not ann:
                return None
            rows = load_dataset("activitynet", ann, cache_dir=args.cache_dir, on_error=on_error)
            return load_pem_samples(list(rows), args.pgm_proposals_dir, args.pgm_features_dir, top_k, on_error)

        return pem(args.train_annotations, args.pem_train_top_k), pem(args.val_annotations, args.pem_eval_top_k)
    from videohub.localization.ssn_training import load_ssn_dataset, regression_constants
    from videohub.localization.tasks import localizer_task

    train = None
    if args.train_annotations:
        # the model keeps the training file's regression constants (the task's prepare step)
        train = load_ssn_dataset(args.train_annotations, args.data_root, model.config, False, args.input_size,
                                 args.aug_ratio, args.cache_dir, on_error)
        localizer_task(model).prepare(model, train)
    val = None
    if args.val_annotations:
        val = load_ssn_dataset(args.val_annotations, args.data_root, model.config, True, args.input_size,
                               args.aug_ratio, args.cache_dir, on_error, regression_constants(model.config))
    return train, val


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Run the example with command-line arguments ``argv`` (default ``sys.argv[1:]``); return all_results."""
    args = parse_args(argv)
    from accelerate.utils import set_seed

    from videohub.localization.tasks import localizer_task
    from videohub.localization.training import plot_ar_an, train_localizer
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
    kind = model_kind(model)
    check_data_args(args, kind)
    with accelerator.main_process_first():
        train_data, val_data = load_data(args, model, kind)
    logger.info("%s: %d training and %d validation videos, %d process(es)", kind, len(train_data or []),
                len(val_data or []), accelerator.num_processes)

    results: Dict[str, Any] = {}
    meta = {"argv": _public_argv(argv)}
    task = localizer_task(model)
    if train_data is not None:
        results.update(train_localizer(model, train_data, cfg, accelerator, meta=meta,
                                       batch_fn=task.make_batch_fn(train_data, seed)))
    proposals: List[Dict[str, Any]] = []
    curve = None
    if val_data is not None:
        metrics, proposals, curve = task.evaluate(model, val_data, accelerator, cfg.per_device_eval_batch_size, "eval")
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


def cli(argv: Optional[Sequence[str]] = None) -> int:
    """:func:`main` as a command: a videohub error is printed as one line, the status is 2."""
    from videohub.errors import run_script

    return run_script(main, argv, os.path.basename(__file__))


if __name__ == "__main__":
    sys.exit(cli())

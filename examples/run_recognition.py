#!/usr/bin/env python
"""Train, evaluate and test a videohub action recognizer with Accelerate (mmaction2's tools/train.py + test.py).

Runs the same way with one process (``python``), several (``accelerate launch`` or ``torchrun``),
on CPU or GPU, on one node or many. See ``examples/README.md`` for exact commands.

Models come from ``--model_name_or_path`` (a Hub id or a folder saved by videohub), or are built
from ``--config_name`` (a recipe from ``examples/configs``, an mmaction2 ``.py`` config read without
executing it, or a videohub ``config.json`` folder) and/or ``--arch`` (``tsn``, ``tsm``, ``i3d``,
``slowfast``, ...). Data are mmaction2 annotation files read by ``videohub.data.load_dataset``.
With ``--modality pose`` they are skeleton annotations (``PoseDataset`` ``.pkl``/``.npz``) for ST-GCN,
2s-AGCN (keypoints) or PoseC3D (heatmaps).

At the end the model, its processor and a model card go to ``--output_dir`` (and to the Hub with
``--push_to_hub``), and ``all_results.json`` holds the final metrics (``eval_top1_acc``,
``eval_top5_acc``, ``eval_mean_class_accuracy``, ``eval_samples``, ``test_*`` ...).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

RECIPE_EXTS = (".json", ".yaml", ".yml", ".py")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (transformers ``*_no_trainer.py`` names where they exist)."""
    p = argparse.ArgumentParser(description="Train / evaluate / test a videohub video classifier with Accelerate.")
    g = p.add_argument_group("data")
    g.add_argument("--dataset_format", default="video", choices=["video", "video_folder", "rawframe", "rawframes"],
                   help="annotation format read by videohub.data.load_dataset: video ('path label' lines), video_folder "
                        "(root/<class>/<video>), rawframe(s) ('frame_dir total_frames label' lines) (default: video)")
    g.add_argument("--modality", default="rgb", choices=["rgb", "pose"],
                   help="rgb: videos or frames (--dataset_format); pose: skeleton annotations (default: rgb)")
    g.add_argument("--train_annotations", help="training annotation file (mmaction2 format, e.g. 'path label' lines)")
    g.add_argument("--val_annotations", help="validation annotation file")
    g.add_argument("--test_annotations", help="test annotation file")
    g.add_argument("--data_root", default=None, help="prefix of the paths in the annotation files (data_prefix)")
    g.add_argument("--val_data_root", default=None, help="data_root of the val/test files (default: --data_root)")
    g.add_argument("--label_file", default=None, help="class names, one a line (line number = class id)")
    g.add_argument("--filename_tmpl", default="img_{:05}.jpg", help="rawframe file name template (default: img_{:05}.jpg)")
    g.add_argument("--dataset_name", default=None, help="dataset name written in the model card (default: custom)")
    g.add_argument("--cache_dir", default=None, help="cache folder of the datasets builders (default: datasets' cache)")
    g.add_argument("--skip_bad_samples", action="store_true",
                   help="skip (and count) samples that fail to decode instead of stopping")
    g.add_argument("--num_workers", type=int, default=None, help="data loader workers per process (recipe or 0)")

    g = p.add_argument_group("model")
    g.add_argument("--model_name_or_path", default=None, help="videohub model: Hub id or folder")
    g.add_argument("--config_name", default=None,
                   help="recipe (.json/.yaml, examples/configs), mmaction2 .py config, or videohub config folder/Hub id")
    g.add_argument("--arch", default=None, help="architecture of a new model (tsn, tsm, i3d, slowfast, ...)")
    g.add_argument("--config_overrides", default=None,
                   help='JSON dict merged into the model config, e.g. \'{"backbone": {"depth": 18}}\'')

    g = p.add_argument_group("clips (used when neither a recipe nor a saved processor gives pipelines)")
    g.add_argument("--num_frames", type=int, default=None, help="segments (2D) or clip length (3D) (default: config.num_frames)")
    g.add_argument("--frame_interval", type=int, default=None, help="frame interval of 3D clips (default: 1)")
    g.add_argument("--num_test_clips", type=int, default=None, help="clips per video at test time (default: as val)")
    g.add_argument("--test_crop", default="center", choices=["center", "three", "ten"], help="test crops (default: center)")
    g.add_argument("--short_side_size", type=int, default=256, help="resize the short side to this (default: 256)")
    g.add_argument("--crop_size", type=int, default=224, help="crop size (default: 224)")
    g.add_argument("--flip_ratio", type=float, default=0.5, help="horizontal flip probability in training (default: 0.5)")

    g = p.add_argument_group("modes")
    g.add_argument("--do_train", action="store_true", help="train (default when --train_annotations is given and no mode is)")
    g.add_argument("--do_eval", action="store_true", help="evaluate on --val_annotations at the end")
    g.add_argument("--do_test", action="store_true", help="test on --test_annotations at the end")
    g.add_argument("--save_predictions", action="store_true",
                   help="write {eval,test}_predictions.json (scores and labels in dataset order) to --output_dir")

    g = p.add_argument_group("training")
    g.add_argument("--output_dir", required=True, help="where checkpoints, the final model and all_results.json go")
    g.add_argument("--seed", type=int, default=None, help="random seed (default: drawn once and shared)")
    g.add_argument("--per_device_train_batch_size", type=int, default=None, help="clips per process (recipe or 8)")
    g.add_argument("--per_device_eval_batch_size", type=int, default=None,
                   help="clips per process in evaluation (default: the train size)")
    g.add_argument("--optimizer", default=None, help="SGD, CopyOfSGD, Adam, AdamW, RMSprop (recipe or SGD)")
    g.add_argument("--learning_rate", type=float, default=None, help="base learning rate (recipe or 0.01)")
    g.add_argument("--weight_decay", type=float, default=None, help="weight decay (recipe or 1e-4)")
    g.add_argument("--momentum", type=float, default=None, help="SGD momentum (recipe or 0.9)")
    g.add_argument("--tsm_optimizer", action="store_true",
                   help="TSMOptimizerConstructor parameter groups with fc_lr5 (the TSM recipe sets it)")
    g.add_argument("--num_train_epochs", type=int, default=None, help="epochs (recipe total_epochs or 3)")
    g.add_argument("--max_train_steps", type=int, default=None, help="optimizer steps; overrides --num_train_epochs")
    g.add_argument("--gradient_accumulation_steps", type=int, default=None, help="batches per optimizer step (default: 1)")
    g.add_argument("--lr_scheduler_type", default=None, choices=["fixed", "step", "cosine", "tin"],
                   help="lr policy (default: the recipe's lr_config, else fixed)")
    g.add_argument("--lr_steps", type=int, nargs="+", default=None, help="milestones of the step policy (epochs)")
    g.add_argument("--lr_schedule_by_steps", action="store_true",
                   help="count --lr_steps and the cosine/tin progress in optimizer steps instead of epochs")
    g.add_argument("--min_lr", type=float, default=0.0, help="final lr of cosine/tin (default: 0)")
    g.add_argument("--num_warmup_steps", type=int, default=0, help="linear warmup steps (default: 0)")
    g.add_argument("--warmup_ratio", type=float, default=0.1, help="warmup starts at this fraction of the lr (default: 0.1)")
    g.add_argument("--max_grad_norm", type=float, default=None, help="clip gradients to this norm (recipe or none)")
    g.add_argument("--deterministic", action="store_true",
                   help="deterministic GPU kernels (slower): a resumed GPU run then matches an uninterrupted one")
    g.add_argument("--mixed_precision", default=None, choices=["no", "fp16", "bf16"],
                   help="mixed precision (default: the launcher's / accelerate config's; bf16 works on CPU)")
    g.add_argument("--blending", default=None, choices=["mixup", "cutmix"], help="Mixup or CutMix of training batches")
    g.add_argument("--blending_alpha", type=float, default=0.2, help="Beta(alpha, alpha) of the blending (default: 0.2)")
    g.add_argument("--class_balanced_sampling", action="store_true",
                   help="draw training clips with DistributedPowerSampler (class frequency ** --sampling_power)")
    g.add_argument("--sampling_power", type=float, default=0.0, help="0 = uniform over classes, 1 = as the data (default: 0)")
    g.add_argument("--checkpointing_steps", default=None, help="save a resumable state every N steps, or 'epoch'")
    g.add_argument("--checkpoints_total_limit", type=int, default=None, help="keep only the newest N checkpoints")
    g.add_argument("--resume_from_checkpoint", default=None, help="'latest' or a checkpoint folder")
    g.add_argument("--resume_strict", action="store_true",
                   help="with --resume_from_checkpoint latest: stop if the newest checkpoint has a missing or "
                        "damaged file (default: warn and resume from the newest complete one)")
    g.add_argument("--eval_interval", type=int, default=None, help="evaluate every N epochs during training (recipe or 1)")
    g.add_argument("--eval_steps", type=int, default=None, help="evaluate every N steps instead of by epoch")
    g.add_argument("--save_best", default="auto",
                   help="metric that picks output_dir/best_model ('auto' = top1_acc, 'none' to disable)")
    g.add_argument("--test_best", action="store_true", help="after training, test the best checkpoint")
    g.add_argument("--test_last", action="store_true", help="after training, test the last weights")
    g.add_argument("--precise_bn_num_iters", type=int, default=None,
                   help="precise BN batches before evaluation (0: off; default: the recipe's, else off for videos and "
                        "one pass over the training set, at most 200 batches, for --modality pose)")
    g.add_argument("--precise_bn_interval", type=int, default=None, help="precise BN every N epochs (default: 1)")
    g.add_argument("--logging_steps", type=int, default=None, help="log loss and lr every N steps (default: 10)")
    g.add_argument("--with_tracking", action="store_true", help="log metrics to the --report_to trackers")
    g.add_argument("--report_to", default="tensorboard",
                   help="tracker(s): tensorboard, wandb, ... or 'all' (default: tensorboard, when installed)")

    g = p.add_argument_group("hub")
    g.add_argument("--push_to_hub", action="store_true", help="push model, processor and card at the end")
    g.add_argument("--hub_model_id", default=None, help="repo id (default: the output_dir name)")
    g.add_argument("--hub_token", default=None, help="Hub token (default: the logged-in one)")
    args = p.parse_args(argv)
    if args.dataset_format == "rawframes":
        args.dataset_format = "rawframe"
    if args.modality == "pose":
        args.dataset_format = "pose"
    if not (args.do_train or args.do_eval or args.do_test):
        args.do_train = bool(args.train_annotations)
        args.do_eval = bool(args.val_annotations)
        args.do_test = bool(args.test_annotations) and not args.test_best and not args.test_last
    for flag, ann in (("do_train", "train_annotations"), ("do_eval", "val_annotations"), ("do_test", "test_annotations")):
        if getattr(args, flag) and not getattr(args, ann):
            p.error(f"--{flag} needs --{ann}")
    if not (args.do_train or args.do_eval or args.do_test):
        p.error("nothing to do: give --train_annotations, --val_annotations or --test_annotations")
    if not (args.model_name_or_path or args.config_name or args.arch):
        p.error("give --model_name_or_path, or --config_name and/or --arch")
    return args


# ---------------------------------------------------------------------------------------------- helpers
def deep_merge(base: Any, update: Any) -> Any:
    """``update`` merged into a copy of ``base`` (dicts recursively, other values replaced)."""
    if isinstance(base, dict) and isinstance(update, dict):
        out = dict(base)
        for key, value in update.items():
            out[key] = deep_merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(update)


def _public_argv(argv: Optional[Sequence[str]]) -> List[str]:
    """The command line without the value of --hub_token (stored in checkpoints)."""
    out, hide = [], False
    for item in list(argv if argv is not None else sys.argv[1:]):
        out.append("***" if hide else ("--hub_token=***" if item.startswith("--hub_token=") else item))
        hide = item == "--hub_token"
    return out


def is_recipe(name: Optional[str]) -> bool:
    return bool(name) and name.endswith(RECIPE_EXTS) and os.path.isfile(name)


def read_label_file(path: str) -> List[str]:
    with open(path, encoding="utf-8") as f:
        names = [line.strip() for line in f]
    while names and not names[-1]:
        names.pop()
    if not names or any(not n for n in names):
        from videohub.errors import ConfigError

        raise ConfigError(f"{path}: expected one non-empty class name per line")
    return names


def load_raw(fmt: str, ann: Optional[str], root: Optional[str], args: argparse.Namespace):
    """Metadata dataset (no decoding) of one annotation file, or ``None``."""
    if not ann:
        return None
    from videohub.data import load_dataset

    kwargs: Dict[str, Any] = {}
    if root and not os.path.isdir(ann):
        kwargs["data_prefix"] = root
    if fmt == "rawframe":
        kwargs["filename_tmpl"] = args.filename_tmpl
    return load_dataset("video" if fmt == "video_folder" and os.path.isfile(ann) else fmt, ann,
                        cache_dir=args.cache_dir, **kwargs)


def class_names(args: argparse.Namespace, raws: Sequence[Any]) -> Optional[List[str]]:
    """The class names of the run: --label_file, ClassLabel names, or ``None`` (decided from the data)."""
    if args.label_file:
        return read_label_file(args.label_file)
    for raw in raws:
        feature = raw.features.get("label") if raw is not None else None
        if feature is not None and hasattr(feature, "names"):
            return list(feature.names)
    return None


def pose_pipelines(config: Any, args: argparse.Namespace) -> Dict[str, List[Dict[str, Any]]]:
    """Skeleton pipelines: looped keypoints ``(C, T, V, M)`` for graph models, heatmaps for PoseC3D."""
    frames = args.num_frames or config.num_frames
    if config.recognizer == "SkeletonGCN":
        persons = config.cls_head.get("num_person", 2)
        steps = [dict(type="PaddingWithLoop", clip_len=frames), dict(type="PoseDecode"),
                 dict(type="FormatGCNInput", input_format="NCTVM", num_person=persons), dict(type="PoseNormalize"),
                 dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]), dict(type="ToTensor", keys=["keypoint"])]
        return {"train_pipeline": steps, "val_pipeline": steps, "test_pipeline": steps}
    crop = args.crop_size
    tail = [dict(type="GeneratePoseTarget", sigma=0.6, use_score=True, with_kp=True, with_limb=False),
            dict(type="FormatShape", input_format="NCTHW"), dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
            dict(type="ToTensor", keys=["imgs"])]
    head = [dict(type="PoseDecode"), dict(type="PoseCompact", hw_ratio=1.0, allow_imgpad=True),
            dict(type="Resize", scale=[-1, crop])]
    train = [dict(type="UniformSampleFrames", clip_len=frames), *head, dict(type="RandomResizedCrop", area_range=[0.56, 1.0]),
             dict(type="Resize", scale=[crop, crop], keep_ratio=False), dict(type="Flip", flip_ratio=args.flip_ratio,
             left_kp=[1, 3, 5, 7, 9, 11, 13, 15], right_kp=[2, 4, 6, 8, 10, 12, 14, 16]), *tail]
    test = [dict(type="UniformSampleFrames", clip_len=frames, num_clips=args.num_test_clips or 1, test_mode=True), *head,
            dict(type="CenterCrop", crop_size=crop), *tail]
    return {"train_pipeline": train, "val_pipeline": test, "test_pipeline": test}


def pose_precise_bn_iters(num_train: int, batch_size: int, num_processes: int, limit: int = 200) -> int:
    """Precise-BN batches of a skeleton run: one pass over this process's share of the training set (at most ``limit``).

    The BatchNorms of ST-GCN, 2s-AGCN and PoseC3D update their running statistics with momentum 0.1
    while the weights move; after a short run those statistics describe weights of many steps ago
    (in one 40-step AdamW run, running variances up to 57x the true ones, means 2 std off), and the
    evaluation, which uses them, sees a different network than training did. Recomputing them with
    the final weights before each evaluation (mmaction2's ``PreciseBNHook``) removes that gap. The
    loop recomputes them at epoch ends (every ``--precise_bn_interval`` epochs) and before the final
    evaluation of a run that ``--max_train_steps`` ends inside an epoch.
    """
    per_process = -(-num_train // num_processes)
    return max(1, min(limit, -(-per_process // batch_size)))


def default_pipelines(config: Any, args: argparse.Namespace) -> Dict[str, List[Dict[str, Any]]]:
    """TSN-style (2D) or I3D-style (3D) train/val/test pipelines from the clip options (ending in ToModelInputs)."""
    if args.modality == "pose":
        return pose_pipelines(config, args)
    from videohub.processing import IMAGENET_MEAN, IMAGENET_STD

    norm = dict(type="Normalize", mean=IMAGENET_MEAN, std=IMAGENET_STD, to_bgr=False)
    is_2d = config.recognizer == "Recognizer2D"
    frames = args.num_frames or config.num_frames
    if is_2d:
        sampler = dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=frames)
    else:
        sampler = dict(type="SampleFrames", clip_len=frames, frame_interval=args.frame_interval or 1, num_clips=1)
    tail = dict(type="ToModelInputs")
    crop, short = args.crop_size, args.short_side_size
    train = [dict(type="PyAVInit"), sampler, dict(type="PyAVDecode"), dict(type="Resize", scale=[-1, short]),
             dict(type="MultiScaleCrop", input_size=crop, scales=[1, 0.875, 0.75, 0.66], random_crop=False,
                  max_wh_scale_gap=1),
             dict(type="Resize", scale=[crop, crop], keep_ratio=False), dict(type="Flip", flip_ratio=args.flip_ratio),
             norm, tail]
    val_sampler = dict(sampler, test_mode=True)
    val = [dict(type="PyAVInit"), val_sampler, dict(type="PyAVDecode"), dict(type="Resize", scale=[-1, short]),
           dict(type="CenterCrop", crop_size=crop), norm, tail]
    test_sampler = dict(val_sampler)
    if args.num_test_clips:
        test_sampler["num_clips"] = args.num_test_clips
    crop_step = {"center": dict(type="CenterCrop", crop_size=crop), "three": dict(type="ThreeCrop", crop_size=crop),
                 "ten": dict(type="TenCrop", crop_size=crop)}[args.test_crop]
    test = [dict(type="PyAVInit"), test_sampler, dict(type="PyAVDecode"), dict(type="Resize", scale=[-1, short]),
            crop_step, norm, tail]
    return {"train_pipeline": train, "val_pipeline": val, "test_pipeline": test}


def build_config(args: argparse.Namespace, recipe: Dict[str, Any], names: Optional[List[str]], num_labels: int):
    """The model config of a new model (recipe model section, mmaction2 model dict, videohub config or --arch)."""
    import videohub
    from videohub.configuration_utils import RECOGNIZERS
    from videohub.conversion.mmaction2 import config_from_mmaction2
    from videohub.errors import ConfigError

    overrides = json.loads(args.config_overrides) if args.config_overrides else {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"--config_overrides must be a JSON object, got {args.config_overrides!r}")
    labels = names or [str(i) for i in range(num_labels)]
    id2label = {i: n for i, n in enumerate(labels)}
    label_kwargs = dict(id2label=id2label, label2id={n: i for i, n in id2label.items()})
    model_cfg = copy.deepcopy(recipe.get("model") or {})
    if args.config_name and not is_recipe(args.config_name):
        loaded = videohub.AutoVideoConfig.from_pretrained(args.config_name).to_dict()
        model_cfg = {k: loaded[k] for k in ("model_type", "backbone", "neck", "cls_head", "recognizer", "average_clips",
                                            "max_testing_views", "feature_extraction", "fcn_test", "train_cfg", "num_frames")
                     if k in loaded}
    if model_cfg.get("type") in RECOGNIZERS:  # an mmaction2 model dict
        model_cfg = deep_merge(model_cfg, overrides)
        model_cfg.setdefault("cls_head", {})["num_classes"] = len(labels)
        return config_from_mmaction2(model_cfg, recipe.get("test_pipeline"), labels)
    model_type = model_cfg.pop("model_type", None)
    if args.arch:
        wanted = args.arch if args.arch.startswith("videohub-") else f"videohub-{args.arch}"
        if model_type and model_type != wanted:
            raise ConfigError(f"--arch {args.arch} does not match the config's model_type {model_type!r}")
        model_type = wanted
    if not model_type:
        raise ConfigError("the model section of the recipe has no model_type; pass --arch")
    from videohub.auto import CONFIG_CLASSES

    if model_type not in CONFIG_CLASSES:
        raise ConfigError(f"unknown architecture {model_type!r}; known: {sorted(CONFIG_CLASSES)}")
    defaults = {name: copy.deepcopy(getattr(CONFIG_CLASSES[model_type], f"default_{name}"))
                for name in ("backbone", "neck", "cls_head")}
    model_cfg = deep_merge({k: v for k, v in defaults.items() if v is not None}, model_cfg)
    model_cfg = deep_merge(model_cfg, overrides)
    model_cfg.pop("num_labels", None)
    return videohub.AutoVideoConfig.for_model_type(model_type, **model_cfg, **label_kwargs)


def loop_config(args: argparse.Namespace, recipe: Dict[str, Any]):
    """LoopConfig from the recipe, overridden by every command-line option that was given."""
    from videohub.apis import loop_config_from_mmaction2

    base = dict(recipe, work_dir=args.output_dir)
    base.pop("resume_from", None)
    cfg = loop_config_from_mmaction2(base, validate=True, test=dict(test_best=args.test_best, test_last=args.test_last))
    opt = dict(cfg.optimizer)
    if args.optimizer:
        opt["type"] = args.optimizer
        if args.optimizer not in ("SGD", "CopyOfSGD"):
            opt.pop("momentum", None)
            opt.pop("nesterov", None)
    for key, value in (("lr", args.learning_rate), ("weight_decay", args.weight_decay), ("momentum", args.momentum)):
        if value is not None:
            opt[key] = value
    if args.tsm_optimizer:
        opt.update(constructor="TSMOptimizerConstructor", paramwise_cfg=dict(fc_lr5=True))
    lr_config = cfg.lr_config
    if args.lr_scheduler_type:
        lr_config = {"policy": args.lr_scheduler_type, "by_epoch": not args.lr_schedule_by_steps}
        if args.lr_scheduler_type == "step":
            lr_config["step"] = args.lr_steps or []
        if args.lr_scheduler_type in ("cosine", "tin"):
            lr_config["min_lr"] = args.min_lr
    if args.num_warmup_steps:
        lr_config = dict(lr_config, warmup="linear", warmup_iters=args.num_warmup_steps, warmup_ratio=args.warmup_ratio,
                         warmup_by_epoch=False)
    changes: Dict[str, Any] = dict(optimizer=opt, lr_config=lr_config, seed=args.seed,
                                   resume_from_checkpoint=args.resume_from_checkpoint,
                                   resume_strict=args.resume_strict,
                                   checkpointing_steps=args.checkpointing_steps or cfg.checkpointing_steps,
                                   checkpoints_total_limit=args.checkpoints_total_limit,
                                   class_balanced=args.class_balanced_sampling, sampling_power=args.sampling_power,
                                   with_tracking=args.with_tracking, report_to=args.report_to,
                                   save_best=None if str(args.save_best).lower() == "none" else args.save_best,
                                   eval_steps=args.eval_steps, max_train_steps=args.max_train_steps,
                                   deterministic=args.deterministic)
    if args.blending:
        changes["blending"] = dict(type="MixupBlending" if args.blending == "mixup" else "CutmixBlending",
                                   alpha=args.blending_alpha)
    for name, value in (("per_device_train_batch_size", args.per_device_train_batch_size),
                        ("num_train_epochs", args.num_train_epochs),
                        ("gradient_accumulation_steps", args.gradient_accumulation_steps),
                        ("max_grad_norm", args.max_grad_norm), ("num_workers", args.num_workers),
                        ("eval_interval", args.eval_interval), ("precise_bn_num_iters", args.precise_bn_num_iters),
                        ("precise_bn_interval", args.precise_bn_interval), ("logging_steps", args.logging_steps)):
        if value is not None:
            changes[name] = value
    changes["per_device_eval_batch_size"] = (args.per_device_eval_batch_size
                                             or changes.get("per_device_train_batch_size", cfg.per_device_eval_batch_size))
    return dataclasses.replace(cfg, **changes)


# ---------------------------------------------------------------------------------------------- main
def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Run the example with command-line arguments ``argv`` (default ``sys.argv[1:]``); return all_results."""
    args = parse_args(argv)
    import torch  # noqa: F401  (heavy imports after --help)
    from accelerate.utils import set_seed
    from huggingface_hub.errors import EntryNotFoundError

    import videohub
    from videohub.conversion.config_reader import load_config
    from videohub.data import make_transform
    from videohub.errors import ConfigError
    from videohub.model_card import build_model_card
    from videohub.processing import VideoProcessor
    from videohub import training
    from videohub.utils import logging as vh_logging
    from videohub.utils.io import atomic_write_text

    if args.deterministic:
        training.enable_determinism()
    recipe = load_config(args.config_name) if is_recipe(args.config_name) else {}
    cfg = loop_config(args, recipe)
    training.check_output_dir(cfg.output_dir)  # before any data is read or any step is taken
    accelerator = training.make_accelerator(cfg, mixed_precision=args.mixed_precision)
    logger = vh_logging.get_logger("videohub.examples.run_recognition")
    if accelerator.is_main_process:
        vh_logging.set_verbosity(logging.INFO)
    resume = (training.find_checkpoint(cfg.output_dir, cfg.resume_from_checkpoint, strict=cfg.resume_strict)
              if cfg.resume_from_checkpoint else None)
    seed = training.shared_seed(cfg.seed if cfg.seed is not None or resume is None else training.checkpoint_seed(resume),
                                accelerator)
    # the loop resumes from the checkpoint found here (its fallback warnings are not repeated)
    cfg = dataclasses.replace(cfg, seed=seed, resume_from_checkpoint=resume or cfg.resume_from_checkpoint)
    set_seed(seed)

    # ---- data (metadata only; decoding happens lazily in the transforms)
    val_root = args.val_data_root or args.data_root
    with accelerator.main_process_first():
        raw_train = load_raw(args.dataset_format, args.train_annotations if args.do_train else None, args.data_root, args)
        raw_val = load_raw(args.dataset_format, args.val_annotations, val_root, args)
        raw_test = load_raw(args.dataset_format, args.test_annotations, val_root, args)
    raws = [r for r in (raw_train, raw_val, raw_test) if r is not None]
    if args.modality == "pose" and raw_train is not None and args.precise_bn_num_iters is None \
            and not cfg.precise_bn_num_iters:
        cfg = dataclasses.replace(cfg, precise_bn_num_iters=pose_precise_bn_iters(
            len(raw_train), cfg.per_device_train_batch_size, accelerator.num_processes))
    data_labels = [lab for r in raws for lab in (training.labels_of(r) or [])]
    num_data_classes = max(data_labels) + 1 if data_labels else 0

    # ---- model and processor
    processor = None
    pretrained_config = None
    if args.model_name_or_path:
        pretrained_config = videohub.AutoVideoConfig.from_pretrained(args.model_name_or_path)
    names = class_names(args, raws)
    if names is not None and num_data_classes > len(names):
        raise ConfigError(f"the annotations use class id {num_data_classes - 1} but only {len(names)} class names are known")
    if args.model_name_or_path:
        config = pretrained_config
        wanted = len(names) if names else max(num_data_classes, config.num_labels if not args.do_train else 0)
        relabel = names is not None and [config.id2label.get(i) for i in range(config.num_labels)] != names
        if wanted != config.num_labels or relabel:
            labels = names or [str(i) for i in range(wanted)]
            config.id2label = {i: n for i, n in enumerate(labels)}
            config.label2id = {n: i for i, n in enumerate(labels)}
        model = videohub.AutoVideoModel.from_pretrained(args.model_name_or_path, config=config,
                                                        ignore_mismatched_sizes=True)
        try:
            processor = VideoProcessor.from_pretrained(args.model_name_or_path)
        except (OSError, ValueError, EntryNotFoundError):  # no preprocessor_config.json: default pipelines
            processor = None
    else:
        config = build_config(args, recipe, names, len(names) if names else num_data_classes)
        model = videohub.AutoVideoModel.from_config(config)
    if config.recognizer == "AudioRecognizer":
        raise ConfigError("run_recognition.py trains video models; audio recognizers are not supported here")

    pipelines = default_pipelines(config, args)
    if processor is not None:
        from_processor = training.pipeline_from_processor(processor)
        pipelines.update(val_pipeline=from_processor, test_pipeline=from_processor)
    for key in ("train_pipeline", "val_pipeline", "test_pipeline"):
        if recipe.get(key):
            pipelines[key] = training.to_model_pipeline(recipe[key])
        pipelines[key] = training.adapt_decoding(pipelines[key], args.dataset_format)
    if processor is None and args.modality != "pose":  # the video processor reads frames, not skeletons
        processor = VideoProcessor.from_mmaction2_pipeline(pipelines["val_pipeline"])
    on_error = "skip" if args.skip_bad_samples else "raise"

    def transformed(raw: Any, pipeline: List[Dict[str, Any]]) -> Any:
        return None if raw is None else raw.with_transform(make_transform(pipeline, on_error=on_error))

    train_ds = transformed(raw_train, pipelines["train_pipeline"])
    val_ds = transformed(raw_val, pipelines["val_pipeline"])
    test_ds = transformed(raw_test, pipelines["test_pipeline"])

    # ---- run
    def predictions_file(split: str) -> Optional[str]:
        return os.path.join(args.output_dir, f"{split}_predictions.json") if args.save_predictions else None

    results: Dict[str, Any] = {}
    if args.do_train:
        results.update(training.train(model, train_ds, cfg, eval_dataset=val_ds, test_dataset=test_ds,
                                      accelerator=accelerator, processor=processor,
                                      train_labels=training.labels_of(raw_train), meta={"argv": _public_argv(argv)}))
    else:
        model = accelerator.prepare(model)
    if args.do_eval:
        loader = accelerator.prepare(training.build_eval_loader(val_ds, cfg.per_device_eval_batch_size,
                                                                cfg.num_workers))
        results.update(training.evaluate(model, loader, accelerator, cfg.topk, prefix="eval",
                                     predictions_file=predictions_file("eval")))
    if args.do_test:
        loader = accelerator.prepare(training.build_eval_loader(test_ds, cfg.per_device_eval_batch_size,
                                                                cfg.num_workers))
        results.update(training.evaluate(model, loader, accelerator, cfg.topk, prefix="test",
                                     predictions_file=predictions_file("test")))
    if accelerator.is_main_process:
        logger.info("results: %s", json.dumps(results, indent=2))

    # ---- save and push
    unwrapped = accelerator.unwrap_model(model)
    split = "eval" if args.do_eval else ("test" if args.do_test else None)
    card_metrics = {k[len(split) + 1:]: v for k, v in results.items()
                    if split and k.startswith(split + "_") and not k.endswith("_samples")}
    repo_id = args.hub_model_id or os.path.basename(os.path.abspath(args.output_dir))
    if accelerator.is_main_process:
        os.makedirs(args.output_dir, exist_ok=True)
        unwrapped.save_pretrained(args.output_dir)
        if processor is not None:
            processor.save_pretrained(args.output_dir)
        card = build_model_card(unwrapped.config, repo_id=repo_id, metrics=card_metrics or None,
                                dataset=args.dataset_name or "custom")
        card.save(os.path.join(args.output_dir, "README.md"))
        atomic_write_text(os.path.join(args.output_dir, "all_results.json"), json.dumps(results, indent=2))
        if args.push_to_hub:
            unwrapped.push_to_hub(repo_id, model_card=card, token=args.hub_token,
                                  commit_message="Upload model trained with run_recognition.py")
            if processor is not None:
                processor.push_to_hub(repo_id, token=args.hub_token, commit_message="Upload video processor")
            logger.info("pushed to %s", repo_id)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return results


def cli(argv: Optional[Sequence[str]] = None) -> int:
    """:func:`main` as a command: a videohub error is printed as one line, the status is 2."""
    from videohub.errors import run_script

    return run_script(main, argv, os.path.basename(__file__))


if __name__ == "__main__":
    sys.exit(cli())

#!/usr/bin/env python
"""Train and evaluate a videohub spatio-temporal action detector (AVA) with Accelerate.

mmaction2's ``tools/train.py`` + ``tools/test.py`` for its ``configs/detection`` models: key frames
of an AVA-format set (annotation CSV, person proposals, excluded timestamps, label map,
``custom_classes``) are read by ``videohub.data.load_dataset("ava", ...)``; training assigns the
proposals to the ground-truth boxes and samples them (``MaxIoUAssignerAVA`` + ``RandomSampler`` of
the model's ``train_cfg``); evaluation is AVA frame mAP@0.5IOU. Runs with ``python`` (one process)
or ``accelerate launch`` / ``torchrun`` (several processes, CPU or GPU).

At the end the model and a model card go to ``--output_dir`` (and to the Hub with
``--push_to_hub``), the best evaluated weights to ``--output_dir/best_model`` (with ``best.json``),
and ``all_results.json`` holds ``train_loss``, ``eval_mAP@0.5IOU``, ``eval_samples`` (the number
of evaluated key frames) and ``eval_boxes`` (the number of scored person boxes).

Long-term feature banks: ``--write_feature_bank DIR`` runs a trained detector with an
``LFBInferHead`` over both sets and writes ``DIR/lfb_{train,val}.safetensors``; ``--lfb_dir DIR``
then trains / evaluates an FBO model (``--fbo_type non_local|avg|max``) on it. See
``docs/detection.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

IMAGENET_NORM = dict(type="Normalize", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_bgr=False)

# backbones of mmaction2's configs/detection/ava (clip length x frame interval of their pipelines)
BACKBONES: Dict[str, Dict[str, Any]] = {
    "slowonly_r50": dict(clip=(4, 16), in_channels=2048, backbone=dict(
        type="ResNet3dSlowOnly", depth=50, pretrained=None, pretrained2d=False, lateral=False, num_stages=4,
        conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, spatial_strides=(1, 2, 2, 1))),
    "slowonly_r101": dict(clip=(8, 8), in_channels=2048, backbone=dict(
        type="ResNet3dSlowOnly", depth=101, pretrained=None, pretrained2d=False, lateral=False, num_stages=4,
        conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1, spatial_strides=(1, 2, 2, 1))),
    "slowfast_r50": dict(clip=(32, 2), in_channels=2304, backbone=dict(
        type="ResNet3dSlowFast", pretrained=None, resample_rate=8, speed_ratio=8, channel_ratio=8,
        slow_pathway=dict(type="resnet3d", depth=50, pretrained=None, lateral=True, conv1_kernel=(1, 7, 7),
                          dilations=(1, 1, 1, 1), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1),
                          spatial_strides=(1, 2, 2, 1)),
        fast_pathway=dict(type="resnet3d", depth=50, pretrained=None, lateral=False, base_channels=8,
                          conv1_kernel=(5, 7, 7), conv1_stride_t=1, pool1_stride_t=1, spatial_strides=(1, 2, 2, 1)))),
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options (the names of run_recognition.py where they exist)."""
    p = argparse.ArgumentParser(description="Train / evaluate a videohub AVA action detector with Accelerate.")
    g = p.add_argument_group("data (AVA format)")
    g.add_argument("--train_annotations", help="training CSV: video_id,timestamp,x1,y1,x2,y2,action_id,entity_id")
    g.add_argument("--val_annotations", help="validation CSV (same format); evaluated with frame mAP@0.5IOU")
    g.add_argument("--proposals", help="person proposals of the training set (.json/.npz; .pkl needs "
                                       "--allow_pickle_proposals)")
    g.add_argument("--val_proposals", default=None, help="person proposals of the validation set (default: --proposals)")
    g.add_argument("--data_root", default=None, help="folder of the rawframe folders <video_id>/img_00001.jpg ...")
    g.add_argument("--label_map", default=None, help="label map .pbtxt (class names and ids; needed with --custom_classes)")
    g.add_argument("--exclude_file", default=None, help="excluded timestamps of the training set (video_id,timestamp)")
    g.add_argument("--val_exclude_file", default=None, help="excluded timestamps of the validation set")
    g.add_argument("--custom_classes", type=int, nargs="+", default=None, help="train and evaluate only these action ids")
    g.add_argument("--person_det_score_thr", type=float, default=0.9,
                   help="keep proposals scoring at least this (the best one if none does) (default: 0.9)")
    g.add_argument("--timestamp_start", type=int, default=900, help="first annotated second (default: 900)")
    g.add_argument("--timestamp_end", type=int, default=1800, help="last annotated second (default: 1800)")
    g.add_argument("--filename_tmpl", default="img_{:05}.jpg", help="frame file name template (default: img_{:05}.jpg)")
    g.add_argument("--allow_pickle_proposals", action="store_true",
                   help="read .pkl proposal files (numpy arrays only; convert them once with convert_ava_proposals)")
    g.add_argument("--cache_dir", default=None, help="cache folder of the datasets builders (default: datasets' cache)")
    g.add_argument("--skip_bad_samples", action="store_true", help="skip (and count) frames that fail to decode")
    g.add_argument("--num_workers", type=int, default=0, help="data loader workers per process (default: 0)")
    g.add_argument("--dataset_name", default=None, help="dataset name written in the model card (default: custom)")

    g = p.add_argument_group("model")
    g.add_argument("--model_name_or_path", default=None, help="videohub detector: Hub id or folder")
    g.add_argument("--model_type", default="ava", help="architecture of a new model (default: ava)")
    g.add_argument("--backbone", default="slowonly_r50", choices=sorted(BACKBONES),
                   help="backbone of a new model, as in mmaction2's AVA configs (default: slowonly_r50)")
    g.add_argument("--config_overrides", default=None,
                   help='JSON dict merged into a new model\'s config, e.g. \'{"backbone": {"depth": 18}}\'')

    g = p.add_argument_group("long-term feature bank (LFB)")
    g.add_argument("--write_feature_bank", metavar="DIR", default=None,
                   help="only write the LFB of --model_name_or_path: its RoI features of every key frame of the "
                        "training / validation sets go to DIR/lfb_train.safetensors and DIR/lfb_val.safetensors "
                        "(mmaction2's lfb_infer configs); then exit")
    g.add_argument("--lfb_dir", metavar="DIR", default=None,
                   help="train / evaluate an FBO model on the bank in DIR (a new model gets an FBOHead; a loaded "
                        "FBO model reads its bank from DIR)")
    g.add_argument("--fbo_type", default="non_local", choices=["non_local", "avg", "max"],
                   help="feature bank operator of a new FBO model (default: non_local)")
    g.add_argument("--fbo_latent_channels", type=int, default=512,
                   help="latent channels of the non_local operator (default: 512)")
    g.add_argument("--lfb_window_size", type=int, default=60, help="seconds of bank around a key frame (default: 60)")
    g.add_argument("--lfb_max_num_sampled_feat", type=int, default=5,
                   help="bank features sampled per second (default: 5)")
    g.add_argument("--lfb_device", default="auto", choices=["auto", "cpu", "gpu", "lmdb"],
                   help="where the bank lives: auto = gpu with CUDA else cpu; lmdb needs videohub[lfb] (default: auto)")

    g = p.add_argument_group("clips")
    g.add_argument("--clip_len", type=int, default=None, help="frames per clip (default: the backbone's, e.g. 4)")
    g.add_argument("--frame_interval", type=int, default=None, help="frame stride (default: the backbone's, e.g. 16)")
    g.add_argument("--short_side_size", type=int, default=256, help="resize the short side to this (default: 256)")
    g.add_argument("--crop_size", type=int, default=256, help="training crop after a random rescale of the short side "
                                                              "to [short, 1.25 short] (default: 256)")
    g.add_argument("--flip_ratio", type=float, default=0.5, help="horizontal flip probability in training (default: 0.5)")

    g = p.add_argument_group("training")
    g.add_argument("--output_dir", default=None,
                   help="where checkpoints, the model and all_results.json go (required unless --write_feature_bank)")
    g.add_argument("--seed", type=int, default=None, help="random seed (default: drawn once and shared)")
    g.add_argument("--per_device_train_batch_size", type=int, default=8, help="clips per process (default: 8)")
    g.add_argument("--per_device_eval_batch_size", type=int, default=None,
                   help="clips per process in evaluation (default: the train size)")
    g.add_argument("--learning_rate", type=float, default=0.01, help="SGD learning rate (default: 0.01)")
    g.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default: 0.9)")
    g.add_argument("--weight_decay", type=float, default=1e-5, help="weight decay (default: 1e-5, mmaction2's)")
    g.add_argument("--num_train_epochs", type=int, default=20, help="epochs (default: 20)")
    g.add_argument("--max_train_steps", type=int, default=None, help="optimizer steps; overrides --num_train_epochs")
    g.add_argument("--gradient_accumulation_steps", type=int, default=1, help="batches per optimizer step (default: 1)")
    g.add_argument("--max_grad_norm", type=float, default=40.0, help="clip gradients to this norm (default: 40)")
    g.add_argument("--num_warmup_steps", type=int, default=0, help="linear warmup steps (default: 0)")
    g.add_argument("--lr_steps", type=int, nargs="+", default=None,
                   help="optimizer steps at which the lr drops 10x (default: none, a fixed lr)")
    g.add_argument("--checkpointing_steps", type=int, default=None, help="save a resumable state every N steps")
    g.add_argument("--checkpoints_total_limit", type=int, default=None, help="keep only the newest N checkpoints")
    g.add_argument("--resume_from_checkpoint", default=None, help="'latest' or a checkpoint folder")
    g.add_argument("--eval_steps", type=int, default=None, help="also evaluate every N optimizer steps")
    g.add_argument("--save_best", default="auto", choices=["auto", "mAP@0.5IOU", "none"],
                   help="keep the weights of the best evaluation in output_dir/best_model and best.json "
                        "(auto = mAP@0.5IOU; none disables)")
    g.add_argument("--logging_steps", type=int, default=10, help="log loss and lr every N steps (default: 10)")
    g.add_argument("--mixed_precision", default=None, choices=["no", "fp16", "bf16"], help="mixed precision")

    g = p.add_argument_group("hub")
    g.add_argument("--push_to_hub", action="store_true", help="push model and card at the end")
    g.add_argument("--hub_model_id", default=None, help="repo id (default: the output_dir name)")
    g.add_argument("--hub_token", default=None, help="Hub token (default: the logged-in one)")
    args = p.parse_args(argv)
    if not args.output_dir and not args.write_feature_bank:
        p.error("--output_dir is required (except with --write_feature_bank)")
    if args.write_feature_bank and not args.model_name_or_path:
        p.error("--write_feature_bank needs --model_name_or_path (the trained detector whose RoI features form the bank)")
    if args.write_feature_bank and args.lfb_dir:
        p.error("--write_feature_bank and --lfb_dir go in two runs: first write the bank, then train on it")
    if not (args.train_annotations or args.val_annotations):
        p.error("nothing to do: give --train_annotations and/or --val_annotations")
    if args.train_annotations and not args.proposals:
        p.error("--train_annotations needs --proposals (person boxes of the key frames)")
    if args.val_annotations and not (args.val_proposals or args.proposals):
        p.error("--val_annotations needs --val_proposals (or --proposals)")
    if not args.model_name_or_path and not args.train_annotations:
        p.error("evaluating only (no --train_annotations) needs --model_name_or_path")
    if args.custom_classes and not args.label_map:
        p.error("--custom_classes needs --label_map")
    return args


# ---------------------------------------------------------------------------------------------- helpers
def deep_merge(base: Any, update: Any) -> Any:
    """``update`` merged into a copy of ``base`` (dicts recursively, other values replaced)."""
    import copy

    if isinstance(base, dict) and isinstance(update, dict):
        out = dict(base)
        for key, value in update.items():
            out[key] = deep_merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(update)


def class_table(args: argparse.Namespace) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """``(classes, categories)``: the ``{"id": action id, "name": ...}`` of the model's outputs 1, 2, ...
    and those evaluated.

    With --custom_classes both are those ids. Otherwise the outputs are action ids 1 .. the largest
    id of the label map (or of the annotation CSVs without one), and the label map's items are
    evaluated (mmaction2's 81 outputs with a 60-class label map, for example).
    """
    from videohub.data.datasets.ava import read_labelmap
    from videohub.errors import AnnotationError

    if args.label_map:
        items, _ = read_labelmap(args.label_map)
        by_id = {item["id"]: item["name"] for item in items}
        if args.custom_classes:
            chosen = [{"id": i, "name": by_id[i]} for i in args.custom_classes]
            return chosen, chosen
        return ([{"id": i, "name": by_id.get(i, str(i))} for i in range(1, max(by_id) + 1)],
                [{"id": i, "name": by_id[i]} for i in sorted(by_id)])
    largest = 0
    for ann in (args.train_annotations, args.val_annotations):
        if not ann:
            continue
        if not os.path.isfile(ann):
            raise AnnotationError(f"annotation file {ann!r} not found")
        with open(ann, encoding="utf-8") as f:
            for line in f:
                fields = line.strip().split(",")
                if len(fields) >= 7 and fields[6].strip().isdigit():
                    largest = max(largest, int(fields[6]))
    classes = [{"id": i, "name": str(i)} for i in range(1, largest + 1)]
    return classes, classes


def load_raw(ann: Optional[str], proposals: Optional[str], exclude: Optional[str], num_classes: int,
             args: argparse.Namespace, test_mode: bool):
    """Metadata dataset (no decoding) of one AVA annotation file, or ``None``."""
    if not ann:
        return None
    from videohub.data import load_dataset

    kwargs: Dict[str, Any] = dict(proposal_file=proposals, exclude_file=exclude, label_file=args.label_map,
                                  person_det_score_thr=args.person_det_score_thr, num_classes=num_classes,
                                  custom_classes=args.custom_classes, timestamp_start=args.timestamp_start,
                                  timestamp_end=args.timestamp_end, filename_tmpl=args.filename_tmpl,
                                  test_mode=test_mode, allow_pickle_proposals=args.allow_pickle_proposals,
                                  on_error="skip" if args.skip_bad_samples else "raise")
    if args.data_root:
        kwargs["data_prefix"] = args.data_root
    return load_dataset("ava", ann, cache_dir=args.cache_dir, **kwargs)


def pipelines(args: argparse.Namespace, clip_len: int, frame_interval: int) -> Dict[str, List[Dict[str, Any]]]:
    """mmaction2's AVA train / val pipelines (random rescale + crop + flip; resize only)."""
    short, crop = args.short_side_size, args.crop_size
    tail = [IMAGENET_NORM, dict(type="FormatShape", input_format="NCTHW", collapse=True),
            dict(type="ToTensor", keys=["imgs"])]
    train = [dict(type="SampleAVAFrames", clip_len=clip_len, frame_interval=frame_interval),
             dict(type="RawFrameDecode"), dict(type="RandomRescale", scale_range=(short, max(short * 320 // 256, short + 1))),
             dict(type="RandomCrop", size=crop), dict(type="Flip", flip_ratio=args.flip_ratio), *tail]
    val = [dict(type="SampleAVAFrames", clip_len=clip_len, frame_interval=frame_interval, test_mode=True),
           dict(type="RawFrameDecode"), dict(type="Resize", scale=(-1, short)), *tail]
    return {"train": train, "val": val}


def lfb_cfg(args: argparse.Namespace) -> Dict[str, Any]:
    """``FBOHead.lfb_cfg`` of the bank in ``--lfb_dir`` (its modes and channels read from its files)."""
    import torch

    from videohub.errors import ConfigError
    from videohub.models.ava.lfb import bank_channels

    modes = tuple(m for m in ("train", "val") if os.path.isfile(os.path.join(args.lfb_dir, f"lfb_{m}.safetensors")))
    if not modes:
        raise ConfigError(f"--lfb_dir {args.lfb_dir!r} holds neither lfb_train.safetensors nor lfb_val.safetensors; "
                          "write them with --write_feature_bank")
    device = args.lfb_device if args.lfb_device != "auto" else ("gpu" if torch.cuda.is_available() else "cpu")
    return dict(lfb_prefix_path=os.path.abspath(args.lfb_dir), max_num_sampled_feat=args.lfb_max_num_sampled_feat,
                window_size=args.lfb_window_size,
                lfb_channels=bank_channels(os.path.join(args.lfb_dir, f"lfb_{modes[0]}.safetensors")),
                dataset_modes=list(modes), device=device)


def fbo_roi_head(roi_head: Dict[str, Any], lfb: Dict[str, Any], args: argparse.Namespace) -> Dict[str, Any]:
    """``roi_head`` with mmaction2's ``FBOHead`` of ``--fbo_type`` and the bbox head widened to its output."""
    st_channels = int(roi_head["bbox_head"]["in_channels"])
    lt_channels = int(lfb["lfb_channels"])
    if args.fbo_type == "non_local":
        fbo = dict(type="non_local", st_feat_channels=st_channels, lt_feat_channels=lt_channels,
                   latent_channels=args.fbo_latent_channels, num_st_feat=1,
                   num_lt_feat=args.lfb_window_size * args.lfb_max_num_sampled_feat, num_non_local_layers=2,
                   st_feat_dropout_ratio=0.2, lt_feat_dropout_ratio=0.2, pre_activate=True)
        fbo_channels = args.fbo_latent_channels
    else:
        fbo, fbo_channels = dict(type=args.fbo_type), lt_channels
    return {**roi_head, "shared_head": dict(type="FBOHead", lfb_cfg=lfb, fbo_cfg=fbo),
            "bbox_head": {**roi_head["bbox_head"], "in_channels": st_channels + fbo_channels}}


def build_model(args: argparse.Namespace, classes: List[Dict[str, Any]]):
    """The detector: loaded (``--model_name_or_path``, head resized to the classes) or new.

    With ``--lfb_dir`` a new model gets an ``FBOHead`` on that bank, and a loaded FBO model reads
    its bank from there.
    """
    import videohub
    from videohub.errors import ConfigError

    names = {0: "__background__", **{i + 1: c["name"] for i, c in enumerate(classes)}}
    label_kwargs = dict(id2label=names, label2id={n: i for i, n in names.items()})
    lfb = lfb_cfg(args) if args.lfb_dir else None
    if args.model_name_or_path:
        config = videohub.AutoVideoConfig.from_pretrained(args.model_name_or_path)
        if classes and [config.id2label.get(i) for i in range(config.num_labels)] != list(names.values()):
            config.id2label, config.label2id = label_kwargs["id2label"], label_kwargs["label2id"]
        shared = (getattr(config, "roi_head", None) or {}).get("shared_head") or {}
        if shared.get("type") == "FBOHead":
            stored = dict(shared.get("lfb_cfg") or {})
            if lfb is not None:
                if int(stored.get("lfb_channels", lfb["lfb_channels"])) != lfb["lfb_channels"]:
                    raise ConfigError(f"{args.model_name_or_path} expects a bank of {stored['lfb_channels']} channels, "
                                      f"--lfb_dir {args.lfb_dir!r} has {lfb['lfb_channels']}")
                stored.update({k: lfb[k] for k in ("lfb_prefix_path", "dataset_modes", "device")})
                config.roi_head = {**config.roi_head, "shared_head": {**shared, "lfb_cfg": stored}}
            elif not os.path.isdir(str(stored.get("lfb_prefix_path"))):
                raise ConfigError(f"{args.model_name_or_path} is an FBO model whose bank {stored.get('lfb_prefix_path')!r} "
                                  "does not exist here: pass --lfb_dir")
        elif lfb is not None:
            raise ConfigError(f"--lfb_dir: {args.model_name_or_path} has no FBOHead (train a new FBO model with "
                              "--lfb_dir and without --model_name_or_path)")
        model = videohub.AutoVideoModel.from_pretrained(args.model_name_or_path, config=config,
                                                        ignore_mismatched_sizes=True)
        return model
    overrides = json.loads(args.config_overrides) if args.config_overrides else {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"--config_overrides must be a JSON object, got {args.config_overrides!r}")
    preset = BACKBONES[args.backbone]
    model_cfg = deep_merge({"backbone": preset["backbone"],
                            "roi_head": {"bbox_head": {"in_channels": preset["in_channels"]}},
                            "num_frames": preset["clip"][0]}, overrides)
    if lfb is not None and "shared_head" not in model_cfg["roi_head"]:
        model_cfg["roi_head"] = fbo_roi_head(model_cfg["roi_head"], lfb, args)
    model_type = args.model_type if args.model_type.startswith("videohub-") else f"videohub-{args.model_type}"
    config = videohub.AutoVideoConfig.for_model_type(model_type, **model_cfg, **label_kwargs)
    return videohub.AutoVideoModel.from_config(config)


def write_feature_bank(args: argparse.Namespace, datasets: Dict[str, Any], accelerator: Any,
                       batch_size: int) -> Dict[str, Any]:
    """mmaction2's ``lfb_infer`` runs: ``--model_name_or_path`` with an ``LFBInferHead`` over each
    of ``datasets`` (``{mode: dataset}``, test pipeline) writes ``<--write_feature_bank>/lfb_<mode>.safetensors``.

    Each process scores every ``num_processes``-th key frame; the head merges the per-process
    banks. Returns ``{lfb_<mode>_boxes: stored features, lfb_<mode>_key_frames, lfb_channels}``.
    """
    import torch
    from accelerate.utils import gather_object
    from torch.utils.data import DataLoader, Subset
    from tqdm.auto import tqdm

    import videohub
    from videohub.data.datasets.ava import AVACollator
    from videohub.errors import ConfigError
    from videohub.models.ava import LFBInferHead
    from videohub.models.ava.lfb import bank_channels

    net = videohub.AutoVideoModel.from_pretrained(args.model_name_or_path).to(accelerator.device).eval()
    if getattr(net.roi_head, "with_shared_head", False):
        raise ConfigError(f"--write_feature_bank: {args.model_name_or_path} already has a shared head "
                          f"({type(net.roi_head.shared_head).__name__}); use a plain detector (mmaction2's lfb_infer "
                          "configs use the SlowOnly detector)")
    results: Dict[str, Any] = {}
    for mode, dataset in datasets.items():
        head = LFBInferHead(args.write_feature_bank, dataset_mode=mode)
        net.roi_head.shared_head = head
        shard = Subset(dataset, range(accelerator.process_index, len(dataset), accelerator.num_processes))
        loader = DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=args.num_workers,
                            collate_fn=AVACollator())
        frames = 0
        for batch in tqdm(loader, desc=f"lfb {mode}", disable=not accelerator.is_local_main_process):
            with torch.no_grad():
                net(pixel_values=batch["pixel_values"].to(accelerator.device),
                    boxes=[b.to(accelerator.device) for b in batch["boxes"]], img_metas=batch["img_metas"])
            frames += len(batch["img_metas"])
        boxes = len(head.all_features)
        path = head.save()
        counts = gather_object([(frames, boxes)])
        results[f"lfb_{mode}_key_frames"] = sum(c[0] for c in counts)
        results[f"lfb_{mode}_boxes"] = sum(c[1] for c in counts)
        if path is not None and results[f"lfb_{mode}_boxes"]:
            results["lfb_channels"] = bank_channels(path)
        del net.roi_head.shared_head
    return results


def evaluate(model: Any, dataset: Any, accelerator: Any, batch_size: int, classes: List[Dict[str, Any]],
             categories: List[Dict[str, Any]], ann_file: str, exclude_file: Optional[str],
             num_workers: int = 0) -> Dict[str, Any]:
    """Frame mAP@0.5IOU over ``categories`` of ``dataset`` (output ``i`` is action ``classes[i - 1]``):
    each process scores every ``num_processes``-th key frame, the detections of all processes are
    gathered, and every process computes the same metric (``num_workers`` loader workers, default 0).

    Returns ``{eval_mAP@0.5IOU, eval_samples (key frames), eval_boxes (scored person boxes)}``.
    """
    import torch
    from accelerate.utils import gather_object
    from torch.utils.data import DataLoader, Subset
    from tqdm.auto import tqdm

    from videohub.data.datasets.ava import AVACollator
    from videohub.metrics.ava import frame_map_of_rows
    from videohub.training import broadcast_bn_buffers

    broadcast_bn_buffers(model, accelerator)
    net = accelerator.unwrap_model(model)
    was_training = net.training
    net.eval()
    shard = Subset(dataset, range(accelerator.process_index, len(dataset), accelerator.num_processes))
    loader = DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=AVACollator())
    rows: List[tuple] = []
    frames = boxes = 0
    for batch in tqdm(loader, desc="eval", disable=not accelerator.is_local_main_process):
        with torch.no_grad():
            out = net(pixel_values=batch["pixel_values"].to(accelerator.device),
                      boxes=[b.to(accelerator.device) for b in batch["boxes"]], img_metas=batch["img_metas"])
        for meta, detections in zip(batch["img_metas"], net.post_process(out, batch["img_metas"])):
            for det in detections:
                rows.append((meta["video_id"], int(meta["timestamp"]), *det["box"], classes[det["label"] - 1]["id"],
                             det["score"]))
        frames += len(batch["img_metas"])
        boxes += sum(len(b) for b in batch["boxes"])
    gathered = gather_object([(rows, frames, boxes)])
    all_rows = [row for part in gathered for row in part[0]]
    metrics = frame_map_of_rows(all_rows, ann_file, categories, exclude_file)
    if was_training:
        net.train()
    mean_ap = metrics["mAP@0.5IOU"]
    return {"eval_mAP@0.5IOU": float(mean_ap) if not math.isnan(mean_ap) else 0.0,
            "eval_samples": sum(part[1] for part in gathered), "eval_boxes": sum(part[2] for part in gathered)}


def _public_argv(argv: Optional[Sequence[str]]) -> List[str]:
    """The command line without the value of --hub_token (stored in checkpoints)."""
    out, hide = [], False
    for item in list(argv if argv is not None else sys.argv[1:]):
        out.append("***" if hide else ("--hub_token=***" if item.startswith("--hub_token=") else item))
        hide = item == "--hub_token"
    return out


# ---------------------------------------------------------------------------------------------- main
def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Run the example with command-line arguments ``argv`` (default ``sys.argv[1:]``); return all_results."""
    args = parse_args(argv)
    import torch
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    import videohub
    from videohub.data import make_transform
    from videohub.data.datasets.ava import AVACollator
    from videohub.data.samplers import DistributedSampler
    from videohub.errors import ConfigError
    from videohub.model_card import build_model_card
    from videohub import training
    from videohub.training.optimizer import build_optimizer
    from videohub.utils import logging as vh_logging
    from videohub.utils.io import atomic_write_text

    cfg = training.LoopConfig(output_dir=args.output_dir or args.write_feature_bank, seed=args.seed,
                          per_device_train_batch_size=args.per_device_train_batch_size,
                          gradient_accumulation_steps=args.gradient_accumulation_steps)
    accelerator = training.make_accelerator(cfg, mixed_precision=args.mixed_precision)
    logger = vh_logging.get_logger("videohub.examples.run_detection")
    if accelerator.is_main_process:
        vh_logging.set_verbosity(logging.INFO)
    resume = training.find_checkpoint(args.output_dir, args.resume_from_checkpoint) if args.resume_from_checkpoint else None
    seed = training.shared_seed(args.seed if args.seed is not None or resume is None else training.checkpoint_seed(resume),
                            accelerator)
    set_seed(seed)

    # ---- classes and data (metadata only)
    classes, categories = class_table(args)
    if not classes:
        raise ConfigError("no action class found: give --label_map or annotations with action ids >= 1")
    num_classes = len(classes) + 1
    with accelerator.main_process_first():
        # the bank covers every key frame of both sets, as mmaction2's lfb_infer configs (test mode)
        raw_train = load_raw(args.train_annotations, args.proposals, args.exclude_file, num_classes, args,
                             bool(args.write_feature_bank))
        raw_val = load_raw(args.val_annotations, args.val_proposals or args.proposals, args.val_exclude_file,
                           num_classes, args, True)
    eval_batch = args.per_device_eval_batch_size or args.per_device_train_batch_size
    on_error = "skip" if args.skip_bad_samples else "raise"
    if args.write_feature_bank:
        config = videohub.AutoVideoConfig.from_pretrained(args.model_name_or_path)
        preset = BACKBONES[args.backbone]["clip"]
        test_pipe = pipelines(args, args.clip_len or config.num_frames or preset[0],
                              args.frame_interval or preset[1])["val"]
        sets = {mode: raw.with_transform(make_transform(test_pipe, on_error=on_error))
                for mode, raw in (("train", raw_train), ("val", raw_val)) if raw is not None}
        results = write_feature_bank(args, sets, accelerator, eval_batch)
        if accelerator.is_main_process:
            logger.info("feature bank in %s: %s", args.write_feature_bank, json.dumps(results))
        accelerator.wait_for_everyone()
        accelerator.end_training()
        return results

    model = build_model(args, classes)
    if model.config.num_labels != len(classes) + 1:
        raise ConfigError(f"the model predicts {model.config.num_labels - 1} actions but the data has {len(classes)}")
    preset = BACKBONES[args.backbone]["clip"]
    clip_len = args.clip_len or model.config.num_frames or preset[0]
    frame_interval = args.frame_interval or preset[1]
    pipes = pipelines(args, clip_len, frame_interval)
    train_ds = raw_train.with_transform(make_transform(pipes["train"], on_error=on_error)) if raw_train else None
    val_ds = raw_val.with_transform(make_transform(pipes["val"], on_error=on_error)) if raw_val else None
    # best_model/ + best.json track the evaluations of a training run (the final one included)
    hook = training.EvalHook(save_best=None if args.save_best == "none" else "eval_mAP@0.5IOU")

    def run_eval(step: Optional[int] = None) -> Dict[str, Any]:
        metrics = evaluate(model, val_ds, accelerator, eval_batch, classes, categories, args.val_annotations,
                           args.val_exclude_file, args.num_workers)
        if step is not None and hook.update(metrics, step):
            training.save_best(accelerator, model, args.output_dir, hook)
        return metrics

    results: Dict[str, Any] = {}
    if train_ds is not None:
        optimizer = build_optimizer(model, dict(type="SGD", lr=args.learning_rate, momentum=args.momentum,
                                                weight_decay=args.weight_decay))
        seeded = training.SeededDataset(train_ds, seed)
        sampler = DistributedSampler(seeded, num_replicas=1, rank=0, shuffle=True, seed=seed)
        generator = torch.Generator()
        generator.manual_seed(seed)
        loader = DataLoader(seeded, batch_size=args.per_device_train_batch_size, sampler=sampler,
                            num_workers=args.num_workers, collate_fn=AVACollator(), generator=generator)
        model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
        steps_per_epoch = max(math.ceil(len(loader) / args.gradient_accumulation_steps), 1)
        max_steps = args.max_train_steps or args.num_train_epochs * steps_per_epoch
        num_epochs = math.ceil(max_steps / steps_per_epoch)
        lr_config: Dict[str, Any] = {"policy": "step", "step": args.lr_steps, "by_epoch": False} if args.lr_steps \
            else {"policy": "fixed"}
        if args.num_warmup_steps:
            lr_config.update(warmup="linear", warmup_iters=args.num_warmup_steps, warmup_ratio=0.1)
        scheduler = training.make_lr_scheduler(optimizer, lr_config, steps_per_epoch, max_steps)
        completed, start_epoch, skip = 0, 0, 0
        if resume is not None:
            with open(os.path.join(resume, training.STATE_FILE), encoding="utf-8") as f:
                state = json.load(f)
            accelerator.load_state(resume)
            scheduler.load_state_dict(dict(state["scheduler"], lr_lambdas=[None] * len(scheduler.lr_lambdas)))
            completed, start_epoch, skip = state["completed_steps"], state["epoch"], state["batches_in_epoch"]
            hook.best_score, hook.best_step = state.get("best_score"), state.get("best_step")
            logger.info("resumed from %s at step %d", resume, completed)
        if accelerator.is_main_process:
            logger.info("***** training: %d key frames, %d optimizer steps, %d clips per step (%d processes) *****",
                        len(train_ds), max_steps, args.per_device_train_batch_size * accelerator.num_processes
                        * args.gradient_accumulation_steps, accelerator.num_processes)
        progress = tqdm(range(max_steps), initial=completed, desc="train", disable=not accelerator.is_local_main_process)
        running: Dict[str, float] = {}
        count = 0
        model.train()
        for epoch in range(start_epoch, num_epochs):
            if completed >= max_steps:
                break
            sampler.set_epoch(epoch)
            seeded.set_epoch(epoch)
            loader.set_epoch(epoch)
            batches, epoch_loader = 0, loader
            if epoch == start_epoch and skip:
                epoch_loader = accelerator.skip_first_batches(loader, skip)
                epoch_loader.set_epoch(epoch)
                batches = skip
            for batch in epoch_loader:
                batches += 1
                with accelerator.accumulate(model):
                    out = model(pixel_values=batch["pixel_values"], boxes=batch["boxes"], gt_boxes=batch["gt_boxes"],
                                gt_labels=batch["gt_labels"], img_metas=batch["img_metas"])
                    accelerator.backward(out.loss)
                    if accelerator.sync_gradients and args.max_grad_norm:
                        accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad()
                for key, value in out.losses.items():
                    running[key] = running.get(key, 0.0) + float(value.detach().float())
                count += 1
                if not accelerator.sync_gradients:
                    continue
                scheduler.step()
                completed += 1
                progress.update(1)
                if completed % args.logging_steps == 0 or completed == max_steps:
                    means = {k: accelerator.reduce(torch.tensor(v / count, device=accelerator.device), "mean").item()
                             for k, v in sorted(running.items())}
                    results["train_loss"] = means.get("loss_action_cls", 0.0)
                    results.update({f"train_{k}": v for k, v in means.items() if k != "loss_action_cls"})
                    progress.set_postfix(loss=f"{results['train_loss']:.4f}", lr=f"{scheduler.get_last_lr()[0]:.3g}")
                    running, count = {}, 0
                # evaluate before checkpointing, so the checkpoint records the best score of its own step
                if val_ds is not None and args.eval_steps and completed % args.eval_steps == 0 and completed < max_steps:
                    metrics = run_eval(completed)
                    if accelerator.is_main_process:
                        logger.info("step %d: %s", completed, metrics)
                if args.checkpointing_steps and completed % args.checkpointing_steps == 0:
                    state = {"completed_steps": completed, "epoch": epoch, "batches_in_epoch": batches, "seed": seed,
                             "num_processes": accelerator.num_processes, "meta": {"argv": _public_argv(argv)},
                             "scheduler": {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"},
                             "best_score": hook.best_score, "best_step": hook.best_step}
                    training.save_checkpoint(accelerator, args.output_dir, f"step_{completed}", state,
                                         args.checkpoints_total_limit)
                if completed >= max_steps:
                    break
        progress.close()
        results["completed_steps"] = completed
    else:
        model = accelerator.prepare(model)
    if val_ds is not None:
        results.update(run_eval(results.get("completed_steps")))
    if hook.best_score is not None:
        results.update(best_metric=hook.key, best_score=hook.best_score, best_step=hook.best_step)
    results["seed"] = seed
    if accelerator.is_main_process:
        logger.info("results: %s", json.dumps(results, indent=2))

    # ---- save and push
    unwrapped = accelerator.unwrap_model(model)
    repo_id = args.hub_model_id or os.path.basename(os.path.abspath(args.output_dir))
    if accelerator.is_main_process:
        os.makedirs(args.output_dir, exist_ok=True)
        unwrapped.save_pretrained(args.output_dir)
        card_metrics = {"mAP@0.5IOU": results["eval_mAP@0.5IOU"]} if "eval_mAP@0.5IOU" in results else None
        card = build_model_card(unwrapped.config, repo_id=repo_id, metrics=card_metrics,
                                dataset=args.dataset_name or "custom")
        card.save(os.path.join(args.output_dir, "README.md"))
        atomic_write_text(os.path.join(args.output_dir, "all_results.json"), json.dumps(results, indent=2))
        if args.push_to_hub:
            unwrapped.push_to_hub(repo_id, model_card=card, token=args.hub_token,
                                  commit_message="Upload detector trained with run_detection.py")
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

"""The conversion command: an mmaction2 checkpoint → a Hugging Face model folder.

:func:`convert` reads the checkpoint (downloading a preset's published one), finds its config
(``--config``, the preset's, or the text mmcv stored in the checkpoint), builds the videohub model
of the architecture :func:`~videohub.conversion.presets.config_class_of` picks (recognizers,
skeleton recognizers, localizers, detectors) with :func:`~videohub.conversion.mmaction2.build_model`
and writes ``model.safetensors``,
``config.json``, ``preprocessor_config.json`` and the model card; :func:`main` is the command line
of ``scripts/convert_mmaction2_checkpoint.py`` and ``videohub convert``.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Optional, Sequence

import torch
from huggingface_hub import create_repo, upload_folder

from ..configuration_utils import RecognizerConfig
from ..errors import CheckpointError, ConfigError
from ..modeling_utils import VideoPreTrainedModel
from ..processing import VideoProcessor
from ..utils import logging
from . import cards, presets
from .config_reader import load_config, load_config_text
from .mmaction2 import (
    build_model,
    config_from_mmaction2,
    read_checkpoint,
    read_label_map,
    split_model_cfg,
    takes_rgb_video,
)

logger = logging.get_logger(__name__)


def download_checkpoint(url: str, cache_dir: str) -> str:
    """Download ``url`` into ``cache_dir`` once and return the local path.

    OpenMMLab names published checkpoints ``<name>-<first 8 hex digits of sha256>.pth``; that
    prefix is checked (a mismatch raises :class:`CheckpointError` and keeps nothing).
    """
    os.makedirs(cache_dir, exist_ok=True)
    filename = os.path.basename(url)
    target = os.path.join(cache_dir, filename)
    if not os.path.isfile(target):
        match = re.search(r"-([a-f0-9]{8,})\.pth$", filename)
        logger.warning("downloading %s", url)
        try:
            torch.hub.download_url_to_file(url, target, hash_prefix=match.group(1) if match else None)
        except RuntimeError as exc:  # torch.hub's sha256 prefix check
            raise CheckpointError(f"{url}: {exc}") from None
    return target


def convert(
    output: str,
    checkpoint: Optional[str] = None,
    config: Optional[str] = None,
    preset: Optional[str] = None,
    label_map: Optional[str] = None,
    push_to_hub: Optional[str] = None,
    cache_dir: Optional[str] = None,
) -> VideoPreTrainedModel:
    """Convert an mmaction2 checkpoint (recognizer, skeleton recognizer, localizer or detector) into a Hugging Face folder.

    Writes ``model.safetensors``, ``config.json``, ``preprocessor_config.json`` (recognizers fed RGB
    frames: from the test pipeline; audio and optical-flow recognizers, skeleton recognizers (keypoints
    or pose heatmaps), localizers (feature sequences, SSN's proposal frames) and detectors (key-frame
    clips with person boxes) have none) and ``README.md`` (the model card) into ``output``. A BSN
    checkpoint is one of its two presets (TEM or PEM), each converted on its own.

    Args:
        output: Output folder.
        checkpoint: mmaction2 ``.pth``. Default ``None``: with ``preset``, the published checkpoint is
            downloaded (its sha256 prefix is checked).
        config: mmaction2 config file. Default ``None``: the preset's config, else the config text
            mmcv stored in the checkpoint's ``meta``.
        preset: A preset name (see :mod:`videohub.conversion.presets`). Default ``None``.
        label_map: Class-name file, one per line. Default ``None``.
        push_to_hub: Hub repo id to upload the folder to. Default ``None``.
        cache_dir: Download folder for preset checkpoints. Default ``~/.cache/videohub/mmaction2``.

    Returns:
        The converted model (in eval mode).
    """
    entry = presets.get_preset(preset) if preset else None
    if checkpoint is None:
        if entry is None:
            raise ConfigError("--checkpoint is required unless --preset names a published checkpoint")
        cache_dir = cache_dir or os.path.join(os.path.expanduser("~"), ".cache", "videohub", "mmaction2")
        checkpoint = download_checkpoint(entry["checkpoint_url"], cache_dir)
    ckpt = read_checkpoint(checkpoint)

    id2label = read_label_map(label_map) if label_map else None
    if config is None and entry is not None:
        model_cfg, test_pipeline = entry["model"], entry["test_pipeline"]
        vh_config = presets.config_from_entry(entry, id2label)
    else:
        if config is not None:
            cfg = load_config(config)
        elif isinstance(ckpt.meta.get("config"), str):
            cfg = load_config_text(ckpt.meta["config"], filename=f"{ckpt.path}[meta.config]")
        else:
            raise ConfigError(f"{ckpt.path}: no --config or --preset given and the checkpoint's meta holds no config text")
        model_cfg, test_pipeline = split_model_cfg(cfg)
        vh_config = config_from_mmaction2(model_cfg, test_pipeline, id2label,
                                          config_class=presets.config_class_of(model_cfg, test_pipeline))
    model = build_model(vh_config, ckpt.state_dict, source=ckpt.path)

    os.makedirs(output, exist_ok=True)
    model.save_pretrained(output)
    if test_pipeline and not isinstance(vh_config, RecognizerConfig):
        logger.info("a %s model is not fed by a video processor (docs/localization.md, docs/detection.md): "
                    "none is written", vh_config.task)
    elif test_pipeline and vh_config.model_type[len("videohub-"):] in presets.SKELETON_INPUTS:
        logger.info("a skeleton-based model takes keypoints or pose heatmaps made by the pose pipeline, not "
                    "decoded video: no video processor is written")
    elif test_pipeline:
        if takes_rgb_video(model_cfg):
            VideoProcessor.from_mmaction2_pipeline(test_pipeline).save_pretrained(output)
        else:
            logger.warning("the model does not take RGB frames (audio features or optical flow): "
                           "no video processor is written")

    repo_id = push_to_hub or (cards.repo_id_for(entry) if entry else os.path.basename(os.path.abspath(output)))
    if entry is not None:
        card = cards.preset_card(entry, repo_id=repo_id, sha256=ckpt.sha256)
    else:
        card = cards.conversion_card(vh_config, repo_id=repo_id, source=ckpt.path, sha256=ckpt.sha256)
    card.save(os.path.join(output, "README.md"))

    if push_to_hub:
        create_repo(push_to_hub, exist_ok=True)
        upload_folder(repo_id=push_to_hub, folder_path=output,
                      commit_message=f"Convert mmaction2 checkpoint {os.path.basename(ckpt.path)}")
    return model


def build_parser() -> argparse.ArgumentParser:
    """Command-line options of the converter."""
    parser = argparse.ArgumentParser(
        prog="convert_mmaction2_checkpoint",
        description="Convert an mmaction2 v0.x checkpoint (recognizer, skeleton recognizer, localizer or detector) "
                    "into a videohub (Hugging Face) model folder.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", help="mmaction2 config file (.py); read without executing it")
    source.add_argument("--preset", help="name of a published mmaction2 checkpoint (see --list-presets)")
    parser.add_argument("--checkpoint", help="mmaction2 .pth file (default with --preset: download the published one)")
    parser.add_argument("--output", help="output folder")
    parser.add_argument("--push-to-hub", metavar="ORG/NAME", help="upload the folder to this Hub repo")
    parser.add_argument("--label-map", metavar="LABELS.TXT", help="class names, one per line")
    parser.add_argument("--cache-dir", help="download folder for preset checkpoints")
    parser.add_argument("--list-presets", action="store_true", help="print the preset names and exit")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the converter with command-line arguments ``argv`` (default ``sys.argv[1:]``)."""
    args = build_parser().parse_args(argv)
    if args.list_presets:
        for entry in presets.list_presets():
            print(f"{entry['name']}\t{entry['arch']}\t{entry['dataset']}")
        return 0
    if not args.output:
        build_parser().error("--output is required")
    convert(
        output=args.output,
        checkpoint=args.checkpoint,
        config=args.config,
        preset=args.preset,
        label_map=args.label_map,
        push_to_hub=args.push_to_hub,
        cache_dir=args.cache_dir,
    )
    print(f"wrote {args.output}")
    return 0

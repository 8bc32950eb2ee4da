#!/usr/bin/env python
"""videohub end to end, offline: synthetic videos → fine-tuned TSN → local Hub → reload by id → predictions.

1. Write a small labelled set of real H.264 videos (an arrow moving left/right/up/down; the direction
   is the class) with ``videohub.data.synthetic``.
2. Fine-tune a small TSN (the first two stages of ResNet-18, 3 segments of 32x32) on the CPU (~30 s on 2 cores).
3. Publish model, processor and model card to videohub's embedded Hub server under an ``org/name`` id.
4. Reload with ``AutoVideoModel.from_pretrained("org/name")`` through huggingface_hub, check the logits
   equal the pushed model's, classify the held-out videos and print the accuracy.

Run:  python examples/quickstart.py [--train-steps 300] [--workdir outputs/quickstart]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from videohub import AutoVideoModel, AutoVideoProcessor, TSNConfig, TSNForVideoClassification, VideoProcessor
from videohub.data.synthetic import DIRECTIONS, make_dataset
from videohub.data.video_reader import VideoReader
from videohub.hub import local_hub
from videohub.processing import IMAGENET_MEAN, IMAGENET_STD
from videohub.training import build_lr_scheduler

TRANSFORMS = [
    dict(type="Resize", scale=[32, 32], keep_ratio=False),
    dict(type="Normalize", mean=IMAGENET_MEAN, std=IMAGENET_STD, to_bgr=False),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="outputs/quickstart", help="output folder (default: outputs/quickstart)")
    parser.add_argument("--videos-per-class", type=int, default=32, help="videos per class (default: 32)")
    parser.add_argument("--train-steps", type=int, default=400,
                        help="optimizer steps, about a minute on 2 CPU cores (default: 400)")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per step (default: 8)")
    parser.add_argument("--repo-id", default="demo/tsn-r18s2-1x1x3-synthetic-directions",
                        help="Hub id to publish under (default: demo/tsn-r18s2-1x1x3-synthetic-directions)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return parser.parse_args()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def decode_all(root: str, items) -> list:
    """Decode every frame of each training video once (the set is tiny)."""
    clips = []
    for item in tqdm(items, desc="decode train videos", leave=False):
        reader = VideoReader(os.path.join(root, item.path))
        clips.append((reader.get_frames(list(range(reader.num_frames))), item.label))
    return clips


def train(model, clips, steps: int, batch_size: int) -> None:
    """Train for ``steps`` steps, sampling 3 random segments per clip (TSN training)."""
    sampler = dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=3)
    train_processor = VideoProcessor(sampler=sampler, transforms=TRANSFORMS)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    scheduler = build_lr_scheduler(optimizer, steps, "cosine", min_lr=0.0)
    model.train()
    start = time.time()
    bar = tqdm(range(steps), desc="fine-tune TSN", unit="step")
    for _ in bar:
        batch = [clips[i] for i in np.random.randint(0, len(clips), size=batch_size)]
        pixel_values = torch.cat([train_processor(frames)["pixel_values"] for frames, _ in batch])
        labels = torch.tensor([label for _, label in batch])
        out = model(pixel_values=pixel_values, labels=labels)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        scheduler.step()
        bar.set_postfix(loss=f"{out.loss.item():.3f}", acc=f"{out.losses['top1_acc'].item():.2f}")
    print(f"trained {steps} steps in {time.time() - start:.0f} s")


def main() -> int:
    args = parse_args()
    seed_everything(args.seed)
    data_root = os.path.join(args.workdir, "data")
    splits = make_dataset(data_root, videos_per_class=args.videos_per_class, num_frames=16, height=48, width=48,
                          seed=args.seed)
    print(f"synthetic videos: {len(splits['train'])} train, {len(splits['val'])} held out, classes {list(DIRECTIONS)}")

    config = TSNConfig(
        backbone=dict(type="ResNet", depth=18, num_stages=2, out_indices=[1], strides=[1, 2], dilations=[1, 1]),
        cls_head=dict(type="TSNHead", in_channels=128, dropout_ratio=0.2, init_std=0.01),
        id2label=dict(enumerate(DIRECTIONS)),
        num_frames=3,
    )
    model = TSNForVideoClassification(config)
    processor = VideoProcessor(
        sampler=dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
        transforms=TRANSFORMS,
    )
    train(model, decode_all(data_root, splits["train"]), args.train_steps, args.batch_size)
    model.eval()

    token = "quickstart-token"
    with local_hub(os.path.join(args.workdir, "hub"), token=token) as hub:
        print(f"local Hub at {hub.url}; publishing {args.repo_id}")
        model.push_to_hub(args.repo_id, token=token)
        processor.push_to_hub(args.repo_id, token=token)

        reloaded = AutoVideoModel.from_pretrained(args.repo_id).eval()
        reloaded_processor = AutoVideoProcessor.from_pretrained(args.repo_id)
        correct = 0
        for item in splits["val"]:
            inputs = reloaded_processor(os.path.join(data_root, item.path))
            with torch.no_grad():
                logits = reloaded(**inputs).logits
                pushed = model(**inputs).logits
                if not torch.equal(logits, pushed):
                    raise SystemExit(f"the model reloaded from the Hub gives different logits: max diff "
                                     f"{(logits - pushed).abs().max():.3g}")
            probs = logits.softmax(-1)[0]
            pred = int(probs.argmax())
            correct += pred == item.label
            mark = "ok " if pred == item.label else "MISS"
            print(f"{mark} {item.path:<36} true={DIRECTIONS[item.label]:<5} "
                  f"pred={reloaded.config.id2label[pred]:<5} p={probs[pred]:.2f}")
    accuracy = correct / len(splits["val"])
    chance = 1 / len(DIRECTIONS)
    print(f"held-out accuracy: {accuracy:.2%} ({correct}/{len(splits['val'])}; chance {chance:.0%})")
    return 0 if accuracy > 2 * chance else 1


if __name__ == "__main__":
    sys.exit(main())

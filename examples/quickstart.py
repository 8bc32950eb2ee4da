#!/usr/bin/env python
"""videohub end to end, offline: synthetic videos → fine-tuned TSN → local Hub → reload by id → predictions.

1. Write a small labelled set of real H.264 videos (an arrow moving left/right/up/down; the direction
   is the class) with ``videohub.data.synthetic``.
2. Fine-tune a small TSN (ResNet-18, 3 segments) on it for about a minute on the CPU.
3. Publish model, processor and model card to videohub's embedded Hub server under an ``org/name`` id.
4. Reload with ``AutoVideoModel.from_pretrained("org/name")`` through huggingface_hub, check the logits
   equal the pushed model's, classify the held-out videos and print the accuracy.

Run:  python examples/quickstart.py [--train-seconds 60] [--workdir outputs/quickstart]
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

TRANSFORMS = [
    dict(type="Resize", scale=[-1, 64]),
    dict(type="CenterCrop", crop_size=64),
    dict(type="Normalize", mean=IMAGENET_MEAN, std=IMAGENET_STD, to_bgr=False),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="outputs/quickstart", help="output folder (default: outputs/quickstart)")
    parser.add_argument("--videos-per-class", type=int, default=16, help="videos per class (default: 16)")
    parser.add_argument("--train-seconds", type=float, default=60.0, help="training time budget (default: 60)")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per step (default: 8)")
    parser.add_argument("--repo-id", default="demo/tsn-r18-1x1x3-synthetic-directions",
                        help="Hub id to publish under (default: demo/tsn-r18-1x1x3-synthetic-directions)")
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


def train(model, clips, seconds: float, batch_size: int) -> None:
    """Train until the time budget is spent, sampling 3 random segments per clip (TSN training)."""
    sampler = dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=3)
    train_processor = VideoProcessor(sampler=sampler, transforms=TRANSFORMS)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    model.train()
    start, step = time.time(), 0
    bar = tqdm(total=int(seconds), desc="fine-tune TSN", unit="s")
    while time.time() - start < seconds:
        batch = [clips[i] for i in np.random.randint(0, len(clips), size=batch_size)]
        pixel_values = torch.cat([train_processor(frames)["pixel_values"] for frames, _ in batch])
        labels = torch.tensor([label for _, label in batch])
        out = model(pixel_values=pixel_values, labels=labels)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        step += 1
        bar.n = min(int(time.time() - start), int(seconds))
        bar.set_postfix(step=step, loss=f"{out.loss.item():.3f}", acc=f"{out.losses['top1_acc'].item():.2f}")
    bar.close()
    print(f"trained {step} steps in {time.time() - start:.0f} s")


def main() -> int:
    args = parse_args()
    seed_everything(args.seed)
    data_root = os.path.join(args.workdir, "data")
    splits = make_dataset(data_root, videos_per_class=args.videos_per_class, seed=args.seed)
    print(f"synthetic videos: {len(splits['train'])} train, {len(splits['val'])} held out, classes {list(DIRECTIONS)}")

    config = TSNConfig(
        backbone=dict(type="ResNet", depth=18, norm_eval=False),
        cls_head=dict(type="TSNHead", in_channels=512, dropout_ratio=0.2, init_std=0.01),
        id2label=dict(enumerate(DIRECTIONS)),
        num_frames=3,
    )
    model = TSNForVideoClassification(config)
    processor = VideoProcessor(
        sampler=dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=3, test_mode=True),
        transforms=TRANSFORMS,
    )
    train(model, decode_all(data_root, splits["train"]), args.train_seconds, args.batch_size)
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
                if not torch.equal(logits, model(**inputs).logits):
                    raise SystemExit("the model reloaded from the Hub gives different logits")
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

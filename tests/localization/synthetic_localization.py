"""Synthetic localization data shared by the localization and example tests.

- :func:`make_pem_data`: the BSN chain's intermediate files (TEM outputs, PGM proposals, BSP
  features) for videos with planted actions, in mmaction2's layout.
- :func:`make_ssn_data`: untrimmed frame folders with planted actions and THUMOS-style proposal files.
- :data:`TINY_SSN`: the config fields of a small SSN that trains on them in seconds.
"""

from __future__ import annotations

import json

import numpy as np

SSN_FRAMES, SSN_SIZE = 48, 40
TINY_SSN = json.dumps({
    "backbone": {"type": "ResNet", "depth": 18, "num_stages": 1, "out_indices": [0], "strides": [1],
                 "dilations": [1], "pretrained": None, "norm_eval": False, "partial_bn": False},
    "cls_head": {"type": "SSNHead", "dropout_ratio": 0.0, "in_channels": 64, "num_classes": 2,
                 "consensus": {"type": "STPPTrain", "stpp_stage": [1, 1, 1], "num_segments_list": [2, 5, 2]},
                 "use_regression": True},
    "dropout_ratio": 0.0,
    "train_cfg": {"ssn": {
        "assigner": {"positive_iou_threshold": 0.7, "background_iou_threshold": 0.01, "incomplete_iou_threshold": 0.3,
                     "background_coverage_threshold": 0.02, "incomplete_overlap_threshold": 0.01},
        "sampler": {"num_per_video": 6, "positive_ratio": 2, "background_ratio": 1, "incomplete_ratio": 1,
                    "add_gt_as_proposals": True},
        "loss_weight": {"comp_loss_weight": 0.1, "reg_loss_weight": 0.1}, "debug": False}},
    "test_cfg": {"ssn": {"sampler": {"test_interval": 2, "batch_size": 64},
                         "evaluater": {"top_k": 2000, "nms": 0.2, "softmax_before_filter": True, "cls_top_k": 2}}}})


def _overlaps(start, end, gts):
    """``(best IoU, label of that ground truth, fraction of [start, end) inside it)``."""
    best = (0.0, 0, 0.0)
    for label, s, e in gts:
        inter = max(0, min(end, e) - max(start, s))
        iou = inter / (max(end, e) - min(start, s))
        if iou > best[0]:
            best = (iou, label, inter / (end - start))
    return best


def make_ssn_data(root, num_train=16, num_val=8, seed=0):
    """Untrimmed frame folders with 1-2 planted actions and THUMOS-style proposal files.

    Inside an action the synthetic generator's moving arrow is on screen and the whole frame is
    tinted by the class (red: class 1, blue: class 2); outside, the frames are grey noise. Each
    ground truth gets a tight proposal, a short incomplete one inside it, and the gaps background ones.
    Writes ``frames/<video>/img_XXXXX.jpg``, ``train_proposals.txt`` and ``val_proposals.txt``.
    """
    import cv2

    from videohub.data.synthetic import render_frames

    rng = np.random.default_rng(seed)
    blocks = {"train": [], "val": []}
    for i in range(num_train + num_val):
        name = f"video_{i:03d}"
        frames = np.clip(rng.integers(60, 110, size=(SSN_FRAMES, 1, 1, 1))
                         + rng.integers(-20, 21, size=(SSN_FRAMES, SSN_SIZE, SSN_SIZE, 1)), 0, 255)
        frames = np.repeat(frames, 3, axis=3).astype(np.uint8)
        gts = []
        first = int(rng.integers(2, 8))
        length = int(rng.integers(12, 18))
        gts.append((int(rng.integers(1, 3)), first, first + length))
        if rng.uniform() < 0.5:
            start = first + length + int(rng.integers(6, 9))
            if start + 10 <= SSN_FRAMES - 2:
                gts.append((int(rng.integers(1, 3)), start, min(start + int(rng.integers(10, 14)), SSN_FRAMES - 2)))
        for label, s, e in gts:
            clip = render_frames(["right", "left"][label - 1], num_frames=e - s, height=SSN_SIZE, width=SSN_SIZE,
                                 rng=rng).astype(np.int16)
            clip[..., 0 if label == 1 else 2] += 110
            frames[s:e] = np.clip(clip, 0, 255).astype(np.uint8)
        folder = root / "frames" / name
        folder.mkdir(parents=True)
        for t, frame in enumerate(frames):
            cv2.imwrite(str(folder / f"img_{t + 1:05d}.jpg"), frame[..., ::-1])
        proposals = []
        for label, s, e in gts:
            proposals.append((s + int(rng.integers(-1, 2)), e + int(rng.integers(-1, 2))))
            proposals.append((s + 1, s + 1 + (e - s) // 4))
        edges = [0] + [x for _, s, e in gts for x in (s, e)] + [SSN_FRAMES]
        for a, b in zip(edges[0::2], edges[1::2]):
            if b - a >= 3:
                proposals.append((a, b))
        lines = [name, str(SSN_FRAMES), "1", str(len(gts))] + [f"{label} {s} {e}" for label, s, e in gts]
        lines.append(str(len(proposals)))
        for s, e in proposals:
            iou, label, overlap = _overlaps(s, e, gts)
            lines.append(f"{label if iou > 0 else 0} {iou:.4f} {overlap:.4f} {s} {e}")
        blocks["train" if i < num_train else "val"].append(lines)
    for split, videos in blocks.items():
        text = "".join(f"# {k}\n" + "\n".join(lines) + "\n" for k, lines in enumerate(videos))
        (root / f"{split}_proposals.txt").write_text(text)
    return blocks


PEM_T = 32


def make_pem_data(root, num_train=24, num_val=12, seed=0):
    """The BSN chain's files for videos with planted actions, in the reference layout.

    TEM outputs (``tem_results/<video>.csv``: ``action,start,end,tmin,tmax``) are synthesized: the
    actionness is high inside the actions, while the start/end curves are noisy enough that many
    spurious boundaries compete with the true ones. The library's PGM step turns them into
    ``pgm_proposals/<video>.csv`` and ``pgm_features/<video>.npy``, as the documented chain does.
    """
    from videohub.localization import (generate_bsp_feature, generate_candidate_proposals, write_bsp_features,
                                       write_pgm_proposals)

    rng = np.random.default_rng(seed)
    tem_dir = root / "tem_results"
    tem_dir.mkdir()
    infos, splits = [], {"train": {}, "val": {}}
    for i in range(num_train + num_val):
        name = f"v_{i:03d}"
        action = rng.uniform(0.0, 0.35, PEM_T)
        start, end = rng.uniform(0.0, 0.75, PEM_T), rng.uniform(0.0, 0.75, PEM_T)
        s = int(rng.integers(2, 12))
        e = s + int(rng.integers(6, 14))
        segments = [[float(s), float(e)]]
        if rng.uniform() < 0.5 and e + 8 < PEM_T:
            s2 = e + int(rng.integers(3, 5))
            segments.append([float(s2), float(min(PEM_T - 1, s2 + int(rng.integers(4, 9))))])
        for a, b in segments:
            a, b = int(a), int(b)
            action[a:b] = rng.uniform(0.65, 1.0, b - a)
            start[a] = rng.uniform(0.6, 0.8)
            end[b - 1] = rng.uniform(0.6, 0.8)
        positions = np.arange(PEM_T) / PEM_T
        table = np.stack([action, start, end, positions, positions + 1 / PEM_T], axis=1)
        np.savetxt(tem_dir / f"{name}.csv", table, delimiter=",", header="action,start,end,tmin,tmax", comments="")
        info = {"duration_second": float(PEM_T), "duration_frame": PEM_T * 16, "feature_frame": PEM_T * 16,
                "fps": 16.0, "annotations": [{"segment": seg, "label": "act"} for seg in segments]}
        splits["train" if i < num_train else "val"][name] = info
        infos.append(dict(info, video_name=name))
    proposals = generate_candidate_proposals(range(len(infos)), infos, str(tem_dir), PEM_T, peak_threshold=0.5)
    write_pgm_proposals(proposals, str(root / "pgm_proposals"))
    features = generate_bsp_feature(range(len(infos)), infos, str(tem_dir), str(root / "pgm_proposals"), top_k=1000)
    write_bsp_features(features, str(root / "pgm_features"))
    for split, database in splits.items():
        (root / f"{split}.json").write_text(json.dumps(database))
    return splits

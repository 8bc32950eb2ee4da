"""collate and build_dataloader."""

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from videohub.data.collate import collate
from videohub.data.loader import build_dataloader, worker_init_fn
from videohub.data.pipelines.formatting import DataContainer
from videohub.data.samplers import DistributedSampler


def test_collate_multiview_and_variable_metas():
    batch = [
        dict(imgs=torch.full((3, 3, 2, 4, 4), float(i)), label=torch.tensor([i]), gt_bboxes=np.zeros((i + 1, 4)),
             img_metas=dict(filename=f"{i}.mp4", img_shape=(4, 4 + i)), num_clips=3, flag=True, name=f"s{i}")
        for i in range(2)
    ]
    out = collate(batch)
    assert out["imgs"].shape == (2, 3, 3, 2, 4, 4) and out["imgs"][1].max() == 1
    assert out["label"].tolist() == [[0], [1]]
    assert isinstance(out["gt_bboxes"], list) and [b.shape for b in out["gt_bboxes"]] == [(1, 4), (2, 4)]
    assert out["img_metas"] == [dict(filename="0.mp4", img_shape=(4, 4)), dict(filename="1.mp4", img_shape=(4, 5))]
    assert out["num_clips"].tolist() == [3, 3] and out["flag"].tolist() == [True, True]
    assert out["name"] == ["s0", "s1"]
    assert "num_skipped" not in out


def test_collate_numpy_and_data_containers():
    out = collate([dict(x=np.ones((2, 2), np.float32), dc=DataContainer(torch.ones(2, 3), stack=True),
                        meta=DataContainer({"a": 1}, cpu_only=True)),
                   dict(x=np.zeros((2, 2), np.float32), dc=DataContainer(torch.ones(3, 2), stack=True),
                        meta=DataContainer({"a": 2}, cpu_only=True))])
    assert isinstance(out["x"], torch.Tensor) and out["x"].shape == (2, 2, 2)
    # stack=True with different sizes: padded with 0 on the last two dims to (3, 3)
    assert out["dc"].shape == (2, 3, 3)
    assert out["dc"][0].tolist() == [[1, 1, 1], [1, 1, 1], [0, 0, 0]]
    assert out["dc"][1].tolist() == [[1, 1, 0], [1, 1, 0], [1, 1, 0]]
    assert out["meta"] == [{"a": 1}, {"a": 2}]


def test_collate_drops_skipped_samples():
    out = collate([dict(x=torch.ones(2)), {"__skipped__": "a.txt line 2: broken"}, None])
    assert out["x"].shape == (1, 2) and out["num_skipped"] == 2
    assert out["skipped"] == ["a.txt line 2: broken", "sample is None"]


class Noise(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return dict(idx=i, noise=float(np.random.rand()))


def test_build_dataloader_non_distributed():
    loader = build_dataloader(Noise(), videos_per_gpu=2, workers_per_gpu=0, num_gpus=2, dist=False, shuffle=False,
                              pin_memory=False)
    batches = list(loader)
    assert loader.batch_size == 4 and [b["idx"].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    loader = build_dataloader(Noise(), videos_per_gpu=4, workers_per_gpu=0, dist=False, shuffle=False,
                              drop_last=True, pin_memory=False)
    assert len(list(loader)) == 2


def test_build_dataloader_seeded_workers_reproducible():
    def run():
        loader = build_dataloader(Noise(), videos_per_gpu=5, workers_per_gpu=2, dist=False, shuffle=True, seed=7,
                                  pin_memory=False)
        return [(b["idx"].tolist(), b["noise"].tolist()) for b in loader]

    first, second = run(), run()
    assert first == second
    # worker w of rank 0 seeds numpy with num_workers * 0 + w + seed
    np.random.seed(2 * 0 + 0 + 7)
    expected_first = np.random.rand()
    assert first[0][1][0] == pytest.approx(expected_first)


def test_build_dataloader_distributed_uses_sampler():
    loader = build_dataloader(Noise(), videos_per_gpu=3, workers_per_gpu=0, dist=True, seed=1, pin_memory=False)
    assert isinstance(loader.sampler, DistributedSampler) and loader.batch_size == 3
    assert sorted(i for b in loader for i in b["idx"].tolist()) == list(range(10))


def test_worker_init_fn_seeds_all_generators():
    worker_init_fn(1, num_workers=4, rank=2, seed=10)
    a = (np.random.rand(), torch.rand(1).item())
    np.random.seed(4 * 2 + 1 + 10)
    torch.manual_seed(19)
    assert a == (np.random.rand(), torch.rand(1).item())


def test_hf_dataset_through_dataloader(tmp_path):
    import os
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    from test_decoding_helpers import encode_video

    from videohub.data.datasets import load_dataset, make_transform

    lines = []
    for i in range(3):
        encode_video(str(tmp_path / f"v{i}.mp4"), num_frames=20 + 5 * i, width=48, height=40, seed=i)
        lines.append(f"v{i}.mp4 {i}\n")
    (tmp_path / "ann.txt").write_text("".join(lines))
    pipeline = [
        dict(type="PyAVInit"),
        dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=4),
        dict(type="PyAVDecode"),
        dict(type="Resize", scale=(-1, 32)),
        dict(type="CenterCrop", crop_size=32),
        dict(type="FormatShape", input_format="NCHW"),
        dict(type="Collect", keys=["imgs", "label"], meta_keys=["filename"]),
        dict(type="ToTensor", keys=["imgs", "label"]),
    ]
    ds = load_dataset("video", str(tmp_path / "ann.txt"), data_prefix=str(tmp_path), cache_dir=str(tmp_path / "c"))
    ds = ds.with_transform(make_transform(pipeline))
    loader = build_dataloader(ds, videos_per_gpu=2, workers_per_gpu=2, dist=False, shuffle=False, seed=0, pin_memory=False)
    batches = list(loader)
    assert [b["imgs"].shape for b in batches] == [(2, 4, 3, 32, 32), (1, 4, 3, 32, 32)]
    assert [b["label"].tolist() for b in batches] == [[[0], [1]], [[2]]]
    assert [os.path.basename(m["filename"]) for m in batches[0]["img_metas"]] == ["v0.mp4", "v1.mp4"]

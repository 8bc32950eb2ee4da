"""The long-term feature bank (mmaction2 ``LFB``) with a safetensors file format.

A bank is ``{video_id: {second: [feature [lfb_channels], ...]}}``: the RoI features that
:class:`~videohub.models.ava.lfb_infer_head.LFBInferHead` collected for every second of every
video. ``FBOHead`` samples from it a window of ``window_size`` seconds around the key frame, at most
``max_num_sampled_feat`` features per second.

**Difference from mmaction2.** mmaction2 stores the bank as ``lfb_<mode>.pkl`` written with
``torch.save`` (a pickle) and loads it with ``torch.load``. videohub does not unpickle by default: a bank
is ``lfb_<mode>.safetensors``: one ``[n, lfb_channels]`` tensor per ``(video, second)`` under the key
``"<video_id>,<second>"`` (see :func:`save_lfb` / :func:`load_lfb`). A ``.pkl`` bank must be
converted once, in an environment that trusts it, e.g. with
``save_lfb(torch.load(pkl, weights_only=True), path)`` (a bank of plain tensors loads with
``weights_only=True``), or read directly with ``LFB(..., allow_pickle=True)`` (same loader, with a
warning). ``cpu`` and ``gpu`` keep the bank in memory on that device; ``lmdb`` (the optional
``lmdb`` package: ``pip install videohub[lfb]``) copies the banks once into an LMDB database
``<lfb_prefix_path>/lmdb`` and reads one video at a time from it, as mmaction2 does. Its values are
the safetensors bytes of one video (``{"<second>": [n, lfb_channels]}``), not pickles.
"""

from __future__ import annotations

import os
import shutil
from typing import Dict, List, Mapping, Sequence, Tuple, Union

import numpy as np
import torch

from ...errors import CheckpointError, ConfigError, ShapeError
from ...utils.logging import get_logger

logger = get_logger(__name__)

Bank = Dict[str, Dict[int, List[torch.Tensor]]]


def dist_info() -> Tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` without one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _bank_key(video_id: str, second: int) -> str:
    return f"{video_id},{int(second)}"


def save_lfb(bank: Mapping[str, Mapping[int, Sequence[torch.Tensor]]], path: str) -> None:
    """Write ``bank`` to the safetensors file ``path`` (features of one second stacked to ``[n, C]``)."""
    from safetensors.torch import save_file

    tensors: Dict[str, torch.Tensor] = {}
    for video_id, seconds in bank.items():
        if "," in str(video_id):
            raise ConfigError(f"LFB video id {video_id!r} must not contain ',' (it separates video and second)")
        for second, feats in seconds.items():
            if len(feats) == 0:
                continue
            tensors[_bank_key(video_id, second)] = torch.stack([f.detach().reshape(-1).cpu() for f in feats]).contiguous()
    save_file(tensors, path, metadata={"format": "videohub-lfb", "layout": "video_id,second -> [n, channels]"})


def load_lfb(path: str, device: Union[str, torch.device] = "cpu") -> Bank:
    """Read a bank written by :func:`save_lfb` into ``{video_id: {second: [feature, ...]}}``."""
    from safetensors import safe_open

    if not os.path.isfile(path):
        raise CheckpointError(f"LFB file {path!r} does not exist")
    bank: Bank = {}
    with safe_open(path, framework="pt", device="cpu") as handle:
        for key in handle.keys():
            video_id, sep, second = key.rpartition(",")
            if not sep or not second.lstrip("-").isdigit():
                raise CheckpointError(f"{path}: key {key!r} is not '<video_id>,<second>'")
            feats = handle.get_tensor(key)
            if feats.dim() != 2:
                raise CheckpointError(f"{path}: entry {key!r} has shape {tuple(feats.shape)}, expected [n, channels]")
            bank.setdefault(video_id, {})[int(second)] = list(feats.to(device).unbind(0))
    return bank


def bank_channels(path: str) -> int:
    """Channels of the features of the bank file ``path`` (written by :func:`save_lfb`), read from its header."""
    from safetensors import safe_open

    if not os.path.isfile(path):
        raise CheckpointError(f"LFB file {path!r} does not exist")
    with safe_open(path, framework="pt", device="cpu") as handle:
        for key in handle.keys():
            shape = handle.get_slice(key).get_shape()
            if len(shape) != 2:
                raise CheckpointError(f"{path}: entry {key!r} has shape {tuple(shape)}, expected [n, channels]")
            return int(shape[1])
    raise CheckpointError(f"LFB file {path!r} holds no features")


def _video_bytes(seconds: Mapping[int, Sequence[torch.Tensor]]) -> bytes:
    """The safetensors bytes ``{"<second>": [n, C]}`` of one video (an LMDB value)."""
    from safetensors.torch import save

    return save({str(int(sec)): torch.stack([f.reshape(-1).cpu() for f in feats]).contiguous()
                 for sec, feats in seconds.items() if len(feats)})


def _video_from_bytes(data: bytes) -> Dict[int, List[torch.Tensor]]:
    from safetensors.torch import load

    return {int(sec): list(feats.unbind(0)) for sec, feats in load(data).items()}


def _load_pickled_bank(path: str, device: Union[str, torch.device]) -> Bank:
    """An mmaction2 ``lfb_<mode>.pkl`` bank, read with ``torch.load(weights_only=True)`` (warns)."""
    logger.warning("reading the pickled LFB %s (tensors and containers only); convert it once with "
                   "videohub.models.ava.lfb.save_lfb to a safetensors bank", path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError / RuntimeError for refused or corrupt content
        raise CheckpointError(f"{path}: not a bank of plain tensors ({type(err).__name__}: {err})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: expected {{video_id: {{second: [features]}}}}, got {type(raw).__name__}")
    bank: Bank = {}
    for video_id, seconds in raw.items():
        if not isinstance(seconds, dict):
            raise CheckpointError(f"{path}: entry {video_id!r} is a {type(seconds).__name__}, expected {{second: [...]}}")
        bank[str(video_id)] = {int(second): [torch.as_tensor(f).to(device) for f in feats]
                               for second, feats in seconds.items()}
    return bank


class LFB:
    """Long-Term Feature Bank (mmaction2 ``LFB``).

    Args:
        lfb_prefix_path: Directory holding ``lfb_<mode>.safetensors`` files.
        max_num_sampled_feat: Features sampled per second (K). Default 5.
        window_size: Seconds in the sampled window. Default 60.
        lfb_channels: Channels of the stored features. Default 2048.
        dataset_modes: Modes whose banks are loaded and merged (``str`` or tuple). Default ``("train", "val")``.
        device: ``"cpu"`` or ``"gpu"`` (CUDA) to hold the bank in memory, or ``"lmdb"`` to read it
            video by video from ``<lfb_prefix_path>/lmdb`` (needs the ``lmdb`` package). Default ``"gpu"``.
        lmdb_map_size: Maximum size in bytes of the LMDB database. Default 4e9.
        construct_lmdb: With ``device="lmdb"``, (re)build the database from the bank files on rank 0
            (the other ranks wait); ``False`` opens an existing one. Default ``True``.
        allow_pickle: Read an mmaction2 ``lfb_<mode>.pkl`` when there is no safetensors bank, with
            ``torch.load(weights_only=True)`` (tensors and containers only) and a warning; convert it
            once with :func:`save_lfb` instead. Default ``False``.

    ``lfb["video_id,0902"]`` samples the ``[window_size * K, lfb_channels]`` float32 long-term
    features around second 902 with numpy's global RNG, exactly as mmaction2 does.
    """

    def __init__(
        self,
        lfb_prefix_path: str,
        max_num_sampled_feat: int = 5,
        window_size: int = 60,
        lfb_channels: int = 2048,
        dataset_modes: Union[str, Sequence[str]] = ("train", "val"),
        device: str = "gpu",
        lmdb_map_size: float = 4e9,
        construct_lmdb: bool = True,
        allow_pickle: bool = False,
    ):
        if device not in ("cpu", "gpu", "lmdb"):
            raise ConfigError(f"LFB device must be 'cpu', 'gpu' or 'lmdb', got {device!r}")
        if not os.path.isdir(lfb_prefix_path):
            raise ConfigError(f"LFB lfb_prefix_path {lfb_prefix_path!r} is not a directory")
        self.lfb_prefix_path = lfb_prefix_path
        self.max_num_sampled_feat = max_num_sampled_feat
        self.window_size = window_size
        self.lfb_channels = lfb_channels
        self.dataset_modes = (dataset_modes,) if isinstance(dataset_modes, str) else tuple(dataset_modes)
        self.lmdb_map_size = lmdb_map_size
        self.construct_lmdb = construct_lmdb
        self.allow_pickle = allow_pickle
        self.lfb: Bank = {}
        self.lfb_env = None
        if device == "lmdb":
            self.device: Union[str, torch.device] = "cpu"
            self._open_lmdb()
            return
        if device == "gpu":
            if not torch.cuda.is_available():
                raise ConfigError("LFB device 'gpu' needs CUDA, which is not available; use device='cpu'")
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        else:
            self.device = "cpu"
        for mode in self.dataset_modes:
            self.lfb.update(self._read_mode(mode))

    def _read_mode(self, mode: str) -> Bank:
        """The bank of ``mode``: ``lfb_<mode>.safetensors``, or the pickle when allowed and alone."""
        path = os.path.normpath(os.path.join(self.lfb_prefix_path, f"lfb_{mode}.safetensors"))
        legacy = os.path.normpath(os.path.join(self.lfb_prefix_path, f"lfb_{mode}.pkl"))
        if not os.path.isfile(path) and self.allow_pickle and os.path.isfile(legacy):
            return _load_pickled_bank(legacy, self.device)
        if not os.path.isfile(path):
            hint = (f"; found the mmaction2 pickle {legacy!r}: pass allow_pickle=True (lfb_cfg) to read it, "
                    "or convert it once with videohub.models.ava.lfb.save_lfb") if os.path.isfile(legacy) else ""
            raise CheckpointError(f"LFB file {path!r} not found{hint}")
        return load_lfb(path, self.device)

    def _open_lmdb(self) -> None:
        """Build (rank 0, ``construct_lmdb``) and open ``<lfb_prefix_path>/lmdb`` read-only."""
        try:
            import lmdb
        except ImportError:
            raise ConfigError("LFB device 'lmdb' needs the lmdb package: pip install 'videohub[lfb]' "
                              "(or use device='cpu' / 'gpu')") from None
        db_path = os.path.normpath(os.path.join(self.lfb_prefix_path, "lmdb"))
        rank, world_size = dist_info()
        if self.construct_lmdb and rank == 0:
            merged: Bank = {}
            for mode in self.dataset_modes:
                merged.update(self._read_mode(mode))
            logger.info("writing the LFB of %d videos to the LMDB %s", len(merged), db_path)
            shutil.rmtree(db_path, ignore_errors=True)  # a rebuild leaves no video of an older bank behind
            with lmdb.open(db_path, map_size=int(self.lmdb_map_size)) as env, env.begin(write=True) as txn:
                for video_id, seconds in merged.items():
                    txn.put(video_id.encode(), _video_bytes(seconds))
        if world_size > 1:
            torch.distributed.barrier()
        if not os.path.isdir(db_path):
            raise CheckpointError(f"LFB LMDB {db_path!r} does not exist; build it with construct_lmdb=True")
        self.lfb_env = lmdb.open(db_path, readonly=True, lock=False, map_size=int(self.lmdb_map_size))

    @classmethod
    def from_dict(
        cls,
        bank: Mapping[str, Mapping[int, Sequence[torch.Tensor]]],
        max_num_sampled_feat: int = 5,
        window_size: int = 60,
        lfb_channels: int = 2048,
    ) -> "LFB":
        """An in-memory (CPU) bank from ``{video_id: {second: [feature, ...]}}`` without any file."""
        obj = cls.__new__(cls)
        obj.lfb_prefix_path = None
        obj.max_num_sampled_feat = max_num_sampled_feat
        obj.window_size = window_size
        obj.lfb_channels = lfb_channels
        obj.dataset_modes = ()
        obj.lmdb_map_size = 4e9
        obj.construct_lmdb = False
        obj.allow_pickle = False
        obj.lfb_env = None
        obj.device = "cpu"
        obj.lfb = {str(v): {int(s): list(f) for s, f in secs.items()} for v, secs in bank.items()}
        return obj

    def _video(self, video_id: str) -> Dict[int, List[torch.Tensor]]:
        """``{second: [feature, ...]}`` of ``video_id`` (from memory or the LMDB)."""
        if self.lfb_env is not None:
            with self.lfb_env.begin(write=False) as txn:
                data = txn.get(str(video_id).encode())
            if data is None:
                raise KeyError(f"video {video_id!r} is not in the LFB LMDB {self.lfb_prefix_path}/lmdb")
            return _video_from_bytes(data)
        if video_id not in self.lfb:
            raise KeyError(f"video {video_id!r} is not in the LFB (it has {len(self.lfb)} videos)")
        return self.lfb[video_id]

    def sample_long_term_features(self, video_id: str, timestamp: int) -> torch.Tensor:
        """``[window_size * K, lfb_channels]`` float32: row ``idx * K + k`` = k-th sampled feature of second ``idx``."""
        video_features = self._video(video_id)
        window_size, k_max = self.window_size, self.max_num_sampled_feat
        start = timestamp - window_size // 2
        lt_feats = torch.zeros(window_size * k_max, self.lfb_channels)
        for idx, sec in enumerate(range(start, start + window_size)):
            if sec in video_features:
                if video_features[sec][0].numel() != self.lfb_channels:
                    raise ShapeError(f"LFB: features of {video_id!r} second {sec} have "
                                     f"{video_features[sec][0].numel()} channels, lfb_channels is {self.lfb_channels}")
                num_feat = len(video_features[sec])
                num_sampled = min(num_feat, k_max)
                chosen = np.random.choice(range(num_feat), num_sampled, replace=False)
                for k, rand_idx in enumerate(chosen):
                    lt_feats[idx * k_max + k] = video_features[sec][rand_idx]
        return lt_feats

    def __getitem__(self, img_key: str) -> torch.Tensor:
        """Sample the window of ``img_key = "video_id,second"``."""
        video_id, sep, timestamp = str(img_key).rpartition(",")
        if not sep:
            raise KeyError(f"LFB key {img_key!r} must be 'video_id,second'")
        return self.sample_long_term_features(video_id, int(timestamp))

    def close(self) -> None:
        """Close the LMDB database (``device="lmdb"``; py-lmdb opens one database once per process)."""
        if self.lfb_env is not None:
            self.lfb_env.close()
            self.lfb_env = None

    def __len__(self) -> int:
        """Number of videos in the bank."""
        if self.lfb_env is not None:
            return int(self.lfb_env.stat()["entries"])
        return len(self.lfb)

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
warning). The ``lmdb`` device of mmaction2 is not supported (a clear error is raised);
``cpu`` and ``gpu`` keep the bank in memory on that device.
"""

from __future__ import annotations

import os
from typing import Dict, List, Mapping, Sequence, Union

import numpy as np
import torch

from ...errors import CheckpointError, ConfigError
from ...utils.logging import get_logger

logger = get_logger(__name__)

Bank = Dict[str, Dict[int, List[torch.Tensor]]]


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
        device: ``"cpu"`` or ``"gpu"`` (CUDA) to hold the bank; ``"lmdb"`` is not supported. Default ``"gpu"``.
        lmdb_map_size: mmaction2's lmdb map size; only accepted for config compatibility. Default 4e9.
        construct_lmdb: mmaction2's lmdb flag; only accepted for config compatibility. Default ``True``.
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
        if device == "lmdb":
            raise ConfigError("LFB device 'lmdb' is not supported by videohub; use device='cpu' or 'gpu' "
                              "(the bank is kept in memory)")
        if device not in ("cpu", "gpu"):
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
        if device == "gpu":
            if not torch.cuda.is_available():
                raise ConfigError("LFB device 'gpu' needs CUDA, which is not available; use device='cpu'")
            self.device: Union[str, torch.device] = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        else:
            self.device = "cpu"
        self.lfb: Bank = {}
        for mode in self.dataset_modes:
            path = os.path.normpath(os.path.join(lfb_prefix_path, f"lfb_{mode}.safetensors"))
            legacy = os.path.normpath(os.path.join(lfb_prefix_path, f"lfb_{mode}.pkl"))
            if not os.path.isfile(path) and allow_pickle and os.path.isfile(legacy):
                self.lfb.update(_load_pickled_bank(legacy, self.device))
                continue
            if not os.path.isfile(path):
                hint = (f"; found the mmaction2 pickle {legacy!r}: pass allow_pickle=True (lfb_cfg) to read it, "
                        "or convert it once with videohub.models.ava.lfb.save_lfb") if os.path.isfile(legacy) else ""
                raise CheckpointError(f"LFB file {path!r} not found{hint}")
            self.lfb.update(load_lfb(path, self.device))

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
        obj.device = "cpu"
        obj.lfb = {str(v): {int(s): list(f) for s, f in secs.items()} for v, secs in bank.items()}
        return obj

    def sample_long_term_features(self, video_id: str, timestamp: int) -> torch.Tensor:
        """``[window_size * K, lfb_channels]`` float32: row ``idx * K + k`` = k-th sampled feature of second ``idx``."""
        if video_id not in self.lfb:
            raise KeyError(f"video {video_id!r} is not in the LFB (it has {len(self.lfb)} videos)")
        video_features = self.lfb[video_id]
        window_size, k_max = self.window_size, self.max_num_sampled_feat
        start = timestamp - window_size // 2
        lt_feats = torch.zeros(window_size * k_max, self.lfb_channels)
        for idx, sec in enumerate(range(start, start + window_size)):
            if sec in video_features:
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

    def __len__(self) -> int:
        return len(self.lfb)

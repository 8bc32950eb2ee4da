#!/usr/bin/env python
"""Check videohub's Swin TSN backbone against the real timm 0.5.4 (not a dependency; run by hand).

mmaction2's ``tsn_swin_transformer_video_320p_1x1x3_100e_kinetics400_rgb`` checkpoint was trained
with timm 0.5.x (``forward_features`` of 0.5 returns the pooled ``[N, C]`` features mmaction2
expects; 0.6 returns tokens). Get that timm without installing it::

    pip download timm==0.5.4 --no-deps -d /tmp/timm054
    python -m zipfile -e /tmp/timm054/timm-0.5.4-py3-none-any.whl /tmp/timm054/ext
    PYTHONPATH=src python scripts/check_swin_against_timm.py --timm_path /tmp/timm054/ext

timm 0.5.4 imports torchvision at package import (``timm.data``, ``timm.utils``) but its Swin never
calls it; when torchvision is absent this script registers placeholder ``torchvision`` modules
that only satisfy those imports (any use of them raises).

The script builds timm's model (``num_classes=0``, as mmaction2 does) and videohub's backbone,
checks that their state-dict keys, shapes and buffers are identical, copies timm's random weights
into videohub, and compares the outputs on random images (eval mode; every timm weight is first perturbed
by N(0, 0.1) noise so that biases, LayerNorms and the position-bias tables all matter). It also compares the
parameter counts with timm's 1000-class head. Exit status 1 if anything differs beyond ``--rtol``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import types
from typing import Optional, Sequence

_TORCHVISION_IMPORTS = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional",
                        "torchvision.datasets", "torchvision.ops", "torchvision.ops.misc")


class _PlaceholderType(type):
    """Attributes of a placeholder (``InterpolationMode.NEAREST``, ...) are further, distinct placeholders."""

    def __getattr__(cls, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _placeholder(f"{cls.__name__}.{name}")


class _Placeholder(metaclass=_PlaceholderType):
    """Stands for a torchvision object timm imports but Swin never uses."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(f"the torchvision placeholder {type(self).__name__} of check_swin_against_timm.py was used")


_PLACEHOLDERS: dict = {}


def _placeholder(name: str) -> type:
    if name not in _PLACEHOLDERS:
        _PLACEHOLDERS[name] = _PlaceholderType(name, (_Placeholder,), {})
    return _PLACEHOLDERS[name]


class _PlaceholderModule(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _placeholder(f"{self.__name__}.{name}")


def install_torchvision_placeholders() -> Sequence[str]:
    """Register placeholder ``torchvision`` modules unless the real one is importable; return their names."""
    if importlib.util.find_spec("torchvision") is not None:
        return ()
    for name in _TORCHVISION_IMPORTS:
        sys.modules[name] = _PlaceholderModule(name)
    for name in _TORCHVISION_IMPORTS[1:]:
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, sys.modules[name])
    return _TORCHVISION_IMPORTS


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timm_path", required=True, help="folder that holds timm 0.5.4's 'timm' package")
    p.add_argument("--variant", default="swin_base_patch4_window7_224",
                   help="timm model name (default: swin_base_patch4_window7_224)")
    p.add_argument("--batch", type=int, default=2, help="random images compared (default: 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and images (default: 0)")
    p.add_argument("--rtol", type=float, default=1e-4, help="largest relative error accepted (default: 1e-4)")
    args = p.parse_args(argv)

    # imported here, before the placeholders exist: transformers (under videohub) probes torchvision's import spec
    import torch

    from videohub.models.tsn import modeling_tsn  # noqa: F401  (registers the timm.* backbones)
    from videohub.registry import BACKBONES

    sys.path.insert(0, args.timm_path)
    installed = install_torchvision_placeholders()
    import timm

    for name in installed:  # only timm's import needed them (transformers probes torchvision's spec)
        del sys.modules[name]

    print(f"timm {timm.__version__} from {timm.__file__}")
    torch.manual_seed(args.seed)
    reference = timm.create_model(args.variant, pretrained=False, num_classes=0).eval()
    with torch.no_grad():  # timm's init leaves biases 0 and LayerNorms 1: perturb every weight so all of them matter
        for tensor in reference.parameters():
            tensor.add_(torch.randn_like(tensor) * 0.1)
    ours = BACKBONES.build(dict(type=f"timm.{args.variant}")).eval()
    ref_state, our_state = reference.state_dict(), ours.state_dict()
    failures = []
    if ref_state.keys() != our_state.keys():
        failures.append(f"keys differ: only timm {sorted(set(ref_state) - set(our_state))[:10]}, "
                        f"only videohub {sorted(set(our_state) - set(ref_state))[:10]}")
    for key in sorted(set(ref_state) & set(our_state)):
        if ref_state[key].shape != our_state[key].shape:
            failures.append(f"{key}: timm {tuple(ref_state[key].shape)}, videohub {tuple(our_state[key].shape)}")
        elif not ref_state[key].is_floating_point() or key.endswith("attn_mask"):
            if not torch.equal(ref_state[key], our_state[key]):  # buffers computed by both sides
                failures.append(f"{key}: buffer values differ")
    print(f"state dict: {len(ref_state)} timm entries, {len(our_state)} videohub entries")
    ours.load_state_dict(ref_state, strict=True)

    images = torch.randn(args.batch, 3, 224, 224, generator=torch.Generator().manual_seed(args.seed + 1))
    with torch.no_grad():
        expected = reference.forward_features(images)
        got = ours(images)
    if got.shape != expected.shape + (1, 1):
        failures.append(f"output shape {tuple(got.shape)}, expected {tuple(expected.shape) + (1, 1)}")
    else:
        diff = (got.flatten(1) - expected).abs().max().item()
        rel = diff / expected.abs().max().item()
        print(f"forward_features {tuple(expected.shape)}: max abs diff {diff:.3g}, relative to max |output| {rel:.3g}")
        if rel > args.rtol:
            failures.append(f"relative error {rel:.3g} > {args.rtol}")

    with_head = timm.create_model(args.variant, pretrained=False)
    counts = (sum(t.numel() for t in with_head.parameters()),
              sum(t.numel() for t in BACKBONES.build(dict(type=f"timm.{args.variant}", num_classes=1000)).parameters()))
    print(f"parameters with the 1000-class head: timm {counts[0]:,}, videohub {counts[1]:,}")
    if counts[0] != counts[1]:
        failures.append("parameter counts differ")
    for failure in failures:
        print("FAIL:", failure)
    print("OK" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""``tin_shift``: the integer group-wise temporal shift of TIN, in plain PyTorch (CPU and GPU).

mmaction2's ``ResNetTIN`` calls mmcv's CUDA-only ``tin_shift`` op. Its semantics (as restated in
the parity README §5): for an input ``[N, T, C, HW]`` and an integer shift ``[N, G]``, channel
``c`` belongs to group ``g = c // (C // G)`` and

    out[n, t + shift[n, g], c] = in[n, t, c]   when 0 <= t + shift[n, g] < T, zero elsewhere.

Written with ``gather`` and a mask, so autograd gives the gradient with respect to the input (the
reverse shift); the shift itself is integer and gets no gradient, exactly like the CUDA op.
"""

from __future__ import annotations

import torch

from ...errors import ShapeError


def tin_shift(data: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Shift each channel group of ``data`` (``[N, T, C, HW]``) along T by ``shift`` (``[N, G]``, int).

    Frames shifted in from outside ``[0, T)`` are zero. ``C`` must be a multiple of ``G``.
    """
    if data.dim() != 4:
        raise ShapeError(f"tin_shift expects data of shape [N, T, C, HW], got {tuple(data.shape)}")
    if shift.dim() != 2 or shift.size(0) != data.size(0):
        raise ShapeError(f"tin_shift expects shift of shape [N={data.size(0)}, G], got {tuple(shift.shape)}")
    if shift.is_floating_point():
        raise ShapeError(f"tin_shift expects an integer shift tensor, got dtype {shift.dtype}")
    n, t, c, hw = data.shape
    groups = shift.size(1)
    if groups == 0 or c % groups != 0:
        raise ShapeError(f"tin_shift: channels C={c} of data {tuple(data.shape)} must be a multiple of G={groups}")
    # Per-channel shift [N, C]: channel c follows group c // (C // G).
    per_channel = shift.long().repeat_interleave(c // groups, dim=1)
    frames = torch.arange(t, device=data.device).view(1, t, 1)
    # out[n, t', c] = in[n, t' - s, c] for a valid source frame t' - s.
    source = frames - per_channel.unsqueeze(1)
    valid = (source >= 0) & (source < t)
    index = source.clamp(0, t - 1).unsqueeze(-1).expand(n, t, c, hw)
    gathered = torch.gather(data, 1, index)
    return gathered.masked_fill(~valid.unsqueeze(-1), 0)

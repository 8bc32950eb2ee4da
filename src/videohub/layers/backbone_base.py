"""The lifecycle every backbone shares: ``frozen_stages``, ``norm_eval``, ``partial_bn``,
``out_indices``, ``with_cp`` and the ``pretrained`` dispatch of ``init_weights()``.

mmaction2 writes these again in each backbone. Here a backbone subclasses :class:`BaseBackbone`,
passes its settings to ``BaseBackbone.__init__``, registers its stages in order with
:meth:`BaseBackbone.add_stage` and names its stem in ``stem_names``; the base then

- re-applies the frozen stages, ``norm_eval`` and ``partial_bn`` in :meth:`BaseBackbone.train`
  (in this order, as every mmaction2 backbone does);
- returns the stages of ``out_indices`` from :meth:`BaseBackbone.forward_stages`;
- switches gradient checkpointing of every block when ``with_cp`` is assigned (a block runs its
  residual branch through :func:`checkpointed`);
- loads ``pretrained`` or initializes from scratch in :meth:`BaseBackbone.init_weights`.

A backbone only overrides what really differs (a SlowFast pathway freezes its lateral convs with
their stage, ResNet3d max-pools time after ``layer1``, ...).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint as cp
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..errors import ConfigError
from .init import constant_init, kaiming_init
from .pretrained import load_pretrained


def checkpointed(fn: Callable[..., torch.Tensor], *inputs: torch.Tensor, enabled: bool) -> torch.Tensor:
    """``fn(*inputs)``, gradient-checkpointed (its activations recomputed in backward, mmaction2's
    ``with_cp``) when ``enabled`` and an input needs a gradient."""
    if enabled and any(t.requires_grad for t in inputs):
        return cp.checkpoint(fn, *inputs, use_reentrant=False)
    return fn(*inputs)


class BaseBackbone(nn.Module):
    """Base class of the videohub backbones.

    Class attributes:
        stem_names: Dotted names of the stem's modules, frozen with ``frozen_stages >= 0``.
            Default ``("conv1",)``.
        bn_frozen: With ``norm_eval``, also stop the gradient of the BN parameters. Default ``False``
            (CSN sets it from its ``bn_frozen`` argument).
        wrap_names: Path segments that wrappers add to the module names (TSM's ``net``, TANet's
            ``block``); :meth:`load_weights` matches plain checkpoint keys without them. Default ``()``.

    Args:
        pretrained: Local checkpoint loaded by :meth:`init_weights`, or ``None`` (default) to
            initialize from scratch.
        frozen_stages: Freeze the stem (0) and the stages ``1..frozen_stages`` (eval mode, no
            gradient); -1 (default) freezes nothing.
        norm_eval: Keep every BN layer in eval mode while training. Default ``False``.
        partial_bn: While training, freeze every ``BatchNorm2d`` but the first (eval mode, no
            gradient for weight and bias), as mmaction2's TSN/TRN. Default ``False``.
        out_indices: Stages (0-based) whose outputs :meth:`forward_stages` returns; ``None``
            (default) returns the last stage's output.
        with_cp: Gradient checkpointing of the blocks; ``None`` (default) for a backbone without
            checkpointable blocks, which then has no ``with_cp`` attribute at all.
    """

    stem_names: Tuple[str, ...] = ("conv1",)
    bn_frozen: bool = False
    wrap_names: Tuple[str, ...] = ()

    def __init__(
        self,
        pretrained: Optional[str] = None,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        partial_bn: bool = False,
        out_indices: Optional[Sequence[int]] = None,
        with_cp: Optional[bool] = None,
    ):
        super().__init__()
        self.pretrained = pretrained
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.partial_bn = partial_bn
        self.out_indices = None if out_indices is None else tuple(out_indices)
        self._with_cp = with_cp
        self.res_layers: List[str] = []

    # ------------------------------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------------------------------

    def add_stage(self, module: nn.Module, name: Optional[str] = None) -> str:
        """Register the next stage as ``name`` (default ``layer{k}``, k counting from 1); return the name."""
        name = name or f"layer{len(self.res_layers) + 1}"
        self.add_module(name, module)
        self.res_layers.append(name)
        return name

    def check_stage_settings(self, num_stages: int) -> None:
        """Raise :class:`ConfigError` unless ``frozen_stages`` is in ``-1..num_stages`` and every
        ``out_indices`` entry (if the backbone selects outputs) is in ``0..num_stages - 1``."""
        name = type(self).__name__
        if not isinstance(self.frozen_stages, int) or not -1 <= self.frozen_stages <= num_stages:
            raise ConfigError(f"{name}: frozen_stages must be an int in -1..{num_stages} (num_stages="
                              f"{num_stages}), got {self.frozen_stages!r}")
        if self.out_indices is not None and (
            not self.out_indices or any(i not in range(num_stages) for i in self.out_indices)
        ):
            raise ConfigError(f"{name}: out_indices {self.out_indices} must be non-empty, each in "
                              f"0..{num_stages - 1} (num_stages={num_stages})")

    # ------------------------------------------------------------------------------------------
    # gradient checkpointing
    # ------------------------------------------------------------------------------------------

    @property
    def with_cp(self) -> bool:
        """Gradient checkpointing of the blocks; assigning it switches every block of the backbone."""
        if self._with_cp is None:
            # An AttributeError from a property means "no such attribute": hasattr() is False, so
            # gradient checkpointing reports this backbone as unsupported instead of doing nothing.
            raise AttributeError(f"{type(self).__name__} has no checkpointable blocks (no with_cp)")
        return self._with_cp

    @with_cp.setter
    def with_cp(self, enable: bool) -> None:
        if self._with_cp is None:
            raise AttributeError(f"{type(self).__name__} has no checkpointable blocks (no with_cp)")
        self._with_cp = bool(enable)
        for module in self.modules():
            if module is not self and hasattr(module, "with_cp"):
                module.with_cp = self._with_cp

    # ------------------------------------------------------------------------------------------
    # train(): frozen stages, norm_eval, partial_bn
    # ------------------------------------------------------------------------------------------

    def stage_modules(self, index: int) -> List[nn.Module]:
        """The modules frozen with stage ``index``: 0 is the stem (``stem_names``), ``k >= 1`` the
        k-th registered stage."""
        if index == 0:
            return [self.get_submodule(name) for name in self.stem_names]
        return [getattr(self, self.res_layers[index - 1])]

    def _freeze_stages(self) -> None:
        """Eval mode and no gradient for the modules of stages ``0..frozen_stages``."""
        for index in range(self.frozen_stages + 1):
            for module in self.stage_modules(index):
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def _partial_bn(self) -> None:
        """Eval mode and no gradient for every ``BatchNorm2d`` after the first."""
        for m in [m for m in self.modules() if isinstance(m, nn.BatchNorm2d)][1:]:
            m.eval()
            m.weight.requires_grad = False
            m.bias.requires_grad = False

    def train(self, mode: bool = True) -> "BaseBackbone":
        """Set ``mode``, then re-apply ``frozen_stages`` (always), ``norm_eval`` (with
        ``bn_frozen``) and ``partial_bn`` (both when training)."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
                    if self.bn_frozen:
                        for param in m.parameters():
                            param.requires_grad = False
        if mode and self.partial_bn:
            self._partial_bn()
        return self

    # ------------------------------------------------------------------------------------------
    # forward: output selection
    # ------------------------------------------------------------------------------------------

    def after_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Applied to the output of stage ``index`` (0-based) before it is selected; identity here."""
        return x

    def forward_stages(self, x: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """Run every stage on ``x``; return the outputs of ``out_indices`` in stage order (a single
        tensor when there is one), or the last output when ``out_indices`` is ``None``."""
        outs = []
        for i, name in enumerate(self.res_layers):
            x = self.after_stage(i, getattr(self, name)(x))
            if self.out_indices is not None and i in self.out_indices:
                outs.append(x)
        if self.out_indices is None:
            return x
        return outs[0] if len(outs) == 1 else tuple(outs)

    # ------------------------------------------------------------------------------------------
    # init_weights(): pretrained or from scratch
    # ------------------------------------------------------------------------------------------

    def init_weights(self, pretrained: Optional[str] = None) -> None:
        """Load ``pretrained`` (default ``self.pretrained``; a local path) with :meth:`load_weights`,
        or initialize from scratch with :meth:`init_from_scratch` when it is ``None``."""
        if pretrained:
            self.pretrained = pretrained
        if isinstance(self.pretrained, str):
            self.load_weights()
        elif self.pretrained is None:
            self.init_from_scratch()
        else:
            raise ConfigError(f"{type(self).__name__}: pretrained must be a str (local path) or None, "
                              f"got {type(self.pretrained).__name__}")

    def load_weights(self) -> None:
        """Load the local checkpoint ``self.pretrained`` non-strictly (plain keys fill wrapped modules)."""
        load_pretrained(self, self.pretrained, self.wrap_names)

    def init_from_scratch(self) -> None:
        """Initialize without a checkpoint; each backbone defines how (Kaiming convs, unit norms, ...)."""
        raise NotImplementedError(f"{type(self).__name__} does not define init_from_scratch()")

    def kaiming_convs_and_unit_norms(self, conv_types: Union[type, Tuple[type, ...]],
                                     norm_types: Union[type, Tuple[type, ...]] = _BatchNorm) -> None:
        """Kaiming (fan_out) init of every ``conv_types`` module and weight 1 / bias 0 for every
        ``norm_types`` module (default every BN), in module order."""
        for m in self.modules():
            if isinstance(m, conv_types):
                kaiming_init(m)
            elif isinstance(m, norm_types):
                constant_init(m, 1)

    def zero_last_norms(self, last_norms: Dict[type, str]) -> None:
        """Zero the norm that ends the residual branch of every block (``zero_init_residual``):
        ``last_norms`` maps a block type to that norm's name inside the block (first match wins)."""
        for m in self.modules():
            for block_type, norm_name in last_norms.items():
                if isinstance(m, block_type):
                    constant_init(m.get_submodule(norm_name), 0)
                    break

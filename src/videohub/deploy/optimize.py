"""One switch for fast inference: :func:`optimize_for_inference`.

What it does to an eval-mode model, in place (each step is also a public function):

1. **BN folding** (:func:`fold_batch_norms`): every inference-mode ``BatchNorm`` (1d/2d/3d, and the
   "frozen" BNs of ``norm_eval`` / ``bn_frozen`` models, which are the same modules with frozen
   parameters) whose input is the output of a convolution (or of a ``Linear`` feeding it a 2-D
   tensor) is folded into that layer: ``w' = w * g / sqrt(v + eps)``,
   ``b' = (b - m) * g / sqrt(v + eps) + beta``, computed in float64, and the BN becomes an
   ``nn.Identity``. The conv → BN pairs are found from the module structure: ``ConvModule`` with
   the norm right after the conv, ``nn.Sequential`` neighbours, the inner ``conv_s → bn_s`` of
   ``Conv2plus1d``, and convs wrapped by a temporal shift (TSM, TIN) whose output is the conv's.
2. **Memory format** (:func:`resolve_memory_format`): ``"auto"`` picks ``channels_last`` /
   ``channels_last_3d`` on CPUs with oneDNN (its convolution kernels are written for NHWC/NDHWC;
   measured 1.5x to 5x faster per conv on this project's CPU, ``docs/benchmarks.md``) and
   ``contiguous`` on other devices (on CUDA, cuDNN's 3D kernels were slower in channels-last for
   these networks: 5.6 vs 7.5 ms for I3D on an H200).
3. **oneDNN fusion** (:func:`fuse_convolutions`, CPU and channels-last only): every 2D/3D conv
   becomes a :class:`FusedConv`, which calls oneDNN directly (``mkldnn._convolution_pointwise``)
   with weights reordered once to oneDNN's blocked layout, applies the following ReLU as a post-op,
   and, for the known residual blocks (ResNet, ResNet3d/SlowOnly/SlowFast/CSN bottlenecks, X3D,
   audio ResNet, TANet), also the residual addition and the block's ReLU; TSM's temporal shift
   writes straight into a channels-last buffer. Calling oneDNN directly
   also avoids PyTorch's native ``slow_conv3d`` kernel, which PyTorch picks for batch-1 3D convs
   with few channels (the fast pathway of SlowFast, X3D's small convs).
4. **Compilation** (``compile=True``): ``torch.compile`` with Inductor's weight freezing; if no
   compiler works here, a warning says why and the eager model (steps 1-3) is kept.

Logits stay within 1e-5 relative of the unoptimized model (tested on every recognizer golden
file). The result is for inference only: folded weights no longer match the checkpoint's keys,
so save the original model, not the optimized one.
"""

from __future__ import annotations

import types
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from ..utils.logging import get_logger
from .errors import DeployError

logger = get_logger(__name__)

MEMORY_FORMATS = ("auto", "channels_last", "contiguous")
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


# ---------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------


def check_eval_mode(model: nn.Module, what: str = "optimize_for_inference") -> None:
    """Raise :class:`DeployError` naming the first submodule in training mode, if any."""
    for name, module in model.named_modules():
        if module.training:
            where = f"submodule {name!r} ({type(module).__name__})" if name else f"the model ({type(model).__name__})"
            raise DeployError(
                f"{what} needs a model in inference mode, but {where} is in training mode; call model.eval() first "
                "(folding BatchNorm uses its running statistics, which a training-mode BN would not)"
            )


def _defined_in_videohub(cls: type, attribute: str, qualname: str) -> bool:
    """Whether ``cls.<attribute>`` is the videohub function ``qualname`` (not an override)."""
    function = getattr(cls, attribute, None)
    return (function is not None and getattr(function, "__qualname__", None) == qualname
            and getattr(function, "__module__", "").startswith("videohub."))


# ---------------------------------------------------------------------------------------------
# 1. BN folding
# ---------------------------------------------------------------------------------------------


@dataclass
class FoldReport:
    """What :func:`fold_batch_norms` did.

    Attributes:
        folded: Names of the BN layers folded into the layer before them.
        left: Names of the inference-mode BN layers left as they are (no foldable producer found).
    """

    folded: List[str] = field(default_factory=list)
    left: List[str] = field(default_factory=list)


def _is_foldable_bn(module: nn.Module) -> bool:
    return (isinstance(module, nn.modules.batchnorm._BatchNorm) and not module.training
            and module.track_running_stats and module.running_mean is not None and module.running_var is not None)


# Wrappers whose output is the output of one of their convs: forward name -> attribute of that conv.
_CONV_WRAPPERS = (("TemporalShift.forward", "net"), ("CombineNet.forward", "net2"), ("Conv2plus1d.forward", "conv_t"))


def _output_slot(module: nn.Module) -> Optional[Tuple[Optional[nn.Module], str, nn.Module]]:
    """``(parent, attribute, conv)`` of the conv whose output is ``module``'s output: ``module`` itself
    (parent ``None``), or the conv inside a wrapper that applies something before it (temporal shift,
    TIN's interlace, the (2+1)D factorization); ``None`` if there is no such conv."""
    if isinstance(module, _CONVS):
        return (None, "", module) if module.padding_mode == "zeros" else None
    for forward, attribute in _CONV_WRAPPERS:
        if _defined_in_videohub(type(module), "forward", forward):
            inner = _output_slot(getattr(module, attribute))
            if inner is None:
                return None
            return (module, attribute, inner[2]) if inner[0] is None else inner
    return None


def _output_conv(module: nn.Module) -> Optional[nn.Module]:
    slot = _output_slot(module)
    return None if slot is None else slot[2]


@torch.no_grad()
def _fold(layer: nn.Module, bn: nn.modules.batchnorm._BatchNorm) -> None:
    """Fold ``bn`` into ``layer`` (a conv or linear whose output channels are ``bn``'s features)."""
    inv_std = torch.rsqrt(bn.running_var.double() + bn.eps)
    scale = inv_std * bn.weight.double() if bn.affine else inv_std
    beta = bn.bias.double() if bn.affine else torch.zeros_like(scale)
    bias = layer.bias.double() if layer.bias is not None else torch.zeros_like(scale)
    weight = layer.weight.double() * scale.view((-1,) + (1,) * (layer.weight.dim() - 1))
    layer.weight.copy_(weight.to(layer.weight.dtype))
    new_bias = ((bias - bn.running_mean.double()) * scale + beta).to(layer.weight.dtype)
    if layer.bias is None:
        layer.bias = nn.Parameter(new_bias, requires_grad=layer.weight.requires_grad)
    else:
        layer.bias.copy_(new_bias)


def _fold_pair(producer: nn.Module, bn: nn.Module, linear_ok: bool) -> bool:
    """Fold ``bn`` into ``producer`` when it is a foldable conv (or, if ``linear_ok``, a ``Linear``)."""
    if not _is_foldable_bn(bn):
        return False
    target = producer if linear_ok and isinstance(producer, nn.Linear) else _output_conv(producer)
    if target is None or target.weight.shape[0] != bn.num_features:
        return False
    _fold(target, bn)
    return True


# Modules whose Sequentials feed their ``Linear`` layers 2-D tensors ``[N, features]``, so that a
# ``Linear → BatchNorm1d`` pair in them normalizes the linear's output features (TANet's TAM).
_TWO_D_LINEAR_PARENTS = ("TAM.forward",)


def fold_batch_norms(model: nn.Module) -> FoldReport:
    """Fold every inference-mode BN that follows a conv (or a 2-D ``Linear``) into it; in place.

    Args:
        model: The model, in eval mode (checked).

    Returns:
        A :class:`FoldReport`; BN layers without a recognized producer are listed in ``left``.
    """
    check_eval_mode(model, "fold_batch_norms")
    from ..layers.conv import ConvModule

    names = {id(module): name for name, module in model.named_modules()}
    parents = {id(child): parent for parent in model.modules() for child in parent.children()}
    report = FoldReport()

    def done(parent: nn.Module, attribute: str) -> None:
        report.folded.append(names.get(id(getattr(parent, attribute)), attribute))
        setattr(parent, attribute, nn.Identity().eval())

    for module in list(model.modules()):
        cls = type(module)
        if isinstance(module, ConvModule) and module.with_norm:
            if module.order.index("norm") == module.order.index("conv") + 1 and _fold_pair(module.conv, module.norm, False):
                done(module, module.norm_name)
        elif _defined_in_videohub(cls, "forward", "Conv2plus1d.forward"):
            if _fold_pair(module.conv_s, module.bn_s, False):
                done(module, "bn_s")
        elif isinstance(module, nn.Sequential) and cls.forward is nn.Sequential.forward:
            parent = parents.get(id(module))
            linear_ok = parent is not None and any(
                _defined_in_videohub(type(parent), "forward", q) for q in _TWO_D_LINEAR_PARENTS)
            children = list(module._modules.items())
            for (_, producer), (key, bn) in zip(children, children[1:]):
                if _fold_pair(producer, bn, linear_ok):
                    done(module, key)
    report.left = [name for name, m in model.named_modules() if _is_foldable_bn(m)]
    logger.info("folded %d BatchNorm layers into their convs; %d left%s", len(report.folded), len(report.left),
                f": {report.left}" if report.left else "")
    return report


# ---------------------------------------------------------------------------------------------
# 2. memory format
# ---------------------------------------------------------------------------------------------


def _model_device(model: nn.Module) -> torch.device:
    tensor = next(iter(model.parameters()), None)
    if tensor is None:
        tensor = next(iter(model.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def resolve_memory_format(model: nn.Module, memory_format: str = "auto") -> str:
    """``"channels_last"`` or ``"contiguous"`` for ``model``'s convolutions.

    Args:
        model: The model (its parameters' device decides ``"auto"``).
        memory_format: ``"auto"`` (default): channels-last on a CPU with oneDNN, contiguous
            elsewhere; or ``"channels_last"`` / ``"contiguous"`` as given.
    """
    if memory_format not in MEMORY_FORMATS:
        raise DeployError(f"memory_format must be one of {MEMORY_FORMATS}, got {memory_format!r}")
    if memory_format != "auto":
        return memory_format
    cpu = _model_device(model).type == "cpu"
    return "channels_last" if cpu and torch.backends.mkldnn.is_available() else "contiguous"


def _channels_last(dim: int) -> torch.memory_format:
    return torch.channels_last_3d if dim == 5 else torch.channels_last


def to_channels_last(model: nn.Module) -> int:
    """Store every 2D/3D conv weight channels-last (convs then return channels-last activations);
    return how many were converted."""
    converted = 0
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Conv3d)):
            module.weight.data = module.weight.data.contiguous(memory_format=_channels_last(module.weight.dim()))
            converted += 1
    return converted


# ---------------------------------------------------------------------------------------------
# 3. oneDNN fusion
# ---------------------------------------------------------------------------------------------

ACTIVATIONS = ("none", "relu")


class FusedConv(nn.Module):
    """A 2D/3D convolution run by oneDNN with an optional ReLU and residual addition fused in.

    ``forward(x)`` is ``act(conv(x))``; ``forward(x, residual, residual_activation)`` is
    ``residual_activation(conv(x) + residual)``. On CPU in float32 without autograd the call goes to
    ``torch.ops.mkldnn._convolution_pointwise`` with the weight reordered once (on the first call) to
    oneDNN's blocked layout; anywhere else (other device or dtype, gradients) it falls back to
    ``torch.nn.functional`` with the same result.

    Args:
        conv: The ``nn.Conv2d`` / ``nn.Conv3d`` to replace (zero padding, numeric padding).
        activation: ``"none"`` (default) or ``"relu"``, applied after the conv.
    """

    def __init__(self, conv: Union[nn.Conv2d, nn.Conv3d], activation: str = "none"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise DeployError(f"FusedConv activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size = tuple(conv.kernel_size)
        self.stride, self.padding, self.dilation = tuple(conv.stride), tuple(conv.padding), tuple(conv.dilation)
        self.groups = conv.groups
        self.activation = activation
        fmt = _channels_last(conv.weight.dim())
        self.weight = nn.Parameter(conv.weight.detach().contiguous(memory_format=fmt), requires_grad=False)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
        self._packed: Optional[torch.Tensor] = None
        self._packed_key: Optional[Tuple[int, int]] = None
        self.train(conv.training)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={self.bias is not None}, activation={self.activation!r}")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_packed"], state["_packed_key"] = None, None  # oneDNN's opaque tensor is rebuilt on use
        return state

    def _onednn(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and x.dtype == torch.float32 and self.weight.dtype == torch.float32
                and self.weight.device.type == "cpu" and not (torch.is_grad_enabled() and x.requires_grad))

    def _packed_weight(self, x: torch.Tensor) -> torch.Tensor:
        key = (self.weight.data_ptr(), self.weight._version)
        if self._packed_key != key:
            self._packed = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight, list(self.padding), list(self.stride), list(self.dilation), self.groups, list(x.shape))
            self._packed_key = key
        return self._packed

    def _reference(self, x: torch.Tensor, residual: Optional[torch.Tensor], residual_activation: str) -> torch.Tensor:
        conv = F.conv3d if self.weight.dim() == 5 else F.conv2d
        out = conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if residual is None:
            return torch.relu(out) if self.activation == "relu" else out
        out = out + residual
        return torch.relu(out) if residual_activation == "relu" else out

    def forward(self, x: torch.Tensor, residual: Optional[torch.Tensor] = None,
                residual_activation: str = "none") -> torch.Tensor:
        """``act(conv(x))``, or ``residual_activation(conv(x) + residual)`` when ``residual`` is given
        (default ``None``; ``residual_activation`` default ``"none"``)."""
        if not self._onednn(x):
            return self._reference(x, residual, residual_activation)
        fmt = _channels_last(x.dim())
        x = x.contiguous(memory_format=fmt)
        weight = self._packed_weight(x)
        args = (list(self.padding), list(self.stride), list(self.dilation), self.groups)
        if residual is None:
            return torch.ops.mkldnn._convolution_pointwise(x, weight, self.bias, *args, self.activation, [], "")
        unary = None if residual_activation == "none" else residual_activation
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x, residual.contiguous(memory_format=fmt), weight, self.bias, *args, "add", 1.0, unary, [], "")


def _fusable_conv(module: nn.Module) -> bool:
    return (isinstance(module, (nn.Conv2d, nn.Conv3d)) and module.padding_mode == "zeros"
            and not isinstance(module.padding, str))


def _is_relu(module: Optional[nn.Module]) -> bool:
    return type(module) is nn.ReLU


def _convmodule_tail(module: nn.Module) -> Optional[FusedConv]:
    """The ``FusedConv`` that ends a ``conv → (folded norm)`` ``ConvModule`` with no activation, if any."""
    from ..layers.conv import ConvModule

    if not isinstance(module, ConvModule) or module.order[0] != "conv" or module.with_activation:
        return None
    if module.with_norm and not isinstance(module.norm, nn.Identity):
        return None
    return module.conv if isinstance(module.conv, FusedConv) else None


def _non_local(block: nn.Module, out: torch.Tensor) -> torch.Tensor:
    return block.non_local_block(out) if block.non_local else out


def _bottleneck(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    identity = x if block.downsample is None else block.downsample(x)
    return block.conv3.conv(block.conv2(block.conv1(x)), identity, "relu")


def _bottleneck_3d(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return _non_local(block, _bottleneck(block, x))


def _basic(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    identity = x if block.downsample is None else block.downsample(x)
    return block.conv2.conv(block.conv1(x), identity, "relu")


def _basic_3d(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return _non_local(block, _basic(block, x))


def _x3d(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = block.conv2(block.conv1(x))
    if block.se_ratio is not None:
        out = block.se_module(out)
    identity = x if block.downsample is None else block.downsample(x)
    return block.conv3.conv(block.swish(out), identity, "relu")


def _ta_block(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    inner = block.block
    identity = x if inner.downsample is None else inner.downsample(x)
    return inner.conv3.conv(inner.conv2(block.tam(inner.conv1(x))), identity, "relu")


# Residual blocks whose ``forward`` is ``relu(last(branch(x)) + identity)`` (plus a non-local block
# for the 3D ResNets): (class name, names of its forward and residual functions, the ConvModule that
# ends the branch, the module holding the final ReLU, fused forward).
_RESIDUAL_BLOCKS: Tuple[Tuple[str, str, str, str, Callable[[nn.Module, torch.Tensor], torch.Tensor]], ...] = (
    ("BasicBlock", "residual", "conv2", "", _basic),
    ("Bottleneck", "residual", "conv3", "", _bottleneck),
    ("BasicBlock3d", "residual", "conv2", "", _basic_3d),
    ("Bottleneck3d", "residual", "conv3", "", _bottleneck_3d),
    ("Bottleneck2dAudio", "residual", "conv3", "", _bottleneck),
    ("BlockX3D", "residual", "conv3", "", _x3d),
    ("TABlock", "_inner_forward", "conv3", "block", _ta_block),
)


def _fuse_residual(block: nn.Module) -> bool:
    """Give ``block`` a fused forward if it is a known residual block whose tail can take the add."""
    cls = type(block)
    for name, inner, last, holder, fused in _RESIDUAL_BLOCKS:
        if not (_defined_in_videohub(cls, "forward", f"{name}.forward")
                and _defined_in_videohub(cls, inner, f"{name}.{inner}")):
            continue
        owner = getattr(block, holder) if holder else block
        if _convmodule_tail(getattr(owner, last)) is None or not _is_relu(owner.relu):
            return False
        block.forward = types.MethodType(fused, block)
        return True
    return False


def _shift_channels_last(shift: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """TSM's temporal shift written straight into a channels-last buffer, then the wrapped net.

    Same values as ``temporal_shift`` (channels ``[0, fold)`` from the next frame, ``[fold, 2 fold)``
    from the previous one, zeros at the clip ends, the rest unchanged), without its ``torch.cat`` of
    strided slices and the conversion of its NCHW result back to channels-last.
    """
    segments = shift.num_segments
    if x.dim() != 4 or x.shape[0] % segments != 0:
        return type(shift).forward(shift, x)  # the original raises its ShapeError
    n, c, h, w = x.shape
    fold = c // shift.shift_div
    x = x.contiguous(memory_format=torch.channels_last)
    out = torch.empty_like(x)
    src, dst = x.view(n // segments, segments, c, h, w), out.view(n // segments, segments, c, h, w)
    dst[:, :-1, :fold] = src[:, 1:, :fold]
    dst[:, -1:, :fold] = 0
    dst[:, 1:, fold:2 * fold] = src[:, :-1, fold:2 * fold]
    dst[:, :1, fold:2 * fold] = 0
    dst[:, :, 2 * fold:] = src[:, :, 2 * fold:]
    return shift.net(out)


def fuse_convolutions(model: nn.Module) -> Dict[str, int]:
    """Replace the 2D/3D convs of ``model`` by :class:`FusedConv` (ReLU and residual adds fused); in place.

    Run after :func:`fold_batch_norms`: a conv is fused with the ReLU of its ``ConvModule`` (or of
    ``Conv2plus1d``) only when no norm is left between them.

    Args:
        model: The model, in eval mode (checked).

    Returns:
        Counts: ``convs`` replaced, ``relus`` fused into a conv, ``residual_blocks`` fused,
        ``temporal_shifts`` given the channels-last shift.
    """
    check_eval_mode(model, "fuse_convolutions")
    from ..layers.conv import ConvModule

    counts = {"convs": 0, "relus": 0, "residual_blocks": 0, "temporal_shifts": 0}
    fused_ids = set()
    for module in list(model.modules()):
        if isinstance(module, ConvModule) and module.order[0] == "conv":
            slot = _output_slot(module.conv)
            if slot is None or not _fusable_conv(slot[2]):
                continue
            norm_gone = not module.with_norm or isinstance(module.norm, nn.Identity)
            act_next = module.order[1] == "act" or (module.order[1] == "norm" and norm_gone)
            relu = act_next and module.with_activation and _is_relu(module.activate)
            fused = FusedConv(slot[2], "relu" if relu else "none")
            setattr(slot[0] if slot[0] is not None else module, slot[1] or "conv", fused)
            fused_ids.add(id(fused))
            if relu:
                module.activate = nn.Identity().eval()
                counts["relus"] += 1
        elif _defined_in_videohub(type(module), "forward", "Conv2plus1d.forward") and _fusable_conv(module.conv_s):
            relu = isinstance(module.bn_s, nn.Identity) and _is_relu(module.relu)
            fused = FusedConv(module.conv_s, "relu" if relu else "none")
            module.conv_s = fused
            fused_ids.add(id(fused))
            if relu:
                module.relu = nn.Identity().eval()
                counts["relus"] += 1
    for parent in list(model.modules()):
        for key, child in list(parent._modules.items()):
            if child is not None and _fusable_conv(child) and id(child) not in fused_ids:
                fused = FusedConv(child)
                setattr(parent, key, fused)
                fused_ids.add(id(fused))
    counts["convs"] = len(fused_ids)
    counts["residual_blocks"] = sum(_fuse_residual(module) for module in list(model.modules()))
    for module in model.modules():
        if _defined_in_videohub(type(module), "forward", "TemporalShift.forward"):
            module.forward = types.MethodType(_shift_channels_last, module)
            counts["temporal_shifts"] += 1
    logger.info("oneDNN fusion: %(convs)d convs, %(relus)d ReLUs, %(residual_blocks)d residual blocks, "
                "%(temporal_shifts)d temporal shifts", counts)
    return counts


# ---------------------------------------------------------------------------------------------
# 4. compilation
# ---------------------------------------------------------------------------------------------


def compiler_problem() -> Optional[str]:
    """Why ``torch.compile`` cannot be used here (compiling a two-op function fails), or ``None``."""
    try:
        compiled = torch.compile(lambda t: torch.relu(t * 2.0 + 1.0), options={"freezing": True})
        with torch.no_grad():
            compiled(torch.ones(4))
    except Exception as err:  # any failure of the toolchain (no C++ compiler, missing Triton, ...) counts
        return f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
    return None


def _compile_forward(model: nn.Module) -> bool:
    """Replace ``model.forward`` by a ``torch.compile``d one that falls back to eager on a compiler error."""
    problem = compiler_problem()
    if problem is not None:
        warnings.warn(f"optimize_for_inference(compile=True): torch.compile does not work here ({problem}); "
                      "keeping the eager optimized model", RuntimeWarning, stacklevel=3)
        return False
    from torch._dynamo.exc import BackendCompilerFailed

    eager = model.forward
    compiled = torch.compile(eager, options={"freezing": True})
    state = {"failed": False}

    def forward(*args, **kwargs):
        if not state["failed"]:
            try:
                return compiled(*args, **kwargs)
            except BackendCompilerFailed as err:
                state["failed"] = True
                warnings.warn(f"torch.compile failed on this model ({str(err).splitlines()[0]}); running it eagerly",
                              RuntimeWarning, stacklevel=2)
        return eager(*args, **kwargs)

    model.forward = forward
    return True


# ---------------------------------------------------------------------------------------------
# the switch
# ---------------------------------------------------------------------------------------------


def optimize_for_inference(model: nn.Module, *, memory_format: str = "auto", fold_bn: bool = True,
                           fuse: bool = True, compile: bool = False) -> nn.Module:
    """Make an eval-mode model faster for inference, in place, and return it.

    Args:
        model: A videohub model (or any ``nn.Module``) in eval mode; a model in training mode is
            refused with :class:`~videohub.deploy.errors.DeployError`.
        memory_format: ``"auto"`` (default; channels-last on a CPU with oneDNN, else contiguous),
            ``"channels_last"`` or ``"contiguous"``.
        fold_bn: Fold the BatchNorm layers into the convs before them. Default ``True``.
        fuse: On CPU with channels-last, run the convs through oneDNN with ReLUs and residual
            additions fused (:func:`fuse_convolutions`). Default ``True``. Ignored with ``compile``
            (Inductor does its own fusion).
        compile: Also ``torch.compile`` the forward (Inductor, weights frozen). Default ``False``.
            The first call then takes a while (about 100 s for SlowOnly R50 on 2 CPU threads); if no
            compiler works, a ``RuntimeWarning`` says so and the eager model is used.

    Returns:
        ``model`` itself. Logits agree with the unoptimized model within 1e-5 relative.
    """
    check_eval_mode(model)
    if fold_bn:
        fold_batch_norms(model)
    fmt = resolve_memory_format(model, memory_format)
    if fmt == "channels_last":
        to_channels_last(model)
        if fuse and not compile and _model_device(model).type == "cpu" and torch.backends.mkldnn.is_available():
            fuse_convolutions(model)
    if compile:
        _compile_forward(model)
    return model

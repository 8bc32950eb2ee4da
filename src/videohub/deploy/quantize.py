"""Reduced precision on CPU: int8 post-training static quantization, and the bf16/fp16 warning.

:func:`quantize_int8` quantizes the 2D/3D convolutions of a model for x86 CPUs (PyTorch's ``x86``
quantized engine, FBGEMM/oneDNN kernels): BN is folded first, then each conv's input and output
ranges are calibrated on clips the user gives (histogram observers, as PyTorch's default x86
qconfig), weights are quantized per output channel (symmetric int8), and every conv becomes an
:class:`Int8Conv`: quantize the input (uint8), run the quantized conv (with the following ReLU fused
where there is one), dequantize. Everything else (pooling, residual additions, heads) stays fp32.

Measured on this project's AVX2 CPU (``docs/benchmarks.md``): 1.6x (quickstart TSN) to 1.9x
(TSN R50) faster than the plain fp32 model, with the same top-1 on 100% of 64 synthetic videos; but
the fp32 :func:`~videohub.deploy.optimize_for_inference` path is faster still (2.9x on TSN R50), so
that remains the default way to speed up inference, and int8 is for memory or for CPUs with VNNI.
PyTorch has deprecated its quantized tensors (``torch.quantize_per_tensor`` warns), so this module
depends on an API that a later PyTorch may remove.

:func:`warn_if_slow_dtype` warns, with the measured slowdown, before bf16/fp16 inference on a CPU
whose ``torch.backends.cpu.get_cpu_capability()`` shows no bf16/fp16 units.
"""

from __future__ import annotations

import copy
import warnings
from typing import Callable, Dict, Iterable, Optional, Tuple, Union

import torch
from torch import nn

from ..utils.logging import get_logger
from .errors import DeployError

logger = get_logger(__name__)

BACKEND = "x86"

# Measured on the development machine (AVX2, no bf16/fp16 units), torch.autocast on CPU, 2 threads:
# time relative to fp32 (issue 14's measurement for TSN R50 and X3D-S).
MEASURED_SLOWDOWN = {"bfloat16": 17.0, "float16": 17.0}
# CPU capabilities (as get_cpu_capability() names them) that have native bf16/fp16 arithmetic.
FAST_CAPABILITIES = {"bfloat16": ("AVX512_BF16", "AMX"), "float16": ("AVX512_FP16", "AMX")}


def warn_if_slow_dtype(dtype: Union[str, torch.dtype], device: str = "cpu") -> bool:
    """Warn (``RuntimeWarning``) when ``dtype`` inference on this CPU is known to be slower than fp32.

    Args:
        dtype: ``"bfloat16"``/``"float16"`` (or the torch dtypes); anything else never warns.
        device: Where the model runs. Default ``"cpu"``; other devices never warn.

    Returns:
        Whether a warning was issued.
    """
    name = str(dtype).replace("torch.", "")
    if name not in MEASURED_SLOWDOWN or not str(device).startswith("cpu"):
        return False
    capability = torch.backends.cpu.get_cpu_capability()
    if any(unit in capability for unit in FAST_CAPABILITIES[name]):
        return False
    warnings.warn(
        f"{name} inference on this CPU ({capability}: no native {name} units) emulates {name} in software; "
        f"it was measured {MEASURED_SLOWDOWN[name]:.0f}x slower than float32 on such a CPU (TSN R50, X3D-S); "
        "use float32 here", RuntimeWarning, stacklevel=2)
    return True


class Int8Conv(nn.Module):
    """``dequantize(qconv(quantize(x)))``: an int8 conv between fp32 tensors.

    Args:
        qconv: A quantized conv (``torch.ao.nn.quantized.Conv2d/3d`` or the ``ConvReLU`` variants).
        input_scale, input_zero_point: Quantization of the input (uint8).
    """

    def __init__(self, qconv: nn.Module, input_scale: float, input_zero_point: int):
        super().__init__()
        self.qconv = qconv
        self.input_scale = float(input_scale)
        self.input_zero_point = int(input_zero_point)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = torch.quantize_per_tensor(x.float(), self.input_scale, self.input_zero_point, torch.quint8)
        return self.qconv(q).dequantize()


def _quantized_conv(conv: nn.Module, relu: bool, weight_observer: nn.Module,
                    output_qparams: Tuple[float, int]) -> nn.Module:
    from torch.ao.nn import intrinsic, quantized

    three_d = isinstance(conv, nn.Conv3d)
    if relu:
        cls = intrinsic.quantized.ConvReLU3d if three_d else intrinsic.quantized.ConvReLU2d
    else:
        cls = quantized.Conv3d if three_d else quantized.Conv2d
    qconv = cls(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None)
    weight_observer(conv.weight.detach().float())
    scales, zero_points = weight_observer.calculate_qparams()
    qweight = torch.quantize_per_channel(conv.weight.detach().float(), scales.double(), zero_points.long(), 0,
                                         torch.qint8)
    qconv.set_weight_bias(qweight, None if conv.bias is None else conv.bias.detach().float())
    qconv.scale, qconv.zero_point = float(output_qparams[0]), int(output_qparams[1])
    return qconv


def quantize_int8(model: nn.Module, calibration: Iterable[Dict[str, torch.Tensor]],
                  forward: Optional[Callable[[nn.Module, Dict[str, torch.Tensor]], object]] = None) -> nn.Module:
    """An int8 copy of ``model`` whose 2D/3D convolutions are statically quantized for x86 CPUs.

    Args:
        model: A model in eval mode (refused otherwise); it is not modified.
        calibration: Model inputs (dicts such as ``{"pixel_values": clip}``) that set the activation
            ranges, e.g. a few clips the processor made from the user's videos. At least one.
        forward: ``forward(model, inputs)`` used for calibration. Default ``None``:
            ``model(**inputs)``.

    Returns:
        The quantized copy (CPU only).

    Raises:
        DeployError: training mode, no calibration input, no conv to quantize, or no x86 quantized engine.
    """
    from torch.ao.quantization import get_default_qconfig

    from ..layers.conv import ConvModule
    from .optimize import check_eval_mode, fold_batch_norms

    check_eval_mode(model, "quantize_int8")
    if BACKEND not in torch.backends.quantized.supported_engines:
        raise DeployError(f"int8 quantization needs PyTorch's {BACKEND!r} quantized engine; this build has "
                          f"{torch.backends.quantized.supported_engines}")
    torch.backends.quantized.engine = BACKEND
    qconfig = get_default_qconfig(BACKEND)
    model = copy.deepcopy(model).float().cpu()
    fold_batch_norms(model)

    # convs, each with the ReLU that follows it in its ConvModule (fused into the int8 conv)
    relu_after: Dict[int, Optional[Tuple[nn.Module, str]]] = {}
    for module in model.modules():
        if (isinstance(module, ConvModule) and isinstance(module.conv, (nn.Conv2d, nn.Conv3d))
                and module.order[0] == "conv" and module.with_activation and type(module.activate) is nn.ReLU
                and (module.order[1] == "act" or not module.with_norm or isinstance(module.norm, nn.Identity))):
            relu_after[id(module.conv)] = (module, "activate")
    slots = [(parent, key, child) for parent in model.modules() for key, child in parent._modules.items()
             if isinstance(child, (nn.Conv2d, nn.Conv3d)) and child.padding_mode == "zeros"
             and not isinstance(child.padding, str)]
    if not slots:
        raise DeployError(f"{type(model).__name__} has no 2D/3D convolution to quantize")
    observers = {id(conv): (qconfig.activation(), qconfig.activation()) for _, _, conv in slots}

    def observe(conv: nn.Module, args: tuple, output: torch.Tensor) -> None:
        ins, outs = observers[id(conv)]
        ins(args[0].detach())
        outs(torch.relu(output.detach()) if id(conv) in relu_after else output.detach())

    handles = [conv.register_forward_hook(observe) for _, _, conv in slots]
    count = 0
    with torch.no_grad():
        for inputs in calibration:
            (forward or (lambda m, i: m(**i)))(model, inputs)
            count += 1
    for handle in handles:
        handle.remove()
    if count == 0:
        raise DeployError("quantize_int8 needs at least one calibration input (a few clips of your videos)")

    for parent, key, conv in slots:
        ins, outs = observers[id(conv)]
        if ins.min_val.numel() == 0 or not torch.isfinite(ins.min_val):
            continue  # never reached by the calibration inputs: keep fp32
        in_scale, in_zero = ins.calculate_qparams()
        relu = relu_after.get(id(conv))
        qconv = _quantized_conv(conv, relu is not None, qconfig.weight(), outs.calculate_qparams())
        setattr(parent, key, Int8Conv(qconv, in_scale.item(), in_zero.item()))
        if relu is not None:
            setattr(relu[0], relu[1], nn.Identity().eval())
    logger.info("int8: %d convolutions quantized from %d calibration inputs", len(slots), count)
    return model.eval()

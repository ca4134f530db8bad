"""Quantize family: QUANTIZE (float32 -> int8/uint8/int16, per tensor or per channel; int -> int
requantization, e.g. int8 <-> uint8 at a model's interface) and DEQUANTIZE (int8/uint8/int16/int32/float16 ->
float32). Constant inputs (float16 or int8 weights) are dequantized once at prepare, by the same kernel
(kernels/ref/quantize.c)."""
from __future__ import annotations

import numpy as np

from edgerun.runtime.ops import Kernel, register
from edgerun.runtime.quant import quantize_multiplier

F32, F16, I32, U8, I16, I8 = 0, 1, 2, 3, 7, 9
# Rounding of per-tensor float -> int QUANTIZE as LiteRT's builtin kernel does it (half to even), by output
# type. Values beyond the int32 range saturate here; TFLite's x86 build turns them into the type's minimum.
ROUND_EVEN = {I8: 1, U8: 1, I16: 1}
QRANGE = {I8: (-128, 127), U8: (0, 255), I16: (-32768, 32767), I32: (-(1 << 31), (1 << 31) - 1)}


def _per_channel(ctx, t, p):
    """Fill the per-channel fields of er_quant_params from tensor t's quantization."""
    axis = t.quant_dim
    if not 0 <= axis < max(len(t.shape), 1) or t.shape[axis] != t.scale.size:
        raise ctx.shape_error(f"tensor '{t.name}' has {t.scale.size} scales for quantized dimension {axis} "
                              f"of shape {t.shape}")
    p.channels = t.scale.size
    p.inner = int(np.prod(t.shape[axis + 1:], dtype=np.int64))
    p.scales = ctx.const_ptr(t.scale.astype(np.float32), "const float *")
    p.zero_points = ctx.const_ptr(t.zero_point.astype(np.int32), "const int32_t *")


@register("DEQUANTIZE")
def dequantize(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    ctx.set_output(0, x.shape, F32)
    if x.type not in (F16, I8, U8, I16, I32):
        raise ctx.dtype_error(f"input type {x.type_name} (expected FLOAT16, INT8, UINT8, INT16 or INT32)")
    if x.type != F16 and not x.quantized:
        raise ctx.dtype_error(f"input '{x.name}' ({x.type_name}) has no quantization parameters")
    p = ctx.new("er_quant_params *")
    if x.type != F16:
        if x.scale.size > 1:
            _per_channel(ctx, x, p)
        else:
            p.scale = float(x.scale[0])
            p.zero_point = int(x.zero_point[0]) if x.zero_point.size else 0
    return Kernel("any_dequantize", p, fold=True)  # constant weights: run once at prepare, by the same kernel


@register("QUANTIZE")
def quantize(ctx):
    ctx.check_inputs(1, 1)
    x, y = ctx.inputs[0], ctx.outputs[0]
    ctx.set_output(0, x.shape)
    if y.type not in (I8, U8, I16):
        raise ctx.dtype_error(f"output type {y.type_name} (expected INT8, UINT8 or INT16)")
    if not y.quantized:
        raise ctx.dtype_error(f"output '{y.name}' has no quantization parameters")
    qmin, qmax = QRANGE[y.type]
    p = ctx.new("er_quant_params *", dict(qmin=qmin, qmax=qmax))
    if x.type == F32:
        p.round_even = int(ROUND_EVEN.get(y.type, 0))
        if y.scale.size > 1:
            _per_channel(ctx, y, p)
            p.round_even = 0  # the per-channel path rounds half away from zero
        else:
            if not y.scale[0] > 0:
                raise ctx.dtype_error(f"output '{y.name}' has scale {y.scale[0]}")
            p.fscale = float(y.scale[0])
            p.zero_point = int(y.zero_point[0])
        return Kernel("any_quantize", p)
    if x.type in (I8, U8, I16, I32):
        if not x.quantized:
            raise ctx.dtype_error(f"input '{x.name}' ({x.type_name}) has no quantization parameters")
        if x.scale.size > 1 or y.scale.size > 1:
            raise ctx.unsupported("per-channel requantization")
        m, s = quantize_multiplier(float(np.float64(x.scale[0]) / np.float64(y.scale[0])))
        p.multiplier, p.shift = m, s
        p.input_zp, p.zero_point = int(x.zero_point[0]), int(y.zero_point[0])
        return Kernel("any_requantize", p)
    raise ctx.dtype_error(f"input type {x.type_name}")

"""Data family, part 2: math ops LiteRT runs outside the elementwise family: CUMSUM, ADD_N, BUCKETIZE, ATAN2,
BITWISE_XOR, RIGHT_SHIFT, REAL, IMAG and COMPLEX_ABS (kernels/ref/data_math.c). Types are those LiteRT's
builtin kernels run; the others are refused by name."""
from __future__ import annotations

import numpy as np
from edgerun.runtime.ops import Kernel, broadcast_shape, register
from edgerun.runtime.ops.data_index import (
    BOOL,
    C64,
    C128,
    F16,
    F32,
    F64,
    I16,
    I32,
    I64,
    S8,
    U8,
    U16,
    U32,
    _need_type,
    _prod,
    _same_type,
)
from edgerun.runtime.ops.shape_common import const_ints, norm_axis

_ = BOOL, F16  # named for readers: float16 ATAN2 is in runtime/ops/elementwise_f16.py


@register("CUMSUM")
def cumsum(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    kernels = {F32: "f32_cumsum", I32: "i32_cumsum", I64: "i64_cumsum"}
    _need_type(ctx, x, tuple(kernels), "input")
    _same_type(ctx, x, ctx.outputs[0], "output")
    axis = const_ints(ctx, 1, "axis", types=(I32,)).ravel()
    if x.ndim < 1 or axis.size != 1:
        raise ctx.shape_error(f"input needs rank >= 1 and axis one value; have {x.shape} and {axis.tolist()}")
    a = norm_axis(ctx, axis[0], x.ndim)
    ctx.set_output(0, x.shape)
    p = ctx.new("er_scan_params *", {"outer": _prod(x.shape[:a]), "n": int(x.shape[a]),
                                     "inner": _prod(x.shape[a + 1:]), "exclusive": int(bool(ctx.opt("exclusive", False))),
                                     "reverse": int(bool(ctx.opt("reverse", False)))})
    return Kernel(kernels[x.type], p)


@register("ADD_N")
def add_n(ctx):
    ctx.check_inputs(2)
    x = ctx.inputs[0]
    kernels = {F32: "f32_add_n", I32: "i32_add_n"}
    _need_type(ctx, x, tuple(kernels), "input 0")
    for t in ctx.inputs[1:] + [ctx.outputs[0]]:
        if t is None:
            raise ctx.unsupported("an input is missing")
        _same_type(ctx, x, t, "inputs and output share one type")
        if t is not ctx.outputs[0] and tuple(t.shape) != tuple(x.shape):
            raise ctx.shape_error(f"input '{t.name}' has shape {t.shape}, input 0 {x.shape} (no broadcasting)")
    ctx.set_output(0, x.shape)
    return Kernel(kernels[x.type])


@register("BUCKETIZE")
def bucketize(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    kernels = {F32: "f32_bucketize", F64: "f64_bucketize", I32: "i32_bucketize", I64: "i64_bucketize"}
    _need_type(ctx, x, tuple(kernels), "input")
    b = ctx.opt("boundaries", None)
    b = np.asarray([] if b is None else b, np.float32).ravel()
    if b.size > 1 and np.any(b[1:] < b[:-1]):
        raise ctx.shape_error(f"boundaries {b.tolist()[:16]} are not sorted")
    ctx.set_output(0, x.shape, I32)
    p = ctx.new("er_bucketize_params *", {"n_bounds": int(b.size),
                                          "bounds": ctx.const_ptr(b, "float *") if b.size else ctx.ffi.NULL})
    return Kernel(kernels[x.type], p)


@register("ATAN2")
def atan2(ctx):
    ctx.check_inputs(2, 2)
    y, x = ctx.inputs
    kernels = {F32: "f32_atan2", F64: "f64_atan2"}
    _need_type(ctx, y, tuple(kernels), "y")
    _same_type(ctx, y, x, "x")
    _same_type(ctx, y, ctx.outputs[0], "output")
    if tuple(x.shape) != tuple(y.shape):
        raise ctx.shape_error(f"y {y.shape} and x {x.shape} must have one shape (LiteRT does not broadcast ATAN2)")
    ctx.set_output(0, y.shape)
    return Kernel(kernels[y.type])


BITWISE = {"BITWISE_XOR": {S8: "u8_bitwise_xor", U8: "u8_bitwise_xor", I16: "u16_bitwise_xor",
                           U16: "u16_bitwise_xor", I32: "u32_bitwise_xor", U32: "u32_bitwise_xor"},
           "RIGHT_SHIFT": {S8: "s8_right_shift", U8: "u8_right_shift", I16: "s16_right_shift",
                           U16: "u16_right_shift", I32: "i32_right_shift", U32: "u32_right_shift"}}


@register("BITWISE_XOR", "RIGHT_SHIFT")
def bitwise(ctx):
    ctx.check_inputs(2, 2)
    a, b = ctx.inputs
    kernels = BITWISE[ctx.name]
    _need_type(ctx, a, tuple(kernels), "input 0")
    _same_type(ctx, a, b, "input 1")
    _same_type(ctx, a, ctx.outputs[0], "output")
    ctx.set_output(0, broadcast_shape(ctx, a.shape, b.shape))
    if len(ctx.outputs[0].shape) > 8:
        raise ctx.unsupported("rank above 8")
    return Kernel(kernels[a.type])


@register("REAL", "IMAG", "COMPLEX_ABS")
def complex_part(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    _need_type(ctx, x, (C64, C128), "input")
    ctx.set_output(0, x.shape, F32 if x.type == C64 else F64)
    if ctx.name == "COMPLEX_ABS":
        return Kernel("f32_complex_abs" if x.type == C64 else "f64_complex_abs")
    return Kernel("any_complex_part", ctx.new("er_complex_part_params *", {"part": int(ctx.name == "IMAG")}))

"""float16 activations of the elementwise ops LiteRT's builtin kernels run on FLOAT16 (ADD, MUL, MAXIMUM,
MINIMUM, ATAN2, the comparisons, LOGISTIC, TANH, SOFTMAX, GELU, NEG, FLOOR, ROUND, SIN, COS) and CAST to or
from FLOAT16. Prepare picks FLOAT16_OPS[name] when a tensor of the op is FLOAT16. Kernels:
kernels/ref/f16_elementwise.c (how LiteRT rounds each op is written there)."""
from __future__ import annotations

from edgerun.runtime.ops import FLOAT16_OPS, Kernel, broadcast_shape
from edgerun.runtime.ops.elementwise import BINARY, COMPARE, UNARY, _lib
from edgerun.runtime.ops.reduce import rows_depth
from edgerun.runtime.quant import float_activation_range

F16, BOOL = 1, 6
HALF_MAX = 65504.0  # LiteRT clamps ADD/MUL to the activation range in half: NONE saturates at +-65504
CAST_TYPES = {0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 15, 16}  # what LiteRT casts float16 to and from (not UINT64)


def _f16(*names):
    def deco(fn):
        for n in names:
            FLOAT16_OPS[n] = fn
        return fn
    return deco


def _all_f16(ctx, tensors):
    for what, t in tensors:
        if t is None:
            raise ctx.unsupported(f"{what} is missing")
        if t.type != F16:
            raise ctx.dtype_error(f"{what} '{t.name}' is {t.type_name}; the float16 {ctx.name} needs FLOAT16 "
                                  f"inputs and output")


@_f16("ADD", "MUL", "MAXIMUM", "MINIMUM")
def binary(ctx):
    ctx.check_inputs(2, 2)
    a, b = ctx.inputs
    _all_f16(ctx, [("input 0", a), ("input 1", b), ("output", ctx.outputs[0])])
    ctx.set_output(0, broadcast_shape(ctx, a.shape, b.shape))
    act = ctx.opt("fusedActivationFunction", 0) if ctx.name in ("ADD", "MUL") else 0
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(f"fused activation {act} on FLOAT16")
    lo, hi = float_activation_range(act)
    lib = _lib()
    p = ctx.new("er_binary_params *", {"op": getattr(lib, BINARY[ctx.name]), "act_min": max(lo, -HALF_MAX),
                                       "act_max": min(hi, HALF_MAX)})
    return Kernel("f16_binary", p)


@_f16("ATAN2")
def atan2(ctx):
    ctx.check_inputs(2, 2)
    y, x = ctx.inputs
    _all_f16(ctx, [("y", y), ("x", x), ("output", ctx.outputs[0])])
    if tuple(x.shape) != tuple(y.shape):
        raise ctx.shape_error(f"y {y.shape} and x {x.shape} must have one shape (LiteRT does not broadcast ATAN2)")
    ctx.set_output(0, y.shape)
    return Kernel("f16_atan2")


@_f16(*COMPARE)
def compare(ctx):
    ctx.check_inputs(2, 2)
    a, b = ctx.inputs
    _all_f16(ctx, [("input 0", a), ("input 1", b)])
    ctx.set_output(0, broadcast_shape(ctx, a.shape, b.shape), BOOL)
    return Kernel("f16_compare", ctx.new("er_binary_params *", {"op": getattr(_lib(), COMPARE[ctx.name])}))


@_f16("LOGISTIC", "TANH", "GELU", "NEG", "FLOOR", "ROUND", "SIN", "COS")
def unary(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    _all_f16(ctx, [("input", x), ("output", ctx.outputs[0])])
    ctx.set_output(0, x.shape)
    lib = _lib()
    op = getattr(lib, UNARY[ctx.name])
    if ctx.name == "GELU" and ctx.opt("approximate", False):
        op = lib.ER_UN_GELU_TANH
    return Kernel("f16_unary", ctx.new("er_unary_params *", {"op": op}))


@_f16("SOFTMAX")
def softmax(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    _all_f16(ctx, [("input", x), ("output", ctx.outputs[0])])
    ctx.set_output(0, x.shape)
    rows, depth = rows_depth(ctx)
    p = ctx.new("er_softmax_params *", {"beta": float(ctx.opt("beta", 1.0)), "log": 0, "rows": rows, "depth": depth})
    return Kernel("f16_softmax", p)


@_f16("CAST")
def cast(ctx):
    ctx.check_inputs(1, 1)
    x, y = ctx.inputs[0], ctx.outputs[0]
    if x.type not in CAST_TYPES or y.type not in CAST_TYPES:
        raise ctx.unsupported(f"CAST from {x.type_name} to {y.type_name}")
    ctx.set_output(0, x.shape)
    return Kernel("f16_cast")

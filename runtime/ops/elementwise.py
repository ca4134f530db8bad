"""Elementwise ops: binary arithmetic with broadcasting and fused activations, comparisons and logic, unary
math and activations, CAST, SELECT, FILL. Kernels: kernels/ref/binary.c, kernels/ref/unary.c."""
from __future__ import annotations

import numpy as np

from edgerun.runtime.ops import Kernel, broadcast_shape, register
from edgerun.runtime.quant import float_activation_range
from edgerun.schema.ops import op_def

F32, I32, I64, BOOL = 0, 2, 4, 6
INT_ACT = {0: (-(1 << 31), (1 << 31) - 1), 1: (0, (1 << 31) - 1), 2: (-1, 1), 3: (0, 6)}

BINARY = {"ADD": "ER_BIN_ADD", "SUB": "ER_BIN_SUB", "MUL": "ER_BIN_MUL", "DIV": "ER_BIN_DIV",
          "MAXIMUM": "ER_BIN_MAX", "MINIMUM": "ER_BIN_MIN", "SQUARED_DIFFERENCE": "ER_BIN_SQDIFF",
          "POW": "ER_BIN_POW", "FLOOR_DIV": "ER_BIN_FLOORDIV", "FLOOR_MOD": "ER_BIN_FLOORMOD",
          "PRELU": "ER_BIN_PRELU"}
# ops that carry a fused activation in their options (the op table's fuses_activation)
FUSED = frozenset(n for n in BINARY if op_def(n).fuses_activation)
COMPARE = {"LESS": "ER_BIN_LESS", "LESS_EQUAL": "ER_BIN_LESS_EQUAL", "GREATER": "ER_BIN_GREATER",
           "GREATER_EQUAL": "ER_BIN_GREATER_EQUAL", "EQUAL": "ER_BIN_EQUAL", "NOT_EQUAL": "ER_BIN_NOT_EQUAL"}
UNARY = {"ABS": "ER_UN_ABS", "NEG": "ER_UN_NEG", "SQRT": "ER_UN_SQRT", "RSQRT": "ER_UN_RSQRT",
         "EXP": "ER_UN_EXP", "LOG": "ER_UN_LOG", "SIN": "ER_UN_SIN", "COS": "ER_UN_COS",
         "SQUARE": "ER_UN_SQUARE", "FLOOR": "ER_UN_FLOOR", "CEIL": "ER_UN_CEIL", "ROUND": "ER_UN_ROUND",
         "LOGISTIC": "ER_UN_LOGISTIC", "TANH": "ER_UN_TANH", "RELU": "ER_UN_RELU", "RELU6": "ER_UN_RELU6",
         "RELU_N1_TO_1": "ER_UN_RELU_N1_TO_1", "RELU_0_TO_1": "ER_UN_RELU_0_TO_1", "ELU": "ER_UN_ELU",
         "HARD_SWISH": "ER_UN_HARD_SWISH", "GELU": "ER_UN_GELU", "LEAKY_RELU": "ER_UN_LEAKY_RELU",
         "SIGN": "ER_UN_SIGN"}
# unary ops run on int32 (the op table's types; kernels/ref/unary.c has their int32 forms)
INT_UNARY = frozenset(n for n in UNARY if "int32" in op_def(n).types)


def _lib():
    from edgerun.kernels import lib

    return lib


def _quantized_handler(ctx):
    """Integer-quantized variants live in runtime/ops/elementwise_int.py when present."""
    from edgerun.runtime.ops import QUANTIZED

    h = QUANTIZED.get(ctx.name)
    if h is None:
        raise ctx.unsupported(f"{ctx.inputs[0].type_name} (quantized) is not supported")
    return h(ctx)


def _same_types(ctx, n):
    t = ctx.inputs[0].type
    for j in range(1, n):
        if ctx.inputs[j].type != t:
            raise ctx.dtype_error(f"input {j} is {ctx.inputs[j].type_name}, input 0 is {ctx.inputs[0].type_name}")
    return t


def binary(ctx):
    ctx.check_inputs(2, 2)
    a, b = ctx.inputs
    t = _same_types(ctx, 1 if (ctx.name == "PRELU" and a.type == 7 and b.type == 9) else 2)  # int16 x, int8 alpha
    ctx.set_output(0, broadcast_shape(ctx, a.shape, b.shape), t)
    if t in (9, 3, 7) and (a.quantized or ctx.outputs[0].quantized):
        return _quantized_handler(ctx)
    lib = _lib()
    act = ctx.opt("fusedActivationFunction", 0) if ctx.name in FUSED else 0
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(f"fused activation {act}")
    lo, hi = float_activation_range(act)
    ilo, ihi = INT_ACT[act]
    p = ctx.new("er_binary_params *", {"op": getattr(lib, BINARY[ctx.name]), "act_min": lo, "act_max": hi,
                                       "iact_min": ilo, "iact_max": ihi})
    if t == F32:
        return Kernel("f32_binary", p)
    if t == I32 and ctx.name != "PRELU":
        return Kernel("i32_binary", p)
    if t == I64 and ctx.name not in ("PRELU",):
        return Kernel("i64_binary", p)
    if t == 7 and ctx.name in ("ADD", "MUL", "MAXIMUM", "MINIMUM", "FLOOR_DIV", "FLOOR_MOD"):
        return Kernel("i16_binary", p)  # unquantized int16
    raise ctx.unsupported(f"{ctx.inputs[0].type_name} inputs")


for _name in BINARY:
    register(_name)(binary)


def compare(ctx):
    ctx.check_inputs(2, 2)
    a, b = ctx.inputs
    t = _same_types(ctx, 2)
    ctx.set_output(0, broadcast_shape(ctx, a.shape, b.shape), BOOL)
    if a.quantized and (t in (9, 3) or (t == 7 and ctx.name in ("EQUAL", "NOT_EQUAL"))):  # TFLite rescales
        return _quantized_handler(ctx)
    if t not in (F32, I32, I64, 9, 3, 7, BOOL):
        raise ctx.unsupported(f"{a.type_name} inputs")
    if t == BOOL and ctx.name not in ("EQUAL", "NOT_EQUAL"):
        raise ctx.unsupported("ordering comparison of BOOL")
    lib = _lib()
    return Kernel("any_compare", ctx.new("er_binary_params *", {"op": getattr(lib, COMPARE[ctx.name])}))


for _name in COMPARE:
    register(_name)(compare)


@register("LOGICAL_AND", "LOGICAL_OR")
def logical(ctx):
    ctx.check_inputs(2, 2)
    a, b = ctx.inputs
    if a.type != BOOL or b.type != BOOL:
        raise ctx.dtype_error("inputs must be BOOL")
    ctx.set_output(0, broadcast_shape(ctx, a.shape, b.shape), BOOL)
    lib = _lib()
    op = lib.ER_BIN_LOGICAL_AND if ctx.name == "LOGICAL_AND" else lib.ER_BIN_LOGICAL_OR
    return Kernel("b8_logical", ctx.new("er_binary_params *", {"op": op}))


@register("LOGICAL_NOT")
def logical_not(ctx):
    ctx.check_inputs(1, 1)
    if ctx.inputs[0].type != BOOL:
        raise ctx.dtype_error("input must be BOOL")
    ctx.set_output(0, ctx.inputs[0].shape, BOOL)
    return Kernel("i32_unary", ctx.new("er_unary_params *", {"op": _lib().ER_UN_LOGICAL_NOT}))


def unary(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    ctx.set_output(0, x.shape, x.type)
    if x.type in (9, 3, 7):
        return _quantized_handler(ctx)
    lib = _lib()
    p = ctx.new("er_unary_params *", {"op": getattr(lib, UNARY[ctx.name]), "alpha": ctx.opt("alpha", 0.0)})
    if ctx.name == "GELU" and ctx.opt("approximate", False):
        p.op = lib.ER_UN_GELU_TANH
    if x.type == F32:
        return Kernel("f32_unary", p)
    if x.type == I32 and ctx.name in INT_UNARY:
        return Kernel("i32_unary", p)
    if x.type == I64 and ctx.name == "NEG":
        return Kernel("i64_unary", p)  # kernels/ref/f16_elementwise.c
    raise ctx.unsupported(f"{x.type_name} input")


for _name in UNARY:
    register(_name)(unary)


NUMERIC = {0, 1, 2, 3, 4, 6, 7, 9, 10, 15, 16}


@register("CAST")
def cast(ctx):
    ctx.check_inputs(1, 1)
    x, y = ctx.inputs[0], ctx.outputs[0]
    if x.type not in NUMERIC - {1} or y.type not in NUMERIC - {1}:
        raise ctx.unsupported(f"CAST from {x.type_name} to {y.type_name}")
    ctx.set_output(0, x.shape)
    return Kernel("any_cast")


@register("SELECT", "SELECT_V2")
def select(ctx):
    ctx.check_inputs(3, 3)
    c, a, b = ctx.inputs
    if c.type != BOOL:
        raise ctx.dtype_error(f"condition is {c.type_name}, expected BOOL")
    if a.type != b.type:
        raise ctx.dtype_error(f"x is {a.type_name} but y is {b.type_name}")
    if ctx.name == "SELECT" and len(c.shape) == 1 and len(a.shape) > 1 and c.shape[0] == a.shape[0] != 1:
        raise ctx.unsupported("SELECT with a rank-1 condition selecting rows of a higher-rank input")
    ctx.set_output(0, broadcast_shape(ctx, c.shape, a.shape, b.shape), a.type)
    if a.quantized and (a.scale.tolist() != ctx.outputs[0].scale.tolist() or
                        b.scale.tolist() != ctx.outputs[0].scale.tolist()):
        return _quantized_handler(ctx)
    return Kernel("any_select")


@register("FILL")
def fill(ctx):
    ctx.check_inputs(2, 2)
    dims = ctx.require_const(0, "dims")
    v = ctx.inputs[1]
    if v.size != 1:
        raise ctx.shape_error(f"value must have one element, has shape {v.shape}")
    ctx.set_output(0, [int(d) for d in np.asarray(dims).reshape(-1)], v.type)
    return Kernel("any_fill")


@register("ZEROS_LIKE", "ONES_LIKE")
def zeros_like(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    ctx.set_output(0, x.shape, x.type)
    value = np.zeros(x.shape, x.dtype) if ctx.name == "ZEROS_LIKE" else np.ones(x.shape, x.dtype)
    ctx.outputs[0].data = value  # known at prepare: becomes a constant
    return Kernel("any_copy")

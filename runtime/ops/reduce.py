"""Reduce family: pooling (MAX/AVERAGE/L2_POOL_2D), reductions (MEAN, SUM, REDUCE_MAX/MIN/PROD/ANY/ALL),
SOFTMAX, LOG_SOFTMAX, L2_NORMALIZATION, ARG_MAX/ARG_MIN. Kernels: kernels/ref/pool.c, reduce.c, softmax.c.
Integer-quantized inputs are handed to the QUANTIZED table (runtime/ops/reduce_int.py)."""
from __future__ import annotations

import numpy as np

from edgerun.runtime.ops import QUANTIZED, Kernel, register
from edgerun.runtime.ops.conv import out_size, pad_before
from edgerun.runtime.quant import float_activation_range

F32, I32, I64, BOOL = 0, 2, 4, 6


def _quantized(ctx, **kw):
    h = QUANTIZED.get(ctx.name)
    if h is None:
        raise ctx.unsupported(f"input type {ctx.inputs[0].type_name}")
    return h(ctx, **kw)


# -- pooling --------------------------------------------------------------------------------------------

def pool_geometry(ctx):
    x = ctx.inputs[0]
    if len(x.shape) != 4:
        raise ctx.shape_error(f"input '{x.name}' must be 4-D NHWC, has shape {x.shape}")
    pad = ctx.opt("padding", 0)
    if pad not in (0, 1):
        raise ctx.unsupported(f"padding {pad}")
    sh, sw = ctx.opt("strideH", 1), ctx.opt("strideW", 1)
    fh, fw = ctx.opt("filterHeight", 1), ctx.opt("filterWidth", 1)
    if min(sh, sw, fh, fw) < 1:
        raise ctx.unsupported(f"strides ({sh}, {sw}) and filter ({fh}, {fw}) must be >= 1")
    act = ctx.opt("fusedActivationFunction", 0)
    if act not in (0, 1, 2, 3):
        raise ctx.unsupported(f"fused activation {act}")
    n, h, w, c = x.shape
    oh, ow = out_size(pad, h, fh, sh), out_size(pad, w, fw, sw)
    if oh <= 0 or ow <= 0:
        raise ctx.shape_error(f"pool window {fh}x{fw} does not fit the input {h}x{w} with VALID padding")
    ctx.set_output(0, (n, oh, ow, c))
    geo = dict(filter_h=fh, filter_w=fw, stride_h=sh, stride_w=sw,
               pad_top=pad_before(sh, 1, h, fh, oh), pad_left=pad_before(sw, 1, w, fw, ow))
    return geo, act


@register("MAX_POOL_2D", "AVERAGE_POOL_2D", "L2_POOL_2D")
def pool2d(ctx):
    ctx.check_inputs(1, 1)
    geo, act = pool_geometry(ctx)
    if ctx.inputs[0].type != F32:
        return _quantized(ctx, geo=geo, act=act)
    lo, hi = float_activation_range(act)
    p = ctx.new("er_pool_params *", dict(geo, act_min=lo, act_max=hi))
    kernel = {"MAX_POOL_2D": "f32_maxpool2d", "AVERAGE_POOL_2D": "f32_avgpool2d", "L2_POOL_2D": "f32_l2pool2d"}
    return Kernel(kernel[ctx.name], p)


# -- reductions -----------------------------------------------------------------------------------------

RED_OPS = {"SUM": 0, "MEAN": 1, "REDUCE_MAX": 2, "REDUCE_MIN": 3, "REDUCE_PROD": 4, "REDUCE_ANY": 5,
           "REDUCE_ALL": 6}


def reduce_axes(ctx):
    """Normalized, sorted, de-duplicated reduction axes from the constant second input."""
    x = ctx.inputs[0]
    axes = np.asarray(ctx.require_const(1, "(axes)")).reshape(-1)
    if axes.dtype.kind not in "iu":
        raise ctx.unsupported(f"axes must be int32 or int64, not {axes.dtype}")
    axes = axes.astype(np.int64)
    r = len(x.shape)
    out = set()
    for a in axes.tolist():
        if not -r <= a < max(r, 1):
            raise ctx.shape_error(f"axis {a} is out of range for input of rank {r}")
        out.add(a % r if r else 0)
    return sorted(out)


MAX_VIEW_DIMS = 8  # ER_REDUCE_MAX_DIMS


def reduce_plan(ctx, axes):
    """Output shape and the strided view of er_reduce_params (ops_reduce.h) as a dict of its fields: output
    positions run row-major over the kept dims, reduced elements row-major over `axes` (sorted, input order).
    No table grows with the tensor: the C kernel walks the dims."""
    x = ctx.inputs[0]
    shape = tuple(x.shape)
    if len(shape) > MAX_VIEW_DIMS:
        raise ctx.unsupported(f"input of rank {len(shape)} (reductions take at most {MAX_VIEW_DIMS} dims)")
    keep = ctx.opt("keepDims", False)
    kept = [d for d in range(len(shape)) if d not in axes]
    out_shape = tuple(1 if d in axes else shape[d] for d in range(len(shape))) if keep else \
        tuple(shape[d] for d in kept)
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]

    def dims(which):
        ds = [int(shape[d]) for d in which]
        st = [int(strides[d]) for d in which]
        pad = MAX_VIEW_DIMS - len(ds)
        return ds + [1] * pad, st + [0] * pad

    out_dims, out_strides = dims(kept)
    red_dims, red_strides = dims(axes)
    view = dict(n_out=int(np.prod([shape[d] for d in kept], dtype=np.int64)),
                n_red=int(np.prod([shape[d] for d in axes], dtype=np.int64)),
                n_out_dims=len(kept), n_red_dims=len(axes), out_dims=out_dims, out_strides=out_strides,
                red_dims=red_dims, red_strides=red_strides)
    return out_shape, view


@register(*RED_OPS)
def reduce(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    axes = reduce_axes(ctx)
    out_shape, view = reduce_plan(ctx, axes)
    ctx.set_output(0, out_shape)
    op = RED_OPS[ctx.name]
    if ctx.name in ("REDUCE_ANY", "REDUCE_ALL"):
        if x.type != BOOL:
            raise ctx.dtype_error(f"input must be BOOL, is {x.type_name}")
        kernel = "b8_reduce"
    elif x.type == F32:
        kernel = "f32_reduce"
    elif x.type in (I32, I64):
        kernel = "i32_reduce"
    else:
        return _quantized(ctx, axes=axes, view=view, op=op)
    if ctx.outputs[0].type != x.type:
        raise ctx.dtype_error(f"output is {ctx.outputs[0].type_name}, input {x.type_name}")
    p = ctx.new("er_reduce_params *", dict(view, op=op))
    return Kernel(kernel, p)


# -- softmax, L2 normalization --------------------------------------------------------------------------

def rows_depth(ctx):
    x = ctx.inputs[0]
    if len(x.shape) == 0:
        raise ctx.shape_error(f"input '{x.name}' must have rank >= 1")
    depth = x.shape[-1]
    return (x.size // depth if depth else 0), depth


@register("SOFTMAX", "LOG_SOFTMAX")
def softmax(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    ctx.set_output(0, x.shape)
    rows, depth = rows_depth(ctx)
    beta = float(ctx.opt("beta", 1.0)) if ctx.name == "SOFTMAX" else 1.0
    if x.type != F32:
        return _quantized(ctx, rows=rows, depth=depth, beta=beta)
    p = ctx.new("er_softmax_params *", dict(beta=beta, log=int(ctx.name == "LOG_SOFTMAX"), rows=rows,
                                             depth=depth))
    return Kernel("f32_softmax", p)


@register("L2_NORMALIZATION")
def l2_normalization(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    ctx.set_output(0, x.shape)
    rows, depth = rows_depth(ctx)
    if x.type != F32:
        return _quantized(ctx, rows=rows, depth=depth)
    return Kernel("f32_l2norm", ctx.new("er_softmax_params *", dict(rows=rows, depth=depth)))


# -- arg max / arg min ----------------------------------------------------------------------------------

@register("ARG_MAX", "ARG_MIN")
def arg_max(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    axis = np.asarray(ctx.require_const(1, "(axis)")).reshape(-1)
    if axis.size != 1:
        raise ctx.shape_error(f"axis must hold one value, holds {axis.size}")
    r = len(x.shape)
    a = int(axis[0])
    if not -r <= a < r:
        raise ctx.shape_error(f"axis {a} is out of range for input of rank {r}")
    a %= r
    out = ctx.outputs[0]
    if out.type not in (I32, I64):
        raise ctx.dtype_error(f"output must be INT32 or INT64, is {out.type_name}")
    if x.type not in (F32, I32, I64, 9, 3, 7, BOOL):
        raise ctx.dtype_error(f"input type {x.type_name}")
    ctx.set_output(0, x.shape[:a] + x.shape[a + 1:])
    outer = int(np.prod(x.shape[:a], dtype=np.int64))
    inner = int(np.prod(x.shape[a + 1:], dtype=np.int64))
    if x.shape[a] == 0:
        raise ctx.shape_error(f"cannot take {ctx.name} over an empty axis {a}")
    p = ctx.new("er_arg_params *", dict(is_min=int(ctx.name == "ARG_MIN"), outer=outer, axis_size=x.shape[a],
                                         inner=inner))
    return Kernel("any_argmax", p)

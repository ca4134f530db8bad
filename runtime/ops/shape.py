"""Shape family, part 1: ops that only change a tensor's shape or split/join tensors along an axis (RESHAPE,
SQUEEZE, EXPAND_DIMS, CONCATENATION, PACK, UNPACK, SPLIT, SPLIT_V), gathers, and ops whose output is known
at prepare (SHAPE, RANGE, WHERE on constants). Index-map ops live in shape_index.py, loaded from here.
Kernels: kernels/ref/copy.c (any_copy), kernels/ref/shape_*.c."""
from __future__ import annotations

import numpy as np

from edgerun.runtime.ops import Kernel, register
from edgerun.runtime.ops.shape_common import (QUANT_TYPES, const_ints, itemsize, norm_axis, require_same_quant,
                                              same_quant, same_type)
from edgerun.runtime.quant import float_activation_range


# -- pure reshapes -------------------------------------------------------------------------------------
def _reshape_to(ctx, shape):
    x = ctx.inputs[0]
    same_type(ctx)
    shape = [int(d) for d in shape]
    n_in = x.size
    stretch = [i for i, d in enumerate(shape) if d == -1]
    if len(stretch) > 1:
        raise ctx.shape_error(f"new shape {shape} has more than one -1")
    if any(d < -1 for d in shape):
        raise ctx.shape_error(f"new shape {shape} has a negative dimension")
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if stretch:
        if known == 0:
            if n_in != 0:
                raise ctx.shape_error(f"cannot infer -1 in {shape} for {n_in} elements")
            shape[stretch[0]] = 0
        else:
            shape[stretch[0]] = n_in // known
    if int(np.prod(shape, dtype=np.int64)) != n_in:
        raise ctx.shape_error(f"cannot reshape {x.shape} ({n_in} elements) to {tuple(shape)}")
    ctx.set_output(0, shape)
    return Kernel("any_copy")


@register("RESHAPE")
def reshape(ctx):
    ctx.check_inputs(1, 2)
    s = ctx.inputs[1] if len(ctx.inputs) > 1 else None
    # As TFLite: an int32 vector shape input wins; otherwise the new_shape option ([0] meaning a scalar).
    if s is not None and s.type == 2 and s.shape is not None and len(s.shape) == 1:
        return _reshape_to(ctx, const_ints(ctx, 1, "shape"))
    new = ctx.opt("newShape", None)
    new = [] if new is None else [int(d) for d in new]
    if new == [0]:
        new = []
    return _reshape_to(ctx, new)


@register("SQUEEZE")
def squeeze(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    dims = ctx.opt("squeezeDims", None)
    dims = [] if dims is None else list(dims)
    if dims:
        axes = {norm_axis(ctx, a, x.ndim, "squeeze dim") for a in dims}
        for a in axes:
            if x.shape[a] != 1:
                raise ctx.shape_error(f"cannot squeeze dimension {a} of size {x.shape[a]} in {x.shape}")
    else:
        axes = {a for a, d in enumerate(x.shape) if d == 1}
    return _reshape_to(ctx, [d for a, d in enumerate(x.shape) if a not in axes])


@register("EXPAND_DIMS")
def expand_dims(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    ax = const_ints(ctx, 1, "axis").ravel()
    if ax.size != 1:
        raise ctx.shape_error(f"axis must hold one value, got {ax.size}")
    a = int(ax[0])
    if not -(x.ndim + 1) <= a <= x.ndim:
        raise ctx.shape_error(f"axis {a} is out of range for rank {x.ndim}")
    if a < 0:
        a += x.ndim + 1
    shape = list(x.shape)
    shape.insert(a, 1)
    require_same_quant(ctx, x, ctx.outputs[0], "EXPAND_DIMS")
    return _reshape_to(ctx, shape)


# -- joining and splitting -----------------------------------------------------------------------------
def _concat_params(ctx, outer, widths, act=(0.0, 0.0), src=0):
    arr = np.asarray(widths, np.int64)
    return ctx.new("er_concat_params *", {"outer": int(outer), "n": len(widths), "src_input": src,
                                          "inner_bytes": ctx.const_ptr(arr, "int64_t *"),
                                          "act_min": act[0], "act_max": act[1]})


@register("CONCATENATION")
def concatenation(ctx):
    ctx.check_inputs(1)
    xs = ctx.inputs
    if any(t is None for t in xs):
        raise ctx.unsupported("an input is missing")
    x0 = xs[0]
    rank = x0.ndim
    axis = norm_axis(ctx, ctx.opt("axis", 0), max(rank, 1))
    for j, t in enumerate(xs):
        if t.type != x0.type:
            raise ctx.dtype_error(f"input {j} is {t.type_name}, input 0 is {x0.type_name}")
        if t.ndim != rank or any(t.shape[k] != x0.shape[k] for k in range(rank) if k != axis):
            raise ctx.shape_error(f"input {j} shape {t.shape} does not match {x0.shape} outside axis {axis}")
    shape = list(x0.shape)
    shape[axis] = sum(t.shape[axis] for t in xs)
    same_type(ctx)
    ctx.set_output(0, shape)
    out = ctx.outputs[0]
    es = itemsize(ctx, x0)
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    act = ctx.opt("fusedActivationFunction", 0)
    if x0.type == 3 and any(not same_quant(t, out) for t in xs):
        if act:
            raise ctx.unsupported(f"fused activation {act} on a quantized concatenation")
        return _u8_concat(ctx, outer, [t.shape[axis] * inner for t in xs])
    if x0.type == 9:  # TFLite requires int8 inputs to share the output's scale and zero point
        for t in xs:
            require_same_quant(ctx, t, out, "int8 concatenation")
    widths = [t.shape[axis] * inner * es for t in xs]
    if act:
        if x0.type != 0 or act not in (1, 2, 3):
            raise ctx.unsupported(f"fused activation {act} on {x0.type_name} concatenation")
        return Kernel("f32_concat", _concat_params(ctx, outer, widths, float_activation_range(act)))
    return Kernel("any_concat", _concat_params(ctx, outer, widths))


def _u8_concat(ctx, outer, inners):
    out = ctx.outputs[0]
    o_scale = np.float32(out.scale[0])
    inv = np.float32(1.0) / o_scale
    o_zp = int(out.zero_point[0]) if out.zero_point.size else 0
    scales, biases, same = [], [], []
    for t in ctx.inputs:
        s = np.float32(t.scale[0]) if t.scale.size else np.float32(0)
        zp = int(t.zero_point[0]) if t.zero_point.size else 0
        sc = np.float32(s * inv)
        scales.append(sc)
        biases.append(np.float32(np.float32(-zp) * sc))
        same.append(1 if (zp == o_zp and s == o_scale) else 0)
    p = ctx.new("er_concat_q_params *", {
        "outer": int(outer), "n": len(inners),
        "inner": ctx.const_ptr(np.asarray(inners, np.int64), "int64_t *"),
        "scale": ctx.const_ptr(np.asarray(scales, np.float32), "float *"),
        "bias": ctx.const_ptr(np.asarray(biases, np.float32), "float *"),
        "same": ctx.const_ptr(np.asarray(same, np.int32), "int32_t *"),
        "out_zero_point": o_zp})
    return Kernel("u8_concat", p)


@register("PACK")
def pack(ctx):
    ctx.check_inputs(1)
    xs = ctx.inputs
    n = ctx.opt("valuesCount", len(xs))
    if n != len(xs):
        raise ctx.shape_error(f"values_count {n} but {len(xs)} inputs")
    x0 = xs[0]
    for j, t in enumerate(xs):
        if t is None or t.type != x0.type or tuple(t.shape) != tuple(x0.shape):
            raise ctx.shape_error(f"input {j} must match input 0 ({x0.type_name} {x0.shape})")
    axis = ctx.opt("axis", 0)
    if not -(x0.ndim + 1) <= axis <= x0.ndim:
        raise ctx.shape_error(f"axis {axis} is out of range for rank {x0.ndim} inputs")
    if axis < 0:
        axis += x0.ndim + 1
    same_type(ctx)
    shape = list(x0.shape)
    shape.insert(axis, len(xs))
    ctx.set_output(0, shape)
    for t in xs:
        require_same_quant(ctx, t, ctx.outputs[0], "PACK")
    es = itemsize(ctx, x0)
    outer = int(np.prod(x0.shape[:axis], dtype=np.int64))
    inner = int(np.prod(x0.shape[axis:], dtype=np.int64)) * es
    return Kernel("any_concat", _concat_params(ctx, outer, [inner] * len(xs)))


def _split(ctx, x, axis, sizes, src=0):
    """Outputs are input `src` cut along `axis` into pieces of the given sizes."""
    if len(ctx.outputs) != len(sizes):
        raise ctx.shape_error(f"{len(sizes)} pieces but {len(ctx.outputs)} outputs")
    es = itemsize(ctx, x)
    inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    for j, s in enumerate(sizes):
        o = ctx.outputs[j]
        if o.type != x.type:
            raise ctx.dtype_error(f"output {j} is {o.type_name}, input is {x.type_name}")
        shape = list(x.shape)
        shape[axis] = int(s)
        ctx.set_output(j, shape)
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    return Kernel("any_split", _concat_params(ctx, outer, [int(s) * inner * es for s in sizes], src=src))


@register("SPLIT")
def split(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[1]  # SPLIT takes the axis first
    ax = const_ints(ctx, 0, "axis", types=(2,)).ravel()
    if ax.size != 1:
        raise ctx.shape_error(f"axis must hold one value, got {ax.size}")
    axis = norm_axis(ctx, ax[0], x.ndim)
    n = ctx.opt("numSplits", len(ctx.outputs))
    if n <= 0 or x.shape[axis] % n:
        raise ctx.shape_error(f"dimension {axis} of size {x.shape[axis]} does not split into {n} pieces")
    return _split(ctx, x, axis, [x.shape[axis] // n] * n, src=1)


@register("SPLIT_V")
def split_v(ctx):
    ctx.check_inputs(3, 3)
    x = ctx.inputs[0]
    sizes = const_ints(ctx, 1, "size_splits").ravel()
    ax = const_ints(ctx, 2, "axis", types=(2,)).ravel()
    if ax.size != 1:
        raise ctx.shape_error(f"axis must hold one value, got {ax.size}")
    axis = norm_axis(ctx, ax[0], x.ndim)
    n = ctx.opt("numSplits", len(ctx.outputs))
    if sizes.size != n:
        raise ctx.shape_error(f"size_splits has {sizes.size} entries, num_splits is {n}")
    sizes = [int(s) for s in sizes]
    neg = [j for j, s in enumerate(sizes) if s == -1]
    if len(neg) > 1 or any(s < -1 for s in sizes):
        raise ctx.shape_error(f"size_splits {sizes}: at most one -1 and no other negative size")
    if neg:
        sizes[neg[0]] = x.shape[axis] - (sum(sizes) + 1)
    if sum(sizes) != x.shape[axis] or any(s < 0 for s in sizes):
        raise ctx.shape_error(f"size_splits {sizes} do not add up to dimension {axis} of size {x.shape[axis]}")
    return _split(ctx, x, axis, sizes)


@register("UNPACK")
def unpack(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    axis = norm_axis(ctx, ctx.opt("axis", 0), x.ndim)
    n = ctx.opt("num", x.shape[axis])
    if n != x.shape[axis] or len(ctx.outputs) != n:
        raise ctx.shape_error(f"num {n} and {len(ctx.outputs)} outputs, dimension {axis} is {x.shape[axis]}")
    kern = _split(ctx, x, axis, [1] * n)
    for j in range(n):
        require_same_quant(ctx, x, ctx.outputs[j], "UNPACK")
        shape = list(x.shape)
        del shape[axis]
        ctx.set_output(j, shape)
    return kern


# -- gathers -------------------------------------------------------------------------------------------
IDX_TYPES = {2: 4, 4: 8, 7: 2}  # indices dtype -> bytes


@register("GATHER")
def gather(ctx):
    ctx.check_inputs(2, 2)
    x, ix = ctx.inputs
    if ix.type not in IDX_TYPES:
        raise ctx.dtype_error(f"indices '{ix.name}' are {ix.type_name}; expected int16, int32 or int64")
    same_type(ctx)
    if x.ndim == 0:
        raise ctx.shape_error("params must have rank >= 1")
    axis = norm_axis(ctx, ctx.opt("axis", 0), x.ndim)
    bd = int(ctx.opt("batchDims", 0))
    if bd < 0:
        bd += ix.ndim
    if not 0 <= bd <= min(axis, ix.ndim):
        raise ctx.shape_error(f"batch_dims {ctx.opt('batchDims', 0)} invalid for axis {axis} and indices rank "
                              f"{ix.ndim}")
    if tuple(x.shape[:bd]) != tuple(ix.shape[:bd]):
        raise ctx.shape_error(f"batch dims of params {x.shape} and indices {ix.shape} differ")
    shape = list(x.shape[:axis]) + list(ix.shape[bd:]) + list(x.shape[axis + 1:])
    ctx.set_output(0, shape)
    es = itemsize(ctx, x)
    p = ctx.new("er_gather_params *", {
        "batch": int(np.prod(x.shape[:bd], dtype=np.int64)),
        "outer": int(np.prod(x.shape[bd:axis], dtype=np.int64)),
        "coord": int(x.shape[axis]),
        "inner_bytes": int(np.prod(x.shape[axis + 1:], dtype=np.int64)) * es,
        "n_idx": int(np.prod(ix.shape[bd:], dtype=np.int64)),
        "idx_size": IDX_TYPES[ix.type]})
    return Kernel("any_gather", p)


@register("GATHER_ND")
def gather_nd(ctx):
    ctx.check_inputs(2, 2)
    x, ix = ctx.inputs
    if ix.type not in IDX_TYPES:
        raise ctx.dtype_error(f"indices '{ix.name}' are {ix.type_name}; expected int16, int32 or int64")
    same_type(ctx)
    if ix.ndim < 1:
        raise ctx.shape_error("indices must have rank >= 1")
    k = ix.shape[-1]
    if k > x.ndim:
        raise ctx.shape_error(f"index depth {k} exceeds params rank {x.ndim}")
    shape = list(ix.shape[:-1]) + list(x.shape[k:])
    ctx.set_output(0, shape)
    st = np.ones(x.ndim + 1, np.int64)
    for j in range(x.ndim - 1, -1, -1):
        st[j] = st[j + 1] * x.shape[j]
    p = ctx.new("er_gather_nd_params *", {
        "n": int(np.prod(ix.shape[:-1], dtype=np.int64)), "k": int(k), "idx_size": IDX_TYPES[ix.type],
        "elem_size": itemsize(ctx, x), "slice_elems": int(np.prod(x.shape[k:], dtype=np.int64)),
        "strides": [int(s) for s in st[1:k + 1]] + [0] * (8 - k)})
    return Kernel("any_gather_nd", p)


# -- outputs known at prepare --------------------------------------------------------------------------
def _constant(ctx, value, type_):
    out = ctx.outputs[0]
    from edgerun.runtime.ops import TFLITE_DTYPES

    value = np.asarray(value).astype(TFLITE_DTYPES[type_])
    ctx.set_output(0, value.shape, type_)
    out.data = value
    return Kernel("any_copy")


@register("SHAPE")
def shape_op(ctx):
    ctx.check_inputs(1, 1)
    t = ctx.opt("outType", None)
    t = ctx.outputs[0].type if t is None else t
    if t not in (2, 4):
        raise ctx.unsupported(f"out_type {t} (int32 or int64 only)")
    return _constant(ctx, np.asarray(ctx.inputs[0].shape, np.int64), t)


@register("RANGE")
def range_op(ctx):
    ctx.check_inputs(3, 3)
    ts = ctx.inputs
    if any(t.type != ts[0].type for t in ts) or ts[0].type not in (0, 2, 4):
        raise ctx.dtype_error("start, limit and delta must share one type of float32, int32, int64")
    if any(t.data is None for t in ts):
        raise ctx.needs_value([t for t in ts if t.data is None], "start, limit or delta is computed at run time")
    start, limit, delta = (np.asarray(t.data).reshape(-1)[0] for t in ts)
    if delta == 0:
        raise ctx.shape_error("delta is zero")
    if (start > limit and delta > 0) or (start < limit and delta < 0):
        raise ctx.shape_error(f"range({start}, {limit}, {delta}) goes the wrong way")
    if ts[0].type == 0:
        f32 = np.float32
        n = float(np.ceil(np.abs((f32(limit) - f32(start)) / f32(delta))))
        if not np.isfinite(n):
            raise ctx.shape_error(f"range({start}, {limit}, {delta}) has no finite length")
        n = int(n)
        ctx.reserve(n * 4, f"output of {n:,} elements")
        vals = np.full(n, f32(delta), np.float32)
        if n:
            vals[0] = f32(start)
        vals = np.add.accumulate(vals, dtype=np.float32)  # sequential float32 sums, as TFLite's loop
    else:
        s, l, d = int(start), int(limit), int(delta)
        n = (abs(l - s) + abs(d) - 1) // abs(d)
        ctx.reserve(n * 8, f"output of {n:,} elements")
        vals = s + np.arange(n, dtype=np.int64) * d
    return _constant(ctx, vals, ts[0].type)


@register("WHERE")
def where_op(ctx):
    ctx.check_inputs(1, 1)
    c = ctx.inputs[0]
    if c.data is None:
        raise ctx.needs_value([c], f"the condition '{c.name}' is computed at run time")
    return _constant(ctx, np.argwhere(np.asarray(c.data)), 4)


from edgerun.runtime.ops import shape_index  # noqa: E402,F401  (registers the index-map ops)

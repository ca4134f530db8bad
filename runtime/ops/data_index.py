"""Data family, part 1: index and data-movement ops that LiteRT runs and TensorFlow's detection, text and
audio graphs use: ONE_HOT, TOPK_V2, SCATTER_ND, EMBEDDING_LOOKUP, DYNAMIC_UPDATE_SLICE, BROADCAST_ARGS, RANK,
UNSORTED_SEGMENT_SUM/PROD/MAX/MIN, SEGMENT_SUM, MATRIX_DIAG, MATRIX_SET_DIAG, REVERSE_SEQUENCE,
SPARSE_TO_DENSE, UNIQUE (constant input), BITCAST and DILATE. Kernels: kernels/ref/data_index.c, plus
any_copy and any_index_map of the shape family. Types are those LiteRT's builtin kernels run;
the others are refused by name."""
from __future__ import annotations

import numpy as np
from edgerun.runtime.ops import TYPE_NAMES, Kernel, register
from edgerun.runtime.ops.shape_common import axis_tables, const_ints, index_map, itemsize

F32, F16, I32, U8, I64, BOOL, I16, C64, S8, F64, C128, U32, U16 = 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 15, 16
IDX_SIZE = {I32: 4, I64: 8}


def _prod(dims) -> int:
    return int(np.prod([int(d) for d in dims], dtype=np.int64))


def _names(types) -> str:
    return ", ".join(TYPE_NAMES[t] for t in types)


def _need_type(ctx, t, types, what):
    if t.type not in types:
        raise ctx.unsupported(f"{what} '{t.name}' is {t.type_name}; edgerun's {ctx.name} runs {_names(types)}")


def _same_type(ctx, a, b, what):
    if a.type != b.type:
        raise ctx.dtype_error(f"{what}: '{b.name}' is {b.type_name}, '{a.name}' is {a.type_name}")


def _constant_output(ctx, value, type_):
    from edgerun.runtime.ops import TFLITE_DTYPES

    value = np.asarray(value).astype(TFLITE_DTYPES[type_])
    ctx.set_output(0, value.shape, type_)
    ctx.outputs[0].data = value
    return Kernel("any_copy")


# -- ONE_HOT --------------------------------------------------------------------------------------------
ONE_HOT_TYPES = (F32, I32, I64, S8, U8, BOOL)  # LiteRT accepts INT16 at prepare, then fails at invoke


@register("ONE_HOT")
def one_hot(ctx):
    ctx.check_inputs(4, 4)
    ix, _, on, off = ctx.inputs
    out = ctx.outputs[0]
    _need_type(ctx, ix, (I32, I64), "indices")
    _need_type(ctx, on, ONE_HOT_TYPES, "on_value")
    _same_type(ctx, on, off, "off_value")
    _same_type(ctx, on, out, "output")
    if on.size != 1 or off.size != 1:
        raise ctx.shape_error(f"on_value and off_value must hold one element, have {on.size} and {off.size}")
    depth = const_ints(ctx, 1, "depth", types=(I32,)).ravel()
    if depth.size != 1 or depth[0] < 0:
        raise ctx.shape_error(f"depth must be one non-negative value, is {depth.tolist()}")
    axis = int(ctx.opt("axis", -1))
    axis = ix.ndim if axis == -1 else axis
    if not 0 <= axis <= ix.ndim:
        raise ctx.shape_error(f"axis {ctx.opt('axis', -1)} is out of range for {ix.ndim + 1} output dimensions")
    d = int(depth[0])
    ctx.set_output(0, tuple(ix.shape[:axis]) + (d,) + tuple(ix.shape[axis:]))
    p = ctx.new("er_one_hot_params *", {"outer": _prod(ix.shape[:axis]), "depth": d,
                                        "inner": _prod(ix.shape[axis:]), "idx_size": IDX_SIZE[ix.type],
                                        "elem_size": itemsize(ctx, on)})
    return Kernel("any_one_hot", p)


# -- TOPK_V2 --------------------------------------------------------------------------------------------
TOPK_KERNELS = {F32: "f32_topk", U8: "u8_topk", S8: "s8_topk", I16: "s16_topk", I32: "i32_topk",
                I64: "i64_topk"}


@register("TOPK_V2")
def topk(ctx):
    ctx.check_inputs(2, 2)
    x = ctx.inputs[0]
    values, indices = ctx.outputs[0], ctx.outputs[1] if len(ctx.outputs) > 1 else None
    if indices is None:
        raise ctx.unsupported("expected 2 outputs (values, indices)")
    _need_type(ctx, x, tuple(TOPK_KERNELS), "input")
    _same_type(ctx, x, values, "values output")
    _need_type(ctx, indices, (I32, I16), "indices output")
    k = const_ints(ctx, 1, "k", types=(I32, I16)).ravel()
    if x.ndim < 1:
        raise ctx.shape_error("input must have rank >= 1")
    if k.size != 1 or not 0 <= k[0] <= x.shape[-1]:
        raise ctx.shape_error(f"k {k.tolist()} must be one value in [0, {x.shape[-1]}] (the last dimension)")
    k = int(k[0])
    shape = tuple(x.shape[:-1]) + (k,)
    ctx.set_output(0, shape)
    ctx.set_output(1, shape)
    p = ctx.new("er_topk_params *", {"rows": _prod(x.shape[:-1]), "row_size": int(x.shape[-1]), "k": k,
                                     "idx_size": 4 if indices.type == I32 else 2})
    return Kernel(TOPK_KERNELS[x.type], p, scratch_bytes=4 * k)


# -- SCATTER_ND -----------------------------------------------------------------------------------------
SCATTER_KERNELS = {F32: "f32_scatter_nd", U8: "u8_scatter_nd", S8: "s8_scatter_nd", I32: "i32_scatter_nd",
                   I64: "i64_scatter_nd", BOOL: "b8_scatter_nd"}


@register("SCATTER_ND")
def scatter_nd(ctx):
    ctx.check_inputs(3, 3)
    ix, up, sh = ctx.inputs
    _need_type(ctx, up, tuple(SCATTER_KERNELS), "updates")
    _same_type(ctx, up, ctx.outputs[0], "output")
    _need_type(ctx, ix, (I32,), "indices")
    _same_type(ctx, ix, sh, "shape (indices and shape share one type)")
    shape = const_ints(ctx, 2, "shape", types=(I32,))
    if ix.ndim < 1 or up.ndim < 1 or shape.ndim != 1:
        raise ctx.shape_error(f"indices {ix.shape} and updates {up.shape} need rank >= 1, shape must be a vector")
    outer, k = ix.ndim - 1, int(ix.shape[-1])
    shape = [int(d) for d in shape]
    if (tuple(ix.shape[:outer]) != tuple(up.shape[:outer]) or up.ndim - outer != len(shape) - k
            or tuple(up.shape[outer:]) != tuple(shape[k:]) or k > len(shape)):
        raise ctx.shape_error(f"indices {ix.shape}, updates {up.shape} and shape {shape} do not agree")
    ctx.set_output(0, shape)
    st = [_prod(shape[j + 1:]) for j in range(k)]
    p = ctx.new("er_scatter_nd_params *", {"n": _prod(ix.shape[:outer]), "k": k, "slice": _prod(shape[k:]),
                                           "strides": st + [0] * (8 - k)})
    return Kernel(SCATTER_KERNELS[up.type], p)


# -- EMBEDDING_LOOKUP -----------------------------------------------------------------------------------
@register("EMBEDDING_LOOKUP")
def embedding_lookup(ctx):
    ctx.check_inputs(2, 2)
    ix, w = ctx.inputs
    out = ctx.outputs[0]
    if ix.ndim != 1:
        raise ctx.shape_error(f"lookup '{ix.name}' must be a vector, has shape {ix.shape}")
    _need_type(ctx, ix, (I32,), "lookup")
    if w.ndim < 2:
        raise ctx.shape_error(f"value '{w.name}' must have rank >= 2, has shape {w.shape}")
    rows, cols = int(w.shape[0]), _prod(w.shape[1:])
    ctx.set_output(0, (ix.shape[0],) + tuple(w.shape[1:]))
    if out.type == w.type:
        es = itemsize(ctx, w)
        p = ctx.new("er_gather_params *", {"batch": 1, "outer": 1, "coord": rows, "inner_bytes": cols * es,
                                           "n_idx": int(ix.shape[0]), "idx_size": 4})
        return Kernel("any_embedding_lookup", p)
    if w.type not in (S8, U8) or out.type != F32:
        raise ctx.unsupported(f"value {w.type_name} with output {out.type_name}: edgerun runs the same type, or "
                              f"int8/uint8 values dequantized to FLOAT32")
    scales = np.asarray(w.scale, np.float32).ravel()
    if scales.size not in (1, rows) or (scales.size > 1 and w.quant_dim != 0):
        raise ctx.unsupported(f"value '{w.name}' needs one scale or one per row (quantized dimension 0), has "
                              f"{scales.size}")
    if np.any(np.asarray(w.zero_point) != 0):
        raise ctx.unsupported(f"value '{w.name}' has a non-zero zero point (LiteRT's hybrid lookup is symmetric)")
    p = ctx.new("er_embedding_params *", {"rows": rows, "cols": cols, "n_scales": int(scales.size),
                                          "scales": ctx.const_ptr(scales, "float *")})
    return Kernel("f32_embedding_hybrid", p)


# -- DYNAMIC_UPDATE_SLICE -------------------------------------------------------------------------------
@register("DYNAMIC_UPDATE_SLICE")
def dynamic_update_slice(ctx):
    ctx.check_inputs(3, 3)
    x, u, st = ctx.inputs
    _same_type(ctx, x, u, "update")
    _same_type(ctx, x, ctx.outputs[0], "output")
    _need_type(ctx, st, (I32, I64), "start indices")
    if u.ndim != x.ndim or any(b > a for a, b in zip(x.shape, u.shape)):
        raise ctx.shape_error(f"update {u.shape} does not fit in operand {x.shape}")
    if st.ndim != 1 or st.shape[0] != x.ndim:
        raise ctx.shape_error(f"start indices {st.shape} must be a vector of {x.ndim} values")
    if x.ndim > 8:
        raise ctx.unsupported(f"rank {x.ndim} (at most 8)")
    ctx.set_output(0, x.shape)
    pad = [0] * (8 - x.ndim)
    p = ctx.new("er_dus_params *", {"ndim": x.ndim, "elem_size": itemsize(ctx, x), "idx_size": IDX_SIZE[st.type],
                                    "dims": list(x.shape) + pad, "upd": list(u.shape) + pad})
    return Kernel("any_dynamic_update_slice", p)


# -- BROADCAST_ARGS, RANK -------------------------------------------------------------------------------
@register("BROADCAST_ARGS")
def broadcast_args(ctx):
    ctx.check_inputs(2, 2)
    a, b = ctx.inputs
    _need_type(ctx, a, (I32, I64), "shape")
    _same_type(ctx, a, b, "second shape")
    _same_type(ctx, a, ctx.outputs[0], "output")
    if a.ndim != 1 or b.ndim != 1:
        raise ctx.shape_error(f"shapes must be vectors, are {a.shape} and {b.shape}")
    ctx.set_output(0, (max(a.shape[0], b.shape[0]),))
    return Kernel("any_broadcast_args", ctx.new("er_broadcast_args_params *", {"idx_size": IDX_SIZE[a.type]}))


@register("RANK")
def rank(ctx):
    ctx.check_inputs(1, 1)
    if ctx.outputs[0].type != I32:
        raise ctx.unsupported(f"output '{ctx.outputs[0].name}' is {ctx.outputs[0].type_name}; LiteRT's RANK "
                              f"writes INT32")
    return _constant_output(ctx, np.int32(ctx.inputs[0].ndim), I32)


# -- segment reductions ---------------------------------------------------------------------------------
SEG_OPS = {"UNSORTED_SEGMENT_SUM": 0, "UNSORTED_SEGMENT_PROD": 1, "UNSORTED_SEGMENT_MAX": 2,
           "UNSORTED_SEGMENT_MIN": 3, "SEGMENT_SUM": 0}
SEG_KERNELS = {F32: "f32_segment", I32: "i32_segment"}


@register("UNSORTED_SEGMENT_SUM", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_MIN",
          "SEGMENT_SUM")
def segment(ctx):
    unsorted = ctx.name != "SEGMENT_SUM"
    ctx.check_inputs(3 if unsorted else 2, 3 if unsorted else 2)
    x, ids = ctx.inputs[0], ctx.inputs[1]
    _need_type(ctx, x, tuple(SEG_KERNELS), "data")
    _same_type(ctx, x, ctx.outputs[0], "output")
    _need_type(ctx, ids, (I32,), "segment ids")
    if unsorted:
        if ids.ndim > x.ndim or tuple(x.shape[:ids.ndim]) != tuple(ids.shape):
            raise ctx.shape_error(f"segment ids {ids.shape} must be a prefix of the data shape {x.shape}")
        num = const_ints(ctx, 2, "num_segments", types=(I32,)).ravel()
        if num.size != 1 or num[0] < 0:
            raise ctx.shape_error(f"num_segments must be one non-negative value, is {num.tolist()}")
        segments, lead = int(num[0]), ids.ndim
    else:
        if ids.ndim != 1 or x.ndim < 1 or ids.shape[0] != x.shape[0]:
            raise ctx.shape_error(f"segment ids {ids.shape} must be a vector as long as data {x.shape}'s first "
                                  f"dimension")
        if ids.data is None:
            raise ctx.needs_value([ids], f"segment ids '{ids.name}' are computed at run time and set the output "
                                         f"size")
        v = np.asarray(ids.data).ravel().astype(np.int64)
        if v.size and (v[0] != 0 or np.any((np.diff(v) != 0) & (np.diff(v) != 1))):
            raise ctx.shape_error(f"segment ids {v.tolist()[:16]} must start at 0 and grow by 0 or 1 (LiteRT's "
                                  f"rule)")
        segments, lead = (int(v[-1]) + 1 if v.size else 0), 1
    ctx.set_output(0, (segments,) + tuple(x.shape[lead:]))
    p = ctx.new("er_segment_params *", {"op": SEG_OPS[ctx.name], "n_ids": _prod(x.shape[:lead]),
                                        "inner": _prod(x.shape[lead:]), "segments": segments})
    return Kernel(SEG_KERNELS[x.type], p)


# -- MATRIX_DIAG, MATRIX_SET_DIAG -----------------------------------------------------------------------
@register("MATRIX_DIAG")
def matrix_diag(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    _same_type(ctx, x, ctx.outputs[0], "output")
    if x.ndim < 1:
        raise ctx.shape_error("input must have rank >= 1")
    n = int(x.shape[-1])
    ctx.set_output(0, tuple(x.shape) + (n,))
    p = ctx.new("er_matrix_diag_params *", {"batch": _prod(x.shape[:-1]), "rows": n, "cols": n,
                                            "elem_size": itemsize(ctx, x)})
    return Kernel("any_matrix_diag", p)


@register("MATRIX_SET_DIAG")
def matrix_set_diag(ctx):
    ctx.check_inputs(2, 2)
    x, d = ctx.inputs
    _same_type(ctx, x, d, "diagonal")
    _same_type(ctx, x, ctx.outputs[0], "output")
    if x.ndim < 2:
        raise ctx.shape_error("input must have rank >= 2")
    m, n = int(x.shape[-2]), int(x.shape[-1])
    if tuple(d.shape) != tuple(x.shape[:-2]) + (min(m, n),):
        raise ctx.shape_error(f"diagonal {d.shape} does not fit input {x.shape}")
    ctx.set_output(0, x.shape)
    p = ctx.new("er_matrix_diag_params *", {"batch": _prod(x.shape[:-2]), "rows": m, "cols": n,
                                            "elem_size": itemsize(ctx, x)})
    return Kernel("any_matrix_set_diag", p)


# -- REVERSE_SEQUENCE -----------------------------------------------------------------------------------
@register("REVERSE_SEQUENCE")
def reverse_sequence(ctx):
    ctx.check_inputs(2, 2)
    x, lens = ctx.inputs
    _need_type(ctx, x, (F32, U8, I16, I32, I64), "input")
    _same_type(ctx, x, ctx.outputs[0], "output")
    _need_type(ctx, lens, (I32, I64), "seq_lengths")
    sd, bd = int(ctx.opt("seqDim", 0)), int(ctx.opt("batchDim", 0))
    if not (0 <= sd < x.ndim and 0 <= bd < x.ndim) or sd == bd:
        raise ctx.shape_error(f"seq_dim {sd} and batch_dim {bd} must be two different dimensions of rank {x.ndim}")
    if lens.ndim != 1 or lens.shape[0] != x.shape[bd]:
        raise ctx.shape_error(f"seq_lengths {lens.shape} must be a vector of {x.shape[bd]} (batch dimension)")
    ctx.set_output(0, x.shape)
    p = ctx.new("er_reverse_seq_params *", {"batch_dim": int(x.shape[bd]), "batch_stride": _prod(x.shape[bd + 1:]),
                                            "seq_dim": int(x.shape[sd]), "seq_stride": _prod(x.shape[sd + 1:]),
                                            "elem_size": itemsize(ctx, x), "idx_size": IDX_SIZE[lens.type]})
    return Kernel("any_reverse_sequence", p)


# -- SPARSE_TO_DENSE ------------------------------------------------------------------------------------
@register("SPARSE_TO_DENSE")
def sparse_to_dense(ctx):
    ctx.check_inputs(4, 4)
    ix, _, vals, dflt = ctx.inputs
    _need_type(ctx, ix, (I32, I64), "indices")
    _need_type(ctx, vals, (F32, I32, I64, S8, U8), "values")
    _same_type(ctx, vals, dflt, "default value")
    _same_type(ctx, vals, ctx.outputs[0], "output")
    shape = [int(d) for d in const_ints(ctx, 1, "output_shape").ravel()]
    if len(shape) > 8:
        raise ctx.unsupported(f"output rank {len(shape)} (at most 8)")
    if ix.ndim > 2:
        raise ctx.shape_error(f"indices must have rank <= 2, have shape {ix.shape}")
    n = 1 if ix.ndim == 0 else int(ix.shape[0])
    k = 1 if ix.ndim < 2 else int(ix.shape[1])
    if k != len(shape):
        raise ctx.shape_error(f"indices address {k} dimensions, output_shape {shape} has {len(shape)}")
    if vals.ndim > 1 or (vals.ndim == 1 and vals.shape[0] != n):
        raise ctx.shape_error(f"values {vals.shape} must be a scalar or hold one value per index ({n})")
    if dflt.size != 1:
        raise ctx.shape_error(f"default value must hold one element, has {dflt.size}")
    ctx.set_output(0, shape)
    p = ctx.new("er_sparse_to_dense_params *", {"n": n, "k": k, "idx_size": IDX_SIZE[ix.type],
                                                "elem_size": itemsize(ctx, vals), "scalar_value": int(vals.ndim == 0),
                                                "dims": shape + [0] * (8 - len(shape))})
    return Kernel("any_sparse_to_dense", p)


# -- UNIQUE (constant input only) -----------------------------------------------------------------------
@register("UNIQUE")
def unique(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    _need_type(ctx, x, (F32, S8, U8, I16, I32, I64), "input")
    out_idx = int(ctx.opt("idxOutType", I32))
    if len(ctx.outputs) != 2 or out_idx not in (I32, I64) or ctx.outputs[1].type != out_idx:
        raise ctx.unsupported("expected outputs (values, INT32/INT64 indices matching idx_out_type)")
    if x.ndim != 1:
        raise ctx.shape_error(f"input must be a vector, has shape {x.shape}")
    if x.data is None:
        raise ctx.needs_value([x], f"input '{x.name}' is computed at run time and the number of unique values "
                                  f"sets the output size")
    v = np.asarray(x.data).ravel()
    _, first, inverse = np.unique(v, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # values in order of first appearance, as LiteRT
    rank_of = np.empty_like(order)
    rank_of[order] = np.arange(order.size)
    ctx.set_output(0, (order.size,), x.type)
    ctx.outputs[0].data = v[first[order]]
    ctx.set_output(1, v.shape)
    ctx.outputs[1].data = rank_of[inverse.ravel()].astype(np.int32 if out_idx == I32 else np.int64)
    return Kernel("any_copy")


# -- BITCAST, DILATE ------------------------------------------------------------------------------------
@register("BITCAST")
def bitcast(ctx):
    ctx.check_inputs(1, 1)
    x, out = ctx.inputs[0], ctx.outputs[0]
    a, b = itemsize(ctx, x), itemsize(ctx, out)
    if a == b:
        shape = tuple(x.shape)
    elif a > b:
        shape = tuple(x.shape) + (a // b,)
    else:
        if x.ndim < 1 or x.shape[-1] != b // a:
            raise ctx.shape_error(f"{x.type_name} {x.shape} to {out.type_name}: the last dimension must be "
                                  f"{b // a}")
        shape = tuple(x.shape[:-1])
    ctx.set_output(0, shape)
    return Kernel("any_copy")


@register("DILATE")
def dilate(ctx):
    ctx.check_inputs(3, 3)
    x, _, pv = ctx.inputs
    _same_type(ctx, x, ctx.outputs[0], "output")
    _same_type(ctx, x, pv, "padding value")
    dil = const_ints(ctx, 1, "dilations", types=(I32,)).ravel()
    if dil.size != x.ndim or np.any(dil < 1):
        raise ctx.shape_error(f"dilations {dil.tolist()} must hold {x.ndim} values >= 1")
    if pv.size != 1:
        raise ctx.shape_error(f"padding value must hold one element, has {pv.size}")
    idx = []
    for d, k in zip(x.shape, dil):
        t = np.full(max((int(d) - 1) * int(k) + 1, 0), -1, np.int64)
        t[::int(k)] = np.arange(d)
        idx.append(t)
    ctx.set_output(0, [t.size for t in idx])
    pad_value, pad_input = 0, -1
    if pv.data is not None:
        pad_value = np.asarray(pv.data).reshape(-1)[0]
    else:
        pad_input = 2
    itemsize(ctx, x)
    return index_map(ctx, axis_tables(x.shape, idx), pad_value=pad_value, pad_input=pad_input)


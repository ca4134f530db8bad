"""Helpers shared by the shape family's handlers (runtime/ops/shape*.py): reading constant shape-like
inputs, dtype and quantization checks, and building `any_index_map` kernels from per-dimension tables of
input offsets (kernels/ref/shape_map.c)."""
from __future__ import annotations

import numpy as np

from edgerun.runtime.ops import Kernel

INT_TYPES = (2, 4)  # INT32, INT64 (shape-like inputs)
QUANT_TYPES = (3, 9, 7)  # UINT8, INT8, INT16
MAP_MAX_DIMS = 16


def strides_of(shape) -> np.ndarray:
    """Row-major element strides."""
    s = np.ones(len(shape), np.int64)
    for k in range(len(shape) - 2, -1, -1):
        s[k] = s[k + 1] * int(shape[k + 1])
    return s


def itemsize(ctx, t) -> int:
    dt = t.dtype
    if dt is None or dt.kind == "O":
        raise ctx.unsupported(f"tensor '{t.name}' of type {t.type_name} is not supported")
    return dt.itemsize


def same_type(ctx, out_i=0, in_i=0):
    """The op moves elements: output out_i must have input in_i's type."""
    a, o = ctx.inputs[in_i], ctx.outputs[out_i]
    if o.type != a.type:
        raise ctx.dtype_error(f"output {out_i} ('{o.name}') is {o.type_name}, input {in_i} ('{a.name}') is "
                              f"{a.type_name}")
    itemsize(ctx, a)


def same_quant(a, b) -> bool:
    return (np.array_equal(np.asarray(a.scale, np.float32), np.asarray(b.scale, np.float32))
            and np.array_equal(np.asarray(a.zero_point, np.int64), np.asarray(b.zero_point, np.int64)))


def require_same_quant(ctx, a, b, what):
    if a.type in QUANT_TYPES and (a.quantized or b.quantized) and not same_quant(a, b):
        raise ctx.unsupported(f"{what}: tensors '{a.name}' and '{b.name}' have different quantization "
                              f"(scale/zero point must match, as in TFLite)")


def const_ints(ctx, i, what, types=INT_TYPES, allow_dynamic=False):
    """A shape-like integer input's value, which must be known at prepare (constant or folded)."""
    t = ctx.inputs[i] if i < len(ctx.inputs) else None
    if t is None:
        raise ctx.unsupported(f"{what} (input {i}) is missing")
    if t.type not in types:
        raise ctx.dtype_error(f"{what} (input {i} '{t.name}') is {t.type_name}; expected "
                              f"{' or '.join(_tn(x) for x in types)}")
    if t.data is None:
        if allow_dynamic:
            return None
        raise ctx.needs_value([t], f"{what} (input {i} '{t.name}') is computed at run time")
    return np.asarray(t.data).astype(np.int64)


def _tn(t):
    from edgerun.runtime.ops import TYPE_NAMES

    return TYPE_NAMES.get(t, str(t))


def norm_axis(ctx, axis, rank, what="axis"):
    a = int(axis)
    if not -rank <= a < rank:
        raise ctx.shape_error(f"{what} {a} is out of range for rank {rank}")
    return a + rank if a < 0 else a


def pad_bytes_of(value, dtype) -> list:
    b = np.asarray(value, dtype=dtype).reshape(()).tobytes()
    return list(b) + [0] * (8 - len(b))


def quant_zero(t) -> int:
    """The stored value of real 0: the zero point for quantized tensors, else 0."""
    if t.type in QUANT_TYPES and t.zero_point.size:
        return int(t.zero_point[0])
    return 0


def _simplify(tables):
    """Drop unit dims and fold trailing contiguous dims into one run. Returns (tables, run)."""
    tables = [np.asarray(t, np.int64).ravel() for t in tables]
    total = 1
    for t in tables:
        total *= t.size
    if total == 0:
        return [np.zeros(0, np.int64)], 1
    base = 0
    kept = []
    for t in tables:
        if t.size == 1:
            if t[0] < 0:  # a unit dim that is padding: the whole output is padding
                return [np.full(1, -1, np.int64)], total
            base += int(t[0])
        else:
            kept.append(t.copy())
    if not kept:
        return [np.array([base], np.int64)], 1
    kept[0] = np.where(kept[0] >= 0, kept[0] + base, kept[0])
    run = 1
    while True:
        last = kept[-1]
        if np.any(last < 0) or not np.array_equal(last - last[0], np.arange(last.size, dtype=np.int64) * run):
            break
        run *= last.size
        if len(kept) == 1:
            kept = [np.array([last[0]], np.int64)]
            break
        kept.pop()
        kept[-1] = np.where(kept[-1] >= 0, kept[-1] + last[0], kept[-1])
    return kept, run


def index_map(ctx, tables, in_i=0, pad_value=0, pad_input=-1) -> Kernel:
    """An any_index_map kernel: output element (i_0, ..., i_n) = input[sum_k tables[k][i_k]], or the pad
    value where any table entry is negative. `tables` follow the output's row-major order."""
    x = ctx.inputs[in_i]
    es = itemsize(ctx, x)
    tabs, run = _simplify(tables)
    if len(tabs) > MAP_MAX_DIMS:
        raise ctx.unsupported(f"{len(tabs)} non-trivial dimensions (at most {MAP_MAX_DIMS})")
    extent = 0
    for t in tabs:
        good = t[t >= 0]
        if t.size and good.size == 0:
            extent = None
            break
        extent = None if extent is None else extent + (int(good.max()) if good.size else 0)
    extent = 0 if extent is None or sum(t.size for t in tabs) == 0 else extent + run
    if extent > x.size:
        raise ctx.shape_error(f"internal: index map reaches element {extent} of '{x.name}' ({x.size} elements)")
    table = np.concatenate(tabs).astype(np.int64)
    dims = [t.size for t in tabs]
    starts = [0] * len(dims)
    for k in range(1, len(dims)):
        starts[k] = starts[k - 1] + dims[k - 1]
    p = ctx.new("er_index_map_params *", {
        "ndim": len(tabs), "elem_size": es, "run": run,
        "dims": dims + [0] * (MAP_MAX_DIMS - len(dims)),
        "table_start": starts + [0] * (MAP_MAX_DIMS - len(dims)),
        "table": ctx.const_ptr(table, "int64_t *") if table.size else ctx.ffi.NULL,
        "in_extent": extent, "pad_input": pad_input,
        "pad_bytes": pad_bytes_of(pad_value, x.dtype),
    })
    # rows whose innermost table is a few source blocks or pads copy per block: scratch for the block list
    inner = tabs[-1] if tabs else np.zeros(0, np.int64)
    if inner.size > 1:
        pad = inner < 0
        brk = (pad[1:] != pad[:-1]) | (~pad[1:] & (inner[1:] != inner[:-1] + run))
        segments = 1 + int(np.count_nonzero(brk))
        if segments * 4 <= inner.size:
            return Kernel("any_index_map", p, 24 * segments)
    return Kernel("any_index_map", p)


def axis_tables(shape_in, idx_lists):
    """Tables for out[i_0..] = in[idx_lists[0][i_0], idx_lists[1][i_1], ...] (negative index = pad)."""
    st = strides_of(shape_in)
    out = []
    for k, idx in enumerate(idx_lists):
        idx = np.asarray(idx, np.int64)
        out.append(np.where(idx >= 0, idx * st[k], -1))
    return out

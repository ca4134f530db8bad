"""Hashtables: HASHTABLE, HASHTABLE_IMPORT, HASHTABLE_FIND, HASHTABLE_SIZE, as TensorFlow's converter emits
tf.lookup.StaticHashTable (CALL_ONCE runs an init subgraph HASHTABLE + HASHTABLE_IMPORT, the main graph
HASHTABLE + HASHTABLE_FIND / HASHTABLE_SIZE).

A table is a variable of the plan (key ("hashtable", table_id), shared by every subgraph naming that id, as
LiteRT's resource map) whose storage is a one-element object array holding the table (None until imported).
HASHTABLE runs nothing: its output *is* that storage, as VAR_HANDLE's. The tables LiteRT runs are static:
the first import fills the table (a repeated key keeps its first value), later imports are ignored. Key and
value types: int64 -> STRING and STRING -> int64, LiteRT's two. The ops are Python kernels (string data).
HASHTABLE_LOOKUP (no resource: sorted int32 keys and a value tensor) runs the C kernel any_hashtable_lookup
(kernels/ref/embedding.c) for fixed-size values, Python for STRING values.
"""
from __future__ import annotations

import numpy as np
from edgerun.runtime.ops import TYPE_NAMES, Kernel, PyKernel, register

from edgerun.errors import ShapeError

INT64, STRING, RESOURCE = 4, 5, 13
PAIRS = {(INT64, STRING), (STRING, INT64)}  # (key type, value type) LiteRT's hashtable kernels accept


def _tables(ctx) -> dict:
    """table_id -> (key type, value type) over the plan being prepared (every subgraph agrees)."""
    pre = ctx.runtime.preparer
    if not hasattr(pre, "hashtables"):
        pre.hashtables = {}
    return pre.hashtables


@register("HASHTABLE")
def hashtable(ctx):
    tid = int(ctx.opt("tableId", 0))
    kt, vt = int(ctx.opt("keyDtype", 0)), int(ctx.opt("valueDtype", 0))
    if (kt, vt) not in PAIRS:
        raise ctx.unsupported(f"a table of {TYPE_NAMES.get(kt, kt)} keys and {TYPE_NAMES.get(vt, vt)} values; "
                              f"LiteRT's hashtables map INT64 -> STRING or STRING -> INT64")
    known = _tables(ctx).setdefault(tid, (kt, vt))
    if known != (kt, vt):
        raise ctx.dtype_error(f"table {tid} is {TYPE_NAMES[kt]} -> {TYPE_NAMES[vt]} here and "
                              f"{TYPE_NAMES[known[0]]} -> {TYPE_NAMES[known[1]]} elsewhere in the model")
    out = ctx.outputs[0]
    if out.type != RESOURCE:
        raise ctx.dtype_error(f"output 0 ('{out.name}') is {out.type_name}, expected RESOURCE")
    out.variable = ctx.runtime.variable(("hashtable", tid), f"hashtable {tid}", RESOURCE, (1,))
    out.table = (tid, kt, vt)
    out.shape = (1,)
    return Kernel(None)


def _table(ctx):
    h = ctx.inputs[0] if ctx.inputs else None
    t = getattr(h, "table", None)
    if t is None:
        raise ctx.unsupported("input 0 must be a table handle made by HASHTABLE")
    return t


def _check(ctx, i, want, what):
    t = ctx.inputs[i]
    if t.type != want:
        raise ctx.dtype_error(f"input {i} ('{t.name}', {what}) is {t.type_name}, the table holds "
                              f"{TYPE_NAMES[want]}")


def _key(x, string: bool):
    return bytes(x) if string else int(x)


@register("HASHTABLE_IMPORT")
def hashtable_import(ctx):
    ctx.check_inputs(3, 3)
    _, kt, vt = _table(ctx)
    _check(ctx, 1, kt, "keys")
    _check(ctx, 2, vt, "values")
    if ctx.inputs[1].size != ctx.inputs[2].size:
        raise ctx.shape_error(f"{ctx.inputs[1].size} keys but {ctx.inputs[2].size} values")
    ks, vs = kt == STRING, vt == STRING

    def run(ins, outs):
        h, keys, values = ins
        if h[0] is not None:
            return  # a static table is filled once; LiteRT ignores later imports
        table = {}
        for k, v in zip(keys.ravel().tolist(), values.ravel().tolist()):
            table.setdefault(_key(k, ks), _key(v, vs))
        h[0] = table

    return PyKernel(run, name="hashtable_import")


@register("HASHTABLE_FIND")
def hashtable_find(ctx):
    ctx.check_inputs(3, 3)
    _, kt, vt = _table(ctx)
    _check(ctx, 1, kt, "keys")
    _check(ctx, 2, vt, "default value")
    if ctx.inputs[2].size != 1:
        raise ctx.shape_error(f"the default value has {ctx.inputs[2].size} elements, expected 1")
    ctx.set_output(0, ctx.inputs[1].shape, vt)
    ks, label = kt == STRING, ctx.label

    def run(ins, outs):
        h, keys, default = ins
        table = h[0] or {}
        d = default.ravel()[0]
        found = [table.get(_key(k, ks), d) for k in keys.ravel().tolist()]
        if len(found) != outs[0].size:  # keys from an op whose output count follows the data (SKIP_GRAM)
            raise ShapeError(f"{label}: {len(found)} keys at run time, {outs[0].size} when prepared; the "
                             f"output's shape was fixed at allocate_tensors()")
        if vt == STRING:
            outs[0].ravel()[:] = found  # an object array: ravel() of the contiguous array is a view
        else:
            outs[0][...] = np.asarray(found, np.int64).reshape(outs[0].shape)

    return PyKernel(run, name="hashtable_find")


@register("HASHTABLE_SIZE")
def hashtable_size(ctx):
    ctx.check_inputs(1, 1)
    _table(ctx)
    ctx.set_output(0, (1,), INT64)

    def run(ins, outs):
        outs[0][...] = len(ins[0][0] or ())

    return PyKernel(run, name="hashtable_size")


# -- HASHTABLE_LOOKUP: the older op over constant-like key/value tensors (no resource) ----------------------


def _search(keys: list, x: int) -> int:
    """The position of x in ascending `keys` by binary search (the C kernel's steps), -1 when absent."""
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if keys[mid] == x:
            return mid
        if keys[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return -1


@register("HASHTABLE_LOOKUP")
def hashtable_lookup(ctx):
    ctx.check_inputs(3, 3)
    look, keys, vals = ctx.inputs
    for t, what in ((look, "lookups"), (keys, "keys")):
        if t.type != 2 or len(t.shape) != 1:
            raise ctx.dtype_error(f"input '{t.name}' ({what}) is {t.type_name} {t.shape}, expected 1-D INT32")
    if len(vals.shape) < 1 or vals.shape[0] != keys.shape[0]:
        raise ctx.shape_error(f"values '{vals.name}' {vals.shape} need one row per key ({keys.shape[0]})")
    if len(ctx.outputs) != 2:
        raise ctx.unsupported(f"expected 2 outputs (values, hits), got {len(ctx.outputs)}")
    ctx.set_output(0, (look.shape[0],) + tuple(vals.shape[1:]), vals.type)
    ctx.set_output(1, (look.shape[0],), 3)  # hits: UINT8
    if vals.type != STRING:
        dt = vals.dtype
        if dt is None or dt.kind == "O":
            raise ctx.unsupported(f"values of type {vals.type_name}")
        row = (vals.size // vals.shape[0] if vals.shape[0] else 0) * dt.itemsize
        return Kernel("any_hashtable_lookup", ctx.new("er_hashtable_lookup_params *", {"row_bytes": row}))

    def run(ins, outs):
        lk, ks, vs = ins
        ks = ks.tolist()
        found = [_search(ks, x) for x in lk.tolist()]
        outs[1][...] = [j >= 0 for j in found]
        if not found:
            return
        vs = vs.reshape(len(ks), -1)
        out = outs[0].reshape(len(found), -1)
        for i, j in enumerate(found):
            out[i, :] = vs[j, :] if j >= 0 else b""

    return PyKernel(run, name="hashtable_lookup")

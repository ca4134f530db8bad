"""EMBEDDING_LOOKUP_SPARSE and LSH_PROJECTION (float32 and the hashed input types, strings included, as LiteRT's
builtin kernels run them). Kernels: kernels/ref/embedding.c."""
from __future__ import annotations

import dataclasses
import math
import types

import numpy as np
from edgerun.runtime import strings
from edgerun.runtime.ops import Kernel, PyKernel, register

F32, I32, STRING = 0, 2, 5


@register("EMBEDDING_LOOKUP_SPARSE")
def embedding_lookup_sparse(ctx):
    ctx.check_inputs(5, 5)
    ids, idx, dense, w, val = ctx.inputs
    for t, want, what in ((ids, I32, "ids"), (idx, I32, "indices"), (dense, I32, "dense_shape"),
                          (w, F32, "weights"), (val, F32, "params")):
        if t.type != want:
            raise ctx.unsupported(f"input '{t.name}' ({what}) is {t.type_name}; LiteRT's kernel and edgerun take "
                                  f"{'INT32' if want == I32 else 'FLOAT32'}")
    if len(ids.shape) != 1 or len(idx.shape) != 2 or len(dense.shape) != 1 or len(w.shape) != 1 \
            or len(val.shape) < 2:
        raise ctx.shape_error(f"ids {ids.shape}, indices {idx.shape}, dense_shape {dense.shape}, weights {w.shape} "
                              f"must be 1-D, 2-D, 1-D, 1-D and params {val.shape} at least 2-D")
    n, rank = ids.shape[0], idx.shape[1]
    if idx.shape[0] != n or w.shape[0] != n or dense.shape[0] != rank or rank < 1:
        raise ctx.shape_error(f"{n} ids need indices [{n}, rank], weights [{n}] and dense_shape [rank]; got "
                              f"indices {idx.shape}, weights {w.shape}, dense_shape {dense.shape}")
    # the output's shape is dense_shape's values: LiteRT makes it a dynamic tensor, edgerun needs it at prepare
    ds = [int(v) for v in ctx.require_const(2, "(dense_shape: it gives the output's shape)").reshape(-1)]
    if any(d < 0 for d in ds):
        raise ctx.shape_error(f"dense_shape {ds} has a negative dimension")
    combiner = int(ctx.opt("combiner", 0))
    if combiner not in (0, 1, 2):
        raise ctx.unsupported(f"combiner {combiner} (SUM 0, MEAN 1, SQRTN 2)")
    ctx.set_output(0, tuple(ds[:-1]) + tuple(val.shape[1:]), F32)
    p = ctx.new("er_embedding_sparse_params *", {
        "rows": val.shape[0], "embedding_size": math.prod(val.shape[1:]), "buckets": math.prod(ds[:-1]),
        "lookups": n, "lookup_rank": rank, "combiner": combiner})
    return Kernel("f32_embedding_lookup_sparse", p)


@register("LSH_PROJECTION")
def lsh_projection(ctx):
    ctx.check_inputs(2, 3)
    h, x = ctx.inputs[0], ctx.inputs[1]
    w = ctx.inputs[2] if len(ctx.inputs) > 2 else None
    if h.type != F32 or len(h.shape) != 2:
        raise ctx.unsupported(f"hash seeds '{h.name}' are {h.type_name} {h.shape}; expected FLOAT32 [num_hash, "
                              f"num_bits]")
    num_hash, num_bits = h.shape
    if num_bits > 32:
        raise ctx.shape_error(f"{num_bits} bits per hash; LiteRT allows at most 32")
    if not len(x.shape) or x.shape[0] < 1:
        raise ctx.shape_error(f"input '{x.name}' {x.shape} must have rank >= 1 and at least one item (as LiteRT)")
    dt = x.dtype
    if x.type != STRING and (dt is None or dt.kind == "O"):
        raise ctx.unsupported(f"input '{x.name}' is {x.type_name}; edgerun hashes fixed-size elements and strings")
    items = x.shape[0]
    if w is not None and (w.type != F32 or tuple(w.shape) != (items,)):
        raise ctx.shape_error(f"weight '{w.name}' is {w.type_name} {w.shape}; expected FLOAT32 [{items}]")
    kind = int(ctx.opt("type", 0))
    if kind not in (1, 2):
        raise ctx.unsupported(f"projection type {kind} (SPARSE 1, DENSE 2)")
    sparse = kind == 1
    ctx.set_output(0, (num_hash,) if sparse else (num_hash * num_bits,), I32)
    if x.type == STRING:
        return _lsh_strings(ctx, items, num_hash, num_bits, sparse)
    item_bytes = x.size // items * dt.itemsize if items else 0
    p = ctx.new("er_lsh_params *", {"items": items, "item_bytes": item_bytes, "num_hash": num_hash,
                                    "num_bits": num_bits, "sparse": int(sparse)})
    return Kernel("i32_lsh_projection", p, scratch_bytes=ctx.reserve(4 + item_bytes, "scratch"))


def _lsh_strings(ctx, items, num_hash, num_bits, sparse):
    """LSH_PROJECTION of a STRING input, as LiteRT hashes it: the tensor's string buffer (count, offsets, bytes)
    cut into `items` equal pieces of len // items bytes (the rest unread), each hashed as a fixed-size item. The
    buffer's length follows the data, so the C kernel runs from Python with that run's item size."""
    from edgerun.runtime.prepare import _fold  # at call time: prepare imports this package

    op = types.SimpleNamespace(index=ctx.index, label=ctx.label)
    ins, out, ffi = list(ctx.inputs), ctx.outputs[0], ctx.ffi

    def run(arrays, outs):
        buf = np.frombuffer(strings.encode(arrays[1]), np.uint8)
        ib = len(buf) // items if items else 0
        data = buf[:items * ib].reshape(items, ib)
        p = ffi.new("er_lsh_params *", {"items": items, "item_bytes": ib, "num_hash": num_hash,
                                        "num_bits": num_bits, "sparse": int(sparse)})
        now = [dataclasses.replace(t, data=a) if t is not None else None for t, a in zip(ins, arrays)]
        now[1] = dataclasses.replace(ins[1], type=3, shape=data.shape, data=data)  # its bytes, as UINT8
        o = dataclasses.replace(out, data=None)
        _fold(op, Kernel("i32_lsh_projection", p, scratch_bytes=4 + ib), now, [o])
        outs[0][...] = o.data

    return PyKernel(run, name="lsh_projection_strings")

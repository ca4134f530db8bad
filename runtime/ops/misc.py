"""Ops that run once at prepare: DENSIFY (sparse constant weights -> dense), done in numpy from the
tensor's SparsityParameters (TACO-style: dense and CSR levels in traversal order, optional block dims)."""
from __future__ import annotations

import math

import numpy as np

from edgerun.runtime.ops import Kernel, register

DENSE, SPARSE_CSR = 0, 1


def _vector(ctx, v, what):
    if v is None or getattr(v, "values", None) is None:
        raise ctx.shape_error(f"sparse tensor: {what} is missing")
    return np.asarray(v.values, dtype=np.int64)


def densify_array(ctx, shape, values: np.ndarray, sp) -> np.ndarray:
    """Rebuild the dense tensor of `shape` from its stored `values` and sparsity parameters `sp`."""
    n = len(shape)
    order = list(sp.traversalOrder if sp.traversalOrder is not None else [])
    block_map = list(sp.blockMap if sp.blockMap is not None else [])
    levels = list(sp.dimMetadata or [])
    k = len(block_map)
    if len(order) != n + k or sorted(order) != list(range(n + k)) or len(levels) != n + k:
        raise ctx.shape_error(f"sparse tensor: traversal_order {order} / {len(levels)} dim_metadata entries do "
                              f"not describe a rank-{n} tensor with {k} block dims")
    if any(not 0 <= d < n for d in block_map):
        raise ctx.shape_error(f"sparse tensor: block_map {block_map} out of range")
    # Size of every (expanded) dimension: block dims are dense, their sizes come from dim_metadata.
    size = list(shape) + [0] * k
    level_of = {d: lvl for lvl, d in enumerate(order)}
    for b, d in enumerate(block_map):
        bs = levels[level_of[n + b]].denseSize
        if bs <= 0 or shape[d] % bs:
            raise ctx.shape_error(f"sparse tensor: block size {bs} does not divide dimension {d} ({shape[d]})")
        size[n + b] = bs
        size[d] = shape[d] // bs
    pos = np.zeros(1, np.int64)
    coords = np.zeros((1, n + k), np.int64)
    for lvl, d in enumerate(order):
        m = levels[lvl]
        if m.format == DENSE:
            s = m.denseSize
            if s != size[d]:
                raise ctx.shape_error(f"sparse tensor: dense level {lvl} has size {s}, dimension {d} is {size[d]}")
            ctx.reserve(pos.size * s * (n + k + 1) * 8, f"sparse tensor: coordinates of level {lvl}")
            pos = (pos[:, None] * s + np.arange(s)[None, :]).reshape(-1)
            coords = np.repeat(coords, s, axis=0)
            coords[:, d] = np.tile(np.arange(s), len(coords) // max(s, 1))
        elif m.format == SPARSE_CSR:
            seg = _vector(ctx, m.arraySegments, f"array_segments of level {lvl}")
            idx = _vector(ctx, m.arrayIndices, f"array_indices of level {lvl}")
            if pos.size and (pos.max() + 1 >= seg.size):
                raise ctx.shape_error(f"sparse tensor: level {lvl} has {seg.size} segments, needs {pos.max() + 2}")
            start, stop = seg[pos], seg[pos + 1]
            counts = stop - start
            if (counts < 0).any() or (stop > idx.size).any() or (start < 0).any():
                raise ctx.shape_error(f"sparse tensor: level {lvl} segments are not increasing within "
                                      f"{idx.size} indices")
            total = int(counts.sum())
            ctx.reserve(total * (n + k + 2) * 8, f"sparse tensor: coordinates of level {lvl}")
            first = np.repeat(start - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
            pos = np.arange(total, dtype=np.int64) + first
            coords = np.repeat(coords, counts, axis=0)
            coords[:, d] = idx[pos]
            if ((coords[:, d] < 0) | (coords[:, d] >= size[d])).any():
                raise ctx.shape_error(f"sparse tensor: level {lvl} has an index outside dimension {d} "
                                      f"(size {size[d]})")
        else:
            raise ctx.unsupported(f"sparse dimension format {m.format}")
    if pos.size and pos.max() >= values.size:
        raise ctx.shape_error(f"sparse tensor: {values.size} stored values, positions reach {pos.max() + 1}")
    orig = coords[:, :n].copy()
    for b, d in enumerate(block_map):
        orig[:, d] = coords[:, d] * size[n + b] + coords[:, n + b]
    ctx.reserve(math.prod(shape) * values.dtype.itemsize, f"dense tensor of shape {tuple(shape)}")
    out = np.zeros(shape, dtype=values.dtype)
    if pos.size:
        out[tuple(orig.T)] = values.reshape(-1)[pos]
    return out


@register("DENSIFY")
def densify(ctx):
    ctx.check_inputs(1, 1)
    x = ctx.inputs[0]
    if not x.is_const or x.sparsity is None:
        raise ctx.unsupported(f"input '{x.name}' must be a sparse constant tensor")
    ctx.set_output(0, x.shape, x.type)
    ctx.outputs[0].data = densify_array(ctx, tuple(x.shape), np.asarray(x.data).reshape(-1), x.sparsity)
    return Kernel("any_copy")

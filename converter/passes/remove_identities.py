"""remove_identities: reshapes/transposes/casts that change nothing, x*1, x+0 (and x-0, x/1)."""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import NONE, Graph, Op, Tensor
from edgerun.converter.passes.common import _act, _broadcasts_onto, _bypass, _drop


def _is_identity(op: Op) -> Tensor | None:
    """The input an op passes through unchanged, or None."""
    if len(op.outputs) != 1 or not op.inputs or op.inputs[0] is None:
        return None
    x, y = op.inputs[0], op.outputs[0]
    if x.shape != y.shape or x.dtype != y.dtype or (x.quant is not None or y.quant is not None):
        return None
    if op.type in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CAST", "IDENTITY"):
        return x
    if op.type == "TRANSPOSE" and len(op.inputs) > 1 and op.inputs[1] is not None and op.inputs[1].is_const:
        perm = [int(p) for p in np.asarray(op.inputs[1].data).reshape(-1)]
        return x if perm == list(range(len(perm))) else None
    if op.type in ("MUL", "DIV", "ADD", "SUB") and _act(op) == NONE and len(op.inputs) == 2:
        a, b = op.inputs
        neutral = 1.0 if op.type in ("MUL", "DIV") else 0.0
        for src, c in ((a, b), (b, a)) if op.type in ("MUL", "ADD") else ((a, b),):
            if c is not None and c.is_const and src.shape == y.shape and c.quant is None and src.quant is None \
                    and np.all(np.asarray(c.data) == neutral) and _broadcasts_onto(c.shape, y.shape):
                return src
    return None


def remove_identities(graph: Graph) -> Graph:
    g = graph.copy()
    dead = []
    for op in list(g.ops):
        src = _is_identity(op)
        if src is not None and _bypass(g, op, src, g.consumers()):
            dead.append(op)
    _drop(g, dead)
    return g

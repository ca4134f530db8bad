"""dedup_constants: constant tensors with identical type, shape and bytes become one tensor."""
from __future__ import annotations

import hashlib

import numpy as np
from edgerun.converter.ir import Graph


def dedup_constants(graph: Graph) -> Graph:
    g = graph.copy()
    seen: dict = {}
    for op in g.ops:
        new = []
        for t in op.inputs:
            if t is not None and t.is_const and t.quant is None:
                data = np.ascontiguousarray(t.data)
                key = (str(t.dtype), t.shape, hashlib.sha256(data.tobytes()).digest())
                t = seen.setdefault(key, t)
            new.append(t)
        op.inputs = new
    return g

"""collapse_reshapes: RESHAPE/SQUEEZE/EXPAND_DIMS followed by another of them becomes one RESHAPE (or
nothing when the shape comes back)."""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import Graph, Tensor
from edgerun.converter.passes.common import _bypass, _drop
from edgerun.converter.passes.eliminate_dead import eliminate_dead


def collapse_reshapes(graph: Graph) -> Graph:
    g = graph.copy()
    producers = g.producers()
    dead = []
    for op in g.ops:
        if op.type not in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
            continue
        p = producers.get(op.inputs[0].id)
        if p is None or p.type not in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS") or p.inputs[0].quant != op.outputs[0].quant:
            continue
        src, out = p.inputs[0], op.outputs[0]
        if src.shape == out.shape and src.dtype == out.dtype and _bypass(g, op, src, g.consumers()):
            dead.append(op)
            producers = g.producers()
            continue
        shape = np.array(out.shape, np.int32)
        op.type = "RESHAPE"
        op.inputs = [src, Tensor(out.name + "/shape", shape.shape, np.int32, shape)]
        op.options = {"newShape": [int(d) for d in out.shape]}
    _drop(g, dead)
    return eliminate_dead(g)

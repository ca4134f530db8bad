"""cancel_transposes: TRANSPOSE followed by TRANSPOSE becomes one TRANSPOSE of the composed permutation, or
nothing when they cancel."""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import Graph, Tensor
from edgerun.converter.passes.common import _bypass, _drop, _ints
from edgerun.converter.passes.eliminate_dead import eliminate_dead


def cancel_transposes(graph: Graph) -> Graph:
    g = graph.copy()
    producers = g.producers()
    dead = []
    for op in g.ops:
        if op.type != "TRANSPOSE" or not op.inputs[1].is_const:
            continue
        p = producers.get(op.inputs[0].id)
        if p is None or p.type != "TRANSPOSE" or not p.inputs[1].is_const or p.inputs[0].quant != op.outputs[0].quant:
            continue
        p1, p2 = _ints(p.inputs[1]), _ints(op.inputs[1])
        composed = [p1[i] for i in p2]
        src = p.inputs[0]
        if composed == list(range(len(composed))):
            if _bypass(g, op, src, g.consumers()):
                dead.append(op)
                producers = g.producers()
        else:
            op.inputs = [src, Tensor(op.inputs[1].name, (len(composed),), np.int32, np.array(composed, np.int32))]
    _drop(g, dead)
    return eliminate_dead(g)

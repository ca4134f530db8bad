"""eliminate_dead: ops whose outputs nothing reads (ops with effects - WHILE, IF, CALL_ONCE, ASSIGN_VARIABLE -
stay)."""
from __future__ import annotations

from edgerun.converter.ir import Graph


def eliminate_dead(graph: Graph) -> Graph:
    g = graph.copy()
    live = {t.id for t in g.outputs}
    keep = []
    for op in reversed(g.ops):
        if any(t.id in live for t in op.outputs) or op.type in ("WHILE", "IF", "CALL_ONCE", "ASSIGN_VARIABLE"):
            keep.append(op)
            live.update(t.id for t in op.inputs if t is not None)
    g.ops = keep[::-1]
    return g

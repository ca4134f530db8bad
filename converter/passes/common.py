"""Helpers shared by the passes: an op's fused activation, float constants, dropping ops, and bypassing an op
whose output equals one of its inputs."""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import NONE, Graph, Op, Tensor


def _act(op: Op) -> int:
    return int(op.options.get("fusedActivationFunction", NONE) or NONE)


def _float_const(t) -> bool:
    return t is not None and t.is_const and t.dtype == np.float32 and t.quant is None


def _broadcasts_onto(c_shape, shape) -> bool:
    """A tensor of c_shape broadcasts onto `shape` without changing it; `shape` may hold -1 (a dynamic axis,
    which only a size-1 axis of c leaves unchanged)."""
    return len(c_shape) <= len(shape) and all(cd == 1 or cd == d >= 0
                                              for cd, d in zip(reversed(tuple(c_shape)), reversed(tuple(shape))))


def _drop(graph: Graph, dead: list) -> None:
    ids = {id(op) for op in dead}
    graph.ops = [op for op in graph.ops if id(op) not in ids]


def _bypass(graph: Graph, op: Op, src: Tensor, consumers: dict) -> bool:
    """Remove `op` whose single output equals `src`. Returns False when it must stay (its output is a graph
    output that cannot be renamed onto the producer of `src`)."""
    out = op.outputs[0]
    if not graph.is_output(out):
        graph.replace_uses(out, src)
        return True
    producer = graph.producers().get(src.id)
    if (producer is None or graph.is_output(src) or len(consumers.get(src.id, [])) != 1
            or any(src is t for t in graph.inputs)):
        return False
    producer.outputs = [out if t is src else t for t in producer.outputs]
    return True


def _ints(t) -> list:
    return [int(v) for v in np.asarray(t.data).reshape(-1)]

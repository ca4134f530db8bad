"""IR verifier: structural checks of a Graph (converter/ir.py), for frontends and passes to be tested against.

    from edgerun.converter.verify import verify
    verify(graph)            # raises ConversionError naming the op (index, type, name) and the tensor

Checks, in the main graph and in every subgraph (IF branches, WHILE conditions and bodies):
- every op input is a graph input, a constant, or the output of an earlier op (topological order);
- every graph output is one of those too;
- each tensor object has its own id, and no two ops (nor an op and a graph input) write the same tensor;
- no op writes a constant or a graph input; graph inputs are not constants;
- every tensor has a shape (a tuple of ints, -1 for a dynamic dimension) and a numpy dtype;
- IF / WHILE / CALL / CALL_ONCE subgraph indices name an existing subgraph (1 + position in the main graph's
  `subgraphs`), and the operand and result counts match that subgraph's inputs and outputs.

The tests run it after every pass (run_passes(..., verify=True), turned on for tests/converter by its
conftest); the converter itself does not pay for it.
"""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import Graph, Op, Tensor

from edgerun.errors import ConversionError
from edgerun.schema.ops import OPS

__all__ = ["verify"]

# op type -> the option fields holding subgraph indices (the op table's subgraphs)
_SUBGRAPH_OPTIONS = {d.name: d.subgraphs for d in OPS if d.subgraphs}


def verify(graph: Graph, where: str = "", subgraphs: list | None = None) -> None:
    """Raise ConversionError at the first structural fault of `graph` or of one of its subgraphs. `where`
    (e.g. "after fold_constants") is added to the message. With `subgraphs` (the main graph's list), `graph`
    is one of them and is checked alone, its subgraph indices against that list."""
    if subgraphs is not None:
        _verify_one(graph, subgraphs, f"subgraph {graph.name!r}", where)
        return
    subgraphs = list(graph.subgraphs)
    _verify_one(graph, subgraphs, graph.name or "main", where)
    for k, sg in enumerate(subgraphs, start=1):
        _verify_one(sg, subgraphs, f"subgraph {k} ({sg.name})", where)


def _fail(where: str, scope: str, msg: str):
    suffix = f" ({where})" if where else ""
    raise ConversionError(f"IR check failed in {scope}{suffix}: {msg}")


def _op_label(i: int, op: Op) -> str:
    return f"op {i} {op.type}" + (f" {op.name!r}" if op.name else "")


def _check_tensor(t, scope, where, what):
    if not isinstance(t, Tensor):
        _fail(where, scope, f"{what} is {type(t).__name__}, not a Tensor")
    if not isinstance(t.shape, tuple) or not all(isinstance(d, int) and d >= -1 for d in t.shape):
        _fail(where, scope, f"{what} {t.name!r} has no valid shape: {t.shape!r}")
    if not isinstance(t.dtype, np.dtype):
        _fail(where, scope, f"{what} {t.name!r} has no dtype: {t.dtype!r}")
    data_shape = np.shape(t.data)
    if t.is_const and (len(data_shape) != len(t.shape)
                       or any(d not in (-1, e) for d, e in zip(t.shape, data_shape))):
        _fail(where, scope, f"{what} {t.name!r}: constant data of shape {data_shape} for declared shape {t.shape}")


def _verify_one(g: Graph, subgraphs: list, scope: str, where: str) -> None:
    objects: dict = {}  # tensor id -> the tensor object carrying it

    def same_id(t, what):
        other = objects.setdefault(t.id, t)
        if other is not t:
            _fail(where, scope, f"{what} {t.name!r} shares id {t.id} with another tensor {other.name!r}")

    available: set = set()  # ids readable at this point: inputs, then outputs of earlier ops
    for k, t in enumerate(g.inputs):
        _check_tensor(t, scope, where, f"graph input {k}")
        same_id(t, f"graph input {k}")
        if t.is_const:
            _fail(where, scope, f"graph input {k} {t.name!r} is a constant")
        if t.id in available:
            _fail(where, scope, f"graph input {k} {t.name!r} is listed twice")
        available.add(t.id)
    inputs = set(available)
    written: dict = {}  # tensor id -> label of the op writing it
    for i, op in enumerate(g.ops):
        label = _op_label(i, op)
        for k, t in enumerate(op.inputs):
            if t is None:
                continue
            _check_tensor(t, scope, where, f"{label} input {k}")
            same_id(t, f"{label} input {k}")
            if not t.is_const and t.id not in available:
                later = t.id in {o.id for later_op in g.ops[i:] for o in later_op.outputs}
                _fail(where, scope, f"{label} reads tensor {t.name!r} (input {k}), which is "
                      + ("written by a later op" if later else "neither a graph input, a constant nor the output of "
                                                               "an earlier op"))
        for k, t in enumerate(op.outputs):
            if t is None:
                _fail(where, scope, f"{label} output {k} is missing")
            _check_tensor(t, scope, where, f"{label} output {k}")
            same_id(t, f"{label} output {k}")
            if t.is_const:
                _fail(where, scope, f"{label} writes the constant {t.name!r} (output {k})")
            if t.id in inputs:
                _fail(where, scope, f"{label} writes the graph input {t.name!r} (output {k})")
            if t.id in written:
                _fail(where, scope, f"{label} writes tensor {t.name!r} (output {k}), already written by "
                                    f"{written[t.id]}")
            written[t.id] = label
            available.add(t.id)
        _check_subgraph_refs(op, label, subgraphs, scope, where)
    for k, t in enumerate(g.outputs):
        if t is None:
            _fail(where, scope, f"graph output {k} is missing")
        _check_tensor(t, scope, where, f"graph output {k}")
        same_id(t, f"graph output {k}")
        if not t.is_const and t.id not in available:
            _fail(where, scope, f"graph output {k} {t.name!r} is neither a graph input, a constant nor an op's output")


def _check_subgraph_refs(op: Op, label: str, subgraphs: list, scope: str, where: str) -> None:
    fields = _SUBGRAPH_OPTIONS.get(op.type)
    if fields is None:
        return
    refs = {}
    for f in fields:
        idx = op.options.get(f)
        if not isinstance(idx, (int, np.integer)) or not 1 <= int(idx) <= len(subgraphs):
            _fail(where, scope, f"{label}: {f}={idx!r} names no subgraph (there are {len(subgraphs)})")
        refs[f] = subgraphs[int(idx) - 1]
    n_in, n_out = len(op.inputs), len(op.outputs)
    if op.type == "IF":
        for f, sg in refs.items():
            if len(sg.inputs) != n_in - 1 or len(sg.outputs) != n_out:
                _fail(where, scope, f"{label}: {f} subgraph {sg.name!r} takes {len(sg.inputs)} inputs and gives "
                                    f"{len(sg.outputs)} outputs; the op has {n_in - 1} operands and {n_out} results")
    elif op.type == "WHILE":
        cond, body = refs["condSubgraphIndex"], refs["bodySubgraphIndex"]
        if not (len(cond.inputs) == len(body.inputs) == len(body.outputs) == n_in == n_out) or len(cond.outputs) != 1:
            _fail(where, scope, f"{label}: {n_in} operands, {n_out} results, cond {cond.name!r} "
                                f"{len(cond.inputs)} -> {len(cond.outputs)}, body {body.name!r} "
                                f"{len(body.inputs)} -> {len(body.outputs)} do not agree")
    elif op.type == "CALL":
        sg = refs["subgraph"]  # CallOptions.subgraph
        if len(sg.inputs) != n_in or len(sg.outputs) != n_out:
            _fail(where, scope, f"{label}: subgraph {sg.name!r} takes {len(sg.inputs)} inputs and gives "
                                f"{len(sg.outputs)} outputs; the op has {n_in} and {n_out}")

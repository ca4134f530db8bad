"""The control-flow part of full-integer quantization (converter/quantize.py): walking a graph's subgraphs,
and giving one quantization to the tensors whose bytes TFLite copies across a subgraph boundary (an IF
operand and the branch inputs; the branch outputs and the IF result; a WHILE operand, its result, and the
cond and body inputs and body output of that loop variable).

The quantizer's union-find of tensors (quantize._Groups) is passed in; nothing here depends on the mode but
the `representable` test it is handed.
"""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import Graph, Op, Tensor

from edgerun.errors import ConversionError

__all__ = ["check_fixed_kept", "check_types", "read_counts", "scoped_ops", "tie", "tied_positions"]


def _is_float(t) -> bool:
    return t is not None and t.dtype == np.float32


def _label(op: Op) -> str:
    return f"{op.type} ({op.name!r})" if op.name else op.type


def scoped_ops(g: Graph):
    """(scope, op) for every op of the main graph (scope "") and of its subgraphs ("subgraph k (name)")."""
    for op in g.ops:
        yield "", op
    for k, sg in enumerate(g.subgraphs, start=1):
        for op in sg.ops:
            yield f"subgraph {k} ({sg.name})", op


def tied_positions(g: Graph, op: Op):
    """The tensors TFLite copies into one another across `op`'s subgraph boundary, per operand / loop
    variable: lists of (tensor, slot); slot (container list, index, graph, op to insert before or None)
    says where a tensor is written from, for a requantization, or is None (a tensor written by the copy)."""
    subs = g.subgraphs
    if op.type == "IF":
        branches = [subs[int(op.options[f]) - 1] for f in ("thenSubgraphIndex", "elseSubgraphIndex")]
        for k in range(1, len(op.inputs)):
            yield [(op.inputs[k], (op.inputs, k, None, op))] + [(b.inputs[k - 1], None) for b in branches]
        for k, t in enumerate(op.outputs):
            yield [(t, None)] + [(b.outputs[k], (b.outputs, k, b, None)) for b in branches]
    elif op.type == "WHILE":
        cond, body = (subs[int(op.options[f]) - 1] for f in ("condSubgraphIndex", "bodySubgraphIndex"))
        for k, t in enumerate(op.inputs):
            yield [(t, (op.inputs, k, None, op)), (op.outputs[k], None), (cond.inputs[k], None),
                   (body.inputs[k], None), (body.outputs[k], (body.outputs, k, body, None))]


def check_types(g: Graph) -> list:
    """A value crossing a subgraph boundary must be float on every side or on none: one message per
    operand / loop variable that is not."""
    bad = []
    for scope, op in scoped_ops(g):
        for position in tied_positions(g, op):
            kinds = {_is_float(t) for t, _ in position}
            if len(kinds) > 1:
                names = ", ".join(f"{t.name!r} {t.dtype}" for t, _ in position)
                bad.append(f"{_label(op)}{' in ' + scope if scope else ''}: the tensors of one operand / "
                           f"loop variable differ in type ({names}); they must all be float32 to be quantized")
    return bad


def read_counts(graphs) -> dict:
    """tensor id -> number of reads (op input slots, graph outputs) over `graphs`."""
    uses: dict = {}
    for sg in graphs:
        for t in [t for op in sg.ops for t in op.inputs] + sg.outputs:
            if t is not None:
                uses[t.id] = uses.get(t.id, 0) + 1
    return uses


def tie(groups, position, *, uses: dict, home: dict, representable) -> list:
    """One quantization for the tensors of one IF operand / result or WHILE loop variable (a tied_positions
    list). A member with a fixed quantization (e.g. a LOGISTIC output) that cannot represent the union of their
    ranges is requantized where it is written; a WHILE operand read elsewhere too keeps its own quantization
    and the loop gets a requantized copy when the loop variable's range is wider. `uses` is read_counts, `home`
    maps id(op) -> the graph holding it, `representable((scale, zp), (lo, hi))` tells whether fixed parameters
    hold a range. Returns the QUANTIZE ops to insert, as (before op or None: at the end of the graph, graph,
    op)."""
    gr = groups
    members = [(t, slot) for t, slot in position if _is_float(t)]
    if len(members) < 2:
        return []
    new_ops = []
    t0, slot0 = members[0]
    if slot0 is not None and slot0[3] is not None and slot0[3].type == "WHILE" and not t0.is_const \
            and uses.get(t0.id, 0) > 1:
        lo0, hi0 = gr.range[gr.find(t0.id)]
        rest = [gr.range[gr.find(t.id)] for t, _ in members[1:]]
        if min(r[0] for r in rest) < lo0 or max(r[1] for r in rest) > hi0:
            container, k, _, before = slot0
            r = Tensor(f"{t0.name}_loop", t0.shape, t0.dtype)
            gr.add(r.id, (lo0, hi0))
            container[k] = r
            new_ops.append((before, home[id(before)], Op("QUANTIZE", [t0], [r], name=f"{t0.name}/requantize")))
            members[0] = (r, None)
    lo = min(gr.range[gr.find(t.id)][0] for t, _ in members)
    hi = max(gr.range[gr.find(t.id)][1] for t, _ in members)
    fixed_params = sorted({gr.fixed[gr.find(t.id)] for t, _ in members if gr.find(t.id) in gr.fixed})
    keep = next((p for p in fixed_params if representable(p, (lo, hi))), None)
    tied = []
    for t, slot in members:
        root = gr.find(t.id)
        if root in gr.fixed and gr.fixed[root] != keep and slot is not None:
            container, k, sg, before = slot
            r = Tensor(f"{t.name}_requantized", t.shape, t.dtype)
            gr.add(r.id, gr.range[root])
            container[k] = r
            new_ops.append((before, sg if sg is not None else home[id(before)],
                            Op("QUANTIZE", [t], [r], name=f"{t.name}/requantize")))
            t = r
        tied.append(t)
    for t in tied[1:]:
        gr.union(tied[0].id, t.id)
    if keep is not None:
        gr.fixed[gr.find(tied[0].id)] = keep
    return new_ops


def check_fixed_kept(g: Graph, groups, params: dict, fixed: dict, mode: str):
    """After tying: every op of a fixed output quantization (`fixed`: op type -> (scale, zp)) still has it
    (`params`: group root -> (scale, zp)). A loop variable tied to two fixed quantizations keeps only one of
    them; the other op is refused, naming its output tensor."""
    if not g.subgraphs:
        return
    for scope, op in scoped_ops(g):
        out = op.outputs[0]
        if op.type in fixed and _is_float(out) and params[groups.find(out.id)] != fixed[op.type]:
            raise ConversionError(
                f"cannot quantize to {mode}: {_label(op)}{' in ' + scope if scope else ''}: its output "
                f"{out.name!r} needs the fixed quantization {fixed[op.type]}, but it is a value "
                f"shared across a control-flow boundary with a tensor of another fixed quantization")

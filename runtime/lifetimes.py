"""Lifetimes: which arena buffers a subplan needs and from which op to which op each is alive.

A buffer is one tensor's bytes, an op's scratch, or the region of a nested subplan (the body of a WHILE,
the branches of an IF) that is alive while that op runs. Placement (runtime/planner.py) then gives each
buffer an offset such that no two buffers alive at the same time overlap.
"""
from __future__ import annotations

import dataclasses

from edgerun.runtime import plan as P


@dataclasses.dataclass
class Buffer:
    kind: str                      # "tensor", "scratch" or "subplan"
    nbytes: int
    first: int                     # first op position (in the subplan's op list) that uses it
    last: int                      # last one
    tensors: tuple = ()            # kind "tensor": the tensor ids stored here
    tensor_offset: dict = dataclasses.field(default_factory=dict)
    op: int = -1                   # kind "scratch": the op position
    subplan: int = -1              # kind "subplan": its id


def subplan_refs(value) -> list:
    """SubplanRef ids inside a params value (nested structs and arrays included)."""
    if isinstance(value, P.SubplanRef):
        return [value.subplan]
    if isinstance(value, P.Params):
        return [k for v in value.fields.values() for k in subplan_refs(v)]
    if isinstance(value, list):
        return [k for v in value for k in subplan_refs(v)]
    return []


def children(sp: P.Subplan) -> list:
    return [k for op in sp.ops for k in subplan_refs(op.params)]


def arena_buffers(sp: P.Subplan, subplans: list) -> list:
    n = len(sp.ops)
    first, last = {}, {}

    def use(ti, p):
        if ti < 0 or sp.tensors[ti].storage != P.ARENA:
            return
        first[ti] = min(first.get(ti, p), p)
        last[ti] = max(last.get(ti, p), p)

    for ti in sp.inputs:
        use(ti, 0)
        use(ti, n)  # graph inputs are preserved for the whole run, as TFLite does
    for p, op in enumerate(sp.ops):
        for ti in op.outputs:
            use(ti, p)
        for ti in op.inputs:
            use(ti, p)
    for ti in sp.outputs:
        if ti in first:
            use(ti, n)
    buffers = [Buffer("tensor", sp.tensors[ti].nbytes, first[ti], last[ti], (ti,)) for ti in sorted(first)]
    for p, op in enumerate(sp.ops):
        if op.scratch_bytes > 0:
            buffers.append(Buffer("scratch", op.scratch_bytes, p, p, op=p))
        for k in subplan_refs(op.params):
            buffers.append(Buffer("subplan", subplans[k].arena_bytes, p, p, subplan=k))
    return buffers

"""Lifetimes: which arena buffers a subplan needs and from which op to which op each is alive.

A buffer is the bytes of one tensor (or of several tensors sharing them: an output that aliases an input,
runtime/inplace.py), an op's scratch, or the region of a nested subplan (the body of a WHILE, the branches
of an IF) that is alive while that op runs. Placement (runtime/planner.py) then gives each buffer an offset
such that no two buffers alive at the same time overlap; `check_subplan` verifies a placed subplan.
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
        refs = value.subplan_refs()  # from the pointer leaves, without decoding the fields
        return refs if refs is not None else [k for v in value.fields.values() for k in subplan_refs(v)]
    if isinstance(value, list):
        return [k for v in value for k in subplan_refs(v)]
    return []


def children(sp: P.Subplan) -> list:
    return [k for op in sp.ops for k in subplan_refs(op.params)]


def tensor_lifetimes(sp: P.Subplan) -> tuple:
    """(first, last): op positions of the first and last use of each arena tensor. Graph inputs are alive
    from 0 to n (= len(ops)) and graph outputs until n: TFLite preserves the inputs for the whole run and the
    outputs stay readable after it. A subplan with preserve_inputs False (a microcontroller's main graph, as
    TFLite Micro plans it) lets its inputs die at their last use."""
    n = len(sp.ops)
    arena = {i for i, t in enumerate(sp.tensors) if t.storage == P.ARENA}
    first, last = {}, {}
    for ti in sp.inputs:
        if ti in arena:
            first[ti] = 0
            last[ti] = max(last.get(ti, 0), n if sp.preserve_inputs else 0)  # preserved for the whole run
    for p, op in enumerate(sp.ops):  # positions only grow: a first use is the first seen
        for ids in (op.outputs, op.inputs):
            for ti in ids:
                if ti in arena:
                    if ti not in first:
                        first[ti] = p
                    if last.get(ti, -1) < p:
                        last[ti] = p
    for ti in sp.outputs:
        if ti in first:
            last[ti] = n
    return first, last


def alias_groups(tensor_ids, aliases: dict) -> dict:
    """tensor id -> the id of its group's root, following `aliases` (output id -> input id whose bytes it
    takes)."""
    def root(t):
        while t in aliases:
            t = aliases[t]
        return t

    return {t: root(t) for t in tensor_ids}


def arena_buffers(sp: P.Subplan, subplans: list, aliases: dict | None = None) -> list:
    """The arena buffers of `sp`; tensors joined by `aliases` (output id -> input id) share one buffer, as
    large as the largest of them and alive from the first use of any to the last use of any."""
    first, last = tensor_lifetimes(sp)
    groups: dict = {}
    for ti, r in alias_groups(sorted(first), aliases or {}).items():
        groups.setdefault(r, []).append(ti)
    buffers = [Buffer("tensor", max(sp.tensors[t].nbytes for t in ts), min(first[t] for t in ts),
                      max(last[t] for t in ts), tuple(ts)) for _, ts in sorted(groups.items())]
    for p, op in enumerate(sp.ops):
        if op.scratch_bytes > 0:
            buffers.append(Buffer("scratch", op.scratch_bytes, p, p, op=p))
        for k in subplan_refs(op.params):
            buffers.append(Buffer("subplan", subplans[k].arena_bytes, p, p, subplan=k))
    return buffers

"""Prepare-time graph rewrites that turn data-dependent shapes into static ones.

TensorFlow's converter lowers `TensorListSetItem` (the per-step write of a Keras RNN's output sequence
inside a WHILE body) to

    head = SLICE(list, [0, 0, ..], [i, -1, ..])        # shape depends on the loop counter i
    tail = SLICE(list, [i + 1, 0, ..], [-1, -1, ..])    # likewise
    out  = CONCATENATION([head, item, tail], axis=0)    # static: the list's shape

The two slices have run-time shapes, which a statically planned arena cannot hold, while their
concatenation does not. `fuse_set_item` replaces each such triple by one op, EDGERUN_SET_ITEM
(list, item, head_size, tail_begin), whose output has the list's static shape.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from edgerun.runtime.ops import Kernel, register

SET_ITEM = "EDGERUN_SET_ITEM"


def _const(desc, i):
    return None if i < 0 else desc.tensors[i].data


def fuse_set_item(desc, ops: list) -> list:
    producer = {t: op for op in ops for t in op.outputs}
    readers: dict = {}
    for op in ops:
        for t in op.inputs:
            readers[t] = readers.get(t, 0) + 1
    for t in desc.outputs:
        readers[t] = readers.get(t, 0) + 1
    drop, replace = set(), {}
    for op in ops:
        if op.name != "CONCATENATION" or len(op.inputs) != 3 or (op.options and getattr(
                op.options, "fusedActivationFunction", 0)):
            continue
        head_t, item_t, tail_t = op.inputs
        head, tail = producer.get(head_t), producer.get(tail_t)
        if head is None or tail is None or head.name != "SLICE" or tail.name != "SLICE":
            continue
        if head.inputs[0] != tail.inputs[0] or readers.get(head_t) != 1 or readers.get(tail_t) != 1:
            continue
        rank = len(desc.tensors[head.inputs[0]].shape)
        axis = getattr(op.options, "axis", 0) if op.options is not None else 0
        if axis not in (0, -rank):
            continue
        b0, s0, b2, s2 = (_const(desc, head.inputs[1]), _const(desc, head.inputs[2]),
                          _const(desc, tail.inputs[1]), _const(desc, tail.inputs[2]))
        if b0 is None or s2 is None or np.any(b0 != 0) or np.any(s2 != -1):
            continue
        if s0 is not None and b2 is not None:
            continue  # static slices: nothing to fix
        drop.update({id(head), id(tail)})
        replace[id(op)] = dataclasses.replace(
            op, name=SET_ITEM, custom_code=None, options=None,
            inputs=[head.inputs[0], item_t, head.inputs[2], tail.inputs[1]])
    if not replace:
        return ops
    return [replace.get(id(op), op) for op in ops if id(op) not in drop]


@register(SET_ITEM)
def set_item(ctx):
    lst, item = ctx.inputs[0], ctx.inputs[1]
    if item.shape[1:] != lst.shape[1:]:
        raise ctx.shape_error(f"item of shape {item.shape} does not fit rows of {lst.shape}")
    for j in (2, 3):
        if ctx.inputs[j].type not in (2, 4):
            raise ctx.dtype_error(f"input {j} '{ctx.inputs[j].name}' is {ctx.inputs[j].type_name}, expected an "
                                  f"integer index")
    ctx.set_output(0, lst.shape, lst.type)
    return Kernel("any_set_item")

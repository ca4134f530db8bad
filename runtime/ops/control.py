"""Multi-subgraph control flow: WHILE and IF (what TensorFlow's converter emits for Keras recurrent layers
and tf.cond). Each branch or body is its own prepared plan (one C call per run); the loop itself runs in
Python between those calls, copying loop values from the body's outputs to its inputs.
"""
from __future__ import annotations

import numpy as np

from edgerun.runtime.ops import PyKernel, register


def _subgraph(ctx, field):
    k = ctx.opt(field, None)
    model = ctx.runtime.model
    if k is None or not 0 <= k < len(model.subgraphs) or k == ctx.runtime.index:
        raise ctx.unsupported(f"{field} {k} is not a valid subgraph index (model has {len(model.subgraphs)})")
    return k


class _Sub:
    """A subgraph prepared for the shapes it is called with (re-prepared if they change)."""

    def __init__(self, ctx, index):
        self.parent = ctx.runtime
        self.index = index
        self.desc = self.parent.model.subgraphs[index]
        self.label = ctx.label
        self.graph = None
        self.shapes = None

    def prepare(self, shapes):
        from edgerun.runtime.graph import PreparedGraph

        shapes = tuple(tuple(s) for s in shapes)
        if len(shapes) != len(self.desc.inputs):
            raise ValueError(f"{self.label}: subgraph {self.index} takes {len(self.desc.inputs)} inputs, "
                             f"given {len(shapes)}")
        if self.graph is None or self.shapes != shapes:
            self.graph = PreparedGraph(self.parent.model, self.index, dict(zip(self.desc.inputs, shapes)),
                                       preserve_all=self.parent.preserve_all, owner=self.parent.owner,
                                       variables=self.parent.variables)
            self.shapes = shapes
        return self.graph

    def output_shapes(self):
        return [self.graph.infos[i].shape for i in self.desc.outputs]

    def output_types(self):
        return [self.graph.infos[i].type for i in self.desc.outputs]

    def run(self, values):
        g = self.prepare([np.shape(v) for v in values])
        for ti, v in zip(self.desc.inputs, values):
            np.copyto(g.views[ti], v, casting="no")
        g.invoke()
        return [g.views[ti] for ti in self.desc.outputs]


def _check_types(ctx, what, types, want):
    for j, (a, b) in enumerate(zip(types, want)):
        if a != b:
            raise ctx.dtype_error(f"{what} {j} has type {a}, the op's tensor has type {b}")


@register("WHILE")
def while_(ctx):
    cond = _Sub(ctx, _subgraph(ctx, "condSubgraphIndex"))
    body = _Sub(ctx, _subgraph(ctx, "bodySubgraphIndex"))
    n = len(ctx.inputs)
    if len(ctx.outputs) != n or len(body.desc.outputs) != n or len(body.desc.inputs) != n \
            or len(cond.desc.inputs) != n or len(cond.desc.outputs) != 1:
        raise ctx.unsupported(f"WHILE with {n} inputs, {len(ctx.outputs)} outputs does not match its cond "
                              f"({len(cond.desc.inputs)} in, {len(cond.desc.outputs)} out) and body "
                              f"({len(body.desc.inputs)} in, {len(body.desc.outputs)} out) subgraphs")
    if any(t is None for t in ctx.inputs):
        raise ctx.unsupported("absent loop variable")
    shapes = [t.shape for t in ctx.inputs]
    cond.prepare(shapes)
    body.prepare(shapes)
    if [tuple(s) for s in body.output_shapes()] != [tuple(s) for s in shapes]:
        raise ctx.unsupported(f"loop variables change shape in the body ({shapes} -> {body.output_shapes()}); "
                              f"edgerun runs loops whose variables keep their shapes")
    _check_types(ctx, "body output", body.output_types(), [t.type for t in ctx.inputs])
    for j, t in enumerate(ctx.inputs):
        ctx.set_output(j, t.shape, t.type)

    def run(inputs, outputs):
        values = [np.array(x) for x in inputs]
        while True:
            (flag,) = cond.run(values)
            if not bool(np.asarray(flag).reshape(-1)[0]):
                break
            results = body.run(values)
            values = [np.array(r) for r in results]
        for o, v in zip(outputs, values):
            if o is not None:
                np.copyto(o, v)

    return PyKernel(run, name="WHILE")


@register("IF")
def if_(ctx):
    then_ = _Sub(ctx, _subgraph(ctx, "thenSubgraphIndex"))
    else_ = _Sub(ctx, _subgraph(ctx, "elseSubgraphIndex"))
    if not ctx.inputs or ctx.inputs[0] is None:
        raise ctx.unsupported("IF needs a condition input")
    args = ctx.inputs[1:]
    shapes = [t.shape for t in args]
    then_.prepare(shapes)
    else_.prepare(shapes)
    ts, es = then_.output_shapes(), else_.output_shapes()
    if len(ts) != len(ctx.outputs) or len(es) != len(ctx.outputs):
        raise ctx.unsupported(f"branches return {len(ts)} and {len(es)} values, the op has {len(ctx.outputs)} "
                              f"outputs")
    for j, (a, b) in enumerate(zip(ts, es)):
        if tuple(a) != tuple(b):
            raise ctx.unsupported(f"output {j} has shape {a} in the then branch and {b} in the else branch")
        ctx.set_output(j, a, then_.output_types()[j])
    _check_types(ctx, "else-branch output", else_.output_types(), then_.output_types())

    def run(inputs, outputs):
        flag = bool(np.asarray(inputs[0]).reshape(-1)[0])
        results = (then_ if flag else else_).run(list(inputs[1:]))
        for o, r in zip(outputs, results):
            if o is not None:
                np.copyto(o, r)

    return PyKernel(run, name="IF")

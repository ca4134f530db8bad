"""Multi-subgraph control flow: WHILE, IF (what TensorFlow's converter emits for Keras recurrent layers and
tf.cond) and CALL_ONCE (the initializer of resource variables). Each subgraph they run is prepared as a
subplan of the same plan; the op itself is an executor record (kernels/ref/control.c), so loops run in C.

A WHILE/IF whose subgraphs have run-time-sized tensors (an op inside needs a value: RunTimeShapeError), whose
loop variables change shape in the body, or whose branches return different shapes cannot be one static plan:
its handler raises a RunTimeShapeError with `host_op` set, and the desktop Interpreter runs that op at the host
(runtime/staged.py: the stage ends before it, its subgraphs run as staged graphs, iterating in Python). Plan
files and generated C refuse it with that message, which names the op, the subgraph and the inner op or tensor.
"""
from __future__ import annotations

from edgerun.errors import RunTimeShapeError
from edgerun.runtime import plan as P
from edgerun.runtime.ops import Kernel, PyKernel, register

INT32 = 2


def _subgraph(ctx, field):
    k = ctx.opt(field, None)
    model = ctx.runtime.model
    if k is None or not 0 <= k < len(model.subgraphs) or k == ctx.runtime.index:
        raise ctx.unsupported(f"{field} {k} is not a valid subgraph index (model has {len(model.subgraphs)})")
    return k


def _prepare(ctx, index, shapes):
    """Prepare subgraph `index` as a subplan: (id, Subplan). Its ops must all be C kernels."""
    k, sp = ctx.runtime.prepare_subgraph(index, shapes)
    py = [op for op in sp.ops if op.python is not None]
    if py:
        raise ctx.unsupported(f"subgraph {index} runs {py[0].label}, implemented in Python; ops inside "
                              f"control flow must be C kernels")
    return k, sp


def _host(ctx, why: str) -> RunTimeShapeError:
    """The op runs at the host: the desktop Interpreter iterates it in Python over staged subgraphs."""
    exc = RunTimeShapeError(f"{ctx.label}: {why}; the desktop Interpreter runs this {ctx.name} at the host (its "
                            f"subgraphs prepared as their shapes exist); plan files and generated C need every "
                            f"shape inside control flow at prepare")
    exc.host_op = True
    return exc


def _prepare_or_host(ctx, what, index, shapes):
    """_prepare, or the op at the host when subgraph `index` has run-time-sized tensors."""
    try:
        return _prepare(ctx, index, shapes)
    except RunTimeShapeError as exc:
        raise _host(ctx, f"{what} subgraph {index}: {exc}") from None


def _outputs(sp):
    return [sp.tensors[i] for i in sp.outputs]


def _check_types(ctx, what, types, want):
    for j, (a, b) in enumerate(zip(types, want)):
        if a != b:
            raise ctx.dtype_error(f"{what} {j} has type {a}, the op's tensor has type {b}")


@register("WHILE")
def while_(ctx):
    cond_i = _subgraph(ctx, "condSubgraphIndex")
    body_i = _subgraph(ctx, "bodySubgraphIndex")
    descs = ctx.runtime.model.subgraphs
    cond_d, body_d = descs[cond_i], descs[body_i]
    n = len(ctx.inputs)
    if len(ctx.outputs) != n or len(body_d.outputs) != n or len(body_d.inputs) != n \
            or len(cond_d.inputs) != n or len(cond_d.outputs) != 1:
        raise ctx.unsupported(f"WHILE with {n} inputs, {len(ctx.outputs)} outputs does not match its cond "
                              f"({len(cond_d.inputs)} in, {len(cond_d.outputs)} out) and body "
                              f"({len(body_d.inputs)} in, {len(body_d.outputs)} out) subgraphs")
    if any(t is None for t in ctx.inputs):
        raise ctx.unsupported("absent loop variable")
    shapes = [t.shape for t in ctx.inputs]
    ck, _ = _prepare_or_host(ctx, "cond", cond_i, shapes)
    bk, body = _prepare_or_host(ctx, "body", body_i, shapes)
    outs = _outputs(body)
    for j, (o, s) in enumerate(zip(outs, shapes)):
        if tuple(o.shape) != tuple(s):
            raise _host(ctx, f"loop variable {j} '{ctx.inputs[j].name}' changes shape in body subgraph {body_i} "
                             f"({tuple(s)} -> {tuple(o.shape)})")
    _check_types(ctx, "body output", [o.type for o in outs], [t.type for t in ctx.inputs])
    for j, t in enumerate(ctx.inputs):
        ctx.set_output(j, t.shape, t.type)
    limit = ctx.runtime.preparer.max_loop_iterations or 0
    return Kernel("ctl_while", P.Params("er_while_params", {"cond": P.SubplanRef(ck), "body": P.SubplanRef(bk),
                                                            "max_iterations": int(limit)}))


@register("IF")
def if_(ctx):
    then_i = _subgraph(ctx, "thenSubgraphIndex")
    else_i = _subgraph(ctx, "elseSubgraphIndex")
    if not ctx.inputs or ctx.inputs[0] is None:
        raise ctx.unsupported("IF needs a condition input")
    if any(t is None for t in ctx.inputs[1:]):
        raise ctx.unsupported("absent branch input")
    shapes = [t.shape for t in ctx.inputs[1:]]
    tk, then_ = _prepare_or_host(ctx, "then", then_i, shapes)
    ek, else_ = _prepare_or_host(ctx, "else", else_i, shapes)
    ts, es = _outputs(then_), _outputs(else_)
    if len(ts) != len(ctx.outputs) or len(es) != len(ctx.outputs):
        raise ctx.unsupported(f"branches return {len(ts)} and {len(es)} values, the op has {len(ctx.outputs)} "
                              f"outputs")
    for j, (a, b) in enumerate(zip(ts, es)):
        if tuple(a.shape) != tuple(b.shape):
            raise _host(ctx, f"output {j} has shape {tuple(a.shape)} in the then branch (subgraph {then_i}) and "
                             f"{tuple(b.shape)} in the else branch (subgraph {else_i})")
        ctx.set_output(j, a.shape, a.type)
    _check_types(ctx, "else-branch output", [b.type for b in es], [a.type for a in ts])
    return Kernel("ctl_if", P.Params("er_if_params", {"then_branch": P.SubplanRef(tk),
                                                      "else_branch": P.SubplanRef(ek)}))


@register("CALL_ONCE")
def call_once(ctx):
    init_i = _subgraph(ctx, "initSubgraphIndex")
    desc = ctx.runtime.model.subgraphs[init_i]
    if desc.inputs or desc.outputs:
        raise ctx.unsupported(f"init subgraph {init_i} has {len(desc.inputs)} inputs and {len(desc.outputs)} "
                              f"outputs; CALL_ONCE runs a subgraph without either")
    k, sp = ctx.runtime.prepare_subgraph(init_i, [])
    done = ctx.runtime.variable(("call_once", ctx.runtime.index, ctx.index), f"call_once#{ctx.index}", INT32, (1,))
    params = P.Params("er_call_once_params", {"init": P.SubplanRef(k), "done": P.VariableRef(done)})
    if any(op.python is not None for op in sp.ops):
        # a subgraph with Python ops (a hashtable's initializer): the interpreter runs it (plan.RunOnce)
        return PyKernel(P.RunOnce(k, done), name="call_once", params=params)
    return Kernel("ctl_call_once", params)

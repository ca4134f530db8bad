"""Resource variables: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE (state that streaming models keep across
invoke() calls, e.g. a wake-word model's window of recent frames).

A variable is storage of the plan (plan.Variable), outside the arena, shared by every subplan that names it
(by container and shared_name, as TFLite's resource map). VAR_HANDLE runs nothing: its output tensor *is* the
variable's storage, so READ_VARIABLE is a copy out of it and ASSIGN_VARIABLE a copy into it. A variable's
type and shape are those of the values assigned to it anywhere in the model (checked to agree).
"""
from __future__ import annotations

from edgerun.runtime.ops import Kernel, TYPE_NAMES, register

RESOURCE = 13


def _key(options, subgraph, tensor):
    container = (getattr(options, "container", None) or b"")
    name = (getattr(options, "sharedName", None) or b"")
    container = container.decode() if isinstance(container, bytes) else container
    name = name.decode() if isinstance(name, bytes) else name
    if not name:  # an anonymous handle is its own variable
        return ("resource", "", f"subgraph {subgraph} tensor {tensor}")
    return ("resource", container, name)


def _signatures(model):
    """key -> (type, shape, what) of the values each resource variable receives or returns, over every
    subgraph of the model (computed once per model)."""
    found = getattr(model, "_resource_types", None)
    if found is not None:
        return found
    found = {}
    for sg in model.subgraphs:
        handles = {}
        for op in sg.ops:
            if op.name == "VAR_HANDLE" and op.outputs and op.outputs[0] >= 0:
                handles[op.outputs[0]] = _key(op.options, sg.index, op.outputs[0])
        for op in sg.ops:
            if op.name == "ASSIGN_VARIABLE" and len(op.inputs) >= 2 and op.inputs[0] in handles \
                    and op.inputs[1] >= 0:
                t = sg.tensors[op.inputs[1]]
            elif op.name == "READ_VARIABLE" and op.inputs and op.inputs[0] in handles and op.outputs \
                    and op.outputs[0] >= 0:
                t = sg.tensors[op.outputs[0]]
            else:
                continue
            key = handles[op.inputs[0]]
            sig = (t.type, tuple(t.shape), f"subgraph {sg.index} {op.label} ('{t.name}')")
            if key in found and found[key][:2] != sig[:2]:
                raise ValueError(f"resource variable '{key[2]}' is {TYPE_NAMES.get(sig[0])} {sig[1]} in {sig[2]} "
                                 f"but {TYPE_NAMES.get(found[key][0])} {found[key][1]} in {found[key][2]}")
            found.setdefault(key, sig)
    model._resource_types = found
    return found


@register("VAR_HANDLE")
def var_handle(ctx):
    out = ctx.outputs[0]
    key = _key(ctx.options, ctx.runtime.index, out.index)
    try:
        sig = _signatures(ctx.runtime.model).get(key)
    except ValueError as exc:
        raise ctx.shape_error(str(exc)) from None
    if sig is None:
        raise ctx.unsupported(f"resource variable '{key[2]}' is never assigned or read, so its type and shape "
                              f"are unknown")
    type_, shape, _ = sig
    if any(d < 0 for d in shape):
        raise ctx.shape_error(f"resource variable '{key[2]}' has a dynamic shape {shape}")
    out.variable = ctx.runtime.variable(key, key[2], type_, shape)
    out.shape = shape
    return Kernel(None)


def _variable(ctx, i=0):
    h = ctx.inputs[i] if len(ctx.inputs) > i else None
    if h is None or h.variable is None:
        raise ctx.unsupported(f"input {i} must be a resource handle made by VAR_HANDLE")
    return ctx.runtime.preparer.variables[h.variable]


@register("READ_VARIABLE")
def read_variable(ctx):
    v = _variable(ctx)
    ctx.set_output(0, v.shape, v.type)
    return Kernel("any_copy")


@register("ASSIGN_VARIABLE")
def assign_variable(ctx):
    ctx.check_inputs(2, 2)
    v = _variable(ctx)
    x = ctx.inputs[1]
    if x.type != v.type or tuple(x.shape) != tuple(v.shape):
        raise ctx.shape_error(f"value '{x.name}' is {x.type_name} {tuple(x.shape)}, the variable '{v.name}' is "
                              f"{TYPE_NAMES.get(v.type)} {tuple(v.shape)}")
    return Kernel("any_assign_variable")

"""The StableHLO ops LiteRT 2.3's builtin resolver runs (tests/oracle_ops.json): STABLEHLO_ADD, MULTIPLY,
MAXIMUM, MINIMUM, AND, SHIFT_LEFT, PAD, GATHER, SCATTER (update computations: replace, add, multiply, min,
max), REDUCE_WINDOW (one operand; bodies: add, multiply, min, max), COMPOSITE and CASE (their subgraphs run as
subplans), and TFLite's REDUCE_WINDOW, with LiteRT's types. Kernels: kernels/ref/stablehlo.c (type-generic). As in LiteRT, integer tensors are plain integers here
whatever quantization they carry (they wrap), and the binary ops take equal shapes (no broadcast).

STABLEHLO_RNG_BIT_GENERATOR is with the random ops (runtime/ops/random.py).
"""
from __future__ import annotations

import numpy as np

from edgerun.runtime.ops import TYPE_NAMES, Kernel, register

F32, F16, I32, U8, I64, BOOL, I16, I8 = 0, 1, 2, 3, 4, 6, 7, 9
_NUMERIC = (F32, F16, I8, U8, I16, I32, I64, BOOL)

# op -> (er_hlo_binary_params.op, the types LiteRT's kernel takes)
_BINARY = {"STABLEHLO_ADD": (0, _NUMERIC), "STABLEHLO_MULTIPLY": (1, _NUMERIC), "STABLEHLO_MAXIMUM": (2, _NUMERIC),
           "STABLEHLO_MINIMUM": (3, _NUMERIC), "STABLEHLO_AND": (4, (I8, U8, I16, I32, I64, BOOL)),
           "STABLEHLO_SHIFT_LEFT": (5, (I8, I16, I32))}


def _types(types):
    return ", ".join(TYPE_NAMES[t] for t in types)


@register(*_BINARY)
def hlo_binary(ctx):
    code, types = _BINARY[ctx.name]
    ctx.check_inputs(2, 2)
    a, b = ctx.inputs
    if a.type not in types:
        raise ctx.unsupported(f"input '{a.name}' is {a.type_name}; LiteRT's kernel and edgerun take {_types(types)}")
    if b.type != a.type:
        raise ctx.dtype_error(f"inputs '{a.name}' ({a.type_name}) and '{b.name}' ({b.type_name}) differ in type")
    if tuple(a.shape) != tuple(b.shape):
        raise ctx.shape_error(f"inputs {a.shape} and {b.shape} differ (StableHLO ops do not broadcast)")
    ctx.set_output(0, a.shape, a.type)
    return Kernel("any_hlo_binary", ctx.new("er_hlo_binary_params *", {"op": code}))


def _one_element_like(ctx, v, x, what):
    """`v` (an init or padding value) must be one element of `x`'s type."""
    if v.type != x.type or v.size != 1:
        raise ctx.shape_error(f"{what} '{v.name}' must be one {x.type_name} element, is {v.type_name} {v.shape}")


def _const_vector(ctx, i, what, rank):
    t = ctx.inputs[i]
    if t is None or t.type != I64 or len(t.shape) != 1 or t.shape[0] != rank:
        raise ctx.unsupported(f"input {i} ({what}) must be a constant INT64 vector of {rank} values, as LiteRT's "
                              f"kernel requires")
    return [int(v) for v in ctx.require_const(i, f"({what})")]


@register("REDUCE_WINDOW")
def reduce_window(ctx):
    ctx.check_inputs(5, 5)
    x, init = ctx.inputs[0], ctx.inputs[1]
    types = (F32, I8, U8, I16, I32, I64, BOOL)
    if x.type not in types:
        raise ctx.unsupported(f"input '{x.name}' is {x.type_name}; LiteRT's kernel and edgerun take {_types(types)}")
    _one_element_like(ctx, init, x, "init value")
    fn = int(ctx.opt("reduceFunction", 0))
    if not 1 <= fn <= 6:
        raise ctx.unsupported(f"reduce_function {fn} (ADD, MUL, MINIMUM, MAXIMUM, ALL or ANY)")
    rank = len(x.shape)
    if not 1 <= rank <= 8:
        raise ctx.unsupported(f"input rank {rank} (1 to 8)")
    window, strides, dil = (_const_vector(ctx, i, w, rank) for i, w in
                            ((2, "window shape"), (3, "window strides"), (4, "window dilations")))
    if min(window + strides + dil) < 1 or max(window + strides + dil) >= 2 ** 31:
        raise ctx.unsupported(f"window {window}, strides {strides} and dilations {dil} must be in [1, 2^31)")
    out = [max(0, (n - ((w - 1) * d + 1)) // s + 1) for n, w, s, d in zip(x.shape, window, strides, dil)]
    ctx.set_output(0, out, x.type)
    pad = [0] * (8 - rank)
    p = ctx.new("er_reduce_window_params *", {"fn": fn, "window": window + pad, "stride": strides + pad,
                                               "base_dilation": [1] * 8, "window_dilation": dil + pad,
                                               "pad_lo": [0] * 8})
    return Kernel("any_reduce_window", p)


@register("STABLEHLO_PAD")
def hlo_pad(ctx):
    ctx.check_inputs(2, 2)
    x, pv = ctx.inputs
    if x.type not in _NUMERIC:
        raise ctx.unsupported(f"input '{x.name}' is {x.type_name}; edgerun takes {_types(_NUMERIC)}")
    _one_element_like(ctx, pv, x, "padding value")
    rank = len(x.shape)
    if not 1 <= rank <= 8:
        raise ctx.unsupported(f"input rank {rank} (1 to 8)")
    opts = {k: [int(v) for v in (ctx.opt(k) if ctx.opt(k) is not None else [0] * rank)]
            for k in ("edgePaddingLow", "edgePaddingHigh", "interiorPadding")}
    if any(len(v) != rank for v in opts.values()):
        raise ctx.shape_error(f"padding options {opts} must each have {rank} values")
    lo, hi, inner = opts["edgePaddingLow"], opts["edgePaddingHigh"], opts["interiorPadding"]
    if min(inner) < 0 or max(np.abs(lo + hi + inner)) >= 2 ** 31:
        raise ctx.unsupported(f"interior padding {inner} must be >= 0 and the paddings within int32")
    out = [lo[d] + hi[d] + x.shape[d] + max(0, x.shape[d] - 1) * inner[d] for d in range(rank)]
    if min(out) < 0:
        raise ctx.shape_error(f"padding {lo} / {hi} crops more than the input {x.shape} holds")
    ctx.set_output(0, out, x.type)
    pad = [0] * (8 - rank)
    return Kernel("any_hlo_pad", ctx.new("er_hlo_pad_params *", {"lo": lo + pad, "interior": inner + pad}))


@register("STABLEHLO_GATHER")
def hlo_gather(ctx):
    ctx.check_inputs(2, 2)
    x, ix = ctx.inputs
    if x.type not in _NUMERIC:
        raise ctx.unsupported(f"operand '{x.name}' is {x.type_name}; edgerun takes {_types(_NUMERIC)}")
    if ix.type not in (I32, I64):
        raise ctx.unsupported(f"start indices '{ix.name}' are {ix.type_name}; LiteRT and edgerun take INT32 or INT64")
    if ctx.opt("operandBatchingDims") or ctx.opt("startIndicesBatchingDims"):
        raise ctx.unsupported("batching dims (not in LiteRT's options either)")
    opt = {k: [int(v) for v in (ctx.opt(k) if ctx.opt(k) is not None else [])]
           for k in ("offsetDims", "collapsedSliceDims", "startIndexMap", "sliceSizes")}
    offset_dims, collapsed, start_map, sizes = (opt[k] for k in ("offsetDims", "collapsedSliceDims", "startIndexMap",
                                                                 "sliceSizes"))
    ivd = int(ctx.opt("indexVectorDim", 0))
    rank, irank = len(x.shape), len(ix.shape)
    if not 0 <= ivd <= irank:
        raise ctx.shape_error(f"index_vector_dim {ivd} is not within the indices' rank {irank}")
    n_index = ix.shape[ivd] if ivd < irank else 1
    batch = [d for j, d in enumerate(ix.shape) if j != ivd]
    kept = [d for d in range(rank) if d not in collapsed]
    out_rank = len(batch) + len(offset_dims)
    problems = []
    if len(sizes) != rank or any(not 0 <= s <= n for s, n in zip(sizes, x.shape)):
        problems.append(f"slice_sizes {sizes} must give one size per operand dim {x.shape}, each within it")
    if len(start_map) != n_index or len(set(start_map)) != n_index or any(not 0 <= d < rank for d in start_map):
        problems.append(f"start_index_map {start_map} must name {n_index} distinct operand dims")
    if len(set(collapsed)) != len(collapsed) or any(not 0 <= d < rank or sizes[d] != 1 for d in collapsed
                                                    if len(sizes) == rank):
        problems.append(f"collapsed_slice_dims {collapsed} must be distinct operand dims of slice size 1")
    if sorted(set(offset_dims)) != offset_dims or len(offset_dims) != len(kept) or \
            any(not 0 <= d < out_rank for d in offset_dims) or rank > 8 or out_rank > 8 or irank > 8:
        problems.append(f"offset_dims {offset_dims} must be {len(kept)} sorted output dims (output rank {out_rank} "
                        f"<= 8)")
    if problems:
        raise ctx.shape_error("; ".join(problems))
    out, od, bi, ki = [], [], iter(batch), iter(kept)
    for d in range(out_rank):
        if d in offset_dims:
            k = next(ki)
            out.append(sizes[k])
            od.append(k)
        else:
            out.append(next(bi))
            od.append(-1)
    ctx.set_output(0, out, x.type)
    pad = lambda v: v + [0] * (8 - len(v))  # noqa: E731
    p = ctx.new("er_hlo_gather_params *", {"n_index": n_index, "index_vector_dim": ivd,
                                            "start_index_map": pad(start_map), "slice_sizes": pad(sizes),
                                            "offset_operand_dim": od + [-1] * (8 - len(od))})
    return Kernel("any_hlo_gather", p)


@register("STABLEHLO_COMPOSITE")
def hlo_composite(ctx):
    """Runs the decomposition subgraph (its name and attributes only matter to delegates)."""
    from edgerun.runtime import plan as P
    from edgerun.runtime.ops.control import _check_types, _outputs, _prepare, _subgraph

    k = _subgraph(ctx, "decompositionSubgraphIndex")
    desc = ctx.runtime.model.subgraphs[k]
    if any(t is None for t in ctx.inputs) or len(desc.inputs) != len(ctx.inputs) or \
            len(desc.outputs) != len(ctx.outputs):
        raise ctx.unsupported(f"{len(ctx.inputs)} inputs and {len(ctx.outputs)} outputs (all present) must match "
                              f"decomposition subgraph {k} ({len(desc.inputs)} in, {len(desc.outputs)} out)")
    sk, sub = _prepare(ctx, k, [t.shape for t in ctx.inputs])
    _check_types(ctx, "decomposition input", [sub.tensors[i].type for i in sub.inputs], [t.type for t in ctx.inputs])
    outs = _outputs(sub)
    for j, o in enumerate(outs):
        ctx.set_output(j, o.shape, o.type)
    return Kernel("ctl_composite", P.Params("er_composite_params", {"decomposition": P.SubplanRef(sk)}))


# update computations of STABLEHLO_SCATTER's body: the one op combining the body's two inputs -> fn code
_SCATTER_BODIES = {"STABLEHLO_ADD": 1, "ADD": 1, "STABLEHLO_MULTIPLY": 2, "MUL": 2, "STABLEHLO_MINIMUM": 3,
                   "MINIMUM": 3, "STABLEHLO_MAXIMUM": 4, "MAXIMUM": 4}


def _scatter_fn(ctx, k):
    """The body subgraph's update computation: 0 (replace: it returns its second input) or an ADD/MUL/MIN/MAX
    code; anything else is refused."""
    sg = ctx.runtime.model.subgraphs[k]
    if len(sg.inputs) != 2 or len(sg.outputs) != 1:
        raise ctx.unsupported(f"update computation subgraph {k} has {len(sg.inputs)} inputs and {len(sg.outputs)} "
                              f"outputs (2 and 1 expected)")
    if not sg.ops and sg.outputs[0] == sg.inputs[1]:
        return 0
    if len(sg.ops) == 1 and sg.ops[0].name in _SCATTER_BODIES and sorted(sg.ops[0].inputs) == sorted(sg.inputs) \
            and list(sg.ops[0].outputs) == list(sg.outputs) and not getattr(sg.ops[0].options,
                                                                             "fusedActivationFunction", 0):
        return _SCATTER_BODIES[sg.ops[0].name]
    raise ctx.unsupported(f"update computation subgraph {k} ({[op.name for op in sg.ops]}): edgerun runs a body "
                          f"that replaces, or one ADD, MULTIPLY, MINIMUM or MAXIMUM of its two inputs")


@register("STABLEHLO_SCATTER")
def hlo_scatter(ctx):
    ctx.check_inputs(3, 3)
    x, ix, up = ctx.inputs
    if x.type not in _NUMERIC:
        raise ctx.unsupported(f"operand '{x.name}' is {x.type_name}; edgerun takes {_types(_NUMERIC)}")
    if up.type != x.type or ix.type not in (I32, I64):
        raise ctx.dtype_error(f"updates '{up.name}' ({up.type_name}) must have the operand's type and the indices "
                              f"'{ix.name}' ({ix.type_name}) be INT32 or INT64")
    k = ctx.opt("updateComputationSubgraphIndex", None)
    if k is None or not 0 <= k < len(ctx.runtime.model.subgraphs):
        raise ctx.unsupported(f"update_computation_subgraph_index {k} is not a subgraph of the model")
    fn = _scatter_fn(ctx, int(k))
    opt = {n: [int(v) for v in (ctx.opt(n) if ctx.opt(n) is not None else [])]
           for n in ("updateWindowDims", "insertedWindowDims", "scatterDimsToOperandDims")}
    window, inserted, to_operand = (opt[n] for n in ("updateWindowDims", "insertedWindowDims",
                                                     "scatterDimsToOperandDims"))
    ivd = int(ctx.opt("indexVectorDim", 0))
    rank, irank, urank = len(x.shape), len(ix.shape), len(up.shape)
    if not 0 <= ivd <= irank or max(rank, irank, urank) > 8:
        raise ctx.shape_error(f"index_vector_dim {ivd} must lie within the indices' rank {irank} (ranks <= 8)")
    n_index = ix.shape[ivd] if ivd < irank else 1
    kept = [d for d in range(rank) if d not in inserted]
    if len(to_operand) != n_index or len(set(to_operand)) != n_index or any(not 0 <= d < rank for d in to_operand) \
            or sorted(set(window)) != window or len(window) != len(kept) or any(not 0 <= d < urank for d in window) \
            or urank - len(window) != irank - (ivd < irank):
        raise ctx.shape_error(f"scatter dims: update_window_dims {window}, inserted_window_dims {inserted}, "
                              f"scatter_dims_to_operand_dims {to_operand} do not fit operand {x.shape}, indices "
                              f"{ix.shape}, updates {up.shape}")
    wod, ki = [], iter(kept)
    for d in range(urank):
        wod.append(next(ki) if d in window else -1)
    ctx.set_output(0, x.shape, x.type)
    p = ctx.new("er_hlo_scatter_params *", {"fn": fn, "n_index": n_index, "index_vector_dim": ivd,
                                             "scatter_dims_to_operand_dims": to_operand + [0] * (8 - n_index),
                                             "window_operand_dim": wod + [-1] * (8 - urank)})
    return Kernel("any_hlo_scatter", p)


@register("STABLEHLO_REDUCE_WINDOW")
def hlo_reduce_window(ctx):
    """One operand and its init value; the body subgraph one ADD/MULTIPLY/MINIMUM/MAXIMUM of its two inputs."""
    if len(ctx.inputs) != 2 or len(ctx.outputs) != 1 or any(t is None for t in ctx.inputs):
        raise ctx.unsupported(f"{len(ctx.inputs)} inputs and {len(ctx.outputs)} outputs: edgerun runs one operand "
                              f"with its init value")
    x, init = ctx.inputs
    types = (F32, I8, U8, I16, I32, I64, BOOL)
    if x.type not in types:
        raise ctx.unsupported(f"input '{x.name}' is {x.type_name}; edgerun takes {_types(types)}")
    _one_element_like(ctx, init, x, "init value")
    k = ctx.opt("bodySubgraphIndex", None)
    if k is None or not 0 <= k < len(ctx.runtime.model.subgraphs):
        raise ctx.unsupported(f"body_subgraph_index {k} is not a subgraph of the model")
    fn = _scatter_fn(ctx, int(k))
    if fn == 0:
        raise ctx.unsupported(f"body subgraph {k} returns its second input; edgerun reduces with ADD, MULTIPLY, "
                              f"MINIMUM or MAXIMUM")
    rank = len(x.shape)
    if not 1 <= rank <= 8:
        raise ctx.unsupported(f"input rank {rank} (1 to 8)")

    def vec(name, default, n=rank):
        v = ctx.opt(name)
        v = [default] * n if v is None or len(v) == 0 else [int(a) for a in v]
        if len(v) != n:
            raise ctx.shape_error(f"{name} {v} must have {n} values")
        return v

    window, strides = vec("windowDimensions", 1), vec("windowStrides", 1)
    base, wdil, pad = vec("baseDilations", 1), vec("windowDilations", 1), vec("padding", 0, 2 * rank)
    if min(window + strides + base + wdil) < 1 or max(window + strides + base + wdil + [abs(v) for v in pad]) >= 2 ** 31:
        raise ctx.unsupported(f"window {window}, strides {strides}, dilations {base} / {wdil} must be in [1, 2^31) and "
                              f"padding {pad} within int32")
    lo, hi = pad[0::2], pad[1::2]
    out = []
    for d in range(rank):
        padded = lo[d] + hi[d] + ((x.shape[d] - 1) * base[d] + 1 if x.shape[d] else 0)
        extent = (window[d] - 1) * wdil[d] + 1
        out.append((padded - extent) // strides[d] + 1 if padded >= extent else 0)
    ctx.set_output(0, out, x.type)
    fill = [0] * (8 - rank)
    p = ctx.new("er_reduce_window_params *", {"fn": fn, "window": window + fill, "stride": strides + fill,
                                               "base_dilation": base + [1] * (8 - rank),
                                               "window_dilation": wdil + [1] * (8 - rank), "pad_lo": lo + fill})
    return Kernel("any_reduce_window", p)


@register("STABLEHLO_CASE")
def hlo_case(ctx):
    """Input 0 (INT32 scalar) picks a branch subgraph (outside the range: the last, as StableHLO and LiteRT);
    the other inputs are the branch's arguments."""
    from edgerun.runtime import plan as P
    from edgerun.runtime.ops.control import _check_types, _outputs, _prepare

    ks = ctx.opt("branchSubgraphIndices")
    ks = [] if ks is None else [int(k) for k in ks]
    n_sub = len(ctx.runtime.model.subgraphs)
    if not 1 <= len(ks) <= 8 or any(not 0 <= k < n_sub or k == ctx.runtime.index for k in ks):
        raise ctx.unsupported(f"branch_subgraph_indices {ks}: edgerun runs 1 to 8 branches, each another subgraph "
                              f"of the model")
    if not ctx.inputs or ctx.inputs[0] is None or ctx.inputs[0].type != I32 or ctx.inputs[0].size != 1:
        raise ctx.unsupported("input 0 must be the branch index, an INT32 scalar")
    if any(t is None for t in ctx.inputs[1:]):
        raise ctx.unsupported("absent branch argument")
    shapes = [t.shape for t in ctx.inputs[1:]]
    refs, first = [], None
    for k in ks:
        desc = ctx.runtime.model.subgraphs[k]
        if len(desc.inputs) != len(shapes) or len(desc.outputs) != len(ctx.outputs):
            raise ctx.unsupported(f"branch subgraph {k} has {len(desc.inputs)} inputs and {len(desc.outputs)} "
                                  f"outputs; the op passes {len(shapes)} and has {len(ctx.outputs)}")
        sk, sub = _prepare(ctx, k, shapes)
        outs = _outputs(sub)
        if first is None:
            first = outs
        elif [tuple(o.shape) for o in outs] != [tuple(o.shape) for o in first]:
            raise ctx.unsupported(f"branch subgraph {k} returns shapes {[o.shape for o in outs]}, the first branch "
                                  f"{[o.shape for o in first]}")
        _check_types(ctx, f"branch {k} output", [o.type for o in outs], [o.type for o in first])
        refs.append(P.SubplanRef(sk))
    for j, o in enumerate(first):
        ctx.set_output(j, o.shape, o.type)
    # unused entries repeat the last branch: the C library's loader refuses NULL in fields the kernel reads
    return Kernel("ctl_case", P.Params("er_case_params", {"n": len(refs), "branches": refs + refs[-1:] * (8 - len(refs))}))

"""Graph rewrites run between a frontend and export. Each pass is a function Graph -> Graph that leaves its
argument untouched (it works on `graph.copy()`); `run_passes` applies them to a fixed point.

    remove_identities     reshapes/transposes/casts that change nothing, x*1, x+0
    fold_constants        ops whose inputs are all constant, evaluated by edgerun's own kernels
    fold_batchnorm        per-channel MUL/ADD/SUB (inference batch norm) into the conv/FC before it
    fuse_activations      RELU/RELU6/RELU_N1_TO_1 into the op before it (fusedActivationFunction)
    cancel_transposes     TRANSPOSE followed by TRANSPOSE: composed, or dropped when they cancel
    collapse_reshapes     RESHAPE followed by RESHAPE: one RESHAPE
    eliminate_dead        ops whose outputs nothing reads
    dedup_constants       constant tensors with identical type, shape and bytes become one
"""
from __future__ import annotations

import hashlib

import numpy as np
from edgerun.converter.ir import NONE, RELU, RELU6, RELU_N1_TO_1, Graph, Op, Tensor

ACTIVATIONS = {"RELU": RELU, "RELU6": RELU6, "RELU_N1_TO_1": RELU_N1_TO_1}
# Ops whose float kernels (in TFLite and edgerun) apply fusedActivationFunction. CONCATENATION is left out:
# TFLite's kernel rejects a fused activation on it.
FUSES_ACTIVATION = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "ADD", "SUB", "MUL",
                    "DIV", "AVERAGE_POOL_2D", "MAX_POOL_2D"}
# Where the bias input sits, and along which weight axis the output channels run.
_BIAS_INDEX = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "TRANSPOSE_CONV": 3}
_WEIGHT_INDEX = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1, "TRANSPOSE_CONV": 1}
_OUT_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0, "TRANSPOSE_CONV": 0}


def _act(op: Op) -> int:
    return int(op.options.get("fusedActivationFunction", NONE) or NONE)


def _float_const(t) -> bool:
    return t is not None and t.is_const and t.dtype == np.float32 and t.quant is None


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


# -- remove_identities ---------------------------------------------------------------------------------
def _is_identity(op: Op) -> Tensor | None:
    """The input an op passes through unchanged, or None."""
    if len(op.outputs) != 1 or not op.inputs or op.inputs[0] is None:
        return None
    x, y = op.inputs[0], op.outputs[0]
    if x.shape != y.shape or x.dtype != y.dtype or (x.quant is not None or y.quant is not None):
        return None
    if op.type in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CAST", "IDENTITY"):
        return x
    if op.type == "TRANSPOSE" and len(op.inputs) > 1 and op.inputs[1] is not None and op.inputs[1].is_const:
        perm = [int(p) for p in np.asarray(op.inputs[1].data).reshape(-1)]
        return x if perm == list(range(len(perm))) else None
    if op.type in ("MUL", "DIV", "ADD", "SUB") and _act(op) == NONE and len(op.inputs) == 2:
        a, b = op.inputs
        neutral = 1.0 if op.type in ("MUL", "DIV") else 0.0
        for src, c in ((a, b), (b, a)) if op.type in ("MUL", "ADD") else ((a, b),):
            if c is not None and c.is_const and src.shape == y.shape and c.quant is None and src.quant is None \
                    and np.all(np.asarray(c.data) == neutral) and np.broadcast_shapes(src.shape, c.shape) == y.shape:
                return src
    return None


def remove_identities(graph: Graph) -> Graph:
    g = graph.copy()
    dead = []
    for op in list(g.ops):
        src = _is_identity(op)
        if src is not None and _bypass(g, op, src, g.consumers()):
            dead.append(op)
    _drop(g, dead)
    return g


# -- fold_constants ------------------------------------------------------------------------------------
def _clamp(y, act):
    if act == RELU:
        return np.maximum(y, 0)
    if act == RELU6:
        return np.clip(y, 0, 6)
    if act == RELU_N1_TO_1:
        return np.clip(y, -1, 1)
    if act == NONE:
        return y
    raise NotImplementedError(act)


def _ints(t) -> list:
    return [int(v) for v in np.asarray(t.data).reshape(-1)]


def _binary(fn):
    return lambda op, a, b: [_clamp(fn(a, b), _act(op))]


_FLOAT_ONLY = {"EXP", "LOG", "SQRT", "RSQRT", "LOGISTIC", "TANH"}
_EVAL = {
    "ADD": _binary(np.add), "SUB": _binary(np.subtract), "MUL": _binary(np.multiply),
    # integer DIV truncates (TFLite's kernel), unlike numpy's floor division
    "DIV": lambda op, a, b: [_clamp(np.divide(a, b) if a.dtype.kind == "f"
                                    else np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b)), _act(op))],
    "MAXIMUM": lambda op, a, b: [np.maximum(a, b)], "MINIMUM": lambda op, a, b: [np.minimum(a, b)],
    "NEG": lambda op, x: [np.negative(x)], "ABS": lambda op, x: [np.abs(x)],
    "SQUARE": lambda op, x: [x * x], "EXP": lambda op, x: [np.exp(x)], "LOG": lambda op, x: [np.log(x)],
    "SQRT": lambda op, x: [np.sqrt(x)], "RSQRT": lambda op, x: [1 / np.sqrt(x)],
    "RELU": lambda op, x: [np.maximum(x, 0)], "RELU6": lambda op, x: [np.clip(x, 0, 6)],
    "LOGISTIC": lambda op, x: [1 / (1 + np.exp(-x))], "TANH": lambda op, x: [np.tanh(x)],
    "RESHAPE": lambda op, x, *s: [x.reshape(op.outputs[0].shape)],
    "SQUEEZE": lambda op, x: [x.reshape(op.outputs[0].shape)],
    "EXPAND_DIMS": lambda op, x, a: [x.reshape(op.outputs[0].shape)],
    "TRANSPOSE": lambda op, x, p: [np.transpose(x, [int(v) for v in p.reshape(-1)])],
    "CAST": lambda op, x: [x.astype(op.outputs[0].dtype)],
    "CONCATENATION": lambda op, *xs: [_clamp(np.concatenate(xs, axis=op.options.get("axis", 0)), _act(op))],
    "PACK": lambda op, *xs: [np.stack(xs, axis=op.options.get("axis", 0))],
    "UNPACK": lambda op, x: [np.take(x, i, axis=op.options.get("axis", 0)) for i in range(len(op.outputs))],
    "TILE": lambda op, x, m: [np.tile(x, [int(v) for v in m.reshape(-1)])],
    "GATHER": lambda op, p, i: [np.take(p, i, axis=op.options.get("axis", 0))],
    "SLICE": lambda op, x, b, s: [x[tuple(slice(int(bb), int(bb) + (x.shape[k] - int(bb) if int(ss) == -1 else int(ss)))
                                          for k, (bb, ss) in enumerate(zip(b, s)))]],
    "PAD": lambda op, x, p: [np.pad(x, np.asarray(p).reshape(-1, 2))],
    "FULLY_CONNECTED": lambda op, x, w, b=None: [_clamp(
        (x.reshape(-1, w.shape[1]) @ w.T + (0 if b is None else b)).reshape(op.outputs[0].shape), _act(op))],
    "MEAN": lambda op, x, a: [np.mean(x, axis=tuple(int(v) for v in a.reshape(-1)),
                                      keepdims=bool(op.options.get("keepDims")))],
    "SUM": lambda op, x, a: [np.sum(x, axis=tuple(int(v) for v in a.reshape(-1)),
                                    keepdims=bool(op.options.get("keepDims")))],
}


# ops that read or write state, draw random numbers or run other subgraphs: never folded
_NOT_FOLDED = {"WHILE", "IF", "CALL", "CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
               "RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL", "MULTINOMIAL", "HASHTABLE", "HASHTABLE_FIND",
               "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "CUSTOM"}


def _runtime_eval(op: Op) -> list | None:
    """The op's outputs as edgerun's interpreter computes them: a one-op model whose inputs are the op's
    constants, prepared and run by the runtime (its C kernels), so a folded model means what the unfolded one
    meant. None when the runtime does not run the op (or these types of it)."""
    from edgerun.converter.export import export
    from edgerun.runtime.interpreter import Interpreter

    one = Graph(name="fold")
    one.ops = [Op(op.type, list(op.inputs), list(op.outputs), dict(op.options), version=op.version)]
    one.outputs = list(op.outputs)
    try:
        it = Interpreter(model_content=export(one))
        it.allocate_tensors()
        it.invoke()
        return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]
    except Exception:  # noqa: BLE001 - any refusal (op, type, shape) leaves the op to the numpy table or the graph
        return None


def _shape_fits(value, t: Tensor) -> bool:
    """the computed value fits the tensor's declared shape (-1: a dimension the frontend left dynamic)"""
    v = tuple(np.shape(value))
    return len(v) == len(t.shape) and all(d == -1 or d == e for d, e in zip(t.shape, v))


def fold_constants(graph: Graph) -> Graph:
    """Ops whose inputs are all constant become constants. Their values come from edgerun's own kernels
    (_runtime_eval), so folding never changes a result; an op the runtime refuses falls back to the numpy
    definitions of _EVAL (no runtime result to differ from) or stays in the graph."""
    g = graph.copy()
    folded: dict = {}
    keep = []
    for op in g.ops:
        op.inputs = [folded.get(t.id, t) if t is not None else None for t in op.inputs]
        ins = [t for t in op.inputs if t is not None]
        if (op.type in _NOT_FOLDED or not ins or not all(t.is_const for t in ins)
                or any(t.quant is not None for t in ins)
                or any(g.is_output(t) or t.quant is not None for t in op.outputs)):
            keep.append(op)
            continue
        vals = _runtime_eval(op)
        fn = _EVAL.get(op.type)
        if vals is None and fn is not None and not (op.type in _FLOAT_ONLY and ins[0].dtype.kind != "f"):
            try:
                with np.errstate(all="ignore"):
                    vals = fn(op, *[None if t is None else np.asarray(t.data) for t in op.inputs])
            except Exception:  # noqa: BLE001 - an op numpy cannot evaluate stays in the graph
                vals = None
        if vals is None or len(vals) != len(op.outputs) or not all(_shape_fits(v, t) for v, t in zip(vals, op.outputs)):
            keep.append(op)
            continue
        for v, t in zip(vals, op.outputs):
            v = np.asarray(v, dtype=t.dtype)
            folded[t.id] = Tensor(t.name, v.shape, t.dtype, np.ascontiguousarray(v))
    g.ops = keep
    g.outputs = [folded.get(t.id, t) for t in g.outputs]
    return g


# -- fold_batchnorm ------------------------------------------------------------------------------------
def _per_channel(c: Tensor, out: Tensor) -> np.ndarray | None:
    """The constant as a vector over out's last axis (or a scalar), if it broadcasts that way without
    changing out's shape."""
    if not _float_const(c) or len(c.shape) > len(out.shape):
        return None
    if np.broadcast_shapes(c.shape, out.shape) != out.shape:
        return None
    if any(d != 1 for d in c.shape[:-1]):
        return None
    v = np.asarray(c.data, np.float32).reshape(-1)
    n = out.shape[-1]
    if v.size == 1:
        return np.full(n, v[0], np.float32)
    return v if v.size == n else None


def fold_batchnorm(graph: Graph) -> Graph:
    g = graph.copy()
    changed = True
    while changed:
        changed = False
        consumers, producers = g.consumers(), g.producers()
        for m in g.ops:
            if m.type not in ("MUL", "ADD", "SUB") or len(m.inputs) != 2:
                continue
            for xi in (0, 1) if m.type != "SUB" else (0,):
                x, c = m.inputs[xi], m.inputs[1 - xi]
                p = producers.get(x.id) if x is not None else None
                if (p is None or p.type not in _BIAS_INDEX or _act(p) != NONE or len(consumers.get(x.id, [])) != 1
                        or g.is_output(x) or x.quant is not None):
                    continue
                w = p.inputs[_WEIGHT_INDEX[p.type]]
                bi = _BIAS_INDEX[p.type]
                b = p.inputs[bi] if len(p.inputs) > bi else None
                vec = _per_channel(c, x)
                if vec is None or not _float_const(w) or (b is not None and not _float_const(b)):
                    continue
                n = x.shape[-1]
                bias = np.zeros(n, np.float32) if b is None else np.asarray(b.data, np.float32).reshape(-1)
                if bias.size != n:
                    continue
                ax = _OUT_AXIS[p.type]
                if w.shape[ax] != n:
                    continue
                inputs = list(p.inputs) + [None] * (bi + 1 - len(p.inputs))
                name = (b.name if b is not None else w.name + "/bias")
                if m.type == "MUL":
                    shape = [1] * len(w.shape)
                    shape[ax] = n
                    wd = (np.asarray(w.data, np.float32) * vec.reshape(shape)).astype(np.float32)
                    inputs[_WEIGHT_INDEX[p.type]] = Tensor(w.name, w.shape, np.float32, wd)
                    if b is not None:
                        inputs[bi] = Tensor(name, (n,), np.float32, (bias * vec).astype(np.float32))
                else:
                    nb = bias + vec if m.type == "ADD" else bias - vec
                    inputs[bi] = Tensor(name, (n,), np.float32, nb.astype(np.float32))
                p.inputs = inputs
                p.options["fusedActivationFunction"] = _act(m)
                p.outputs = [m.outputs[0]]
                _drop(g, [m])
                changed = True
                break
            if changed:
                break
    return g


# -- fuse_activations ----------------------------------------------------------------------------------
def fuse_activations(graph: Graph) -> Graph:
    g = graph.copy()
    consumers, producers = g.consumers(), g.producers()
    dead = []
    for a in g.ops:
        code = ACTIVATIONS.get(a.type)
        if code is None:
            continue
        x = a.inputs[0]
        p = producers.get(x.id)
        if (p is None or p.type not in FUSES_ACTIVATION or len(p.outputs) != 1 or _act(p) != NONE
                or len(consumers.get(x.id, [])) != 1 or g.is_output(x) or x.dtype != np.float32
                or x.quant is not None or a.outputs[0].quant is not None):
            continue
        p.options["fusedActivationFunction"] = code
        p.outputs = [a.outputs[0]]
        producers[a.outputs[0].id] = p
        dead.append(a)
    _drop(g, dead)
    return g


# -- cancel_transposes / collapse_reshapes -------------------------------------------------------------
def cancel_transposes(graph: Graph) -> Graph:
    g = graph.copy()
    producers = g.producers()
    dead = []
    for op in g.ops:
        if op.type != "TRANSPOSE" or not op.inputs[1].is_const:
            continue
        p = producers.get(op.inputs[0].id)
        if p is None or p.type != "TRANSPOSE" or not p.inputs[1].is_const or p.inputs[0].quant != op.outputs[0].quant:
            continue
        p1, p2 = _ints(p.inputs[1]), _ints(op.inputs[1])
        composed = [p1[i] for i in p2]
        src = p.inputs[0]
        if composed == list(range(len(composed))):
            if _bypass(g, op, src, g.consumers()):
                dead.append(op)
                producers = g.producers()
        else:
            op.inputs = [src, Tensor(op.inputs[1].name, (len(composed),), np.int32, np.array(composed, np.int32))]
    _drop(g, dead)
    return eliminate_dead(g)


def collapse_reshapes(graph: Graph) -> Graph:
    g = graph.copy()
    producers = g.producers()
    dead = []
    for op in g.ops:
        if op.type not in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
            continue
        p = producers.get(op.inputs[0].id)
        if p is None or p.type not in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS") or p.inputs[0].quant != op.outputs[0].quant:
            continue
        src, out = p.inputs[0], op.outputs[0]
        if src.shape == out.shape and src.dtype == out.dtype and _bypass(g, op, src, g.consumers()):
            dead.append(op)
            producers = g.producers()
            continue
        shape = np.array(out.shape, np.int32)
        op.type = "RESHAPE"
        op.inputs = [src, Tensor(out.name + "/shape", shape.shape, np.int32, shape)]
        op.options = {"newShape": [int(d) for d in out.shape]}
    _drop(g, dead)
    return eliminate_dead(g)


# -- eliminate_dead ------------------------------------------------------------------------------------
def eliminate_dead(graph: Graph) -> Graph:
    g = graph.copy()
    live = {t.id for t in g.outputs}
    keep = []
    for op in reversed(g.ops):
        if any(t.id in live for t in op.outputs) or op.type in ("WHILE", "IF", "CALL_ONCE", "ASSIGN_VARIABLE"):
            keep.append(op)
            live.update(t.id for t in op.inputs if t is not None)
    g.ops = keep[::-1]
    return g


# -- dedup_constants -----------------------------------------------------------------------------------
def dedup_constants(graph: Graph) -> Graph:
    g = graph.copy()
    seen: dict = {}
    for op in g.ops:
        new = []
        for t in op.inputs:
            if t is not None and t.is_const and t.quant is None:
                data = np.ascontiguousarray(t.data)
                key = (str(t.dtype), t.shape, hashlib.sha256(data.tobytes()).digest())
                t = seen.setdefault(key, t)
            new.append(t)
        op.inputs = new
    return g


PASSES = [remove_identities, fold_constants, fold_batchnorm, fuse_activations, cancel_transposes,
          collapse_reshapes, remove_identities, eliminate_dead, dedup_constants]


def run_passes(graph: Graph, passes=None, max_rounds: int = 4) -> Graph:
    """Apply the passes in order, repeating until the op list stops changing."""
    passes = PASSES if passes is None else passes
    for _ in range(max_rounds):
        before = [(op.type, len(op.inputs)) for op in graph.ops]
        for p in passes:
            graph = p(graph)
        if [(op.type, len(op.inputs)) for op in graph.ops] == before:
            break
    if graph.subgraphs:  # IF branches / WHILE bodies: the same passes (their inputs and outputs are kept)
        graph.subgraphs = [run_passes(s, passes, max_rounds) for s in graph.subgraphs]
    return graph

"""fold_constants: ops whose inputs are all constant become constants, evaluated by edgerun's own kernels
(a one-op model run by the interpreter), with numpy definitions (_EVAL) for ops the runtime refuses."""
from __future__ import annotations

import numpy as np
from edgerun.converter import passes as _package
from edgerun.converter.ir import NONE, RELU, RELU6, RELU_N1_TO_1, Graph, Op, Tensor
from edgerun.converter.passes.common import _act
from edgerun.schema.ops import OPS


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


# ops that read or write state, draw random numbers or run other subgraphs: never folded (the op table's
# foldable)
_NOT_FOLDED = frozenset(d.name for d in OPS if not d.foldable)


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
        it = Interpreter(model_content=export(one), plan_cache=False)  # a one-op model: nothing to keep
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
        vals = _package._runtime_eval(op)  # looked up there, so it can be replaced in one place (tests do)
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

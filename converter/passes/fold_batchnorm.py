"""fold_batchnorm: per-channel MUL/ADD/SUB (inference batch norm) folded into the weights and bias of the
CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / TRANSPOSE_CONV before it."""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import NONE, Graph, Tensor
from edgerun.converter.passes.common import _act, _broadcasts_onto, _drop, _float_const
from edgerun.schema.ops import OPS

# The weighted ops of the op table: where the weight and bias inputs sit, and along which weight axis the
# output channels run.
_WEIGHTED = {d.name: d.weighted for d in OPS if d.weighted}


def _per_channel(c: Tensor, out: Tensor) -> np.ndarray | None:
    """The constant as a vector over out's last axis (or a scalar), if it broadcasts that way without
    changing out's shape."""
    if not _float_const(c) or out.shape[-1] < 1 or not _broadcasts_onto(c.shape, out.shape):
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
                if (p is None or p.type not in _WEIGHTED or _act(p) != NONE or len(consumers.get(x.id, [])) != 1
                        or g.is_output(x) or x.quant is not None):
                    continue
                spec = _WEIGHTED[p.type]
                w = p.inputs[spec.weight]
                bi = spec.bias
                b = p.inputs[bi] if len(p.inputs) > bi else None
                vec = _per_channel(c, x)
                if vec is None or not _float_const(w) or (b is not None and not _float_const(b)):
                    continue
                n = x.shape[-1]
                bias = np.zeros(n, np.float32) if b is None else np.asarray(b.data, np.float32).reshape(-1)
                if bias.size != n:
                    continue
                ax = spec.axis
                if w.shape[ax] != n:
                    continue
                inputs = list(p.inputs) + [None] * (bi + 1 - len(p.inputs))
                name = (b.name if b is not None else w.name + "/bias")
                if m.type == "MUL":
                    shape = [1] * len(w.shape)
                    shape[ax] = n
                    wd = (np.asarray(w.data, np.float32) * vec.reshape(shape)).astype(np.float32)
                    inputs[spec.weight] = Tensor(w.name, w.shape, np.float32, wd)
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

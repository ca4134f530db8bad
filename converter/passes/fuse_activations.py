"""fuse_activations: RELU/RELU6/RELU_N1_TO_1 into the op before it (its fusedActivationFunction)."""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import NONE, RELU, RELU6, RELU_N1_TO_1, Graph
from edgerun.converter.passes.common import _act, _drop
from edgerun.schema.ops import OPS

ACTIVATIONS = {"RELU": RELU, "RELU6": RELU6, "RELU_N1_TO_1": RELU_N1_TO_1}
# Ops whose float kernels (in TFLite and edgerun) apply fusedActivationFunction (the op table's
# fuses_activation; CONCATENATION is not one: TFLite's kernel rejects a fused activation on it).
FUSES_ACTIVATION = frozenset(d.name for d in OPS if d.fuses_activation)


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

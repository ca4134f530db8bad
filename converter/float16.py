"""float16 weights: every float32 constant (beyond scalars) is stored as float16 and read through a
DEQUANTIZE op that restores float32, as TensorFlow's converter does for `supported_types=[tf.float16]`.
The model file shrinks to about half; the arithmetic stays float32."""
from __future__ import annotations

import numpy as np
from edgerun.converter.ir import Graph, Op, Tensor


def to_float16(graph: Graph, min_elements: int = 2) -> Graph:
    g = graph.copy()
    restored: dict = {}  # const tensor id -> float32 output of its DEQUANTIZE
    ops = []
    for op in g.ops:
        if op.type != "DEQUANTIZE":
            new_inputs = []
            for t in op.inputs:
                if (t is not None and t.is_const and t.dtype == np.float32 and t.quant is None
                        and int(np.prod(t.shape)) >= min_elements):
                    if t.id not in restored:
                        half = Tensor(t.name, t.shape, np.float16, np.asarray(t.data, np.float32).astype(np.float16))
                        out = Tensor(t.name + "/dequantize", t.shape, np.float32)
                        ops.append(Op("DEQUANTIZE", [half], [out], {}, name=op.name))
                        restored[t.id] = out
                    t = restored[t.id]
                new_inputs.append(t)
            op.inputs = new_inputs
        ops.append(op)
    g.ops = ops
    return g

"""Open batch dimensions, as TensorFlow's converter writes them.

Frontends that lower a framework graph at batch 1 (the Keras frontend) record in
`graph.metadata["open_batch"]` which inputs had an open batch. `open_batch(graph)` then marks those inputs
(and the outputs) with batch -1, which export writes as `shape_signature`, and turns the batch entry of
every RESHAPE target from 1 into -1, so that `resize_tensor_input` to another batch works in edgerun and
in LiteRT.

That rewrite is only right when no other op has the batch baked in (a SLICE of batch row 0, a TILE, ...).
So it is verified: the rewritten float model must give, at batch 3, exactly the rows it gives for the
three samples one by one. When it does not, the graph keeps its fixed batch of 1.
"""
from __future__ import annotations

import copy

import numpy as np

from edgerun.converter.ir import Graph


def open_batch(graph: Graph) -> Graph:
    flags = graph.metadata.get("open_batch")
    if not flags or not any(flags) or graph.subgraphs:
        return graph
    g = copy.deepcopy(graph)
    for t, flag in zip(g.inputs, flags):
        if not flag or not t.shape or t.shape[0] != 1:
            return graph
        t.shape = (-1,) + t.shape[1:]
    for op in g.ops:
        if op.type != "RESHAPE":
            continue
        x = op.inputs[0]
        if not x.shape or x.shape[0] not in (1, -1):
            continue
        if len(op.inputs) > 1 and op.inputs[1] is not None and op.inputs[1].is_const:
            s = op.inputs[1]
            if s.data.ndim == 1 and s.data.size and int(s.data[0]) == 1:
                s.data = s.data.copy()
                s.data[0] = -1
        new_shape = op.options.get("newShape")
        if new_shape and int(new_shape[0]) == 1:
            op.options["newShape"] = [-1] + list(new_shape[1:])
    for t in g.outputs:
        if t.shape and t.shape[0] == 1 and not t.is_const:
            t.shape = (-1,) + t.shape[1:]
    return g if _batch_consistent(g) else graph


def _batch_consistent(g: Graph, batch: int = 3, seed: int = 0) -> bool:
    import edgerun
    from edgerun.converter.export import export

    try:
        model = export(g)
        rng = np.random.default_rng(seed)
        samples = []
        for t in g.inputs:
            shape = (batch,) + tuple(1 if d < 0 else d for d in t.shape[1:])
            if t.dtype.kind == "f":
                samples.append(rng.uniform(-1, 1, shape).astype(t.dtype))
            else:
                samples.append(rng.integers(0, 4, shape).astype(t.dtype))

        def run(xs):
            it = edgerun.Interpreter(model_content=model)
            for d, x in zip(it.get_input_details(), xs):
                it.resize_tensor_input(d["index"], x.shape)
            it.allocate_tensors()
            for d, x in zip(it.get_input_details(), xs):
                it.set_tensor(d["index"], x)
            it.invoke()
            return [np.array(it.get_tensor(d["index"])) for d in it.get_output_details()]

        whole = run(samples)
        for i in range(batch):
            rows = run([x[i:i + 1] for x in samples])
            for a, b in zip(whole, rows):
                if a.shape[0] != batch or not np.allclose(a[i:i + 1], b, rtol=1e-5, atol=1e-6):
                    return False
        return True
    except edgerun.EdgerunError:
        return False

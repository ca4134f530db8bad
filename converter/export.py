"""IR -> TFLite flatbuffer. A direct walk: tensors in first-use order, ops in graph order, the signature
named after the framework's inputs and outputs. Tensor names are made unique; constants with identical
bytes share one buffer (schema/builder.py)."""
from __future__ import annotations

import numpy as np

from edgerun.converter.ir import Graph, Tensor
from edgerun.errors import ConversionError
from edgerun.schema.builder import ModelBuilder, options_class_name


def export(graph: Graph, description: str = "edgerun converter") -> bytes:
    return export_with_map(graph, description)[0]


def export_with_map(graph: Graph, description: str = "edgerun converter"):
    """Returns (flatbuffer bytes, {Tensor.id: tensor index in subgraph 0})."""
    b = ModelBuilder(description)
    index = _subgraph(b, graph, b)
    for sub in graph.subgraphs:
        _subgraph(b, sub, b.subgraph(sub.name))
    in_names = graph.input_names or [t.name for t in graph.inputs]
    out_names = graph.output_names or [t.name for t in graph.outputs]
    if len(set(in_names)) == len(in_names) and len(set(out_names)) == len(out_names):
        b.signature(graph.signature_key, {n: index[t.id] for n, t in zip(in_names, graph.inputs)},
                    {n: index[t.id] for n, t in zip(out_names, graph.outputs)})
    return b.finish(), index


def _subgraph(b: ModelBuilder, graph: Graph, sb) -> dict:
    index: dict = {}
    used: set = set()

    def name_of(t: Tensor) -> str:
        name, k = t.name or "t", 1
        while name in used:
            k += 1
            name = f"{t.name}_{k}"
        used.add(name)
        return name

    for t in graph.tensors():
        q = None
        if t.quant is not None:
            q = {"scale": t.quant.scale, "zero_point": t.quant.zero_point, "axis": t.quant.axis,
                 "min": None if t.quant.min is None else np.atleast_1d(t.quant.min).astype(np.float32).tolist(),
                 "max": None if t.quant.max is None else np.atleast_1d(t.quant.max).astype(np.float32).tolist()}
        if t.is_const:
            data = np.array(t.data, dtype=t.dtype, order="C")  # keeps 0-d constants 0-d
            if tuple(data.shape) != tuple(t.shape):
                raise ConversionError(f"constant {t.name!r}: data shape {data.shape} != tensor shape {t.shape}")
            index[t.id] = sb.const(name_of(t), data, quant=q)
        else:
            dynamic = any(d < 0 for d in t.shape)
            shape = tuple(1 if d < 0 else d for d in t.shape)
            index[t.id] = sb.tensor(name_of(t), shape, t.dtype, quant=q,
                                    shape_signature=t.shape if dynamic else None)
    for op in graph.ops:
        ins = [-1 if t is None else index[t.id] for t in op.inputs]
        outs = [index[t.id] for t in op.outputs]
        try:
            if op.type == "CUSTOM":
                sb.op("CUSTOM", ins, outs, custom_code=op.custom_code, custom_options=op.custom_options,
                      version=op.version)
            else:
                opts = op.options if options_class_name(op.type) else None
                sb.op(op.type, ins, outs, opts, version=op.version)
        except Exception as exc:
            raise ConversionError(f"cannot write op {op.type} ({op.name or 'unnamed'}): {exc}") from None
    sb.inputs([index[t.id] for t in graph.inputs])
    sb.outputs([index[t.id] for t in graph.outputs])
    return index

"""A float .tflite -> IR, subgraphs included, so edgerun's quantizer can quantize a model another converter
wrote: TensorFlow's own for tf.cond / tf.while_loop (which the Keras and SavedModel frontends do not lower),
or any float model whose quantization TensorFlow's calibrator cannot do (it crashes on a WHILE whose body
returns a loop variable unchanged, tensorflow/tensorflow#75140).

    g = load(open("model.tflite", "rb").read())

Ops keep their TFLite type and options (the IR is TFLite ops already); tensor names, shape signatures (-1
for dynamic dimensions), constants and the signature's input/output names carry over. An already quantized
model (a tensor with quantization parameters), sparse constants and buffers stored outside the flatbuffer
are refused by name.
"""
from __future__ import annotations

import numpy as np

from edgerun.converter.ir import Graph, Op, Quant, Tensor
from edgerun.errors import ConversionError


def is_tflite(data) -> bool:
    """True for the bytes of a TFLite flatbuffer (file identifier "TFL3")."""
    return isinstance(data, (bytes, bytearray, memoryview)) and bytes(data[4:8]) == b"TFL3"


def load(data: bytes, *, quantized: bool = False) -> Graph:
    """The IR of a float .tflite. quantized=True reads an integer model too, its tensors' affine
    quantization parameters kept (for comparisons such as converter/report.py, not to quantize again)."""
    from edgerun.schema import schema_generated as fb
    from edgerun.schema.builder import _NP_TO_TFL

    np_of = {v: k for k, v in _NP_TO_TFL.items()}
    op_names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    try:
        m = fb.ModelT.InitFromPackedBuf(bytes(data), 0)
    except Exception as exc:  # noqa: BLE001 (a damaged flatbuffer fails anywhere in the generated reader)
        raise ConversionError(f"not a readable TFLite model: {type(exc).__name__}: {exc}") from None
    graphs = []
    for k, sg in enumerate(m.subgraphs or []):
        try:
            graphs.append(_subgraph(m, k, sg, np_of, op_names, quantized))
        except ConversionError:  # what the reader refuses by name (a ValueError too): not a damaged file
            raise
        except (IndexError, KeyError, ValueError, TypeError, AttributeError) as exc:  # indices/sizes out of range
            raise ConversionError(f"malformed TFLite model: subgraph {k}: {type(exc).__name__}: {exc}") from None
    if not graphs:
        raise ConversionError("the TFLite model has no subgraph")
    root = graphs[0]
    root.subgraphs = graphs[1:]
    sig = next((s for s in m.signatureDefs or [] if s.subgraphIndex == 0), None)
    if sig is not None:  # the framework's names of inputs and outputs
        ins = {int(t.tensorIndex): t.name.decode() for t in sig.inputs or []}
        outs = {int(t.tensorIndex): t.name.decode() for t in sig.outputs or []}
        main = m.subgraphs[0]
        if sorted(ins) == sorted(int(i) for i in main.inputs):
            root.input_names = [ins[int(i)] for i in main.inputs]
        if sorted(outs) == sorted(int(i) for i in main.outputs):
            root.output_names = [outs[int(i)] for i in main.outputs]
        if sig.signatureKey:
            root.signature_key = sig.signatureKey.decode()
    return root


def _subgraph(m, k, sg, np_of, op_names, quantized) -> Graph:
    """Subgraph k of the object-API model m as a Graph (what load() reads of each)."""
    where = f"subgraph {k}" + (f" ({sg.name.decode()})" if sg.name else "")
    ts = []
    for t in sg.tensors or []:
        name = t.name.decode() if t.name else f"t{len(ts)}"
        if t.type not in np_of:
            raise ConversionError(f"{where}: tensor {name!r} has TensorType {t.type}, which edgerun cannot read")
        q = t.quantization
        quant = None
        if q is not None and (q.scale is not None and len(q.scale) or q.details is not None):
            if not quantized or q.details is not None or q.zeroPoint is None:
                raise ConversionError(f"{where}: tensor {name!r} is already quantized: convert the float model")
            quant = Quant(np.asarray(q.scale, np.float32), np.asarray(q.zeroPoint, np.int64),
                          axis=int(q.quantizedDimension))
        if t.sparsity is not None:
            raise ConversionError(f"{where}: tensor {name!r} is sparse; convert the dense float model")
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else ()))
        sig = tuple(int(d) for d in t.shapeSignature) if t.shapeSignature is not None else shape
        buf = m.buffers[t.buffer] if t.buffer else None
        if buf is not None and buf.offset > 1:
            raise ConversionError(f"{where}: tensor {name!r} is stored outside the flatbuffer (a model over "
                                  f"2 GB), which edgerun cannot read")
        value = None
        if buf is not None and buf.data is not None and len(buf.data):
            value = np.frombuffer(bytes(buf.data), np_of[t.type]).reshape(shape).copy()
        ts.append(Tensor(name, sig, np_of[t.type], value, quant))

    def at(i, what):
        if not 0 <= i < len(ts):
            raise IndexError(f"{what} names tensor {i} of {len(ts)}")
        return ts[i]

    g = Graph(name=sg.name.decode() if sg.name else f"subgraph{k}", inputs=[at(i, "an input") for i in sg.inputs],
              outputs=[at(i, "an output") for i in sg.outputs])
    for o in sg.operators or []:
        code = m.operatorCodes[o.opcodeIndex]
        op_type = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "")
        if op_type in ("", "CUSTOM"):
            raise ConversionError(f"{where}: custom op {code.customCode!r} cannot be converted")
        opts = dict(vars(o.builtinOptions)) if o.builtinOptions is not None else {}
        outs = [at(i, f"op {len(g.ops)}'s output") for i in o.outputs]
        g.ops.append(Op(op_type, [None if i == -1 else at(i, f"op {len(g.ops)}'s input") for i in o.inputs], outs,
                        opts, name=",".join(t.name for t in outs), version=code.version))
    return g

"""Write TFLite flatbuffers from Python: hand-built test models, and the converter's exporter.

    b = ModelBuilder()
    x = b.tensor("x", (1, 4), np.float32)
    w = b.const("w", np.ones((3, 4), np.float32))
    y = b.tensor("y", (1, 3), np.float32)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], options={"fusedActivationFunction": 1})
    b.inputs([x]); b.outputs([y])
    data = b.finish()            # bytes, file identifier TFL3

Options are given as a dict of the generated object-API field names (camelCase, e.g. ``strideH``) or as a
ready ``...OptionsT`` object; the options table is picked from the op. Constant data is stored 16-byte
aligned and identical constants share one buffer.
"""

from __future__ import annotations

import hashlib

import flatbuffers
import numpy as np

from edgerun.errors import ModelError
from edgerun.schema import schema_generated as fb

SCHEMA_VERSION = 3
PLACEHOLDER_FOR_GREATER_OP_CODES = 127

_NP_TO_TFL = {
    np.dtype(np.float32): fb.TensorType.FLOAT32,
    np.dtype(np.float16): fb.TensorType.FLOAT16,
    np.dtype(np.int32): fb.TensorType.INT32,
    np.dtype(np.uint8): fb.TensorType.UINT8,
    np.dtype(np.int64): fb.TensorType.INT64,
    np.dtype(np.bool_): fb.TensorType.BOOL,
    np.dtype(np.int16): fb.TensorType.INT16,
    np.dtype(np.complex64): fb.TensorType.COMPLEX64,
    np.dtype(np.int8): fb.TensorType.INT8,
    np.dtype(np.float64): fb.TensorType.FLOAT64,
    np.dtype(np.complex128): fb.TensorType.COMPLEX128,
    np.dtype(np.uint64): fb.TensorType.UINT64,
    np.dtype(np.uint32): fb.TensorType.UINT32,
    np.dtype(np.uint16): fb.TensorType.UINT16,
}

def tensor_type(dtype) -> int:
    """The TensorType of a numpy dtype."""
    dt = np.dtype(dtype)
    if dt not in _NP_TO_TFL:
        raise ModelError(f"no TFLite tensor type for numpy dtype {dt}")
    return _NP_TO_TFL[dt]


def options_class_name(op: str) -> str | None:
    """The options table of builtin `op` (e.g. 'Conv2DOptions', from the op table schema/ops.py), or None when
    the op takes none or its table is in the BuiltinOptions2 union (which this writer does not write)."""
    from edgerun.schema.ops import op_def

    d = op_def(op)
    name = d.options if d is not None and not d.custom else None
    return name if name is not None and hasattr(fb.BuiltinOptions, name) else None


def _options2_name(op: str) -> str | None:
    """The options table of `op` when it is in the BuiltinOptions2 union (StableHLO ops, DILATE,
    REDUCE_WINDOW), else None."""
    from edgerun.schema.ops import op_def

    d = op_def(op)
    name = d.options if d is not None and not d.custom else None
    return name if name is not None and hasattr(fb.BuiltinOptions2, name) else None


def _options_object(cls_name: str, options, union):
    """(union type, object-API options) from a dict of fields or a ready ...OptionsT."""
    if options is None or isinstance(options, dict):
        obj = getattr(fb, cls_name + "T")()
        for k, v in (options or {}).items():
            if k not in obj.__dict__:
                raise ModelError(f"{cls_name} has no field {k!r} (fields: {sorted(obj.__dict__)})")
            setattr(obj, k, v)
    else:
        obj, cls_name = options, type(options).__name__[:-1]
    return getattr(union, cls_name), obj


def builtin_code(op: str) -> int:
    try:
        return getattr(fb.BuiltinOperator, op)
    except AttributeError:
        raise ModelError(f"unknown builtin operator {op!r}") from None


class _AlignedBufferT(fb.BufferT):
    """A Buffer whose bytes are placed 16-byte aligned (the schema's force_align, which the Python
    generator does not honour), so that kernels can read weights in place."""

    __slots__ = ()

    def Pack(self, builder):
        data = None
        if self.data is not None and len(self.data):
            raw = self.data
            builder.StartVector(1, len(raw), 16)
            builder.head -= len(raw)
            builder.Bytes[builder.head:builder.head + len(raw)] = raw
            data = builder.EndVector()
        fb.BufferStart(builder)
        if data is not None:
            fb.BufferAddData(builder, data)
        if self.offset:
            fb.BufferAddOffset(builder, self.offset)
        if self.size:
            fb.BufferAddSize(builder, self.size)
        return fb.BufferEnd(builder)


def _quant(q) -> fb.QuantizationParametersT | None:
    """(scale, zero_point) or (scales, zero_points, axis) or a dict or a QuantizationParametersT."""
    if q is None or isinstance(q, fb.QuantizationParametersT):
        return q
    p = fb.QuantizationParametersT()
    if isinstance(q, dict):
        scale, zp, axis = q.get("scale"), q.get("zero_point", 0), q.get("axis", 0)
        p.min, p.max = q.get("min"), q.get("max")
    else:
        scale, zp, axis = (tuple(q) + (0,))[:3]
    scale = np.atleast_1d(np.asarray(scale, np.float32))
    zp = np.atleast_1d(np.asarray(zp, np.int64))
    if zp.size == 1 and scale.size > 1:
        zp = np.repeat(zp, scale.size)
    p.scale, p.zeroPoint, p.quantizedDimension = scale.tolist(), zp.tolist(), int(axis)
    return p


class SubgraphBuilder:
    def __init__(self, model: ModelBuilder, name: str = ""):
        self._model = model
        self.sg = fb.SubGraphT()
        self.sg.name = name
        self.sg.tensors, self.sg.operators, self.sg.inputs, self.sg.outputs = [], [], [], []

    # -- tensors ---------------------------------------------------------------------------------------
    def tensor(self, name, shape, dtype, *, quant=None, shape_signature=None, is_variable=False,
               buffer=0, sparsity=None, type=None, has_rank=True) -> int:
        t = fb.TensorT()
        t.name = name
        t.shape = [int(d) for d in shape]
        t.shapeSignature = None if shape_signature is None else [int(d) for d in shape_signature]
        t.type = tensor_type(dtype) if type is None else int(type)
        t.buffer = buffer
        t.quantization = _quant(quant)
        t.isVariable = bool(is_variable)
        t.sparsity = sparsity
        t.hasRank = bool(has_rank)
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def const(self, name, array, *, quant=None, type=None, shape=None, sparsity=None) -> int:
        """A constant tensor holding `array` (its dtype gives the tensor type unless `type` is set, e.g.
        INT4 packed data; `shape` overrides the array's shape, e.g. for sparse or packed storage)."""
        array = np.asarray(array)
        buf = self._model.buffer(array)
        shape = array.shape if shape is None else shape
        return self.tensor(name, shape, array.dtype if type is None else None, quant=quant, buffer=buf,
                           sparsity=sparsity, type=type)

    # -- operators -------------------------------------------------------------------------------------
    def op(self, name: str, inputs, outputs, options=None, *, custom_code=None, custom_options=None,
           version=1, intermediates=None) -> int:
        o = fb.OperatorT()
        if custom_code is not None:
            name = "CUSTOM"
        o.opcodeIndex = self._model.opcode(name, custom_code=custom_code, version=version)
        o.inputs = [int(i) for i in inputs]
        o.outputs = [int(i) for i in outputs]
        o.intermediates = None if intermediates is None else [int(i) for i in intermediates]
        if custom_options is not None:
            o.customOptions = np.frombuffer(bytes(custom_options), np.uint8)
        if name != "CUSTOM" and options_class_name(name) is None and _options2_name(name) is not None:
            o.builtinOptions2Type, o.builtinOptions2 = _options_object(_options2_name(name), options,
                                                                       fb.BuiltinOptions2)
        elif name != "CUSTOM":
            cls_name = options_class_name(name)
            if options is not None and cls_name is None and not hasattr(options, "Pack"):
                raise ModelError(f"operator {name} takes no builtin options")
            if cls_name is not None:
                if options is None or isinstance(options, dict):
                    obj = getattr(fb, cls_name + "T")()
                    for k, v in (options or {}).items():
                        if k not in obj.__dict__:
                            raise ModelError(f"{cls_name} has no field {k!r} (fields: {sorted(obj.__dict__)})")
                        setattr(obj, k, v)
                else:
                    obj = options
                    cls_name = type(obj).__name__[:-1]
                o.builtinOptionsType = getattr(fb.BuiltinOptions, cls_name)
                o.builtinOptions = obj
        self.sg.operators.append(o)
        return len(self.sg.operators) - 1

    def inputs(self, idx):
        self.sg.inputs = [int(i) for i in idx]

    def outputs(self, idx):
        self.sg.outputs = [int(i) for i in idx]


class ModelBuilder(SubgraphBuilder):
    """Builds a whole model. It is itself the builder of subgraph 0; `subgraph()` adds more."""

    def __init__(self, description: str = "edgerun"):
        self.model = fb.ModelT()
        self.model.version = SCHEMA_VERSION
        self.model.description = description
        self.model.operatorCodes, self.model.subgraphs, self.model.signatureDefs = [], [], []
        empty = _AlignedBufferT()
        self.model.buffers = [empty]  # buffer 0: the empty sentinel
        self._buffer_ids: dict = {}
        self._opcodes: dict = {}
        self.subgraphs: list[SubgraphBuilder] = []
        super().__init__(self, "main")
        self.subgraphs.append(self)

    def subgraph(self, name: str = "") -> SubgraphBuilder:
        sub = SubgraphBuilder(self, name)
        self.subgraphs.append(sub)
        return sub

    def buffer(self, array) -> int:
        raw = np.ascontiguousarray(array).tobytes()
        key = hashlib.sha256(raw).digest() + len(raw).to_bytes(8, "little")
        if key not in self._buffer_ids:
            b = _AlignedBufferT()
            b.data = raw
            self.model.buffers.append(b)
            self._buffer_ids[key] = len(self.model.buffers) - 1
        return self._buffer_ids[key]

    def opcode(self, name: str, *, custom_code=None, version=1) -> int:
        key = (name, custom_code, version)
        if key not in self._opcodes:
            c = fb.OperatorCodeT()
            code = builtin_code(name)
            c.builtinCode = code
            c.deprecatedBuiltinCode = min(code, PLACEHOLDER_FOR_GREATER_OP_CODES)
            c.customCode = custom_code
            c.version = int(version)
            self.model.operatorCodes.append(c)
            self._opcodes[key] = len(self.model.operatorCodes) - 1
        return self._opcodes[key]

    def signature(self, key: str, inputs: dict, outputs: dict, subgraph: int = 0):
        s = fb.SignatureDefT()
        s.signatureKey = key
        s.subgraphIndex = subgraph

        def maps(d):
            out = []
            for name, idx in d.items():
                m = fb.TensorMapT()
                m.name, m.tensorIndex = name, int(idx)
                out.append(m)
            return out

        s.inputs, s.outputs = maps(inputs), maps(outputs)
        self.model.signatureDefs.append(s)

    def finish(self) -> bytes:
        self.model.subgraphs = [s.sg for s in self.subgraphs]
        if not self.model.signatureDefs:
            self.model.signatureDefs = None
        builder = flatbuffers.Builder(1024)
        builder.Finish(self.model.Pack(builder), file_identifier=b"TFL3")
        out = bytes(builder.Output())
        if self.model.signatureDefs is None:
            self.model.signatureDefs = []
        return out

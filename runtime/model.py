"""Load a .tflite flatbuffer into plain Python descriptions, checking every index and size on the way.

Weights stay in the caller's buffer (bytes, or an mmap of the file): constant tensors are numpy views into
it. A malformed or hostile file raises ModelError naming the field; nothing here trusts an offset.
"""
from __future__ import annotations

import dataclasses
import mmap
import os
import struct

import numpy as np

from edgerun.errors import EdgerunError, ModelError
from edgerun.runtime.ops import TFLITE_DTYPES, TYPE_NAMES

_MAX_RANK = 8


@dataclasses.dataclass
class TensorDesc:
    index: int
    name: str
    type: int
    shape: tuple
    shape_signature: tuple
    buffer: int
    scale: np.ndarray  # float32
    zero_point: np.ndarray  # int64
    quant_dim: int
    is_variable: bool
    sparsity: object  # flatc SparsityParametersT or None
    data: np.ndarray | None  # constant value (a view into the model buffer) or None

    @property
    def dtype(self):
        return TFLITE_DTYPES.get(self.type)


@dataclasses.dataclass
class OpDesc:
    index: int
    name: str  # builtin name, or "CUSTOM"
    custom_code: str | None
    version: int
    inputs: list
    outputs: list
    intermediates: list
    options: object  # flatc object-API options (BuiltinOptions or BuiltinOptions2), or None
    custom_options: bytes | None

    @property
    def label(self):
        return f"op #{self.index} {self.custom_code if self.name == 'CUSTOM' else self.name}"


@dataclasses.dataclass
class SubgraphDesc:
    index: int
    name: str
    tensors: list
    ops: list
    inputs: list
    outputs: list


@dataclasses.dataclass
class SignatureDesc:
    key: str
    subgraph: int
    inputs: dict  # name -> tensor index
    outputs: dict


def _schema():
    from edgerun.schema import schema_generated

    return schema_generated


def _builtin_names():
    sg = _schema()
    return {v: k for k, v in vars(sg.BuiltinOperator).items() if not k.startswith("_")}


_BUILTIN_NAMES = None


def builtin_name(code: int) -> str:
    global _BUILTIN_NAMES
    if _BUILTIN_NAMES is None:
        _BUILTIN_NAMES = _builtin_names()
    return _BUILTIN_NAMES.get(code, f"BUILTIN_{code}")


def _str(b) -> str:
    if b is None:
        return ""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


class Model:
    """A parsed model. `Model.from_path(path)` maps the file; `Model(bytes)` wraps a buffer."""

    def __init__(self, buf, path: str | None = None):
        self.path = path
        self.buf = buf
        self.size = len(buf)
        try:
            self._parse()
        except EdgerunError:
            raise
        except (struct.error, IndexError, ValueError, TypeError, OverflowError, UnicodeError,
                AttributeError, MemoryError, RecursionError) as exc:
            raise ModelError(f"malformed TFLite model{' ' + path if path else ''}: {exc}") from None

    @classmethod
    def from_path(cls, path):
        path = os.fspath(path)
        try:
            f = open(path, "rb")
        except OSError as exc:
            raise ModelError(f"cannot open model file {path!r}: {exc.strerror}") from None
        with f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise ModelError(f"model file {path!r} is empty")
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return cls(buf, path)

    # -- parsing -------------------------------------------------------------------------------------
    def _parse(self):
        buf = self.buf
        if self.size < 8:
            raise ModelError(f"not a TFLite model: {self.size} bytes is too short")
        ident = bytes(buf[4:8])
        if ident != b"TFL3":
            raise ModelError(f"not a TFLite model: file identifier is {ident!r}, expected b'TFL3'")
        root = struct.unpack_from("<I", buf, 0)[0]
        if root + 4 > self.size:
            raise ModelError("truncated TFLite model: root table offset points past the end")
        sg = _schema()
        fb = sg.Model.GetRootAs(buf, 0)
        self.fb = fb
        self.version = fb.Version()
        self.description = _str(fb.Description())
        self._check_vector(fb, "OperatorCodes", fb.OperatorCodesLength())
        self.opcodes = []
        for i in range(fb.OperatorCodesLength()):
            oc = fb.OperatorCodes(i)
            code = max(int(oc.DeprecatedBuiltinCode()), int(oc.BuiltinCode()))
            name = builtin_name(code)
            self.opcodes.append((name, _str(oc.CustomCode()) if name == "CUSTOM" else None, oc.Version()))
        self.buffers = [self._buffer(i) for i in range(fb.BuffersLength())]
        self.subgraphs = [self._subgraph(i) for i in range(fb.SubgraphsLength())]
        if not self.subgraphs:
            raise ModelError("TFLite model has no subgraphs")
        self.signatures = []
        for i in range(fb.SignatureDefsLength()):
            sd = fb.SignatureDefs(i)
            k = sd.SubgraphIndex()
            if not 0 <= k < len(self.subgraphs):
                raise ModelError(f"signature_defs[{i}].subgraph_index {k} out of range")
            n = len(self.subgraphs[k].tensors)

            def tmap(get, count, what):
                out = {}
                for j in range(count):
                    tm = get(j)
                    idx = tm.TensorIndex()
                    if not 0 <= idx < n:
                        raise ModelError(f"signature_defs[{i}].{what}[{j}].tensor_index {idx} out of range")
                    out[_str(tm.Name())] = idx
                return out

            self.signatures.append(SignatureDesc(
                key=_str(sd.SignatureKey()), subgraph=k,
                inputs=tmap(sd.Inputs, sd.InputsLength(), "inputs"),
                outputs=tmap(sd.Outputs, sd.OutputsLength(), "outputs")))
        self.metadata = {}
        for i in range(fb.MetadataLength()):
            md = fb.Metadata(i)
            self.metadata[_str(md.Name())] = md.Buffer()

    def _check_vector(self, table, field, n):
        if n < 0 or n * 4 > self.size:
            raise ModelError(f"{field}: vector length {n} exceeds the file size")

    def _buffer(self, i):
        b = self.fb.Buffers(i)
        offset, size = b.Offset(), b.Size()
        if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
            if offset + size > self.size:
                raise ModelError(f"buffers[{i}]: offset {offset} + size {size} is past the end of the file")
            return np.frombuffer(self.buf, dtype=np.uint8, count=size, offset=offset)
        n = b.DataLength()
        if n == 0:
            return None
        o = b._tab.Offset(4)
        start = b._tab.Vector(o)
        if start + n > self.size:
            raise ModelError(f"buffers[{i}]: data of {n} bytes runs past the end of the file")
        return np.frombuffer(self.buf, dtype=np.uint8, count=n, offset=start)

    def _tensor(self, sgi, t, i):
        name = _str(t.Name())
        where = f"subgraphs[{sgi}].tensors[{i}] '{name}'"
        typ = t.Type()
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        sig = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else shape
        if len(shape) > _MAX_RANK:
            raise ModelError(f"{where}: rank {len(shape)} exceeds edgerun's maximum of {_MAX_RANK}")
        if any(d < 0 for d in shape):
            raise ModelError(f"{where}: negative dimension in shape {shape}")
        if typ not in TYPE_NAMES:
            raise ModelError(f"{where}: unknown tensor type {typ}")
        bi = t.Buffer()
        if not 0 <= bi < max(len(self.buffers), 1):
            raise ModelError(f"{where}: buffer index {bi} out of range (model has {len(self.buffers)} buffers)")
        scale = np.zeros(0, np.float32)
        zp = np.zeros(0, np.int64)
        qdim = 0
        q = t.Quantization()
        if q is not None:
            if q.ScaleLength():
                scale = np.asarray(q.ScaleAsNumpy(), dtype=np.float32)
            if q.ZeroPointLength():
                zp = np.asarray(q.ZeroPointAsNumpy(), dtype=np.int64)
            qdim = q.QuantizedDimension()
            if scale.size and zp.size and scale.size != zp.size:
                raise ModelError(f"{where}: {scale.size} quantization scales but {zp.size} zero points")
            if scale.size and not zp.size:
                zp = np.zeros(scale.size, np.int64)
            if scale.size and not np.all(np.isfinite(scale) & (scale >= 0)):
                raise ModelError(f"{where}: quantization scales must be finite and non-negative, got "
                                 f"{scale[~(np.isfinite(scale) & (scale >= 0))][:4].tolist()}")
            if zp.size and (zp.min() < -(1 << 31) or zp.max() >= (1 << 31)):
                raise ModelError(f"{where}: zero points must fit in int32, got {zp.min()}..{zp.max()}")
            if scale.size > 1 and not 0 <= qdim < max(len(shape), 1):
                raise ModelError(f"{where}: quantized_dimension {qdim} out of range for shape {shape}")
            if scale.size > 1 and len(shape) and shape[qdim] != scale.size:
                raise ModelError(f"{where}: {scale.size} per-channel scales for dimension {qdim} of size "
                                 f"{shape[qdim]}")
        sparsity = None
        if t.Sparsity() is not None:
            sparsity = _schema().SparsityParametersT.InitFromObj(t.Sparsity())
        raw = self.buffers[bi] if bi < len(self.buffers) else None
        data = None
        if raw is not None:
            dt = TFLITE_DTYPES.get(typ)
            if dt is None or typ == 5:
                data = raw  # STRING / unusual types: kept raw, ops that use them check
            elif sparsity is not None:
                if raw.nbytes % dt.itemsize:
                    raise ModelError(f"{where}: sparse buffer of {raw.nbytes} bytes is not a whole number of "
                                     f"{TYPE_NAMES.get(typ)} elements")
                data = raw.view(dt) if raw.ctypes.data % dt.itemsize == 0 else raw.copy().view(dt)
            else:
                want = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
                if raw.nbytes != want:
                    raise ModelError(f"{where}: buffer {bi} holds {raw.nbytes} bytes, but a {TYPE_NAMES.get(typ)} "
                                     f"tensor of shape {shape} needs {want}")
                if raw.ctypes.data % max(dt.itemsize, 1):
                    raw = raw.copy()  # misaligned in the file: C reads need natural alignment
                data = raw.view(dt).reshape(shape)
        elif typ not in TFLITE_DTYPES and typ not in (13, 14):
            raise ModelError(f"{where}: unknown tensor type {typ}")
        return TensorDesc(i, name, typ, shape, sig, bi, scale, zp, qdim, bool(t.IsVariable()), sparsity, data)

    def _subgraph(self, k):
        sg = _schema()
        g = self.fb.Subgraphs(k)
        nt = g.TensorsLength()
        self._check_vector(g, f"subgraphs[{k}].tensors", nt)
        tensors = [self._tensor(k, g.Tensors(i), i) for i in range(nt)]

        def idx_list(arr, what, allow_absent):
            out = [int(v) for v in arr] if not isinstance(arr, int) else []
            for v in out:
                if v >= nt or v < (-1 if allow_absent else 0):
                    raise ModelError(f"subgraphs[{k}].{what}: tensor index {v} out of range "
                                     f"(subgraph has {nt} tensors)")
            return out

        inputs = idx_list(g.InputsAsNumpy(), "inputs", False)
        outputs = idx_list(g.OutputsAsNumpy(), "outputs", False)
        ops = []
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            oi = op.OpcodeIndex()
            if not 0 <= oi < len(self.opcodes):
                raise ModelError(f"subgraphs[{k}].operators[{i}]: opcode_index {oi} out of range "
                                 f"(model has {len(self.opcodes)} operator codes)")
            name, custom, version = self.opcodes[oi]
            where = f"subgraphs[{k}].operators[{i}] ({custom or name})"
            options = None
            t1 = op.BuiltinOptionsType()
            if t1:
                options = sg.BuiltinOptionsCreator(t1, op.BuiltinOptions())
            if options is None and hasattr(op, "BuiltinOptions2Type"):
                t2 = op.BuiltinOptions2Type()
                if t2:
                    options = sg.BuiltinOptions2Creator(t2, op.BuiltinOptions2())
            custom_options = None
            if op.CustomOptionsLength():
                custom_options = op.CustomOptionsAsNumpy().tobytes()
            elif hasattr(op, "LargeCustomOptionsOffset") and op.LargeCustomOptionsOffset() > 1:
                off, size = op.LargeCustomOptionsOffset(), op.LargeCustomOptionsSize()
                if off + size > self.size:
                    raise ModelError(f"{where}: large custom options run past the end of the file")
                custom_options = bytes(self.buf[off:off + size])
            ops.append(OpDesc(
                index=i, name=name, custom_code=custom, version=version,
                inputs=idx_list(op.InputsAsNumpy(), f"operators[{i}].inputs", True),
                outputs=idx_list(op.OutputsAsNumpy(), f"operators[{i}].outputs", True),
                intermediates=idx_list(op.IntermediatesAsNumpy(), f"operators[{i}].intermediates", True),
                options=options, custom_options=custom_options))
        return SubgraphDesc(k, _str(g.Name()), tensors, ops, inputs, outputs)

"""Load a .tflite flatbuffer into plain Python descriptions, checking every index and size on the way.

Weights stay in the caller's buffer (bytes, or an mmap of the file): constant tensors are numpy views into
it. A malformed or hostile file raises ModelError naming the field; nothing here trusts an offset.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import mmap
import os
import struct
import threading

import numpy as np

from edgerun.errors import EdgerunError, ModelError
from edgerun.runtime import options as options_reader
from edgerun.runtime.flatbuf import Table
from edgerun.runtime.ops import TFLITE_DTYPES, TYPE_NAMES

_MAX_RANK = 8
_U8 = struct.Struct("<B").unpack_from
_I8 = struct.Struct("<b").unpack_from
_I32 = struct.Struct("<i").unpack_from
_U32 = struct.Struct("<I").unpack_from
# the quantization of unquantized tensors (shared, read-only)
_NO_SCALE = np.zeros(0, np.float32)
_NO_ZERO_POINT = np.zeros(0, np.int64)
_NO_SCALE.flags.writeable = False
_NO_ZERO_POINT.flags.writeable = False


def _ints_at(buf, p: int, size: int) -> tuple:
    """The int32 vector whose offset is stored at position p (0: absent) as a tuple."""
    if not p:
        return ()
    start = p + _U32(buf, p)[0]
    n = _U32(buf, start)[0]
    if not n:
        return ()
    if start + 4 + 4 * n > size:
        raise ValueError(f"int vector of {n} elements at {start + 4} runs past the end of the file")
    return struct.unpack_from(f"<{n}i", buf, start + 4)


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


builtin_name = options_reader.builtin_name  # from a generated table: loading never imports the generated module


def _lib():
    from edgerun.kernels import lib  # loading the kernel library is deferred to the first parse

    return lib


def _ffi():
    from edgerun.kernels import ffi

    return ffi


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]  # cheaper than a.ctypes.data


def _str(b) -> str:
    if b is None:
        return ""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


_GC_LOCK = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused():
    """Loading (parse, prepare, materialize) allocates many small objects and makes no garbage worth a
    collection: the cyclic collector's passes (1-4 ms of a MobileNetV2 load) wait until it is done. Nested
    and concurrent loads re-enable it once the last one ends, and only if it was enabled before."""
    global _gc_depth, _gc_was_enabled
    with _GC_LOCK:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


class Model:
    """A parsed model. `Model.from_path(path)` maps the file; `Model(bytes)` wraps a buffer."""

    def __init__(self, buf, path: str | None = None):
        self.path = path
        self.buf = buf
        self.size = len(buf)
        try:
            with gc_paused():
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
    # Fields are read with the lean reader (runtime/flatbuf.py); field numbers follow schema/schema.fbs.
    def _parse(self):
        buf, size = self.buf, self.size
        if size < 8:
            raise ModelError(f"not a TFLite model: {size} bytes is too short")
        ident = bytes(buf[4:8])
        if ident != b"TFL3":
            raise ModelError(f"not a TFLite model: file identifier is {ident!r}, expected b'TFL3'")
        root = struct.unpack_from("<I", buf, 0)[0]
        if root + 4 > size:
            raise ModelError("truncated TFLite model: root table offset points past the end")
        fb = Table(buf, root, size)
        self.version = fb.scalar(0, "I")
        self.description = _str(fb.string(3))
        self._check_vector(fb, "OperatorCodes", fb.vector(1)[1])
        self.opcodes = []
        for oc in fb.tables(1, size):
            code = max(int(oc.scalar(0, "b")), int(oc.scalar(3, "i")))
            name = builtin_name(code)
            self.opcodes.append((name, _str(oc.string(1)) if name == "CUSTOM" else None, oc.scalar(2, "i", 1)))
        self.buffers = self._buffers_c(fb)
        if self.buffers is None:
            self.buffers = [self._buffer(i, b) for i, b in enumerate(fb.tables(4, size))]
        self.subgraphs = [self._subgraph(k, g) for k, g in enumerate(fb.tables(2, size))]
        if not self.subgraphs:
            raise ModelError("TFLite model has no subgraphs")
        self.signatures = []
        for i, sd in enumerate(fb.tables(7, size)):
            k = sd.scalar(4, "I")
            if not 0 <= k < len(self.subgraphs):
                raise ModelError(f"signature_defs[{i}].subgraph_index {k} out of range")
            n = len(self.subgraphs[k].tensors)

            def tmap(field, what, sd=sd, n=n, i=i):
                out = {}
                for j, tm in enumerate(sd.tables(field, size)):
                    idx = tm.scalar(1, "I")
                    if not 0 <= idx < n:
                        raise ModelError(f"signature_defs[{i}].{what}[{j}].tensor_index {idx} out of range")
                    out[_str(tm.string(0))] = idx
                return out

            self.signatures.append(SignatureDesc(key=_str(sd.string(2)), subgraph=k,
                                                 inputs=tmap(0, "inputs"), outputs=tmap(1, "outputs")))
        self.metadata = {}
        for md in fb.tables(6, size):
            self.metadata[_str(md.string(0))] = md.scalar(1, "I")

    def _check_vector(self, table, field, n):
        if n < 0 or n * 4 > self.size:
            raise ModelError(f"{field}: vector length {n} exceeds the file size")

    def _rows_c(self, fn, cols, start, n):
        """Rows of the C reader `fn` (kernels/opt/flatbuf_read.c) for the n tables at start, or None when one
        needs the Python reader (or the kernel library predates the reader)."""
        lib, ffi = _lib(), _ffi()
        if not n or start + 4 * n > self.size or not hasattr(lib, fn):
            return None
        rows = np.empty((n, getattr(lib, cols)), np.int64)
        src = ffi.from_buffer(self.buf)
        try:
            good = getattr(lib, fn)(ffi.cast("uint8_t *", src), self.size, start, n,
                                    ffi.cast("int64_t *", ffi.from_buffer(rows)))
        finally:
            ffi.release(src)  # an mmap cannot close while a pointer to it is exported
        return rows.tolist() if good == n else None

    def _buffers_c(self, fb):
        rows = self._rows_c("er_read_buffers", "ER_BF_COLS", *fb.vector(4))
        if rows is None:
            return None
        return [self._buffer_at(i, offset, size, start, n) for i, (start, n, offset, size, _) in enumerate(rows)]

    def _buffer(self, i, b):
        offset, size = b.scalar(1, "Q"), b.scalar(2, "Q")
        start, n = b.vector(0) if offset <= 1 else (0, 0)
        return self._buffer_at(i, offset, size, start, n)

    def _buffer_at(self, i, offset, size, start, n):
        if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
            if offset + size > self.size:
                raise ModelError(f"buffers[{i}]: offset {offset} + size {size} is past the end of the file")
            return np.frombuffer(self.buf, dtype=np.uint8, count=size, offset=offset)
        if n == 0:
            return None
        if start + n > self.size:
            raise ModelError(f"buffers[{i}]: data of {n} bytes runs past the end of the file")
        return np.frombuffer(self.buf, dtype=np.uint8, count=n, offset=start)

    def _tensors_c(self, sgi, g):
        """The subgraph's tensors read by kernels/opt/flatbuf_read.c (one C call for every table and field),
        or None when some tensor needs the Python reader (which raises the error naming it)."""
        rows = self._rows_c("er_read_tensors", "ER_TF_COLS", *g.vector(0))
        if rows is None:
            return None
        buf = self.buf
        out = []
        for i, (p_shape, n_shape, p_sig, n_sig, p_name, n_name, p_sc, n_sc, p_zp, n_zp, p_sp, bi, typ, var, qdim,
                _) in enumerate(rows):
            name = _str(bytes(buf[p_name:p_name + n_name])) if p_name else ""
            shape = struct.unpack_from(f"<{n_shape}i", buf, p_shape) if n_shape else ()
            sig = (struct.unpack_from(f"<{n_sig}i", buf, p_sig) if n_sig else ()) or shape
            scale = np.frombuffer(buf, "<f4", n_sc, p_sc).astype(np.float32) if n_sc else _NO_SCALE
            zp = np.frombuffer(buf, "<i8", n_zp, p_zp).astype(np.int64) if n_zp else _NO_ZERO_POINT
            # the scales and zero points were checked in C (finite, >= 0; int32)
            out.append(self._describe(sgi, i, name, typ, shape, sig, bi, scale, zp, qdim, bool(var), p_sp, False))
        return out

    def _tensor(self, sgi, t, i):
        buf, size = self.buf, self.size
        # Tensor fields (schema.fbs): shape, type, buffer, name, quantization, is_variable, sparsity,
        # shape_signature; read straight from their positions (every one is needed)
        p_shape, p_type, p_buf, p_name, p_q, p_var, _, p_sig = t.positions(8)
        name = ""
        if p_name:
            at = p_name + _U32(buf, p_name)[0]
            name = _str(bytes(buf[at + 4:at + 4 + _U32(buf, at)[0]]))
        typ = _I8(buf, p_type)[0] if p_type else 0
        shape = _ints_at(buf, p_shape, size)
        sig = _ints_at(buf, p_sig, size) or shape
        bi = _U32(buf, p_buf)[0] if p_buf else 0
        scale = _NO_SCALE
        zp = _NO_ZERO_POINT
        qdim = 0
        q = Table(buf, p_q + _U32(buf, p_q)[0], size) if p_q else None
        if q is not None:
            # QuantizationParameters: min, max, scale, zero_point, details_type, details, quantized_dimension;
            # float models carry an empty one per tensor: only present vectors become arrays
            _, _, p_sc, p_zp, _, _, p_qd = q.positions(7)
            n_sc = _U32(buf, p_sc + _U32(buf, p_sc)[0])[0] if p_sc else 0
            if n_sc:
                scale = q.array(2, "<f4").astype(np.float32)
            n_zp = _U32(buf, p_zp + _U32(buf, p_zp)[0])[0] if p_zp else 0
            if n_zp:
                zp = q.array(3, "<i8").astype(np.int64)
            qdim = _I32(buf, p_qd)[0] if p_qd else 0
        return self._describe(sgi, i, name, typ, shape, sig, bi, scale, zp, qdim,
                              bool(_U8(buf, p_var)[0]) if p_var else False, t.union_pos(6), q is not None)

    def _describe(self, sgi, i, name, typ, shape, sig, bi, scale, zp, qdim, is_var, p_sparsity, check_q):
        """A TensorDesc from a tensor's fields, every value checked (check_q: the scales and zero points too)."""
        where = f"subgraphs[{sgi}].tensors[{i}] '{name}'"
        if len(shape) > _MAX_RANK:
            raise ModelError(f"{where}: rank {len(shape)} exceeds edgerun's maximum of {_MAX_RANK}")
        if shape and min(shape) < 0:
            raise ModelError(f"{where}: negative dimension in shape {shape}")
        if typ not in TYPE_NAMES:
            raise ModelError(f"{where}: unknown tensor type {typ}")
        if not 0 <= bi < max(len(self.buffers), 1):
            raise ModelError(f"{where}: buffer index {bi} out of range (model has {len(self.buffers)} buffers)")
        if scale.size or zp.size:
            if scale.size and zp.size and scale.size != zp.size:
                raise ModelError(f"{where}: {scale.size} quantization scales but {zp.size} zero points")
            if scale.size and not zp.size:
                zp = np.zeros(scale.size, np.int64)
            if not check_q:
                scale_ok = zp_ok = True
            elif scale.size == 1 and zp.size == 1:  # per-tensor: the same checks on Python numbers (faster)
                s0, z0 = float(scale[0]), int(zp[0])
                scale_ok, zp_ok = math.isfinite(s0) and s0 >= 0, -(1 << 31) <= z0 < (1 << 31)
            else:  # min/max propagate NaN: a NaN or infinite scale fails here
                scale_ok = not scale.size or bool(scale.min() >= 0 and np.isfinite(scale.max()))
                zp_ok = not zp.any() or not (zp.min() < -(1 << 31) or zp.max() >= (1 << 31))
            if not scale_ok:
                raise ModelError(f"{where}: quantization scales must be finite and non-negative, got "
                                 f"{scale[~(np.isfinite(scale) & (scale >= 0))][:4].tolist()}")
            if not zp_ok:
                raise ModelError(f"{where}: zero points must fit in int32, got {zp.min()}..{zp.max()}")
            if scale.size > 1 and not 0 <= qdim < max(len(shape), 1):
                raise ModelError(f"{where}: quantized_dimension {qdim} out of range for shape {shape}")
            if scale.size > 1 and len(shape) and shape[qdim] != scale.size:
                raise ModelError(f"{where}: {scale.size} per-channel scales for dimension {qdim} of size "
                                 f"{shape[qdim]}")
        sparsity = None
        if p_sparsity:
            sparsity = _schema().SparsityParametersT.InitFromBuf(self.buf, p_sparsity)
        raw = self.buffers[bi] if bi < len(self.buffers) else None
        data = None
        if raw is not None:
            dt = TFLITE_DTYPES.get(typ)
            if typ == 5:  # STRING: an object array of bytes (runtime/strings.py)
                from edgerun.runtime import strings

                data = strings.decode(raw, shape, where)
            elif dt is None:
                data = raw  # unusual types: kept raw, ops that use them check
            elif sparsity is not None:
                if raw.nbytes % dt.itemsize:
                    raise ModelError(f"{where}: sparse buffer of {raw.nbytes} bytes is not a whole number of "
                                     f"{TYPE_NAMES.get(typ)} elements")
                data = raw.view(dt) if _address(raw) % dt.itemsize == 0 else raw.copy().view(dt)
            else:
                want = math.prod(shape) * dt.itemsize
                if raw.nbytes != want:
                    raise ModelError(f"{where}: buffer {bi} holds {raw.nbytes} bytes, but a {TYPE_NAMES.get(typ)} "
                                     f"tensor of shape {shape} needs {want}")
                if _address(raw) % max(dt.itemsize, 1):
                    raw = raw.copy()  # misaligned in the file: C reads need natural alignment
                data = raw.view(dt).reshape(shape)
        elif typ not in TFLITE_DTYPES and typ not in (13, 14):
            raise ModelError(f"{where}: unknown tensor type {typ}")
        return TensorDesc(i, name, typ, shape, sig, bi, scale, zp, qdim, is_var, sparsity, data)

    def _subgraph(self, k, g):
        size = self.size
        nt = g.vector(0)[1]
        self._check_vector(g, f"subgraphs[{k}].tensors", nt)
        tensors = self._tensors_c(k, g)
        if tensors is None:
            tensors = [self._tensor(k, t, i) for i, t in enumerate(g.tables(0, size))]

        def idx_list(table, field, what, allow_absent):
            return idx_check(list(table.ints(field, size)), what, allow_absent)

        def idx_check(out, what, allow_absent):
            lo = -1 if allow_absent else 0
            if out and (max(out) >= nt or min(out) < lo):
                v = next(v for v in out if v >= nt or v < lo)
                raise ModelError(f"subgraphs[{k}].{what}: tensor index {v} out of range "
                                 f"(subgraph has {nt} tensors)")
            return out

        inputs = idx_list(g, 1, "inputs", False)
        outputs = idx_list(g, 2, "outputs", False)
        ops = self._operators_c(k, g, idx_check)
        tables = ()
        if ops is None:  # the Python reader
            ops, tables = [], g.tables(3, size)
        for i, op in enumerate(tables):
            oi = op.scalar(0, "I")
            if not 0 <= oi < len(self.opcodes):
                raise ModelError(f"subgraphs[{k}].operators[{i}]: opcode_index {oi} out of range "
                                 f"(model has {len(self.opcodes)} operator codes)")
            name, custom, version = self.opcodes[oi]
            where = f"subgraphs[{k}].operators[{i}] ({custom or name})"
            options = None
            t1 = op.scalar(3, "B")
            if t1:
                pos = op.union_pos(4)
                options = options_reader.read(self.buf, t1, pos) if pos else None
            if options is None:
                t2 = op.scalar(11, "B")
                if t2:
                    pos = op.union_pos(12)
                    options = options_reader.read(self.buf, t2, pos, second=True) if pos else None
            custom_options = None
            start, n = op.vector(5)
            if n:
                custom_options = np.frombuffer(self.buf, np.uint8, n, start).tobytes()
            elif op.scalar(9, "Q") > 1:
                off, osize = op.scalar(9, "Q"), op.scalar(10, "Q")
                if off + osize > self.size:
                    raise ModelError(f"{where}: large custom options run past the end of the file")
                custom_options = bytes(self.buf[off:off + osize])
            ops.append(OpDesc(
                index=i, name=name, custom_code=custom, version=version,
                inputs=idx_list(op, 1, f"operators[{i}].inputs", True),
                outputs=idx_list(op, 2, f"operators[{i}].outputs", True),
                intermediates=idx_list(op, 8, f"operators[{i}].intermediates", True),
                options=options, custom_options=custom_options))
        return SubgraphDesc(k, _str(g.string(4)), tensors, ops, inputs, outputs)

    def _operators_c(self, k, g, idx_check):
        """The subgraph's operators from kernels/opt/flatbuf_read.c rows (the same checks and messages, in
        the same order, as the Python reader below), or None when an operator needs the Python reader."""
        rows = self._rows_c("er_read_operators", "ER_OP_COLS", *g.vector(3))
        if rows is None:
            return None
        buf = self.buf
        ops = []
        for i, (oi, p_in, n_in, p_out, n_out, p_im, n_im, t1, pos1, t2, pos2, p_cu, n_cu, off, osize,
                _) in enumerate(rows):
            if not 0 <= oi < len(self.opcodes):
                raise ModelError(f"subgraphs[{k}].operators[{i}]: opcode_index {oi} out of range "
                                 f"(model has {len(self.opcodes)} operator codes)")
            name, custom, version = self.opcodes[oi]
            options = options_reader.read(buf, t1, pos1) if t1 and pos1 else None
            if options is None and t2 and pos2:
                options = options_reader.read(buf, t2, pos2, second=True)
            custom_options = None
            if n_cu:
                custom_options = bytes(buf[p_cu:p_cu + n_cu])
            elif off > 1:
                if off + osize > self.size:
                    raise ModelError(f"subgraphs[{k}].operators[{i}] ({custom or name}): large custom options run "
                                     f"past the end of the file")
                custom_options = bytes(buf[off:off + osize])
            ops.append(OpDesc(
                index=i, name=name, custom_code=custom, version=version,
                inputs=idx_check(list(struct.unpack_from(f"<{n_in}i", buf, p_in)) if n_in else [],
                                 f"operators[{i}].inputs", True),
                outputs=idx_check(list(struct.unpack_from(f"<{n_out}i", buf, p_out)) if n_out else [],
                                  f"operators[{i}].outputs", True),
                intermediates=idx_check(list(struct.unpack_from(f"<{n_im}i", buf, p_im)) if n_im else [],
                                        f"operators[{i}].intermediates", True),
                options=options, custom_options=custom_options))
        return ops



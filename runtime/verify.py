"""Verify a .tflite file completely without running it, reporting every problem found (edgerun.verify and
`edgerun verify MODEL`).

Three passes. (1) Structure: a generic flatbuffer verifier driven by schema/schema.fbs checks every table,
vtable, offset, vector, string and union in the file against the file's bounds (no accessor trusts an offset).
(2) Meaning, when the structure is sound: identifier, versions, operator codes, buffer ranges, every tensor's
type, shape, buffer size and quantization, sparse fields, subgraph inputs/outputs, each op's opcode, tensor
indices, options type, subgraph references and custom options, signatures, metadata. (3) When (2) is clean,
prepare (shape inference and parameter checks of every op, no invoke) under a memory limit, whose first error
is reported. Every pass is linear in the file size: shared tables are visited once, nesting is bounded.
"""
from __future__ import annotations

import os
import re
import struct

import numpy as np

_SCALARS = {"bool": 1, "byte": 1, "ubyte": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2, "int16": 2,
            "uint16": 2, "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4, "float32": 4, "long": 8,
            "ulong": 8, "int64": 8, "uint64": 8, "double": 8, "float64": 8}
_MAX_DEPTH = 64
_SCHEMA = None
_VERIFY_MEMORY = 1 << 30  # prepare's memory limit while verifying


class _Schema:
    """Tables, unions and enums of schema.fbs (the parts a verifier needs)."""

    def __init__(self, text: str):
        text = re.sub(r"//[^\n]*", "", text)
        self.enums, self.unions, self.tables = {}, {}, {}
        for kind, name, base, body in re.findall(r"\b(enum|union|table|struct)\s+(\w+)\s*(?::\s*(\w+))?"
                                                 r"[^{]*\{(.*?)\}", text, flags=re.S):
            if kind == "enum":
                vals, nxt = set(), 0
                for item in body.split(","):
                    m = re.match(r"\s*(\w+)\s*(?:=\s*(-?\w+))?", item)
                    if m and m.group(1):
                        nxt = int(m.group(2), 0) if m.group(2) else nxt
                        vals.add(nxt)
                        nxt += 1
                self.enums[name] = (base, vals)
            elif kind == "union":
                members = [re.match(r"\s*(\w+)", m).group(1) for m in body.split(",") if m.strip()]
                self.unions[name] = members  # type value i + 1
            else:
                fields, nid = [], 0
                for m in re.finditer(r"(\w+)\s*:\s*(\[?\w+\]?)\s*(?:=\s*[^;(]+)?(\([^)]*\))?\s*;", body):
                    fname, ftype, attrs = m.group(1), m.group(2), m.group(3) or ""
                    idm = re.search(r"\bid\s*:\s*(\d+)", attrs)
                    fid = int(idm.group(1)) if idm else nid
                    if ftype in self.unions or ftype in _pending_unions(text):
                        fields.append((fname + "_type", "@utype:" + ftype, fid))
                        fields.append((fname, "@union:" + ftype, fid + 1))
                        nid = fid + 2
                    else:
                        fields.append((fname, ftype, fid))
                        nid = fid + 1
                self.tables[name] = (kind, fields)


def _pending_unions(text, _cache={}):
    if "u" not in _cache:
        _cache["u"] = set(re.findall(r"\bunion\s+(\w+)", text))
    return _cache["u"]


def _schema() -> _Schema:
    global _SCHEMA
    if _SCHEMA is None:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for path in (os.path.join(here, "schema", "schema.fbs"),):
            if os.path.isfile(path):
                with open(path) as f:
                    _SCHEMA = _Schema(f.read())
                break
        else:  # pragma: no cover - installs always carry the schema
            raise FileNotFoundError("schema/schema.fbs")
    return _SCHEMA


class _Walker:
    """Generic flatbuffer verification of one buffer against the schema; problems appended to `out`."""

    def __init__(self, buf, schema: _Schema, out: list):
        self.buf, self.n, self.s, self.out = buf, len(buf), schema, out
        self.seen = set()

    def problem(self, where, what):
        if len(self.out) < 1000:
            self.out.append(f"{where}: {what}")

    def u32(self, pos):
        return struct.unpack_from("<I", self.buf, pos)[0]

    def in_file(self, pos, size, where, what) -> bool:
        if pos < 0 or size < 0 or pos + size > self.n:
            self.problem(where, f"{what} at {pos} (+{size} bytes) is outside the file ({self.n} bytes)")
            return False
        return True

    def offset(self, pos, where, what):
        """Follow the uoffset at `pos`; the target or None."""
        if not self.in_file(pos, 4, where, what):
            return None
        target = pos + self.u32(pos)
        if not self.in_file(target, 4, where, f"{what} target"):
            return None
        return target

    def table(self, pos, tname, where, depth=0):
        if depth > _MAX_DEPTH:
            return self.problem(where, f"nesting deeper than {_MAX_DEPTH}")
        if (pos, tname) in self.seen:
            return
        self.seen.add((pos, tname))
        if pos % 4:
            self.problem(where, f"table {tname} at {pos} is not 4-byte aligned")
        if not self.in_file(pos, 4, where, f"table {tname}"):
            return
        vt = pos - struct.unpack_from("<i", self.buf, pos)[0]
        if not self.in_file(vt, 4, where, f"vtable of {tname}"):
            return
        vsize, tsize = struct.unpack_from("<HH", self.buf, vt)
        if vsize < 4 or vsize % 2 or not self.in_file(vt, vsize, where, f"vtable of {tname}"):
            return self.problem(where, f"vtable of {tname} has invalid size {vsize}")
        if tsize < 4 or not self.in_file(pos, tsize, where, f"table {tname}"):
            return self.problem(where, f"table {tname} has invalid size {tsize}")
        kind, fields = self.s.tables[tname]
        utypes = {}
        for fname, ftype, fid in fields:
            slot = 4 + 2 * fid
            if slot + 2 > vsize:
                continue
            voff = struct.unpack_from("<H", self.buf, vt + slot)[0]
            if voff == 0:
                continue
            fw = f"{where}.{fname}"
            size = self._field_size(ftype)
            if voff + size > tsize:
                self.problem(fw, f"field lies outside its table ({voff} + {size} > {tsize})")
                continue
            fpos = pos + voff
            if ftype.startswith("@utype:"):
                utypes[ftype[7:] + ":" + fname[:-5]] = self.buf[fpos]
                continue
            if ftype.startswith("@union:"):
                u = ftype[7:]
                t = utypes.get(u + ":" + fname, 0)
                members = self.s.unions[u]
                if t == 0:
                    continue
                if t > len(members):
                    self.problem(fw, f"union type {t} is not a member of {u} (1..{len(members)})")
                    continue
                target = self.offset(fpos, fw, "union value")
                if target is not None and members[t - 1] in self.s.tables:
                    self.table(target, members[t - 1], fw, depth + 1)
                continue
            self._value(fpos, ftype, fw, depth)

    def _field_size(self, ftype):
        if ftype.startswith("@utype:"):
            return 1
        if ftype in _SCALARS:
            return _SCALARS[ftype]
        if ftype in self.s.enums:
            return _SCALARS.get(self.s.enums[ftype][0], 4)
        return 4  # offsets (string, vector, table, union value)

    def _value(self, fpos, ftype, where, depth):
        if ftype in _SCALARS:
            return
        if ftype in self.s.enums:
            return
        if ftype == "string":
            target = self.offset(fpos, where, "string")
            if target is not None:
                n = self.u32(target)
                if self.in_file(target + 4, n + 1, where, f"string of {n} bytes") and self.buf[target + 4 + n] != 0:
                    self.problem(where, "string is not NUL-terminated")
            return
        if ftype.startswith("["):
            et = ftype[1:-1]
            target = self.offset(fpos, where, "vector")
            if target is None:
                return
            n = self.u32(target)
            es = self._field_size(et)
            if not self.in_file(target + 4, n * es, where, f"vector of {n} elements"):
                return
            if es > 1 and (target + 4) % min(es, 8) and et in _SCALARS:
                self.problem(where, f"vector of {et} at {target + 4} is not {min(es, 8)}-byte aligned")
            if et in self.s.tables:
                for i in range(n):
                    t = self.offset(target + 4 + 4 * i, f"{where}[{i}]", f"{et}")
                    if t is not None:
                        self.table(t, et, f"{where}[{i}]", depth + 1)
            elif et == "string":
                for i in range(n):
                    self._value(target + 4 + 4 * i, "string", f"{where}[{i}]", depth + 1)
            return
        if ftype in self.s.tables:
            target = self.offset(fpos, where, ftype)
            if target is not None:
                self.table(target, ftype, where, depth + 1)


def _structure(buf, out: list) -> bool:
    n = len(buf)
    if n < 8:
        out.append(f"file: {n} bytes is too short for a TFLite model")
        return False
    ident = bytes(buf[4:8])
    if ident != b"TFL3":
        out.append(f"file: identifier is {ident!r}, expected b'TFL3'")
    before = len(out)
    w = _Walker(buf, _schema(), out)
    root = w.offset(0, "root", "Model table")
    if root is not None:
        w.table(root, "Model", "model")
    return len(out) == before and ident == b"TFL3"


# -- meaning --------------------------------------------------------------------------------------------

def _semantics(buf, out: list):
    from edgerun.runtime.model import builtin_name
    from edgerun.runtime.ops import TFLITE_DTYPES, TYPE_NAMES
    from edgerun.schema import schema_generated as sg

    p = out.append
    fb = sg.Model.GetRootAs(buf, 0)
    size = len(buf)
    if fb.Version() != 3:
        p(f"model.version: {fb.Version()} (TFLite schema 3 expected)")
    known_codes = set(vars(sg.BuiltinOperator).values())
    opcodes = []
    for i in range(fb.OperatorCodesLength()):
        oc = fb.OperatorCodes(i)
        code = max(int(oc.DeprecatedBuiltinCode()), int(oc.BuiltinCode()))
        name = builtin_name(code)
        if code not in known_codes:
            p(f"operator_codes[{i}]: unknown builtin code {code}")
        if oc.DeprecatedBuiltinCode() < 127 and oc.DeprecatedBuiltinCode() != min(oc.BuiltinCode(), 127) \
                and oc.BuiltinCode() != 0:
            p(f"operator_codes[{i}]: deprecated_builtin_code {oc.DeprecatedBuiltinCode()} disagrees with "
              f"builtin_code {oc.BuiltinCode()}")
        if name == "CUSTOM" and not oc.CustomCode():
            p(f"operator_codes[{i}]: CUSTOM op without a custom_code")
        if oc.Version() < 1:
            p(f"operator_codes[{i}]: version {oc.Version()} (must be >= 1)")
        opcodes.append(name)
    nbuf = fb.BuffersLength()
    buf_bytes = []
    for i in range(nbuf):
        b = fb.Buffers(i)
        off, sz = b.Offset(), b.Size()
        if off > 1:
            if off + sz > size:
                p(f"buffers[{i}]: offset {off} + size {sz} is past the end of the file ({size} bytes)")
            buf_bytes.append(sz)
        else:
            if sz and not off:
                p(f"buffers[{i}]: size {sz} without an offset")
            buf_bytes.append(b.DataLength())
    nsub = fb.SubgraphsLength()
    if nsub == 0:
        p("model: no subgraphs")
    for k in range(nsub):
        _subgraph(fb.Subgraphs(k), k, nsub, opcodes, nbuf, buf_bytes, p, sg, TFLITE_DTYPES, TYPE_NAMES, size)
    for i in range(fb.SignatureDefsLength()):
        sd = fb.SignatureDefs(i)
        k = sd.SubgraphIndex()
        if not 0 <= k < nsub:
            p(f"signature_defs[{i}].subgraph_index: {k} out of range ({nsub} subgraphs)")
            continue
        nt = fb.Subgraphs(k).TensorsLength()
        for what, get, cnt in (("inputs", sd.Inputs, sd.InputsLength()), ("outputs", sd.Outputs, sd.OutputsLength())):
            for j in range(cnt):
                ti = get(j).TensorIndex()
                if ti >= nt:
                    p(f"signature_defs[{i}].{what}[{j}].tensor_index: {ti} out of range ({nt} tensors)")
    for i in range(fb.MetadataLength()):
        bi = fb.Metadata(i).Buffer()
        if bi >= nbuf:
            p(f"metadata[{i}].buffer: {bi} out of range ({nbuf} buffers)")
    for i in range(fb.MetadataBufferLength()):
        bi = fb.MetadataBuffer(i)
        if not 0 <= bi < nbuf:
            p(f"metadata_buffer[{i}]: {bi} out of range ({nbuf} buffers)")


def _subgraph_fields() -> dict:
    """options class -> fields holding subgraph indices (the op table's subgraphs)."""
    from edgerun.schema.ops import OPS

    return {d.options: d.subgraphs for d in OPS if d.subgraphs}


def _subgraph(g, k, nsub, opcodes, nbuf, buf_bytes, p, sg, dtypes, type_names, size):
    where = f"subgraphs[{k}]"
    nt = g.TensorsLength()
    for i in range(nt):
        _tensor(g.Tensors(i), f"{where}.tensors[{i}]", nbuf, buf_bytes, p, sg, dtypes, type_names)
    for what, arr in (("inputs", g.InputsAsNumpy()), ("outputs", g.OutputsAsNumpy())):
        for j, v in enumerate(np.atleast_1d(arr).tolist() if not isinstance(arr, int) else []):
            if not 0 <= v < nt:
                p(f"{where}.{what}[{j}]: tensor index {v} out of range ({nt} tensors)")
    subgraph_fields = _subgraph_fields()
    union_names = {v: n for n, v in vars(sg.BuiltinOptions).items() if not n.startswith("_")}
    union2_names = {v: n for n, v in vars(sg.BuiltinOptions2).items() if not n.startswith("_")}
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        ow = f"{where}.operators[{i}]"
        oi = op.OpcodeIndex()
        if oi >= len(opcodes):
            p(f"{ow}.opcode_index: {oi} out of range ({len(opcodes)} operator codes)")
        else:
            ow += f" ({opcodes[oi]})"
        for what, arr, absent in (("inputs", op.InputsAsNumpy(), True), ("outputs", op.OutputsAsNumpy(), True),
                                  ("intermediates", op.IntermediatesAsNumpy(), True)):
            vals = np.atleast_1d(arr).tolist() if not isinstance(arr, int) else []
            for j, v in enumerate(vals):
                if v >= nt or v < (-1 if absent else 0):
                    p(f"{ow}.{what}[{j}]: tensor index {v} out of range ({nt} tensors)")
        for t, table, names, creator in ((op.BuiltinOptionsType(), op.BuiltinOptions(), union_names,
                                          sg.BuiltinOptionsCreator),
                                         (op.BuiltinOptions2Type(), op.BuiltinOptions2(), union2_names,
                                          sg.BuiltinOptions2Creator)):
            if not t:
                continue
            oname = names.get(t)
            if oname is None:
                p(f"{ow}: builtin options type {t} is unknown")
                continue
            opts = creator(t, table)
            for field in subgraph_fields.get(oname, ()):
                v = getattr(opts, field, None)
                if v is not None and not 0 <= v < nsub:
                    p(f"{ow}.{oname}.{field}: subgraph {v} out of range ({nsub} subgraphs)")
                elif v == k and oname in ("WhileOptions", "IfOptions", "CallOptions", "CallOnceOptions"):
                    p(f"{ow}.{oname}.{field}: subgraph {v} calls itself")
        lo = op.LargeCustomOptionsOffset()
        if lo > 1 and lo + op.LargeCustomOptionsSize() > size:
            p(f"{ow}.large_custom_options: offset {lo} + size {op.LargeCustomOptionsSize()} is past the end of "
              f"the file ({size} bytes)")


def _tensor(t, where, nbuf, buf_bytes, p, sg, dtypes, type_names):
    name = t.Name()
    where = f"{where} '{name.decode('utf-8', 'replace') if name else ''}'"
    typ = t.Type()
    if typ not in type_names:
        p(f"{where}.type: unknown tensor type {typ}")
    shape = [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() else []
    if len(shape) > 8:
        p(f"{where}.shape: rank {len(shape)} exceeds 8")
    if any(d < 0 for d in shape):
        p(f"{where}.shape: negative dimension in {tuple(shape)}")
    sig = [int(d) for d in t.ShapeSignatureAsNumpy()] if t.ShapeSignatureLength() else None
    if sig is not None:
        if len(sig) != len(shape):
            p(f"{where}.shape_signature: rank {len(sig)} differs from the shape's {len(shape)}")
        elif any(s != -1 and s != d for s, d in zip(sig, shape)):
            p(f"{where}.shape_signature: {tuple(sig)} disagrees with shape {tuple(shape)}")
        if any(s < -1 for s in sig):
            p(f"{where}.shape_signature: dimension below -1 in {tuple(sig)}")
    bi = t.Buffer()
    if bi >= max(nbuf, 1):
        p(f"{where}.buffer: {bi} out of range ({nbuf} buffers)")
    sparse = t.Sparsity()
    dt = dtypes.get(typ)
    if bi < nbuf and buf_bytes[bi] and dt is not None and typ != 5 and sparse is None and min(shape, default=0) >= 0:
        want = int(np.prod(shape, dtype=object)) * dt.itemsize if shape else dt.itemsize
        if buf_bytes[bi] != want:
            p(f"{where}: buffer {bi} holds {buf_bytes[bi]} bytes, a {type_names.get(typ)} tensor of shape "
              f"{tuple(shape)} needs {want}")
    q = t.Quantization()
    if q is not None:
        scale = q.ScaleAsNumpy() if q.ScaleLength() else np.zeros(0, np.float32)
        zp = q.ZeroPointAsNumpy() if q.ZeroPointLength() else np.zeros(0, np.int64)
        if scale.size and zp.size and scale.size != zp.size:
            p(f"{where}.quantization: {scale.size} scales but {zp.size} zero points")
        if zp.size and not scale.size:
            p(f"{where}.quantization: zero points without scales")
        bad = ~(np.isfinite(scale) & (scale >= 0)) if scale.size else np.zeros(0, bool)
        if bad.any():
            p(f"{where}.quantization.scale: not finite and non-negative: {scale[bad][:4].tolist()}")
        if zp.size and (int(zp.min()) < -(1 << 31) or int(zp.max()) >= (1 << 31)):
            p(f"{where}.quantization.zero_point: outside int32 ({int(zp.min())}..{int(zp.max())})")
        qd = q.QuantizedDimension()
        if scale.size > 1:
            if not 0 <= qd < max(len(shape), 1):
                p(f"{where}.quantization.quantized_dimension: {qd} out of range for shape {tuple(shape)}")
            elif shape and shape[qd] != scale.size:
                p(f"{where}.quantization: {scale.size} per-channel scales for dimension {qd} of size {shape[qd]}")
        mn = q.MinAsNumpy() if q.MinLength() else None
        mx = q.MaxAsNumpy() if q.MaxLength() else None
        if mn is not None and mx is not None and mn.size != mx.size:
            p(f"{where}.quantization: {mn.size} min values but {mx.size} max values")
        if q.DetailsType() and q.DetailsType() > 3:
            p(f"{where}.quantization.details_type: {q.DetailsType()} is unknown")
    if sparse is not None:
        _sparsity(sparse, shape, where, p, sg, bi < nbuf and buf_bytes[bi], dt)


def _sparsity(sp, shape, where, p, sg, nbytes, dt):
    n = len(shape)
    order = sp.TraversalOrderAsNumpy().tolist() if sp.TraversalOrderLength() else []
    block = sp.BlockMapAsNumpy().tolist() if sp.BlockMapLength() else []
    k = len(block)
    nd = sp.DimMetadataLength()
    w = f"{where}.sparsity"
    if sorted(order) != list(range(n + k)):
        p(f"{w}.traversal_order: {order} is not a permutation of 0..{n + k - 1}")
    for b in block:
        if not 0 <= b < n:
            p(f"{w}.block_map: {b} out of range for rank {n}")
    if nd != n + k:
        p(f"{w}.dim_metadata: {nd} entries, {n + k} expected")
    vec_types = {1: "Int32Vector", 2: "Uint16Vector", 3: "Uint8Vector"}
    for lvl in range(nd):
        dm = sp.DimMetadata(lvl)
        lw = f"{w}.dim_metadata[{lvl}]"
        if dm.Format() == 0:
            if dm.DenseSize() < 0:
                p(f"{lw}.dense_size: {dm.DenseSize()} is negative")
            continue
        if dm.Format() != 1:
            p(f"{lw}.format: {dm.Format()} is unknown")
            continue
        vals = {}
        for what, ty, get in (("array_segments", dm.ArraySegmentsType(), dm.ArraySegments),
                              ("array_indices", dm.ArrayIndicesType(), dm.ArrayIndices)):
            if ty not in vec_types:
                p(f"{lw}.{what}: missing or unknown vector type {ty}")
                continue
            cls = getattr(sg, vec_types[ty])
            v = cls()
            tab = get()
            if tab is None:
                p(f"{lw}.{what}: missing")
                continue
            v.Init(tab.Bytes, tab.Pos)
            vals[what] = v.ValuesAsNumpy() if v.ValuesLength() else np.zeros(0, np.int64)
        seg, idx = vals.get("array_segments"), vals.get("array_indices")
        if seg is not None:
            seg = np.asarray(seg, np.int64)
            if seg.size and (seg[0] != 0 or np.any(np.diff(seg) < 0)):
                p(f"{lw}.array_segments: not non-decreasing from 0")
            if idx is not None and seg.size and seg[-1] > len(idx):
                p(f"{lw}.array_segments: last segment ends at {int(seg[-1])}, past {len(idx)} indices")
        if idx is not None and lvl < len(order) and order[lvl] < n + k:
            d = order[lvl]
            lim = shape[d] if d < n else None
            if lim is not None and len(idx) and (int(np.min(idx)) < 0 or int(np.max(idx)) >= lim):
                p(f"{lw}.array_indices: outside dimension {d} of size {lim}")
    if nbytes and dt is not None and nbytes % max(dt.itemsize, 1):
        p(f"{w}: buffer of {nbytes} bytes is not a whole number of elements")


def _prepare(buf, out: list):
    """Shape inference and every op's parameter checks (no invoke), under a memory limit."""
    from edgerun.errors import EdgerunError, RunTimeShapeError
    from edgerun.runtime.model import Model
    from edgerun.runtime.prepare import Preparer, op_handler

    try:
        model = Model(buf)
    except EdgerunError as exc:
        out.append(f"load: {exc}")
        return
    for sg in model.subgraphs:
        for op in sg.ops:
            try:
                op_handler(op)
            except EdgerunError as exc:
                out.append(f"subgraphs[{sg.index}]: {exc}")
    if out:
        return
    try:
        shapes = {i: tuple(model.subgraphs[0].tensors[i].shape) for i in model.subgraphs[0].inputs}
        Preparer(model, max_memory_bytes=_VERIFY_MEMORY).prepare(shapes)
    except RunTimeShapeError:
        pass  # run-time-sized tensors: a valid model, whose later ops the interpreter prepares when values exist
    except EdgerunError as exc:
        out.append(f"prepare: {type(exc).__name__}: {exc}")


def verify(model) -> list:
    """Check a .tflite file (a path, or its bytes) without running it; a list of problems (empty: clean)."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        buf = bytes(model)
    else:
        try:
            with open(os.fspath(model), "rb") as f:
                buf = f.read()
        except OSError as exc:
            return [f"cannot open {model!r}: {exc.strerror}"]
    out: list = []
    if not _structure(buf, out):
        return out
    try:
        _semantics(buf, out)
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, AttributeError) as exc:
        out.append(f"model: unreadable ({type(exc).__name__}: {exc})")
    if not out:
        _prepare(buf, out)
    return out

"""The prepared plan as a binary file for phones and other Linux devices (platforms/lib loads it in C).

    data = write_plan(plan)          # bytes; the format is platforms/lib/PLAN_FORMAT.md
    parts = plan_parts(plan)         # the same bytes as parts (constants not copied), for writing a file
    plan = read_plan(data)           # back to a runtime.plan.Plan (consts as uint8 arrays), for tests
    print(describe(data))            # header, sections and the plan, like `edgerun inspect`

Little-endian, versioned, 16-byte aligned sections, no flatbuffers. Params blocks are written field by field
(leaves in declaration order, nested structs and arrays flattened), never as C struct bytes, so one file
serves 32- and 64-bit devices: the C library fills the real structs through a layout table generated from
the same headers (platforms/lib/gen_layout.py).
"""
from __future__ import annotations

import dataclasses
import struct
import zlib

import numpy as np

from edgerun.errors import EdgerunError, UnsupportedOpError
from edgerun.runtime import plan as P

MAGIC = b"EDGERUNP"
FORMAT_VERSION = 1
HEADER_BYTES = 96
SECTION_ENTRY = 24
# Section ids, each present exactly once, in this order.
STRINGS, KERNELS, STRUCTS, PARAMS, SUBPLANS, VARIABLES, CONSTS = range(1, 8)
SECTION_NAMES = {STRINGS: "strings", KERNELS: "kernels", STRUCTS: "structs", PARAMS: "params",
                 SUBPLANS: "subplans", VARIABLES: "variables", CONSTS: "consts"}
ALIGN = 16
# Where a tensor's bytes live (PlanTensor.storage)
STORAGE = {P.NONE: 0, P.ARENA: 1, P.CONST: 2, P.VARIABLE: 3}
STORAGE_NAMES = {v: k for k, v in STORAGE.items()}
# Leaf value tags of a params block
V_INT, V_FLOAT, V_NULL, V_CONST, V_SUBPLAN, V_VARIABLE = range(6)
VALUE_BYTES = 24
MAX_DIMS = 8


class PlanFileError(EdgerunError, ValueError):
    pass


# -- params layout: one definition for the writer, the reader and the C table generator -------------------
LEAF_KINDS = {"int8_t": "I8", "uint8_t": "U8", "int16_t": "I16", "uint16_t": "U16", "int32_t": "I32",
              "uint32_t": "U32", "int64_t": "I64", "uint64_t": "U64", "float": "F32", "double": "F64"}


def struct_leaves(ctype: str, ffi=None) -> list:
    """The leaves of a params struct in declaration order: (C member path, kind, cffi type name, pointee
    bytes). Kinds are LEAF_KINDS' values, "PTR" (data) or "PLAN" (a subplan); nested structs and arrays are
    flattened ("dirs[1].in[3]"). `ffi` defaults to the kernels' (the headers they were built from)."""
    if ffi is None:
        from edgerun.kernels import ffi

    out = []

    def walk(t, path):
        if t.kind == "struct":
            for name, f in t.fields:
                walk(f.type, f"{path}.{name}" if path else name)
        elif t.kind == "array":
            for i in range(t.length):
                walk(t.item, f"{path}[{i}]")
        elif t.kind == "pointer":
            item = t.item
            cname = t.cname.replace("struct ", "")  # a compiled ffi names the tag, a cdef-only one the typedef
            if item.kind == "struct" and cname == "er_plan *":
                out.append((path, "PLAN", cname, 0))
            else:
                size = 1 if item.cname == "void" else ffi.sizeof(item)
                out.append((path, "PTR", cname, size))
        elif t.kind == "primitive" and t.cname in LEAF_KINDS:
            out.append((path, LEAF_KINDS[t.cname], t.cname, 0))
        else:
            raise PlanFileError(f"{ctype}.{path}: C type {t.cname} has no plan-file encoding")

    walk(ffi.typeof(ctype), "")
    return out


def struct_signature(ctype: str, ffi=None) -> int:
    """CRC-32 of the struct's leaf list (paths and C types): a library whose header differs refuses it."""
    text = ";".join(f"{p}:{c}" for p, _, c, _ in struct_leaves(ctype, ffi))
    return zlib.crc32(text.encode())


def _flatten(params: P.Params) -> list:
    out = []

    def walk(v):
        if isinstance(v, P.Params):
            for x in v.fields.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        else:
            out.append(v)

    walk(params)
    return out


def _unflatten(ctype: str, values: list) -> P.Params:
    from edgerun.kernels import ffi

    it = iter(values)

    def build(t):
        if t.kind == "struct":
            return P.Params(t.cname.replace("struct ", ""), {n: build(f.type) for n, f in t.fields})
        if t.kind == "array":
            return [build(t.item) for _ in range(t.length)]
        return next(it)

    return build(ffi.typeof(ctype))


# -- writer --------------------------------------------------------------------------------------------
class _Strings:
    def __init__(self):
        self.blob = bytearray()
        self.at: dict[str, int] = {}

    def ref(self, s: str) -> tuple:
        b = s.encode()
        if b"\0" in b:
            raise PlanFileError(f"name {s!r} contains a NUL byte")
        if s not in self.at:
            self.at[s] = len(self.blob)
            self.blob += b + b"\0"
        return self.at[s], len(b)


def _pad(b: bytearray, align: int = ALIGN):
    b += bytes(-len(b) % align)


def _fixed(s: str, n: int = 16) -> bytes:
    b = s.encode()
    if len(b) >= n:
        raise PlanFileError(f"{s!r} is longer than {n - 1} bytes")
    return b + bytes(n - len(b))


def _value(v, leaf, plan: P.Plan) -> bytes:
    path, kind, cname, _ = leaf
    if kind in ("PTR", "PLAN"):
        if v is None:
            return struct.pack("<IIqq", V_NULL, 0, 0, 0)
        if isinstance(v, P.SubplanRef) and kind == "PLAN":
            return struct.pack("<IIqq", V_SUBPLAN, v.subplan, 0, 0)
        if isinstance(v, P.ConstRef) and kind == "PTR":
            # the kernel may read up to the end of the constant: that is the length the loader checks
            return struct.pack("<IIqq", V_CONST, v.const, v.offset, int(plan.consts[v.const].nbytes) - v.offset)
        if isinstance(v, P.VariableRef) and kind == "PTR":
            return struct.pack("<IIqq", V_VARIABLE, v.variable, 0, plan.variables[v.variable].nbytes)
        raise PlanFileError(f"field {path} ({cname}) cannot hold {v!r}")
    if kind in ("F32", "F64"):
        return struct.pack("<IIdq", V_FLOAT, 0, float(v), 0)
    return struct.pack("<IIqq", V_INT, 0, int(v), 0)


def plan_parts(plan: P.Plan, edgerun_version: str | None = None, keep_unused: bool = False) -> list:
    """The plan file of a prepared plan (C kernels only: a Python custom op cannot run on a device) as a list
    of bytes-like parts, to join or write one after another; the constants are views of the plan's arrays.
    keep_unused: tensors no op reads keep their bytes (the interpreter's plan cache, whose get_tensor reads
    them, as a folded intermediate's); a device's file leaves them out."""
    import edgerun

    why = plan.device_blocker()  # STRING / hashtable tensors: variable-size data
    if why:
        raise UnsupportedOpError(why)
    py = plan.python_ops()
    if py:
        sg, op = py[0]
        raise UnsupportedOpError(f"{op.label} (subgraph {sg}) is a Python custom op; a plan file can only hold "
                                 f"C kernels (register it with c_kernel=..., or run it in the interpreter)")
    strings = _Strings()
    kernels = plan.kernels()
    kernel_ids = {k: i for i, k in enumerate(kernels)}
    kern = bytearray(struct.pack("<I", len(kernels)))
    for k in kernels:
        kern += struct.pack("<II", *strings.ref(k))

    structs: dict[str, int] = {}
    blocks: list[bytes] = []
    params_of: dict[int, int] = {}  # id(PlanOp) -> block index
    for sp in plan.subplans:
        for op in sp.ops:
            if op.params is None:
                continue
            ctype = op.params.ctype
            sid = structs.setdefault(ctype, len(structs))
            leaves = struct_leaves(ctype)
            values = _flatten(op.params)
            if len(values) != len(leaves):
                raise PlanFileError(f"{op.label}: {ctype} has {len(leaves)} leaves, the params {len(values)}")
            blk = bytearray(struct.pack("<II", sid, len(values)))
            for v, leaf in zip(values, leaves):
                blk += _value(v, leaf, plan)
            params_of[id(op)] = len(blocks)
            blocks.append(bytes(blk))
    st = bytearray(struct.pack("<I", len(structs)))
    for ctype in structs:
        st += struct.pack("<IIII", *strings.ref(ctype), len(struct_leaves(ctype)), struct_signature(ctype))
    par = bytearray(struct.pack("<I", len(blocks)))
    table_at = len(par)
    par += bytes(8 * len(blocks))
    for k, blk in enumerate(blocks):
        _pad(par, 8)
        struct.pack_into("<Q", par, table_at + 8 * k, len(par))
        par += blk

    sub = bytearray(struct.pack("<I", len(plan.subplans)))
    table_at = len(sub)
    sub += bytes(8 * len(plan.subplans))
    for k, sp in enumerate(plan.subplans):
        _pad(sub, 8)
        struct.pack_into("<Q", sub, table_at + 8 * k, len(sub))
        sub += struct.pack("<iIIIIIqq", sp.subgraph, len(sp.tensors), len(sp.ops), len(sp.inputs),
                           len(sp.outputs), 1 if sp.preserve_inputs else 0, sp.arena_offset, sp.arena_bytes)
        sub += struct.pack(f"<{len(sp.inputs)}i{len(sp.outputs)}i", *sp.inputs, *sp.outputs)
        used = set(sp.inputs) | set(sp.outputs) | {i for op in sp.ops for i in op.inputs + op.outputs}
        for t in sp.tensors:
            if t.index not in used and t.storage != P.NONE and not keep_unused:  # e.g. a sparse weight folded
                t = dataclasses.replace(t, storage=P.NONE, offset=0, nbytes=0)
            shape = tuple(t.shape) if t.shape is not None else ()  # unused tensors may have no shape
            if len(shape) > MAX_DIMS:
                raise PlanFileError(f"tensor {t.index} '{t.name}' has {len(shape)} dims (at most {MAX_DIMS})")
            dims = list(shape) + [0] * (MAX_DIMS - len(shape))
            scale = np.asarray(t.scale, np.float32).reshape(-1)
            zps = np.asarray(t.zero_point, np.int64).reshape(-1)
            sub += struct.pack("<IIiiqqi8iiII", *strings.ref(t.name), t.type, STORAGE[t.storage], t.offset,
                               t.nbytes if t.storage != P.NONE else 0, len(shape), *dims,
                               t.quant_dim if scale.size else 0, scale.size, zps.size)
            sub += scale.astype("<f4").tobytes() + zps.astype("<i8").tobytes()
        for op in sp.ops:
            sub += struct.pack("<IiIIIIqqi", kernel_ids[op.kernel], op.index, *strings.ref(op.op),
                               len(op.inputs), len(op.outputs), op.scratch_offset if op.scratch_bytes else 0,
                               op.scratch_bytes, params_of.get(id(op), -1))
            sub += struct.pack(f"<{len(op.inputs)}i{len(op.outputs)}i", *op.inputs, *op.outputs)

    var = bytearray(struct.pack("<I", len(plan.variables)))
    for v in plan.variables:
        dims = list(v.shape) + [0] * (MAX_DIMS - len(v.shape))
        var += struct.pack("<IIii8iqi", *strings.ref(v.name), v.type, len(v.shape), *dims, v.nbytes,
                           -1 if v.initial is None else v.initial)

    # the constants section as parts: its table, then each constant's bytes (the arrays themselves, not copies)
    con = bytearray(struct.pack("<II", len(plan.consts), 0))
    table_at = len(con)
    con += bytes(16 * len(plan.consts))
    con_parts: list = [con]
    at = len(con)
    for k, c in enumerate(plan.consts):
        if -at % ALIGN:
            con_parts.append(bytes(-at % ALIGN))
            at += -at % ALIGN
        raw = _raw(c)
        struct.pack_into("<QQ", con, table_at + 16 * k, at, raw.nbytes)
        con_parts.append(raw)
        at += raw.nbytes

    sections = [(STRINGS, [bytes(strings.blob)]), (KERNELS, [bytes(kern)]), (STRUCTS, [bytes(st)]),
                (PARAMS, [bytes(par)]), (SUBPLANS, [bytes(sub)]), (VARIABLES, [bytes(var)]), (CONSTS, con_parts)]
    start = HEADER_BYTES + SECTION_ENTRY * len(sections)
    start += -start % ALIGN
    body: list = []
    table = bytearray()
    at = start
    for sid, parts in sections:
        if -at % ALIGN:
            body.append(bytes(-at % ALIGN))
            at += -at % ALIGN
        size = sum(memoryview(b).nbytes for b in parts)
        table += struct.pack("<IIQQ", sid, 0, at, size)
        body += parts
        at += size
    if -at % ALIGN:
        body.append(bytes(-at % ALIGN))
        at += -at % ALIGN
    head = bytearray(MAGIC + struct.pack("<II", FORMAT_VERSION, 0))
    head += struct.pack("<Q", at)
    head += _fixed(edgerun_version or edgerun.__version__) + _fixed(plan.target) + _fixed(plan.isa or "ref")
    head += struct.pack("<QII", plan.arena_bytes, plan.alignment, len(sections))
    head += bytes(HEADER_BYTES - len(head))
    head += table
    head += bytes(start - len(head))
    crc = zlib.crc32(memoryview(head)[16:])
    for b in body:
        crc = zlib.crc32(b, crc)
    struct.pack_into("<I", head, 12, crc)
    return [head] + body


def _raw(c: np.ndarray) -> memoryview:
    """A constant's bytes, little-endian and contiguous, without a copy when they already are."""
    a = np.ascontiguousarray(c)
    if a.dtype.byteorder == ">" or a.dtype.kind == "O":
        a = np.frombuffer(a.tobytes(), np.uint8) if a.dtype.kind == "O" else a.astype(a.dtype.newbyteorder("<"))
    return memoryview(a.reshape(-1).view(np.uint8)) if a.nbytes else memoryview(b"")


def write_plan(plan: P.Plan, edgerun_version: str | None = None) -> bytes:
    """The plan file of a prepared plan (C kernels only: a Python custom op cannot run on a device)."""
    return b"".join(plan_parts(plan, edgerun_version))


def fix_checksum(data: bytes | bytearray) -> bytes:
    """The file with its CRC-32 recomputed (the fuzz test mutates fields, then re-seals some mutants so that
    they reach the structural checks behind the checksum)."""
    out = bytearray(data)
    if len(out) >= 16:
        struct.pack_into("<I", out, 12, zlib.crc32(out[16:]))
    return bytes(out)


# -- reader (tests, printing) ----------------------------------------------------------------------------
class _Cursor:
    def __init__(self, data: bytes, at: int, end: int, what: str):
        self.data, self.at, self.end, self.what = data, at, end, what

    def take(self, fmt: str):
        n = struct.calcsize("<" + fmt)
        if self.at + n > self.end:
            raise PlanFileError(f"{self.what}: truncated at byte {self.at}")
        v = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += n
        return v

    def bytes(self, n: int) -> bytes:
        if n < 0 or self.at + n > self.end:
            raise PlanFileError(f"{self.what}: truncated at byte {self.at}")
        b = self.data[self.at:self.at + n]
        self.at += n
        return b


def read_header(data: bytes) -> dict:
    if len(data) < HEADER_BYTES or data[:8] != MAGIC:
        raise PlanFileError("not an edgerun plan file (bad magic)")
    version, crc, size = struct.unpack_from("<IIQ", data, 8)
    if version != FORMAT_VERSION:
        raise PlanFileError(f"plan format version {version}, this reader knows {FORMAT_VERSION}")
    if size != len(data):
        raise PlanFileError(f"plan file is {len(data)} bytes, its header says {size}")
    if zlib.crc32(data[16:]) != crc:
        raise PlanFileError("plan file checksum mismatch (corrupted)")

    def text(at):
        return data[at:at + 16].split(b"\0")[0].decode()

    arena, alignment, n_sections = struct.unpack_from("<QII", data, 72)
    sections = {}
    for k in range(n_sections):
        sid, _, off, length = struct.unpack_from("<IIQQ", data, HEADER_BYTES + SECTION_ENTRY * k)
        sections[sid] = (off, length)
    return {"version": version, "edgerun_version": text(24), "target": text(40), "isa": text(56),
            "arena_bytes": arena, "alignment": alignment, "sections": sections, "bytes": size}


def read_plan(data: bytes) -> P.Plan:
    """The Plan a file holds (consts come back as uint8 arrays; variable keys as ("plan", index))."""
    h = read_header(data)
    sec = h["sections"]

    def cur(sid):
        off, length = sec[sid]
        return _Cursor(data, off, off + length, SECTION_NAMES[sid])

    s_off, s_len = sec[STRINGS]

    def string(off, length):
        return data[s_off + off:s_off + off + length].decode()

    c = cur(KERNELS)
    kernels = [string(*c.take("II")) for _ in range(c.take("I")[0])]
    c = cur(STRUCTS)
    structs = [string(*c.take("IIII")[:2]) for _ in range(c.take("I")[0])]
    base, _ = sec[PARAMS]
    c = cur(PARAMS)
    n = c.take("I")[0]
    offsets = c.take(f"{n}Q")
    blocks = []
    for off in offsets:
        b = _Cursor(data, base + off, base + sec[PARAMS][1], "params")
        sid, nv = b.take("II")
        ctype = structs[sid]
        leaves = struct_leaves(ctype)
        values = []
        for leaf in leaves[:nv]:
            tag, ident, a, bb = b.take("IIqq")
            if tag == V_INT:
                values.append(a)
            elif tag == V_FLOAT:
                values.append(struct.unpack("<d", struct.pack("<q", a))[0])
            elif tag == V_NULL:
                values.append(None)
            elif tag == V_CONST:
                values.append(P.ConstRef(ident, a))
            elif tag == V_SUBPLAN:
                values.append(P.SubplanRef(ident))
            else:
                values.append(P.VariableRef(ident))
        blocks.append(_unflatten(ctype, values))

    base, _ = sec[SUBPLANS]
    c = cur(SUBPLANS)
    n = c.take("I")[0]
    offsets = c.take(f"{n}Q")
    subplans = []
    for off in offsets:
        r = _Cursor(data, base + off, base + sec[SUBPLANS][1], "subplans")
        sg, nt, no, ni, nout, preserve, aoff, abytes = r.take("iIIIIIqq")
        ins = list(r.take(f"{ni}i"))
        outs = list(r.take(f"{nout}i"))
        tensors = []
        for i in range(nt):
            (name_off, name_len, ttype, storage, offset, nbytes, ndim, *rest) = r.take("IIiiqqi8iiII")
            dims, (qdim, ns, nz) = rest[:8], rest[8:]
            scale = tuple(float(x) for x in np.frombuffer(r.bytes(4 * ns), "<f4"))
            zps = tuple(int(x) for x in np.frombuffer(r.bytes(8 * nz), "<i8"))
            tensors.append(P.PlanTensor(i, string(name_off, name_len), ttype, tuple(dims[:ndim]), scale, zps, qdim,
                                        STORAGE_NAMES[storage], offset, nbytes))
        ops = []
        for _ in range(no):
            kid, index, name_off, name_len, nin, nout2, soff, sbytes, pid = r.take("IiIIIIqqi")
            op_ins = list(r.take(f"{nin}i"))
            op_outs = list(r.take(f"{nout2}i"))
            ops.append(P.PlanOp(index, string(name_off, name_len), kernels[kid], blocks[pid] if pid >= 0 else None,
                                op_ins, op_outs, soff, sbytes))
        subplans.append(P.Subplan(sg, tensors, ops, ins, outs, aoff, abytes, bool(preserve)))

    c = cur(VARIABLES)
    variables = []
    for k in range(c.take("I")[0]):
        name_off, name_len, vtype, ndim, *rest = c.take("IIii8iqi")
        dims, nbytes, initial = rest[:8], rest[8], rest[9]
        variables.append(P.Variable(("plan", k), string(name_off, name_len), vtype, tuple(dims[:ndim]),
                                    None if initial < 0 else initial, nbytes))
    base, _ = sec[CONSTS]
    c = cur(CONSTS)
    n = c.take("II")[0]
    consts = []
    for k in range(n):
        off, length = c.take("QQ")
        consts.append(np.frombuffer(data, np.uint8, length, base + off).copy())
    return P.Plan(subplans, consts, variables, h["arena_bytes"], target=h["target"], isa=h["isa"],
                  alignment=h["alignment"])


def describe(data: bytes) -> str:
    """A printable account of a plan file: header, sections, then the plan."""
    h = read_header(data)
    lines = [f"edgerun plan file v{h['version']} ({h['bytes']:,} B), written by edgerun {h['edgerun_version']} "
             f"for {h['target']}, kernel set {h['isa']}, arena {h['arena_bytes']:,} B aligned {h['alignment']}"]
    for sid, (off, length) in sorted(h["sections"].items()):
        lines.append(f"  section {SECTION_NAMES.get(sid, sid):<10} @{off:<8} {length:,} B")
    lines.append(str(read_plan(data)))
    return "\n".join(lines)

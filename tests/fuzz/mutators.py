"""A structure-aware mutator of TFLite models (issue 12): unpack a model with the flatbuffer object API, change
1-3 fields where hostile files do damage (shapes, types, indices, opcodes, builtin options, quantization,
subgraph and signature tensor lists, buffer lengths, sparsity), pack it again. Deterministic from a seed; each
mutation returns a line saying what it did, so a finding can be read and rebuilt as a small test."""
import inspect
import random
import re
import struct

import flatbuffers
import numpy as np
from edgerun.schema import schema_generated as fb

# Every scalar field's wire type, read from the generated code ("def Conv2DOptionsAddPadding(builder, padding):
# builder.PrependInt8Slot"), so a mutated value always packs: (table, field) -> "Int8", "Uint32", "Float32", ...
_SLOT = re.compile(r"def (\w+?)Add(\w+)\(builder, (\w+)\):\n\s+builder\.Prepend(\w+)Slot\(")
_FIELD_TYPES = {(t, f): k for t, _, f, k in _SLOT.findall(inspect.getsource(fb)) if k != "UOffsetTRelative"}
_RANGES = {"Int8": (-128, 127), "Uint8": (0, 255), "Int16": (-2**15, 2**15 - 1), "Uint16": (0, 2**16 - 1),
           "Int32": (-2**31, 2**31 - 1), "Uint32": (0, 2**32 - 1), "Int64": (-2**63, 2**63 - 1),
           "Uint64": (0, 2**64 - 1)}
_BUILTIN_CODES = sorted(v for k, v in vars(fb.BuiltinOperator).items() if k.isupper())
_TENSOR_TYPES = sorted(v for k, v in vars(fb.TensorType).items() if k.isupper())
_FLOATS = [0.0, -0.0, -1.0, float("nan"), float("inf"), float("-inf"), 1e38, 1e-45, 3.4e38, 0.5]


def unpack(data: bytes) -> fb.ModelT:
    return fb.ModelT.InitFromPackedBuf(data, 0)


def pack(model: fb.ModelT) -> bytes:
    b = flatbuffers.Builder(4096)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _int(rng, kind, old=0, extra=()):
    """A boundary value for an integer field of wire type `kind`: 0, 1, -1, min, max, old +- 1, big powers."""
    lo, hi = _RANGES[kind]
    vals = [0, 1, 2, -1, 3, 6, 7, 8, lo, hi, hi - 1, old + 1, old - 1, -old, 1 << 15, 1 << 16, 1 << 24, 1 << 31,
            1 << 30, *extra]
    v = rng.choice(vals)
    return min(max(v, lo), hi)


def _arr(values, dtype):
    return np.array(values, dtype=dtype)


def _set(rng, a, dtype, choices):
    """A copy of int vector `a` (None: empty) with one element replaced, dropped, duplicated, or two swapped."""
    v = [int(x) for x in (a if a is not None else [])]
    lo, hi = _RANGES[{np.int32: "Int32", np.int64: "Int64", np.uint32: "Uint32"}[dtype]]
    k = rng.randrange(5) if v else 3
    if k <= 1:
        v[rng.randrange(len(v))] = min(max(rng.choice(choices), lo), hi)
    elif k == 2:
        del v[rng.randrange(len(v))]
    elif k == 3:
        v.insert(rng.randrange(len(v) + 1), min(max(rng.choice(choices + v), lo), hi))
    else:
        i, j = rng.randrange(len(v)), rng.randrange(len(v))
        v[i], v[j] = v[j], v[i]
    return _arr(v, dtype)


def _tensors(model):
    return [(s, i, t) for s, sg in enumerate(model.subgraphs or []) for i, t in enumerate(sg.tensors or [])]


def _ops(model):
    return [(s, i, op) for s, sg in enumerate(model.subgraphs or []) for i, op in enumerate(sg.operators or [])]


def _op_name(model, op):
    codes = model.operatorCodes or []
    if op.opcodeIndex < len(codes):
        c = codes[op.opcodeIndex]
        code = max(c.builtinCode, c.deprecatedBuiltinCode)
        return next((k for k, v in vars(fb.BuiltinOperator).items() if v == code and k.isupper()), str(code))
    return f"opcode {op.opcodeIndex}"


# -- mutations: each takes (rng, model), changes it in place and returns what it did (None: nothing to do) ------

def shape(rng, m):
    s, i, t = rng.choice(_tensors(m))
    old = [int(x) for x in (t.shape if t.shape is not None else [])]
    dims = [0, 1, -1, 2, 3, 2**31 - 1, 65536, 1 << 20, -2**31] + [d + 1 for d in old] + [d - 1 for d in old]
    if rng.randrange(4) == 0:
        t.shapeSignature = _set(rng, t.shapeSignature if t.shapeSignature is not None else t.shape, np.int32, dims)
        return f"subgraph {s} tensor {i}: shapeSignature {list(t.shapeSignature)}"
    t.shape = _set(rng, t.shape, np.int32, dims)
    return f"subgraph {s} tensor {i}: shape {old} -> {list(t.shape)}"


def tensor_type(rng, m):
    s, i, t = rng.choice(_tensors(m))
    old, t.type = t.type, rng.choice(_TENSOR_TYPES + [-1, -128, 127, max(_TENSOR_TYPES) + 1])
    return f"subgraph {s} tensor {i}: type {old} -> {t.type}"


def tensor_flags(rng, m):
    s, i, t = rng.choice(_tensors(m))
    t.isVariable = not t.isVariable
    return f"subgraph {s} tensor {i}: isVariable {t.isVariable}"


def buffer_index(rng, m):
    s, i, t = rng.choice(_tensors(m))
    nb = len(m.buffers or [])
    old, t.buffer = t.buffer, rng.choice([0, nb, nb - 1, 2**32 - 1, 2**31, rng.randrange(max(nb, 1))])
    t.buffer = max(t.buffer, 0)
    return f"subgraph {s} tensor {i}: buffer {old} -> {t.buffer}"


def op_tensors(rng, m):
    ops = _ops(m)
    if not ops:
        return None
    s, i, op = rng.choice(ops)
    sg = m.subgraphs[s]
    nt = len(sg.tensors or [])
    consts = [j for j, t in enumerate(sg.tensors or []) if t.buffer and t.buffer < len(m.buffers or [])
              and m.buffers[t.buffer].data is not None and len(m.buffers[t.buffer].data)]
    choices = [-1, -2, nt, nt + 1, 2**31 - 1, rng.randrange(max(nt, 1))] + consts[:1] * 2
    if consts:
        choices.append(rng.choice(consts))
    which = rng.choice(["inputs", "outputs"])
    setattr(op, which, _set(rng, getattr(op, which), np.int32, choices))
    return f"subgraph {s} op {i} {_op_name(m, op)}: {which} {list(getattr(op, which))}"


def opcode(rng, m):
    ops = _ops(m)
    codes = m.operatorCodes or []
    if rng.randrange(2) and ops:
        s, i, op = rng.choice(ops)
        old, op.opcodeIndex = op.opcodeIndex, rng.choice([len(codes), 2**32 - 1, rng.randrange(max(len(codes), 1))])
        return f"subgraph {s} op {i}: opcodeIndex {old} -> {op.opcodeIndex}"
    if not codes:
        return None
    j = rng.randrange(len(codes))
    c = codes[j]
    code = rng.choice(_BUILTIN_CODES + [-1, max(_BUILTIN_CODES) + 1, 2**31 - 1, 32])
    if rng.randrange(3) == 0:
        c.deprecatedBuiltinCode = min(max(code, -128), 127)
        return f"operatorCodes[{j}]: deprecatedBuiltinCode -> {c.deprecatedBuiltinCode}"
    c.builtinCode = code
    c.deprecatedBuiltinCode = min(code, 127) if 0 <= code else c.deprecatedBuiltinCode
    return f"operatorCodes[{j}]: builtinCode -> {code}"


def options(rng, m):
    ops = [o for o in _ops(m) if o[2].builtinOptions is not None]
    if not ops:
        return None
    s, i, op = rng.choice(ops)
    opts = op.builtinOptions
    table = type(opts).__name__[:-1]
    fields = [f for f in vars(opts) if (table, f) in _FIELD_TYPES]
    if not fields or rng.randrange(12) == 0:
        op.builtinOptions, op.builtinOptionsType = None, 0
        return f"subgraph {s} op {i} {_op_name(m, op)}: builtin options dropped"
    f = rng.choice(fields)
    kind = _FIELD_TYPES[(table, f)]
    old = getattr(opts, f)
    if kind == "Bool":
        new = not old
    elif kind.startswith("Float"):
        new = rng.choice(_FLOATS)
    else:
        n = len(m.subgraphs)
        extra = (n, n - 1, s) if "Subgraph" in f or "subgraph" in f else (4, 5, 10, 100)
        new = _int(rng, kind, int(old), extra)
    setattr(opts, f, new)
    return f"subgraph {s} op {i} {_op_name(m, op)}: {table}.{f} {old} -> {new}"


def quantization(rng, m):
    s, i, t = rng.choice(_tensors(m))
    q = t.quantization
    if q is None or q.scale is None or not len(q.scale):
        q = t.quantization = q or fb.QuantizationParametersT()
        q.scale, q.zeroPoint = _arr([0.5], np.float32), _arr([0], np.int64)
        return f"subgraph {s} tensor {i}: quantization added (0.5, 0)"
    k = rng.randrange(5)
    if k == 0:
        sc = np.array(q.scale, np.float32)
        sc[rng.randrange(len(sc))] = rng.choice(_FLOATS)
        q.scale = sc
        return f"subgraph {s} tensor {i}: scale {list(sc)[:4]}"
    if k == 1:
        zp = [int(z) for z in (q.zeroPoint if q.zeroPoint is not None else [0])] or [0]
        zp[rng.randrange(len(zp))] = rng.choice([128, -129, 255, 256, -2**31, 2**31, 2**63 - 1, -2**63, 32768])
        q.zeroPoint = _arr(zp, np.int64)
        return f"subgraph {s} tensor {i}: zeroPoint {zp[:4]}"
    if k == 2:  # per-channel count mismatch
        which = rng.choice(["scale", "zeroPoint"])
        a = getattr(q, which)
        a = np.array(a if a is not None else [], np.float32 if which == "scale" else np.int64)
        a = a[:-1] if len(a) > 1 and rng.randrange(2) else np.concatenate([a, a[:1] if len(a) else a.dtype.type([1])])
        setattr(q, which, a)
        return f"subgraph {s} tensor {i}: {which} count -> {len(a)}"
    if k == 3:
        rank = len(t.shape) if t.shape is not None else 0
        old, q.quantizedDimension = q.quantizedDimension, rng.choice([-1, rank, rank + 1, 2**31 - 1, -2**31, 0])
        return f"subgraph {s} tensor {i}: quantizedDimension {old} -> {q.quantizedDimension}"
    t.quantization = None
    return f"subgraph {s} tensor {i}: quantization removed"


def subgraph_io(rng, m):
    s = rng.randrange(len(m.subgraphs))
    sg = m.subgraphs[s]
    nt = len(sg.tensors or [])
    which = rng.choice(["inputs", "outputs"])
    setattr(sg, which, _set(rng, getattr(sg, which), np.int32,
                            [-1, nt, 2**31 - 1, rng.randrange(max(nt, 1)), rng.randrange(max(nt, 1))]))
    return f"subgraph {s}: {which} {list(getattr(sg, which))}"


def signature(rng, m):
    sigs = m.signatureDefs or []
    maps = [(j, w, k) for j, d in enumerate(sigs) for w in ("inputs", "outputs") for k in range(len(getattr(d, w) or []))]
    if not sigs:
        return None
    if not maps or rng.randrange(4) == 0:
        j = rng.randrange(len(sigs))
        old = sigs[j].subgraphIndex
        sigs[j].subgraphIndex = rng.choice([len(m.subgraphs), 2**32 - 1, 1, 0])
        return f"signatureDefs[{j}]: subgraphIndex {old} -> {sigs[j].subgraphIndex}"
    j, w, k = rng.choice(maps)
    tm = getattr(sigs[j], w)[k]
    nt = len(m.subgraphs[0].tensors or [])
    old, tm.tensorIndex = tm.tensorIndex, rng.choice([nt, 2**32 - 1, 2**31, rng.randrange(max(nt, 1))])
    return f"signatureDefs[{j}].{w}[{k}]: tensorIndex {old} -> {tm.tensorIndex}"


def buffer_data(rng, m):
    full = [j for j, b in enumerate(m.buffers or []) if b.data is not None and len(b.data)]
    if not full:
        return None
    j = rng.choice(full)
    d = np.asarray(m.buffers[j].data, np.uint8)
    k = rng.randrange(4)
    if k == 0:
        m.buffers[j].data = d[: rng.randrange(len(d))].copy()
    elif k == 1:
        m.buffers[j].data = np.concatenate([d, np.full(rng.choice([1, 3, 4, 64]), 0x7F, np.uint8)])
    elif k == 2:
        m.buffers[j].data = None
    else:  # values at the edges (int8 -128, int32 0x80000000, float NaN/inf bit patterns)
        d = d.copy()
        p = rng.randrange(len(d))
        d[p:p + 4] = np.frombuffer(rng.choice([b"\x00\x00\x00\x80", b"\xff\xff\xff\x7f", b"\x00\x00\xc0\x7f",
                                               b"\x00\x00\x80\x7f", b"\x80\x80\x80\x80"]), np.uint8)[: len(d) - p]
        m.buffers[j].data = d
        return f"buffers[{j}]: edge value at byte {p}"
    return f"buffers[{j}]: data length {len(d)} -> {0 if m.buffers[j].data is None else len(m.buffers[j].data)}"


def sparsity(rng, m):
    s, i, t = rng.choice(_tensors(m))
    rank = len(t.shape) if t.shape is not None else 0
    sp = t.sparsity
    if sp is None:
        sp = t.sparsity = fb.SparsityParametersT()
        sp.traversalOrder = _arr(list(range(rank)), np.int32)
        sp.dimMetadata = []
        for d in range(rank):
            dm = fb.DimensionMetadataT()
            dm.format = rng.choice([0, 0, 1])
            dm.denseSize = int(t.shape[d]) if d < rank else 1
            if dm.format == 1:
                dm.arraySegmentsType, dm.arraySegments = 1, fb.Int32VectorT()
                dm.arraySegments.values = _arr([0, 1], np.int32)
                dm.arrayIndicesType, dm.arrayIndices = 1, fb.Int32VectorT()
                dm.arrayIndices.values = _arr([0], np.int32)
            sp.dimMetadata.append(dm)
        return f"subgraph {s} tensor {i}: sparsity added ({[d.format for d in sp.dimMetadata]})"
    k = rng.randrange(4)
    if k == 0:
        sp.traversalOrder = _set(rng, sp.traversalOrder, np.int32, [-1, rank, rank + 1, 0, 2**31 - 1])
        return f"subgraph {s} tensor {i}: traversalOrder {list(sp.traversalOrder)}"
    if k == 1:
        sp.blockMap = _set(rng, sp.blockMap, np.int32, [-1, rank, 0, 1, 2**31 - 1])
        return f"subgraph {s} tensor {i}: blockMap {list(sp.blockMap)}"
    if not sp.dimMetadata:
        return None
    dm = rng.choice(sp.dimMetadata)
    if k == 2:
        dm.denseSize = _int(rng, "Int32", dm.denseSize)
        dm.format = rng.choice([0, 1, 2, -1])
        return f"subgraph {s} tensor {i}: dim metadata format {dm.format} denseSize {dm.denseSize}"
    vec = dm.arrayIndices if rng.randrange(2) else dm.arraySegments
    if vec is None or getattr(vec, "values", None) is None:
        return None
    vals = [int(x) for x in vec.values] or [0]
    vals[rng.randrange(len(vals))] = rng.choice([-1, 2**31 - 1, 65535, 255, len(vals) + 5])
    dt = {fb.Int32VectorT: np.int32, fb.Uint16VectorT: np.uint16, fb.Uint8VectorT: np.uint8}[type(vec)]
    info = np.iinfo(dt)
    vec.values = _arr([min(max(v, info.min), info.max) for v in vals], dt)
    return f"subgraph {s} tensor {i}: sparse index vector {vals[:6]}"


def op_order(rng, m):
    ops = _ops(m)
    if not ops:
        return None
    s, i, op = rng.choice(ops)
    sg = m.subgraphs[s]
    if rng.randrange(2):
        sg.operators.insert(rng.randrange(len(sg.operators) + 1), sg.operators.pop(i))
        return f"subgraph {s} op {i} {_op_name(m, op)} moved"
    del sg.operators[i]
    return f"subgraph {s} op {i} {_op_name(m, op)} deleted"


MUTATIONS = [shape, shape, tensor_type, tensor_flags, buffer_index, op_tensors, op_tensors, opcode, options,
             options, options, quantization, quantization, subgraph_io, signature, buffer_data, sparsity, op_order]


def mutate(model: fb.ModelT, rng: random.Random, count: int | None = None) -> list[str]:
    """Apply `count` (default 1-3) mutations to `model` in place; returns what each did."""
    done = []
    for _ in range(count or rng.choice([1, 1, 2, 3])):
        for _ in range(8):  # a mutation may find nothing to change (no ops with options, no signatures)
            what = rng.choice(MUTATIONS)(rng, model) if model.subgraphs and _tensors(model) else None
            if what:
                done.append(what)
                break
    return done


def mutant(data: bytes, seed: int, count: int | None = None) -> tuple[bytes, list[str]]:
    """The structured mutant `seed` of model bytes `data` and what was changed. Same inputs, same bytes."""
    rng = random.Random(seed)
    for _ in range(4):
        model = unpack(data)
        what = mutate(model, rng, count)
        try:
            return pack(model), what
        except (OverflowError, ValueError, TypeError, AttributeError, struct.error) as e:  # a value the wire type cannot hold
            what.append(f"(pack failed: {e}; retried)")
    return data, ["unchanged"]

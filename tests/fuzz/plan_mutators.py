"""A structure-aware mutator of plan files (issue 12): parse a plan file into its records (the layout of
platforms/lib/PLAN_FORMAT.md: header, section table, kernels, structs, params blocks, subplans with their
tensor and op records, variables, consts), change 1-3 fields or records where hostile files do damage (counts,
offsets, lengths, tensor ids, types, dims, kernel and params indices, quantization, subplan references, const
ranges; boundary values, other valid indices, swapped, dropped or duplicated records, truncated tables), and
write it back with its section table, offset tables, file length and CRC-32 recomputed, so that a mutant gets
past the checksum and reaches the structural checks and the kernels. Deterministic from a seed; each mutation
returns a line saying what it did, so a finding reads as a small edit.

    raw = parse(data); what = mutate(raw, random.Random(seed)); mutant = write(raw)
    mutant(data, seed) -> (bytes, [what])      # the same in one call

The records are plain lists and dicts of integers (not runtime.plan objects): a mutant may hold what no Plan
can (a count that disagrees with its table, a tensor id past the end, a tag that does not exist)."""
from __future__ import annotations

import random
import re
import struct
import zlib

HEADER = 96
ENTRY = 24
N_SECTIONS = 7
I32_MAX, I32_MIN = 2**31 - 1, -(2**31)
# header fields a mutation may set: name -> (offset, struct format)
HEADER_FIELDS = {"version": (8, "I"), "arena_bytes": (72, "Q"), "alignment": (80, "I"), "n_sections": (84, "I")}
KERNEL_SETS = [b"ref", b"portable", b"sse2", b"avx2", b"neon", b"neon-dotprod", b"", b"x" * 15]
# the record layouts (field names in file order, struct format)
SUBPLAN_HEAD = (["subgraph", "n_tensors", "n_ops", "n_inputs", "n_outputs", "preserve_inputs", "arena_offset",
                 "arena_bytes"], "iIIIIIqq")
TENSOR = (["name_off", "name_len", "type", "storage", "offset", "bytes", "ndim"] + [f"dims[{k}]" for k in range(8)]
          + ["quant_dim", "n_scales", "n_zero_points"], "IIiiqqi8iiII")
OP = (["kernel", "index", "name_off", "name_len", "n_in", "n_out", "scratch_offset", "scratch_bytes", "params"],
      "IiIIIIqqi")
VARIABLE = (["name_off", "name_len", "type", "ndim"] + [f"dims[{k}]" for k in range(8)] + ["bytes", "initial"],
            "IIii8iqi")
# counts a record states, checked against its lists on write unless a mutation set them on purpose
DERIVED = {"n_tensors": "tensors", "n_ops": "ops", "n_inputs": "inputs", "n_outputs": "outputs"}


class ParseError(ValueError):
    pass


def _mask(fmt: str, values):
    """Values wrapped to their field's width (a mutant may hold any bit pattern), for unsigned packing."""
    out = []
    for c, v in zip(fmt, values):
        if c in "iI":
            out.append(int(v) % (1 << 32))
        elif c in "qQ":
            out.append(int(v) % (1 << 64))
        else:
            out.append(v)
    return out


def _pack(fmt: str, values) -> bytes:
    fmt = "".join(c * int(n or 1) for n, c in re.findall(r"(\d*)(\D)", fmt))  # "2i3q" -> "iiqqq"
    return struct.pack("<" + fmt.replace("i", "I").replace("q", "Q"), *_mask(fmt, values))


class _Reader:
    def __init__(self, data: bytes, at: int, end: int):
        self.data, self.at, self.end = data, at, end

    def take(self, fmt: str):
        n = struct.calcsize("<" + fmt)
        if self.at + n > self.end:
            raise ParseError(f"truncated at {self.at}")
        v = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += n
        return list(v)


def parse(data: bytes) -> dict:
    """The records of a plan file, as written by planfile.write_plan (ParseError when it cannot be read)."""
    if len(data) < HEADER + ENTRY * N_SECTIONS or data[:8] != b"EDGERUNP":
        raise ParseError("not a plan file")
    sections = {}
    for k in range(N_SECTIONS):
        sid, _, off, length = struct.unpack_from("<IIQQ", data, HEADER + ENTRY * k)
        if sid != k + 1 or off + length > len(data):
            raise ParseError(f"section table entry {k}")
        sections[sid] = (off, length)

    def reader(sid):
        off, length = sections[sid]
        return _Reader(data, off, off + length)

    raw = {"header": bytearray(data[:HEADER]), "patches": [], "strings": bytearray(data[slice(
        sections[1][0], sum(sections[1]))])}
    r = reader(2)
    raw["kernels"] = [r.take("II") for _ in range(r.take("I")[0])]
    r = reader(3)
    raw["structs"] = [r.take("IIII") for _ in range(r.take("I")[0])]
    base, length = sections[4]
    r = reader(4)
    n = r.take("I")[0]
    raw["params"] = []
    for off in r.take(f"{n}Q"):
        b = _Reader(data, base + off, base + length)
        sid, nv = b.take("II")
        raw["params"].append({"struct": sid, "count": nv, "values": [b.take("IIqq") for _ in range(nv)]})
    base, length = sections[5]
    r = reader(5)
    n = r.take("I")[0]
    raw["subplans"] = []
    for off in r.take(f"{n}Q"):
        b = _Reader(data, base + off, base + length)
        head = dict(zip(SUBPLAN_HEAD[0], b.take(SUBPLAN_HEAD[1])))
        sp = {"head": head, "inputs": b.take(f"{head['n_inputs']}i"), "outputs": b.take(f"{head['n_outputs']}i"),
              "tensors": [], "ops": []}
        for _ in range(head["n_tensors"]):
            t = dict(zip(TENSOR[0], b.take(TENSOR[1])))
            t["scales"] = b.take(f"{t['n_scales']}f")
            t["zero_points"] = b.take(f"{t['n_zero_points']}q")
            sp["tensors"].append(t)
        for _ in range(head["n_ops"]):
            op = dict(zip(OP[0], b.take(OP[1])))
            op["ins"], op["outs"] = b.take(f"{op['n_in']}i"), b.take(f"{op['n_out']}i")
            sp["ops"].append(op)
        raw["subplans"].append(sp)
    r = reader(6)
    raw["variables"] = [dict(zip(VARIABLE[0], r.take(VARIABLE[1]))) for _ in range(r.take("I")[0])]
    base, _ = sections[7]
    r = reader(7)
    n = r.take("II")[0]
    raw["consts"] = []
    for _ in range(n):
        off, length = r.take("QQ")
        if base + off + length > len(data):
            raise ParseError("const outside the file")
        raw["consts"].append({"data": bytes(data[base + off:base + off + length]), "bytes": None})
    return raw


def _align(b: bytearray, n: int):
    b += bytes(-len(b) % n)


def write(raw: dict) -> bytes:
    """The plan file of the records: sections laid out as the writer does, offset tables, file length and CRC-32
    recomputed; counts a mutation set (record fields disagreeing with their lists) are written as set."""
    kern = bytearray(_pack("I", [len(raw["kernels"])]))
    for k in raw["kernels"]:
        kern += _pack("II", k)
    st = bytearray(_pack("I", [len(raw["structs"])]))
    for s in raw["structs"]:
        st += _pack("IIII", s)
    par = bytearray(_pack("I", [len(raw["params"])]))
    table = len(par)
    par += bytes(8 * len(raw["params"]))
    for k, blk in enumerate(raw["params"]):
        _align(par, 8)
        par[table + 8 * k:table + 8 * k + 8] = _pack("Q", [blk.get("offset", len(par))])
        par += _pack("II", [blk["struct"], blk["count"]])
        for v in blk["values"]:
            par += _pack("IIqq", v)
    sub = bytearray(_pack("I", [len(raw["subplans"])]))
    table = len(sub)
    sub += bytes(8 * len(raw["subplans"]))
    for k, sp in enumerate(raw["subplans"]):
        _align(sub, 8)
        sub[table + 8 * k:table + 8 * k + 8] = _pack("Q", [sp.get("offset", len(sub))])
        sub += _pack(SUBPLAN_HEAD[1], [sp["head"][f] for f in SUBPLAN_HEAD[0]])
        sub += _pack(f"{len(sp['inputs'])}i{len(sp['outputs'])}i", sp["inputs"] + sp["outputs"])
        for t in sp["tensors"]:
            sub += _pack(TENSOR[1], [t[f] for f in TENSOR[0]])
            sub += struct.pack(f"<{len(t['scales'])}f", *t["scales"])
            sub += _pack(f"{len(t['zero_points'])}q", t["zero_points"])
        for op in sp["ops"]:
            sub += _pack(OP[1], [op[f] for f in OP[0]])
            sub += _pack(f"{len(op['ins'])}i{len(op['outs'])}i", op["ins"] + op["outs"])
    var = bytearray(_pack("I", [len(raw["variables"])]))
    for v in raw["variables"]:
        var += _pack(VARIABLE[1], [v[f] for f in VARIABLE[0]])
    con = bytearray(_pack("II", [len(raw["consts"]), 0]))
    table = len(con)
    con += bytes(16 * len(raw["consts"]))
    for k, c in enumerate(raw["consts"]):
        _align(con, 16)
        size = len(c["data"]) if c["bytes"] is None else c["bytes"]
        con[table + 16 * k:table + 16 * k + 16] = _pack("QQ", [c.get("offset", len(con)), size])
        con += c["data"]
    body, entries = bytearray(), bytearray()
    at = HEADER + ENTRY * N_SECTIONS
    at += -at % 16
    for sid, blob in enumerate([raw["strings"], kern, st, par, sub, var, con], 1):
        _align(body, 16)
        entries += _pack("IIQQ", [sid, 0, at + len(body), len(blob)])
        body += blob
    _align(body, 16)
    out = bytearray(raw["header"][:HEADER]) + entries
    _align(out, 16)
    out += body
    for at, fmt, value in raw["patches"]:  # header and section table fields a mutation set
        out[at:at + struct.calcsize("<" + fmt)] = _pack(fmt, [value])
    return reseal(out)


def reseal(m: bytearray) -> bytes:
    """A correct file length and CRC-32 for whatever the bytes now are (the length only when there is room)."""
    m = bytearray(m)
    if len(m) >= 24:
        m[16:24] = struct.pack("<Q", len(m))
    if len(m) >= 16:
        m[12:16] = struct.pack("<I", zlib.crc32(m[16:]))
    return bytes(m)


# -- values --------------------------------------------------------------------------------------------------
def _value(rng: random.Random, old: int, counts=()) -> int:
    """A boundary value for an integer field: 0, +-1, the 32- and 64-bit edges, old +- 1, old doubled or shifted,
    and the counts and sizes of the file (count, count + 1, count - 1: one past a table's end)."""
    c = list(counts)
    return rng.choice([0, 1, -1, 2, 3, 7, 8, 16, 255, 65535, I32_MAX, I32_MIN, I32_MAX - 1, 2**31, 2**32 - 1, 2**32,
                       2**62, 2**63 - 1, -(2**63), old + 1, old - 1, -old, old * 2, old << 16, old + 16,
                       old ^ (1 << rng.randrange(40))] + c + [x + 1 for x in c] + [x - 1 for x in c])


def _sizes(raw) -> list:
    """Counts and sizes of this file that make good wrong values: table lengths, const and arena sizes."""
    out = [len(raw["kernels"]), len(raw["structs"]), len(raw["params"]), len(raw["subplans"]), len(raw["consts"]),
           len(raw["variables"]), len(raw["strings"]), int.from_bytes(raw["header"][72:80], "little")]
    out += [len(c["data"]) for c in raw["consts"][:8]]
    for sp in raw["subplans"]:
        out += [len(sp["tensors"]), sp["head"]["arena_bytes"], sp["head"]["arena_offset"]]
    return out


def _idx(rng, n: int) -> int:
    """A valid index of a table of n records (0 when it is empty: one past its end)."""
    return rng.randrange(n) if n > 0 else 0


def _pick(rng, items):
    return rng.randrange(len(items)) if items else None


def _tensor_id(rng, sp, raw, old):
    """Another valid tensor id of the subplan, or -1, the count, one past, or a boundary."""
    n = len(sp["tensors"])
    if rng.random() < 0.5 and n:
        return rng.randrange(n)
    return rng.choice([-1, n, n + 1, I32_MAX, I32_MIN, old + 1, -2])


def _leaf_names(raw) -> dict:
    """struct index -> leaf paths (planfile.struct_leaves), when the names resolve with the kernels' headers."""
    out = {}
    try:
        from edgerun.platforms import planfile as pf
    except ImportError:
        return out
    for k, (off, length, _, _) in enumerate(raw["structs"]):
        try:
            out[k] = [p for p, *_ in pf.struct_leaves(bytes(raw["strings"][off:off + length]).decode())]
        except Exception:  # noqa: BLE001, S110 - a name the headers do not know (a mutant of a mutant)
            pass
    return out


# -- mutations: each (rng, raw) -> a line saying what it did, or None when it found nothing to do ---------
def header_field(rng, raw):
    name = rng.choice(list(HEADER_FIELDS))
    at, fmt = HEADER_FIELDS[name]
    old = struct.unpack_from("<" + fmt, raw["header"], at)[0]
    v = rng.choice([0, 1, 2, 8, 15, 16, 17, 32, 4096, 8192, 2**31, 2**32 - 1, 2**62, old + 1, old - 1, old * 2])
    raw["patches"].append((at, fmt, v))
    return f"header {name} {old} -> {v}"


def kernel_set(rng, raw):
    old = bytes(raw["header"][56:72]).split(b"\0")[0]
    new = rng.choice([s for s in KERNEL_SETS if s != old] + [b"x" * 16])  # 16 bytes: not NUL-terminated
    raw["header"][56:72] = new[:16] + bytes(16 - len(new[:16]))
    return f"header kernel set {old.decode()} -> {new.decode()}"


def section_entry(rng, raw):
    k = rng.randrange(N_SECTIONS)
    field, fmt = rng.choice([("offset", "Q"), ("length", "Q"), ("id", "I")])
    v = _value(rng, 0, _sizes(raw) + [HEADER + ENTRY * N_SECTIONS])
    if field == "id":
        v = rng.choice([0, k, k + 2, 8, 2**32 - 1])
    raw["patches"].append((HEADER + ENTRY * k + {"id": 0, "offset": 8, "length": 16}[field], fmt, v))
    return f"section table entry {k} {field} -> {v}"


def string_ref(rng, raw):
    """A name reference (kernel, struct, tensor, op, variable) pointing elsewhere: past the end, at no NUL, at
    another name."""
    refs = [(f"kernel {k}", r) for k, r in enumerate(raw["kernels"])] + \
        [(f"struct {k}", r) for k, r in enumerate(raw["structs"])] + \
        [(f"subplan {s} tensor {k}", t) for s, sp in enumerate(raw["subplans"]) for k, t in enumerate(sp["tensors"])]
    refs += [(f"subplan {s} op record {k}", op) for s, sp in enumerate(raw["subplans"])
             for k, op in enumerate(sp["ops"])]
    if not refs:
        return None
    where, rec = rng.choice(refs)
    n = len(raw["strings"])
    keys = (0, 1) if isinstance(rec, list) else ("name_off", "name_len")
    key = rng.choice(keys)
    v = rng.choice([0, n, n - 1, n + 1, 2**32 - 1, 2**31, rec[key] + 1, rec[key] - 1]) % 2**32
    old, rec[key] = rec[key], v
    return f"{where} name {'offset' if key in (0, 'name_off') else 'length'} {old} -> {v}"


def kernel_record(rng, raw):
    """A kernel list entry renamed to another kernel's name (a valid name, the wrong kernel) or swapped."""
    if len(raw["kernels"]) < 2:
        return None
    a, b = rng.sample(range(len(raw["kernels"])), 2)
    if rng.random() < 0.5:
        raw["kernels"][a] = list(raw["kernels"][b])
        return f"kernel {a} renamed to kernel {b}'s name"
    raw["kernels"][a], raw["kernels"][b] = raw["kernels"][b], raw["kernels"][a]
    return f"kernels {a} and {b} swapped"


def struct_record(rng, raw):
    k = _pick(rng, raw["structs"])
    if k is None:
        return None
    f = rng.choice([2, 3])
    old = raw["structs"][k][f]
    raw["structs"][k][f] = rng.choice([0, old + 1, old - 1, 2**32 - 1]) % 2**32
    return f"struct {k} {'leaf count' if f == 2 else 'signature'} {old} -> {raw['structs'][k][f]}"


def params_value(rng, raw):
    """One leaf of a params block: integers to boundary values, floats to NaN/inf/0/huge, pointers to another
    const/variable/subplan or past its end, tags to another tag. WHILE's max_iterations is left alone: a plan
    without a loop limit may loop by design (include/edgerun_runtime.h)."""
    blocks = [(k, b) for k, b in enumerate(raw["params"]) if b["values"]]
    if not blocks:
        return None
    k, blk = rng.choice(blocks)
    names = _leaf_names(raw).get(blk["struct"], [])
    j = rng.randrange(len(blk["values"]))
    leaf = names[j] if j < len(names) else f"value {j}"
    if leaf == "max_iterations":
        return None
    v = blk["values"][j]
    tag = v[0]
    where = f"params block {k} {leaf}"
    if rng.random() < 0.1:
        v[0] = rng.choice([t for t in range(7) if t != tag] + [2**32 - 1])
        return f"{where} tag {tag} -> {v[0]}"
    if tag == 0:
        old, v[2] = v[2], _value(rng, v[2], _sizes(raw))
        return f"{where} {old} -> {v[2]}"
    if tag == 1:
        x = rng.choice([0.0, -0.0, -1.0, float("nan"), float("inf"), float("-inf"), 1e300, 3.5e38, 1e-45, 2.0**31])
        old, v[2] = v[2], struct.unpack("<q", struct.pack("<d", x))[0]
        return f"{where} float -> {x}"
    if tag in (3, 5):  # a pointer into a const or variable: another one, or an offset/length past its end
        pool = raw["consts"] if tag == 3 else raw["variables"]
        f = rng.choice([1, 2, 3])
        if f == 1:
            v[1] = rng.choice([_idx(rng, len(pool)), len(pool), len(pool) + 1, 2**32 - 1])
            return f"{where} {'const' if tag == 3 else 'variable'} id -> {v[1]}"
        old, v[f] = v[f], _value(rng, v[f], _sizes(raw))
        return f"{where} pointer {'offset' if f == 2 else 'length'} {old} -> {v[f]}"
    if tag == 4:  # a subplan: another one (the op's own: a cycle), past the end
        n = len(raw["subplans"])
        old, v[1] = v[1], rng.choice([0, _idx(rng, n), n, n + 1, 2**32 - 1, v[1] + 1])
        return f"{where} subplan {old} -> {v[1]}"
    v[:] = [rng.choice([3, 4, 5]), rng.randrange(3), rng.choice([0, 8, -8]), rng.choice([0, 4, 2**31])]
    return f"{where} NULL -> {v}"


def params_block(rng, raw):
    """A block's struct index or value count changed, values dropped (a truncated table) or added."""
    k = _pick(rng, raw["params"])
    if k is None:
        return None
    blk = raw["params"][k]
    kind = rng.randrange(4)
    if kind == 0:
        old, blk["struct"] = blk["struct"], rng.choice([_idx(rng, len(raw["structs"])), len(raw["structs"]),
                                                        2**32 - 1])
        return f"params block {k} struct {old} -> {blk['struct']}"
    if kind == 1:
        old, blk["count"] = blk["count"], _value(rng, blk["count"]) % 2**32
        return f"params block {k} value count {old} -> {blk['count']}"
    if kind == 2 and blk["values"]:
        cut = rng.randrange(len(blk["values"]))
        del blk["values"][cut:]
        return f"params block {k} values cut after {cut} (count says {blk['count']})"
    blk["offset"] = _value(rng, 0, _sizes(raw))
    return f"params block {k} offset -> {blk['offset']}"


_EMPTY = {"head": dict.fromkeys(SUBPLAN_HEAD[0], 0), "inputs": [], "outputs": [], "tensors": [], "ops": []}


def _subplan(rng, raw):
    """A subplan and its index (a detached empty one when a mutation dropped them all)."""
    s = _pick(rng, raw["subplans"])
    return (s, raw["subplans"][s]) if s is not None else (0, {**_EMPTY, "head": dict(_EMPTY["head"])})


def subplan_head(rng, raw):
    s, sp = _subplan(rng, raw)
    field = rng.choice(SUBPLAN_HEAD[0])
    old = sp["head"][field]
    sp["head"][field] = _value(rng, old, _sizes(raw))
    if field == "preserve_inputs":
        sp["head"][field] = rng.choice([0, 1, 2])
    return f"subplan {s} {field} {old} -> {sp['head'][field]}"


def subplan_io(rng, raw):
    s, sp = _subplan(rng, raw)
    which = rng.choice(["inputs", "outputs"])
    ids = sp[which]
    if ids and rng.random() < 0.7:
        j = rng.randrange(len(ids))
        old, ids[j] = ids[j], _tensor_id(rng, sp, raw, ids[j])
        return f"subplan {s} {which}[{j}] {old} -> {ids[j]}"
    if ids and rng.random() < 0.5:
        ids.pop()
        sp["head"]["n_" + which] = len(ids) if rng.random() < 0.5 else len(ids) + 1
        return f"subplan {s} last of {which} dropped, count {sp['head']['n_' + which]}"
    ids.append(_tensor_id(rng, sp, raw, 0))
    sp["head"]["n_" + which] = len(ids)
    return f"subplan {s} {which} gets {ids[-1]}"


TENSOR_NUMBERS = ["type", "storage", "offset", "bytes", "ndim", "quant_dim"] + [f"dims[{k}]" for k in range(8)]


def tensor_field(rng, raw):
    s, sp = _subplan(rng, raw)
    t = _pick(rng, sp["tensors"])
    if t is None:
        return None
    rec = sp["tensors"][t]
    field = rng.choice(TENSOR_NUMBERS)
    old = rec[field]
    if field == "type":
        v = rng.choice(list(range(18)) + [-1, 255, I32_MAX])
    elif field == "storage":
        v = rng.choice([0, 1, 2, 3, 4, -1])
    elif field == "offset" and rec["storage"] in (2, 3):  # a const/variable id: another one or past the end
        n = len(raw["consts"] if rec["storage"] == 2 else raw["variables"])
        v = rng.choice([_idx(rng, n), n, n + 1, -1, I32_MAX])
    elif field == "ndim":
        v = rng.choice([0, 1, 8, 9, -1, old + 1, old - 1])
    else:
        v = _value(rng, old, _sizes(raw))
    rec[field] = v
    return f"subplan {s} tensor {t} {field} {old} -> {v}"


def tensor_quant(rng, raw):
    """Quantization: a scale to NaN/inf/0/negative, a zero point to a boundary, per-channel counts that disagree
    with the shape or with each other, the quantized dimension out of range."""
    s, sp = _subplan(rng, raw)
    cands = [k for k, t in enumerate(sp["tensors"]) if t["scales"] or t["zero_points"]] or \
        list(range(len(sp["tensors"])))
    if not cands:
        return None
    t = rng.choice(cands)
    rec = sp["tensors"][t]
    kind = rng.randrange(5)
    if kind == 0 and rec["scales"]:
        j = rng.randrange(len(rec["scales"]))
        rec["scales"][j] = rng.choice([0.0, -1.0, float("nan"), float("inf"), 1e-45, 3.4e38, 1e-30])
        return f"subplan {s} tensor {t} scale[{j}] -> {rec['scales'][j]}"
    if kind == 1 and rec["zero_points"]:
        j = rng.randrange(len(rec["zero_points"]))
        rec["zero_points"][j] = rng.choice([-129, 128, 255, 256, -32769, 32768, I32_MAX, I32_MIN, 2**62, -(2**63)])
        return f"subplan {s} tensor {t} zero_point[{j}] -> {rec['zero_points'][j]}"
    if kind == 2:
        key = rng.choice(["scales", "zero_points"])
        if rec[key] and rng.random() < 0.5:
            rec[key].pop()
        else:
            rec[key].append(1.0 if key == "scales" else 0)
        rec["n_" + key] = len(rec[key])
        return f"subplan {s} tensor {t} {len(rec[key])} {key}"
    if kind == 3:
        old, rec["quant_dim"] = rec["quant_dim"], rng.choice([-1, 8, rec["ndim"], rec["ndim"] - 1, I32_MAX])
        return f"subplan {s} tensor {t} quant_dim {old} -> {rec['quant_dim']}"
    key = rng.choice(["n_scales", "n_zero_points"])
    old, rec[key] = rec[key], rng.choice([rec[key] + 1, 2**32 - 1, 2**31])  # the count outruns the values
    return f"subplan {s} tensor {t} {key} {old} -> {rec[key]}"


def op_tensor(rng, raw):
    """An op's input or output: another tensor of its subplan (wrong shape or type, an op's own output, a
    const as an output), -1 (absent), past the end; or one more or one fewer."""
    s, sp = _subplan(rng, raw)
    k = _pick(rng, sp["ops"])
    if k is None:
        return None
    op = sp["ops"][k]
    which = rng.choice(["ins", "outs"])
    ids = op[which]
    count = "n_in" if which == "ins" else "n_out"
    r = rng.random()
    if ids and r < 0.7:
        j = rng.randrange(len(ids))
        old, ids[j] = ids[j], _tensor_id(rng, sp, raw, ids[j])
        return f"subplan {s} op record {k} {which}[{j}] {old} -> {ids[j]}"
    if ids and r < 0.85:
        ids.pop()
        op[count] = len(ids)
        return f"subplan {s} op record {k} drops its last {which[:-1]}"
    ids.append(_tensor_id(rng, sp, raw, 0))
    op[count] = len(ids)
    return f"subplan {s} op record {k} gets {which[:-1]} {ids[-1]}"


def op_field(rng, raw):
    """An op's kernel (another kernel of the plan: the wrong params and tensors), params block (another one,
    -1, past the end), scratch range, stated counts."""
    s, sp = _subplan(rng, raw)
    k = _pick(rng, sp["ops"])
    if k is None:
        return None
    op = sp["ops"][k]
    field = rng.choice(["kernel", "kernel", "params", "params", "scratch_offset", "scratch_bytes", "n_in", "n_out",
                        "index"])
    old = op[field]
    if field == "kernel":
        n = len(raw["kernels"])
        v = rng.choice([_idx(rng, n), _idx(rng, n), n, n + 1, 2**32 - 1])
    elif field == "params":
        n = len(raw["params"])
        v = rng.choice([_idx(rng, n), _idx(rng, n), -1, n, n + 1, I32_MAX, I32_MIN])
    elif field in ("n_in", "n_out"):
        v = rng.choice([old + 1, old - 1, 0, 2**32 - 1, 2**31])  # the count disagrees with the ids that follow
    else:
        v = _value(rng, old, _sizes(raw))
    op[field] = v
    return f"subplan {s} op record {k} {field} {old} -> {v}"


def records(rng, raw):
    """Whole records: two swapped, one dropped or duplicated (its table's count following, or not: a truncated
    or overlong table), in any table (ops, tensors, subplans, params blocks, consts, variables, kernels)."""
    s, sp = _subplan(rng, raw)
    tables = [(f"subplan {s} ops", sp["ops"], sp["head"], "n_ops"),
              (f"subplan {s} tensors", sp["tensors"], sp["head"], "n_tensors"),
              ("subplans", raw["subplans"], None, None), ("params blocks", raw["params"], None, None),
              ("consts", raw["consts"], None, None), ("variables", raw["variables"], None, None),
              ("kernels", raw["kernels"], None, None)]
    tables = [t for t in tables if t[1]]
    if not tables:
        return None
    name, table, head, count = rng.choice(tables)
    kind = rng.randrange(4)
    if kind == 0 and len(table) >= 2:
        a, b = rng.sample(range(len(table)), 2)
        table[a], table[b] = table[b], table[a]
        return f"{name}: records {a} and {b} swapped"
    j = rng.randrange(len(table))
    if kind <= 1:
        del table[j]
        what = f"record {j} dropped"
    else:
        import copy

        table.insert(rng.randrange(len(table) + 1), copy.deepcopy(table[j]))
        what = f"record {j} duplicated"
    if head is not None:
        if rng.random() < 0.3:
            what += f", count left at {head[count]}"  # the count outruns or falls short of the records
        else:
            head[count] = len(table)
    return f"{name}: {what}"


def variable_field(rng, raw):
    k = _pick(rng, raw["variables"])
    if k is None:
        return None
    v = raw["variables"][k]
    field = rng.choice(["type", "ndim", "dims[0]", "dims[1]", "bytes", "initial", "initial"])
    old = v[field]
    if field == "initial":
        n = len(raw["consts"])
        v[field] = rng.choice([-1, _idx(rng, n), n, n + 1, I32_MAX, -2])
    else:
        v[field] = _value(rng, old, _sizes(raw))
    return f"variable {k} {field} {old} -> {v[field]}"


def const_data(rng, raw):
    """A const shortened (its table entry following: every reader must check what it points into), emptied,
    its stated size or offset wrong, or its bytes set to a boundary pattern."""
    k = _pick(rng, raw["consts"])
    if k is None:
        return None
    c = raw["consts"][k]
    n = len(c["data"])
    kind = rng.randrange(4)
    if kind == 0:
        cut = rng.choice([0, 1, n // 2, max(n - 1, 0), max(n - 4, 0)])
        c["data"] = c["data"][:cut]
        return f"const {k} cut to {cut} of {n} bytes"
    if kind == 1:
        c["bytes"] = _value(rng, n, _sizes(raw))
        return f"const {k} size {n} -> {c['bytes']}"
    if kind == 2:
        c["offset"] = _value(rng, 0, _sizes(raw))
        return f"const {k} offset -> {c['offset']}"
    if not n:
        return None
    at = rng.randrange(n)
    fill = rng.choice([b"\xff", b"\x80", b"\x00", b"\x7f"])
    span = min(rng.choice([1, 4, 8, 64]), n - at)
    c["data"] = c["data"][:at] + fill * span + c["data"][at + span:]
    return f"const {k} bytes [{at}, +{span}) -> {fill.hex()}"


MUTATIONS = [header_field, kernel_set, section_entry, string_ref, kernel_record, struct_record,
             params_value, params_value, params_value, params_block, subplan_head, subplan_io,
             tensor_field, tensor_field, tensor_quant, op_tensor, op_tensor, op_field, op_field, records,
             variable_field, const_data]


def mutate(raw: dict, rng: random.Random, max_mutations: int = 3) -> list:
    """1..max_mutations mutations applied in place; what each did."""
    done = []
    want = rng.choice([1, 1, 1, 2, 3])
    for _ in range(20):
        if len(done) >= min(want, max_mutations):
            break
        what = rng.choice(MUTATIONS)(rng, raw)
        if what:
            done.append(what)
    return done


def mutant(data: bytes, seed: int) -> tuple[bytes, list]:
    """The mutant of `data` for `seed` and what was done (deterministic)."""
    rng = random.Random(seed)
    raw = parse(data)
    what = mutate(raw, rng)
    return write(raw), what

"""Generate platforms/lib/src/layout_gen.c: the params layout table of the C library.

    python platforms/lib/gen_layout.py          # rewrite the table
    python platforms/lib/gen_layout.py --check  # exit 1 if the committed table is stale

A plan file stores a params block as leaf values in declaration order (platforms/planfile.py); the loader
fills the real C struct through this table: per struct, every leaf's offsetof, C type and pointee size
(nested structs and arrays flattened), and a signature of the leaf list that the file must match. A second
table says per kernel what it takes on trust, found in the kernel sources after the C preprocessor (the
kernel's function and the helpers it calls): the params struct it casts op->params to (so a plan cannot hand
it another), the fewest inputs and outputs it indexes (`op->in[N]` not under a test of `op->n_in`), the
positions it dereferences without a NULL test (they may not be -1 in a plan) and the params pointer fields it
reads and never tests against NULL (they may not be NULL). The scan errs towards strictness: a kernel that
tests a tensor only through a local variable counts as not testing it, and every plan of the test models must
still load (tests/platforms/test_plan_fuzz.py).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
KERNELS = ROOT / "kernels"
OUT = Path(__file__).resolve().parent / "src" / "layout_gen.c"

# Kernels that reach their code only through a micro-kernel table (kernels/opt/ukernels.h), which a source
# scan cannot follow: the struct they read and the portable instance scanned in their place.
INDIRECT = {"f32_conv2d_fast": ("er_conv_params", "er_pk4_conv2d"),
            "f32_dwconv2d_fast": ("er_conv_params", "er_pk4_dwconv2d"),
            "f32_dwconv2d_mult_fast": ("er_conv_params", "er_pk4_dwconv2d"), "f32_fc_fast": ("er_conv_params", "er_pk4_fc"),
            "f32_tconv2d_fast": ("er_conv_params", "er_pk4_tconv2d"), "f32_bmm_fast": ("er_bmm_params", "er_pk4_bmm")}
_FN = re.compile(r"\b(\w+)\s*\(([^;{}()]*(?:\([^()]*\)[^;{}()]*)*)\)\s*\{")
_HOLDER = re.compile(r"\b(\w+)\s*=\s*\(\s*const\s+er_\w+_params\s*\*\s*\)\s*\w+\s*->\s*params")
_TASKS = re.compile(r"\ber_parallel_for\s*\(([^;]*)\)\s*;")  # the arguments: the task function among them
_CAST = re.compile(r"\(\s*const\s+(er_\w+_params)\s*\*\s*\)\s*\w+\s*->\s*params")


def _cpp(path: Path) -> str:
    cmd = ["cc", "-E", "-P", "-std=c11", f"-I{KERNELS / 'include'}", f"-I{KERNELS / 'list'}", f"-I{KERNELS}",
           str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def kernel_names() -> list:
    text = subprocess.run(["cc", "-E", "-P", "-x", "c", f"-I{KERNELS / 'list'}", str(KERNELS / "list" / "kernels.inc")],
                          capture_output=True, text=True, check=True).stdout
    return re.findall(r"ER_KERNEL\((\w+)\)", text)


# Pointer fields whose element count is another field of the same struct (a kernel reads `count` elements,
# none when count <= 0): the loader checks that the pointer is not NULL and long enough when count > 0. Written
# by hand: which field counts a pointer lives in the kernel's logic, not in a pattern a scan can find.
SIZED = {("er_quant_params", "scales"): "channels", ("er_quant_params", "zero_points"): "channels",
         ("er_concat_params", "inner_bytes"): "n", ("er_concat_q_params", "inner"): "n",
         ("er_concat_q_params", "scale"): "n", ("er_concat_q_params", "bias"): "n",
         ("er_concat_q_params", "same"): "n", ("er_embedding_params", "scales"): "n_scales",
         ("er_bucketize_params", "bounds"): "n_bounds"}

_FUNCS: dict = {}


def _functions() -> dict:
    """Every function defined under kernels/ref, opt and neon after the C preprocessor: name -> body."""
    if _FUNCS:
        return _FUNCS
    for folder in ("ref", "opt", "neon"):  # kernels/cortexm repeats the reference names
        for path in sorted((KERNELS / folder).glob("*.c")):
            text = _cpp(path)
            end = 0
            for m in _FN.finditer(text):
                if m.start() < end or m.group(1) in ("if", "for", "while", "switch", "sizeof", "return"):
                    continue
                j, depth = m.end(), 1
                while depth and j < len(text):
                    depth += {"{": 1, "}": -1}.get(text[j], 0)
                    j += 1
                _FUNCS.setdefault(m.group(1), text[m.end():j])
                end = j
    return _FUNCS


def _entry(k: str) -> str:
    if k in INDIRECT:
        return INDIRECT[k][1]
    if k.endswith("_opt"):  # kernels/opt/op_kernels.c: the selected form of the reference kernel, same contract
        return f"er_{k[:-4]}"
    return f"er_{k}"


def _reachable(k: str, levels: int = 8) -> list:
    """The kernel's function, then the helpers it calls or hands on by name (a task given to er_parallel_for
    runs too), breadth first: [(name, body)]."""
    funcs = _functions()
    if _entry(k) not in funcs:
        raise SystemExit(f"no source under kernels/ref, opt or neon defines {_entry(k)}")
    out, seen, todo = [], set(), [_entry(k)]
    for _ in range(levels):
        nxt = []
        for fn in todo:
            if fn in seen or fn not in funcs:
                continue
            seen.add(fn)
            out.append((fn, funcs[fn]))
            nxt += [c for c in re.findall(r"\b(\w+)\s*\(", funcs[fn]) if c in funcs]
            nxt += [c for args in _TASKS.findall(funcs[fn]) for c in re.findall(r"\b(\w+)\b", args) if c in funcs]
        todo = nxt
    return out


def kernel_params() -> dict:
    """kernel name -> the params struct it reads (None: it reads no params): the casts of op->params in the
    kernel or, when it has none, in the nearest level of helpers that has one."""
    out = {}
    for k in kernel_names():
        if k in INDIRECT:
            out[k] = INDIRECT[k][0]
            continue
        levels: dict = {}
        funcs = _functions()
        seen, todo, depth = set(), [_entry(k)], 0
        while todo and depth < 4 and not levels:
            nxt = []
            for fn in todo:
                if fn in seen or fn not in funcs:
                    continue
                seen.add(fn)
                levels.update(dict.fromkeys(_CAST.findall(funcs[fn])))
                nxt += [c for c in re.findall(r"\b(\w+)\s*\(", funcs[fn]) if c in funcs]
            todo, depth = nxt, depth + 1
        _reachable(k, 1)  # the entry point must exist
        if len(levels) > 1:
            raise SystemExit(f"kernel {k} casts op->params to several structs: {sorted(levels)}")
        out[k] = next(iter(levels), None)
    return out


# -- what a kernel dereferences without looking: the loader refuses plans that leave it out --------------
_ACCESS = re.compile(r"\bop->(in|out)\[\s*(\d+)\s*\]")
_COUNT = re.compile(r"\bop->n_(in|out)\s*(<=|<|>=|>)\s*(\d+)")


def _guards(body: str, at: int) -> str:
    """The text that decides whether the code at `at` runs: its statement, the headers of the blocks around it
    and the early exits (statements with `return`) before it in the function."""
    start = max(body.rfind(ch, 0, at) for ch in ";{}") + 1
    stop = min([i for i in (body.find(ch, at) for ch in ";{}") if i >= 0] or [len(body)])
    parts = [body[start:stop]]
    depth, j = 0, at
    while j > 0:
        j -= 1
        ch = body[j]
        if ch == "}":
            depth += 1
        elif ch == "{":
            if depth == 0:  # an enclosing block: its header
                h = max(body.rfind(c, 0, j) for c in ";{}") + 1
                parts.append(body[h:j])
            else:
                depth -= 1
        elif ch == ";" and depth == 0:
            s = max(body.rfind(c, 0, j) for c in ";{}") + 1
            if re.search(r"\breturn\b", body[s:j]):
                parts.append(body[s:j])
    return " ".join(parts)


def _count_guarded(text: str, kind: str, n: int) -> bool:
    for d, cmp, v in _COUNT.findall(text):
        v = int(v)
        if d == kind and n <= {">": v, ">=": v - 1, "<": v - 1, "<=": v}[cmp]:
            return True
    return False


def _null_guarded(text: str, kind: str, n: int) -> bool:
    ref = rf"op->{kind}\[\s*{n}\s*\]"
    return bool(re.search(rf"{ref}\s*(\?|!=|==|&&|\|\||\))|!\s*{ref}", text))


def kernel_contract(k: str, struct: str | None, ffi) -> dict:
    """What kernel k indexes and dereferences unconditionally (found in its source and its helpers'):
    min_in/min_out, the fewest inputs/outputs it indexes (literal op->in[N] not under a test of op->n_in);
    required_in/required_out, the positions it dereferences without a NULL test (those may not be -1);
    pointers, the params pointer fields it mentions and never tests against NULL (those may not be NULL)."""
    from platforms.planfile import struct_leaves

    bodies = _reachable(k)
    c = {"min_in": 0, "min_out": 0, "required_in": set(), "required_out": set(), "pointers": []}
    for _, body in bodies:
        for m in _ACCESS.finditer(body):
            kind, n = m.group(1), int(m.group(2))
            text = _guards(body, m.start())
            if _count_guarded(text, kind, n):
                continue
            c[f"min_{kind}"] = max(c[f"min_{kind}"], n + 1)
            if not _null_guarded(text, kind, n):
                c[f"required_{kind}"].add(n)
    if struct is not None:
        code = "\n".join(b for _, b in bodies)
        # the params struct is read through the variables op->params is cast into, or a task's `p` (job->p):
        # a job struct's field of the same name (j->koff) is not the params field
        holders = "|".join(sorted(set(_HOLDER.findall(code)) | {"p"}))
        for path, kind, _, _ in struct_leaves(struct, ffi):
            if kind not in ("PTR", "PLAN"):
                continue
            name = re.sub(r"\[\d+\]", "", path).split(".")[-1]
            field = rf"\b(?:{holders})\s*(?:->|\.)\s*{name}\b"
            if not re.search(field, code) or (struct, path) in SIZED:
                continue  # not read by this kernel, or checked against its count
            tested = re.search(rf"{field}\s*(\?|!=|==|&&|\|\||\))|!\s*\(?\s*\w+\s*{field}", code)
            if not tested:
                c["pointers"].append(path)
    for kind in ("in", "out"):
        if max(c[f"required_{kind}"], default=-1) >= 32:
            raise SystemExit(f"kernel {k}: required {kind}put positions past 31 do not fit the table's masks")
    return c


def in_place_inputs(k: str) -> int:
    """Bit mask of the inputs kernel k's output 0 may start at (runtime/inplace.py's rules: copies, the
    elementwise kernels' OVERWRITE positions, the in-place convolutions); elsewhere outputs and inputs of an
    op may not overlap."""
    from edgerun.runtime import inplace

    positions = inplace.OVERWRITE.get(k, (0,) if k in inplace.COPY | inplace.INPLACE_KERNELS else ())
    return sum(1 << i for i in positions)


def struct_names() -> list:
    ops_h = (KERNELS / "include" / "edgerun" / "ops.h").read_text()
    names = []
    for h in re.findall(r'#include "edgerun/(ops_\w+\.h)"', ops_h):
        names += re.findall(r"typedef struct (\w+) \{", (KERNELS / "include" / "edgerun" / h).read_text())
    return names


def _header_ffi():
    """cffi types read from the headers as they are now (kernels/build.py's cdef; nothing is compiled)."""
    import importlib.util

    from cffi import FFI

    spec = importlib.util.spec_from_file_location("_er_kernels_build", KERNELS / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ffi = FFI()
    ffi.cdef(mod.cdef_text())
    return ffi


def generate() -> str:
    from platforms.planfile import struct_leaves, struct_signature

    ffi = _header_ffi()

    lines = ["/* Generated by `python platforms/lib/gen_layout.py` from kernels/include/edgerun/ops_*.h and the kernel",
             " * sources. Do not edit. */",
             "#include <stddef.h>", "", '#include "edgerun/edgerun.h"', '#include "layout.h"', ""]
    names = struct_names()
    for name in names:
        lines.append(f"static const erl_leaf leaves_{name}[] = {{")
        for path, kind, _, size in struct_leaves(name, ffi):
            lines.append(f'  {{"{path}", offsetof({name}, {path}), ERL_{kind}, {size}}},')
        lines.append("};")
    lines.append("")
    lines.append("const erl_struct erl_structs[] = {")
    for name in names:
        n = len(struct_leaves(name, ffi))
        lines.append(f'  {{"{name}", sizeof({name}), {n}, leaves_{name}, 0x{struct_signature(name, ffi):08x}u}},')
    lines.append("};")
    lines.append(f"const int32_t erl_struct_count = {len(names)};")
    lines.append("")
    params = kernel_params()
    lines.append("/* per kernel: the params struct it reads (NULL: none), the fewest inputs and outputs it indexes,")
    lines.append(" * the positions it dereferences without a NULL test (masks), the params pointers it never tests, the")
    lines.append(" * inputs its output may start at (runtime/inplace.py) */")
    lines.append("const erl_kernel_params erl_kernels[] = {")
    for k in sorted(params):
        s = params[k]
        c = kernel_contract(k, s, ffi)
        masks = [sum(1 << i for i in c[f"required_{d}"]) for d in ("in", "out")]
        name = f"{chr(34)}{s}{chr(34)}" if s else "NULL"
        lines.append(f'  {{"{k}", {name}, {c["min_in"]}, {c["min_out"]}, 0x{masks[0]:x}u, 0x{masks[1]:x}u, '
                     f'"{" ".join(c["pointers"])}", 0x{in_place_inputs(k):x}u}},')
    lines.append("};")
    lines.append(f"const int32_t erl_kernel_count = {len(params)};")
    lines.append("")
    lines.append("/* pointer fields read `count field` elements when that field is > 0 (gen_layout.py SIZED) */")
    lines.append("const erl_sized erl_sized_fields[] = {")
    for (struct, path), count in sorted(SIZED.items()):
        lines.append(f'  {{"{struct}", "{path}", "{count}"}},')
    lines.append("};")
    lines.append(f"const int32_t erl_sized_count = {len(SIZED)};")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed table is stale")
    args = ap.parse_args()
    text = generate()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python platforms/lib/gen_layout.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A Plan written out as C source: constants in flash, one static arena, variables, tensor and op records
(const, so they stay in flash too), the subplans, and NAME_invoke() / NAME_reset() with input and output
descriptions. The records are exactly what runtime/materialize.py builds through cffi on the desktop, so the
same kernels compute the same bytes.
"""
from __future__ import annotations

import math

import numpy as np

from edgerun.errors import UnsupportedOpError
from edgerun.kernels import ffi
from edgerun.runtime import plan as P
from edgerun.runtime.ops import TFLITE_DTYPES, TYPE_NAMES

WEIGHTS = '__attribute__((section(".rodata.er_weights"), aligned(16)))'


def _bytes_literal(a: np.ndarray, per_line: int = 24) -> str:
    b = np.ascontiguousarray(a).view(np.uint8).reshape(-1)
    if b.size == 0:
        return "{0}"
    rows = []
    for i in range(0, b.size, per_line):
        rows.append(",".join(f"0x{v:02x}" for v in b[i:i + per_line].tolist()))
    return "{\n  " + ",\n  ".join(rows) + "\n}"


def _int(v: int, ctype: str = "int32_t") -> str:
    if ctype in ("int64_t", "long long", "long"):
        return "(-INT64_C(9223372036854775807) - 1)" if v == -2**63 else f"INT64_C({v})"
    if ctype in ("uint64_t",):
        return f"UINT64_C({v})"
    if v == -2**31:
        return "(-2147483647 - 1)"
    return str(v) if -2**31 < v < 2**31 else f"INT64_C({v})"


def _float(v: float, ctype: str) -> str:
    suffix = "f" if ctype == "float" else ""
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return ("-" if v < 0 else "") + ("INFINITY" if ctype == "float" else "HUGE_VAL")
    return v.hex() + suffix if v != 0 else "0.0" + suffix


class _Writer:
    def __init__(self, plan: P.Plan, name: str, kernel_ids: dict):
        self.plan = plan
        self.name = name
        self.kernel_ids = kernel_ids
        self.lines: list[str] = []
        self.var_offsets = []
        off = 0
        for v in plan.variables:
            self.var_offsets.append(off)
            off += (v.nbytes + 15) // 16 * 16
        self.vars_bytes = off
        self.used_consts: set[int] = set()
        self.n_params = 0

    def w(self, s=""):
        self.lines.append(s)

    # -- values --------------------------------------------------------------------------------------
    def const(self, cid: int) -> str:
        self.used_consts.add(cid)
        return f"er_c{cid}"

    def pointer(self, ctype: str, v) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, P.ConstRef):
            return f"({ctype})(er_const_bytes({self.const(v.const)}) + {v.offset})"
        if isinstance(v, P.SubplanRef):
            return f"({ctype})&er_plans[{v.subplan}]"
        if isinstance(v, P.VariableRef):
            return f"({ctype})(er_vars + {self.var_offsets[v.variable]})"
        raise TypeError(f"a pointer field cannot hold {v!r}")

    def value(self, t, v) -> str:
        kind = t.kind
        if kind == "struct":
            return self.struct(t, v)
        if kind == "array":
            return "{" + ", ".join(self.value(t.item, x) for x in v) + "}"
        if kind == "pointer":
            return self.pointer(t.cname, v)
        if t.cname in ("float", "double"):
            return _float(float(v), t.cname)
        return _int(int(v), t.cname)

    def struct(self, t, params: P.Params) -> str:
        return "{" + ", ".join(f".{n} = {self.value(f.type, params.fields[n])}" for n, f in t.fields) + "}"

    # -- sections ------------------------------------------------------------------------------------
    def tensor_ptr(self, sp: P.Subplan, ti: int) -> str:
        t = sp.tensors[ti]
        if t.storage == P.ARENA:
            return f"(void *)(er_arena + {sp.arena_offset + t.offset})"
        if t.storage == P.VARIABLE:
            return f"(void *)(er_vars + {self.var_offsets[t.offset]})"
        if t.storage == P.CONST:
            return f"(void *)er_const_bytes({self.const(t.offset)})"
        raise AssertionError(f"tensor {ti} has no storage")

    def quant(self, k: int, t: P.PlanTensor):
        if not t.scale:
            return "0.0f", "0", "0", "NULL", "NULL"
        s = f"er_q{k}_{t.index}"
        self.w(f"static const float {s}_s[{len(t.scale)}] = {{"
               + ", ".join(_float(float(np.float32(x)), "float") for x in t.scale) + "};")
        zps = list(t.zero_point) or [0]
        self.w(f"static const int64_t {s}_z[{len(zps)}] = {{" + ", ".join(_int(int(z), "int64_t") for z in zps) + "};")
        return (_float(float(np.float32(t.scale[0])), "float"), str(int(zps[0])), str(len(t.scale)), f"{s}_s",
                f"{s}_z")

    def tensors(self, k: int, sp: P.Subplan):
        rows = []
        for t in sp.tensors:
            if t.storage == P.NONE or not self.needed(sp, t.index):
                rows.append(None)
                continue
            scale, zp, nch, scales, zps = self.quant(k, t)
            dims = list(t.shape) + [0] * (8 - len(t.shape))
            itemsize = TFLITE_DTYPES[t.type].itemsize
            rows.append(f"  [{t.index}] = {{.data = {self.tensor_ptr(sp, t.index)}, .type = {t.type}, "
                        f".ndim = {len(t.shape)}, .dims = {{{', '.join(map(str, dims))}}}, "
                        f".count = {_int(t.count, 'int64_t')}, .bytes = {_int(t.count * itemsize, 'int64_t')}, "
                        f".scale = {scale}, .zero_point = {zp}, .n_channels = {nch}, "
                        f".quant_dim = {t.quant_dim if t.scale else 0}, .scales = {scales}, .zero_points = {zps}}}")
        body = ",\n".join(r for r in rows if r is not None)
        self.w(f"static const er_tensor er_t{k}[{max(len(sp.tensors), 1)}] = {{\n{body}\n}};")

    @staticmethod
    def needed(sp: P.Subplan, ti: int) -> bool:
        return ti in sp.inputs or ti in sp.outputs or any(ti in op.inputs or ti in op.outputs for op in sp.ops)

    def ptr_list(self, k: int, ids) -> str:
        items = [f"(er_tensor *)&er_t{k}[{i}]" if i >= 0 else "NULL" for i in ids] or ["NULL"]
        return "{" + ", ".join(items) + "}"

    def ops(self, k: int, sp: P.Subplan):
        recs = []
        for j, op in enumerate(sp.ops):
            if op.python is not None:
                raise UnsupportedOpError(f"{op.label} (subgraph {sp.subgraph}) is implemented in Python and cannot "
                                         f"run on a device; implement it as a C kernel")
            self.w(f"static er_tensor *const er_in{k}_{j}[] = {self.ptr_list(k, op.inputs)};")
            self.w(f"static er_tensor *const er_out{k}_{j}[] = {self.ptr_list(k, op.outputs)};")
            params = "NULL"
            if op.params is not None:
                t = ffi.typeof(op.params.ctype)
                p = f"er_p{self.n_params}"
                self.n_params += 1
                self.w(f"static const {op.params.ctype} {p} = {self.struct(t, op.params)};")
                params = f"&{p}"
            scratch = f"er_arena + {sp.arena_offset + op.scratch_offset}" if op.scratch_bytes else "NULL"
            recs.append(f"  {{.kernel = {self.kernel_ids[op.kernel]} /* {op.kernel} */, .index = {op.index}, "
                        f".n_in = {len(op.inputs)}, .n_out = {len(op.outputs)}, .in = er_in{k}_{j}, "
                        f".out = er_out{k}_{j}, .params = {params}, .scratch = {scratch}, "
                        f".scratch_bytes = {op.scratch_bytes}}}")
        self.w(f"static const er_op er_ops{k}[{max(len(recs), 1)}] = {{\n" + ",\n".join(recs or ["  {0}"]) + "\n};")
        self.w(f"static er_tensor *const er_pin{k}[] = {self.ptr_list(k, sp.inputs)};")
        self.w(f"static er_tensor *const er_pout{k}[] = {self.ptr_list(k, sp.outputs)};")

    def io(self, which: str, ids):
        sp = self.plan.main
        rows = []
        for ti in ids:
            t = sp.tensors[ti]
            dims = list(t.shape) + [0] * (8 - len(t.shape))
            scale = _float(float(np.float32(t.scale[0])), "float") if t.scale else "0.0f"
            zp = int(t.zero_point[0]) if t.zero_point else 0
            name = t.name.replace("\\", "\\\\").replace('"', '\\"')
            rows.append(f'  {{"{name}", {t.type} /* {TYPE_NAMES.get(t.type, t.type)} */, {len(t.shape)}, '
                        f'{{{", ".join(map(str, dims))}}}, {scale}, {zp}, {self.tensor_ptr(sp, ti)}, '
                        f'{t.count * TFLITE_DTYPES[t.type].itemsize}}}')
        self.w(f"const er_model_io {self.name}_{which}[{max(len(rows), 1)}] = {{\n" + ",\n".join(rows or ["  {0}"])
               + "\n};")

    def source(self) -> str:
        plan, name = self.plan, self.name
        init = []
        for v, off in zip(plan.variables, self.var_offsets):
            if v.initial is not None:
                init.append(f"  memcpy(er_vars + {off}, {self.const(v.initial)}, {v.nbytes}); /* {v.name} */")
        body_start = len(self.lines)
        for k, sp in enumerate(plan.subplans):
            self.w(f"/* subplan {k}: subgraph {sp.subgraph}, arena [{sp.arena_offset}, "
                   f"{sp.arena_offset + sp.arena_bytes}) */")
            self.tensors(k, sp)
            self.ops(k, sp)
        plans = [f"  {{.n_ops = {len(sp.ops)}, .ops = er_ops{k}, .n_inputs = {len(sp.inputs)}, "
                 f".n_outputs = {len(sp.outputs)}, .inputs = er_pin{k}, .outputs = er_pout{k}}}"
                 for k, sp in enumerate(plan.subplans)]
        self.w(f"static const er_plan er_plans[{len(plans)}] = {{\n" + ",\n".join(plans) + "\n};")
        self.io("inputs", plan.main.inputs)
        self.io("outputs", plan.main.outputs)
        body = self.lines[body_start:]
        self.lines = self.lines[:body_start]
        # constants first: the records above refer to them
        for cid in sorted(self.used_consts):
            c = plan.consts[cid]
            self.w(f"static const uint8_t er_c{cid}[{max(c.nbytes, 1)}] {WEIGHTS} = {_bytes_literal(c)};")
        self.lines += body
        head = [
            f"/* {name}: generated by edgerun from a plan prepared for {plan.target} (kernels: {plan.isa or 'ref'}).",
            " * Do not edit: regenerate with `edgerun compile`. */",
            "#include <math.h>",
            "#include <stdint.h>",
            "#include <string.h>",
            "",
            f'#include "{name}.h"',
            '#include "edgerun/edgerun.h"',
            *(['#include "edgerun/host_isa.h"'] if plan.target == "host" or _neon(plan) else []),
            "",
            "#define er_const_bytes(c) ((const uint8_t *)(c))",
            f"#define ER_ARENA_BYTES {max(plan.arena_bytes, 1)}",
            f"#define ER_VARS_BYTES {max(self.vars_bytes, 1)}",
            "static uint8_t er_arena[ER_ARENA_BYTES] __attribute__((aligned(16)));",
            "static uint8_t er_vars[ER_VARS_BYTES] __attribute__((aligned(16)));",
            f"static const er_plan er_plans[{len(plan.subplans)}];",
            "",
        ]
        tail = [
            "",
            "static int er_ready;",
            "",
            f"void {name}_reset(void) {{",
            *([f"  er_select_isa(ER_HOST_ISA_{plan.isa.upper()}); /* as the desktop interpreter */"]
              if plan.target == "host" and plan.isa != "ref" else []),
            # an ARM device plan: the dot-product micro-kernels where this CPU has them, else plain NEON
            *(["  er_select_isa(er_host_isa_supported() & 1 << ER_HOST_ISA_NEON_DOTPROD ? ER_HOST_ISA_NEON_DOTPROD",
               "                                                                   : ER_HOST_ISA_NEON);"]
              if _neon(plan) else []),
            "  memset(er_vars, 0, sizeof er_vars);",
            *init,
            "  er_ready = 1;",
            "}",
            "",
            f"int {name}_invoke(void) {{",
            f"  if (!er_ready) {name}_reset();",
            "  return er_exec(&er_plans[0], 0, er_plans[0].n_ops, NULL);",
            "}",
            "",
            f"const size_t {name}_arena_bytes = ER_ARENA_BYTES;",
            f"const size_t {name}_variable_bytes = ER_VARS_BYTES;",
        ]
        return "\n".join(head + self.lines + tail) + "\n"


def _neon(plan: P.Plan) -> bool:
    return plan.isa in ("neon", "neon-dotprod")


def header(plan: P.Plan, name: str) -> str:
    guard = f"{name.upper()}_H"
    return f"""/* {name}: a model compiled by edgerun for {plan.target}. Do not edit: regenerate with `edgerun compile`.
 *
 *   memcpy({name}_inputs[0].data, x, {name}_inputs[0].bytes);
 *   int status = {name}_invoke();          (0 on success, an ER_ERR_* code otherwise)
 *   read {name}_outputs[0].data
 *
 * No heap, no file system: weights are const, activations live in one static arena of {name}_arena_bytes,
 * state kept across invokes (variables) in {name}_variable_bytes. {name}_reset() puts every variable back to
 * its initial value; the first invoke does it by itself. Not reentrant: one invoke at a time.
 * Write the inputs before every invoke: a plan for a microcontroller lets the model reuse their memory. */
#ifndef {guard}
#define {guard}

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#ifndef ER_MODEL_IO_DEFINED
#define ER_MODEL_IO_DEFINED
/* One input or output: TFLite's tensor type (0 FLOAT32, 2 INT32, 9 INT8, ...), shape, per-tensor
 * quantization (scale 0 when not quantized) and its memory. */
typedef struct er_model_io {{
  const char *name;
  int32_t type;
  int32_t ndim;
  int32_t dims[8];
  float scale;
  int32_t zero_point;
  void *data;
  size_t bytes;
}} er_model_io;
#endif

#define {name.upper()}_NUM_INPUTS {len(plan.main.inputs)}
#define {name.upper()}_NUM_OUTPUTS {len(plan.main.outputs)}
extern const er_model_io {name}_inputs[];
extern const er_model_io {name}_outputs[];
extern const size_t {name}_arena_bytes;
extern const size_t {name}_variable_bytes;

int {name}_invoke(void);
void {name}_reset(void);

#ifdef __cplusplus
}}
#endif

#endif
"""


def model_source(plan: P.Plan, name: str, kernel_ids: dict) -> str:
    return _Writer(plan, name, kernel_ids).source()

"""Prepare: a model's subgraph and input shapes -> a Plan (runtime/plan.py), plain data.

For each op in order, its handler (runtime/ops) infers output shapes and computes the kernel's parameters;
ops whose inputs are all constant run once here (folding) and become constants. Control-flow handlers prepare
the subgraphs they run as further subplans. Then lifetimes (runtime/lifetimes.py) and placement
(runtime/planner.py) give every activation and scratch buffer its place in one arena, and the handlers' cffi
parameter blocks become plain `Params` whose pointers name constants of the plan.
"""
from __future__ import annotations

import math

import numpy as np

from edgerun.errors import (DtypeError, EdgerunError, InvokeError, MemoryLimitError, ModelError,
                            RunTimeShapeError, ShapeError, UnsupportedOpError)
from edgerun.kernels import KERNEL_IDS, STATUS_TEXT, ffi, lib
from edgerun.runtime import inplace, lifetimes, limits
from edgerun.runtime import ops as opreg
from edgerun.runtime import plan as P
from edgerun.runtime.ops import FOLD_MAX_BYTES, Kernel, OpContext, PyKernel, TensorInfo
from edgerun.runtime.planner import GreedyPlanner, LinearPlanner
from edgerun.runtime.rewrite import fuse_set_item
from edgerun.schema.ops import op_def

opreg.load_families()


# reference kernels whose plan of an optimized kernel set (isa other than "ref") names the _opt form instead:
# kernels/opt/op_kernels.c calls the form selected at load for the CPU (NEON, AVX2 or the reference itself)
OPT_OPS = frozenset({"q_binary", "q_maxpool2d", "q_avgpool2d", "f32_maxpool2d", "f32_avgpool2d", "q_softmax",
                     "f32_softmax", "f32_binary", "any_quantize", "any_dequantize"})


def op_handler(op):
    """The handler for an op, or an UnsupportedOpError naming it."""
    if op.name == "CUSTOM":
        h = opreg.CUSTOMS.get(op.custom_code)
        if h is None:
            raise UnsupportedOpError(
                f"op #{op.index}: custom op '{op.custom_code}' is not registered "
                f"(register it with edgerun.register_custom_op)")
        return h
    h = opreg.BUILTINS.get(op.name)
    if h is None:
        raise UnsupportedOpError(f"op #{op.index} {op.name} is not supported by edgerun")
    return h


def _types_hint(label: str, name: str, message: str) -> str:
    """What a refusal of op `name` adds from the op table: the types edgerun runs it for (only to the op's own
    refusal, once)."""
    d = op_def(name)
    if (d is None or not d.types or "any" in d.types or not message.startswith(label)
            or "schema/OPS.md" in message):
        return ""
    return f" (edgerun's {name} runs {', '.join(d.types)}: schema/OPS.md)"


def fill_c_tensor(ct, info, ptr, keep: list):
    """Describe `info` (a TensorInfo or PlanTensor) in the er_tensor `ct`, with its data at `ptr`."""
    shape = info.shape
    ct.data = ptr
    ct.type = info.type
    ct.ndim = len(shape)
    for i, d in enumerate(shape):
        ct.dims[i] = d
    count = math.prod(int(d) for d in shape)
    ct.count = count
    dt = opreg.TFLITE_DTYPES.get(info.type)
    ct.bytes = count * (dt.itemsize if dt is not None and dt.kind != "O" else 0)
    scale, zps = info.scale, info.zero_point
    if isinstance(scale, tuple) and isinstance(zps, tuple):  # a PlanTensor's: cffi converts the tuples in C
        if scale:
            c_scales = ffi.new("float[]", scale)
            c_zps = ffi.new("int64_t[]", zps if zps else len(scale))  # missing zero points: zeros
            keep += [c_scales, c_zps]
            ct.scale = c_scales[0]
            ct.zero_point = zps[0] if zps else 0
            ct.n_channels = len(scale)
            ct.quant_dim = int(info.quant_dim)
            ct.scales = c_scales
            ct.zero_points = c_zps
        else:
            ct.scale = 0.0
            ct.zero_point = 0
            ct.n_channels = 0
        return
    scale = np.ascontiguousarray(scale, dtype=np.float32)
    if scale.size:
        zps = np.ascontiguousarray(zps, dtype=np.int64)
        ct.scale = float(scale[0])
        ct.zero_point = int(zps[0]) if zps.size else 0
        ct.n_channels = int(scale.size)
        ct.quant_dim = int(info.quant_dim)
        keep += [scale, zps]
        ct.scales = ffi.cast("const float *", ffi.from_buffer(scale))
        ct.zero_points = ffi.cast("const int64_t *", ffi.from_buffer(zps))
    else:
        ct.scale = 0.0
        ct.zero_point = 0
        ct.n_channels = 0


_ER_TENSOR = None


def _er_tensor_dtype() -> np.dtype:
    """A numpy structured dtype with er_tensor's exact layout (offsets and size from the C declaration)."""
    global _ER_TENSOR
    if _ER_TENSOR is None:
        cols = [("data", np.uintp), ("type", np.int32), ("ndim", np.int32), ("dims", (np.int32, 8)),
                ("count", np.int64), ("bytes", np.int64), ("scale", np.float32), ("zero_point", np.int32),
                ("n_channels", np.int32), ("quant_dim", np.int32), ("scales", np.uintp), ("zero_points", np.uintp)]
        names = [n for n, _ in cols]
        if sorted(names) != sorted(n for n, _ in ffi.typeof("er_tensor").fields):
            raise RuntimeError("er_tensor's fields changed: update runtime/prepare.py _er_tensor_dtype")
        _ER_TENSOR = np.dtype({"names": names, "formats": [f for _, f in cols],
                               "offsets": [ffi.offsetof("er_tensor", n) for n in names],
                               "itemsize": ffi.sizeof("er_tensor")})
    return _ER_TENSOR


def fill_c_tensors(cts, n: int, items: list, keep: list):
    """fill_c_tensor for many PlanTensors at once: `items` is [(PlanTensor, data address)], written into the
    er_tensor array `cts` (n records, zeroed) at each tensor's index with one copy; the quantization
    parameters of all of them share one float32 and one int64 array (kept in `keep`)."""
    rec = np.zeros(n, _er_tensor_dtype())
    if not items:
        return
    idx, data, types, ndims, counts, nbytes = [], [], [], [], [], []
    dims = np.zeros((len(items), 8), np.int32)
    q_rows, q_scale, q_zp, q_nch, q_dim, q_first = [], [], [], [], [], []
    scales, zps, n_scales = [], [], 0
    dtypes = opreg.TFLITE_DTYPES
    for row, (t, addr) in enumerate(items):
        shape = t.shape
        idx.append(t.index)
        data.append(addr)
        types.append(t.type)
        ndims.append(len(shape))
        if shape:
            dims[row, :len(shape)] = shape
        count = math.prod(map(int, shape))
        counts.append(count)
        dt = dtypes.get(t.type)
        nbytes.append(count * (dt.itemsize if dt is not None and dt.kind != "O" else 0))
        qa = t.quant_arrays()  # the arrays prepare kept: the scale and zero point tuples are not made
        if qa is not None:
            if qa[0].size:
                q_rows.append(row)
                q_scale.append(qa[0][0])
                q_zp.append(qa[1][0])
                q_nch.append(qa[0].size)
                q_dim.append(int(t.quant_dim))
                q_first.append(n_scales)
                n_scales += qa[0].size
                scales.append(qa[0])
                zps.append(qa[1])
            continue
        sc = t.scale
        if sc:
            z = t.zero_point
            q_rows.append(row)
            q_scale.append(sc[0])
            q_zp.append(z[0] if z else 0)
            q_nch.append(len(sc))
            q_dim.append(int(t.quant_dim))
            q_first.append(n_scales)
            n_scales += len(sc)
            scales.append(np.array(sc, np.float32))
            zps.append(np.array(z, np.int64) if z else np.zeros(len(sc), np.int64))  # missing: zeros
    idx = np.array(idx, np.intp)
    sel = rec[idx]
    sel["data"] = data
    sel["type"] = types
    sel["ndim"] = ndims
    sel["dims"] = dims
    sel["count"] = counts
    sel["bytes"] = nbytes
    if q_rows:
        c_scales = np.concatenate(scales)
        c_zps = np.concatenate(zps)
        keep += [c_scales, c_zps]
        first = np.array(q_first, np.uintp)
        q = sel[q_rows]
        q["scale"] = q_scale
        q["zero_point"] = q_zp
        q["n_channels"] = q_nch
        q["quant_dim"] = q_dim
        q["scales"] = c_scales.__array_interface__["data"][0] + first * 4
        q["zero_points"] = c_zps.__array_interface__["data"][0] + first * 8
        sel[q_rows] = q
    rec[idx] = sel
    ffi.memmove(cts, ffi.from_buffer(rec), rec.nbytes)


def const_pointer(data: np.ndarray, keep: list):
    if data.size == 0:
        return ffi.NULL
    data = np.ascontiguousarray(data)
    keep.append(data)
    return ffi.cast("void *", ffi.from_buffer(data, require_writable=False))


def fill_record(rec, label, kernel, params_ptr, pin, pout, n_in, n_out, scratch, scratch_bytes):
    kid = KERNEL_IDS.get(kernel)
    if kid is None:
        raise UnsupportedOpError(f"{label}: kernel '{kernel}' is not compiled into edgerun")
    rec.kernel = kid
    rec.n_in = n_in
    rec.n_out = n_out
    setattr(rec, "in", pin)
    rec.out = pout
    rec.params = params_ptr if params_ptr is not None else ffi.NULL
    rec.scratch = scratch
    rec.scratch_bytes = scratch_bytes


class Preparer:
    """Prepares the subgraphs of one model into one Plan (subplans share its consts and variables)."""

    def __init__(self, model, isa: str | None = None, preserve_all: bool = False, target: str = "desktop",
                 alignment: int = 64, inplace: bool = True, inplace_conv: bool | None = None,
                 preserve_inputs: bool | None = None, max_memory_bytes: int | None = None,
                 max_loop_iterations: int | None = None):
        self.model = model
        # the most memory the plan may ask for (activations, prepared constants, variables, each table prepare
        # builds); runtime/limits.py, default min(RAM / 2, 16 GiB)
        self.max_memory_bytes = limits.resolve(max_memory_bytes)
        # WHILE loops run as long as the model says (TFLite's semantics); a bound makes a hostile loop an error
        self.max_loop_iterations = max_loop_iterations
        self.isa = isa
        self.preserve_all = preserve_all
        # in-place outputs (runtime/inplace.py): copies and elementwise ops always; the in-place conv kernels
        # (reference speed) by default only in plans for microcontrollers
        self.inplace = inplace and not preserve_all
        self.inplace_conv = self.inplace and (target not in ("desktop", "host") if inplace_conv is None
                                              else inplace_conv)
        self.target = target
        self.alignment = alignment
        # the main graph's inputs stay intact for the whole run (TFLite); a microcontroller plan lets them die at
        # their last use, as TFLite Micro does (the caller writes them before every invoke anyway)
        self.preserve_inputs = (target in ("desktop", "host") if preserve_inputs is None else preserve_inputs) \
            or preserve_all
        self.consts: list = []
        self._const_ids: dict = {}   # id(array) -> const id
        self.variables: list = []
        self._var_ids: dict = {}     # key -> variable id
        self.subplans: list = []
        self.planners: dict = {}     # placement of each subgraph prepare, in completion order (tests)
        self.folded = 0
        self.prepared_bytes = 0
        # why this plan must be prepared anew each time (an unseeded RANDOM op's seed), or None
        self.fresh_per_prepare: str | None = None

    def prepare(self, input_shapes: dict, subgraph: int = 0) -> P.Plan:
        root = self.subgraph(subgraph, input_shapes)
        assert root == 0
        _place_nested(self.subplans, 0, 0)
        from edgerun.runtime import isa

        plan = P.Plan(self.subplans, self.consts, self.variables, self.subplans[0].arena_bytes,
                      target=self.target, isa=self.isa or isa.current(), alignment=self.alignment)
        plan.info = {"folded": self.folded, "prepared_bytes": self.prepared_bytes,
                     "fresh_per_prepare": self.fresh_per_prepare}
        var_bytes = sum(v.nbytes for v in self.variables)
        limits.check_bytes(plan.arena_bytes + self.prepared_bytes + var_bytes,
                           f"the plan (arena {plan.arena_bytes:,} + prepared constants {self.prepared_bytes:,} + "
                           f"variables {var_bytes:,} bytes)", self.max_memory_bytes)
        return plan

    # -- registries ----------------------------------------------------------------------------------
    def const(self, array: np.ndarray) -> int:
        cid = self._const_ids.get(id(array))
        if cid is None:
            cid = self._const_ids[id(array)] = len(self.consts)
            self.consts.append(array)
        return cid

    def variable(self, key, name, type_, shape, initial=None) -> int:
        """The id of the variable `key`, created on first use (initial: an array or None for zeros)."""
        vid = self._var_ids.get(key)
        if vid is not None:
            v = self.variables[vid]
            if tuple(v.shape) != tuple(shape) or v.type != type_:
                raise ShapeError(f"variable '{name}' is used with shape {tuple(shape)} type {type_} and with "
                                 f"shape {tuple(v.shape)} type {v.type}")
            return vid
        dt = opreg.TFLITE_DTYPES.get(type_)
        if key[0] == "hashtable" and type_ == 13:  # a Python object (runtime/ops/hashtable.py), no bytes in C
            dt = None
        elif dt is None or dt.kind == "O":
            raise UnsupportedOpError(f"variable '{name}': type {opreg.TYPE_NAMES.get(type_, type_)} is not supported")
        nbytes = 0 if dt is None else limits.tensor_bytes(shape, dt.itemsize, f"variable '{name}'",
                                                          self.max_memory_bytes)
        init = None
        if initial is not None:
            count = math.prod(int(d) for d in shape)
            if initial.size != count:
                raise ModelError(f"variable '{name}': its initial value has {initial.size} elements, its shape "
                                 f"{tuple(shape)} holds {count}")
            init = self.const(initial)
        vid = self._var_ids[key] = len(self.variables)
        self.variables.append(P.Variable(key, name, type_, tuple(shape), init, nbytes))
        return vid

    def subgraph(self, index: int, input_shapes: dict) -> int:
        """Prepare subgraph `index` for the given input shapes as a new subplan; its id."""
        k = len(self.subplans)
        self.subplans.append(None)  # reserve the id (nested subplans come after it)
        self.subplans[k] = _SubgraphPrep(self, k, index, input_shapes).run()
        return k


class _SubgraphPrep:
    """Prepare state of one subgraph; handlers reach it as ctx.runtime."""

    def __init__(self, preparer: Preparer, k: int, index: int, input_shapes: dict):
        self.preparer = preparer
        self.id = k  # the subplan id (0: the graph the caller runs)
        self.model = preparer.model
        self.index = index
        self.desc = self.model.subgraphs[index]
        self.preserve_all = preparer.preserve_all
        self.input_shapes = input_shapes

    # the interface handlers use (control flow, variables)
    def prepare_subgraph(self, index: int, shapes: list) -> tuple:
        """Prepare subgraph `index` with inputs of `shapes`: (subplan id, its Subplan)."""
        desc = self.model.subgraphs[index]
        if len(shapes) != len(desc.inputs):
            raise ValueError(f"subgraph {index} takes {len(desc.inputs)} inputs, given {len(shapes)}")
        k = self.preparer.subgraph(index, dict(zip(desc.inputs, [tuple(s) for s in shapes])))
        return k, self.preparer.subplans[k]

    def variable(self, key, name, type_, shape, initial=None) -> int:
        return self.preparer.variable(key, name, type_, shape, initial)

    # -- tensors -------------------------------------------------------------------------------------
    def _infos(self):
        infos = []
        for t in self.desc.tensors:
            shape = data = None
            if t.data is not None:
                shape, data = t.shape, t.data  # sparse constants keep their raw values; DENSIFY reads .sparsity
            if t.is_variable:
                shape, data = t.shape, None
            infos.append(TensorInfo(t.index, t.name, t.type, shape, t.scale, t.zero_point, t.quant_dim, data,
                                    t.sparsity))
        for i in self.desc.inputs:
            infos[i].shape = tuple(self.input_shapes.get(i, self.desc.tensors[i].shape))
            infos[i].data = None
        limit = self.preparer.max_memory_bytes
        for info in infos:  # every shape the file (or the caller) gives, before anything that large exists
            if info.shape is not None:
                dt = info.dtype
                limits.tensor_bytes(info.shape, dt.itemsize if dt is not None and dt.kind != "O" else 1,
                                    lambda: f"subgraph {self.index} tensor {info.index} '{info.name}'", limit)
        # A zero-element tensor that nothing produces (TF writes the empty shape vector of a reshape to a
        # scalar this way, with an empty buffer) is the constant empty array.
        produced = {t for op in self.desc.ops for t in op.outputs} | set(self.desc.inputs)
        for t, info in zip(self.desc.tensors, infos):
            if (info.data is None and not t.is_variable and t.index not in produced and t.shape is not None
                    and 0 in tuple(t.shape) and info.dtype is not None and info.dtype.kind != "O"):
                info.shape, info.data = tuple(t.shape), np.zeros(t.shape, info.dtype)
        return infos

    # -- ops -----------------------------------------------------------------------------------------
    def run(self) -> P.Subplan:
        self.infos = infos = self._infos()
        steps = []
        for op in fuse_set_item(self.desc, list(self.desc.ops)):
            handler = op_handler(op)
            ins = []
            for j, ti in enumerate(op.inputs):
                if ti < 0:
                    ins.append(None)
                    continue
                t = infos[ti]
                if t.shape is None:
                    raise ShapeError(f"{op.label}: input {j} '{t.name}' (tensor {ti}) is used before any op "
                                     f"produces it")
                ins.append(t)
            outs = []
            for j, ti in enumerate(op.outputs):
                d = self.desc.tensors[ti] if ti >= 0 else None
                if d is not None and d.data is not None and not d.is_variable:
                    # a handler that "computes" an output finds its data already there (a fold) and the op vanishes
                    raise ModelError(f"{op.label}: output {j} '{d.name}' (tensor {ti}) is a constant of the model")
                outs.append(infos[ti] if ti >= 0 else
                            TensorInfo(-1, "", 0, None, np.zeros(0, np.float32), np.zeros(0, np.int64)))
            name = op.custom_code if op.name == "CUSTOM" else op.name
            ctx = OpContext(op.index, name, op.version, op.options, op.custom_options, ins, outs, ffi,
                            runtime=self, isa=self.preparer.isa, max_memory_bytes=self.preparer.max_memory_bytes)
            if name in opreg.STRING_OPS and any(t is not None and t.type == 5 for t in ins + outs):
                handler = opreg.STRING_OPS[name]  # the op on STRING tensors (runtime/ops/strings.py)
            elif name in opreg.FLOAT16_OPS and any(t is not None and t.type == 1 for t in ins + outs):
                handler = opreg.FLOAT16_OPS[name]  # the op on FLOAT16 tensors (runtime/ops/elementwise_f16.py)
            try:
                result = handler(ctx)
            except RunTimeShapeError as exc:  # where it is: the Interpreter may run the graph in stages
                if exc.subplan < 0:  # the innermost subgraph's op (not the IF/WHILE preparing it)
                    exc.op_index, exc.subplan = op.index, self.id
                raise
            except (DtypeError, UnsupportedOpError) as exc:
                raise type(exc)(f"{exc}{_types_hint(op.label, name, str(exc))}") from None
            except EdgerunError:
                raise
            except MemoryError as exc:  # a size no check above caught: still an edgerun error naming the op
                raise MemoryLimitError(f"{op.label}: out of memory while preparing ({exc})") from None
            except (ArithmeticError, ValueError, IndexError, KeyError, TypeError) as exc:
                # What a hostile or broken file can hold (a zero scale, absurd sizes, too few outputs) that a
                # handler trips over: still an error that names the op.
                raise ModelError(f"{op.label}: invalid parameters ({type(exc).__name__}: {exc})") from None
            if not isinstance(result, (Kernel, PyKernel)):
                raise TypeError(f"handler of {op.label} returned {result!r}")
            for j, o in enumerate(outs):
                if o.index >= 0 and o.shape is None:
                    raise ShapeError(f"{op.label}: output {j} '{o.name}' got no shape")
                if o.index >= 0:
                    dt = o.dtype
                    limits.tensor_bytes(o.shape, dt.itemsize if dt is not None and dt.kind != "O" else 1,
                                        lambda: f"{op.label}: output {j} '{o.name}'", ctx.max_memory_bytes)
            if isinstance(result, Kernel):
                if int(result.scratch_bytes) > ctx.max_memory_bytes:  # the message is made only to raise
                    limits.check_bytes(result.scratch_bytes, f"{op.label}: scratch", ctx.max_memory_bytes)
                if ctx.isa != "ref" and result.name in OPT_OPS:
                    result = Kernel(result.name + "_opt", result.params, result.scratch_bytes, result.fold)
                absent = [j for j, o in enumerate(outs) if o.index < 0]
                if absent and result.name is not None:
                    # the C kernels write every output they are given: an absent one would be a NULL write
                    raise ModelError(f"{op.label}: output {absent[0]} is absent (tensor index -1); this op writes "
                                     f"all {len(outs)} of its outputs")
            if isinstance(result, Kernel) and result.name is not None:
                strs = [t for t in ins + outs if t is not None and t.index >= 0 and t.type == 5]
                if strs:  # string data lives outside the arena (runtime/strings.py): no C kernel reads it
                    raise UnsupportedOpError(f"{op.label}: tensor '{strs[0].name}' is STRING; edgerun runs "
                                             f"STRING tensors only in the string and hashtable ops")
            real_outs = [o for o in outs if o.index >= 0]
            if isinstance(result, Kernel) and result.name is None:
                continue  # nothing to run (VAR_HANDLE: the handle is the variable's storage)
            if real_outs and all(o.data is not None for o in real_outs):
                self.preparer.folded += 1  # the handler computed the outputs (SHAPE, DENSIFY, ...)
                continue
            if _can_fold(result, ins, real_outs):
                _fold(op, result, ins, real_outs)
                self.preparer.folded += 1
                continue
            self.preparer.prepared_bytes += ctx.prepared_bytes
            if int(self.preparer.prepared_bytes) > self.preparer.max_memory_bytes:
                limits.check_bytes(self.preparer.prepared_bytes, f"{op.label}: prepared constants of the plan so "
                                   f"far", self.preparer.max_memory_bytes)
            steps.append((op, result, ctx))
        return self._subplan(steps)

    def _params(self, op, result, ctx):
        """The kernel's params as plain data, pointers resolved to consts of the plan."""
        if result.params is None or isinstance(result.params, P.Params):
            return result.params
        spans = []

        def resolve(addr, ctype):
            if not spans:  # built at the first non-NULL pointer (blocks without one need none)
                known = list(ctx.const_arrays)
                known += [t.data for t in ctx.inputs if t is not None and t.data is not None]
                for a in known:
                    start = int(ffi.cast("uintptr_t", ffi.from_buffer(a, require_writable=False)))
                    spans.append((start, start + a.nbytes, a))
            for lo, hi, a in spans:
                if lo <= addr < hi or addr == lo:
                    return P.ConstRef(self.preparer.const(a), addr - lo)
            raise UnsupportedOpError(f"{op.label}: a {ctype} parameter of kernel {result.name} points at "
                                     f"memory the plan does not know")

        return P.params_from_cffi(ffi, result.params, resolve)

    def _subplan(self, steps) -> P.Subplan:
        infos, desc = self.infos, self.desc
        pre = self.preparer
        tensors = [_plan_tensor(i) for i in infos]
        ops = []
        for op, result, ctx in steps:
            if isinstance(result, PyKernel):
                ops.append(P.PlanOp(op.index, ctx.name, "python", result.params, list(op.inputs),
                                    list(op.outputs), python=result.fn))
            else:
                ops.append(P.PlanOp(op.index, ctx.name, result.name, self._params(op, result, ctx),
                                    list(op.inputs), list(op.outputs), scratch_bytes=int(result.scratch_bytes)))
        # where each tensor's bytes live
        used = {i for o in ops for i in o.inputs + o.outputs if i >= 0} | set(desc.inputs) | set(desc.outputs)
        used |= {i.index for i in infos if i.data is not None}  # constants stay readable (get_tensor)
        for ti in sorted(used):
            t, info = tensors[ti], infos[ti]
            if info.shape is None:
                continue  # a graph output nothing produces: it keeps no memory, as before
            var = getattr(info, "variable", None)
            if desc.tensors[ti].is_variable:
                init, zp = desc.tensors[ti].data, desc.tensors[ti].zero_point
                if init is None and info.type == 9 and zp.size and int(zp[0]) != 0:
                    # LiteRT starts (and resets) an INT8 variable tensor at its zero point (ResetVariableTensor)
                    init = np.full(info.shape, int(zp[0]), np.int8)
                var = pre.variable(("tensor", self.index, ti), info.name, info.type, info.shape, init)
            if var is not None:
                v = pre.variables[var]
                t.storage, t.offset, t.type, t.shape, t.nbytes = P.VARIABLE, var, v.type, v.shape, v.nbytes
            elif info.data is not None:
                if info.dtype is None:
                    raise UnsupportedOpError(f"tensor {ti} '{info.name}': constant of type {info.type_name} is not "
                                             f"supported")
                t.storage, t.offset, t.nbytes = P.CONST, pre.const(info.data), int(info.data.nbytes)
            elif info.type == 5:  # STRING: an object array kept by the interpreter (runtime/strings.py)
                t.storage, t.nbytes = P.OBJECT, 0
            else:
                if info.dtype is None or info.dtype.kind == "O":
                    raise UnsupportedOpError(f"tensor {ti} '{info.name}': type {info.type_name} is not supported")
                t.storage, t.nbytes = P.ARENA, info.size * info.dtype.itemsize
        sp = P.Subplan(self.index, tensors, ops, list(desc.inputs), list(desc.outputs),
                       preserve_inputs=pre.preserve_inputs or self.id != 0)
        choice = inplace.analyze(sp, conv=pre.inplace_conv) if pre.inplace else inplace.Inplace()
        choice = _drop_growing_aliases(sp, choice, pre)
        sp = inplace.rewrite(sp, choice)
        pre.planners[len(pre.planners)] = _place(sp, pre, lifetimes.arena_buffers(sp, pre.subplans,
                                                                                   choice.aliases))
        return sp


_F32, _I64 = np.dtype(np.float32), np.dtype(np.int64)


def _plan_tensor(i) -> P.PlanTensor:
    """A TensorInfo as a PlanTensor; a quantized one also keeps its scales and zero points as the float32 and
    int64 arrays fill_c_tensors hands to C (qarrays). Per-tensor quantization as the model reader gives it
    (1-element float32 / int64 arrays) takes no numpy round trip: the same Python numbers, the arrays as they
    are. Per-channel quantization as the model reader gives it keeps the arrays themselves in the PlanTensor,
    which makes them the same tuples as before when they are first read (plan.py _QuantField)."""
    s, z = i.scale, i.zero_point
    shape = tuple(i.shape) if i.shape is not None else None
    if type(s) is np.ndarray and type(z) is np.ndarray and s.ndim == z.ndim == 1 and s.dtype == _F32 \
            and z.dtype == _I64 and s.size:
        if s.size == 1 and z.size == 1:
            sc = (float(s[0]),)
            t = P.PlanTensor(i.index, i.name, i.type, shape, sc, (int(z[0]),), int(i.quant_dim))
            t.qarrays = (sc, s, z)
            return t
        if z.size in (0, s.size):
            t = P.PlanTensor(i.index, i.name, i.type, shape, s, z if z.size else (), int(i.quant_dim))
            t.qarrays = (s, s, z.astype(np.int64) if z.size else np.zeros(s.size, np.int64))
            return t
    t = P.PlanTensor(i.index, i.name, i.type, shape, _floats(s), _ints(z), int(i.quant_dim))
    if t.scale:
        z = np.asarray(z).reshape(-1)
        t.qarrays = (t.scale, np.asarray(s, np.float32).reshape(-1),
                     z.astype(np.int64) if z.size else np.zeros(len(t.scale), np.int64))
    return t


_floats, _ints = P.floats_tuple, P.ints_tuple


def _arena_bytes(sp, choice, pre) -> int:
    planner = GreedyPlanner(pre.alignment)
    for b in lifetimes.arena_buffers(inplace.rewrite(sp, choice), pre.subplans, choice.aliases):
        planner.add_buffer(b.nbytes, b.first, b.last)
    return planner.plan()


def _drop_growing_aliases(sp, choice, pre):
    """An in-place output larger than its input (a 1x1 convolution adding channels) makes the shared buffer
    that large from the input's birth on, which can raise the peak where the input is born; keep each such
    alias only if the arena is no larger with it."""
    if pre.preserve_all:
        return choice
    producer = {o: p for p, op in enumerate(sp.ops) for o in op.outputs if o >= 0}
    best = None  # the arena with every alias, planned only when some alias grows (most graphs have none)
    for o, i in list(choice.aliases.items()):
        if sp.tensors[o].nbytes <= sp.tensors[i].nbytes or producer.get(o) not in choice.kernels:
            continue
        if best is None:
            best = _arena_bytes(sp, choice, pre)
        trial = inplace.Inplace({k: v for k, v in choice.aliases.items() if k != o},
                                {k: v for k, v in choice.kernels.items() if k != producer[o]})
        size = _arena_bytes(sp, trial, pre)
        if size < best:
            choice, best = trial, size
    return choice


def _can_fold(result, ins, outs):
    """Run at prepare when every input is constant and the outputs are small (shape arithmetic), or
    whatever their size when the kernel asks for it (Kernel.fold: weight transforms)."""
    present = [t for t in ins if t is not None]
    if not isinstance(result, Kernel) or isinstance(result.params, P.Params) or not outs or not present:
        return False
    if any(t.data is None for t in present):
        return False
    if result.fold:
        return True
    nbytes = sum(o.size * o.dtype.itemsize for o in outs)
    return nbytes <= FOLD_MAX_BYTES and result.scratch_bytes <= FOLD_MAX_BYTES


def _fold(op, result, ins, outs):
    keep = []
    cin = ffi.new("er_tensor[]", max(len(ins), 1))
    cout = ffi.new("er_tensor[]", len(outs))
    arrays = [np.zeros(o.shape, dtype=o.dtype) for o in outs]
    for j, t in enumerate(ins):
        if t is not None:
            fill_c_tensor(cin[j], t, const_pointer(t.data, keep), keep)
    for j, (o, a) in enumerate(zip(outs, arrays)):
        fill_c_tensor(cout[j], o, ffi.cast("void *", ffi.from_buffer(a)) if a.size else ffi.NULL, keep)
    pin = ffi.new("er_tensor *[]", [cin + j if t is not None else ffi.NULL for j, t in enumerate(ins)] or
                  [ffi.NULL])
    pout = ffi.new("er_tensor *[]", [cout + j for j in range(len(outs))])
    scratch = np.zeros(max(result.scratch_bytes, 1) + 64, np.uint8)
    rec = ffi.new("er_op *")
    rec.index = op.index
    params = result.params
    if isinstance(params, P.Params):
        raise UnsupportedOpError(f"{op.label}: kernel {result.name} cannot run at prepare")
    fill_record(rec, op.label, result.name, ffi.cast("const void *", params) if params is not None else None,
                pin, pout, len(ins), len(outs),
                ffi.cast("void *", ffi.from_buffer(scratch)) if result.scratch_bytes else ffi.NULL,
                result.scratch_bytes)
    status = lib.er_exec_op(rec)
    if status != lib.ER_OK:
        raise InvokeError(f"{op.label}: kernel failed while folding constants: {STATUS_TEXT.get(status, status)}")
    for o, a in zip(outs, arrays):
        o.data = a


def _place(sp: P.Subplan, pre: Preparer, buffers: list):
    """Give each arena buffer of `sp` (lifetimes.Buffer list) an offset relative to the subplan's region;
    returns the planner (tests check it)."""
    planner = LinearPlanner(pre.alignment) if pre.preserve_all else GreedyPlanner(pre.alignment)
    ids = [planner.add_buffer(b.nbytes, b.first, b.last) for b in buffers]
    sp.arena_bytes = planner.plan()
    limits.check_bytes(sp.arena_bytes, f"the arena of subgraph {sp.subgraph}", pre.max_memory_bytes)
    for b, i in zip(buffers, ids):
        off = planner.offset(i)
        if b.kind == "tensor":
            for ti in b.tensors:
                sp.tensors[ti].offset = off + b.tensor_offset.get(ti, 0)
        elif b.kind == "scratch":
            sp.ops[b.op].scratch_offset = off
        else:  # a nested subplan's region
            sp_child = pre.subplans[b.subplan]
            sp_child.arena_offset = off  # relative to this subplan; made absolute by _place_nested
    return planner


def _place_nested(subplans, k, base):
    """Make subplan k's region (and its children's) absolute, starting at `base`."""
    sp = subplans[k]
    rel = sp.arena_offset if k else 0
    sp.arena_offset = base + rel if k else base
    for child in lifetimes.children(sp):
        _place_nested(subplans, child, sp.arena_offset)

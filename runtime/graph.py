"""A prepared subgraph: shapes inferred, parameters computed, tensors placed in one arena, and the op records
the C executor runs. Prepare happens at allocate_tensors(); invoke() is one C call per run of C ops (one in
all for models without Python-implemented ops).
"""
from __future__ import annotations

import os

import numpy as np

from edgerun.errors import EdgerunError, InvokeError, ModelError, ShapeError, UnsupportedOpError, op_label
from edgerun.kernels import KERNEL_IDS, STATUS_TEXT, ffi, lib
from edgerun.runtime import ops as opreg
from edgerun.runtime.rewrite import fuse_set_item
from edgerun.runtime.ops import FOLD_MAX_BYTES, Kernel, OpContext, PyKernel, TensorInfo
from edgerun.runtime.planner import GreedyPlanner, LinearPlanner

opreg.load_families()


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


def fill_c_tensor(ct, info: TensorInfo, ptr, keep: list):
    """Describe `info` (shape, type, quantization) in the er_tensor `ct`, with its data at `ptr`."""
    shape = info.shape
    ct.data = ptr
    ct.type = info.type
    ct.ndim = len(shape)
    for i, d in enumerate(shape):
        ct.dims[i] = d
    count = int(np.prod(shape, dtype=np.int64))
    ct.count = count
    dt = info.dtype
    ct.bytes = count * (dt.itemsize if dt is not None and dt.kind != "O" else 0)
    if info.scale.size:
        ct.scale = float(info.scale[0])
        ct.zero_point = int(info.zero_point[0]) if info.zero_point.size else 0
        ct.n_channels = int(info.scale.size)
        ct.quant_dim = int(info.quant_dim)
        scales = np.ascontiguousarray(info.scale, dtype=np.float32)
        zps = np.ascontiguousarray(info.zero_point, dtype=np.int64)
        keep += [scales, zps]
        ct.scales = ffi.cast("const float *", ffi.from_buffer(scales))
        ct.zero_points = ffi.cast("const int64_t *", ffi.from_buffer(zps))
    else:
        ct.scale = 0.0
        ct.zero_point = 0
        ct.n_channels = 0


def const_pointer(data: np.ndarray, keep: list):
    if data.size == 0:
        return ffi.NULL
    data = np.ascontiguousarray(data)
    keep.append(data)
    return ffi.cast("void *", ffi.from_buffer(data, require_writable=False))


class Step:
    """One op of the plan after prepare."""

    __slots__ = ("op", "result", "ctx", "inputs", "outputs")

    def __init__(self, op, result, ctx):
        self.op = op
        self.result = result
        self.ctx = ctx
        self.inputs = [i for i in op.inputs]
        self.outputs = [i for i in op.outputs]


class PreparedGraph:
    """One subgraph of a model, prepared for given input shapes."""

    def __init__(self, model, index: int, input_shapes: dict, preserve_all: bool = False, owner=None,
                 variables: dict | None = None):
        self.model = model
        self.desc = model.subgraphs[index]
        self.index = index
        self.owner = owner  # the Interpreter (WHILE/IF reach other subgraphs through it)
        self.preserve_all = preserve_all
        self.variables = variables if variables is not None else {}
        self._keep: list = []
        self._prepare(input_shapes)

    # -- prepare -------------------------------------------------------------------------------------
    def _infos(self, input_shapes):
        infos = []
        for t in self.desc.tensors:
            shape = None
            data = None
            if t.data is not None and t.sparsity is None:
                shape, data = t.shape, t.data
            elif t.data is not None:
                shape, data = t.shape, t.data  # sparse constant: raw values; DENSIFY reads .sparsity
            if t.is_variable:
                shape, data = t.shape, None
            infos.append(TensorInfo(t.index, t.name, t.type, shape, t.scale, t.zero_point, t.quant_dim, data,
                                    t.sparsity))
        for i in self.desc.inputs:
            infos[i].shape = tuple(input_shapes.get(i, self.desc.tensors[i].shape))
            infos[i].data = None
        # A zero-element tensor that nothing produces (TF writes the empty shape vector of a reshape to a
        # scalar this way, with an empty buffer) is the constant empty array.
        produced = {t for op in self.desc.ops for t in op.outputs} | set(self.desc.inputs)
        for t, info in zip(self.desc.tensors, infos):
            if (info.data is None and not t.is_variable and t.index not in produced and t.shape is not None
                    and 0 in tuple(t.shape) and info.dtype is not None and info.dtype.kind != "O"):
                info.shape, info.data = tuple(t.shape), np.zeros(t.shape, info.dtype)
        return infos

    def _prepare(self, input_shapes):
        self.infos = infos = self._infos(input_shapes)
        steps = []
        self.folded = 0
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
                if ti < 0:
                    outs.append(TensorInfo(-1, "", 0, None, np.zeros(0, np.float32), np.zeros(0, np.int64)))
                    continue
                outs.append(infos[ti])
            name = op.custom_code if op.name == "CUSTOM" else op.name
            ctx = OpContext(op.index, name, op.version, op.options, op.custom_options, ins, outs, ffi,
                            runtime=self)
            try:
                result = handler(ctx)
            except EdgerunError:
                raise
            except (ArithmeticError, ValueError, IndexError, KeyError, TypeError) as exc:
                # What a hostile or broken file can hold (a zero scale, absurd sizes, too few outputs) that a
                # handler trips over: still an error that names the op.
                raise ModelError(f"{op.label}: invalid parameters ({type(exc).__name__}: {exc})") from None
            if not isinstance(result, (Kernel, PyKernel)):
                raise TypeError(f"handler of {op.label} returned {result!r}")
            for j, o in enumerate(outs):
                if o.index >= 0 and o.shape is None:
                    raise ShapeError(f"{op.label}: output {j} '{o.name}' got no shape")
            step = Step(op, result, ctx)
            real_outs = [o for o in outs if o.index >= 0]
            if real_outs and all(o.data is not None for o in real_outs):
                self.folded += 1  # the handler computed the outputs (SHAPE, DENSIFY, ...)
                continue
            if self._can_fold(step, ins, real_outs):
                self._fold(step, ins, real_outs)
                self.folded += 1
                continue
            steps.append(step)
        self.steps = steps
        self._plan()
        self._build_records()

    def _can_fold(self, step, ins, outs):
        """Run at prepare when every input is constant and the outputs are small (shape arithmetic), or
        whatever their size when the kernel asks for it (Kernel.fold: weight transforms)."""
        present = [t for t in ins if t is not None]
        if not isinstance(step.result, Kernel) or not outs or not present:
            return False
        if any(t.data is None for t in present):
            return False
        nbytes = sum(o.size * o.dtype.itemsize for o in outs)
        if step.result.fold:
            return True
        return nbytes <= FOLD_MAX_BYTES and step.result.scratch_bytes <= FOLD_MAX_BYTES

    def _fold(self, step, ins, outs):
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
        scratch = np.zeros(max(step.result.scratch_bytes, 1) + 64, np.uint8)
        rec = ffi.new("er_op *")
        self._fill_record(rec, step, pin, pout, len(ins), len(outs),
                          ffi.cast("void *", ffi.from_buffer(scratch)) if step.result.scratch_bytes else ffi.NULL)
        status = lib.er_exec_op(rec)
        if status != lib.ER_OK:
            raise InvokeError(f"{step.op.label}: kernel failed while folding constants: "
                              f"{STATUS_TEXT.get(status, status)}")
        for o, a in zip(outs, arrays):
            o.data = a

    def _fill_record(self, rec, step, pin, pout, n_in, n_out, scratch):
        res = step.result
        kid = KERNEL_IDS.get(res.name)
        if kid is None:
            raise UnsupportedOpError(f"{step.op.label}: kernel '{res.name}' is not compiled into edgerun")
        rec.kernel = kid
        rec.index = step.op.index
        rec.n_in = n_in
        rec.n_out = n_out
        setattr(rec, "in", pin)
        rec.out = pout
        rec.params = ffi.cast("const void *", res.params) if res.params is not None else ffi.NULL
        rec.scratch = scratch
        rec.scratch_bytes = res.scratch_bytes

    # -- memory --------------------------------------------------------------------------------------
    def _plan(self):
        """Give every non-constant tensor (and each op's scratch) a place in one arena."""
        infos = self.infos
        n = len(self.steps)
        first, last = {}, {}

        def use(ti, p):
            if ti < 0 or infos[ti].data is not None or self.desc.tensors[ti].is_variable:
                return
            first[ti] = min(first.get(ti, p), p)
            last[ti] = max(last.get(ti, p), p)

        for ti in self.desc.inputs:
            use(ti, 0)
            use(ti, n)  # graph inputs are preserved for the whole run, as TFLite does
        for p, st in enumerate(self.steps):
            for ti in st.op.outputs:
                use(ti, p)
            for ti in st.op.inputs:
                use(ti, p)
        for ti in self.desc.outputs:
            if ti in first:
                use(ti, n)
        planner = LinearPlanner() if self.preserve_all else GreedyPlanner()
        self.buffer_ids = {}
        for ti in sorted(first):
            info = infos[ti]
            if info.dtype is None or info.dtype.kind == "O":
                raise UnsupportedOpError(f"tensor {ti} '{info.name}': type {info.type_name} is not supported")
            lo, hi = (0, n) if self.preserve_all else (first[ti], last[ti])
            self.buffer_ids[ti] = planner.add_buffer(info.size * info.dtype.itemsize, lo, hi)
        self.scratch_ids = {}
        for p, st in enumerate(self.steps):
            if isinstance(st.result, Kernel) and st.result.scratch_bytes > 0:
                self.scratch_ids[p] = planner.add_buffer(st.result.scratch_bytes, p, p)
        self.arena_size = planner.plan()
        self.planner = planner
        self.arena = np.zeros(self.arena_size + 64, np.uint8)
        self.arena_base = (-self.arena.ctypes.data) % 64
        self.arena_ptr = ffi.cast("char *", ffi.from_buffer(self.arena))
        # EDGERUN_SEPARATE_BUFFERS=1 (the sanitizer run) gives each buffer its own allocation so that ASan
        # sees a kernel writing past a tensor, which inside one arena would land in a neighbour.
        separate = os.environ.get("EDGERUN_SEPARATE_BUFFERS") == "1"
        self._separate = []
        self.separate = separate

        def place(buffer_id, nbytes):
            if separate:
                a = np.zeros(max(nbytes, 1), np.uint8)
                self._separate.append(a)
                return a[:nbytes], ffi.cast("char *", ffi.from_buffer(a))
            off = self.arena_base + planner.offset(buffer_id)
            return self.arena[off:off + nbytes], self.arena_ptr + off

        self.views = {}
        self.pointers = {}
        for ti, b in self.buffer_ids.items():
            info = infos[ti]
            raw, ptr = place(b, info.size * info.dtype.itemsize)
            self.views[ti] = raw.view(info.dtype).reshape(info.shape)
            self.pointers[ti] = ffi.cast("void *", ptr)
        self.scratch_pointers = {}
        for p, b in self.scratch_ids.items():
            self.scratch_pointers[p] = ffi.cast("void *", place(b, self.steps[p].result.scratch_bytes)[1])
        for ti, t in enumerate(self.desc.tensors):
            if t.is_variable:
                v = self.variables.get(ti)
                if v is None or v.shape != tuple(t.shape):
                    v = np.zeros(t.shape, t.dtype)
                    if t.data is not None:
                        v[...] = t.data
                    self.variables[ti] = v
                self.views[ti] = v
        for ti, info in enumerate(infos):
            if info.data is not None and ti not in self.views:
                self.views[ti] = info.data

    def _build_records(self):
        keep = self._keep = []
        infos = self.infos
        nt = max(len(infos), 1)
        self.c_tensors = ct = ffi.new("er_tensor[]", nt)
        used = set()
        for st in self.steps:
            used.update(i for i in st.op.inputs + st.op.outputs if i >= 0)
        used.update(self.desc.inputs)
        used.update(self.desc.outputs)
        for ti in used:
            info = infos[ti]
            if ti in self.buffer_ids:
                fill_c_tensor(ct[ti], info, self.pointers[ti], keep)
            elif ti in self.views and info.shape is not None and info.dtype is not None:
                data = np.array(self.views[ti]) if self.separate else self.views[ti]  # own block under ASan
                fill_c_tensor(ct[ti], info, const_pointer(data, keep) if ti not in self.variables
                              else ffi.cast("void *", ffi.from_buffer(self.views[ti])), keep)
        c_steps = [st for st in self.steps if isinstance(st.result, Kernel)]
        self.c_ops = ops = ffi.new("er_op[]", max(len(c_steps), 1))
        self.segments = []  # ("c", first, last) ranges of self.c_ops, or ("py", step)
        k = 0
        for p, st in enumerate(self.steps):
            if isinstance(st.result, PyKernel):
                self.segments.append(("py", st))
                continue
            pin = ffi.new("er_tensor *[]", [ct + i if i >= 0 else ffi.NULL for i in st.op.inputs] or [ffi.NULL])
            pout = ffi.new("er_tensor *[]", [ct + i if i >= 0 else ffi.NULL for i in st.op.outputs] or
                           [ffi.NULL])
            keep += [pin, pout]
            scratch = self.scratch_pointers.get(p, ffi.NULL)
            self._fill_record(ops[k], st, pin, pout, len(st.op.inputs), len(st.op.outputs), scratch)
            if self.segments and self.segments[-1][0] == "c":
                self.segments[-1] = ("c", self.segments[-1][1], k + 1)
            else:
                self.segments.append(("c", k, k + 1))
            k += 1
        self.c_plan = ffi.new("er_plan *", {"n_ops": k, "ops": ops})
        self.c_op_steps = c_steps
        self.failed = ffi.new("int32_t *")
        self.weight_bytes = sum(int(t.data.nbytes) for t in self.desc.tensors if t.data is not None)
        self.prepared_bytes = sum(st.ctx.prepared_bytes for st in self.steps)

    # -- run -----------------------------------------------------------------------------------------
    def tensor_view(self, ti: int) -> np.ndarray:
        return self.views[ti]

    def py_args(self, st):
        ins = [self.views.get(i) if i >= 0 else None for i in st.op.inputs]
        outs = [self.views.get(i) if i >= 0 else None for i in st.op.outputs]
        return ins, outs

    def invoke(self):
        for seg in self.segments:
            if seg[0] == "c":
                status = lib.er_exec(self.c_plan, seg[1], seg[2], self.failed)
                if status != lib.ER_OK:
                    st = self.c_op_steps[self.failed[0]]
                    raise InvokeError(f"{st.op.label}: kernel {st.result.name} failed: "
                                      f"{STATUS_TEXT.get(status, status)}")
            else:
                st = seg[1]
                ins, outs = self.py_args(st)
                try:
                    st.result.fn(ins, outs)
                except (InvokeError, ShapeError, UnsupportedOpError):
                    raise
                except Exception as exc:
                    raise InvokeError(f"{op_label(st.op.index, st.ctx.name)}: {type(exc).__name__}: {exc}") \
                        from exc

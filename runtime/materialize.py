"""A Plan made real on the desktop through cffi: the arena, variables, er_tensor/er_op/er_plan records and
numpy views of every tensor, and invoke() as one C call per run of C ops (Python-implemented ops, such as
Python custom ops, split the main subplan into segments).
"""
from __future__ import annotations

import os
import struct
import time

import numpy as np

from edgerun.errors import InvokeError, ShapeError, StateError, UnsupportedOpError, op_label
from edgerun.kernels import KERNEL_IDS, STATUS_TEXT, ffi, lib
from edgerun.runtime import plan as P
from edgerun.runtime import strings
from edgerun.runtime.ops import TFLITE_DTYPES
from edgerun.runtime.limits import threads_for  # noqa: F401 (re-exported)
from edgerun.runtime.prepare import fill_c_tensors


def variable_storage(plan: P.Plan, store: dict) -> list:
    """numpy arrays holding the plan's variables, kept in `store` (by variable key) across re-prepares; a
    variable is (re)initialized when missing or its shape or type changed."""
    arrays = []
    for v in plan.variables:
        dt = _np_dtype(v.type)
        a = store.get(v.key)
        if a is None or a.shape != tuple(v.shape) or a.dtype != dt:
            a = np.empty(v.shape, dt) if dt.kind == "O" else np.zeros(v.shape, dt)  # a hashtable: None
            if v.initial is not None:
                a[...] = plan.consts[v.initial].reshape(v.shape)
            store[v.key] = a
        arrays.append(a)
    return arrays


def _np_dtype(type_: int) -> np.dtype:
    """The numpy dtype of a plan tensor or variable: STRING and hashtable resources are Python objects."""
    return np.dtype(object) if type_ == 13 else TFLITE_DTYPES[type_]


def _address(a: np.ndarray):
    """A C pointer to an array's bytes (NULL for Python objects, which no C kernel reads)."""
    if a.dtype.kind == "O":
        return ffi.NULL
    return ffi.cast("char *", ffi.from_buffer(a, require_writable=False))


def plan_const(plan: P.Plan, t: P.PlanTensor) -> np.ndarray:
    """The value of a constant tensor of the plan, in its shape."""
    c = plan.consts[t.offset]
    return c.reshape(t.shape) if c.size == t.count else c


_FIELDS: dict = {}
_PUT_ADDR = struct.Struct("P").pack_into


def _fields(ctype_t) -> list:
    """(name, kind, type, item kind) of a struct type's fields, computed once per type (cffi builds the
    field list anew on every .fields access)."""
    f = _FIELDS.get(ctype_t)
    if f is None:
        f = _FIELDS[ctype_t] = [(name, fld.type.kind, fld.type,
                                 fld.type.item.kind if fld.type.kind == "array" else None)
                                for name, fld in ctype_t.fields]
    return f


_ER_OP = None


def _er_op_dtype() -> np.dtype:
    """A numpy structured dtype with er_op's exact layout (offsets and size from the C declaration)."""
    global _ER_OP
    if _ER_OP is None:
        cols = [("kernel", np.int32), ("index", np.int32), ("n_in", np.int32), ("n_out", np.int32),
                ("in", np.uintp), ("out", np.uintp), ("params", np.uintp), ("scratch", np.uintp),
                ("scratch_bytes", np.int64)]
        names = [n for n, _ in cols]
        if sorted(names) != sorted(n for n, _ in ffi.typeof("er_op").fields):
            raise RuntimeError("er_op's fields changed: update runtime/materialize.py _er_op_dtype")
        _ER_OP = np.dtype({"names": names, "formats": [f for _, f in cols],
                           "offsets": [ffi.offsetof("er_op", n) for n in names], "itemsize": ffi.sizeof("er_op")})
    return _ER_OP


def _segments(sp: P.Subplan) -> list:
    """("c", first, last) runs of a subplan's C op records (positions among its C ops) and ("py", PlanOp)."""
    segs, k = [], 0
    for op in sp.ops:
        if op.python is not None:
            segs.append(("py", op))
        elif segs and segs[-1][0] == "c":
            segs[-1] = ("c", segs[-1][1], k + 1)
            k += 1
        else:
            segs.append(("c", k, k + 1))
            k += 1
    return segs


class Executable:
    """Plan -> C records over real memory. `views` maps tensor ids of the main subplan to numpy arrays.
    `threads` > 1: the heavy kernels split their work over a pool of threads - 1 workers (kernels/pool.c),
    started here and stopped when the Executable goes away; each worker has scratch as large as the largest
    op's."""

    def __init__(self, plan: P.Plan, variables: dict, threads: int = 1):
        self.plan = plan
        self._keep: list = []
        keep = self._keep
        # EDGERUN_SEPARATE_BUFFERS=1 (the sanitizer run) gives each buffer its own allocation so that ASan
        # sees a kernel writing past a tensor, which inside one arena would land in a neighbour.
        self.separate = os.environ.get("EDGERUN_SEPARATE_BUFFERS") == "1"
        self.arena = np.zeros(plan.arena_bytes + 64, np.uint8)
        base = (-self.arena.ctypes.data) % 64
        self.arena_view = self.arena[base:base + plan.arena_bytes]
        self._arena_ptr = ffi.cast("char *", ffi.from_buffer(self.arena_view)) if plan.arena_bytes else ffi.NULL
        self.var_arrays = variable_storage(plan, variables)
        # an empty constant still gets a valid address (kernels may take it without reading it)
        self.const_arrays = [np.ascontiguousarray(c) if c.nbytes else np.zeros(1, np.uint8) for c in plan.consts]
        self._const_ptrs = [_address(c) for c in self.const_arrays]
        self._const_addrs: dict = {}  # const id -> address of its bytes (Executable._address)
        self.c_plans = ffi.new("er_plan[]", max(len(plan.subplans), 1))
        self.sub_views = []
        self.sub_tensors = []
        for k, sp in enumerate(plan.subplans):
            views, cts = self._tensors(sp)
            self.sub_views.append(views)
            self.sub_tensors.append(cts)
        self.op_records = []
        for k, sp in enumerate(plan.subplans):
            self.op_records.append(self._ops(k, sp))
        self.views = self.sub_views[0]
        self.failed = ffi.new("int32_t *")
        # ("c", first, last) ranges of each subplan's op records, or ("py", PlanOp); subplans other than the
        # main one hold Python ops only under a Python CALL_ONCE (plan.RunOnce)
        self.sub_segments = [_segments(sp) for sp in plan.subplans]
        self.segments = self.sub_segments[0]
        self._c_ops = self.op_records[0]
        del keep
        self.pool = ffi.NULL
        if threads > 1:
            scratch = max((op.scratch_bytes for sp in plan.subplans for op in sp.ops), default=0)
            pool = lib.er_pool_create(min(threads, 1024), scratch)
            if pool == ffi.NULL:
                why = ("this build of the kernels has no threads" if not lib.er_pool_available() else
                       f"the system refused {threads - 1} threads or {scratch} bytes of scratch each")
                raise StateError(f"num_threads={threads}: cannot start the thread pool ({why})")
            self.pool = ffi.gc(pool, lib.er_pool_destroy)
            # tests of the split itself set 0: every op of two items or more is split
            if os.environ.get("EDGERUN_PARALLEL_MIN_COST"):
                lib.er_pool_set_min_cost(pool, int(os.environ["EDGERUN_PARALLEL_MIN_COST"]))
        self.threads = threads

    # -- memory --------------------------------------------------------------------------------------
    def _arena(self, offset, nbytes):
        """(numpy bytes, C pointer) of an arena region (or its own block under EDGERUN_SEPARATE_BUFFERS)."""
        if self.separate:
            a = np.zeros(max(nbytes, 1), np.uint8)
            self._keep.append(a)
            return a[:nbytes], ffi.cast("char *", ffi.from_buffer(a))
        raw = self.arena_view[offset:offset + nbytes]
        return raw, self._arena_ptr + offset

    def _tensors(self, sp: P.Subplan):
        cts = ffi.new("er_tensor[]", max(len(sp.tensors), 1))
        self._keep.append(cts)
        views = {}
        records = []  # (PlanTensor, data address), described in one go
        for t in sp.tensors:
            if t.storage == P.NONE:
                continue
            dt = _np_dtype(t.type)
            if t.storage == P.OBJECT:  # a STRING tensor: Python objects, no C pointer (runtime/strings.py)
                views[t.index] = strings.empty(t.shape)
                ptr = ffi.NULL
            elif t.storage == P.ARENA:
                raw, ptr = self._arena(sp.arena_offset + t.offset, t.nbytes)
                views[t.index] = raw.view(dt).reshape(t.shape)
            elif t.storage == P.VARIABLE:
                a = self.var_arrays[t.offset]
                views[t.index] = a
                ptr = _address(a) if a.size else ffi.NULL
            else:
                c = self.const_arrays[t.offset]
                if self.separate and c.dtype.kind != "O":  # its own block, so that ASan sees reads past it
                    c = np.array(c)
                    self._keep.append(c)
                    ptr = ffi.cast("char *", ffi.from_buffer(c)) if c.size else ffi.NULL
                else:
                    ptr = self._const_ptrs[t.offset]
                v = plan_const(self.plan, t)
                views[t.index] = v
            records.append((t, int(ffi.cast("uintptr_t", ptr))))
        fill_c_tensors(cts, len(sp.tensors), records, self._keep)
        return views, cts

    def _pointer(self, ctype, value):
        if value is None:
            return ffi.NULL
        if isinstance(value, P.ConstRef):
            base = self._const_ptrs[value.const]
            return ffi.cast(ctype, base + value.offset)
        if isinstance(value, P.SubplanRef):
            return ffi.cast(ctype, self.c_plans + value.subplan)
        if isinstance(value, P.VariableRef):
            a = self.var_arrays[value.variable]
            return ffi.cast(ctype, ffi.from_buffer(a))
        raise TypeError(f"a pointer field cannot hold {value!r}")

    def _fill(self, obj, ctype_t, params: P.Params):
        for name, kind, ftype, item_kind in _fields(ctype_t):
            v = params.fields[name]
            if kind == "struct":
                self._fill(getattr(obj, name), ftype, v)
            elif kind == "array":
                arr = getattr(obj, name)
                if item_kind == "struct":
                    for i, x in enumerate(v):
                        self._fill(arr[i], ftype.item, x)
                elif item_kind == "pointer":
                    for i, x in enumerate(v):
                        arr[i] = self._pointer(ftype.item, x)
                else:
                    arr[0:len(v)] = v
            elif kind == "pointer":
                setattr(obj, name, self._pointer(ftype, v))
            else:
                setattr(obj, name, v)

    def _address(self, value) -> int:
        """The address a pointer leaf (ConstRef, SubplanRef, VariableRef) takes in this Executable."""
        if isinstance(value, P.ConstRef):
            base = self._const_addrs.get(value.const)
            if base is None:  # once per constant (a model's params point into the same few arrays often)
                base = self._const_addrs[value.const] = self.const_arrays[value.const].__array_interface__["data"][0]
            return base + value.offset
        return int(ffi.cast("uintptr_t", self._pointer("void *", value)))

    def params(self, params: P.Params):
        obj = ffi.new(params.ctype + " *")
        self._keep.append(obj)
        image = params.image
        if image is not None:  # the struct bytes prepare kept: copy them and set the pointers
            if params.pointers:
                image = bytearray(image)
                for off, v in params.pointers.items():
                    if v is not None:
                        _PUT_ADDR(image, off, self._address(v))
            ffi.memmove(obj, image, len(image))
        else:
            self._fill(obj[0], ffi.typeof(obj).item, params)
        return obj

    def _ops(self, k, sp: P.Subplan):
        cts = self.sub_tensors[k]
        c_ops = [op for op in sp.ops if op.python is None]
        recs = ffi.new("er_op[]", max(len(c_ops), 1))
        self._keep.append(recs)

        def ptrs(ids):
            arr = ffi.new("er_tensor *[]", [cts + i if i >= 0 else ffi.NULL for i in ids] or [ffi.NULL])
            self._keep.append(arr)
            return arr

        # every op's input and output pointers in one table, the records written in one copy (as fill_record
        # would fill them one field at a time)
        base = int(ffi.cast("uintptr_t", cts))
        size = ffi.sizeof("er_tensor")
        slots, starts = [], []
        for op in c_ops:
            for ids in (op.inputs, op.outputs):
                starts.append(len(slots))
                slots += [base + i * size if i >= 0 else 0 for i in ids] or [0]
        table = np.array(slots or [0], np.uintp)
        self._keep.append(table)
        at = table.__array_interface__["data"][0] + np.array(starts or [0], np.uintp) * table.itemsize
        rec = np.zeros(len(c_ops), _er_op_dtype())
        for j, op in enumerate(c_ops):
            kid = KERNEL_IDS.get(op.kernel)
            if kid is None:
                raise UnsupportedOpError(f"{op.label}: kernel '{op.kernel}' is not compiled into edgerun")
            scratch = 0
            if op.scratch_bytes:
                scratch = int(ffi.cast("uintptr_t", self._arena(sp.arena_offset + op.scratch_offset,
                                                                op.scratch_bytes)[1]))
            params = int(ffi.cast("uintptr_t", self.params(op.params))) if op.params is not None else 0
            rec[j] = (kid, op.index, len(op.inputs), len(op.outputs), at[2 * j], at[2 * j + 1], params, scratch,
                      op.scratch_bytes)
        if c_ops:
            ffi.memmove(recs, ffi.from_buffer(rec), rec.nbytes)
        cp = self.c_plans[k]
        cp.n_ops = len(c_ops)
        cp.ops = recs
        cp.n_inputs = len(sp.inputs)
        cp.n_outputs = len(sp.outputs)
        cp.inputs = ptrs(sp.inputs)
        cp.outputs = ptrs(sp.outputs)
        return c_ops

    def reset_variables(self):
        """Every variable back to its initial value (zeros when it has none), in place."""
        for v, a in zip(self.plan.variables, self.var_arrays):
            if a.dtype.kind == "O":  # a hashtable: emptied (its CALL_ONCE runs again, as its flag is reset)
                a[...] = None
                continue
            a[...] = self.plan.consts[v.initial].reshape(v.shape) if v.initial is not None else 0

    # -- run -----------------------------------------------------------------------------------------
    def invoke(self, times=None):
        """Run the main subplan. `times` (the profiler's): a list with one float per main op record, in plan
        order; each op then runs alone and its seconds are added to its entry (control-flow records include
        their subplans)."""
        if times is None:
            for seg in self.segments:
                self._run(seg)
            return
        clock = time.perf_counter
        j = 0
        for seg in self.segments:
            for one in ([("c", k, k + 1) for k in range(seg[1], seg[2])] if seg[0] == "c" else [seg]):
                t = clock()
                self._run(one)
                times[j] += clock() - t
                j += 1

    def _run(self, seg, k: int = 0):
        if seg[0] == "c":
            status = lib.er_exec_pooled(self.pool, self.c_plans + k, seg[1], seg[2], self.failed)
            if status != lib.ER_OK:
                op = self.op_records[k][self.failed[0]]
                raise InvokeError(f"{op.label}: kernel {op.kernel} failed: {STATUS_TEXT.get(status, status)}")
            return
        op = seg[1]
        if isinstance(op.python, P.RunOnce):
            done = self.var_arrays[op.python.done]
            if not done[0]:
                for s in self.sub_segments[op.python.subplan]:
                    self._run(s, op.python.subplan)
                done[0] = 1
            return
        views, sp = self.sub_views[k], self.plan.subplans[k]
        ins = [views.get(i) if i >= 0 else None for i in op.inputs]
        outs = [views.get(i) if i >= 0 else None for i in op.outputs]
        try:
            new = op.python(ins, outs)
        except (InvokeError, ShapeError, UnsupportedOpError):
            raise
        except Exception as exc:
            raise InvokeError(f"{op_label(op.index, op.op)}: {type(exc).__name__}: {exc}") from exc
        for ti, a in zip(op.outputs, new or ()):
            if a is not None:  # a STRING output whose shape the data decided (SKIP_GRAM)
                if ti < 0 or sp.tensors[ti].storage != P.OBJECT:
                    raise InvokeError(f"{op.label}: replaced output tensor {ti}, which is not a STRING tensor")
                views[ti] = a

"""A prepared subgraph on the desktop: prepare (runtime/prepare.py) makes the plan, plain data; materialize
(runtime/materialize.py) makes it real through cffi. invoke() is one C call for models without
Python-implemented ops.
"""
from __future__ import annotations

import numpy as np

from edgerun.errors import InvokeError, StateError
from edgerun.kernels import ffi, lib
from edgerun.runtime import plan as P
from edgerun.runtime.materialize import Executable
from edgerun.runtime.model import gc_paused
from edgerun.runtime.ops import TFLITE_DTYPES
from edgerun.runtime.prepare import Preparer, op_handler  # noqa: F401  (op_handler: re-exported)


class PreparedGraph:
    """One subgraph of a model, prepared for given input shapes and materialized."""

    def __init__(self, model, index: int, input_shapes: dict, preserve_all: bool = False, owner=None,
                 variables: dict | None = None, isa: str | None = None, max_memory_bytes: int | None = None,
                 max_loop_iterations: int | None = None, threads: int = 1):
        self.model = model
        self.desc = model.subgraphs[index]
        self.index = index
        self.variables = variables if variables is not None else {}
        preparer = Preparer(model, isa=isa, preserve_all=preserve_all, max_memory_bytes=max_memory_bytes,
                            max_loop_iterations=max_loop_iterations)
        with gc_paused():
            self.plan = preparer.prepare(input_shapes, index)
            self.planner = preparer.planners[len(preparer.planners) - 1]  # the main subplan's, completed last
            self.exe = Executable(self.plan, self.variables, threads=threads)
        self.views = self.exe.views
        self.arena_size = self.plan.arena_bytes
        self.folded = self.plan.info["folded"]
        self.prepared_bytes = self.plan.info["prepared_bytes"]
        self.weight_bytes = sum(int(t.data.nbytes) for t in self.desc.tensors if t.data is not None)

    @property
    def tensors(self) -> list:
        """PlanTensor per tensor id of this subgraph (shape, type, storage)."""
        return self.plan.main.tensors

    @property
    def steps(self) -> list:
        """The main subplan's op records (PlanOp: op type, kernel name, params, tensors)."""
        return self.plan.main.ops

    @property
    def segments(self) -> list:
        """("c", first, last) runs of C op records and ("py", PlanOp) Python ops of the main subplan."""
        return self.exe.segments

    def variable_items(self) -> list:
        """(key, array) of every variable of the plan."""
        return [(v.key, a) for v, a in zip(self.plan.variables, self.exe.var_arrays)]

    def variable_bytes(self) -> int:
        return sum(v.nbytes for v in self.plan.variables)

    def tensor_view(self, ti: int):
        return self.views[ti]

    def reset_variables(self):
        self.exe.reset_variables()

    def invoke(self):
        self.exe.invoke()


class CacheOpenError(Exception):
    """A cached plan the C library refuses (another build's, damaged): the interpreter prepares instead."""


class CachedGraph:
    """The main graph opened from the plan cache (runtime/plan_cache.py) by platforms/lib's loader, in one C call:
    the records, kernels and packed constants PreparedGraph would make (the file holds them), the constants used
    in place from the mapped file. It offers what the interpreter reads of a graph (views, tensor shapes, invoke,
    variables); the Plan itself (profiles, reports) is read back from the file when asked."""

    def __init__(self, entry, threads: int = 1):
        self.entry = entry
        meta = entry.meta
        self._buf = ffi.from_buffer(entry.map)
        err = ffi.new("char[]", 512)
        out = ffi.new("edgerun_model **")
        if lib.er_rt_open_cached(self._buf, entry.plan_bytes, out, err, 512) != lib.EDGERUN_OK:
            raise CacheOpenError(ffi.string(err).decode(errors="replace"))
        self._model = ffi.gc(out[0], lib.edgerun_close)
        n = ffi.new("int32_t *")
        self._records = lib.er_rt_tensors(self._model, n)
        self._count = n[0]
        self._map_lo = int(ffi.cast("uintptr_t", self._buf))
        self._map_hi = self._map_lo + entry.plan_bytes
        if threads > 1 and lib.edgerun_set_num_threads(self._model, min(threads, 1024)) != lib.EDGERUN_OK:
            raise StateError(f"num_threads={threads}: cannot start the thread pool "
                             f"({ffi.string(lib.edgerun_last_error(self._model)).decode()})")
        self.views = _Views(self)
        self.tensors = _Shapes(self)
        self.arena_size = meta["arena_bytes"]
        self.folded = meta["folded"]
        self.prepared_bytes = meta["prepared_bytes"]
        self._plan = None

    def _view(self, ti: int):
        """A numpy array over tensor ti's memory in the C model (read-only for constants in the mapped file),
        or None when the plan keeps no bytes for it. The array keeps this graph alive."""
        if not 0 <= ti < self._count:
            return None
        rec = self._records[ti]
        if rec.data == ffi.NULL:
            return None
        dt = TFLITE_DTYPES[rec.type]
        addr = int(ffi.cast("uintptr_t", rec.data))
        owner = ffi.gc(ffi.cast("char *", rec.data), lambda _p, g=self: None)  # holds the graph for the view
        a = np.frombuffer(ffi.buffer(owner, max(int(rec.bytes), 0)), dt).reshape(tuple(rec.dims[0:rec.ndim]))
        if self._map_lo <= addr < self._map_hi:
            a.flags.writeable = False
        return a

    @property
    def plan(self) -> P.Plan:
        if self._plan is None:
            from edgerun.platforms.planfile import read_plan

            self._plan = read_plan(self.entry.map[:self.entry.plan_bytes])
        return self._plan

    def variable_items(self) -> list:
        """(key, copy of its current value) of every variable."""
        out = []
        data, nbytes = ffi.new("void **"), ffi.new("size_t *")
        for k, (key, type_, shape) in enumerate(self.entry.meta["variables"]):
            lib.er_rt_variable_data(self._model, k, data, nbytes)
            raw = np.frombuffer(ffi.buffer(data[0], nbytes[0]), np.uint8) if nbytes[0] else np.zeros(0, np.uint8)
            out.append((key, raw.view(TFLITE_DTYPES[type_]).reshape(shape).copy()))
        return out

    def variable_bytes(self) -> int:
        return self.entry.meta["memory_report"]["variable_bytes"]

    def tensor_view(self, ti: int):
        return self.views[ti]

    def reset_variables(self):
        lib.edgerun_reset_variables(self._model)

    def invoke(self):
        if lib.edgerun_invoke(self._model) != lib.EDGERUN_OK:
            raise InvokeError(ffi.string(lib.edgerun_last_error(self._model)).decode(errors="replace"))


class _Views:
    """Tensor id -> numpy array over the C model's memory, made on first use (a dict's get and []),"""

    def __init__(self, graph: CachedGraph):
        self._graph = graph
        self._made: dict = {}

    def get(self, ti, default=None):
        v = self._made.get(ti)
        if v is None:
            v = self._graph._view(int(ti))
            if v is None:
                return default
            self._made[ti] = v
        return v

    def __getitem__(self, ti):
        v = self.get(ti)
        if v is None:
            raise KeyError(ti)
        return v

    def __contains__(self, ti) -> bool:
        return self.get(ti) is not None

    def items(self):
        return [(ti, v) for ti in range(self._graph._count) if (v := self.get(ti)) is not None]


class _Shape:
    __slots__ = ("shape", "type")

    def __init__(self, shape, type_):
        self.shape = shape
        self.type = type_


class _Shapes:
    """graph.tensors[ti].shape / .type from the C model's tensor records (shape None for a tensor the plan has
    no use for, as a PlanTensor's)."""

    def __init__(self, graph: CachedGraph):
        self._graph = graph

    def __len__(self) -> int:
        return self._graph._count

    def __getitem__(self, ti: int) -> _Shape:
        g = self._graph
        if not 0 <= ti < g._count:
            raise IndexError(ti)
        rec = g._records[ti]
        shape = tuple(rec.dims[0:rec.ndim]) if rec.data != ffi.NULL or rec.ndim else None
        return _Shape(shape, rec.type)


__all__ = ["PreparedGraph", "CachedGraph", "CacheOpenError", "op_handler", "P"]

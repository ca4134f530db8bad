"""The main graph of a model opened from the interpreter's plan cache (runtime/plan_cache.py): platforms/lib's
loader lays the cached plan file out in one C call. This module imports neither the op handlers nor the
preparer, so that a process which only opens cached models does not load them.
"""
from __future__ import annotations

import numpy as np

from edgerun.errors import InvokeError, StateError
from edgerun.kernels import ffi, lib
from edgerun.runtime.dtypes import TFLITE_DTYPES


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
    def plan(self):
        if self._plan is None:
            from edgerun.platforms.planfile import read_plan

            self._plan = read_plan(self.entry.map[:self.entry.plan_bytes])
        return self._plan

    @property
    def steps(self) -> list:
        """The main subplan's op records (read back from the file)."""
        return self.plan.main.ops

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

"""Graphs with run-time-sized outputs, run in stages.

WHERE, UNIQUE, RANGE on computed limits, a RESHAPE/TILE/SLICE/PAD/FILL... whose shape operand is computed:
the output shape of such an op depends on tensor values that exist only once the ops before it have run
(TFLite's "dynamic tensors"). A plan is static (one arena, every shape fixed at prepare), so the main
subgraph of such a model is run as a chain of stages:

    stage [0, p1)      prepared at allocate_tensors(): the ops before the first op that needs a value
    stage [p1, p2)     prepared at invoke(), once the values it needs exist: they are constants of this
    ...                stage's plan (the op computes its output at prepare, by the same kernels), and the
                       tensors it reads from earlier stages are its inputs, with their run-time shapes

A stage ends where an op needs a value its own stage computes. Prepared stages are kept (least recently used
first out, STAGE_CACHE per start) by their inputs' shapes and the bytes of the values they fold, so a model
whose run-time shapes repeat prepares each stage once; one whose values change on every invoke (WHERE over
fresh data) prepares the stages after the first on every invoke (Python prepare time, a few ms).

A stage's outputs are copied out after it runs (they are the next stages' inputs); get_tensor() reads the last
stage that held the tensor. Variables are shared by all stages (one store). Ops inside control-flow bodies
need their shapes at prepare: there the RunTimeShapeError stands.
"""
from __future__ import annotations

import collections
import dataclasses

import numpy as np

from edgerun.errors import RunTimeShapeError, StateError
from edgerun.runtime.ops import TFLITE_DTYPES

STAGE_CACHE = 16


class _ModelView:
    """The model with one subgraph replaced by a stage's view of it (everything else shared)."""

    def __init__(self, model, index, desc):
        self._model = model
        self.subgraphs = list(model.subgraphs)
        self.subgraphs[index] = desc

    def __getattr__(self, name):
        return getattr(self._model, name)


@dataclasses.dataclass
class _Shape:
    """What the Interpreter reads of a tensor record (shape_of, set_tensor): its current shape."""

    shape: tuple | None


@dataclasses.dataclass
class _Stage:
    start: int
    end: int  # one past its last op
    graph: object  # PreparedGraph
    inputs: list  # tensor indices it reads from earlier stages or the caller
    outputs: list  # tensor indices it hands on (later stages' inputs, model outputs)


class StagedGraph:
    """PreparedGraph's interface (views, tensors, invoke, variables) over a chain of stages."""

    def __init__(self, make_graph, model, index: int, input_shapes: dict, first: RunTimeShapeError,
                 variables: dict):
        self.make_graph = make_graph  # (model view, input shapes) -> PreparedGraph
        self.model = model
        self.index = index
        self.desc = model.subgraphs[index]
        self.variables = variables
        ops = self.desc.ops
        self.positions = {op.index: k for k, op in enumerate(ops)}
        self.producer = {}  # tensor -> position of the op writing it
        for k, op in enumerate(ops):
            for t in op.outputs:
                if t >= 0:
                    self.producer.setdefault(t, k)
        self.last_read = {}  # tensor -> last position reading it (len(ops): a model output)
        for k, op in enumerate(ops):
            for t in op.inputs:
                if t >= 0:
                    self.last_read[t] = k
        for t in self.desc.outputs:
            self.last_read[t] = len(ops)
        self.needed: dict[int, set] = collections.defaultdict(set)  # start -> tensors to fold as values
        self.cache: dict[int, collections.OrderedDict] = collections.defaultdict(collections.OrderedDict)
        self.holders = {}  # the caller's inputs
        for ti in self.desc.inputs:
            t = self.desc.tensors[ti]
            dt = TFLITE_DTYPES.get(t.type)
            if dt is None or dt.kind == "O":
                raise first  # STRING/resource inputs are not staged
            self.holders[ti] = np.zeros(input_shapes[ti], dt)
        self.tensors = [_Shape(tuple(t.shape) if t.shape is not None else None) for t in self.desc.tensors]
        for ti, a in self.holders.items():
            self.tensors[ti] = _Shape(a.shape)
        self.views = dict(self.holders)
        self.stages_run: list = []
        # what can be prepared now: the ops before the first one that needs a value
        if first.subplan != 0 or first.op_index not in self.positions:
            raise first
        p = self.positions[first.op_index]
        self._learn(0, first, p)
        if p > 0:
            self._stage(0, {ti: a for ti, a in self.holders.items()}, static_only=True)

    # -- PreparedGraph's interface ---------------------------------------------------------------------
    @property
    def plan(self):
        return self.stages_run[0].graph.plan if self.stages_run else None

    @property
    def arena_size(self):
        """The arenas of the stages the last invoke() ran: each has its own, all kept."""
        return sum(int(s.graph.arena_size) for s in self.stages_run)

    @property
    def prepared_bytes(self):
        return sum(s.graph.prepared_bytes for s in self.stages_run)

    def variable_bytes(self):
        return sum(a.nbytes for a in self.variables.values() if a.dtype.kind != "O")

    def variable_items(self):
        seen = {}
        for st in self.stages_run:
            for key, a in st.graph.variable_items():
                seen[key] = a
        return list(seen.items())

    def memory_report(self) -> dict:
        """Interpreter.memory_report() of the stages the last invoke() ran (each has its own arena)."""
        if not self.stages_run:
            raise StateError("memory_report(): this model has run-time-sized tensors (its later stages are "
                             "prepared at invoke()): call invoke() first")
        buffers = {}
        for st in self.stages_run:
            for sp in st.graph.plan.subplans:
                for t in st.graph.model.subgraphs[sp.subgraph].tensors:
                    if t.data is not None and t.buffer >= 0:
                        buffers[t.buffer] = int(t.data.nbytes)
        return {"arena_bytes": self.arena_size,
                "weight_bytes": sum(buffers.values()), "prepared_weight_bytes": int(self.prepared_bytes),
                "variable_bytes": int(self.variable_bytes()), "variables": len(self.variables),
                "stages": [{"first_op": self.desc.ops[st.start].index, "arena_bytes": int(st.graph.arena_size)}
                           for st in self.stages_run],
                "subgraphs": []}

    def reset_variables(self):
        for c in self.cache.values():
            for st in c.values():
                st.graph.reset_variables()

    def invoke(self, times: dict | None = None):
        """Run the stages. `times` (the profiler's): {stage start: [seconds per main op record]}, added to."""
        values = dict(self.holders)  # read only: copied into each stage's input views
        n = len(self.desc.ops)
        start, run = 0, []
        while start < n:
            st = self._stage(start, values)
            g = st.graph
            for ti in st.inputs:
                g.views[ti][...] = values[ti]
            if times is None:
                g.invoke()
            else:
                g.exe.invoke(times.setdefault(start, [0.0] * len(g.plan.main.ops)))
            for ti in st.outputs:
                values[ti] = np.array(g.views[ti], copy=True)
            run.append(st)
            start = st.end
        self.stages_run = run
        self.views = dict(self.holders)
        for st in run:
            for ti, v in st.graph.views.items():
                if ti not in self.holders:
                    self.views[ti] = v
                    self.tensors[ti] = _Shape(tuple(v.shape))
        for ti in self.desc.outputs:  # a model output computed at prepare (folded) in a later stage
            if ti in values:
                self.views[ti] = values[ti]
                self.tensors[ti] = _Shape(tuple(values[ti].shape))

    # -- stages ------------------------------------------------------------------------------------------
    def _learn(self, start, exc, p):
        """Remember which values the op at position p needs, when they exist before `start`."""
        if p == start:
            avail = [t for t in exc.tensors if self._before(t, start)]
            if len(avail) != len(exc.tensors):
                raise exc  # a value the op itself would compute: cannot happen in a topological order
            self.needed[start].update(avail)

    def _before(self, t, start):
        if t in self.holders:
            return True
        k = self.producer.get(t)
        return k is not None and k < start

    def _key(self, start, values):
        ins = tuple((ti, values[ti].shape) for ti in sorted(self._reads(start)) if ti in values
                    and ti not in self.needed[start])
        vals = tuple((ti, values[ti].dtype.str, values[ti].shape, values[ti].tobytes())
                     for ti in sorted(self.needed[start]))
        return ins, vals

    def _reads(self, start, end=None):
        ops = self.desc.ops[start:end]
        return {t for op in ops for t in op.inputs if t >= 0 and self._before(t, start)}

    def _stage(self, start, values, static_only=False):
        cache = self.cache[start]
        key = self._key(start, values)
        st = cache.get(key)
        if st is not None:
            cache.move_to_end(key)
            return st
        end = None
        while True:
            try:
                st = self._prepare(start, end, values)
                break
            except RunTimeShapeError as exc:
                if exc.subplan != 0 or exc.op_index not in self.positions:
                    raise
                p = self.positions[exc.op_index]
                if p == start:
                    if static_only:
                        raise
                    if not all(t in values for t in exc.tensors) or set(exc.tensors) <= self.needed[start]:
                        raise
                    self._learn(start, exc, p)
                    key = self._key(start, values)
                    continue
                end = p  # the op needs a value this stage computes: the stage ends before it
        cache[self._key(start, values)] = st
        while len(cache) > STAGE_CACHE:
            cache.popitem(last=False)
        return st

    def _prepare(self, start, end, values):
        desc = self.desc
        ops = desc.ops[start:end]
        stop = len(desc.ops) if end is None else end
        fold = self.needed[start]
        inputs = sorted(t for t in self._reads(start, end) if t not in fold)
        produced = {t for op in ops for t in op.outputs if t >= 0}
        outputs = sorted(t for t in produced if self.last_read.get(t, -1) >= stop or t in desc.outputs)
        tensors = list(desc.tensors)
        for ti in fold:
            a = np.array(values[ti], copy=True)  # a constant of this stage's plan: the caller's input may change
            tensors[ti] = dataclasses.replace(desc.tensors[ti], shape=tuple(a.shape), data=a)
        view = dataclasses.replace(desc, tensors=tensors, ops=list(ops), inputs=inputs, outputs=outputs)
        shapes = {ti: tuple(values[ti].shape) if ti in values else tuple(desc.tensors[ti].shape) for ti in inputs}
        graph = self.make_graph(_ModelView(self.model, self.index, view), shapes)
        return _Stage(start, stop, graph, inputs, outputs)


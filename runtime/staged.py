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
first out, STAGE_CACHE per start) by the shapes of the inputs they read and the bytes of the values they fold
(where a stage ends does not depend on the shapes: a tensor only later stages read does not count), so a model
whose run-time shapes repeat prepares each stage once. A later stage not kept whose key was not seen before
(values that change on every invoke: WHERE over fresh data) is evaluated at the host instead of prepared as a
plan used once (StagedGraph._evaluate: each op's handler and C kernel run once on the values, as prepare folds
constants, without lifetimes, arena or materializing; an op that is no plain C kernel - Python ops, control
flow, variables - makes the stage one to prepare); a key seen again is prepared and kept. The profiler's
invokes run prepared stages only (per-op records).

A stage's outputs are copied out after it runs (they are the next stages' inputs); get_tensor() reads the last
stage that held the tensor. Variables are shared by all stages (one store).

Control flow at the host. A WHILE/IF whose subgraphs have run-time-sized tensors (an op inside needs a value),
whose loop variables change shape from one round to the next (tf.while_loop with shape_invariants growing a
tensor by concat) or whose branches return different shapes cannot be one static plan: its handler
(runtime/ops/control.py) raises a RunTimeShapeError with `host_op` set, and that op becomes a stage of its own,
run here in Python: the stage before ends before it, WHILE runs cond and body (IF the branch the condition
selects) each as a whole subgraph on the current values (_Subgraphs.run: a PreparedGraph, or one StagedGraph of
that subgraph when it has run-time-sized tensors itself, so nested control flow works the same way), the
carried values' shapes free to change every round, and the next stage goes on with its outputs. Prepared graphs
are kept by the shapes of what they read (SUBGRAPH_CACHE per subgraph or stage start, while their arenas add up
to at most SUBGRAPH_BYTES, least recently used out): a cond that never reads a growing loop variable is prepared
once, a round prepares only the body stages its new shapes reach, and a loop whose shapes repeat from one invoke
to the next prepares nothing the second time. A static WHILE/IF (the common case: LSTM/GRU loops) never gets
here and runs in C inside its stage's plan.
"""
from __future__ import annotations

import collections
import dataclasses
import time

import numpy as np

from edgerun.errors import DtypeError, InvokeError, RunTimeShapeError, StateError, UnsupportedOpError
from edgerun.runtime import limits
from edgerun.runtime import ops as opreg
from edgerun.runtime import plan as P
from edgerun.runtime.ops import TFLITE_DTYPES, TYPE_NAMES, Kernel, OpContext, TensorInfo
from edgerun.runtime.prepare import OPT_OPS, _fold, ffi, op_handler
from edgerun.runtime.rewrite import fuse_set_item

STAGE_CACHE = 16
SUBGRAPH_CACHE = 256  # graphs kept per subgraph / stage start of control flow at the host (a round each) ...
SUBGRAPH_BYTES = 64 << 20  # ... while their arenas add up to at most this (the newest is always kept)


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
    graph: object  # PreparedGraph (None: a control-flow op run at the host)
    inputs: list  # tensor indices it reads from earlier stages or the caller
    outputs: list  # tensor indices it hands on (later stages' inputs, model outputs)
    host: object = None  # _HostOp
    values: dict | None = None  # a stage evaluated at the host (not kept): every tensor it read or computed


class _Subgraphs:
    """Runs whole subgraphs of the model on given values (the subgraphs of control flow run at the host). A
    subgraph of fixed shapes is one PreparedGraph per shapes of the inputs its ops read (an input only passed
    by, such as a growing loop variable a cond never reads, does not count), kept least recently used first
    out; a subgraph with run-time-sized tensors is one StagedGraph whatever its input shapes, whose stages are
    kept by the shapes and values they read, so a round prepares only the stages its new shapes reach."""

    def __init__(self, make_graph, model, variables: dict, max_loop_iterations=None):
        self.make_graph = make_graph
        self.model = model
        self.variables = variables
        self.max_loop_iterations = max_loop_iterations
        self.cache: collections.OrderedDict = collections.OrderedDict()  # (index, shapes) -> PreparedGraph
        self.staged: dict = {}  # index -> StagedGraph
        self._used: dict = {}  # index -> the inputs its ops read or it returns

    def used(self, index: int) -> set:
        u = self._used.get(index)
        if u is None:
            desc = self.model.subgraphs[index]
            u = self._used[index] = {t for op in desc.ops for t in op.inputs} | set(desc.outputs)
        return u

    def run(self, index: int, values: list, label: str) -> list:
        """Subgraph `index` on `values` (its inputs in order): copies of its outputs."""
        desc = self.model.subgraphs[index]
        for j, (ti, v) in enumerate(zip(desc.inputs, values)):
            want = TFLITE_DTYPES.get(desc.tensors[ti].type)
            if v.dtype != want:
                raise InvokeError(f"{label}: input {j} of subgraph {index} is {v.dtype}, the subgraph's tensor "
                                  f"'{desc.tensors[ti].name}' is {want}")
        g = self.staged.get(index)
        if g is None:
            used = self.used(index)
            key = (index, tuple(tuple(v.shape) if ti in used else None for ti, v in zip(desc.inputs, values)))
            g = self.cache.get(key)
            if g is not None:
                self.cache.move_to_end(key)
            else:
                shapes = {ti: tuple(v.shape) for ti, v in zip(desc.inputs, values)}
                try:
                    g = self.make_graph(self.model, shapes, index)
                except RunTimeShapeError as exc:  # run-time-sized tensors in this subgraph too: staged
                    g = self.staged[index] = StagedGraph(self.make_graph, self.model, index, shapes, exc,
                                                         self.variables, subgraphs=self, cache_size=SUBGRAPH_CACHE)
                    g.cache_bytes = SUBGRAPH_BYTES
                else:
                    self.cache[key] = g
                    _evict(self.cache, SUBGRAPH_CACHE, SUBGRAPH_BYTES, lambda g: g.arena_size)
        if isinstance(g, StagedGraph):
            g.run_on(dict(zip(desc.inputs, values)))
        else:
            used = self.used(index)
            for ti, v in zip(desc.inputs, values):
                if ti in used:
                    g.views[ti][...] = v
            g.invoke()
        outs = []
        for j, ti in enumerate(desc.outputs):
            v = g.views.get(ti)
            if v is None and desc.tensors[ti].data is not None:  # a constant the subgraph returns
                v = desc.tensors[ti].data.reshape(desc.tensors[ti].shape)
            if v is None:
                raise InvokeError(f"{label}: output {j} of subgraph {index} (tensor {ti}) has no value")
            outs.append(np.array(v, copy=True))
        return outs

    def prepared(self) -> list:
        """Every PreparedGraph kept: the subgraph runs' and the stages of the staged subgraphs."""
        out = list(self.cache.values())
        for sg in self.staged.values():
            out += [st.graph for c in sg.cache.values() for st in c.values()]
        return out


def _evict(cache: collections.OrderedDict, count: int, nbytes: int | None, arena):
    """Drop the least recently used entries past `count`, or while their arenas add up to more than `nbytes`
    (the newest one stays)."""
    while len(cache) > count:
        cache.popitem(last=False)
    if nbytes is not None:
        total = sum(int(arena(v)) for v in cache.values())
        while len(cache) > 1 and total > nbytes:
            total -= int(arena(cache.popitem(last=False)[1]))


_TRUTH_TYPES = tuple(np.dtype(t) for t in (np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64, np.float32))


def _truth(a: np.ndarray, label: str) -> bool:
    """A condition's first element as a truth value, as the C kernels read it (kernels/ref/control.c)."""
    if a.size < 1 or a.dtype not in _TRUTH_TYPES:
        raise InvokeError(f"{label}: the condition is {a.dtype} of shape {a.shape}; it must hold at least one "
                          f"bool or number")
    return bool(a.reshape(-1)[0] != 0)


class _HostOp:
    """A WHILE or IF run at the host: its subgraphs run whole (_Subgraphs.run) on the values of the op's
    inputs, each round on the shapes the last one gave."""

    def __init__(self, op, desc, subgraphs: _Subgraphs):
        self.op, self.label, self.subgraphs = op, op.label, subgraphs
        model = subgraphs.model
        n_sub = len(model.subgraphs)
        o = op.options
        fields = ("condSubgraphIndex", "bodySubgraphIndex") if op.name == "WHILE" else \
            ("thenSubgraphIndex", "elseSubgraphIndex")
        self.subs = [getattr(o, f, None) for f in fields]
        for f, k in zip(fields, self.subs):
            if k is None or not 0 <= k < n_sub:
                raise UnsupportedOpError(f"{self.label}: {f} {k} is not a valid subgraph index")
        ins = [desc.tensors[t].type for t in op.inputs]
        outs = [desc.tensors[t].type if t >= 0 else None for t in op.outputs]
        subs = [model.subgraphs[k] for k in self.subs]

        def types(sg, ids):
            return [sg.tensors[t].type for t in ids]

        if op.name == "WHILE":  # every list holds the loop variables' types
            cond, body = subs
            checks = [("output", outs, ins), ("cond input", types(cond, cond.inputs), ins),
                      ("body input", types(body, body.inputs), ins), ("body output", types(body, body.outputs), ins)]
        else:
            checks = [(f"{name} {what}", types(sg, ids), ref) for name, sg in zip(("then", "else"), subs)
                      for what, ids, ref in (("input", sg.inputs, ins[1:]), ("output", sg.outputs, outs))]
        for what, got, want in checks:
            if len(got) != len(want):
                raise UnsupportedOpError(f"{self.label}: {len(got)} {what}s, the op has {len(want)}")
            for j, (a, b) in enumerate(zip(got, want)):
                if a is not None and b is not None and a != b:
                    raise DtypeError(f"{self.label}: {what} {j} has type {TYPE_NAMES.get(a, a)}, the op's "
                                     f"tensor has type {TYPE_NAMES.get(b, b)}")

    def run(self, args: list) -> list:
        run = self.subgraphs.run
        if self.op.name == "IF":
            branch = self.subs[0] if _truth(args[0], self.label) else self.subs[1]
            return run(branch, args[1:], self.label)
        cond, body = self.subs
        limit = self.subgraphs.max_loop_iterations
        values, rounds = list(args), 0
        while _truth(run(cond, values, self.label)[0], self.label):
            if limit and rounds >= limit:
                raise InvokeError(f"{self.label}: loop iteration limit reached (max_loop_iterations={limit})")
            values = run(body, values, self.label)
            rounds += 1
        return values

    def record(self, tensors):
        """What the profiler lists for this stage: one record naming the op, over the run-time shapes."""
        op = self.op
        return P.Subplan(-1, tensors, [P.PlanOp(op.index, op.name, "host", None, list(op.inputs),
                                                list(op.outputs))], [], [])


class _Unevaluable(Exception):
    """A stage the host evaluation does not run (an op that is no plain C kernel): prepare it instead."""


class _NoRuntime:
    """ctx.runtime of an op evaluated at the host: a handler that reaches for a subgraph or a variable makes
    the stage one to prepare."""

    def prepare_subgraph(self, *a, **k):
        raise _Unevaluable

    def variable(self, *a, **k):
        raise _Unevaluable


_NO_RUNTIME = _NoRuntime()


class StagedGraph:
    """PreparedGraph's interface (views, tensors, invoke, variables) over a chain of stages."""

    def __init__(self, make_graph, model, index: int, input_shapes: dict, first: RunTimeShapeError,
                 variables: dict, max_loop_iterations: int | None = None, subgraphs: _Subgraphs | None = None,
                 cache_size: int = STAGE_CACHE, evaluate: bool = False, max_memory_bytes: int | None = None):
        self.make_graph = make_graph  # (model view, input shapes, subgraph index) -> PreparedGraph
        # evaluate: a stage not kept whose key was not seen before runs at the host (_evaluate) instead of
        # being prepared; max_memory_bytes: the limit each of its outputs is checked against
        self.evaluate = evaluate
        self.max_memory_bytes = limits.resolve(max_memory_bytes)
        self.seen: dict[int, collections.OrderedDict] = collections.defaultdict(collections.OrderedDict)
        self.no_eval: set = set()  # starts of stages the host evaluation does not run
        self._programs: dict = {}  # (start, stop) -> [(op, name, handler, output fields)] (_evaluate)
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
        self.cache_size = cache_size  # prepared stages kept per start ...
        self.cache_bytes: int | None = None  # ... while their arenas add up to at most this (None: no bound)
        self.stops: dict[int, list] = collections.defaultdict(list)  # start -> where its stages ended
        self._reads_memo: dict = {}
        self.host: dict[int, _Stage] = {}  # position -> the stage of a control-flow op run at the host
        self.subgraphs = subgraphs or _Subgraphs(make_graph, model, variables, max_loop_iterations)
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
        return next((s.graph.plan for s in self.stages_run if s.graph is not None), None)

    def _graphs(self):
        """The prepared graphs the last invoke() ran: its stages' and (control flow at the host) the
        subgraph runs kept."""
        gs = {id(s.graph): s.graph for s in self.stages_run if s.graph is not None}
        if any(s.host is not None for s in self.stages_run):
            gs.update((id(g), g) for g in self.subgraphs.prepared())
        return list(gs.values())

    @property
    def arena_size(self):
        """The arenas of the stages the last invoke() ran and of the subgraph runs kept for control flow at
        the host: each has its own, all kept."""
        return sum(int(g.arena_size) for g in self._graphs())

    @property
    def prepared_bytes(self):
        return sum(g.prepared_bytes for g in self._graphs())

    def stage_records(self, st):
        """The Subplan whose op records the profiler lists for a stage the last invoke() ran."""
        return st.graph.plan.main if st.graph is not None else st.host.record(self.tensors)

    def variable_bytes(self):
        return sum(a.nbytes for a in self.variables.values() if a.dtype.kind != "O")

    def variable_items(self):
        seen = {}
        for g in self._graphs():
            for key, a in g.variable_items():
                seen[key] = a
        return list(seen.items())

    def memory_report(self) -> dict:
        """Interpreter.memory_report() of the stages the last invoke() ran (each has its own arena)."""
        if not self.stages_run:
            raise StateError("memory_report(): this model has run-time-sized tensors (its later stages are "
                             "prepared at invoke()): call invoke() first")
        buffers = {}
        for g in self._graphs():
            for sp in g.plan.subplans:
                for t in g.model.subgraphs[sp.subgraph].tensors:
                    if t.data is not None and t.buffer >= 0:
                        buffers[t.buffer] = int(t.data.nbytes)
        return {"arena_bytes": self.arena_size,
                "weight_bytes": sum(buffers.values()), "prepared_weight_bytes": int(self.prepared_bytes),
                "variable_bytes": int(self.variable_bytes()), "variables": len(self.variables),
                "stages": [{"first_op": self.desc.ops[st.start].index,
                            "arena_bytes": int(st.graph.arena_size) if st.graph is not None else 0,
                            **({"host": self.desc.ops[st.start].name} if st.host is not None else {})}
                           for st in self.stages_run],
                "subgraphs": []}

    def reset_variables(self):
        for c in self.cache.values():
            for st in c.values():
                st.graph.reset_variables()
        for g in self.subgraphs.prepared():
            g.reset_variables()

    def run_on(self, values: dict):
        """Invoke on these input values (tensor index -> array), whatever their shapes: the subgraphs of
        control flow at the host, whose loop variables may change shape every round. The arrays are read, not
        kept past the next call."""
        for ti, a in values.items():
            self.holders[ti] = a
            self.tensors[ti] = _Shape(tuple(a.shape))
        self.invoke()

    def invoke(self, times: dict | None = None):
        """Run the stages. `times` (the profiler's): {stage start: [seconds per main op record]}, added to."""
        values = dict(self.holders)  # read only: copied into each stage's input views
        n = len(self.desc.ops)
        start, run = 0, []
        while start < n:
            st = self._stage(start, values, evaluate=self.evaluate and times is None)
            if st.host is not None:  # a control-flow op run at the host
                t0 = time.perf_counter()
                outs = st.host.run([self._value(ti, values) for ti in st.host.op.inputs])
                for ti, a in zip(st.host.op.outputs, outs):
                    if ti >= 0:
                        values[ti] = a
                if times is not None:
                    times.setdefault(start, [0.0])[0] += time.perf_counter() - t0
                run.append(st)
                start = st.end
                continue
            if st.values is not None:  # evaluated at the host (_evaluate): its values are new arrays
                values.update(st.values)
                run.append(st)
                start = st.end
                continue
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
            items = (st.graph.views.items() if st.graph is not None else st.values.items()
                     if st.values is not None else [(t, values[t]) for t in st.outputs])
            for ti, v in items:
                if ti not in self.holders:
                    self.views[ti] = v
                    self.tensors[ti] = _Shape(tuple(v.shape))
        for ti in self.desc.outputs:  # a model output computed at prepare (folded) in a later stage
            if ti in values:
                self.views[ti] = values[ti]
                self.tensors[ti] = _Shape(tuple(values[ti].shape))

    # -- stages ------------------------------------------------------------------------------------------
    def _value(self, ti, values):
        """A tensor's value for an op run at the host: computed before it, or a constant of the model."""
        if ti < 0:
            return None
        if ti in values:
            return values[ti]
        t = self.desc.tensors[ti]
        if t.data is None:  # an empty tensor nothing produces (TF's empty shape vectors): the empty array
            return np.zeros(t.shape, TFLITE_DTYPES[t.type])
        return t.data.reshape(t.shape)

    def _host_stage(self, p):
        """The stage of the control-flow op at position p, run at the host."""
        op = self.desc.ops[p]
        for j, ti in enumerate(op.inputs):
            t = self.desc.tensors[ti] if ti >= 0 else None
            empty = t is not None and t.shape is not None and 0 in tuple(t.shape) and t.type in TFLITE_DTYPES
            if t is None or t.is_variable or not (self._before(ti, p) or t.data is not None or empty):
                raise UnsupportedOpError(f"{op.label}: input {j} (tensor {ti}) is absent, a variable or produced by "
                                         f"no op before it; a {op.name} run at the host reads values")
        st = self.host[p] = _Stage(p, p + 1, None, [t for t in op.inputs if self._before(t, p)],
                                   [t for t in op.outputs if t >= 0], _HostOp(op, self.desc, self.subgraphs))
        return st

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

    def _key(self, start, stop, values):
        """A stage [start, stop) is kept by the shapes of what it reads and the values it folds: a tensor
        only later stages read (a loop variable growing past it) does not count."""
        ins = tuple((ti, values[ti].shape) for ti in sorted(self._reads(start, stop)) if ti in values
                    and ti not in self.needed[start])
        vals = tuple((ti, values[ti].dtype.str, values[ti].shape, values[ti].tobytes())
                     for ti in sorted(self.needed[start]))
        return stop, ins, vals

    def _reads(self, start, end=None):
        key = (start, end)
        r = self._reads_memo.get(key)
        if r is None:
            ops = self.desc.ops[start:end]
            r = self._reads_memo[key] = {t for op in ops for t in op.inputs if t >= 0 and self._before(t, start)}
        return r

    def _stage(self, start, values, static_only=False, evaluate=False):
        st = self.host.get(start)
        if st is not None:
            return st
        cache = self.cache[start]
        # Where a stage from `start` ended before (an op needing a value this stage computes) does not depend
        # on the shapes: a kept stage whose reads and folded values match is the stage these values make.
        key = None
        for stop in self.stops[start]:
            key = self._key(start, stop, values)
            st = cache.get(key)
            if st is not None:
                cache.move_to_end(key)
                return st
        # Not kept. Values that change on every invoke (WHERE over fresh data) would prepare a plan used once:
        # a key seen for the first time is evaluated at the host instead (each op's kernel run once on the
        # values, as prepare folds constants: no plan, no arena); one seen again is prepared and kept.
        if evaluate and start > 0 and len(self.stops[start]) == 1 and start not in self.no_eval:
            seen = self.seen[start]
            h = hash(key)  # kept as a hash: a key holds the folded values' bytes
            if h in seen:
                del seen[h]
            else:
                try:
                    out = self._evaluate(start, self.stops[start][0], values)
                except _Unevaluable:
                    self.no_eval.add(start)
                except Exception:  # noqa: BLE001 - prepared below, which raises the error it always raised
                    pass
                else:
                    seen[h] = None
                    while len(seen) > 4 * self.cache_size:
                        seen.popitem(last=False)
                    return _Stage(start, self.stops[start][0], None, [], [], values=out)
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
                    if exc.host_op:
                        return self._host_stage(start)
                    if static_only:
                        raise
                    if not all(t in values for t in exc.tensors) or set(exc.tensors) <= self.needed[start]:
                        raise
                    self._learn(start, exc, p)
                    continue
                end = p  # the op needs a value this stage computes: the stage ends before it
        if st.end not in self.stops[start]:
            self.stops[start].append(st.end)
        cache[self._key(start, st.end, values)] = st
        _evict(cache, self.cache_size, self.cache_bytes, lambda s: s.graph.arena_size)
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
        graph = self.make_graph(_ModelView(self.model, self.index, view), shapes, self.index)
        return _Stage(start, stop, graph, inputs, outputs)


    def _evaluate(self, start, stop, values):
        """Ops [start, stop) run at the host on the values they read: each op's handler and C kernel, as
        prepare folds an op whose inputs are all constant (the same kernel, once), without a plan or an arena.
        Its values by tensor; _Unevaluable for an op that is no plain C kernel (Python ops, control flow,
        variables, STRING)."""
        desc = self.desc
        limit = self.max_memory_bytes
        program = self._programs.get((start, stop))
        if program is None:  # what does not depend on the values: the ops, their handlers
            program = []
            for op in fuse_set_item(desc, list(desc.ops[start:stop])):
                name = op.custom_code if op.name == "CUSTOM" else op.name
                handler = op_handler(op)
                types = [desc.tensors[t].type for t in list(op.inputs) + list(op.outputs) if t >= 0]
                if name in opreg.FLOAT16_OPS and 1 in types:
                    handler = opreg.FLOAT16_OPS[name]
                outs = []
                for ti in op.outputs:
                    t = desc.tensors[ti] if ti >= 0 else None
                    dt = TFLITE_DTYPES.get(t.type) if t is not None else None
                    if t is None or t.data is not None or t.is_variable or dt is None or dt.kind == "O":
                        self.no_eval.add(start)
                        raise _Unevaluable
                    outs.append((t.index, t.name, t.type, None, t.scale, t.zero_point, t.quant_dim))
                program.append((op, name, handler, outs))
            self._programs[(start, stop)] = program
        infos: dict = {}
        out: dict = {}

        def info(ti):
            i = infos.get(ti)
            if i is not None:
                return i
            t = desc.tensors[ti]
            dt = TFLITE_DTYPES.get(t.type)
            if t.is_variable or dt is None or dt.kind == "O":
                raise _Unevaluable
            if ti in values:
                data = values[ti]
            elif t.data is not None:
                data = t.data
            elif t.shape is not None and 0 in tuple(t.shape):
                data = np.zeros(t.shape, dt)
            else:
                raise _Unevaluable
            shape = tuple(data.shape) if ti in values else tuple(t.shape)
            i = infos[ti] = TensorInfo(t.index, t.name, t.type, shape, t.scale, t.zero_point, t.quant_dim,
                                       data, t.sparsity)
            if ti in values:
                out[ti] = data
                total[0] += data.nbytes + 64
            return i

        # at least the arena a plan of this stage would have (every tensor apart, aligned, its scratch) and the
        # constants its handlers prepare: over the limit, the stage is prepared (which refuses as it always did)
        total = [0]
        for op, name, handler, out_fields in program:
            ins = [info(ti) if ti >= 0 else None for ti in op.inputs]
            outs = [TensorInfo(*f) for f in out_fields]
            ctx = OpContext(op.index, name, op.version, op.options, op.custom_options, ins, outs, ffi,
                            runtime=_NO_RUNTIME, isa=None, max_memory_bytes=limit)
            try:
                result = handler(ctx)
            except RunTimeShapeError:
                raise _Unevaluable from None
            if not isinstance(result, Kernel) or isinstance(result.params, P.Params):
                raise _Unevaluable
            for j, o in enumerate(outs):
                if o.shape is None:
                    raise _Unevaluable
                limits.tensor_bytes(o.shape, o.dtype.itemsize, lambda: f"{op.label}: output {j} '{o.name}'",
                                    limit)
            if not all(o.data is not None for o in outs):
                if result.name is None:
                    raise _Unevaluable
                if int(result.scratch_bytes) > limit:
                    limits.check_bytes(result.scratch_bytes, f"{op.label}: scratch", limit)
                if ctx.isa != "ref" and result.name in OPT_OPS:
                    result = Kernel(result.name + "_opt", result.params, result.scratch_bytes, result.fold)
                _fold(op, result, ins, outs)
            total[0] += int(result.scratch_bytes) + int(ctx.prepared_bytes)
            for o in outs:
                a = np.asarray(o.data)
                a = a.reshape(o.shape) if a.size == o.size else a
                infos[o.index] = o
                out[o.index] = a
                total[0] += a.nbytes + 64
        limits.check_bytes(total[0], f"the tensors of ops {start}..{stop - 1} evaluated at the host", limit)
        return out

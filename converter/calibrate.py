"""Calibration for post-training quantization: run the float model in edgerun's own interpreter on every
representative sample and record the range (min, max) of every float activation tensor.

    ranges = calibrate(graph, representative_data)     # {Tensor.id: (min, max)}

`representative_data` is what TFLiteConverter's `representative_dataset` accepts, and a little more: an
iterable or generator of samples, or a callable returning one. A sample is an array (models with one input),
a list/tuple of arrays in the order of the model's inputs, or a dict {input name: array}. A text progress
bar (edgerun/progress.py, tqdm) goes to stderr when it is a terminal.

Graphs with control flow (IF, WHILE; Graph.subgraphs) are run by `_ControlFlowRunner`: the straight runs of
ops between control-flow ops run in edgerun as small models of their own, and IF / WHILE are evaluated here in
Python (a branch chosen, a body repeated), so the tensors of every subgraph are seen on every execution of it.
"""
from __future__ import annotations


import numpy as np

from edgerun.errors import ConversionError, EdgerunError

MAX_LOOP_ITERATIONS = 1_000_000  # a WHILE running longer during calibration is refused

__all__ = ["TensorRecorder", "calibrate", "iter_samples", "run_collect"]


def _input_specs(graph):
    names = graph.input_names or [t.name for t in graph.inputs]
    return [(n, t.shape, t.dtype) for n, t in zip(names, graph.inputs)]


def iter_samples(data, specs):
    """Validate and normalize representative data: yields, per sample, a list of arrays (one per input,
    converted to the input's dtype). specs: [(name, shape with -1 for dynamic dims, dtype)]."""
    if data is None:
        raise ConversionError("quantization needs representative_data (an iterable of input samples) to "
                              "calibrate activation ranges")
    if callable(data) and not hasattr(data, "__iter__"):
        data = data()
    try:
        it = iter(data)
    except TypeError:
        raise ConversionError(f"representative_data must be an iterable, generator or a callable returning "
                              f"one, not {type(data).__name__}") from None
    names = [s[0] for s in specs]
    n = 0
    for k, item in enumerate(it):
        if isinstance(item, dict):
            missing = [nm for nm in names if nm not in item]
            if missing:
                raise ConversionError(f"representative_data sample {k}: no value for input(s) "
                                      f"{', '.join(repr(m) for m in missing)} (inputs: {names})")
            extra = [nm for nm in item if nm not in names]
            if extra:
                raise ConversionError(f"representative_data sample {k}: unknown input name(s) {extra} "
                                      f"(inputs: {names})")
            arrays = [item[nm] for nm in names]
        elif isinstance(item, (list, tuple)):
            arrays = list(item)
            if len(arrays) != len(specs):
                raise ConversionError(f"representative_data sample {k}: {len(arrays)} arrays given, the model "
                                      f"has {len(specs)} input(s) {names}")
        else:
            if len(specs) != 1:
                raise ConversionError(f"representative_data sample {k}: a single array given, the model has "
                                      f"{len(specs)} inputs {names}; give a list of arrays or a dict by name")
            arrays = [item]
        out = []
        for (name, shape, dtype), a in zip(specs, arrays):
            try:
                a = np.asarray(a)
            except (TypeError, ValueError) as exc:
                raise ConversionError(f"representative_data sample {k}: input {name!r}: not an array "
                                      f"({exc})") from None
            if a.dtype.kind not in "biuf":
                raise ConversionError(f"representative_data sample {k}: input {name!r} has dtype {a.dtype}, "
                                      f"expected {np.dtype(dtype)}")
            if a.ndim != len(shape) or any(s >= 0 and s != d for s, d in zip(shape, a.shape)):
                shown = tuple(None if s < 0 else s for s in shape)
                raise ConversionError(f"representative_data sample {k}: input {name!r} has shape "
                                      f"{tuple(a.shape)}, expected {shown}")
            out.append(np.ascontiguousarray(a.astype(dtype, copy=False)))
        n += 1
        yield out
    if n == 0:
        raise ConversionError("representative_data is empty: calibration needs at least one sample")


class TensorRecorder:
    """Runs one model in edgerun with every tensor preserved and hands the chosen tensors to a callback."""

    def __init__(self, model_bytes: bytes, interpreter_factory=None):
        if interpreter_factory is None:
            from edgerun.runtime.interpreter import Interpreter

            def interpreter_factory(model):
                return Interpreter(model_content=model, experimental_preserve_all_tensors=True, plan_cache=False)

        self.interp = interpreter_factory(model_bytes)
        self.interp.allocate_tensors()
        self.inputs = self.interp.get_input_details()
        self._shapes = [tuple(d["shape"]) for d in self.inputs]

    def run(self, arrays):
        it = self.interp
        shapes = [tuple(np.shape(a)) for a in arrays]
        if shapes != self._shapes:
            for d, s in zip(self.inputs, shapes):
                it.resize_tensor_input(d["index"], s)
            it.allocate_tensors()
            self._shapes = shapes
        for d, a in zip(self.inputs, arrays):
            it.set_tensor(d["index"], a)
        it.invoke()

    def get(self, index: int) -> np.ndarray:
        return self.interp.get_tensor(index)


def run_collect(model_bytes, samples, indices, fn, interpreter_factory=None):
    """For every sample: run the model and call fn(sample_number, {index: array}) with the listed tensors."""
    rec = TensorRecorder(model_bytes, interpreter_factory)
    for k, arrays in enumerate(samples):
        rec.run(arrays)
        fn(k, {i: rec.get(i) for i in indices})


def calibrate(graph, representative_data, *, progress: bool = True, stream=None) -> dict:
    """Run the float IR graph in edgerun on every sample; return {Tensor.id: (min, max)} for every
    non-constant float tensor (graph inputs and op outputs, in the main graph and in its subgraphs).
    Non-finite values are ignored. progress=False: no bar; True: a bar when `stream` (stderr) is a terminal."""
    from edgerun.progress import bar as progress_bar
    from edgerun.converter.export import export_with_map

    graphs = [graph] + list(graph.subgraphs)
    tensors = [t for g in graphs for t in g.tensors() if not t.is_const and t.dtype.kind == "f"]
    lo = {t.id: np.inf for t in tensors}
    hi = {t.id: -np.inf for t in tensors}
    total = None
    if hasattr(representative_data, "__len__") and not callable(representative_data):
        total = len(representative_data)
    bar = progress_bar("Calibrating", total, unit="sample", stream=stream, enable=None if progress else False)

    def observe(tid, a):
        if tid not in lo:
            return
        a = a[np.isfinite(a)] if not np.all(np.isfinite(a)) else a
        if a.size:
            lo[tid] = min(lo[tid], float(a.min()))
            hi[tid] = max(hi[tid], float(a.max()))

    samples = iter_samples(representative_data, _input_specs(graph))
    try:
        if graph.subgraphs:
            runner = _ControlFlowRunner(graph, observe)
            for arrays in samples:
                runner.run(graph, arrays)
                bar.update()
            runner.warn_unseen()
        else:
            model, index = export_with_map(graph)
            by_index = {index[t.id]: t.id for t in tensors if t.id in index}

            def record(_k, arrays):
                for i, a in arrays.items():
                    observe(by_index[i], a)
                bar.update()

            run_collect(model, samples, list(by_index), record)
    except ConversionError:
        raise
    except EdgerunError as exc:
        raise ConversionError(f"calibration: edgerun cannot run the float model: {exc}") from exc
    finally:
        bar.close()
    # Tensors that never held a finite value (e.g. empty, or in a branch never taken) get the range [0, 0].
    return {tid: (lo[tid], hi[tid]) if lo[tid] <= hi[tid] else (0.0, 0.0) for tid in lo}


_CONTROL_FLOW = ("IF", "WHILE")


class _ControlFlowRunner:
    """Runs an IR graph with IF / WHILE for calibration, calling observe(Tensor.id, array) for every tensor
    value computed, in every subgraph, on every execution. Each graph is cut at its control-flow ops; each
    straight run of other ops becomes one edgerun model (its inputs: the tensors it reads from earlier ops or
    the graph's inputs; every tensor preserved), built once and reused."""

    def __init__(self, root, observe):
        self.root = root
        self.observe = observe
        self.plans: dict = {}  # id(graph) -> [("cf", op) | ("run", recorder, inputs, {Tensor.id: index})]
        self.executed: set = set()  # ids of graphs run at least once

    def _plan(self, g):
        if id(g) in self.plans:
            return self.plans[id(g)]
        from edgerun.converter.export import export_with_map
        from edgerun.converter.ir import Graph

        pieces, run = [], []
        for op in g.ops + [None]:
            if op is not None and op.type not in _CONTROL_FLOW:
                if op.type in ("CALL", "CALL_ONCE"):
                    raise ConversionError(f"calibration: {op.type} ({op.name!r}) in {g.name!r} is not supported")
                run.append(op)
                continue
            if run:
                pieces.append(run)
                run = []
            if op is not None:
                pieces.append(op)
        # which tensors each piece reads, to know which outputs of a run are needed later
        later_reads: list = []
        reads: set = {t.id for t in g.outputs}
        for piece in reversed(pieces):
            later_reads.append(set(reads))
            ops = piece if isinstance(piece, list) else [piece]
            reads |= {t.id for op in ops for t in op.inputs if t is not None}
        later_reads.reverse()
        plan = []
        for piece, needed in zip(pieces, later_reads):
            if not isinstance(piece, list):
                plan.append(("cf", piece))
                continue
            made = {t.id for op in piece for t in op.outputs}
            ins, outs, seen = [], [], set()
            for op in piece:
                for t in op.inputs:
                    if t is not None and not t.is_const and t.id not in made and t.id not in seen:
                        seen.add(t.id)
                        ins.append(t)
            for op in piece:
                outs += [t for t in op.outputs if t.id in needed and t not in outs]
            if not outs:  # nothing read later: keep the last op's outputs so the model is not empty
                outs = list(piece[-1].outputs)
            sub = Graph(name=f"{g.name}_calibration", inputs=ins, outputs=outs, ops=piece)
            model, index = export_with_map(sub)
            rec = TensorRecorder(model)
            plan.append(("run", rec, ins, {t.id: index[t.id] for op in piece for t in op.outputs}))
        self.plans[id(g)] = plan
        return plan

    def run(self, g, arrays) -> list:
        """Run graph `g` on `arrays` (one per input); returns its outputs."""
        self.executed.add(id(g))
        env = {}
        for t, a in zip(g.inputs, arrays):
            env[t.id] = a
            self.observe(t.id, a)
        for item in self._plan(g):
            if item[0] == "run":
                _, rec, ins, index = item
                rec.run([env[t.id] for t in ins])
                for tid, i in index.items():
                    env[tid] = a = np.array(rec.get(i))
                    self.observe(tid, a)
            else:
                op = item[1]
                outs = self._control_flow(g, op, [self._value(env, t) for t in op.inputs])
                for t, a in zip(op.outputs, outs):
                    env[t.id] = a
                    self.observe(t.id, a)
        return [self._value(env, t) for t in g.outputs]

    @staticmethod
    def _value(env, t):
        return np.asarray(t.data) if t.is_const else env[t.id]

    def _sub(self, op, field):
        return self.root.subgraphs[int(op.options[field]) - 1]

    def _control_flow(self, g, op, values) -> list:
        if op.type == "IF":
            taken = bool(np.asarray(values[0]).reshape(-1)[0])
            return self.run(self._sub(op, "thenSubgraphIndex" if taken else "elseSubgraphIndex"), values[1:])
        cond, body = self._sub(op, "condSubgraphIndex"), self._sub(op, "bodySubgraphIndex")
        for _ in range(MAX_LOOP_ITERATIONS):
            if not bool(np.asarray(self.run(cond, values)[0]).reshape(-1)[0]):
                return values
            values = self.run(body, values)
        raise ConversionError(f"calibration: WHILE ({op.name!r}) in {g.name!r} ran more than "
                              f"{MAX_LOOP_ITERATIONS} iterations on a representative sample")

    def warn_unseen(self):
        """Subgraphs no sample ran (an IF branch never taken): their inner tensors get no range."""
        import warnings

        for k, sg in enumerate(self.root.subgraphs, start=1):
            if id(sg) not in self.executed and sg.ops:
                warnings.warn(f"calibration: subgraph {k} ({sg.name!r}) never ran on the representative data (an "
                              f"IF branch never taken?); its tensors are quantized from the ranges of the values "
                              f"it shares with its caller only", stacklevel=3)

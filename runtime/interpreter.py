"""edgerun.Interpreter: a drop-in for ai_edge_litert.interpreter.Interpreter (same arguments, methods and
detail dicts), running prepared plans on edgerun's C kernels."""
from __future__ import annotations

import threading

import numpy as np

from edgerun.errors import DtypeError, ModelError, RunTimeShapeError, ShapeError, StateError
from edgerun.runtime import limits, strings
from edgerun.runtime import plan_cache as cache_files
from edgerun.runtime.cached import CachedGraph, CacheOpenError
from edgerun.runtime.dtypes import TFLITE_DTYPES, TYPE_NAMES
from edgerun.runtime.limits import threads_for
from edgerun.runtime.plan_cache import USER_CUSTOMS
from edgerun.runtime.plan_cache import enabled as plan_cache_enabled

# The preparer, the op handlers and the model reader are imported when a model is first prepared or parsed
# (_prepare_modules): a process that opens only cached plans does not load them (about 0.1 s of imports).


def _prepare_modules():
    """(Model, PreparedGraph, StagedGraph, op_handler), imported on first use."""
    from edgerun.runtime.graph import PreparedGraph, op_handler
    from edgerun.runtime.model import Model
    from edgerun.runtime.staged import StagedGraph

    return Model, PreparedGraph, StagedGraph, op_handler


# LiteRT's detail dtypes where they differ from the arrays: STRING is numpy.bytes_, RESOURCE numpy.object_
_DETAIL_DTYPES = {5: np.dtype(np.bytes_), 13: np.dtype(object)}


def _details(desc, index, shape):
    t = desc.tensors[index]
    dt = _DETAIL_DTYPES.get(t.type) or TFLITE_DTYPES.get(t.type)
    scale = np.asarray(t.scale, dtype=np.float32)
    zp = np.asarray(t.zero_point, dtype=np.int32)
    return {
        "name": t.name,
        "index": index,
        "shape": np.array(shape if shape is not None else t.shape, dtype=np.int32),
        "shape_signature": np.array(t.shape_signature, dtype=np.int32),
        "dtype": dt.type if dt is not None else None,
        "quantization": (float(scale[0]), int(zp[0])) if scale.size == 1 else (0.0, 0),
        "quantization_parameters": {
            "scales": scale,
            "zero_points": zp,
            "quantized_dimension": int(t.quant_dim),
            "block_size": 0,
        },
        "sparsity_parameters": _sparsity_dict(t.sparsity),
    }


def _copied(x):
    """A fresh copy of a details dict (its arrays too), as every get_input_details() call returns."""
    if isinstance(x, dict):
        return {k: _copied(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_copied(v) for v in x]
    return x.copy() if isinstance(x, np.ndarray) else x


def _detail_type(type_):
    dt = _DETAIL_DTYPES.get(type_) or TFLITE_DTYPES.get(type_)
    return dt.type if dt is not None else None


def _sparsity_dict(sp):
    if sp is None:
        return {}
    out = {}
    if sp.traversalOrder is not None:
        out["traversal_order"] = np.asarray(sp.traversalOrder, dtype=np.int32)
    if sp.blockMap is not None:
        out["block_map"] = np.asarray(sp.blockMap, dtype=np.int32)
    dims = []
    for dm in sp.dimMetadata or []:
        if dm.format == 0:
            dims.append({"format": 0, "dense_size": dm.denseSize})
        else:
            seg = getattr(dm.arraySegments, "values", None)
            idx = getattr(dm.arrayIndices, "values", None)
            dims.append({"format": 1, "array_segments": np.asarray(seg if seg is not None else []),
                         "array_indices": np.asarray(idx if idx is not None else [])})
    out["dim_metadata"] = dims
    return out


def tensor_facts(desc, ti):
    """(type, name, where, is an input, is a constant) of tensor ti of a subgraph: what set_tensor checks."""
    t = desc.tensors[ti]
    is_input = ti in desc.inputs
    where = f"input {desc.inputs.index(ti)}, name: {t.name}" if is_input else f"tensor {ti}, name: {t.name}"
    return t.type, t.name, where, is_input, t.data is not None and not t.is_variable


class _Runner:
    """State of one subgraph that the user drives (subgraph 0, or a signature's subgraph)."""

    def __init__(self, interp, index, cached=None):
        self.interp = interp
        self.index = index
        # cached: the plan cache's entry of this (main) graph at the model's own input shapes; then the model is
        # parsed only when something asks for more than the entry holds (runtime/plan_cache.py)
        self.cached = cached
        self._input_shapes: dict | None = None
        self.graph = None  # PreparedGraph, StagedGraph or CachedGraph once allocated

    @property
    def desc(self):
        return self.interp._model.subgraphs[self.index]

    @property
    def input_shapes(self) -> dict:
        if self._input_shapes is None:
            d = self.desc
            self._input_shapes = {i: tuple(d.tensors[i].shape) for i in d.inputs}
        return self._input_shapes

    def _meta(self):
        """The cache entry's facts while they describe this runner: its graph is the cached one, or nothing has
        been resized yet."""
        c = self.cached
        return c.meta if c is not None and (self.graph is None or isinstance(self.graph, CachedGraph)) else None

    def allocate(self):
        it = self.interp
        if self.cached is not None:
            if isinstance(self.graph, CachedGraph):
                return  # as prepared already: its memory and variables stay
            try:
                self.graph = CachedGraph(self.cached, threads=it._threads)
                return
            except CacheOpenError:  # another build's file, or damaged: prepare, and write it again below
                self.cached = None

        _, PreparedGraph, StagedGraph, _ = _prepare_modules()

        def prepared(model, shapes, index=self.index):
            return PreparedGraph(model, index, shapes, preserve_all=it._preserve_all, owner=it,
                                 variables=it._variables, max_memory_bytes=it._max_memory_bytes,
                                 max_loop_iterations=it._max_loop_iterations, threads=it._threads)

        self.graph = None
        try:
            self.graph = prepared(it._model, self.input_shapes)
        except RunTimeShapeError as exc:  # run-time-sized tensors: stages prepared as their values exist
            self.graph = StagedGraph(prepared, it._model, self.index, dict(self.input_shapes), exc,
                                     it._variables, max_loop_iterations=it._max_loop_iterations,
                                     evaluate=True, max_memory_bytes=it._max_memory_bytes)
            return
        if self.index == 0 and it._cache_key is not None and self._input_shapes == self._declared_shapes():
            it._store_plan(self.graph)

    def _declared_shapes(self) -> dict:
        d = self.desc
        return {i: tuple(d.tensors[i].shape) for i in d.inputs}

    def uncache(self):
        """Replace a cached graph by a prepared one (the profiler times PreparedGraph's records one by one):
        inputs and variables carry over."""
        g = self.graph
        if not isinstance(g, CachedGraph):
            return
        inputs = {i: np.array(g.views[i]) for i in self.desc.inputs if i in g.views}
        self._leave_cache()
        self.allocate()
        for i, v in inputs.items():
            self.graph.views[i][...] = v

    def _leave_cache(self):
        """Drop the cached graph for one prepared next: its variables' values carry over (self.interp._variables)."""
        if isinstance(self.graph, CachedGraph):
            for key, a in self.graph.variable_items():
                self.interp._variables[key] = a
        self.cached = None
        self.graph = None

    def ensure(self):
        if self.graph is None:
            raise StateError("allocate_tensors() must be called before invoke(), set_tensor() or get_tensor() "
                             "(and again after resize_tensor_input())")
        return self.graph

    def shape_of(self, ti):
        if isinstance(self.graph, CachedGraph):
            shape = self.graph.tensors[ti].shape
            if shape is not None:
                return shape
        elif self.graph is not None and self.desc.tensors[ti].type == 5 and ti in self.graph.views:
            return self.graph.views[ti].shape  # a STRING tensor's shape may follow the data (SKIP_GRAM)
        if self.graph is not None and self.graph.tensors[ti].shape is not None:
            return self.graph.tensors[ti].shape
        if ti in self.input_shapes:
            return self.input_shapes[ti]
        return self.desc.tensors[ti].shape

    def check_index(self, ti):
        meta = self._meta()
        n = meta["n_tensors"] if meta is not None else len(self.desc.tensors)
        if not isinstance(ti, (int, np.integer)) or not 0 <= int(ti) < n:
            raise ValueError(f"tensor index {ti} out of range: subgraph {self.index} has {n} tensors")
        return int(ti)

    def _facts(self, ti):
        """(type, name, where, is an input, is a constant) of tensor ti, for set_tensor's checks and messages."""
        meta = self._meta()
        if meta is not None and ti in meta["facts"]:
            return meta["facts"][ti]
        return tensor_facts(self.desc, ti)

    def set_tensor(self, ti, value):
        ti = self.check_index(ti)
        g = self.ensure()
        type_, name, where, is_input, is_const = self._facts(ti)
        value = np.asarray(value)
        want = TFLITE_DTYPES.get(type_)
        if type_ == 5:  # STRING: numpy bytes, str or object arrays, held as an object array of bytes
            value = strings.as_bytes_array(value, where)
        elif value.dtype != want:
            got = next((n for k, n in TYPE_NAMES.items() if TFLITE_DTYPES.get(k) == value.dtype),
                       str(value.dtype).upper())
            raise DtypeError(f"Cannot set tensor: Got value of type {got} but expected type "
                             f"{TYPE_NAMES.get(type_)} for {where}")
        shape = g.tensors[ti].shape
        if value.ndim != len(shape):
            raise ShapeError(f"Cannot set tensor: Dimension mismatch. Got {value.ndim} dimensions but expected "
                             f"{len(shape)} for {where}")
        for d, (a, b) in enumerate(zip(value.shape, shape)):
            if a != b:
                raise ShapeError(f"Cannot set tensor: Dimension mismatch. Got {a} but expected {b} for "
                                 f"dimension {d} of {where}.")
        view = g.views.get(ti)
        if view is None or not view.flags.writeable or is_const:
            if is_input:  # the file lists a constant as an input: the model is at fault
                raise ModelError(f"Cannot set tensor: {where} is a constant of the model (an input with data)")
            raise ValueError(f"Cannot set tensor: tensor {ti} '{name}' is a constant of the model")
        view[...] = value

    def get_tensor(self, ti):
        ti = self.check_index(ti)
        g = self.ensure()
        v = g.views.get(ti)
        if v is None:
            raise ValueError(f"tensor {ti} '{self.desc.tensors[ti].name}' has no data: it is an intermediate "
                             f"that the memory plan reuses (use experimental_preserve_all_tensors=True)")
        return np.array(v, copy=True)

    def invoke(self):
        g = self.ensure()
        busy = self.interp._busy
        if not busy.acquire(blocking=False):
            raise StateError("invoke(): this Interpreter is already running in another thread; an Interpreter "
                             "runs one invoke at a time (use one Interpreter per thread: separate ones run in "
                             "parallel, the C call releases the GIL)")
        try:
            g.invoke()
        finally:
            busy.release()

    def resize(self, input_index, size, strict=False):
        ti = int(input_index)
        meta = self._meta()
        if ti not in (meta["inputs"] if meta is not None else self.desc.inputs):
            raise ValueError(f"tensor {ti} is not an input of subgraph {self.index}")
        size = tuple(int(d) for d in np.asarray(size).reshape(-1))
        if any(d < 0 for d in size):
            raise ShapeError(f"resize_tensor_input: negative dimension in {size}")
        if strict:
            sig = self.desc.tensors[ti].shape_signature
            if len(sig) != len(size) or any(s != -1 and s != d for s, d in zip(sig, size)):
                raise ShapeError(f"resize_tensor_input(strict=True): shape {size} does not match the shape "
                                 f"signature {tuple(sig)} of input '{self.desc.tensors[ti].name}'")
        current = self.shape_of(ti) if isinstance(self.graph, CachedGraph) else self.input_shapes.get(ti)
        if current != size:
            self._leave_cache()
            self.input_shapes[ti] = size


class Interpreter:
    """Runs a TFLite model. Same constructor and methods as ai_edge_litert.interpreter.Interpreter.

    edgerun's own option: `max_memory_bytes`, the most memory allocate_tensors() may plan for this model
    (activation arena, prepared/packed constants, variables, and each table prepare builds). A model that needs
    more raises MemoryLimitError naming the tensor or op and the bytes asked, before anything that large is
    allocated. Default: min(physical RAM / 2, 16 GiB) (runtime/limits.py). `max_loop_iterations`: a WHILE loop
    running more rounds fails invoke() with InvokeError (for models from untrusted sources); default no limit,
    as TFLite."""

    def __init__(self, model_path=None, model_content=None, experimental_delegates=None, num_threads=None,
                 experimental_op_resolver_type=None, experimental_preserve_all_tensors=False,
                 max_memory_bytes=None, max_loop_iterations=None, plan_cache=None, **_ignored):
        self._max_memory_bytes = limits.resolve(max_memory_bytes)
        if max_loop_iterations is not None and (not isinstance(max_loop_iterations, int) or max_loop_iterations < 1):
            raise ValueError("max_loop_iterations must be a positive integer (or None: no limit)")
        self._max_loop_iterations = max_loop_iterations
        if (model_path is None) == (model_content is None):
            raise ValueError("exactly one of model_path and model_content must be given")
        if num_threads is not None and (not isinstance(num_threads, int) or isinstance(num_threads, bool)
                                        or num_threads < -1):
            raise ValueError("num_threads should be an integer >= 1 (or -1: one per CPU this process may use)")
        self._num_threads = num_threads
        self._threads = threads_for(num_threads)
        self._preserve_all = bool(experimental_preserve_all_tensors)
        self._busy = threading.Lock()  # one invoke() at a time per interpreter (variables, arena)
        self._variables: dict = {}
        self._signature_runners: dict = {}
        if isinstance(model_content, str):
            raise ModelError("model_content must be bytes, not str")
        self._path = model_path
        self._content = model_content
        self.__model = None
        # the plan cache (runtime/plan_cache.py): a model prepared before (the same file, or the same bytes) opens
        # from its cached plan file
        self._cache_key = None
        cached = None
        if plan_cache_enabled(plan_cache) and not USER_CUSTOMS:
            options = (self._preserve_all, max_loop_iterations)
            self._cache_key = (cache_files.key(model_path, options) if model_path is not None else
                               cache_files.content_key(model_content, options))
            if self._cache_key is not None:
                cached = cache_files.load(self._cache_key)
                if cached is not None and cached.meta["needed_bytes"] > self._max_memory_bytes:
                    cached = None  # preparing names what is over the limit
        if cached is None:
            op_handler = _prepare_modules()[3]
            for sg in self._model.subgraphs:  # unknown ops fail here, as LiteRT fails at construction
                for op in sg.ops:
                    op_handler(op)
        self._main = _Runner(self, 0, cached)

    @property
    def _model(self):
        """The parsed model; a model opened from the plan cache is parsed when first asked for more than its
        cache entry holds (tensor details, signatures, ops)."""
        if self.__model is None:
            Model = _prepare_modules()[0]
            if self._path is not None:
                self.__model = Model.from_path(self._path)
            else:
                c = self._content
                self.__model = Model(c if isinstance(c, bytes) else memoryview(c).cast("B"))
        return self.__model

    def _store_plan(self, graph):
        """Write the main graph's plan to the plan cache (after preparing it at the model's own shapes)."""
        model = self._model
        plan = graph.plan if isinstance(graph, _prepare_modules()[1]) else None
        if plan is None or USER_CUSTOMS or plan.python_ops() or plan.device_blocker():
            return  # Python kernels, STRING / hashtable tensors: a plan file cannot hold them
        if plan.info.get("fresh_per_prepare"):
            return  # an unseeded RANDOM op: each prepare draws a new stream, as LiteRT's
        if plan.variables and any(s.subgraph != 0 for s in model.signatures):
            return  # a signature's subgraph shares these variables through self._variables
        desc = model.subgraphs[0]
        ends = list(desc.inputs) + list(desc.outputs)
        meta = {
            "n_tensors": len(desc.tensors), "inputs": list(desc.inputs), "outputs": list(desc.outputs),
            "input_details": self.get_input_details(), "output_details": self.get_output_details(),
            "facts": {i: tensor_facts(desc, i) for i in ends},
            "variables": [(v.key, v.type, tuple(v.shape)) for v in plan.variables],
            "memory_report": self.memory_report(), "arena_bytes": int(graph.arena_size),
            "folded": graph.folded, "prepared_bytes": int(graph.prepared_bytes),
            "needed_bytes": int(plan.arena_bytes + graph.prepared_bytes + graph.variable_bytes()),
        }
        cache_files.store_later(self._cache_key, plan, meta)

    # -- lifecycle -----------------------------------------------------------------------------------
    def allocate_tensors(self):
        self._main.allocate()

    def invoke(self):
        self._main.invoke()

    def reset_all_variables(self):
        """Every variable (variable tensors, resource variables, CALL_ONCE's state) back to its initial
        value, in every prepared subgraph."""
        runners = [self._main] + [r._runner for r in self._signature_runners.values()]
        graphs = [r.graph for r in runners if r.graph is not None]
        self._variables.clear()
        for g in graphs:
            g.reset_variables()
            for key, a in g.variable_items():
                self._variables[key] = a

    # -- tensors -------------------------------------------------------------------------------------
    def get_input_details(self):
        meta = self._main._meta()
        if meta is not None:
            return _copied(meta["input_details"])
        d = self._main.desc
        return [_details(d, i, self._main.shape_of(i)) for i in d.inputs]

    def get_output_details(self):
        meta = self._main._meta()
        if meta is not None:
            return _copied(meta["output_details"])
        d = self._main.desc
        return [_details(d, i, self._main.shape_of(i)) for i in d.outputs]

    def get_tensor_details(self, subgraph_index=0):
        if not 0 <= subgraph_index < len(self._model.subgraphs):
            raise ValueError(f"subgraph_index is out of range: {subgraph_index} for the model, which has "
                             f"{len(self._model.subgraphs)} subgraphs.")
        r = self._runner_for(subgraph_index)
        return [_details(r.desc, i, r.shape_of(i)) for i in range(len(r.desc.tensors))]

    def set_tensor(self, tensor_index, value):
        self._main.set_tensor(tensor_index, value)

    def get_tensor(self, tensor_index, subgraph_index=0):
        return self._runner_for(subgraph_index).get_tensor(tensor_index)

    def tensor(self, tensor_index):
        """A function returning a numpy view of the tensor's current memory (valid until the next
        allocate_tensors/resize), as in TFLite."""
        ti = self._main.check_index(tensor_index)

        def view():
            g = self._main.ensure()
            v = g.views.get(ti)
            if v is None:
                raise ValueError(f"tensor {ti} has no memory of its own")
            return v

        return view

    def resize_tensor_input(self, input_index, tensor_size, strict=False):
        self._main.resize(input_index, tensor_size, strict)

    def num_subgraphs(self):
        return len(self._model.subgraphs)

    def _runner_for(self, k):
        if k == 0:
            return self._main
        for r in self._signature_runners.values():
            if r._runner.index == k:
                return r._runner
        return _Runner(self, k)

    # -- signatures ----------------------------------------------------------------------------------
    def get_signature_list(self):
        return {s.key: {"inputs": list(s.inputs), "outputs": list(s.outputs)} for s in self._model.signatures}

    def _get_full_signature_list(self):
        return {s.key: {"inputs": dict(s.inputs), "outputs": dict(s.outputs)} for s in self._model.signatures}

    def get_signature_runner(self, signature_key=None):
        sigs = {s.key: s for s in self._model.signatures}
        if signature_key is None:
            if len(sigs) != 1:
                raise ValueError("SignatureDef signature_key is None and model has "
                                 f"{len(sigs)} Signatures. None is only allowed when the model has 1 SignatureDef")
            signature_key = next(iter(sigs))
        if signature_key not in sigs:
            raise ValueError(f'Invalid signature_key provided: "{signature_key}".')
        if signature_key not in self._signature_runners:
            self._signature_runners[signature_key] = SignatureRunner(self, sigs[signature_key])
        return self._signature_runners[signature_key]

    # -- reporting -----------------------------------------------------------------------------------
    def memory_report(self):
        """Bytes of the activation arena (which holds the regions of the subgraphs control-flow ops run, listed
        under "subgraphs" with their place in it), of the weights of every subgraph the plan runs (model
        constants, each buffer once) plus prepared/packed data, and of the variables (state kept across
        invoke(), outside the arena)."""
        g = self._main.ensure()
        if isinstance(g, CachedGraph):
            return _copied(g.entry.meta["memory_report"])
        if isinstance(g, _prepare_modules()[2]):
            return g.memory_report()
        plan = g.plan
        buffers = {t.buffer: int(t.data.nbytes) for k in sorted({sp.subgraph for sp in plan.subplans})
                   for t in self._model.subgraphs[k].tensors if t.data is not None}
        return {"arena_bytes": int(g.arena_size), "weight_bytes": sum(buffers.values()),
                "prepared_weight_bytes": int(g.prepared_bytes),
                "variable_bytes": int(g.variable_bytes()), "variables": len(plan.variables),
                "subgraphs": [{"subgraph": sp.subgraph, "arena_offset": int(sp.arena_offset),
                               "arena_bytes": int(sp.arena_bytes)} for sp in plan.subplans]}

    def _get_ops_details(self):
        d = self._main.desc
        out = []
        for op in d.ops:
            out.append({"index": op.index, "op_name": op.custom_code if op.name == "CUSTOM" else op.name,
                        "inputs": np.array(op.inputs, np.int32), "outputs": np.array(op.outputs, np.int32),
                        "operand_types": [_detail_type(d.tensors[i].type) for i in op.inputs if i >= 0],
                        "result_types": [_detail_type(d.tensors[i].type) for i in op.outputs if i >= 0]})
        return out


class SignatureRunner:
    """Runs one SignatureDef: runner(**inputs) -> {output name: array}, as LiteRT's SignatureRunner."""

    def __init__(self, interpreter, sig):
        self._interpreter = interpreter
        self._sig = sig
        self._runner = interpreter._main if sig.subgraph == 0 else _Runner(interpreter, sig.subgraph)
        self._inputs = sig.inputs
        self._outputs = sig.outputs

    def __call__(self, **kwargs):
        if len(kwargs) != len(self._inputs):
            raise ValueError("Invalid number of inputs provided for running a SignatureDef, expected "
                             f"{len(self._inputs)} vs provided {len(kwargs)}")
        r = self._runner
        for name, value in kwargs.items():
            if name not in self._inputs:
                raise ValueError(f"Invalid Input name ({name}) for SignatureDef")
            r.resize(self._inputs[name], np.shape(value))
        if r.graph is None:
            r.allocate()
        for name, value in kwargs.items():
            r.set_tensor(self._inputs[name], np.asarray(value))
        r.invoke()
        return {name: r.get_tensor(ti) for name, ti in self._outputs.items()}

    def allocate_tensors(self):
        self._runner.allocate()

    def invoke(self):
        self._runner.invoke()

    def get_input_details(self):
        return {n: _details(self._runner.desc, i, self._runner.shape_of(i)) for n, i in self._inputs.items()}

    def get_output_details(self):
        return {n: _details(self._runner.desc, i, self._runner.shape_of(i)) for n, i in self._outputs.items()}

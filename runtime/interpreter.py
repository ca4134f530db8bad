"""edgerun.Interpreter: a drop-in for ai_edge_litert.interpreter.Interpreter (same arguments, methods and
detail dicts), running prepared plans on edgerun's C kernels."""
from __future__ import annotations

import threading

import numpy as np

from edgerun.errors import DtypeError, ModelError, RunTimeShapeError, ShapeError, StateError
from edgerun.runtime import limits, strings
from edgerun.runtime.graph import PreparedGraph, op_handler
from edgerun.runtime.materialize import threads_for
from edgerun.runtime.model import Model
from edgerun.runtime.staged import StagedGraph
from edgerun.runtime.ops import TFLITE_DTYPES, TYPE_NAMES


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


class _Runner:
    """State of one subgraph that the user drives (subgraph 0, or a signature's subgraph)."""

    def __init__(self, interp, index):
        self.interp = interp
        self.index = index
        self.desc = interp._model.subgraphs[index]
        self.input_shapes = {i: tuple(self.desc.tensors[i].shape) for i in self.desc.inputs}
        self.graph: PreparedGraph | None = None

    def allocate(self):
        it = self.interp

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

    def ensure(self):
        if self.graph is None:
            raise StateError("allocate_tensors() must be called before invoke(), set_tensor() or get_tensor() "
                             "(and again after resize_tensor_input())")
        return self.graph

    def shape_of(self, ti):
        if self.graph is not None and self.desc.tensors[ti].type == 5 and ti in self.graph.views:
            return self.graph.views[ti].shape  # a STRING tensor's shape may follow the data (SKIP_GRAM)
        if self.graph is not None and self.graph.tensors[ti].shape is not None:
            return self.graph.tensors[ti].shape
        if ti in self.input_shapes:
            return self.input_shapes[ti]
        return self.desc.tensors[ti].shape

    def check_index(self, ti):
        if not isinstance(ti, (int, np.integer)) or not 0 <= int(ti) < len(self.desc.tensors):
            raise ValueError(f"tensor index {ti} out of range: subgraph {self.index} has "
                             f"{len(self.desc.tensors)} tensors")
        return int(ti)

    def set_tensor(self, ti, value):
        ti = self.check_index(ti)
        g = self.ensure()
        t = self.desc.tensors[ti]
        value = np.asarray(value)
        want = TFLITE_DTYPES.get(t.type)
        where = (f"input {self.desc.inputs.index(ti)}, name: {t.name}" if ti in self.desc.inputs
                 else f"tensor {ti}, name: {t.name}")
        if t.type == 5:  # STRING: numpy bytes, str or object arrays, held as an object array of bytes
            value = strings.as_bytes_array(value, where)
        elif value.dtype != want:
            got = next((n for k, n in TYPE_NAMES.items() if TFLITE_DTYPES.get(k) == value.dtype),
                       str(value.dtype).upper())
            raise DtypeError(f"Cannot set tensor: Got value of type {got} but expected type "
                             f"{TYPE_NAMES.get(t.type)} for {where}")
        shape = g.tensors[ti].shape
        if value.ndim != len(shape):
            raise ShapeError(f"Cannot set tensor: Dimension mismatch. Got {value.ndim} dimensions but expected "
                             f"{len(shape)} for {where}")
        for d, (a, b) in enumerate(zip(value.shape, shape)):
            if a != b:
                raise ShapeError(f"Cannot set tensor: Dimension mismatch. Got {a} but expected {b} for "
                                 f"dimension {d} of {where}.")
        view = g.views.get(ti)
        if view is None or not view.flags.writeable or t.data is not None and not t.is_variable:
            if ti in self.desc.inputs:  # the file lists a constant as an input: the model is at fault
                raise ModelError(f"Cannot set tensor: {where} is a constant of the model (an input with data)")
            raise ValueError(f"Cannot set tensor: tensor {ti} '{t.name}' is a constant of the model")
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
        if ti not in self.desc.inputs:
            raise ValueError(f"tensor {ti} is not an input of subgraph {self.index}")
        size = tuple(int(d) for d in np.asarray(size).reshape(-1))
        if any(d < 0 for d in size):
            raise ShapeError(f"resize_tensor_input: negative dimension in {size}")
        if strict:
            sig = self.desc.tensors[ti].shape_signature
            if len(sig) != len(size) or any(s != -1 and s != d for s, d in zip(sig, size)):
                raise ShapeError(f"resize_tensor_input(strict=True): shape {size} does not match the shape "
                                 f"signature {tuple(sig)} of input '{self.desc.tensors[ti].name}'")
        if self.input_shapes.get(ti) != size:
            self.input_shapes[ti] = size
            self.graph = None


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
                 max_memory_bytes=None, max_loop_iterations=None, **_ignored):
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
        if model_path is not None:
            self._model = Model.from_path(model_path)
        else:
            if isinstance(model_content, str):
                raise ModelError("model_content must be bytes, not str")
            self._model = Model(memoryview(model_content).cast("B") if not isinstance(model_content, bytes)
                                else model_content)
        self._preserve_all = bool(experimental_preserve_all_tensors)
        self._busy = threading.Lock()  # one invoke() at a time per interpreter (variables, arena)
        self._variables: dict = {}
        for sg in self._model.subgraphs:  # unknown ops fail here, as LiteRT fails at construction
            for op in sg.ops:
                op_handler(op)
        self._main = _Runner(self, 0)
        self._signature_runners: dict = {}

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
        d = self._main.desc
        return [_details(d, i, self._main.shape_of(i)) for i in d.inputs]

    def get_output_details(self):
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
        if isinstance(g, StagedGraph):
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

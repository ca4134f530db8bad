"""Calibration for post-training quantization: run the float model in edgerun's own interpreter on every
representative sample and record the range (min, max) of every float activation tensor.

    ranges = calibrate(graph, representative_data)     # {Tensor.id: (min, max)}

`representative_data` is what TFLiteConverter's `representative_dataset` accepts, and a little more: an
iterable or generator of samples, or a callable returning one. A sample is an array (models with one input),
a list/tuple of arrays in the order of the model's inputs, or a dict {input name: array}. A text progress
bar (edgerun/progress.py, tqdm) goes to stderr when it is a terminal.
"""
from __future__ import annotations


import numpy as np

from edgerun.errors import ConversionError, EdgerunError

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
                return Interpreter(model_content=model, experimental_preserve_all_tensors=True)

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
    non-constant float tensor (graph inputs and op outputs). Non-finite values are ignored. progress=False:
    no bar; True: a bar when `stream` (stderr) is a terminal."""
    from edgerun.progress import bar as progress_bar
    from edgerun.converter.export import export_with_map

    model, index = export_with_map(graph)
    tensors = [t for t in graph.tensors() if not t.is_const and t.dtype.kind == "f" and t.id in index]
    by_index = {index[t.id]: t.id for t in tensors}
    lo = {tid: np.inf for tid in by_index.values()}
    hi = {tid: -np.inf for tid in by_index.values()}
    total = None
    if hasattr(representative_data, "__len__") and not callable(representative_data):
        total = len(representative_data)
    bar = progress_bar("Calibrating", total, unit="sample", stream=stream, enable=None if progress else False)

    def record(_k, arrays):
        for i, a in arrays.items():
            tid = by_index[i]
            a = a[np.isfinite(a)] if not np.all(np.isfinite(a)) else a
            if a.size:
                lo[tid] = min(lo[tid], float(a.min()))
                hi[tid] = max(hi[tid], float(a.max()))
        bar.update()

    try:
        run_collect(model, iter_samples(representative_data, _input_specs(graph)), list(by_index), record)
    except ConversionError:
        raise
    except EdgerunError as exc:
        raise ConversionError(f"calibration: edgerun cannot run the float model: {exc}") from exc
    finally:
        bar.close()
    # Tensors that never held a finite value (e.g. empty) get the range [0, 0].
    return {tid: (lo[tid], hi[tid]) if lo[tid] <= hi[tid] else (0.0, 0.0) for tid in lo}

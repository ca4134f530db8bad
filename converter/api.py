"""`convert()`: a Keras model, a .keras/.h5 file, a SavedModel directory, an .onnx file or a torch.nn.Module ->
TFLite bytes.

    frontend -> IR graph -> passes (optimize=True) -> float16 / quantizer -> export
"""
from __future__ import annotations

import os
import sys

import numpy as np
from edgerun.converter.ir import Graph

from edgerun.errors import ConversionError

QUANTIZE_MODES = (None, "float16", "dynamic", "int8", "int16x8")
_IO_TYPES = {"float32": np.float32, "int8": np.int8, "uint8": np.uint8, "int16": np.int16}


def load(source, input_shapes: dict | None = None, constant_inputs: dict | None = None,
         example_inputs=None) -> Graph:
    """The IR graph of `source` (no passes): a keras.Model, a torch.nn.Module (traced on example_inputs), an IR
    Graph, or a path. input_shapes and constant_inputs (ONNX models only; constant_inputs for PyTorch too) fix
    input sizes and values before conversion."""
    from edgerun.converter.frontends import pytorch

    if pytorch.is_module(source):
        if input_shapes:
            raise ConversionError("input_shapes does not apply to a torch.nn.Module: its input shapes come from "
                                  "example_inputs")
        return pytorch.load(source, example_inputs, constant_inputs=constant_inputs)
    if example_inputs is not None:
        raise ConversionError("example_inputs applies to a torch.nn.Module only")
    if (input_shapes or constant_inputs) and not _is_onnx(source):
        raise ConversionError("input_shapes / constant_inputs apply to ONNX models; a Keras or TensorFlow model's "
                              "input shapes come from its Input layer or signature")
    if isinstance(source, Graph):
        return source
    from edgerun.converter.frontends import tflite

    if tflite.is_tflite(source):  # a float .tflite's bytes (to quantize a model another converter wrote)
        return tflite.load(source)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if os.path.isdir(path):
            if not os.path.isfile(os.path.join(path, "saved_model.pb")):
                raise ConversionError(f"{path!r} is a directory without saved_model.pb: not a SavedModel")
            from edgerun.converter.frontends import savedmodel

            return savedmodel.load(path)
        if not os.path.exists(path):
            raise ConversionError(f"no such file or directory: {path!r}")
        ext = os.path.splitext(path)[1].lower()
        if ext in (".keras", ".h5", ".hdf5"):
            from edgerun.converter.frontends import keras as keras_frontend

            return keras_frontend.load(path)
        if ext == ".tflite":
            with open(path, "rb") as f:
                return tflite.load(f.read())
        if ext == ".onnx":
            try:
                from edgerun.converter.frontends import onnx as onnx_frontend
            except ImportError as exc:
                raise ConversionError(f"the ONNX frontend is not available ({exc})") from None
            return onnx_frontend.load(path, input_shapes=input_shapes, constant_inputs=constant_inputs)
        raise ConversionError(f"cannot convert {path!r}: expected a .keras, .h5, .onnx, .tflite file or a "
                              "SavedModel directory")
    if _is_keras_model(source):
        from edgerun.converter.frontends import keras as keras_frontend

        return keras_frontend.load(source)
    if _is_onnx(source):  # an onnx.ModelProto or its serialized bytes (e.g. read from a package's wheel)
        try:
            from edgerun.converter.frontends import onnx as onnx_frontend
        except ImportError as exc:
            raise ConversionError(f"the ONNX frontend is not available ({exc})") from None

        return onnx_frontend.load(source, input_shapes=input_shapes, constant_inputs=constant_inputs)
    raise ConversionError(f"cannot convert a {type(source).__module__}.{type(source).__name__}: expected a "
                          "keras.Model, a torch.nn.Module, an onnx.ModelProto (or its bytes) or the path of a "
                          ".keras/.h5/.onnx file or SavedModel directory")


def _is_tflite(source) -> bool:
    from edgerun.converter.frontends.tflite import is_tflite

    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source).lower().endswith(".tflite")
    return is_tflite(source)


def _is_onnx(source) -> bool:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source).lower().endswith(".onnx")
    if isinstance(source, (bytes, bytearray)):  # a serialized ONNX ModelProto, unless a .tflite's bytes
        from edgerun.converter.frontends.tflite import is_tflite

        return not is_tflite(source)
    return type(source).__name__ == "ModelProto" and type(source).__module__.startswith("onnx")


def _is_keras_model(obj) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.Model)


def io_type(value, what: str):
    """np.dtype for an --input-type / --output-type value (a dtype or its name), or None."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in _IO_TYPES:
            raise ConversionError(f"{what} must be one of {sorted(_IO_TYPES)}, got {value!r}")
        return np.dtype(_IO_TYPES[value])
    try:
        dt = np.dtype(value)
    except TypeError:
        raise ConversionError(f"{what} must be a numpy dtype or one of {sorted(_IO_TYPES)}, got {value!r}") from None
    if dt.name not in _IO_TYPES:
        raise ConversionError(f"{what} must be one of {sorted(_IO_TYPES)}, got {dt}")
    return dt


def representative_samples(data, graph: Graph):
    """Calibration data in the forms the quantizer takes (see converter/calibrate.py). Arrays holding many
    samples along their first axis (what `edgerun convert --calibration` reads from .npy/.npz files) are
    split into samples: one array (single-input models) or a dict {input name: array}. Anything else is
    passed through unchanged."""
    names = graph.input_names or [t.name for t in graph.inputs]
    if isinstance(data, np.ndarray):
        if len(graph.inputs) != 1:
            raise ConversionError(f"the model has {len(graph.inputs)} inputs: give calibration data as a dict of "
                                  f"arrays by input name ({names}) or a list of samples")
        return [[s] for s in _split_samples(data, graph.inputs[0])]
    if isinstance(data, dict) and all(isinstance(v, np.ndarray) for v in data.values()):
        missing = [n for n in names if n not in data]
        if missing:
            raise ConversionError(f"calibration data has no array for inputs {missing} (has {sorted(data)})")
        per_input = [_split_samples(np.asarray(data[n]), t) for n, t in zip(names, graph.inputs)]
        if len({len(p) for p in per_input}) != 1:
            raise ConversionError("calibration arrays hold different numbers of samples")
        return [list(s) for s in zip(*per_input)]
    return data


def random_samples(graph: Graph, n: int = 8, seed: int = 0) -> list:
    """Uniform(-1, 1) float inputs (integers 0..9 for integer inputs) shaped like the graph's inputs."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        sample = []
        for t in graph.inputs:
            shape = tuple(1 if d < 0 else d for d in t.shape)
            if t.dtype.kind == "f":
                sample.append(rng.uniform(-1, 1, shape).astype(np.float32))
            else:
                sample.append(rng.integers(0, 10, shape).astype(t.dtype))
        out.append(sample)
    return out


def _fit(a, t):
    shape = tuple(1 if d < 0 else d for d in t.shape)
    if a.shape != shape:
        if a.size != int(np.prod(shape)):
            raise ConversionError(f"calibration sample of shape {a.shape} does not fit input {t.name!r} {t.shape}")
        a = a.reshape(shape)
    return a.astype(t.dtype if t.dtype.kind != "f" else np.float32)


def _split_samples(a, t):
    shape = tuple(1 if d < 0 else d for d in t.shape)
    if a.shape == shape:
        return [_fit(a, t)]
    per = int(np.prod(shape[1:])) if shape else 1
    if a.ndim >= 1 and a.shape[1:] == shape[1:]:
        batch = shape[0] if shape else 1
        return [_fit(a[i:i + batch], t) for i in range(0, a.shape[0] - batch + 1, batch)]
    if a.ndim >= 1 and int(np.prod(a.shape[1:])) == per * (shape[0] if shape else 1):
        return [_fit(x, t) for x in a]
    raise ConversionError(f"calibration array of shape {a.shape} does not fit input {t.name!r} {t.shape}")


def convert_graph(source, *, quantize=None, representative_data=None, input_type=None, output_type=None,
                  optimize=True, input_shapes=None, constant_inputs=None, stage=None, example_inputs=None) -> Graph:
    """Like convert() but returns the final IR graph. stage: called with the name of each phase as it begins
    ("read", "optimize", "quantize"), for a progress display."""
    stage = stage or (lambda _name: None)
    if quantize not in QUANTIZE_MODES:
        raise ConversionError(f"unknown quantization mode {quantize!r}; expected one of "
                              f"{[m for m in QUANTIZE_MODES if m]} or None")
    if quantize in ("int8", "int16x8") and representative_data is None:
        raise ConversionError(f"quantize={quantize!r} needs representative_data (calibration samples)")
    in_t, out_t = io_type(input_type, "input_type"), io_type(output_type, "output_type")
    if quantize not in ("int8", "int16x8"):
        for dt, what in ((in_t, "input_type"), (out_t, "output_type")):
            if dt is not None and dt != np.float32:
                raise ConversionError(f"{what}={dt} needs full-integer quantization (quantize='int8' or 'int16x8')")
    quantizer = None
    if quantize in ("dynamic", "int8", "int16x8"):
        try:
            from edgerun.converter.quantize import quantize as quantizer
        except ImportError as exc:
            raise ConversionError(f"quantization mode {quantize!r} not available ({exc})") from None
    if quantize is None and _is_tflite(source):
        raise ConversionError("the source is a TFLite model already: nothing to convert "
                              "without quantize= (a float .tflite can be quantized); run it with edgerun.Interpreter")
    stage("read")
    graph = load(source, input_shapes, constant_inputs, example_inputs)
    stage("optimize")
    if optimize:
        from edgerun.converter.passes import run_passes

        graph = run_passes(graph)
    from edgerun.converter.batch import open_batch

    graph = open_batch(graph)
    if quantize == "float16":
        from edgerun.converter.float16 import to_float16

        graph = to_float16(graph)
    elif quantizer is not None:
        stage("quantize")
        samples = None if representative_data is None else representative_samples(representative_data, graph)
        graph = quantizer(graph, quantize, representative_data=samples, input_type=in_t, output_type=out_t)
    return graph


def convert(source, *, quantize=None, representative_data=None, input_type=None, output_type=None,
            optimize=True, input_shapes=None, constant_inputs=None, example_inputs=None) -> bytes:
    """Convert a model to a TFLite flatbuffer.

    source: a keras.Model, a torch.nn.Module (with example_inputs), or the path of a `.keras` / `.h5` file, a
      SavedModel directory or an `.onnx` file; or a float `.tflite` (path or bytes), e.g. TensorFlow's
      conversion of tf.cond / tf.while_loop, to quantize it.
    example_inputs: for a torch.nn.Module, a tensor (or numpy array) or tuple of them: the module is exported
      through torch.export and ONNX in memory, with the inputs' shapes and types (inputs stay NCHW as in
      PyTorch).
    quantize: None (float32), "float16" (float16 weights), "dynamic" (int8 weights, float activations),
      "int8" (full integer, needs representative_data) or "int16x8" (int16 activations, int8 weights).
    representative_data: calibration samples (see representative_samples()).
    input_type / output_type: the interface type of a full-integer model (np.int8, np.uint8, np.float32).
    optimize: run the graph passes (batch-norm folding, activation fusion, constant folding, ...).
    input_shapes: {input name: shape} fixing an ONNX model's dynamic dimensions (-1 keeps one dynamic: it stays
      -1 in the model's shape_signature where the ops allow).
    constant_inputs: {input name: value} making an ONNX model's input a constant (what depends on it folds).
    """
    from edgerun.converter.export import export

    graph = convert_graph(source, quantize=quantize, representative_data=representative_data,
                          input_type=input_type, output_type=output_type, optimize=optimize,
                          input_shapes=input_shapes, constant_inputs=constant_inputs, example_inputs=example_inputs)
    return export(graph)

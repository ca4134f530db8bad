"""The oracles tests compare against: TensorFlow's own converter and the LiteRT interpreter.

    model = tf_convert(keras_model)                       # bytes, made by TFLiteConverter (cached on disk)
    outs = litert_run(model, inputs)                      # LiteRT, builtin kernels, no default delegate
    assert_matches_litert(model, inputs, rtol=1e-3)       # float: max|ours-LiteRT| <= rtol * max|LiteRT|
    assert_matches_litert(model, inputs, exact=True)      # integer: bit for bit

Models are cached under tests/.model_cache keyed by the Keras model's config and weights (and the options),
so reruns skip TensorFlow's slow conversion.
"""
from __future__ import annotations

import hashlib
import os
import pathlib

import numpy as np

CACHE = pathlib.Path(__file__).parent / ".model_cache"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _keras_key(model, extra) -> str:
    h = hashlib.sha256()
    h.update(model.to_json().encode())
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w).tobytes())
    h.update(repr(extra).encode())
    import tensorflow as tf

    h.update(tf.__version__.encode())
    return h.hexdigest()[:24]


def _rep_dataset(model, representative, n=32, seed=0):
    if representative is not None:
        data = representative
    else:
        rng = np.random.default_rng(seed)
        shapes = [tuple(1 if d is None else d for d in t.shape) for t in model.inputs]
        data = [[rng.uniform(-1, 1, size=s).astype(np.float32) for s in shapes] for _ in range(n)]

    def gen():
        for item in data:
            yield item if isinstance(item, (list, tuple)) else [item]

    return gen


def tf_convert(model, quantize: str | None = None, representative=None, input_type=None, output_type=None,
               select_ops: bool = False, cache: bool = True, **converter_attrs) -> bytes:
    """Convert a Keras model with TensorFlow's own TFLiteConverter.

    quantize: None (float32), "float16", "dynamic", "int8" (full integer), "int16x8".
    input_type/output_type: numpy dtypes for the int8 model's interface (e.g. np.int8), default float.
    """
    key = None
    if cache:
        key = _keras_key(model, (quantize, str(input_type), str(output_type), select_ops,
                                 sorted(converter_attrs.items()),
                                 None if representative is None else len(representative)))
        path = CACHE / f"{key}.tflite"
        if path.exists():
            return path.read_bytes()
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize == "float16":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
    elif quantize == "dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantize == "int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = _rep_dataset(model, representative)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif quantize == "int16x8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = _rep_dataset(model, representative)
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    elif quantize is not None:
        raise ValueError(quantize)
    if input_type is not None:
        conv.inference_input_type = tf.as_dtype(input_type)
    if output_type is not None:
        conv.inference_output_type = tf.as_dtype(output_type)
    if select_ops:
        conv.target_spec.supported_ops = list(conv.target_spec.supported_ops) + [tf.lite.OpsSet.SELECT_TF_OPS]
    for k, v in converter_attrs.items():
        setattr(conv, k, v)
    data = conv.convert()
    if key is not None:
        CACHE.mkdir(exist_ok=True)
        tmp = CACHE / f"{key}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, CACHE / f"{key}.tflite")
    return data


def tf_convert_function(fn, input_signature, quantize=None, representative=None, key: str | None = None,
                        **kw) -> bytes:
    """Convert a tf.function (for ops Keras layers do not reach). `key` names the cache entry; pass a
    string that changes whenever the function changes (or None to skip caching)."""
    if key is not None:
        path = CACHE / f"fn-{hashlib.sha256((key + repr((quantize, kw))).encode()).hexdigest()[:24]}.tflite"
        if path.exists():
            return path.read_bytes()
    import tensorflow as tf

    concrete = tf.function(fn, input_signature=input_signature).get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    if quantize == "int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        shapes = [tuple(s.shape) for s in input_signature]
        rng = np.random.default_rng(0)
        data = representative or [[rng.uniform(-1, 1, size=s).astype(np.float32) for s in shapes]
                                  for _ in range(32)]
        conv.representative_dataset = lambda: iter(data)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    elif quantize == "int16x8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        shapes = [tuple(s.shape) for s in input_signature]
        rng = np.random.default_rng(0)
        data = representative or [[rng.uniform(-1, 1, size=s).astype(np.float32) for s in shapes]
                                  for _ in range(32)]
        conv.representative_dataset = lambda: iter(data)
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    elif quantize == "dynamic":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    for k, v in kw.items():
        setattr(conv, k, v)
    out = conv.convert()
    if key is not None:
        CACHE.mkdir(exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(out)
        os.replace(tmp, path)
    return out


def litert_interpreter(model: bytes, delegate: bool = False):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if delegate else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it = Interpreter(model_content=model, experimental_op_resolver_type=resolver)
    return it


def random_inputs(details, seed=0, low=-1.0, high=1.0):
    """Random inputs for a model's input details: uniform floats, or the full range of integer types."""
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        shape = tuple(int(s) for s in d["shape"])
        dt = np.dtype(d["dtype"])
        if dt.kind == "f":
            out.append(rng.uniform(low, high, size=shape).astype(dt))
        elif dt == np.bool_:
            out.append(rng.integers(0, 2, size=shape).astype(bool))
        else:
            info = np.iinfo(dt)
            out.append(rng.integers(info.min, int(info.max) + 1, size=shape, dtype=np.int64).astype(dt))
    return out


def _run(it, inputs):
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        if tuple(d["shape"]) != tuple(np.shape(x)):
            it.resize_tensor_input(d["index"], np.shape(x))
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], np.asarray(x, dtype=d["dtype"]))
    it.invoke()
    return [np.array(it.get_tensor(d["index"])) for d in it.get_output_details()]


def invoke_with(it, inputs):
    """Every input of an allocated interpreter set (in input order), one invoke; copies of every output."""
    for d, x in zip(it.get_input_details(), inputs):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [np.array(it.get_tensor(d["index"])) for d in it.get_output_details()]


def assert_same_outputs(ours, theirs, what, float_tol: float | None = None):
    """Two lists of outputs alike in count, dtype, shape and values: exactly, or floats within float_tol
    (absolute and relative) when given."""
    assert len(ours) == len(theirs), what
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape, (what, a.dtype, a.shape, b.dtype, b.shape)
        if float_tol is not None and a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=float_tol, atol=float_tol, err_msg=str(what))
        else:
            assert np.array_equal(a, b), what


def litert_run(model: bytes, inputs, delegate: bool = False):
    return _run(litert_interpreter(model, delegate), inputs)


def edgerun_run(model: bytes, inputs, **kw):
    import edgerun

    return _run(edgerun.Interpreter(model_content=model, **kw), inputs)


def stateful_pair(model: bytes):
    """LiteRT (builtin kernels) and edgerun interpreters of one model, allocated, for state carried over invokes."""
    import edgerun

    its = (litert_interpreter(model), edgerun.Interpreter(model_content=model))
    for it in its:
        it.allocate_tensors()
    return its


def invoke_pair(its, x):
    """Input 0 set to x in each interpreter of a stateful_pair, invoked; output 0 of each (LiteRT's, edgerun's)."""
    outs = []
    for it in its:
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        outs.append(np.array(it.get_tensor(it.get_output_details()[0]["index"])))
    return outs


def assert_matches_litert(model: bytes, inputs=None, rtol: float = 1e-3, exact: bool = False, seed: int = 0,
                          delegate: bool = False):
    """Run both interpreters on the same inputs and compare every output.

    Float outputs: max|ours - LiteRT| <= rtol * max|LiteRT| (the issue's criterion). exact=True (and every
    non-float output) demands bit-for-bit equality. Returns (ours, theirs).
    """
    if inputs is None:
        inputs = random_inputs(litert_interpreter(model).get_input_details(), seed=seed)
    theirs = litert_run(model, inputs, delegate=delegate)
    ours = edgerun_run(model, inputs)
    assert len(ours) == len(theirs), f"{len(ours)} outputs, LiteRT has {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"output {i}: shape {a.shape}, LiteRT {b.shape}"
        assert a.dtype == b.dtype, f"output {i}: dtype {a.dtype}, LiteRT {b.dtype}"
        if exact or a.dtype.kind not in "fc":
            if not np.array_equal(a, b):
                diff = np.argwhere(a != b)
                j = tuple(diff[0])
                raise AssertionError(
                    f"output {i}: {len(diff)} of {a.size} elements differ from LiteRT; first at {j}: "
                    f"ours {a[j]} LiteRT {b[j]}; max |diff| "
                    f"{np.max(np.abs(a.astype(np.int64) - b.astype(np.int64))) if a.dtype.kind in 'iu' else ''}")
        else:
            assert np.all(np.isfinite(a) == np.isfinite(b)), f"output {i}: inf/nan pattern differs from LiteRT"
            fin = np.isfinite(b)
            scale = float(np.max(np.abs(b[fin]), initial=0.0))
            err = float(np.max(np.abs(a[fin].astype(np.float64) - b[fin]), initial=0.0))
            assert err <= rtol * max(scale, 1e-30) + 1e-30, (
                f"output {i}: max|ours-LiteRT| = {err:.3g} > {rtol} x max|LiteRT| = {rtol * scale:.3g}")
    return ours, theirs

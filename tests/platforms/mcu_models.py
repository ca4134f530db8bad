"""Reference models of the microcontroller work (issue 7), made by TensorFlow's own converter, and the oracle
figures around them: TFLite Micro's arena size and LiteRT's behaviour with resource variables.

    kws_cnn_int8()                  keyword-spotting DS-CNN (tests/networks.py), 49x10x1 MFCC -> 12, int8
    mobilenet_v1_025_96_int8()      MobileNetV1 alpha 0.25, 96x96x3 -> 2 (or 1000), full int8
    streaming_model(quantize)       sliding-window model keeping its last frames in a resource variable
    tflm_arena_bytes(model)         "Arena allocation total" of the tflite-micro PyPI package's interpreter
    op_lists(model)                 the builtin op names of each subgraph
    litert_steps(model, frames)     LiteRT's outputs over consecutive invoke()s of one interpreter

Every model is cached as .tflite bytes under tests/.model_cache (oracle.CACHE) under a name that carries the
model's recipe version and the TensorFlow/Keras versions, so reruns import neither TensorFlow nor Keras.

The streaming model (W=8 frames of F=10 features; one frame in, 4 logits out) is a tf.Module holding a
tf.Variable window with a non-zero initial value; each call reads the window, drops the oldest frame,
appends the new one, writes the window back and runs CONV_2D (3 frames x 10 features -> 16, ReLU) and
FULLY_CONNECTED (96 -> 4) on the new window. TFLiteConverter.from_concrete_functions (TF 2.21) gives:

    float   main: CALL_ONCE VAR_HANDLE READ_VARIABLE STRIDED_SLICE CONCATENATION ASSIGN_VARIABLE RESHAPE
                  CONV_2D RESHAPE FULLY_CONNECTED
            init: VAR_HANDLE ASSIGN_VARIABLE            (the initial value, a float32 constant)
    int8    (int8 interface, and the converter's private `_experimental_variable_quantization = True`)
            main: the same ops, every tensor int8 (the variable too: scale of the input, zero point 0)
            init: VAR_HANDLE ASSIGN_VARIABLE            (an int8 constant)
    int8_float_var (what TF produces for full int8 by default, i.e. without the private flag, even with
            supported_ops = TFLITE_BUILTINS_INT8): the variable stays float32:
            main: CALL_ONCE VAR_HANDLE READ_VARIABLE STRIDED_SLICE(f32) QUANTIZE CONCATENATION DEQUANTIZE
                  ASSIGN_VARIABLE(f32) RESHAPE CONV_2D RESHAPE FULLY_CONNECTED
            init: VAR_HANDLE ASSIGN_VARIABLE            (a float32 constant)

LiteRT 2.3 (BUILTIN_WITHOUT_DEFAULT_DELEGATES), measured on these three models (tests/platforms/
test_mcu_models.py checks each point):
  * Resource variables persist across invoke(): the window READ_VARIABLE returns at step k+1 is, bit for bit,
    the window written at step k; 20 steps give 20 different outputs. The first invoke() reads the
    initial value (CALL_ONCE runs the init subgraph once, on the first invoke).
  * reset_all_variables() does nothing to resource variables: neither zero nor the initial value, and
    CALL_ONCE does not run again; the next invoke() continues from the last window written. (LiteRT's
    Subgraph::ResetVariableTensors zeroes only tensors flagged is_variable, the old-style LSTM/SVDF state,
    while resource variables live in the interpreter's resource map.)
  * A second allocate_tensors() (no resize) keeps the state too; two interpreters of the same model have
    separate state.
So edgerun must keep variable storage across invoke(), initialize it by running CALL_ONCE's subgraph on the
first invoke only, and leave it alone in reset_all_variables() and allocate_tensors().
For contrast, TFLite Micro (tflite-micro PyPI package) matches LiteRT over 20 steps (int8 bit for bit,
float within 1e-6 absolute), but its reset() sets the variables to zero without running the initializer again.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from oracle import CACHE, litert_interpreter, tf_convert

# Published TFLite Micro arena sizes, for comparison with tflm_arena_bytes() of our models.
PUBLISHED_TFLM_ARENA = {"kws_cnn_int8": 24_224, "mobilenet_v1_025_96_int8": 103_120,
                        "streaming wake-word (production)": 25_904}

STREAM_WINDOW, STREAM_FEATURES, STREAM_CLASSES = 8, 10, 4
STREAMING_QUANTIZE = (None, "int8", "int8_float_var")


def _versions() -> str:
    return "-".join(importlib.metadata.version(p) for p in ("tensorflow", "keras"))


def _by_name(name: str, build) -> bytes:
    """The bytes cached as `name` (+ TF/Keras versions), else build()'s (which converts and caches by
    content)."""
    path = CACHE / f"mcu-{name}-{_versions()}.tflite"
    if path.exists():
        return path.read_bytes()
    data = build()
    CACHE.mkdir(exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return data


def _calibration(shape, n=16, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(n)]


def _trained_like(model, seed=0):
    """Give a freshly built Keras CNN weights whose activations keep their size through depth, as trained
    ones do: He-normal kernels (variance 2 / fan-in) and random batch-norm statistics. Keras' Glorot
    default with identity batch norms loses about half the signal per layer: after the 27 layers of
    MobileNetV1 the activations are ~1e-8, the int8 scales hit the converter's floor, every output is the
    same, and TFLite Micro aborts in SOFTMAX's prepare (input scale x 2^26 < 1)."""
    import keras

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, mean, var = weights
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape).astype(np.float32),
                               rng.uniform(-0.2, 0.2, b.shape).astype(np.float32),
                               rng.uniform(-0.2, 0.2, mean.shape).astype(np.float32),
                               rng.uniform(0.5, 1.5, var.shape).astype(np.float32)])
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
            k = weights[0]
            fan_in = int(np.prod(k.shape[:-1])) if not isinstance(layer, keras.layers.DepthwiseConv2D) \
                else int(np.prod(k.shape[:2]))
            weights[0] = rng.normal(0, np.sqrt(2 / fan_in), k.shape).astype(np.float32)
            layer.set_weights(weights)
    return model


def _batch_one(model):
    """The same layers behind a batch-1 input, so the converter writes static shapes (no SHAPE/PACK before
    a Flatten or Reshape), as microcontroller models have."""
    import keras

    inp = keras.Input(model.inputs[0].shape[1:], batch_size=1, name=model.inputs[0].name)
    return keras.Model(inp, model(inp), name=f"{model.name}_batch1")   # named: stable tensor names


def kws_cnn_int8() -> bytes:
    """tests/networks.py's DS-CNN (conv 10x4/2 -> 64, four dw 3x3 + 1x1 64 blocks, BN+ReLU each, avg pool,
    FC 12, softmax) with trained-like weights (see _trained_like), batch 1, full int8 with int8 input and
    output, calibrated on 16 uniform [-1, 1) inputs (seed 0)."""
    def build():
        from networks import kws_dscnn

        m = _batch_one(_trained_like(kws_dscnn(), seed=1))
        return tf_convert(m, quantize="int8", representative=_calibration((1, 49, 10, 1)),
                          input_type=np.int8, output_type=np.int8)

    return _by_name("kws_cnn_int8-v2", build)


def mobilenet_v1_025_96_int8(classes: int = 2) -> bytes:
    """keras.applications.MobileNet(alpha=0.25, input_shape=(96, 96, 3), weights=None, classes=classes) with
    trained-like weights (see _trained_like), batch 1, full int8 with int8 input and output.

    2 classes by default (a person-detection-style head, as in TFLite Micro's MobileNetV1 0.25 96 example),
    because that is what TFLM's published 103,120 B arena for 'MobileNetV1 0.25 96 int8' matches: ours takes
    103,696 B in TFLM. Keras' default 1000-class ImageNet head takes 111,696 B: the same 73,728 B of
    activations (arena head) plus 8 B of per-channel multiplier and shift for each of the classifier's 1000
    output channels (arena tail), and the file grows from 321 KB to 604 KB."""
    def build():
        import keras

        keras.utils.set_random_seed(0)
        m = keras.applications.MobileNet(input_shape=(96, 96, 3), alpha=0.25, weights=None, classes=classes)
        m = _batch_one(_trained_like(m, seed=0))
        return tf_convert(m, quantize="int8", representative=_calibration((1, 96, 96, 3)),
                          input_type=np.int8, output_type=np.int8)

    return _by_name(f"mobilenet_v1_025_96_int8-c{classes}-v2", build)


def _streaming_module():
    """The tf.Module: a window variable (non-zero initial value) shifted by one frame per call, then
    conv + FC."""
    import tensorflow as tf

    W, F = STREAM_WINDOW, STREAM_FEATURES

    class Streaming(tf.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(7)
            self.window = tf.Variable(rng.uniform(-0.5, 0.5, (1, W, F)).astype(np.float32), name="window")
            self.kernel = tf.constant(rng.normal(0, 0.3, (3, 1, F, 16)).astype(np.float32))
            self.bias = tf.constant(rng.normal(0, 0.1, (16,)).astype(np.float32))
            self.fc = tf.constant(rng.normal(0, 0.2, ((W - 2) * 16, STREAM_CLASSES)).astype(np.float32))
            self.fc_bias = tf.constant(rng.normal(0, 0.1, (STREAM_CLASSES,)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec((1, 1, F), tf.float32, name="frame")])
        def __call__(self, frame):
            win = tf.concat([self.window[:, 1:, :], frame], axis=1)   # READ_VARIABLE, shift in the frame
            self.window.assign(win)                                     # ASSIGN_VARIABLE
            h = tf.nn.relu(tf.nn.conv2d(tf.reshape(win, (1, W, 1, F)), self.kernel, 1, "VALID") + self.bias)
            return tf.matmul(tf.reshape(h, (1, -1)), self.fc) + self.fc_bias

    return Streaming()


def streaming_model(quantize: str | None = None) -> bytes:
    """The streaming model with its window in a resource variable (see the module docstring for the ops).

    quantize: None (float32), "int8" (int8 interface and int8 variable: TF's private
    `_experimental_variable_quantization`), "int8_float_var" (int8 interface, TF's default full-int8
    conversion, which keeps the variable float32 with QUANTIZE/DEQUANTIZE around it). Calibration: 32 frames
    uniform in [-1, 1) (seed 0)."""
    if quantize not in STREAMING_QUANTIZE:
        raise ValueError(f"quantize must be one of {STREAMING_QUANTIZE}, not {quantize!r}")

    def build():
        # Not oracle.tf_convert_function: without the module as trackable_obj the converter freezes the
        # variable into a constant and fails on the ASSIGN ("passed float ... expected resource").
        import tensorflow as tf

        module = _streaming_module()
        fn = module.__call__.get_concrete_function()
        conv = tf.lite.TFLiteConverter.from_concrete_functions([fn], module)
        conv.experimental_enable_resource_variables = True
        if quantize is not None:
            frames = _calibration((1, 1, STREAM_FEATURES), n=32)
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = lambda: iter([f] for f in frames)
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
            conv._experimental_variable_quantization = quantize == "int8"
        return conv.convert()

    return _by_name(f"streaming-{quantize or 'float'}-v1", build)


def op_lists(model: bytes) -> list[list[str]]:
    """The builtin op names of each subgraph, in execution order."""
    from edgerun.schema import schema_generated as fb

    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    m = fb.Model.GetRootAs(model, 0)
    out = []
    for s in range(m.SubgraphsLength()):
        sg = m.Subgraphs(s)
        ops = []
        for i in range(sg.OperatorsLength()):
            code = m.OperatorCodes(sg.Operators(i).OpcodeIndex())
            ops.append(names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())])
        out.append(ops)
    return out


def streaming_frames(model: bytes, steps: int = 20, seed: int = 0) -> list[np.ndarray]:
    """`steps` input frames of the model's input dtype: uniform [-1, 1) floats or the full int8 range."""
    d = litert_interpreter(model).get_input_details()[0]
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in d["shape"])
    if np.dtype(d["dtype"]) == np.int8:
        return [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(steps)]
    return [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(steps)]


def run_steps(it, frames) -> list[np.ndarray]:
    """Feed `frames` one per invoke() into an allocated interpreter (LiteRT's or edgerun's API) and return
    the output after each step."""
    i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    outs = []
    for x in frames:
        it.set_tensor(i, x)
        it.invoke()
        outs.append(np.array(it.get_tensor(o)))
    return outs


def litert_steps(model: bytes, frames, reset_after: int | None = None) -> list[np.ndarray]:
    """LiteRT's output after each frame, one interpreter throughout; with reset_after=k,
    reset_all_variables() is called after the k-th step."""
    it = litert_interpreter(model)
    it.allocate_tensors()
    if reset_after is None:
        return run_steps(it, frames)
    outs = run_steps(it, frames[:reset_after])
    it.reset_all_variables()
    return outs + run_steps(it, frames[reset_after:])


_ARENA_SCRIPT = r"""
import sys
from tflite_micro import runtime
path, arena = sys.argv[1], int(sys.argv[2])
it = runtime.Interpreter.from_file(path, arena_size=arena)
it.invoke()
sys.stdout.flush()
it.print_allocations()
"""


def tflm_arena_bytes(model: bytes, arena_size: int = 4 << 20) -> int:
    """TFLite Micro's arena use for `model`: 'Arena allocation total N bytes' of the tflite-micro package's
    RecordingMicroAllocator after one invoke() (inputs as allocated). Runs in a subprocess, since TFLM prints
    from C and may abort on a model it cannot run; `arena_size` is only the capacity offered."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.tflite")
        with open(path, "wb") as f:
            f.write(model)
        r = subprocess.run([sys.executable, "-c", _ARENA_SCRIPT, path, str(arena_size)],
                           capture_output=True, text=True, timeout=300)
    text = r.stdout + r.stderr
    m = re.search(r"Arena allocation total (\d+) bytes", text)
    if r.returncode != 0 or m is None:
        raise RuntimeError(f"tflite-micro failed (exit {r.returncode}):\n{text[-2000:]}")
    return int(m.group(1))

"""QUANTIZE and DEQUANTIZE against LiteRT, bit for bit: float -> int8/uint8/int16 (per tensor and per
channel), int -> int requantization (int8 <-> uint8 interfaces, rescaling), dequantization of activations
and of float16 / int8 constant weights (float16 models from TensorFlow's converter)."""
import numpy as np
import pytest

from oracle import assert_matches_litert, tf_convert

RANGES = {np.int8: (-128, 127), np.uint8: (0, 255), np.int16: (-32768, 32767)}


def _model(op, in_dtype, in_q, out_dtype, out_q, shape=(2, 3, 5)):
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", shape, in_dtype, quant=in_q)
    y = b.tensor("y", shape, out_dtype, quant=out_q)
    b.op(op, [x], [y])
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def _float_input(shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 20, shape).astype(np.float32)
    flat = x.reshape(-1)
    # exact ties at .5 steps, huge values (saturation), zeros. (Values whose quotient leaves the int32 range
    # are left out: TFLite's x86 conversion maps them to the type minimum, edgerun saturates.)
    flat[:6] = [0.25, -0.25, 0.75, -1e5, 1e5, 0.0]
    return x


@pytest.mark.parametrize("dtype,q", [(np.int8, (0.5, -3)), (np.int8, (0.1, 0)), (np.uint8, (0.25, 128)),
                                     (np.int16, (0.01, 0)), (np.int16, (0.5, 0))])
def test_quantize_float_per_tensor(dtype, q):
    assert_matches_litert(_model("QUANTIZE", np.float32, None, dtype, q), [_float_input((2, 3, 5))], exact=True)


@pytest.mark.parametrize("dtype,q", [(np.int8, (0.5, -3)), (np.uint8, (0.25, 128)), (np.int16, (0.01, 0))])
def test_dequantize_per_tensor(dtype, q):
    lo, hi = RANGES[dtype]
    x = np.random.default_rng(1).integers(lo, hi + 1, (2, 3, 5)).astype(dtype)
    x.reshape(-1)[:2] = [lo, hi]
    assert_matches_litert(_model("DEQUANTIZE", dtype, q, np.float32, None), [x], exact=True)


@pytest.mark.parametrize("src,sq,dst,dq", [
    (np.int8, (0.5, -3), np.uint8, (0.5, 125)),      # int8 -> uint8 interface
    (np.uint8, (0.25, 128), np.int8, (0.25, 0)),     # uint8 -> int8 interface
    (np.int8, (0.5, 3), np.int8, (0.37, -7)),        # rescale, multiplier < 1
    (np.int8, (0.5, 3), np.int8, (0.05, 1)),         # rescale, multiplier > 1 (saturates)
    (np.int16, (0.01, 0), np.int16, (0.003, 0)),
    (np.int16, (0.01, 0), np.int8, (0.2, -1)),
])
def test_requantize(src, sq, dst, dq):
    lo, hi = RANGES[src]
    x = np.random.default_rng(2).integers(lo, hi + 1, (2, 3, 5)).astype(src)
    x.reshape(-1)[:2] = [lo, hi]
    assert_matches_litert(_model("QUANTIZE", src, sq, dst, dq), [x], exact=True)


def test_quantize_and_dequantize_per_channel():
    from edgerun.schema.builder import ModelBuilder

    scales, zps = [0.1, 0.5, 0.02], [0, 0, 0]
    b = ModelBuilder()
    x = b.tensor("x", (4, 3), np.float32)
    q = b.tensor("q", (4, 3), np.int8, quant=(scales, zps, 1))
    y = b.tensor("y", (4, 3), np.float32)
    b.op("QUANTIZE", [x], [q])
    b.op("DEQUANTIZE", [q], [y])
    b.inputs([x])
    b.outputs([y, q])
    assert_matches_litert(b.finish(), [_float_input((4, 3), 3)], exact=True)


def test_dequantize_int8_constant_per_channel_weights():
    """int8 per-channel constant -> DEQUANTIZE -> float FULLY_CONNECTED (done once at prepare)."""
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(4)
    b = ModelBuilder()
    x = b.tensor("x", (2, 6), np.float32)
    wq = b.const("wq", rng.integers(-127, 128, (4, 6)).astype(np.int8),
                 quant=([0.01, 0.02, 0.03, 0.04], [0, 0, 0, 0], 0))
    w = b.tensor("w", (4, 6), np.float32)
    y = b.tensor("y", (2, 4), np.float32)
    b.op("DEQUANTIZE", [wq], [w])
    b.op("FULLY_CONNECTED", [x, w, -1], [y])
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish())


def test_float16_model_from_tf_converter():
    import keras

    m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(6, 3, activation="relu"),
                          keras.layers.DepthwiseConv2D(3), keras.layers.Flatten(), keras.layers.Dense(5)])
    model = tf_convert(m, quantize="float16")
    from edgerun.runtime.model import Model

    assert "DEQUANTIZE" in {op.name for op in Model(model).subgraphs[0].ops}
    assert_matches_litert(model)


def test_float16_activation_dequantize_hand_built():
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (3, 4), np.float16)
    y = b.tensor("y", (3, 4), np.float32)
    b.op("DEQUANTIZE", [x], [y])
    b.inputs([x])
    b.outputs([y])
    h = np.array([0, 1, -2, 65504, -65504, 6e-8, -6e-8, 1e-5, np.inf, -np.inf, 0.333, 3.14], np.float16)
    assert_matches_litert(b.finish(), [h.reshape(3, 4)], exact=True)


def test_quantize_without_output_quantization_is_an_error():
    import edgerun

    m = _model("QUANTIZE", np.float32, None, np.int8, None)
    with pytest.raises(edgerun.DtypeError, match="QUANTIZE.*no quantization"):
        edgerun.Interpreter(model_content=m).allocate_tensors()


@pytest.mark.parametrize("dtype,q", [(np.int8, (0.0371, 5)), (np.uint8, (0.0371, 131)), (np.int16, (0.001, 0))])
def test_dequantize_constant_per_tensor_matches_runtime_path(dtype, q):
    """A constant dequantized once at prepare gives exactly what LiteRT computes (its 8-bit path works in
    float, blockwise), not a double-precision approximation of it."""
    from edgerun.schema.builder import ModelBuilder

    lo, hi = RANGES[dtype]
    b = ModelBuilder()
    x = b.tensor("x", (300,), np.float32)
    c = b.const("c", np.linspace(lo, hi, 300).astype(dtype), quant=q)
    d = b.tensor("d", (300,), np.float32)
    y = b.tensor("y", (300,), np.float32)
    b.op("DEQUANTIZE", [c], [d])
    b.op("ADD", [x, d], [y])
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish(), [np.zeros(300, np.float32)], exact=True)

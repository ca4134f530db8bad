"""Integer (int8 / uint8 / int16) elementwise ops against LiteRT's builtin kernels, bit for bit.

int8 and int16x8 models come from TensorFlow's converter (integer model inputs and outputs, so every integer
value reaches the op); uint8 models and options the converter does not produce (int16 power-of-two ADD/SUB,
equal-scale comparisons, raw-valued ops, saturating scales) are built with schema/builder.py. Inputs cover
the whole integer range, plus the extreme values."""
import zlib

import numpy as np
import pytest
from edgerun.schema.builder import ModelBuilder
from oracle import assert_matches_litert, edgerun_run, litert_run, tf_convert, tf_convert_function

from edgerun.errors import InvokeError, UnsupportedOpError

I8, U8, I16 = np.int8, np.uint8, np.int16


def _full(dt, shape, seed):
    info = np.iinfo(dt)
    rng = np.random.default_rng(seed)
    return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=np.int64).astype(dt)


def _all_values(dt):
    info = np.iinfo(dt)
    if dt == I16:
        return np.concatenate([np.arange(-32768, 32768, 5), [-32767, -2, -1, 0, 1, 2, 32766, 32767]]).astype(dt)
    return np.arange(info.min, int(info.max) + 1).astype(dt)


def _check(model, inputs):
    """Exact match on the given inputs and on all-minimum / all-maximum inputs."""
    assert_matches_litert(model, inputs, exact=True)
    for pick in ("min", "max"):
        edge = [np.full(x.shape, getattr(np.iinfo(x.dtype), pick), x.dtype) for x in inputs]
        assert_matches_litert(model, edge, exact=True)


# -- models from TensorFlow's converter -----------------------------------------------------------------

def _tf():
    import tensorflow as tf

    return tf


def _convert(fn, shapes, quantize, key):
    tf = _tf()
    io = tf.int8 if quantize == "int8" else tf.int16
    return tf_convert_function(fn, [tf.TensorSpec(s, tf.float32) for s in shapes], quantize=quantize,
                               key=f"q-elementwise-{quantize}-{key}", inference_input_type=io,
                               inference_output_type=io)


def _ops(model):
    from edgerun.runtime.model import Model

    return [op.name for op in Model(model).subgraphs[0].ops]


BINARY_TF = {
    "add": (lambda a, b: a + b, [(2, 3, 8), (8,)], "ADD"),
    "add6d": (lambda a, b: a + b, [(2, 1, 3, 1, 2, 5), (1, 4, 1, 2, 1, 5)], "ADD"),
    "sub": (lambda a, b: a - b * 3.0, [(2, 3, 8), (3, 1)], "SUB"),
    "mul": (lambda a, b: a * b, [(2, 3, 8), (2, 3, 8)], "MUL"),
    "mul_bcast": (lambda a, b: a * b * 4.0, [(4, 1, 8), (3, 1)], "MUL"),
    "add_relu": (lambda a, b: _tf().nn.relu(a + b), [(3, 16), (3, 16)], "ADD"),
    "div": (lambda a, b: a / (_tf().abs(b) + 0.5), [(2, 8), (2, 8)], "DIV"),
    "sqdiff": (lambda a, b: _tf().math.squared_difference(a, b), [(2, 8), (8,)], "SQUARED_DIFFERENCE"),
    "maximum": (lambda a, b: _tf().maximum(a, b * 2.0), [(2, 8), (8,)], "MAXIMUM"),
    "minimum": (lambda a, b: _tf().minimum(a, b), [(3, 1, 8), (4, 1)], "MINIMUM"),
}


@pytest.mark.parametrize("name", sorted(BINARY_TF))
def test_binary_int8_converter(name):
    fn, shapes, op = BINARY_TF[name]
    model = _convert(fn, shapes, "int8", name)
    assert op in _ops(model)
    _check(model, [_full(I8, s, i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("name", ["add", "add6d", "sub", "mul", "mul_bcast", "add_relu"])
def test_binary_int16_converter(name):
    fn, shapes, op = BINARY_TF[name]
    model = _convert(fn, shapes, "int16x8", name)
    assert op in _ops(model)
    _check(model, [_full(I16, s, i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("op", ["less", "less_equal", "greater", "greater_equal", "equal", "not_equal"])
def test_compare_int8_converter(op):
    tf = _tf()
    model = _convert(lambda a, b: tf.cast(getattr(tf.math, op)(a, b * 0.5), tf.float32), [(3, 8), (8,)], "int8",
                     f"cmp-{op}")
    assert op.upper() in _ops(model)
    a, b = _full(I8, (3, 8), 1), _full(I8, (8,), 2)
    a[0] = b  # equal stored values under different scales
    _check(model, [a, b])


UNARY_TF = {
    "sigmoid": (lambda x: _tf().sigmoid(x * 4.0), "LOGISTIC"),
    "tanh": (lambda x: _tf().tanh(x * 4.0), "TANH"),
    "hard_swish": (lambda x: x * 4.0 * _tf().nn.relu6(x * 4.0 + 3.0) / 6.0, "HARD_SWISH"),
    "abs": (lambda x: _tf().abs(x), "ABS"),
    "rsqrt": (lambda x: _tf().math.rsqrt(_tf().abs(x) + 0.1), "RSQRT"),
    "exp": (lambda x: _tf().exp(x * 2.0), "EXP"),
    "log": (lambda x: _tf().math.log(_tf().abs(x) + 0.1), "LOG"),
    "sqrt": (lambda x: _tf().sqrt(_tf().abs(x)), "SQRT"),
    "elu": (lambda x: _tf().nn.elu(x * 3.0), "ELU"),
    "gelu": (lambda x: _tf().nn.gelu(x * 3.0, approximate=False), "GELU"),
    "gelu_tanh": (lambda x: _tf().nn.gelu(x * 3.0, approximate=True), "GELU"),
    "leaky_relu": (lambda x: _tf().nn.leaky_relu(x * 3.0, 0.2), "LEAKY_RELU"),
    "relu": (lambda x: _tf().nn.relu(x * 2.0 - 0.5), None),
}


@pytest.mark.parametrize("name", sorted(UNARY_TF))
def test_unary_int8_converter(name):
    fn, op = UNARY_TF[name]
    model = _convert(fn, [(1, 256)], "int8", name)
    assert op is None or op in _ops(model)
    _check(model, [_all_values(I8).reshape(1, 256)])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "abs", "rsqrt", "exp", "log", "gelu", "gelu_tanh",
                                  "leaky_relu", "relu"])
def test_unary_int16_converter(name):
    fn, op = UNARY_TF[name]
    model = _convert(fn, [(1, 2048)], "int16x8", name)
    assert op is None or op in _ops(model)
    _check(model, [_full(I16, (1, 2048), 3)])


def test_prelu_int8_keras():
    import keras

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((4, 5, 3), batch_size=1),
                          keras.layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(-1, 1),
                                             shared_axes=[1])])
    model = tf_convert(m, quantize="int8", input_type=np.int8, output_type=np.int8)
    assert "PRELU" in _ops(model)
    _check(model, [_full(I8, (1, 4, 5, 3), 4)])


# -- hand-built models (uint8, and options the converter does not produce) -------------------------------

def _binary_model(op, dt, sa, sb, qa, qb, qo, options=None, out_dtype=None):
    b = ModelBuilder()
    x = b.tensor("a", sa, dt, quant=qa)
    z = b.tensor("b", sb, dt, quant=qb)
    y = b.tensor("y", np.broadcast_shapes(sa, sb), out_dtype or dt, quant=qo)
    b.op(op, [x, z], [y], options)
    b.inputs([x, z])
    b.outputs([y])
    return b.finish()


def _unary_model(op, dt, shape, qi, qo, options=None):
    b = ModelBuilder()
    x = b.tensor("x", shape, dt, quant=qi)
    y = b.tensor("y", shape, dt, quant=qo)
    b.op(op, [x], [y], options)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


SHAPES = [((4, 33), (4, 33)), ((2, 1, 3, 1, 5, 4), (1, 4, 1, 6, 1, 4)), ((3, 1, 7), (1, 5, 1)), ((1,), (3, 5))]
FUSED = {"ADD", "SUB", "MUL", "DIV"}


def _qparams(dt, rng, n=3, div=False):
    base = 0.0005 if dt == I16 else 0.02
    sc = [float(base * rng.uniform(0.2, 5.0)) for _ in range(n)]
    if div:
        sc[2] *= 20
    if dt == I8:
        zp = [int(rng.integers(-128, 128)) for _ in range(n)]
    elif dt == U8:
        zp = [int(rng.integers(0, 256)) for _ in range(n)]
    else:
        zp = [0] * n
    return list(zip(sc, zp))


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("dt", [U8, I8, I16], ids=["u8", "i8", "i16"])
def test_binary_built(op, dt):
    rng = np.random.default_rng(zlib.crc32(f"{op}-{np.dtype(dt).name}".encode()))
    for k, (sa, sb) in enumerate(SHAPES):
        for act in ([0, 1, 2, 3] if op in FUSED else [0]):
            qa, qb, qo = _qparams(dt, rng, div=op == "DIV")
            opts = {"fusedActivationFunction": act} if op in FUSED else None
            if op in ("ADD", "SUB"):
                opts["potScaleInt16"] = False
            model = _binary_model(op, dt, sa, sb, qa, qb, qo, opts)
            a, b = _full(dt, sa, k), _full(dt, sb, k + 10)
            if op == "DIV":
                b[b == qb[1]] += 1  # LiteRT rejects a zero divisor
            assert_matches_litert(model, [a, b], exact=True)


@pytest.mark.parametrize("dt", [U8, I8], ids=["u8", "i8"])
def test_div_tiny_quotients(dt):
    """Quotient multipliers so small that TFLite's final right shift exceeds 31 bits."""
    zp = 128 if dt == U8 else 0
    for sc in [(0.001, 0.5, 0.9), (0.0001, 1.0, 1.0), (1.0, 0.001, 0.0001)]:
        model = _binary_model("DIV", dt, (4, 64), (4, 64), (sc[0], zp), (sc[1], zp + 5), (sc[2], zp - 3))
        a, b = _full(dt, (4, 64), 1), _full(dt, (4, 64), 2)
        b[b == zp + 5] += 1
        assert_matches_litert(model, [a, b], exact=True)


@pytest.mark.parametrize("dt", [U8, I8], ids=["u8", "i8"])
def test_prelu_built(dt):
    rng = np.random.default_rng(7)
    for sa, sb in [((2, 4, 5, 3), (3,)), ((2, 4, 5, 3), (1, 5, 3)), ((3, 8), (3, 8))]:
        qa, qb, qo = _qparams(dt, rng)
        model = _binary_model("PRELU", dt, sa, sb, qa, qb, qo)
        assert_matches_litert(model, [_full(dt, sa, 1), _full(dt, sb, 2)], exact=True)


def test_prelu_int16_with_int8_alpha():
    rng = np.random.default_rng(17)
    for shape, ashape in [((2, 4, 5, 3), (3,)), ((2, 6, 7), (1, 6, 7))]:
        b = ModelBuilder()
        x = b.tensor("x", shape, I16, quant=(float(rng.uniform(1e-4, 1e-3)), 0))
        al = b.const("alpha", _full(I8, ashape, 3), quant=(float(rng.uniform(1e-3, 1e-2)), int(rng.integers(-20, 20))))
        y = b.tensor("y", shape, I16, quant=(float(rng.uniform(1e-4, 1e-3)), 0))
        b.op("PRELU", [x, al], [y])
        b.inputs([x])
        b.outputs([y])
        _check(b.finish(), [_full(I16, shape, 4)])


def test_squared_difference_built():
    rng = np.random.default_rng(8)
    for sa, sb in SHAPES:
        qa, qb, qo = _qparams(I8, rng)
        model = _binary_model("SQUARED_DIFFERENCE", I8, sa, sb, qa, qb, qo)
        assert_matches_litert(model, [_full(I8, sa, 1), _full(I8, sb, 2)], exact=True)


@pytest.mark.parametrize("op", ["ADD", "SUB"])
def test_int16_power_of_two_scales(op):
    sb = (50,) if op == "SUB" else (3, 50)  # LiteRT's power-of-two int16 ADD does not broadcast (it aborts)
    for l1, l2, lo in [(-12, -12, -12), (-13, -12, -12), (-12, -14, -12), (-10, -10, -10)]:
        for act in [0, 1, 3]:
            model = _binary_model(op, I16, (3, 50), sb, (2.0 ** l1, 0), (2.0 ** l2, 0), (2.0 ** lo, 0),
                                  {"fusedActivationFunction": act, "potScaleInt16": True})
            _check(model, [_full(I16, (3, 50), 1), _full(I16, sb, 2)])
    # power-of-two flag with general scales falls back to the rescaling path
    model = _binary_model(op, I16, (3, 50), (3, 50), (0.00031, 0), (0.00017, 0), (0.0004, 0),
                          {"potScaleInt16": True})
    _check(model, [_full(I16, (3, 50), 1), _full(I16, (3, 50), 2)])
    # shifts TFLite rejects: both inputs shifted, or an input on a finer scale than the output
    for l1, l2, lo in [(-12, -12, -11), (-11, -12, -12)]:
        model = _binary_model(op, I16, (3, 50), (3, 50), (2.0 ** l1, 0), (2.0 ** l2, 0), (2.0 ** lo, 0))
        with pytest.raises(RuntimeError):
            litert_run(model, [np.ones((3, 50), I16)] * 2)
        with pytest.raises(UnsupportedOpError, match=op):
            edgerun_run(model, [np.ones((3, 50), I16)] * 2)


def test_int16_power_of_two_add_broadcast_unsupported():
    model = _binary_model("ADD", I16, (3, 50), (50,), (2.0 ** -12, 0), (2.0 ** -12, 0), (2.0 ** -12, 0))
    with pytest.raises(UnsupportedOpError, match="broadcast"):
        edgerun_run(model, [np.ones((3, 50), I16), np.ones((50,), I16)])


@pytest.mark.parametrize("op", ["FLOOR_DIV", "FLOOR_MOD"])
@pytest.mark.parametrize("dt", [I8, I16], ids=["i8", "i16"])
def test_floor_div_mod_raw(op, dt):
    model = _binary_model(op, dt, (4, 40), (40,), (0.1, 0), (0.1, 0), (0.1, 0))
    a, b = _full(dt, (4, 40), 1), _full(dt, (40,), 2)
    b[b == 0] = 1
    b[:3] = [-1, 1, -2]
    assert_matches_litert(model, [a, b], exact=True)


COMPARE = ["LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL"]


@pytest.mark.parametrize("op", COMPARE)
@pytest.mark.parametrize("dt", [U8, I8, I16], ids=["u8", "i8", "i16"])
def test_compare_built(op, dt):
    zp0 = 128 if dt == U8 else 0
    for sc, zp in [((0.05, 0.031), (3, -7)), ((0.002, 0.002), (0, 0)), ((0.0005, 0.0031), (1, 1)),
                   ((0.5, 0.5), (5, 5))]:
        zp = (0, 0) if dt == I16 else (zp[0] + zp0, zp[1] + zp0)
        model = _binary_model(op, dt, (3, 1, 40), (5, 40), (sc[0], zp[0]), (sc[1], zp[1]), None, out_dtype=np.bool_)
        a, b = _full(dt, (3, 1, 40), 1), _full(dt, (5, 40), 2)
        b[0] = a[0, 0]
        assert_matches_litert(model, [a, b], exact=True)


OUT_Q = {("LOGISTIC", I8): (1 / 256, -128), ("LOGISTIC", U8): (1 / 256, 0), ("LOGISTIC", I16): (1 / 32768, 0),
         ("TANH", I8): (1 / 128, 0), ("TANH", U8): (1 / 128, 128), ("TANH", I16): (1 / 32768, 0)}
UNARY_BUILT = {
    U8: ["RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LEAKY_RELU", "HARD_SWISH", "LOGISTIC", "TANH", "GELU"],
    I8: ["RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LEAKY_RELU", "HARD_SWISH", "ABS", "NEG", "RSQRT", "SQRT",
         "EXP", "LOG", "LOGISTIC", "TANH", "ELU", "GELU"],
    I16: ["RELU", "RELU6", "LEAKY_RELU", "ABS", "NEG", "RSQRT", "SQRT", "EXP", "LOG", "LOGISTIC", "TANH", "GELU"],
}


@pytest.mark.parametrize("dt", [U8, I8, I16], ids=["u8", "i8", "i16"])
def test_unary_built(dt):
    rng = np.random.default_rng(9)
    x_all = _all_values(dt)
    for op in UNARY_BUILT[dt]:
        for trial in range(3):
            (si, zi), (so, zo) = _qparams(dt, rng, n=2)
            qo = OUT_Q.get((op, dt), (so, zo))
            opts = {"LEAKY_RELU": {"alpha": [0.2, -0.3, 1.7][trial]},
                    "GELU": {"approximate": trial == 1}}.get(op)
            x = np.maximum(x_all, zi).astype(dt) if op in ("RSQRT", "SQRT") else x_all
            model = _unary_model(op, dt, x.shape, (si, zi), qo, opts)
            ours, _ = assert_matches_litert(model, [x], exact=True)
            assert ours[0].shape == x.shape


@pytest.mark.parametrize("op", ["ABS", "NEG"])
def test_unquantized_int16_abs_neg(op):
    b = ModelBuilder()
    x = b.tensor("x", (3, 100), I16)
    y = b.tensor("y", (3, 100), I16)
    b.op(op, [x], [y])
    b.inputs([x])
    b.outputs([y])
    _check(b.finish(), [_full(I16, (3, 100), 6)])


@pytest.mark.parametrize("op", ["SELECT", "SELECT_V2"])
@pytest.mark.parametrize("dt", [U8, I8, I16], ids=["u8", "i8", "i16"])
def test_select_different_scales(op, dt):
    """LiteRT copies stored values between differently quantized tensors (no rescaling)."""
    zp = 128 if dt == U8 else 0
    b = ModelBuilder()
    c = b.tensor("c", (4, 10), np.bool_)
    x = b.tensor("x", (4, 10), dt, quant=(0.1, zp))
    z = b.tensor("z", (4, 10), dt, quant=(0.2, zp + 3 if dt != I16 else 0))
    y = b.tensor("y", (4, 10), dt, quant=(0.05, zp - 1 if dt != I16 else 0))
    b.op(op, [c, x, z], [y])
    b.inputs([c, x, z])
    b.outputs([y])
    cond = np.random.default_rng(0).integers(0, 2, (4, 10)).astype(bool)
    assert_matches_litert(b.finish(), [cond, _full(dt, (4, 10), 1), _full(dt, (4, 10), 2)], exact=True)


@pytest.mark.parametrize("op,log2_scale", [("LOGISTIC", -12), ("TANH", -12), ("TANH", -11)])
def test_int16_power_of_two_logistic_tanh(op, log2_scale):
    """Input scales 2^-12 (TANH also 2^-11) take TFLite's gemmlowp fixed-point path: all 65536 inputs."""
    x = np.arange(-32768, 32768).astype(I16)
    model = _unary_model(op, I16, x.shape, (2.0 ** log2_scale, 0), (1 / 32768, 0))
    assert_matches_litert(model, [x], exact=True)


def test_rounding_mode_is_double():
    """LiteRT's builtin kernels round twice (doubling high multiply, then rounding shift); single rounding
    differs by one LSB on some elements, so the default of edgerun must be double rounding."""
    from edgerun.kernels import lib

    assert lib.er_get_rounding_mode() == 0
    rng = np.random.default_rng(12)
    qa, qb, qo = _qparams(I8, rng)
    model = _binary_model("MUL", I8, (16, 64), (16, 64), qa, qb, qo)
    inputs = [_full(I8, (16, 64), 1), _full(I8, (16, 64), 2)]
    theirs = litert_run(model, inputs)[0]
    lib.er_set_rounding_mode(1)
    try:
        single = edgerun_run(model, inputs)[0]
    finally:
        lib.er_set_rounding_mode(0)
    assert not np.array_equal(single, theirs)
    assert np.array_equal(edgerun_run(model, inputs)[0], theirs)


# -- errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op,dt", [("ABS", U8), ("NEG", U8), ("EXP", U8), ("ELU", U8), ("ELU", I16),
                                   ("HARD_SWISH", I16), ("RELU_N1_TO_1", I16), ("SIN", I8), ("SQUARE", I8)])
def test_unsupported_unary_dtype(op, dt):
    model = _unary_model(op, dt, (2, 4), (0.1, 0), (0.1, 0))
    with pytest.raises(RuntimeError):
        litert_run(model, [np.zeros((2, 4), dt)])
    with pytest.raises(UnsupportedOpError, match=op):
        edgerun_run(model, [np.zeros((2, 4), dt)])


@pytest.mark.parametrize("op,dt", [("SQUARED_DIFFERENCE", U8), ("SQUARED_DIFFERENCE", I16), ("FLOOR_DIV", U8)])
def test_unsupported_binary_dtype(op, dt):
    model = _binary_model(op, dt, (2, 4), (2, 4), (0.1, 0), (0.1, 0), (0.1, 0))
    with pytest.raises(RuntimeError):
        litert_run(model, [np.ones((2, 4), dt)] * 2)
    with pytest.raises(UnsupportedOpError, match=op):
        edgerun_run(model, [np.ones((2, 4), dt)] * 2)


def test_domain_errors_at_invoke():
    """Zero divisors and negative RSQRT/SQRT inputs fail in LiteRT; edgerun raises InvokeError."""
    div = _binary_model("DIV", I8, (4,), (4,), (0.1, 0), (0.1, 3), (0.1, 0))
    bad = [np.array([1, 2, 3, 4], I8), np.array([1, 3, 2, 2], I8)]
    with pytest.raises(RuntimeError):
        litert_run(div, bad)
    with pytest.raises(InvokeError, match="DIV"):
        edgerun_run(div, bad)
    for op in ("RSQRT", "SQRT"):
        m = _unary_model(op, I8, (4,), (0.1, 5), (0.1, 0))
        with pytest.raises(RuntimeError):
            litert_run(m, [np.array([1, 6, 7, 8], I8)])
        with pytest.raises(InvokeError, match=op):
            edgerun_run(m, [np.array([1, 6, 7, 8], I8)])

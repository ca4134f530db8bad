"""Integer and hybrid conv family against LiteRT's builtin kernels: CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL.

int8 and int16x8 models come from TensorFlow's converter (integer interface, so the graph is the op alone),
uint8 (legacy) models are hand-built. Integer outputs are compared bit for bit on random inputs over the
full integer range; hybrid (dynamic-range) outputs are float, compared with rtol 1e-5.

Rounding: LiteRT 2.3 (x86 wheel) requantizes with TFLite's default double rounding in its reference paths,
and with an "upward" final shift in its optimized int8/uint8 paths (see kernels/ref/q_conv.c);
test_rounding_modes_are_distinguished checks that the two are told apart by these tests.
"""
import numpy as np
import pytest
from oracle import (
    assert_matches_litert,
    edgerun_run,
    litert_interpreter,
    litert_run,
    random_inputs,
    tf_convert,
    tf_convert_function,
)


def _seq(layer, shape, batch=2):
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input(shape, batch_size=batch), layer])


def _int8(model, **kw):
    return tf_convert(model, quantize="int8", input_type=np.int8, output_type=np.int8, **kw)


def _int16(model, **kw):
    return tf_convert(model, quantize="int16x8", input_type=np.int16, output_type=np.int16, **kw)


def _ops(model):
    from edgerun.runtime.model import Model

    return [op.name for op in Model(model).subgraphs[0].ops]


def _exact(model, seeds=(0, 1)):
    for s in seeds:
        assert_matches_litert(model, exact=True, seed=s)


def _ids(kw):
    return "-".join(f"{k}{v}" for k, v in kw.items()).replace(" ", "").replace("'", "")


# ---------------------------------------------------------------------------------------------------
# int8 from TensorFlow's converter (per-channel weights)
# ---------------------------------------------------------------------------------------------------
CONV = [
    dict(filters=7, kernel_size=3, strides=2, padding="same", activation="relu6"),
    dict(filters=5, kernel_size=(3, 2), strides=(1, 3), padding="valid", activation="relu"),
    dict(filters=9, kernel_size=3, padding="same", dilation_rate=2),
    dict(filters=6, kernel_size=(3, 2), padding="valid", groups=3),
    dict(filters=19, kernel_size=1),
    dict(filters=3, kernel_size=5, strides=4, padding="same", use_bias=False),
]


@pytest.mark.parametrize("kw", CONV, ids=_ids)
def test_conv2d_int8(kw):
    import keras

    model = _int8(_seq(keras.layers.Conv2D(**kw), (9, 8, 3 if kw.get("groups") != 3 else 6)))
    assert _ops(model) == ["CONV_2D"]
    _exact(model)


def test_conv2d_int8_single_output_pixel():
    """One output pixel per image: LiteRT's GEMV path."""
    import keras

    model = _int8(_seq(keras.layers.Conv2D(12, 3, padding="valid"), (3, 3, 5), batch=1))
    _exact(model, seeds=(0, 1, 2))


DW = [
    dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2),
    dict(kernel_size=(3, 1), padding="valid", activation="relu"),
    dict(kernel_size=3, padding="same", dilation_rate=2, activation="relu6"),
    dict(kernel_size=2, strides=(2, 1), use_bias=False, depth_multiplier=3),
]


@pytest.mark.parametrize("channels", [3, 11, 16])
@pytest.mark.parametrize("kw", DW, ids=_ids)
def test_depthwise_int8(kw, channels):
    import keras

    model = _int8(_seq(keras.layers.DepthwiseConv2D(**kw), (9, 7, channels)))
    assert _ops(model) == ["DEPTHWISE_CONV_2D"]
    _exact(model)


@pytest.mark.parametrize("shape,batch", [((7,), 2), ((3, 7), 2), ((2, 3, 9), 2), ((40,), 1), ((100,), 16)])
@pytest.mark.parametrize("act", [None, "relu", "relu6"])
def test_dense_int8(shape, batch, act):
    import keras

    model = _int8(_seq(keras.layers.Dense(13, activation=act), shape, batch=batch))
    assert "FULLY_CONNECTED" in _ops(model)
    _exact(model)


TCONV = [
    (dict(filters=4, kernel_size=3, strides=2, padding="same"), (5, 6, 3)),
    (dict(filters=11, kernel_size=(3, 2), strides=(2, 3), padding="valid"), (5, 6, 3)),
    (dict(filters=2, kernel_size=4, strides=2, padding="same", activation="relu", use_bias=False), (3, 3, 2)),
    (dict(filters=19, kernel_size=3, strides=1, padding="same", use_bias=False), (4, 5, 6)),
]


@pytest.mark.parametrize("kw,shape", TCONV, ids=lambda v: _ids(v) if isinstance(v, dict) else str(v))
def test_transpose_conv_int8(kw, shape):
    import keras

    model = _int8(_seq(keras.layers.Conv2DTranspose(**kw), shape))
    assert "TRANSPOSE_CONV" in _ops(model)
    _exact(model)


def test_saturating_edges_int8():
    """Inputs pinned at -128/127 (and alternating): accumulators at their extremes, outputs clamped."""
    import keras

    for layer, shape in [(keras.layers.Conv2D(8, 3, padding="same"), (6, 6, 4)),
                         (keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2), (6, 6, 9)),
                         (keras.layers.Dense(10), (33,))]:
        model = _int8(_seq(layer, shape))
        full = (2,) + shape
        alt = np.where(np.indices(full).sum(axis=0) % 2 == 0, 127, -128).astype(np.int8)
        for x in (np.full(full, -128, np.int8), np.full(full, 127, np.int8), alt):
            assert_matches_litert(model, [x], exact=True)


BMM = [((2, 3, 4), (2, 4, 5), False, False), ((3, 4), (2, 5, 4), False, True),
       ((2, 1, 4, 3), (3, 4, 5), True, False), ((1, 4, 3), (2, 5, 4), True, True)]


@pytest.mark.parametrize("sa,sb,ax,ay", BMM)
@pytest.mark.parametrize("quantize", ["int8", "int16x8"])
def test_batch_matmul_integer(sa, sb, ax, ay, quantize):
    import tensorflow as tf

    model = tf_convert_function(lambda a, b: tf.linalg.matmul(a, b, adjoint_a=ax, adjoint_b=ay),
                                [tf.TensorSpec(sa, tf.float32), tf.TensorSpec(sb, tf.float32)],
                                quantize=quantize, key=f"qbmm-{sa}-{sb}-{ax}-{ay}",
                                inference_input_type=tf.int8 if quantize == "int8" else tf.int16,
                                inference_output_type=tf.int8 if quantize == "int8" else tf.int16)
    assert "BATCH_MATMUL" in _ops(model)
    _exact(model)


# ---------------------------------------------------------------------------------------------------
# int16x8
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer,shape", [
    ("Conv2D(7, 3, strides=2, padding='same', activation='relu')", (9, 8, 3)),
    ("Conv2D(5, (3, 2), padding='valid', dilation_rate=(2, 1))", (9, 8, 3)),
    ("DepthwiseConv2D(3, padding='same', depth_multiplier=2, activation='relu6')", (7, 6, 5)),
    ("DepthwiseConv2D(2, strides=2, padding='valid', use_bias=False)", (7, 6, 9)),
    ("Dense(11)", (37,)),
    ("Dense(6, activation='relu')", (3, 10)),
    ("Conv2DTranspose(5, 3, strides=2, padding='same')", (4, 5, 3)),
    ("Conv2DTranspose(3, 2, strides=2, padding='valid', use_bias=False)", (4, 5, 3)),
], ids=lambda v: v if isinstance(v, str) else str(v))
def test_int16x8(layer, shape):
    import keras  # noqa: F401 - eval below

    model = _int16(_seq(eval("keras.layers." + layer), shape))
    _exact(model)


# ---------------------------------------------------------------------------------------------------
# Hand-built: per-tensor int8, uint8 legacy, FC options
# ---------------------------------------------------------------------------------------------------
def _q(rng, shape, dtype):
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)


def _conv_model(op, dtype, x_shape, w_shape, y_shape, options, *, per_channel=False, bias=True, zp=(3, 0, -5),
                w_zp=0, scales=(0.05, 0.011, 0.09), bias_dtype=np.int32, n_out=None, seed=0):
    """One conv-family op over `dtype` tensors with the given quantization."""
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    xs, ws, ys = scales
    xz, _, yz = zp
    wdtype = np.uint8 if dtype == np.uint8 else np.int8
    n_out = n_out or (w_shape[3] if op == "DEPTHWISE_CONV_2D" else w_shape[0])
    axis = 3 if op == "DEPTHWISE_CONV_2D" else 0
    if per_channel:
        wsc = ws * rng.uniform(0.5, 1.5, n_out)
        wq = (wsc.astype(np.float32), np.zeros(n_out, np.int64), axis)
    else:
        wsc = np.array([ws])
        wq = (ws, w_zp)
    x = b.tensor("x", x_shape, dtype, quant=(xs, xz))
    w = b.const("w", _q(rng, w_shape, wdtype), quant=wq)
    ins = [x, w]
    if op == "TRANSPOSE_CONV":
        shape_t = b.const("shape", np.asarray(y_shape, np.int32))
        ins = [shape_t, w, x]
    if bias:
        bscale = (np.float32(xs) * wsc.astype(np.float32)).astype(np.float32)
        bv = rng.integers(-3000, 3000, n_out).astype(bias_dtype)
        bq = (bscale, np.zeros(n_out, np.int64), 0) if per_channel else (float(bscale[0]), 0)
        ins.append(b.const("b", bv, quant=bq))
    elif op != "TRANSPOSE_CONV":
        ins.append(-1)
    y = b.tensor("y", y_shape, dtype, quant=(ys, yz))
    b.op(op, ins, [y], options=options, version=3 if dtype != np.uint8 else 1)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("act", [0, 1, 2, 3])
def test_conv2d_per_tensor_hand_built(dtype, act):
    zp = (130, 0, 120) if dtype == np.uint8 else (3, 0, -5)
    model = _conv_model("CONV_2D", dtype, (2, 9, 8, 3), (5, 3, 3, 3), (2, 5, 4, 5),
                        {"padding": 0, "strideH": 2, "strideW": 2, "fusedActivationFunction": act},
                        zp=zp, w_zp=140 if dtype == np.uint8 else 0)
    _exact(model)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_conv2d_dilated_strided_hand_built(dtype):
    zp = (128, 0, 100) if dtype == np.uint8 else (-7, 0, 2)
    model = _conv_model("CONV_2D", dtype, (1, 11, 10, 2), (3, 3, 3, 2), (1, 6, 4, 3),
                        {"padding": 0, "strideH": 2, "strideW": 3, "dilationHFactor": 2,
                         "dilationWFactor": 3},
                        zp=zp, w_zp=120 if dtype == np.uint8 else 0, per_channel=dtype == np.int8)
    _exact(model)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("mult,channels", [(1, 3), (2, 5), (1, 12)])
def test_depthwise_hand_built(dtype, mult, channels):
    zp = (125, 0, 131) if dtype == np.uint8 else (1, 0, -3)
    oc = mult * channels
    model = _conv_model("DEPTHWISE_CONV_2D", dtype, (2, 7, 6, channels), (1, 3, 3, oc), (2, 7, 6, oc),
                        {"padding": 0, "strideH": 1, "strideW": 1, "depthMultiplier": mult,
                         "fusedActivationFunction": 1},
                        zp=zp, w_zp=133 if dtype == np.uint8 else 0)
    _exact(model)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("keep,bias", [(False, True), (True, False)])
def test_fully_connected_hand_built(dtype, keep, bias):
    zp = (128, 0, 110) if dtype == np.uint8 else (-2, 0, 4)
    y_shape = (2, 3, 6) if keep else (6, 6)
    model = _conv_model("FULLY_CONNECTED", dtype, (2, 3, 20), (6, 20), y_shape,
                        {"keepNumDims": keep, "fusedActivationFunction": 3},
                        zp=zp, w_zp=126 if dtype == np.uint8 else 0, bias=bias, n_out=6)
    _exact(model)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_transpose_conv_hand_built(dtype):
    zp = (128, 0, 110) if dtype == np.uint8 else (-2, 0, 4)
    model = _conv_model("TRANSPOSE_CONV", dtype, (1, 4, 5, 3), (9, 3, 3, 3), (1, 8, 10, 9),
                        {"padding": 0, "strideH": 2, "strideW": 2},
                        zp=zp, w_zp=126 if dtype == np.uint8 else 0, n_out=9)
    _exact(model)


def test_batch_matmul_int8_to_int32():
    """int8 x int8 -> int32: LiteRT returns the raw accumulators (zero points not applied)."""
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (2, 3, 5), np.int8, quant=(0.1, 3))
    w = b.tensor("w", (2, 5, 4), np.int8, quant=(0.2, 0))
    y = b.tensor("y", (2, 3, 4), np.int32, quant=(0.02, 0))
    b.op("BATCH_MATMUL", [x, w], [y], options={})
    b.inputs([x, w])
    b.outputs([y])
    _exact(b.finish())


# int16x8 scales putting the requantization right shift at 7 bits: rounding ties are frequent, so each
# candidate rounding gives a different answer on these models (the TFLite converter's scales rarely do).
TIE_SCALES = (0.0003, 0.01, 0.0004)


@pytest.mark.parametrize("bias_dtype", [np.int64, np.int32, None])
def test_fully_connected_int16_rounding(bias_dtype):
    model = _conv_model("FULLY_CONNECTED", np.int16, (64, 40), (9, 40), (64, 9), {}, zp=(0, 0, 0), n_out=9,
                        bias=bias_dtype is not None, bias_dtype=bias_dtype or np.int64, scales=TIE_SCALES)
    _exact(model, seeds=(0, 1, 2, 3))


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"])
def test_conv_int16_rounding(op):
    if op == "CONV_2D":
        args = ((2, 9, 8, 3), (9, 3, 3, 3), (2, 5, 4, 9), {"padding": 0, "strideH": 2, "strideW": 2})
    elif op == "DEPTHWISE_CONV_2D":
        args = ((2, 7, 6, 12), (1, 3, 3, 12), (2, 7, 6, 12),
                {"padding": 0, "strideH": 1, "strideW": 1, "depthMultiplier": 1})
    else:
        args = ((1, 4, 5, 3), (9, 3, 3, 3), (1, 8, 10, 9), {"padding": 0, "strideH": 2, "strideW": 2})
    model = _conv_model(op, np.int16, *args, zp=(0, 0, 0), n_out=9 if op == "TRANSPOSE_CONV" else None,
                        bias_dtype=np.int64, scales=(0.0003, 0.01, 0.0006))
    _exact(model, seeds=(0, 1, 2, 3))


@pytest.mark.parametrize("op", ["CONV_2D", "TRANSPOSE_CONV"])
def test_conv_int16_int32_bias_is_rejected(op):
    """LiteRT accepts an int32 bias with int16 activations here but its output is garbage (saturated)."""
    import edgerun
    from edgerun.errors import DtypeError

    if op == "CONV_2D":
        args = ((1, 4, 4, 3), (5, 1, 1, 3), (1, 4, 4, 5), {"padding": 1, "strideH": 1, "strideW": 1})
    else:
        args = ((1, 4, 5, 3), (5, 3, 3, 3), (1, 8, 10, 5), {"padding": 0, "strideH": 2, "strideW": 2})
    model = _conv_model(op, np.int16, *args, zp=(0, 0, 0), n_out=5, bias_dtype=np.int32)
    with pytest.raises(DtypeError, match="INT64"):
        edgerun.Interpreter(model_content=model).allocate_tensors()


def test_fully_connected_power_of_two_multiplier():
    """in*w/out = 1/4 exactly: every odd accumulator is a rounding tie of the high multiply."""
    model = _conv_model("FULLY_CONNECTED", np.int8, (8, 16), (9, 16), (8, 9), {}, zp=(0, 0, 0),
                        scales=(0.5, 0.5, 1.0), n_out=9)
    _exact(model, seeds=(0, 1, 2))


def test_rounding_modes_are_distinguished():
    """LiteRT 2.3 uses TFLite's double rounding where its kernels call MultiplyByQuantizedMultiplier: our
    default mode matches LiteRT, single rounding (TFLITE_SINGLE_ROUNDING) does not on the same model."""
    import keras
    from edgerun.kernels import lib

    assert lib.er_get_rounding_mode() == 0
    model = _int8(_seq(keras.layers.Conv2DTranspose(5, 3, strides=2, padding="same"), (9, 8, 5)))
    it = litert_interpreter(model)
    inputs = [random_inputs(it.get_input_details(), seed=s) for s in range(3)]
    theirs = [litert_run(model, x)[0] for x in inputs]
    try:
        lib.er_set_rounding_mode(1)
        single = sum(int(np.sum(edgerun_run(model, x)[0] != t)) for x, t in zip(inputs, theirs))
    finally:
        lib.er_set_rounding_mode(0)
    double = sum(int(np.sum(edgerun_run(model, x)[0] != t)) for x, t in zip(inputs, theirs))
    assert double == 0 and single > 0, (double, single)


# ---------------------------------------------------------------------------------------------------
# Hybrid (dynamic-range): float activations, int8 weights quantized by the converter
# ---------------------------------------------------------------------------------------------------
HYBRID_RTOL = 1e-5


def _hybrid(model, seeds=(0, 1)):
    for s in seeds:
        assert_matches_litert(model, rtol=HYBRID_RTOL, seed=s)


@pytest.mark.parametrize("layer,shape,batch", [
    ("Dense(40, activation='relu')", (64,), 3),
    ("Dense(33)", (4, 48), 2),
    ("Conv2D(24, 3, padding='same', activation='relu6')", (8, 7, 8), 2),
    ("Conv2D(17, (3, 2), strides=2, padding='valid', dilation_rate=1)", (9, 9, 12), 2),
    ("DepthwiseConv2D(5, padding='same', depth_multiplier=2)", (7, 8, 32), 2),
    ("Conv2DTranspose(24, 3, strides=2, padding='same')", (5, 6, 16), 2),
], ids=lambda v: v if isinstance(v, str) else str(v))
def test_hybrid_from_converter(layer, shape, batch):
    import keras  # noqa: F401 - eval below

    model = tf_convert(_seq(eval("keras.layers." + layer), shape, batch=batch), quantize="dynamic")
    from edgerun.runtime.model import Model

    m = Model(model)
    ops = m.subgraphs[0].ops
    assert any(m.subgraphs[0].tensors[op.inputs[1]].type == 9 for op in ops), _ops(model)
    _hybrid(model)


def _hybrid_model(op, x_shape, w_shape, y_shape, options, *, per_channel, bias=True, seed=0):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(seed)
    b = ModelBuilder()
    n_out = w_shape[3] if op == "DEPTHWISE_CONV_2D" else w_shape[0]
    axis = 3 if op == "DEPTHWISE_CONV_2D" else 0
    if per_channel:
        wq = (rng.uniform(0.002, 0.02, n_out).astype(np.float32), np.zeros(n_out, np.int64), axis)
    else:
        wq = (0.01, 0)
    x = b.tensor("x", x_shape, np.float32)
    w = b.const("w", rng.integers(-127, 128, w_shape).astype(np.int8), quant=wq)
    bb = b.const("b", rng.standard_normal(n_out).astype(np.float32)) if bias else -1
    y = b.tensor("y", y_shape, np.float32)
    b.op(op, [x, w, bb], [y], options=options, version=2)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("asym", [False, True])
def test_hybrid_fully_connected_options(per_channel, asym):
    model = _hybrid_model("FULLY_CONNECTED", (5, 70), (12, 70), (5, 12),
                          {"asymmetricQuantizeInputs": asym, "fusedActivationFunction": 1},
                          per_channel=per_channel)
    _hybrid(model)


@pytest.mark.parametrize("per_channel", [False, True])
def test_hybrid_conv2d_hand_built(per_channel):
    model = _hybrid_model("CONV_2D", (2, 9, 8, 4), (6, 3, 3, 4), (2, 5, 4, 6),
                          {"padding": 0, "strideH": 2, "strideW": 2, "fusedActivationFunction": 3},
                          per_channel=per_channel)
    _hybrid(model)


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_hybrid_transpose_conv_hand_built(per_channel, bias):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor("x", (2, 4, 5, 6), np.float32)
    shape = b.const("shape", np.array([2, 8, 10, 9], np.int32))
    scales = rng.uniform(0.002, 0.02, 9).astype(np.float32)
    wq = (scales, np.zeros(9, np.int64), 0) if per_channel else (0.01, 0)
    w = b.const("w", rng.integers(-127, 128, (9, 3, 3, 6)).astype(np.int8), quant=wq)
    ins = [shape, w, x] + ([b.const("b", rng.standard_normal(9).astype(np.float32))] if bias else [])
    y = b.tensor("y", (2, 8, 10, 9), np.float32)
    b.op("TRANSPOSE_CONV", ins, [y], options={"padding": 0, "strideH": 2, "strideW": 2,
                                              "fusedActivationFunction": 1}, version=4)
    b.inputs([x])
    b.outputs([y])
    _hybrid(b.finish())


def test_hybrid_depthwise_per_tensor_is_rejected():
    """LiteRT reads one weight scale per channel (its output is garbage with a per-tensor scale)."""
    import edgerun
    from edgerun.errors import UnsupportedOpError

    model = _hybrid_model("DEPTHWISE_CONV_2D", (2, 7, 6, 4), (1, 3, 3, 8), (2, 7, 6, 8),
                          {"padding": 0, "strideH": 1, "strideW": 1, "depthMultiplier": 2}, per_channel=False)
    with pytest.raises(UnsupportedOpError, match="per-channel"):
        edgerun.Interpreter(model_content=model).allocate_tensors()


@pytest.mark.parametrize("adj_y", [False, True])
def test_hybrid_batch_matmul_per_channel(adj_y):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.tensor("x", (2, 3, 50), np.float32)
    wshape = (7, 50) if adj_y else (50, 7)
    w = b.const("w", rng.integers(-127, 128, wshape).astype(np.int8),
                quant=(rng.uniform(0.01, 0.02, 7).astype(np.float32), np.zeros(7, np.int64),
                       0 if adj_y else 1))
    y = b.tensor("y", (2, 3, 7), np.float32)
    b.op("BATCH_MATMUL", [x, w], [y], options={"adjY": adj_y, "asymmetricQuantizeInputs": True})
    b.inputs([x])
    b.outputs([y])
    _hybrid(b.finish())


def test_hybrid_batch_matmul():
    import tensorflow as tf

    w = np.random.default_rng(0).standard_normal((64, 40)).astype(np.float32)
    model = tf_convert_function(lambda a: tf.linalg.matmul(a, tf.constant(w)),
                                [tf.TensorSpec((2, 3, 64), tf.float32)], quantize="dynamic",
                                key="hbmm-2x3x64-64x40")
    from edgerun.runtime.model import Model

    m = Model(model)
    assert any(m.subgraphs[0].tensors[op.inputs[1]].type == 9 for op in m.subgraphs[0].ops), _ops(model)
    _hybrid(model)


@pytest.mark.parametrize("asym,adj_y", [(False, False), (True, False), (True, True)])
def test_hybrid_batch_matmul_hand_built(asym, adj_y):
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.tensor("x", (2, 3, 50), np.float32)
    wshape = (2, 7, 50) if adj_y else (2, 50, 7)
    w = b.const("w", rng.integers(-127, 128, wshape).astype(np.int8), quant=(0.013, 0))
    y = b.tensor("y", (2, 3, 7), np.float32)
    b.op("BATCH_MATMUL", [x, w], [y], options={"adjY": adj_y, "asymmetricQuantizeInputs": asym})
    b.inputs([x])
    b.outputs([y])
    _hybrid(b.finish())


# ---------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------
def test_int16_nonzero_zero_point_is_rejected():
    import edgerun
    from edgerun.errors import UnsupportedOpError

    model = _conv_model("FULLY_CONNECTED", np.int16, (2, 8), (3, 8), (2, 3), {}, zp=(5, 0, 0), n_out=3,
                        bias_dtype=np.int64)
    with pytest.raises(UnsupportedOpError, match="zero point"):
        edgerun.Interpreter(model_content=model).allocate_tensors()

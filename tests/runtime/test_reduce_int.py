"""Integer (int8, uint8, int16) pooling, reductions, softmax, log softmax, L2 normalization and arg max/min,
bit for bit against LiteRT's builtin kernels, over the full integer range of the inputs.

int8 and int16x8 models come from TensorFlow's converter (Keras layers and tf.functions); uint8 models, odd
quantization parameters, every fused activation and the paths the converter does not reach (e.g. MEAN's
4-D/keep_dims vector path, REDUCE_PROD, int8 -> int16 softmax) are hand-built flatbuffers. LiteRT's x86 build
is the oracle; the requantizing kernels follow its default double rounding (er_rounding_mode 0)."""
import numpy as np
import pytest

from oracle import assert_matches_litert, litert_run, random_inputs, tf_convert, tf_convert_function

U8, I8, I16 = np.uint8, np.int8, np.int16


def _rng(*key):
    return np.random.default_rng([ord(c) for c in repr(key)])


def _qparams(rng, dt, small=False):
    """Random (scale, zero point) for dtype dt (int16: zero point 0, as TFLite requires)."""
    if dt == I16:
        return float(rng.uniform(1e-4, 1e-3)), 0
    lo = 0 if dt == U8 else -128
    return float(rng.uniform(0.002, 0.02) if small else rng.uniform(0.005, 0.05)), int(rng.integers(lo, lo + 256))


def _model(op, x_shape, dt, xq, y_shape, ydt, yq, options=None, axes=None):
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", x_shape, dt, quant=xq)
    ins = [x] if axes is None else [x, b.const("axes", np.asarray(axes, np.int32))]
    y = b.tensor("y", y_shape, ydt, quant=yq)
    b.op(op, ins, [y], options)
    b.inputs([x])
    b.outputs([y])
    return b.finish()


def _check(model, seeds=(0, 1)):
    for seed in seeds:
        assert_matches_litert(model, exact=True, seed=seed)


def _fn(fn, shapes, key, quantize="int8", spread=1.0):
    """A tf.function converted by TF with integer I/O; calibration data uniform in [-spread, spread]."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    rep = [[rng.uniform(-spread, spread, s).astype(np.float32) for s in shapes] for _ in range(16)]
    return tf_convert_function(fn, [tf.TensorSpec(s, tf.float32) for s in shapes], quantize=quantize,
                               representative=rep, key=f"{key}-spread{spread}",
                               inference_input_type=tf.int8 if quantize == "int8" else tf.int16,
                               inference_output_type=tf.int8 if quantize == "int8" else tf.int16)


def _ops(model):
    """The builtin op names of subgraph 0, in order."""
    from edgerun.schema import schema_generated as fb

    m = fb.ModelT.InitFromPackedBuf(model, 0)
    names = {v: k for k, v in fb.BuiltinOperator.__dict__.items() if not k.startswith("_")}
    return [names[max(m.operatorCodes[o.opcodeIndex].builtinCode,
                      m.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode)] for o in m.subgraphs[0].operators]


# -- pooling --------------------------------------------------------------------------------------------

POOLS = [dict(pool_size=2, strides=2, padding="valid"), dict(pool_size=3, strides=2, padding="same"),
         dict(pool_size=(3, 2), strides=(1, 3), padding="same")]


@pytest.mark.parametrize("quantize", ["int8", "int16x8"])
@pytest.mark.parametrize("kw", POOLS, ids=str)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_converter(kind, kw, quantize):
    import keras

    layer = keras.layers.MaxPooling2D(**kw) if kind == "max" else keras.layers.AveragePooling2D(**kw)
    m = keras.Sequential([keras.Input((9, 7, 19), batch_size=2), layer])
    io = I8 if quantize == "int8" else I16
    model = tf_convert(m, quantize=quantize, input_type=io, output_type=io)
    assert _ops(model) == ["MAX_POOL_2D" if kind == "max" else "AVERAGE_POOL_2D"]
    _check(model)


@pytest.mark.parametrize("dt", [I8, U8, I16], ids=lambda d: d.__name__)
@pytest.mark.parametrize("kind", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
def test_pool2d_hand_built(kind, dt):
    """Every fused activation, both paddings, windows clipped at the edges (counts 1..9), many channels."""
    from edgerun.runtime.ops.conv import out_size

    rng = _rng("pool", kind, dt.__name__)
    for i in range(8):
        pad, act = i % 2, (i // 2) % 4
        fh, fw = [(2, 2), (3, 3), (1, 4), (3, 2)][i % 4]
        sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 4))
        c = [3, 16, 37, 260][i % 4]
        oh, ow = out_size(pad, 7, fh, sh), out_size(pad, 9, fw, sw)
        q = _qparams(rng, dt)
        model = _model(kind, (2, 7, 9, c), dt, q, (2, oh, ow, c), dt, q,
                       {"padding": pad, "strideH": sh, "strideW": sw, "filterHeight": fh, "filterWidth": fw,
                        "fusedActivationFunction": act})
        assert_matches_litert(model, exact=True, seed=i)


def test_avg_pool_rounds_half_away_from_zero():
    """Window sums of -2 and 2 over 4 elements give -1 and 1 (TFLite's (acc -+ n/2) / n)."""
    model = _model("AVERAGE_POOL_2D", (1, 2, 2, 4), I8, (0.1, 0), (1, 1, 1, 4), I8, (0.1, 0),
                   {"padding": 1, "strideH": 2, "strideW": 2, "filterHeight": 2, "filterWidth": 2})
    x = np.array([[-1, 1, -2, 2], [-1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, -1]], np.int8).reshape(1, 2, 2, 4)
    ours, theirs = assert_matches_litert(model, [x], exact=True)
    assert ours[0].reshape(-1).tolist() == [-1, 1, 0, 0]


def test_l2_pool_integer_is_unsupported_as_in_litert():
    import edgerun
    from edgerun.errors import UnsupportedOpError

    model = _model("L2_POOL_2D", (1, 4, 4, 2), I8, (0.1, 0), (1, 2, 2, 2), I8, (0.1, 0),
                   {"padding": 1, "strideH": 2, "strideW": 2, "filterHeight": 2, "filterWidth": 2})
    with pytest.raises(Exception):
        litert_run(model, [np.zeros((1, 4, 4, 2), np.int8)])
    with pytest.raises(UnsupportedOpError, match="L2_POOL_2D"):
        edgerun.Interpreter(model_content=model).allocate_tensors()


# -- reductions -----------------------------------------------------------------------------------------

REDUCERS = {"mean": "reduce_mean", "sum": "reduce_sum", "max": "reduce_max", "min": "reduce_min"}


@pytest.mark.parametrize("quantize", ["int8", "int16x8"])
@pytest.mark.parametrize("axes,keepdims", [((1, 2), True), ((1, 2), False), ((-1,), False), ((0, 3), True)],
                         ids=str)
@pytest.mark.parametrize("name", sorted(REDUCERS))
def test_reduce_converter(name, axes, keepdims, quantize):
    import tensorflow as tf

    fn = getattr(tf.math, REDUCERS[name])
    model = _fn(lambda x: fn(x, axis=list(axes), keepdims=keepdims), [(2, 6, 5, 20)],
                f"qreduce-{name}-{axes}-{keepdims}", quantize, spread=3.0)
    _check(model)


@pytest.mark.parametrize("quantize", ["int8", "int16x8"])
def test_global_average_pooling_converter(quantize):
    import keras

    m = keras.Sequential([keras.Input((6, 7, 40), batch_size=2), keras.layers.GlobalAveragePooling2D()])
    io = I8 if quantize == "int8" else I16
    _check(tf_convert(m, quantize=quantize, input_type=io, output_type=io))


@pytest.mark.parametrize("dt", [I8, U8, I16], ids=lambda d: d.__name__)
@pytest.mark.parametrize("op", ["MEAN", "SUM"])
def test_mean_sum_hand_built(op, dt):
    """Random axes and quantization (input and output scales and zero points differ)."""
    rng = _rng("meansum", op, dt.__name__)
    for i, shape in enumerate([(2, 5, 6, 7), (3, 4, 5), (4, 33), (2, 3, 4, 5, 3)] * 3):
        r = len(shape)
        axes = sorted(rng.choice(r, size=int(rng.integers(1, r + 1)), replace=False).tolist())
        keep = bool(i % 2)
        out = [1 if d in axes else s for d, s in enumerate(shape)] if keep else \
            [s for d, s in enumerate(shape) if d not in axes]
        xq, yq = _qparams(rng, dt), _qparams(rng, dt)
        if op == "SUM":
            yq = (yq[0] * 10, yq[1])
        _check(_model(op, shape, dt, xq, out, dt, yq, {"keepDims": keep}, axes=axes), seeds=(i,))


@pytest.mark.parametrize("dt", [I8, U8], ids=lambda d: d.__name__)
@pytest.mark.parametrize("axes", [[1, 2], [2, 1], [-3, -2]], ids=str)
@pytest.mark.parametrize("depth", [5, 16, 37])
def test_mean_4d_keepdims_path(axes, depth, dt):
    """LiteRT's 4-D MEAN over height and width with keep_dims: channels in its 16-wide vector loop round the
    final shift half up, the remaining channels half away from zero (int8 negative sums tell them apart)."""
    rng = _rng("mean4d", str(axes), depth, dt.__name__)
    for i in range(6):
        xq, yq = _qparams(rng, dt), _qparams(rng, dt, small=True)
        _check(_model("MEAN", (2, 9, 11, depth), dt, xq, (2, 1, 1, depth), dt, yq, {"keepDims": True},
                      axes=axes), seeds=(i,))


def test_mean_4d_power_of_two_scales_ties():
    """Power-of-two scales make exact ties common: the vector channels' half-up rounding is visible."""
    for i, (h, w) in enumerate([(2, 2), (1, 2), (2, 4), (4, 4)]):
        for k in range(3):
            xq, yq = (2.0 ** -(3 + k), 5 - 40 * k), (2.0 ** -(4 + k), -7 + 30 * k)
            _check(_model("MEAN", (2, h, w, 35), I8, xq, (2, 1, 1, 35), I8, yq, {"keepDims": True},
                          axes=[1, 2]), seeds=(i * 3 + k,))


@pytest.mark.parametrize("dt", [I8, U8, I16], ids=lambda d: d.__name__)
@pytest.mark.parametrize("op", ["REDUCE_MAX", "REDUCE_MIN"])
def test_reduce_max_min_hand_built(op, dt):
    rng = _rng("maxmin", op, dt.__name__)
    for i, axes in enumerate([[1], [0, 2], [2], [0, 1, 2]]):
        q = _qparams(rng, dt)
        out = [s for d, s in enumerate((3, 4, 5)) if d not in axes]
        _check(_model(op, (3, 4, 5), dt, q, out, dt, q, {"keepDims": False}, axes=axes), seeds=(i,))


@pytest.mark.parametrize("dt", [I8, I16], ids=lambda d: d.__name__)
def test_reduce_prod_hand_built(dt):
    rng = _rng("prod", dt.__name__)
    for i, axes in enumerate([[1], [0, 2], [2], [1, 2]]):
        xq, yq = _qparams(rng, dt), _qparams(rng, dt)
        if dt == I8:
            xq = (float(rng.uniform(0.005, 0.02)), xq[1])
        out = [s for d, s in enumerate((3, 4, 5)) if d not in axes]
        _check(_model("REDUCE_PROD", (3, 4, 5), dt, xq, out, dt, yq, {"keepDims": False}, axes=axes), seeds=(i,))


@pytest.mark.parametrize("dt", [I8, I16], ids=lambda d: d.__name__)
def test_reduce_prod_over_size_one_axes_copies(dt):
    """LiteRT's optimized REDUCE_PROD drops size-1 axes; with none left it copies the input unrescaled."""
    rng = _rng("prod1", dt.__name__)
    for i, (shape, axes, out) in enumerate([((3, 1, 4), [1], (3, 4)), ((1,), [0], ()), ((2, 1, 3), [1, 2], (2,))]):
        xq, yq = _qparams(rng, dt), _qparams(rng, dt)
        _check(_model("REDUCE_PROD", shape, dt, xq, out, dt, yq, {"keepDims": False}, axes=axes), seeds=(i,))


@pytest.mark.parametrize("op", ["MEAN", "SUM", "REDUCE_PROD", "REDUCE_MAX", "REDUCE_MIN"])
def test_reduce_negative_and_repeated_axes(op):
    rng = _rng("axes", op)
    for i, (axes, out) in enumerate([([-1, 2, -1], (2, 3)), ([0, -4, 3], (3, 4)), ([-2, 1], (2, 5))]):
        xq = _qparams(rng, I8)
        yq = xq if op in ("REDUCE_MAX", "REDUCE_MIN") else _qparams(rng, I8)
        _check(_model(op, (2, 3, 4, 5), I8, xq, out, I8, yq, {"keepDims": False}, axes=axes), seeds=(i,))


def test_random_sweep():
    """Random ranks, shapes, axes and scales from 1e-4 to 10 for every integer reduction and pool."""
    from edgerun.runtime.ops.conv import out_size

    rng = np.random.default_rng(2024)
    for trial in range(150):
        dt = (I8, U8, I16)[trial % 3]
        op = ("MEAN", "SUM", "REDUCE_PROD", "REDUCE_MAX", "MAX_POOL_2D", "AVERAGE_POOL_2D")[(trial // 3) % 6]
        if op == "REDUCE_PROD" and dt == U8:
            continue

        def q():
            sc = float(10 ** rng.uniform(-4, 1))
            return (sc, 0) if dt == I16 else (sc, int(rng.integers(0, 256)) - (128 if dt == I8 else 0))

        if op.endswith("POOL_2D"):
            h, w, c = (int(v) for v in rng.integers(1, 10, 3))
            fh, fw = (int(v) for v in rng.integers(1, 5, 2))
            sh, sw = (int(v) for v in rng.integers(1, 4, 2))
            pad = int(rng.integers(0, 2)) if fh <= h and fw <= w else 0
            qq = q()
            model = _model(op, (2, h, w, c), dt, qq, (2, out_size(pad, h, fh, sh), out_size(pad, w, fw, sw), c), dt,
                           qq, {"padding": pad, "strideH": sh, "strideW": sw, "filterHeight": fh, "filterWidth": fw,
                                "fusedActivationFunction": int(rng.integers(0, 4))})
        else:
            r = int(rng.integers(1, 6))
            shape = tuple(int(v) for v in rng.integers(1, 8, r))
            axes = rng.choice(np.arange(-r, r), size=int(rng.integers(1, r + 2))).tolist()
            red = {a % r for a in axes}
            keep = bool(rng.integers(0, 2))
            out = [1 if d in red else n for d, n in enumerate(shape)] if keep else \
                [n for d, n in enumerate(shape) if d not in red]
            xq = q()
            model = _model(op, shape, dt, xq, out, dt, xq if op == "REDUCE_MAX" else q(), {"keepDims": keep},
                           axes=axes)
        assert_matches_litert(model, exact=True, seed=trial)


@pytest.mark.parametrize("dt", [I8, U8, I16], ids=lambda d: d.__name__)
@pytest.mark.parametrize("op", ["REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"])
def test_reduce_unquantized_integers(op, dt):
    """Plain (unquantized) int8/uint8/int16 tensors: max, min and the product wrapped to the element type."""
    for i, (axes, out) in enumerate([([1], (3, 5)), ([0, 2], (4,)), ([0, 1, 2], ())]):
        _check(_model(op, (3, 4, 5), dt, None, out, dt, None, {"keepDims": False}, axes=axes), seeds=(i,))


@pytest.mark.parametrize("case", ["MEAN", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD-raw", "REDUCE_MAX-raw"])
def test_reduce_over_empty_input(case):
    """LiteRT writes 0 for an empty MEAN and the type's lowest/highest for an empty MAX/MIN (1 for a product)."""
    op, raw = case.split("-")[0], case.endswith("raw")
    for dt in (I8, U8, I16):
        q = None if raw else (0.1, 0)
        model = _model(op, (3, 0), dt, q, (3,), dt, q, {"keepDims": False}, axes=[1])
        assert_matches_litert(model, [np.zeros((3, 0), dt)], exact=True)


def test_mean_sum_unquantized_integers_are_unsupported():
    import edgerun
    from edgerun.errors import UnsupportedOpError

    for op in ("MEAN", "SUM"):
        model = _model(op, (3, 4), I8, None, (3,), I8, None, {"keepDims": False}, axes=[1])
        with pytest.raises(UnsupportedOpError, match="quantization"):
            edgerun.Interpreter(model_content=model).allocate_tensors()


def test_reduce_prod_uint8_is_unsupported_as_in_litert():
    import edgerun
    from edgerun.errors import UnsupportedOpError

    model = _model("REDUCE_PROD", (3, 4), U8, (0.1, 3), (3,), U8, (0.1, 3), {"keepDims": False}, axes=[1])
    with pytest.raises(Exception):
        litert_run(model, [np.zeros((3, 4), np.uint8)])
    with pytest.raises(UnsupportedOpError, match="REDUCE_PROD"):
        edgerun.Interpreter(model_content=model).allocate_tensors()


# -- softmax, log softmax, L2 normalization -------------------------------------------------------------

@pytest.mark.parametrize("quantize", ["int8", "int16x8"])
@pytest.mark.parametrize("shape", [(3, 2, 21), (5, 3)], ids=str)
def test_softmax_converter(shape, quantize):
    import tensorflow as tf

    model = _fn(lambda x: tf.nn.softmax(x), [shape], f"qsoftmax-{shape}", quantize, spread=6.0)
    assert "SOFTMAX" in _ops(model)
    _check(model)


def test_log_softmax_and_l2_normalization_converter():
    import tensorflow as tf

    _check(_fn(lambda x: tf.nn.log_softmax(x), [(4, 17)], "qlogsoftmax", spread=5.0))
    _check(_fn(lambda x: tf.math.l2_normalize(x, axis=-1), [(2, 3, 16)], "ql2norm"))


SOFTMAX_TYPES = [(I8, I8), (U8, U8), (I8, I16), (U8, I16), (I16, I16)]


@pytest.mark.parametrize("types", SOFTMAX_TYPES, ids=lambda t: f"{t[0].__name__}-{t[1].__name__}")
def test_softmax_hand_built(types):
    """beta option, rows of 1..40 classes; uint8 outputs with a non-zero zero point (TFLite's uint8 path
    ignores it)."""
    dt, odt = types
    rng = _rng("softmax", dt.__name__, odt.__name__)
    for i, (beta, shape) in enumerate([(1.0, (3, 10)), (0.37, (2, 3, 33)), (2.5, (4, 1)), (0.05, (2, 40))]):
        xq = _qparams(rng, dt)
        yq = {I8: (1 / 256, -128), I16: (1 / 32768, 0)}.get(odt, (float(rng.uniform(0.003, 0.005)), i * 5))
        _check(_model("SOFTMAX", shape, dt, xq, shape, odt, yq, {"beta": beta}), seeds=(i,))


@pytest.mark.parametrize("dt", [I8, U8], ids=lambda d: d.__name__)
def test_log_softmax_and_l2_normalization_hand_built(dt):
    rng = _rng("logsm-l2", dt.__name__)
    for i, shape in enumerate([(3, 10), (2, 3, 33), (4, 1)]):
        xq = _qparams(rng, dt)
        _check(_model("LOG_SOFTMAX", shape, dt, xq, shape, dt, (16 / 256, 127 if dt == I8 else 255)), seeds=(i,))
        _check(_model("L2_NORMALIZATION", shape, dt, xq, shape, dt, (1 / 128, 0 if dt == I8 else 128)),
               seeds=(i,))


def test_l2_normalization_all_zero_row():
    """A row equal to the zero point: the inverse square root of 0 is taken as 1/sqrt(1), as TFLite."""
    model = _model("L2_NORMALIZATION", (2, 8), I8, (0.1, 3), (2, 8), I8, (1 / 128, 0))
    x = np.full((2, 8), 3, np.int8)
    x[1, 2] = 4
    assert_matches_litert(model, [x], exact=True)


@pytest.mark.parametrize("case", ["log_softmax_scale", "l2norm_zero_point", "softmax_int8_zero_point"])
def test_quantization_that_litert_rejects(case):
    import edgerun
    from edgerun.errors import UnsupportedOpError

    model = {
        "log_softmax_scale": lambda: _model("LOG_SOFTMAX", (2, 5), I8, (0.1, 0), (2, 5), I8, (0.1, 127)),
        "l2norm_zero_point": lambda: _model("L2_NORMALIZATION", (2, 5), U8, (0.1, 9), (2, 5), U8, (1 / 128, 0)),
        "softmax_int8_zero_point": lambda: _model("SOFTMAX", (2, 5), I8, (0.1, 0), (2, 5), I8, (1 / 256, 0)),
    }[case]()
    with pytest.raises(Exception):
        litert_run(model, random_inputs([dict(shape=(2, 5), dtype=I8 if "l2" not in case else U8)]))
    with pytest.raises(UnsupportedOpError):
        edgerun.Interpreter(model_content=model).allocate_tensors()


# -- arg max / arg min ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["argmax", "argmin"])
def test_arg_max_min_int8_converter(fn):
    import tensorflow as tf

    model = _fn(lambda x: getattr(tf.math, fn)(x, axis=-1, output_type=tf.int32), [(3, 5, 12)], f"q{fn}")
    assert fn.upper().replace("ARG", "ARG_") in _ops(model)
    x = np.random.default_rng(7).integers(-3, 3, (3, 5, 12)).astype(np.int8)  # ties: first index wins
    assert_matches_litert(model, [x], exact=True)
    _check(model)


@pytest.mark.parametrize("dt", [I8, U8], ids=lambda d: d.__name__)  # LiteRT has no int16 ARG_MAX/ARG_MIN
@pytest.mark.parametrize("op", ["ARG_MAX", "ARG_MIN"])
def test_arg_max_min_integer_hand_built(op, dt):
    from edgerun.schema.builder import ModelBuilder

    for axis in (0, 1, -1):
        b = ModelBuilder()
        x = b.tensor("x", (3, 5, 4), dt, quant=(0.1, 0))
        y = b.tensor("y", [s for d, s in enumerate((3, 5, 4)) if d != axis % 3], np.int64)
        b.op(op, [x, b.const("axis", np.array([axis], np.int32))], [y], {"outputType": 4})
        b.inputs([x])
        b.outputs([y])
        _check(b.finish())

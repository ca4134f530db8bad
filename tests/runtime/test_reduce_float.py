"""Float pooling, reductions, softmax, L2 normalization and arg max/min against LiteRT, on models from
TensorFlow's converter (Keras layers and tf.functions) and hand-built flatbuffers for options Keras cannot
reach. Float tolerance 1e-3 of the output scale; integer and bool outputs exact."""
import numpy as np
import pytest

from oracle import assert_matches_litert, tf_convert, tf_convert_function


def _fn(fn, shapes, key, dtype=None):
    import tensorflow as tf

    return tf_convert_function(fn, [tf.TensorSpec(s, dtype or tf.float32) for s in shapes], key=key)


POOLS = [
    dict(pool_size=2, strides=2, padding="valid"),
    dict(pool_size=3, strides=2, padding="same"),
    dict(pool_size=(3, 2), strides=(1, 3), padding="same"),
    dict(pool_size=(2, 3), strides=(2, 1), padding="valid"),
]


@pytest.mark.parametrize("kw", POOLS, ids=str)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d(kind, kw):
    import keras

    layer = keras.layers.MaxPooling2D(**kw) if kind == "max" else keras.layers.AveragePooling2D(**kw)
    m = keras.Sequential([keras.Input((9, 7, 3), batch_size=2), layer])
    assert_matches_litert(tf_convert(m))


@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("kind", ["MAX_POOL_2D", "AVERAGE_POOL_2D", "L2_POOL_2D"])
def test_pool2d_fused_activation_hand_built(kind, padding):
    from edgerun.runtime.ops.conv import out_size
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (1, 8, 7, 3), np.float32)
    oh, ow = out_size(padding, 8, 3, 2), out_size(padding, 7, 2, 3)
    y = b.tensor("y", (1, oh, ow, 3), np.float32)
    b.op(kind, [x], [y], {"padding": padding, "strideH": 2, "strideW": 3, "filterHeight": 3, "filterWidth": 2,
                          "fusedActivationFunction": 2})  # RELU_N1_TO_1
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish(), [np.random.default_rng(0).uniform(-2, 2, (1, 8, 7, 3)).astype(np.float32)])


REDUCERS = {
    "mean": "reduce_mean", "sum": "reduce_sum", "max": "reduce_max", "min": "reduce_min", "prod": "reduce_prod",
}
AXES = [(1,), (-1,), (0, 2), (1, 2), (0, 1, 2, 3)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axes", AXES, ids=str)
@pytest.mark.parametrize("name", sorted(REDUCERS))
def test_reduce(name, axes, keepdims):
    import tensorflow as tf

    fn = getattr(tf.math, REDUCERS[name])
    model = _fn(lambda x: fn(x, axis=list(axes), keepdims=keepdims), [(2, 3, 4, 5)],
                f"reduce-{name}-{axes}-{keepdims}")
    x = np.random.default_rng(1).uniform(0.5, 1.5, (2, 3, 4, 5)).astype(np.float32)
    assert_matches_litert(model, [x])


@pytest.mark.parametrize("name", ["sum", "max", "min", "prod", "mean"])
def test_reduce_int32(name):
    import tensorflow as tf

    fn = getattr(tf.math, REDUCERS[name])
    model = _fn(lambda x: fn(x, axis=[0, 2]), [(3, 4, 5)], f"reduce-i32-{name}", tf.int32)
    x = np.random.default_rng(2).integers(-5, 6, (3, 4, 5)).astype(np.int32)
    assert_matches_litert(model, [x], exact=True)


@pytest.mark.parametrize("name", ["reduce_any", "reduce_all"])
def test_reduce_bool(name):
    import tensorflow as tf

    fn = getattr(tf.math, name)
    model = _fn(lambda x: fn(x, axis=[1]), [(3, 4, 5)], f"reduce-b8-{name}", tf.bool)
    x = np.random.default_rng(3).random((3, 4, 5)) < 0.3
    assert_matches_litert(model, [x], exact=True)


@pytest.mark.parametrize("beta", [1.0, 0.5])
@pytest.mark.parametrize("shape", [(2, 10), (2, 3, 7)])
def test_softmax(shape, beta):
    import tensorflow as tf

    model = _fn(lambda x: tf.nn.softmax(x * beta), [shape], f"softmax-{shape}-{beta}")
    assert_matches_litert(model, [np.random.default_rng(4).normal(0, 3, shape).astype(np.float32)])


def test_softmax_beta_hand_built():
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (3, 6), np.float32)
    y = b.tensor("y", (3, 6), np.float32)
    b.op("SOFTMAX", [x], [y], {"beta": 0.37})
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish(), [np.random.default_rng(5).normal(0, 4, (3, 6)).astype(np.float32)])


def test_log_softmax():
    import tensorflow as tf

    model = _fn(lambda x: tf.nn.log_softmax(x), [(4, 9)], "log-softmax")
    assert_matches_litert(model, [np.random.default_rng(6).normal(0, 3, (4, 9)).astype(np.float32)])


def test_l2_normalization():
    import tensorflow as tf

    model = _fn(lambda x: tf.math.l2_normalize(x, axis=-1), [(2, 3, 8)], "l2norm")
    assert_matches_litert(model)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("fn", ["argmax", "argmin"])
@pytest.mark.parametrize("out", ["int32", "int64"])
def test_arg_max_min(fn, axis, out):
    import tensorflow as tf

    model = _fn(lambda x: getattr(tf.math, fn)(x, axis=axis, output_type=getattr(tf, out)), [(3, 5, 4)],
                f"{fn}-{axis}-{out}")
    x = np.random.default_rng(7).integers(0, 4, (3, 5, 4)).astype(np.float32)  # ties: first index wins
    assert_matches_litert(model, [x], exact=True)


def test_global_average_pooling_and_dense_head():
    import keras

    m = keras.Sequential([keras.Input((6, 6, 4)), keras.layers.GlobalAveragePooling2D(),
                          keras.layers.Dense(5, activation="softmax")])
    assert_matches_litert(tf_convert(m))


@pytest.mark.parametrize("shape", [(3, 1001), (4, 1), (2, 13)])
def test_softmax_wide_rows_inf_and_huge_inputs(shape):
    """Rows of 1001 / 1 / 13 (the AVX2/NEON vector kernels' tails), -inf and +-1e30 elements, a row of 1e30s:
    within 1e-5 of LiteRT's largest output and 1e-5 relative on every probability above 1e-6."""
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", shape, np.float32)
    y = b.tensor("y", shape, np.float32)
    b.op("SOFTMAX", [x], [y], {"beta": 1.0})
    b.inputs([x])
    b.outputs([y])
    rng = np.random.default_rng(6)
    v = rng.normal(0, 30, shape).astype(np.float32)
    v[rng.random(shape) < 0.1] = -np.inf
    v[rng.random(shape) < 0.02] = -1e30
    v[-1, rng.random(shape[1]) < 0.5] = 1e30
    ours, theirs = assert_matches_litert(b.finish(), [v], rtol=1e-5)
    big = theirs[0] > 1e-6
    np.testing.assert_allclose(ours[0][big], theirs[0][big], rtol=1e-5)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("shape,axes", [((2, 5, 3, 13), (1, 2)), ((7, 1, 9), (0,)), ((1, 4, 4, 4), (1, 2))], ids=str)
def test_reduce_contiguous_channels_in_input_order(name, shape, axes):
    """Reductions leaving the channels contiguous (kernels/ref/reduce.c's row loop, channels 13/9/4): each output
    sums in input order, so bit-exact with float32 adds over the reduced positions in row-major order; and
    within tolerance of LiteRT."""
    import tensorflow as tf

    fn = getattr(tf.math, REDUCERS[name])
    model = _fn(lambda x: fn(x, axis=list(axes)), [shape], f"reduce-rows-{name}-{shape}-{axes}")
    x = np.random.default_rng(8).uniform(0.5, 1.5, shape).astype(np.float32)
    x.flat[::11] = np.random.default_rng(9).normal(0, 1e4, x.flat[::11].shape)
    ours, _ = assert_matches_litert(model, [x])
    kept = [a for a in range(len(shape)) if a not in axes]
    xt = np.transpose(x, list(axes) + kept).reshape(-1, *[shape[a] for a in kept])
    step = {"sum": np.add, "mean": np.add, "prod": np.multiply,
            "max": lambda a, v: np.where(v > a, v, a), "min": lambda a, v: np.where(v < a, v, a)}[name]
    acc = xt[0].copy()
    for v in xt[1:]:
        acc = step(acc, v).astype(np.float32)
    if name == "mean":
        acc = (acc / np.float32(len(xt))).astype(np.float32)
    np.testing.assert_array_equal(ours[0], acc)

"""Float and int32 elementwise ops against LiteRT on models from TensorFlow's converter: broadcasting,
fused activations, unary math and activations, comparisons, logic, CAST, SELECT. Float tolerance 1e-3 of the
output scale; integer and bool outputs exact."""
import numpy as np
import pytest

from oracle import assert_matches_litert, tf_convert_function

SHAPES = [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (1, 3, 1)), ((1,), (2, 5)), ((3, 1, 2, 1, 5), (4, 1, 1, 1))]


def _fn_model(fn, shapes, dtype, key):
    import tensorflow as tf

    return tf_convert_function(fn, [tf.TensorSpec(s, dtype) for s in shapes], key=key)


BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "maximum": lambda a, b: __import__("tensorflow").maximum(a, b),
    "minimum": lambda a, b: __import__("tensorflow").minimum(a, b),
    "sqdiff": lambda a, b: __import__("tensorflow").math.squared_difference(a, b),
    "pow": lambda a, b: __import__("tensorflow").pow(__import__("tensorflow").abs(a) + 0.5, b),
    "floordiv": lambda a, b: __import__("tensorflow").math.floordiv(a, b),
    "floormod": lambda a, b: __import__("tensorflow").math.floormod(a, b),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_float(name, shapes):
    import tensorflow as tf

    model = _fn_model(BINARY[name], shapes, tf.float32, f"bin-{name}-{shapes}")
    rng = np.random.default_rng(0)
    xs = [rng.uniform(-2, 2, s).astype(np.float32) for s in shapes]
    if name in ("div", "floordiv", "floormod"):
        xs[1] = np.where(np.abs(xs[1]) < 0.1, 0.5, xs[1]).astype(np.float32)
    assert_matches_litert(model, xs)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "maximum", "minimum", "floordiv", "floormod", "div"])
def test_binary_int32(name):
    import tensorflow as tf

    fn = BINARY[name] if name != "div" else (lambda a, b: tf.truncatediv(a, b))
    model = _fn_model(fn, [(2, 3, 4), (3, 1)], tf.int32, f"bin-i32-{name}")
    rng = np.random.default_rng(1)
    a = rng.integers(-100, 100, (2, 3, 4)).astype(np.int32)
    b = rng.integers(1, 9, (3, 1)).astype(np.int32) * np.array([[1], [-1], [1]], np.int32)
    assert_matches_litert(model, [a, b])


@pytest.mark.parametrize("act", ["relu", "relu6"])
def test_fused_activation_add(act):
    import keras

    from oracle import tf_convert

    keras.utils.set_random_seed(0)
    a = keras.Input((4, 5), batch_size=1)
    b = keras.Input((4, 5), batch_size=1)
    y = keras.layers.Activation(act)(keras.layers.Add()([a, b]))
    model = tf_convert(keras.Model([a, b], y))
    from edgerun.runtime.model import Model

    ops = [op.name for op in Model(model).subgraphs[0].ops]
    assert ops == ["ADD"], ops  # the activation is fused into ADD's options
    xs = [np.random.default_rng(i).uniform(-8, 8, (1, 4, 5)).astype(np.float32) for i in range(2)]
    assert_matches_litert(model, xs)


UNARY = ["abs", "neg", "sqrt", "rsqrt", "exp", "log", "sin", "cos", "square", "floor", "ceil", "round",
         "sigmoid", "tanh", "relu", "relu6", "elu", "hard_swish", "gelu", "gelu_tanh", "leaky_relu", "sign"]


@pytest.mark.parametrize("name", UNARY)
def test_unary(name):
    import tensorflow as tf

    fns = {"abs": tf.abs, "neg": tf.negative, "sqrt": lambda x: tf.sqrt(tf.abs(x)),
           "rsqrt": lambda x: tf.math.rsqrt(tf.abs(x) + 0.1), "exp": tf.exp,
           "log": lambda x: tf.math.log(tf.abs(x) + 0.1), "sin": tf.sin, "cos": tf.cos, "square": tf.square,
           "floor": tf.floor, "ceil": tf.math.ceil, "round": tf.round, "sigmoid": tf.sigmoid, "tanh": tf.tanh,
           "relu": tf.nn.relu, "relu6": tf.nn.relu6, "elu": tf.nn.elu,
           "hard_swish": lambda x: x * tf.nn.relu6(x + 3.0) / 6.0,
           "gelu": lambda x: tf.nn.gelu(x, approximate=False), "gelu_tanh": lambda x: tf.nn.gelu(x, approximate=True),
           "leaky_relu": lambda x: tf.nn.leaky_relu(x, 0.15), "sign": tf.sign}
    model = _fn_model(fns[name], [(3, 17)], tf.float32, f"un-{name}")
    x = np.random.default_rng(2).uniform(-7, 7, (3, 17)).astype(np.float32)
    x[0, :4] = [0.0, 0.5, -0.5, 2.5]
    assert_matches_litert(model, [x])


@pytest.mark.parametrize("op", ["less", "less_equal", "greater", "greater_equal", "equal", "not_equal"])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_compare(op, dtype):
    import tensorflow as tf

    model = _fn_model(getattr(tf.math, op), [(2, 5), (5,)], getattr(tf, dtype), f"cmp-{op}-{dtype}")
    rng = np.random.default_rng(3)
    a = rng.integers(-3, 3, (2, 5)).astype(dtype)
    b = rng.integers(-3, 3, (5,)).astype(dtype)
    assert_matches_litert(model, [a, b])


def test_logic_select_cast():
    import tensorflow as tf

    def f(a, b):
        c = tf.logical_or(tf.logical_and(a > 0, b < 0), tf.logical_not(a > b))
        s = tf.where(c, a, b * 2.0)
        return s, tf.cast(s * 10.0, tf.int32), tf.cast(c, tf.float32)

    model = _fn_model(f, [(3, 4), (3, 4)], tf.float32, "logic-select-cast")
    rng = np.random.default_rng(4)
    assert_matches_litert(model, [rng.uniform(-2, 2, (3, 4)).astype(np.float32) for _ in range(2)])


def test_prelu():
    import keras

    from oracle import tf_convert

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((4, 5, 3), batch_size=1),
                          keras.layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(-1, 1),
                                             shared_axes=[1])])
    assert_matches_litert(tf_convert(m))


@pytest.mark.parametrize("op", ["RELU_N1_TO_1", "RELU_0_TO_1", "RELU", "RELU6"])
def test_relu_family_hand_built(op):
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (3, 7), np.float32)
    y = b.tensor("y", (3, 7), np.float32)
    b.op(op, [x], [y])
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish(), [np.random.default_rng(9).uniform(-8, 8, (3, 7)).astype(np.float32)])


@pytest.mark.parametrize("op,act", [("ADD", 0), ("ADD", 1), ("MUL", 0), ("MUL", 3), ("MAXIMUM", None),
                                    ("MINIMUM", None), ("FLOOR_DIV", None), ("FLOOR_MOD", None)])
def test_unquantized_int16_binary_hand_built(op, act):
    """Plain (unquantized) int16 arithmetic, which LiteRT also runs: values chosen so sums and products
    leave the int16 range."""
    from edgerun.schema.builder import ModelBuilder

    b = ModelBuilder()
    x = b.tensor("x", (4, 6), np.int16)
    y = b.tensor("y", (6,), np.int16)
    z = b.tensor("z", (4, 6), np.int16)
    b.op(op, [x, y], [z], None if act is None else {"fusedActivationFunction": act})
    b.inputs([x, y])
    b.outputs([z])
    rng = np.random.default_rng(3)
    xv = rng.integers(-32768, 32768, (4, 6)).astype(np.int16)
    xv[0, :3] = [32767, -32768, 32000]
    yv = rng.integers(-400, 400, (6,)).astype(np.int16)
    yv[yv == 0] = 7
    yv[:3] = [300, -300, 1000]
    assert_matches_litert(b.finish(), [xv, yv], exact=True)

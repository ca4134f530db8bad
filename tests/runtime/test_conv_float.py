"""Float CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL against LiteRT on models
from TensorFlow's converter (and hand-built ones for options Keras does not reach). Tolerance: 1e-3 of the
output scale."""
import numpy as np
import pytest

from oracle import assert_matches_litert, tf_convert, tf_convert_function


def _seq(layer, shape, batch=2):
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input(shape, batch_size=batch), layer])


CONV = [
    dict(filters=4, kernel_size=3, strides=2, padding="same", activation="relu6"),
    dict(filters=5, kernel_size=(3, 2), strides=(1, 3), padding="valid", activation="relu"),
    dict(filters=6, kernel_size=3, padding="same", dilation_rate=2),
    dict(filters=6, kernel_size=(3, 2), padding="valid", groups=3),
    dict(filters=3, kernel_size=1),
    dict(filters=2, kernel_size=5, strides=4, padding="same", use_bias=False),
]


@pytest.mark.parametrize("kw", CONV, ids=lambda kw: "-".join(f"{k}{v}" for k, v in kw.items()))
@pytest.mark.parametrize("shape", [(9, 8, 3), (1, 1, 3), (6, 11, 3)])
def test_conv2d(kw, shape):
    import keras

    if kw.get("kernel_size") == 5 and shape[0] < 5 or kw.get("padding") == "valid" and min(shape[:2]) < 3:
        pytest.skip("filter larger than input with VALID padding")
    assert_matches_litert(tf_convert(_seq(keras.layers.Conv2D(**kw), shape)))


@pytest.mark.parametrize("kw", [dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2),
                                dict(kernel_size=(3, 1), padding="valid", activation="relu"),
                                dict(kernel_size=3, padding="same", dilation_rate=2, activation="relu6"),
                                dict(kernel_size=2, strides=(2, 1), use_bias=False)])
def test_depthwise(kw):
    import keras

    assert_matches_litert(tf_convert(_seq(keras.layers.DepthwiseConv2D(**kw), (9, 7, 3))))


@pytest.mark.parametrize("shape", [(7,), (3, 7), (2, 3, 7)])
@pytest.mark.parametrize("act", [None, "relu", "relu6"])
def test_dense(shape, act):
    import keras

    assert_matches_litert(tf_convert(_seq(keras.layers.Dense(5, activation=act), shape)))


@pytest.mark.parametrize("kw,shape", [
    (dict(filters=4, kernel_size=3, strides=2, padding="same"), (5, 6, 3)),
    (dict(filters=4, kernel_size=(3, 2), strides=(2, 3), padding="valid"), (5, 6, 3)),
    (dict(filters=2, kernel_size=4, strides=2, padding="same", activation="relu", use_bias=False), (1, 3, 2)),
])
def test_transpose_conv(kw, shape):
    import keras

    assert_matches_litert(tf_convert(_seq(keras.layers.Conv2DTranspose(**kw), shape)))


def test_separable_conv():
    import keras

    assert_matches_litert(tf_convert(_seq(keras.layers.SeparableConv2D(5, 3, padding="same", depth_multiplier=2),
                                          (8, 8, 3))))


@pytest.mark.parametrize("sa,sb,ax,ay", [((2, 3, 4), (2, 4, 5), False, False), ((3, 4), (2, 5, 4), False, True),
                                         ((2, 1, 4, 3), (3, 4, 5), True, False), ((1, 4, 3), (2, 5, 4), True, True)])
def test_batch_matmul(sa, sb, ax, ay):
    import tensorflow as tf

    model = tf_convert_function(lambda a, b: tf.linalg.matmul(a, b, adjoint_a=ax, adjoint_b=ay),
                                [tf.TensorSpec(sa, tf.float32), tf.TensorSpec(sb, tf.float32)],
                                key=f"bmm-{sa}-{sb}-{ax}-{ay}")
    from edgerun.runtime.model import Model

    assert "BATCH_MATMUL" in {op.name for op in Model(model).subgraphs[0].ops}
    assert_matches_litert(model)


def test_fully_connected_keep_num_dims_and_no_bias():
    """Hand-built: keep_num_dims=True, absent bias, RELU_N1_TO_1."""
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor("x", (2, 3, 6), np.float32)
    w = b.const("w", rng.standard_normal((4, 6)).astype(np.float32))
    y = b.tensor("y", (2, 3, 4), np.float32)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], options={"keepNumDims": True, "fusedActivationFunction": 2})
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish())


def test_conv_dilation_with_strides_hand_built():
    from edgerun.schema.builder import ModelBuilder

    rng = np.random.default_rng(1)
    b = ModelBuilder()
    x = b.tensor("x", (1, 11, 10, 2), np.float32)
    w = b.const("w", rng.standard_normal((3, 3, 3, 2)).astype(np.float32))
    bias = b.const("b", rng.standard_normal(3).astype(np.float32))
    y = b.tensor("y", (1, 6, 4, 3), np.float32)
    b.op("CONV_2D", [x, w, bias], [y], options={"padding": 0, "strideH": 2, "strideW": 3, "dilationHFactor": 2,
                                               "dilationWFactor": 3})
    b.inputs([x])
    b.outputs([y])
    assert_matches_litert(b.finish())

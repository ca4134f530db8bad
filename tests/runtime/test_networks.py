"""Whole networks made by TensorFlow's converter, run in edgerun and in LiteRT on the same inputs.
Float: max|ours - LiteRT| <= 1e-3 x max|LiteRT|. Integer (int8 full-integer): bit for bit."""
import numpy as np
import pytest

from oracle import assert_matches_litert, tf_convert


def mobilenet_v2():
    """MobileNetV2 (alpha 0.35, 96x96, random weights: no download) — the MobileNet-class CNN."""
    import keras

    keras.utils.set_random_seed(0)
    m = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=10)
    # random BN statistics so batch norms are not identities
    rng = np.random.default_rng(0)
    for layer in m.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape).astype(np.float32),
                               rng.uniform(-0.2, 0.2, b.shape).astype(np.float32),
                               rng.uniform(-0.2, 0.2, mean.shape).astype(np.float32),
                               rng.uniform(0.5, 1.5, var.shape).astype(np.float32)])
    return m


def kws_dscnn():
    """A keyword-spotting DS-CNN on 49x10 MFCC frames (the MLPerf Tiny shape), 12 classes."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    inp = keras.Input((49, 10, 1), name="mfcc")
    x = layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for _ in range(4):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(64, 1, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.AveragePooling2D(pool_size=(25, 5))(x)
    x = layers.Flatten()(x)
    out = layers.Dense(12, activation="softmax", name="probs")(x)
    return keras.Model(inp, out)


def recurrent():
    """A recurrent classifier: embedding-free LSTM over 20 steps of 8 features, then Dense."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(2)
    inp = keras.Input((20, 8), batch_size=1)
    x = layers.LSTM(16, return_sequences=True)(inp)
    x = layers.GRU(8)(x)
    out = layers.Dense(4, activation="softmax")(x)
    return keras.Model(inp, out)


NETWORKS = {"mobilenet_v2": mobilenet_v2, "kws_dscnn": kws_dscnn, "recurrent": recurrent}


def _calibration(model, n=16, seed=0):
    rng = np.random.default_rng(seed)
    shape = tuple(1 if d is None else d for d in model.inputs[0].shape)
    return [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(n)]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_float_network_matches_litert(name):
    model = tf_convert(NETWORKS[name]())
    for seed in (0, 1):
        assert_matches_litert(model, seed=seed, rtol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenet_v2", "kws_dscnn"])
def test_int8_network_bit_exact(name):
    keras_model = NETWORKS[name]()
    model = tf_convert(keras_model, quantize="int8", representative=_calibration(keras_model),
                       input_type=np.int8, output_type=np.int8)
    for seed in (0, 1):
        assert_matches_litert(model, seed=seed, exact=True)


@pytest.mark.slow
def test_int8_network_float_interface_bit_exact():
    keras_model = kws_dscnn()
    model = tf_convert(keras_model, quantize="int8", representative=_calibration(keras_model))
    assert_matches_litert(model, exact=True)


@pytest.mark.slow
def test_dynamic_range_network():
    keras_model = kws_dscnn()
    model = tf_convert(keras_model, quantize="dynamic")
    assert_matches_litert(model, rtol=1e-3)


@pytest.mark.slow
def test_float16_network():
    keras_model = mobilenet_v2()
    model = tf_convert(keras_model, quantize="float16")
    assert_matches_litert(model, rtol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenet_v2", "kws_dscnn"])
def test_int16x8_network_bit_exact(name):
    keras_model = NETWORKS[name]()
    model = tf_convert(keras_model, quantize="int16x8", representative=_calibration(keras_model))
    assert_matches_litert(model, exact=True)


@pytest.mark.slow
def test_dynamic_range_mobilenet():
    keras_model = mobilenet_v2()
    model = tf_convert(keras_model, quantize="dynamic")
    assert_matches_litert(model, rtol=1e-3)

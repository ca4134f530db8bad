"""Whole networks the tests and benchmarks share (random weights, no download): a MobileNet-class CNN, a
keyword-spotting DS-CNN and a recurrent classifier, plus random calibration data."""
import numpy as np


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

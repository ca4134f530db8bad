"""Keras -> TFLite with edgerun's converter. Oracle: Keras' own outputs; the converted model must reproduce
them within 1e-4 x max|output| both in LiteRT (builtin kernels, no delegate) and in edgerun."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from convert_checks import check_model_bytes, keras_outputs, op_types, random_inputs_for

keras = pytest.importorskip("keras")
layers = keras.layers


def seq(input_shape, *ls, dtype="float32"):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input(input_shape, dtype=dtype)] + list(ls))


def randomize_bn(model, seed=0):
    """Non-trivial batch-norm statistics (fresh layers are identities)."""
    rng = np.random.default_rng(seed)
    for layer in _all_layers(model):
        if isinstance(layer, layers.BatchNormalization):
            for v in (layer.gamma, layer.moving_variance):
                if v is not None:
                    v.assign(rng.uniform(0.5, 1.5, tuple(v.shape)).astype(np.float32))
            for v in (layer.beta, layer.moving_mean):
                if v is not None:
                    v.assign(rng.uniform(-0.3, 0.3, tuple(v.shape)).astype(np.float32))
    return model


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def randomize_biases(model, seed=1):
    rng = np.random.default_rng(seed)
    for layer in _all_layers(model):
        b = getattr(layer, "bias", None)
        if b is not None and not isinstance(layer, keras.layers.RNN):
            b.assign(rng.uniform(-0.5, 0.5, tuple(b.shape)).astype(np.float32))
    return model


# one small model per layer / option group -----------------------------------------------------------
LAYER_MODELS = {
    # Dense
    "dense_relu": lambda: seq((6,), layers.Dense(5, activation="relu")),
    "dense_nobias": lambda: seq((6,), layers.Dense(4, use_bias=False)),
    "dense_rank3_tanh": lambda: seq((3, 6), layers.Dense(4, activation="tanh")),
    "dense_rank4": lambda: seq((2, 3, 6), layers.Dense(4)),
    # Conv2D
    "conv2d_same": lambda: seq((7, 7, 3), layers.Conv2D(4, 3, padding="same", activation="relu")),
    "conv2d_valid_stride2": lambda: seq((9, 8, 3), layers.Conv2D(5, 3, strides=2)),
    "conv2d_dilation": lambda: seq((9, 9, 2), layers.Conv2D(3, 3, dilation_rate=2, padding="same")),
    "conv2d_nobias_relu6": lambda: seq((6, 6, 3), layers.Conv2D(4, (3, 1), strides=(2, 1), use_bias=False,
                                                                activation="relu6")),
    "conv2d_groups": lambda: seq((6, 6, 4), layers.Conv2D(6, 3, groups=2, padding="same")),
    "conv2d_1x1": lambda: seq((5, 5, 8), layers.Conv2D(3, 1)),
    # Conv1D
    "conv1d_same": lambda: seq((10, 3), layers.Conv1D(4, 3, padding="same")),
    "conv1d_valid_stride": lambda: seq((11, 3), layers.Conv1D(4, 3, strides=2, activation="relu")),
    "conv1d_causal_dilated": lambda: seq((12, 2), layers.Conv1D(3, 3, padding="causal", dilation_rate=2)),
    "conv1d_groups": lambda: seq((8, 4), layers.Conv1D(4, 3, groups=2)),
    # Depthwise / separable
    "depthwise": lambda: seq((8, 8, 3), layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")),
    "depthwise_stride_dil": lambda: seq((9, 9, 4), layers.DepthwiseConv2D(3, strides=2, activation="relu")),
    "depthwise_dilated": lambda: seq((9, 9, 2), layers.DepthwiseConv2D(3, dilation_rate=2, use_bias=False)),
    "depthwise1d": lambda: seq((10, 3), layers.DepthwiseConv1D(3, padding="same")),
    "separable2d": lambda: seq((8, 8, 3), layers.SeparableConv2D(5, 3, depth_multiplier=2, padding="same",
                                                                  activation="relu")),
    "separable1d": lambda: seq((10, 3), layers.SeparableConv1D(4, 3, strides=2)),
    # Transposed
    "conv2dT_same_s2": lambda: seq((4, 4, 3), layers.Conv2DTranspose(4, 3, strides=2, padding="same")),
    "conv2dT_valid_s2": lambda: seq((4, 5, 3), layers.Conv2DTranspose(2, 3, strides=2, activation="relu")),
    "conv2dT_k_lt_s": lambda: seq((3, 3, 2), layers.Conv2DTranspose(2, 2, strides=3, use_bias=False)),
    "conv1dT": lambda: seq((5, 3), layers.Conv1DTranspose(4, 3, strides=2, padding="same")),
    # Pooling
    "maxpool2d": lambda: seq((8, 8, 3), layers.MaxPooling2D()),
    "maxpool2d_same_s1": lambda: seq((7, 7, 2), layers.MaxPooling2D(3, strides=1, padding="same")),
    "avgpool2d_same": lambda: seq((7, 7, 2), layers.AveragePooling2D(3, strides=2, padding="same")),
    "avgpool2d_valid": lambda: seq((8, 6, 2), layers.AveragePooling2D((2, 3))),
    "maxpool1d": lambda: seq((9, 3), layers.MaxPooling1D(3, strides=2)),
    "avgpool1d_same": lambda: seq((9, 3), layers.AveragePooling1D(2, padding="same")),
    "gap2d": lambda: seq((5, 5, 4), layers.GlobalAveragePooling2D()),
    "gap2d_keepdims": lambda: seq((5, 5, 4), layers.GlobalAveragePooling2D(keepdims=True)),
    "gmp2d": lambda: seq((5, 5, 4), layers.GlobalMaxPooling2D()),
    "gap1d": lambda: seq((7, 4), layers.GlobalAveragePooling1D()),
    "gmp1d_keepdims": lambda: seq((7, 4), layers.GlobalMaxPooling1D(keepdims=True)),
    # Normalization
    "batchnorm_dense": lambda: randomize_bn(seq((6,), layers.BatchNormalization())),
    "batchnorm_axis1": lambda: randomize_bn(seq((3, 5), layers.BatchNormalization(axis=1))),
    "batchnorm_noscale": lambda: randomize_bn(seq((4, 4, 3), layers.BatchNormalization(center=False, scale=False))),
    "layernorm": lambda: seq((5, 6), layers.LayerNormalization()),
    "layernorm_axes": lambda: seq((3, 4, 5), layers.LayerNormalization(axis=[1, 2], center=False)),
    "layernorm_rms": lambda: seq((6,), layers.LayerNormalization(rms_scaling=True)),
    "unitnorm": lambda: seq((6,), layers.UnitNormalization()),
    "rescaling": lambda: seq((4, 4, 3), layers.Rescaling(1 / 127.5, offset=-1)),
    "normalization": lambda: seq((4, 3), layers.Normalization(mean=[0.1, -0.2, 0.3], variance=[0.5, 2.0, 1.5])),
    "normalization_invert": lambda: seq((3,), layers.Normalization(mean=0.2, variance=3.0, invert=True)),
    # Activation layers
    "relu_layer": lambda: seq((6,), layers.ReLU()),
    "relu_max6": lambda: seq((6,), layers.ReLU(max_value=6.0)),
    "relu_slope_max": lambda: seq((6,), layers.ReLU(max_value=0.5, negative_slope=0.1)),
    "relu_threshold": lambda: seq((6,), layers.ReLU(negative_slope=0.2, threshold=0.3)),
    "leakyrelu": lambda: seq((6,), layers.LeakyReLU(negative_slope=0.15)),
    "prelu": lambda: seq((4, 4, 3), layers.PReLU(alpha_initializer=keras.initializers.RandomUniform(0, 0.5))),
    "prelu_shared": lambda: seq((4, 4, 3), layers.PReLU(alpha_initializer="ones", shared_axes=[1, 2])),
    "elu_layer": lambda: seq((6,), layers.ELU(alpha=0.5)),
    "softmax_layer": lambda: seq((3, 5), layers.Softmax()),
    "softmax_axis1": lambda: seq((3, 5), layers.Softmax(axis=1)),
    # Merging
    "merges": lambda: _merges(),
    "concat_axis1": lambda: _two_input(lambda a, b: layers.Concatenate(axis=1)([a, b]), (3, 4), (2, 4)),
    "dot": lambda: _two_input(lambda a, b: layers.Dot(axes=2)([a, b]), (3, 4), (5, 4)),
    # Reshaping
    "flatten": lambda: seq((3, 4, 2), layers.Flatten(), layers.Dense(3)),
    "reshape": lambda: seq((12,), layers.Reshape((3, -1)), layers.Dense(2)),
    "permute": lambda: seq((3, 4, 2), layers.Permute((3, 1, 2))),
    "repeatvector": lambda: seq((4,), layers.RepeatVector(3)),
    "dropouts_removed": lambda: seq((6, 6, 3), layers.Dropout(0.5), layers.SpatialDropout2D(0.3),
                                    layers.GaussianNoise(1.0), layers.Identity(), layers.Conv2D(2, 3)),
    "zeropad2d": lambda: seq((4, 5, 2), layers.ZeroPadding2D(((1, 2), (0, 3)))),
    "zeropad1d": lambda: seq((4, 2), layers.ZeroPadding1D((2, 1))),
    "cropping2d": lambda: seq((7, 6, 2), layers.Cropping2D(((1, 2), (2, 0)))),
    "cropping1d": lambda: seq((7, 2), layers.Cropping1D((1, 3))),
    "upsampling2d_nearest": lambda: seq((3, 4, 2), layers.UpSampling2D((2, 3))),
    "upsampling2d_bilinear": lambda: seq((3, 4, 2), layers.UpSampling2D(2, interpolation="bilinear")),
    "upsampling1d": lambda: seq((4, 3), layers.UpSampling1D(3)),
    "resizing_bilinear_up": lambda: seq((4, 5, 2), layers.Resizing(7, 9)),
    "resizing_bilinear_down": lambda: seq((8, 9, 2), layers.Resizing(4, 5)),
    "resizing_nearest": lambda: seq((4, 5, 2), layers.Resizing(6, 3, interpolation="nearest")),
    # Embedding (integer input)
    "embedding": lambda: seq((5,), layers.Embedding(10, 4), layers.Flatten(), dtype="int32"),
    # Recurrent
    "lstm_last": lambda: seq((6, 3), layers.LSTM(5)),
    "lstm_seq": lambda: seq((6, 3), layers.LSTM(4, return_sequences=True)),
    "lstm_backwards_state": lambda: _rnn_state(layers.LSTM(4, go_backwards=True, return_state=True,
                                                           return_sequences=True)),
    "lstm_hard_sigmoid_relu": lambda: seq((5, 3), layers.LSTM(4, activation="relu",
                                                              recurrent_activation="hard_sigmoid")),
    "gru_reset_after": lambda: seq((6, 3), layers.GRU(5, return_sequences=True)),
    "gru_reset_before": lambda: seq((6, 3), layers.GRU(4, reset_after=False)),
    "gru_nobias": lambda: seq((4, 3), layers.GRU(4, use_bias=False)),
    "simplernn": lambda: seq((6, 3), layers.SimpleRNN(5, return_sequences=True)),
    "simplernn_one_step": lambda: seq((1, 3), layers.SimpleRNN(4)),
    "bidirectional_concat": lambda: seq((5, 3), layers.Bidirectional(layers.LSTM(3, return_sequences=True))),
    "bidirectional_sum": lambda: seq((5, 3), layers.Bidirectional(layers.GRU(3), merge_mode="sum")),
    "timedistributed_dense": lambda: seq((4, 3), layers.TimeDistributed(layers.Dense(2))),
    "timedistributed_conv": lambda: seq((3, 5, 5, 2), layers.TimeDistributed(layers.Conv2D(3, 3))),
}

ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu", "leaky_relu", "gelu",
               "hard_sigmoid", "hard_silu", "silu", "softplus", "linear", "softsign", "exponential", "mish",
               "celu", "hard_tanh", "log_sigmoid"]


def _two_input(fn, s1, s2):
    keras.utils.set_random_seed(0)
    a, b = keras.Input(s1, name="a"), keras.Input(s2, name="b")
    return keras.Model([a, b], fn(a, b))


def _merges():
    keras.utils.set_random_seed(0)
    a, b, c = keras.Input((3, 4), name="a"), keras.Input((3, 4), name="b"), keras.Input((3, 4), name="c")
    outs = [layers.Add()([a, b, c]), layers.Subtract()([a, b]), layers.Multiply()([a, b]),
            layers.Average()([a, b, c]), layers.Maximum()([a, b]), layers.Minimum()([b, c]),
            layers.Concatenate()([a, c])]
    return keras.Model([a, b, c], outs)


def _rnn_state(rnn):
    keras.utils.set_random_seed(0)
    x = keras.Input((5, 3))
    return keras.Model(x, rnn(x))


@pytest.mark.parametrize("name", sorted(LAYER_MODELS))
def test_layer(name, assert_converts):
    model = LAYER_MODELS[name]()
    randomize_biases(model)
    assert_converts(model)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation(act, assert_converts):
    model = seq((3, 8), layers.Activation(act))
    inputs = [np.random.default_rng(0).uniform(-4, 4, (1, 3, 8)).astype(np.float32)]
    assert_converts(model, inputs)


def test_dropout_layers_leave_no_ops(assert_converts):
    model = LAYER_MODELS["dropouts_removed"]()
    assert op_types(assert_converts(model)) == ["CONV_2D"]


def test_batchnorm_folds_into_conv_and_dense(assert_converts):
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.DepthwiseConv2D(3)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(5)(x)
    x = layers.BatchNormalization()(x)
    model = randomize_bn(keras.Model(inp, x))
    ops = op_types(assert_converts(model))
    assert ops == ["CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE", "FULLY_CONNECTED"], ops
    unopt = op_types(assert_converts(model, optimize=False))
    assert unopt.count("MUL") == 3 and "RELU" in unopt


# graph shapes: several inputs/outputs, shared layers, initial states ----------------------------------
def _fn(build):
    def make():
        keras.utils.set_random_seed(0)
        return build()

    return make


def _identity_and_dense():
    x = keras.Input((4,), name="x")
    return keras.Model(x, [x, layers.Dense(2)(x)])


def _duplicate_outputs():
    x = keras.Input((4,), name="x")
    d = layers.Dense(3)(x)
    return keras.Model(x, [d, d, layers.ReLU()(d)])


def _shared_layer():
    x, y = keras.Input((4,)), keras.Input((4,))
    shared = layers.Dense(3, activation="relu")
    return keras.Model([x, y], layers.Add()([shared(x), shared(y)]))


def _even_kernels_same():
    x = keras.Input((9, 9, 3))
    return keras.Model(x, [layers.Conv2D(4, 4, strides=2, padding="same")(x),
                           layers.DepthwiseConv2D(2, strides=2, padding="same", depth_multiplier=3)(x),
                           layers.MaxPooling2D(2, strides=2, padding="same")(x),
                           layers.AveragePooling2D(4, strides=3, padding="same")(x)])


def _lstm_initial_state():
    x, h, c = keras.Input((5, 3)), keras.Input((4,)), keras.Input((4,))
    return keras.Model([x, h, c], layers.LSTM(4, return_state=True)(x, initial_state=[h, c]))


def _gru_initial_state():
    x, h = keras.Input((5, 3)), keras.Input((4,))
    return keras.Model([x, h], layers.GRU(4, return_sequences=True)(x, initial_state=[h]))


def _bidirectional_states():
    x = keras.Input((5, 3))
    rnn = layers.LSTM(3, return_state=True, return_sequences=True)
    return keras.Model(x, layers.Bidirectional(rnn, merge_mode=None)(x))


def _permute_pair():
    x = keras.Input((10,))
    y = layers.Permute((2, 1))(layers.Permute((2, 1))(layers.Reshape((2, 5))(x)))
    return keras.Model(x, layers.Flatten()(y))


def _batch_three():
    x = keras.Input((4, 4, 3), batch_size=3)
    return keras.Model(x, layers.Conv2D(2, 3)(x))


GRAPH_MODELS = {f.__name__.strip("_"): _fn(f) for f in (
    _identity_and_dense, _duplicate_outputs, _shared_layer, _even_kernels_same, _lstm_initial_state,
    _gru_initial_state, _bidirectional_states, _permute_pair, _batch_three)}


@pytest.mark.parametrize("name", sorted(GRAPH_MODELS))
def test_graph_shapes(name, assert_converts):
    model = randomize_biases(GRAPH_MODELS[name]())
    inputs = None
    if name == "batch_three":
        inputs = [np.random.default_rng(0).uniform(-1, 1, (3, 4, 4, 3)).astype(np.float32)]
    data = assert_converts(model, inputs)
    if name == "permute_pair":
        assert op_types(data) == ["RESHAPE"]
    if name == "shared_layer":
        assert op_types(data) == ["FULLY_CONNECTED", "FULLY_CONNECTED", "ADD"]


def test_embedding_float_input(assert_converts):
    model = seq((6,), layers.Embedding(20, 3))
    assert_converts(model, [np.arange(6, dtype=np.float32)[None]])


# whole models ------------------------------------------------------------------------------------------
def small_cnn():
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3), name="image")
    x = layers.Rescaling(1 / 255.0)(inp)
    for filters in (8, 16):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(16, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(10, activation="softmax", name="probs")(x)
    return randomize_bn(keras.Model(inp, out))


def mobilenet_like():
    """Inverted residual blocks (expand 1x1 -> depthwise 3x3 -> project 1x1, residual add), hard-swish head."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((24, 24, 3), name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)

    def block(x, out_ch, stride, expand=3):
        in_ch = x.shape[-1]
        y = layers.Conv2D(in_ch * expand, 1, use_bias=False)(x)
        y = layers.BatchNormalization()(y)
        y = layers.ReLU(6.0)(y)
        if stride == 2:
            y = layers.ZeroPadding2D(((0, 1), (0, 1)))(y)
        y = layers.DepthwiseConv2D(3, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False)(y)
        y = layers.BatchNormalization()(y)
        y = layers.ReLU(6.0)(y)
        y = layers.Conv2D(out_ch, 1, use_bias=False)(y)
        y = layers.BatchNormalization()(y)
        if stride == 1 and in_ch == out_ch:
            y = layers.Add()([x, y])
        return y

    x = block(x, 8, 1)
    x = block(x, 12, 2)
    x = block(x, 12, 1)
    x = block(x, 16, 2)
    x = layers.Conv2D(32, 1, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("hard_swish")(x)
    x = layers.GlobalAveragePooling2D(keepdims=True)(x)
    x = layers.Conv2D(10, 1)(x)
    x = layers.Flatten()(x)
    out = layers.Softmax(name="probs")(x)
    return randomize_bn(keras.Model(inp, out))


def recurrent_model():
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 6), name="frames")
    x = layers.Dense(8, activation="relu")(inp)
    x = layers.LSTM(12, return_sequences=True)(x)
    x = layers.GRU(10)(x)
    out = layers.Dense(4, activation="softmax", name="probs")(x)
    return keras.Model(inp, out)


def nested_model():
    """A functional model holding a Sequential submodel and a functional submodel applied twice."""
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((6, 6, 4)), layers.Conv2D(4, 3, padding="same", activation="relu"),
                              layers.BatchNormalization()], name="inner_seq")
    i2 = keras.Input((4,))
    shared = keras.Model(i2, layers.Dense(4, activation="tanh")(i2), name="shared_fn")
    inp = keras.Input((6, 6, 4), name="x")
    y = inner(inp)
    y = layers.Add()([y, inp])
    y = layers.GlobalMaxPooling2D()(y)
    a = shared(y)
    b = shared(a)
    out = layers.Concatenate(name="out")([a, b])
    return randomize_bn(keras.Model(inp, out))


def ops_model():
    """keras.ops calls inside a functional graph."""
    keras.utils.set_random_seed(0)
    ops = keras.ops
    inp = keras.Input((4, 6), name="x")
    y = inp * 2.0 + 1.0
    y = ops.reshape(y, (-1, 6, 4))
    y = ops.transpose(y, (0, 2, 1))
    z = ops.mean(y, axis=-1, keepdims=True)
    y = ops.concatenate([y - z, ops.relu(y)], axis=-1)
    y = y[:, 1:3, :]
    y = layers.Dense(3)(y)
    return keras.Model(inp, [y, ops.max(z, axis=1), inp[:, ::-2, 1], inp[:, ::-1, 1:5:3]])


def keras_mobilenet_v2():
    """keras.applications.MobileNetV2 (alpha 0.35, 96x96, random weights: no download)."""
    keras.utils.set_random_seed(0)
    m = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=10)
    return randomize_bn(m)


WHOLE = {"small_cnn": small_cnn, "mobilenet_like": mobilenet_like, "recurrent": recurrent_model,
         "nested": nested_model, "keras_ops": ops_model, "mobilenet_v2": keras_mobilenet_v2}


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_whole_model(name, assert_converts):
    model = WHOLE[name]()
    for seed in (0, 1):
        assert_converts(model, seed=seed)


def test_mobilenet_v2_op_table(assert_converts):
    """The same op table TensorFlow's converter writes for MobileNetV2: every BN folded, every ReLU6 fused."""
    ops = op_types(assert_converts(keras_mobilenet_v2()))
    assert {o: ops.count(o) for o in set(ops)} == {"PAD": 4, "CONV_2D": 35, "DEPTHWISE_CONV_2D": 17, "ADD": 10,
                                                   "MEAN": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1}


def test_mobilenet_like_is_folded_and_fused(assert_converts):
    ops = op_types(assert_converts(mobilenet_like()))
    assert "MUL" not in ops and "RELU6" not in ops, ops
    assert ops.count("CONV_2D") == 11 and ops.count("DEPTHWISE_CONV_2D") == 4, ops


def test_signature_keeps_keras_names():
    from oracle import litert_interpreter

    import edgerun

    model = _two_input(lambda a, b: layers.Dense(2, name="score")(layers.Concatenate()([a, b])), (3,), (2,))
    it = litert_interpreter(edgerun.convert(model))
    sig = it.get_signature_list()
    assert sig == {"serving_default": {"inputs": ["a", "b"], "outputs": ["score"]}}
    runner = it.get_signature_runner()
    a, b = np.ones((1, 3), np.float32), np.full((1, 2), 0.5, np.float32)
    got = runner(a=a, b=b)["score"]
    np.testing.assert_allclose(got, np.asarray(model([a, b])), rtol=1e-5, atol=1e-6)


# files -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_model_files(ext, tmp_path):
    import edgerun

    model = small_cnn()
    path = tmp_path / f"model{ext}"
    model.save(path)
    inputs = random_inputs_for(model)
    check_model_bytes(edgerun.convert(str(path)), inputs, keras_outputs(model, inputs))


def test_float16_weights(assert_converts):
    import edgerun

    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 3))
    x = layers.Conv2D(32, 3, activation="relu")(inp)
    x = layers.SeparableConv2D(64, 3, strides=2)(x)
    x = randomize_bn(keras.Model(inp, layers.BatchNormalization()(x)))(inp)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    model = randomize_biases(keras.Model(inp, layers.Dense(10)(x)))
    f32 = edgerun.convert(model)
    f16 = assert_converts(model, quantize="float16", rtol=1e-2)
    assert 0.4 < len(f16) / len(f32) < 0.65, (len(f16), len(f32))
    ops = op_types(f16)
    assert "DEQUANTIZE" in ops


NUMPY_BACKEND_SCRIPT = textwrap.dedent("""
    import importlib.abc, os, sys
    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "tensorflow" or name.startswith("tensorflow."):
                raise ImportError("tensorflow is blocked in this test")
    sys.meta_path.insert(0, NoTensorFlow())
    os.environ["KERAS_BACKEND"] = "numpy"
    import numpy as np, keras
    from keras import layers
    import edgerun
    assert keras.backend.backend() == "numpy"
    keras.utils.set_random_seed(0)
    inp = keras.Input((10, 10, 3), name="image")
    x = layers.Conv2D(6, 3, padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization(moving_variance_initializer="ones", beta_initializer="ones")(x)
    x = layers.ReLU()(x)
    x = layers.DepthwiseConv2D(3, strides=2)(x)
    x = layers.Reshape((16, 6))(x)
    x = layers.GRU(5)(x)
    out = layers.Dense(3, activation="softmax", name="probs")(x)
    model = keras.Model(inp, out)
    path = sys.argv[1]
    model.save(path + "/m.keras")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 10, 10, 3)).astype(np.float32)
    np.save(path + "/x.npy", x)
    np.save(path + "/ref.npy", np.asarray(model.predict(x, verbose=0)))
    open(path + "/m.tflite", "wb").write(edgerun.convert(model))
    open(path + "/file.tflite", "wb").write(edgerun.convert(path + "/m.keras"))
    assert not [m for m in sys.modules if m.startswith("tensorflow")]
    print("OK")
""")


def test_numpy_backend_without_tensorflow(tmp_path):
    pytest.importorskip("jax", reason="Keras' numpy backend imports jax")
    env = dict(os.environ, KERAS_BACKEND="numpy")
    env.pop("EDGERUN_NO_TF", None)
    r = subprocess.run([sys.executable, "-c", NUMPY_BACKEND_SCRIPT, str(tmp_path)], env=env, capture_output=True,
                       text=True, timeout=300, check=False)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]
    x, ref = np.load(tmp_path / "x.npy"), np.load(tmp_path / "ref.npy")
    for name in ("m.tflite", "file.tflite"):
        check_model_bytes((tmp_path / name).read_bytes(), [x], [ref])


# errors ------------------------------------------------------------------------------------------------
def test_lambda_layer_is_named_in_the_error():
    import edgerun

    model = seq((4,), layers.Dense(3), layers.Lambda(lambda t: t * 2, name="double_it"))
    with pytest.raises(edgerun.ConversionError, match=r"double_it.*Lambda"):
        edgerun.convert(model)


def test_unsupported_layer_is_named_in_the_error():
    import edgerun

    model = seq((4, 4, 4, 2), layers.Conv3D(2, 3, name="vol"))
    with pytest.raises(edgerun.ConversionError, match=r"vol.*Conv3D"):
        edgerun.convert(model)


def test_subclassed_model_is_rejected():
    import edgerun

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x) * 2

    net = Net()
    net(np.zeros((1, 3), np.float32))
    with pytest.raises(edgerun.ConversionError):
        edgerun.convert(net)


def test_custom_activation_is_rejected():
    import edgerun

    model = seq((4,), layers.Dense(3, activation=lambda t: t * 3, name="custom_act"))
    with pytest.raises(edgerun.ConversionError, match="custom_act"):
        edgerun.convert(model)


def test_bad_quantize_arguments():
    import edgerun

    model = seq((4,), layers.Dense(3))
    with pytest.raises(edgerun.ConversionError, match="unknown quantization mode"):
        edgerun.convert(model, quantize="int4")
    for mode in ("int8", "int16x8"):
        with pytest.raises(edgerun.ConversionError, match="representative_data"):
            edgerun.convert(model, quantize=mode)
    with pytest.raises(edgerun.ConversionError, match="input_type"):
        edgerun.convert(model, input_type=np.int8)
    with pytest.raises(edgerun.ConversionError):
        edgerun.convert("/nonexistent/model.keras")
    with pytest.raises(edgerun.ConversionError):
        edgerun.convert(object())


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_open_batch_resizes_like_tf_converter_output(quantize):
    """A Keras model with an open batch converts with shape_signature -1 and RESHAPE targets that follow
    the batch, so resize_tensor_input to batch 3 works in LiteRT and in edgerun, with the same rows as the
    Keras model (float) or as LiteRT (int8)."""
    import keras

    import edgerun
    from oracle import edgerun_run, litert_run

    m = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Conv2D(3, 3, activation="relu"),
                          keras.layers.Flatten(), keras.layers.Dense(5)])
    rng = np.random.default_rng(0)
    kw = {} if quantize is None else dict(quantize="int8", representative_data=[
        rng.normal(size=(1, 4, 4, 2)).astype(np.float32) for _ in range(16)])
    data = edgerun.convert(m, **kw)
    it = edgerun.Interpreter(model_content=data)
    assert list(it.get_input_details()[0]["shape_signature"]) == [-1, 4, 4, 2]
    assert list(it.get_output_details()[0]["shape_signature"]) == [-1, 5]
    x = rng.normal(size=(3, 4, 4, 2)).astype(np.float32)
    ours, theirs = edgerun_run(data, [x]), litert_run(data, [x])
    assert ours[0].shape == theirs[0].shape == (3, 5)
    if quantize is None:
        ref = np.asarray(m(x))
        assert np.abs(ours[0] - ref).max() <= 1e-4 * np.abs(ref).max()
        assert np.abs(theirs[0] - ref).max() <= 1e-4 * np.abs(ref).max()
    else:
        np.testing.assert_array_equal(ours[0], theirs[0])


def test_batch_baked_in_keeps_fixed_batch():
    """When an op depends on batch 1 (here a SLICE of batch row 0), reopening the batch would compute the
    wrong rows at batch 3: the check catches it and the graph keeps its fixed batch."""
    from edgerun.converter.batch import open_batch
    from edgerun.converter.ir import Graph

    g = Graph()
    x = g.input("x", (1, 6))
    row = g.op("SLICE", [x, g.const("b", np.array([0, 0], np.int32)), g.const("s", np.array([1, 6], np.int32))],
               [g.tensor("row", (1, 6))])[0]
    y = g.op("RELU", [row], [g.tensor("y", (1, 6))])[0]
    g.outputs.append(y)
    g.metadata["open_batch"] = [True]
    assert open_batch(g) is g
    # The same graph without the slice is reopened.
    g2 = Graph()
    x2 = g2.input("x", (1, 6))
    g2.outputs.append(g2.op("RELU", [x2], [g2.tensor("y", (1, 6))])[0])
    g2.metadata["open_batch"] = [True]
    assert open_batch(g2).inputs[0].shape == (-1, 6)

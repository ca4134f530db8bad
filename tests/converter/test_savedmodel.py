"""SavedModel directories -> TFLite with edgerun's converter. Oracle: the SavedModel's own serving function
(run by TensorFlow); LiteRT and edgerun must both reproduce it within 1e-4 x max|output|."""
import numpy as np
import pytest
from convert_checks import check_model_bytes, op_types

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
layers = keras.layers


def serving_outputs(path, inputs: dict):
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = fn(**{k: tf.constant(v) for k, v in inputs.items()})
    return [np.asarray(out[k]) for k in sorted(out)]  # edgerun orders outputs like tf.nest (sorted keys)


def test_keras_export_cnn(tmp_path):
    """keras_model.export(): conv + batch norm + depthwise + transposed conv + pooling + dense (exact GELU)
    + layer norm, and a second output through Conv1D."""
    import edgerun

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3), name="img")
    x = layers.Conv2D(4, 3, padding="same")(inp)
    x = layers.BatchNormalization(beta_initializer="ones", moving_variance_initializer="ones",
                                  gamma_initializer=keras.initializers.RandomUniform(0.5, 1.5))(x)
    x = layers.ReLU()(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(3, 3, strides=2, padding="same")(x)
    y = layers.AveragePooling2D(2)(x)
    y = layers.Conv1D(2, 3, activation="relu6")(layers.Reshape((16, 3))(y))
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(6, activation="gelu")(x)
    x = layers.LayerNormalization()(x)
    out = layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inp, [out, layers.GlobalAveragePooling1D()(y)])
    path = tmp_path / "sm"
    model.export(str(path), verbose=False)
    data = edgerun.convert(str(path))
    ops = op_types(data)
    assert "MUL" in ops and ops[:3] == ["CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"], ops  # BN folded
    x = np.random.default_rng(0).uniform(-1, 1, (1, 8, 8, 3)).astype(np.float32)
    check_model_bytes(data, [x], serving_outputs(path, {"img": x}))


def test_tf_module_two_inputs(tmp_path):
    """tf.saved_model.save of a tf.Module: MatMul with constant and variable weights, reductions, concat,
    transpose, strided slice, elementwise math; named inputs and outputs."""
    import edgerun

    class Net(tf.Module):
        def __init__(self):
            rng = np.random.default_rng(0)
            self.w = tf.Variable(rng.normal(size=(6, 5)).astype(np.float32))
            self.b = tf.Variable(rng.normal(size=(5,)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32, name="a"),
                                      tf.TensorSpec([None, 4, 3], tf.float32, name="b")])
        def __call__(self, a, b):
            h = tf.nn.relu6(tf.matmul(a, self.w) + self.b)
            t = tf.transpose(b, [0, 2, 1])  # (n, 3, 4)
            s = tf.reduce_mean(t, axis=-1) * 2.0 - tf.reduce_max(b, axis=1)
            m = tf.concat([h, tf.sigmoid(s), tf.tanh(t[:, 1, :])], axis=-1)
            return {"mixed": m, "norm": tf.math.rsqrt(tf.reduce_sum(tf.square(h), axis=-1, keepdims=True) + 1.0)}

    net = Net()
    path = tmp_path / "mod"
    tf.saved_model.save(net, str(path), signatures=net.__call__)
    data = edgerun.convert(str(path))
    from oracle import litert_interpreter

    sig = litert_interpreter(data).get_signature_list()["serving_default"]
    assert sorted(sig["inputs"]) == ["a", "b"] and sorted(sig["outputs"]) == ["mixed", "norm"]
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (1, 6)).astype(np.float32)
    b = rng.uniform(-1, 1, (1, 4, 3)).astype(np.float32)
    check_model_bytes(data, [a, b], serving_outputs(path, {"a": a, "b": b}))


def test_unsupported_tf_op_names_the_node(tmp_path):
    import edgerun

    class Net(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 5], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.math.cumsum(x, axis=1, name="running_total")}

    path = tmp_path / "bad"
    net = Net()
    tf.saved_model.save(net, str(path), signatures=net.__call__)
    with pytest.raises(edgerun.ConversionError, match=r"running_total.*Cumsum"):
        edgerun.convert(str(path))


def test_directory_without_saved_model(tmp_path):
    import edgerun

    with pytest.raises(edgerun.ConversionError, match="SavedModel"):
        edgerun.convert(str(tmp_path))

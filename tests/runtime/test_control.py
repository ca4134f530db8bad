"""WHILE and IF over subgraphs, from TensorFlow's converter (Keras recurrent layers, tf.cond, tf.while_loop).
Oracle: LiteRT on the same model, float tolerance 1e-3 of the output scale."""
import numpy as np
import pytest

from oracle import assert_matches_litert, tf_convert, tf_convert_function


def _rnn(layer, steps=5, feat=3, **kw):
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((steps, feat), batch_size=1), layer, keras.layers.Dense(2)])


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("seq", [False, True])
def test_keras_recurrent_layers(kind, seq):
    import keras

    layer = getattr(keras.layers, kind)(4, return_sequences=seq)
    model = tf_convert(_rnn(layer))
    from edgerun.runtime.model import Model

    names = {op.name for sg in Model(model).subgraphs for op in sg.ops}
    assert "WHILE" in names or "UNIDIRECTIONAL_SEQUENCE_LSTM" in names
    assert_matches_litert(model, rtol=1e-3)


def test_stacked_lstm_long_sequence():
    import keras

    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((17, 6), batch_size=2), keras.layers.LSTM(8, return_sequences=True),
                          keras.layers.LSTM(5), keras.layers.Dense(3)])
    assert_matches_litert(tf_convert(m), rtol=1e-3)


def test_if_from_tf_cond():
    import tensorflow as tf

    def f(x, flag):
        return tf.cond(flag[0] > 0, lambda: tf.nn.relu(x) * 2.0, lambda: x - 1.0)

    model = tf_convert_function(f, [tf.TensorSpec((2, 3), tf.float32), tf.TensorSpec((1,), tf.float32)],
                                key="control-if-v1")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3)).astype(np.float32)
    for flag in (1.0, -1.0):
        assert_matches_litert(model, [x, np.array([flag], np.float32)])


def test_while_loop_counter():
    import tensorflow as tf

    def f(x):
        i = tf.constant(0)
        _, y = tf.while_loop(lambda i, y: i < 7, lambda i, y: (i + 1, y * 0.5 + 1.0), [i, x])
        return y

    model = tf_convert_function(f, [tf.TensorSpec((4,), tf.float32)], key="control-while-v1")
    from edgerun.runtime.model import Model

    assert any(op.name == "WHILE" for op in Model(model).subgraphs[0].ops)
    assert_matches_litert(model)
